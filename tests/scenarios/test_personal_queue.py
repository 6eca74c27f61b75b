"""Personal queues in direct messages, end to end: ``/label next``, the session's message replaced
in place, Undo, Skip, Stop, leases among several people, and the channel message kept in step —
through the real bot and the Slack emulator (signed requests, Slack's payloads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bot.slack.metrics import METRICS
from tests.scenarios.conftest import ANNOTATORS, CHANNEL, OUTSIDER, item_messages, message_text, wait_items

ITEMS = [
    {"id": "t-1", "text": "I was charged twice <!channel>", "language": "en"},
    {"id": "t-2", "text": "The app crashes", "language": "en"},
    {"id": "t-3", "text": "Hello there", "language": "en"},
]


def action_ids(message):
    return {e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]} | {
        b["accessory"]["action_id"] for b in message["blocks"] if "accessory" in b
    }


def session_message(slack, user):
    dm = slack.dm_channel(user)
    messages = slack.messages(dm)
    return dm, (messages[-1] if messages else None)


def start(slack, user, text="next support"):
    before = len(slack.ephemerals(user=user))
    delivery = slack.slash_command(user, CHANNEL, "/label", text)
    assert delivery.status == 200
    # The command always answers privately (after the session's message, when one was sent).
    slack.wait_for(lambda: len(slack.ephemerals(user=user)) > before, timeout=15)
    return session_message(slack, user)


def wait_text(slack, dm, ts, needle, timeout=15):
    slack.wait_for(lambda: needle in message_text(slack.message(dm, ts)), timeout=timeout)
    return slack.message(dm, ts)


def test_a_dm_session_labels_item_after_item_in_one_message(bot, slack):
    bot.configure(delivery="dm", annotators_per_item=2)
    bot.import_items(ITEMS)
    bot.start()
    labels_before = METRICS.value("labelbot_labels_recorded_total", {"project": "support"})
    dm, first = start(slack, "U0ANN1")
    assert first is not None, slack.ephemerals(user="U0ANN1")
    assert METRICS.value("labelbot_live_leases", {"project": "support"}) == 1  # read from the database
    assert "I was charged twice" in message_text(first)
    assert "<!channel>" not in message_text(first)  # user text is escaped
    assert {"dm_label:billing", "dm_skip", "guidelines", "escalate", "dm_stop"} <= action_ids(first)
    assert any("direct messages" in e["text"] for e in slack.ephemerals(user="U0ANN1"))

    slack.click("U0ANN1", dm, first["ts"], "dm_label:billing")
    shown = wait_text(slack, dm, first["ts"], "The app crashes")
    assert "You labeled item `t-1` as *Billing*" in message_text(shown)
    assert "dm_undo" in action_ids(shown)
    assert len(slack.messages(dm)) == 1  # replaced in place

    slack.click("U0ANN1", dm, first["ts"], "dm_undo")
    shown = wait_text(slack, dm, first["ts"], "Undone")
    assert "I was charged twice" in message_text(shown)
    slack.click("U0ANN1", dm, first["ts"], "dm_label:bug")
    wait_text(slack, dm, first["ts"], "as *Bug*")
    slack.click("U0ANN1", dm, first["ts"], "dm_skip")
    wait_text(slack, dm, first["ts"], "Hello there")
    # Two labels recorded (Billing, then Bug after the Undo); the Undo and the skip are not labels.
    assert METRICS.value("labelbot_labels_recorded_total", {"project": "support"}) == labels_before + 2
    slack.click("U0ANN1", dm, first["ts"], "dm_stop")
    ended = wait_text(slack, dm, first["ts"], "Session ended")
    assert "1 label(s), 1 skipped" in message_text(ended)
    # A DM-only project posts no item to its channel.
    assert item_messages(slack) == []


def test_independence_and_consensus_across_sessions_and_the_escalated_item_goes_to_the_channel(bot, slack):
    bot.configure(delivery="dm", annotators_per_item=2)
    bot.import_items(ITEMS[:1])
    bot.start()
    dm1, m1 = start(slack, "U0ANN1")
    dm2, m2 = start(slack, "U0ANN2")
    slack.click("U0ANN1", dm1, m1["ts"], "dm_label:billing")
    wait_text(slack, dm1, m1["ts"], "Nothing waits for you")
    # No one sees others' votes: U0ANN2's message is as it was, and shows no votes at all.
    assert slack.message(dm2, m2["ts"])["blocks"] == m2["blocks"]
    assert "U0ANN1" not in message_text(m2) and "of 2 labels" not in message_text(m2)
    slack.click("U0ANN2", dm2, m2["ts"], "dm_label:bug")
    wait_text(slack, dm2, m2["ts"], "Nothing waits for you")
    # Disagreement: escalated; a DM-only project's escalated item gets its channel message and thread.
    messages = wait_items(slack, 1)
    slack.wait_for(lambda: len(slack.thread(CHANNEL, messages[0]["ts"])) >= 2, timeout=20)
    assert "Escalated" in message_text(slack.message(CHANNEL, messages[0]["ts"]))


def test_a_channel_label_moves_a_dm_session_on_and_a_dm_label_updates_the_channel_message(bot, slack):
    bot.configure(delivery="both", annotators_per_item=2, max_open=1)
    bot.import_items(ITEMS[:2])
    bot.start()
    (posted,) = wait_items(slack, 1)
    dm, m = start(slack, "U0ANN1")
    assert "I was charged twice" in message_text(m)  # the item open in the channel comes first
    slack.click("U0ANN1", dm, m["ts"], "dm_label:billing")
    slack.wait_for(lambda: "1 of 2 labels" in message_text(slack.message(CHANNEL, posted["ts"])), timeout=15)
    dm3, m3 = start(slack, "U0ANN3")
    assert "I was charged twice" in message_text(m3)  # one label, no other lease: room for one more
    # U0ANN2 gives the second label in the channel (a lease never blocks a channel click) ...
    slack.click("U0ANN2", CHANNEL, posted["ts"], "label:billing")
    slack.wait_for(
        lambda: "Labeled *Billing*" in message_text(slack.message(CHANNEL, posted["ts"])), timeout=15
    )
    # ... and U0ANN3's session moves on to the next item by itself.
    moved = wait_text(slack, dm3, m3["ts"], "got its labels meanwhile")
    assert "The app crashes" in message_text(moved)


def test_fifty_people_asking_at_once_get_an_item_needing_three_labels_at_most_three_times(bot, slack):
    users = [f"U0P{i:03d}" for i in range(50)]
    for user in users:
        slack.add_user(user, f"person{user}")
    bot.configure(delivery="dm", annotators_per_item=3, annotators=[])
    bot.import_items(ITEMS[:1])
    bot.start()
    with ThreadPoolExecutor(max_workers=50) as pool:
        deliveries = list(
            pool.map(lambda u: slack.slash_command(u, CHANNEL, "/label", "next support"), users)
        )
    assert all(d.status == 200 for d in deliveries)
    slack.wait_for(lambda: sum(len(slack.ephemerals(user=u)) for u in users) >= 50, timeout=60)
    shown = [
        u
        for u in users
        if any("I was charged twice" in message_text(m) for m in slack.messages(slack.dm_channel(u)))
    ]
    assert len(shown) == 3, shown
    nothing = [u for u in users if any("Nothing waits" in e["text"] for e in slack.ephemerals(user=u))]
    assert len(nothing) == 47


def test_who_may_not_start_a_session_is_told_why(bot, slack):
    bot.configure(delivery="channel")
    bot.import_items(ITEMS[:1])
    bot.start()
    slack.slash_command("U0ANN1", CHANNEL, "/label", "next support")
    slack.wait_for(lambda: slack.ephemerals(user="U0ANN1"), timeout=10)
    assert "labeled in its channel" in slack.ephemerals(user="U0ANN1")[-1]["text"]
    slack.slash_command(OUTSIDER, CHANNEL, "/label", "next support")
    slack.wait_for(lambda: slack.ephemerals(user=OUTSIDER), timeout=10)
    assert "not one of this project's annotators" in slack.ephemerals(user=OUTSIDER)[-1]["text"]
    assert ANNOTATORS  # the configured annotators are the ones above
