"""Escalation end to end: routing, deciding, first decision wins, annotator escalation,
thread discussion, reminders under a controlled clock, send back, the export."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from tests.scenarios.conftest import CHANNEL, ProcessBot, message_text, wait_items


def escalate_by_disagreement(slack, ts):
    for user, label in (("U0ANN1", "billing"), ("U0ANN2", "bug"), ("U0ANN3", "other")):
        slack.click(user, CHANNEL, ts, f"label:{label}")


def escalation_post(slack, ts, timeout=20):
    def find():
        replies = [m for m in slack.thread(CHANNEL, ts) if m["ts"] != ts]
        return [m for m in replies if "decide:" in json.dumps(m.get("blocks"))]

    return slack.wait_for(find, timeout=timeout)[0]


def export(bot, tmp_path, *flags):
    out = tmp_path / f"export{len(flags)}.jsonl"
    bot.cli("export", "support", *flags, "-o", str(out))
    return [json.loads(line) for line in out.read_text().splitlines() if line]


@pytest.fixture
def escalated(bot, slack):
    bot.import_items([{"id": "e-1", "text": "Refund for a crash?", "language": "de"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    escalate_by_disagreement(slack, message["ts"])
    return message["ts"], escalation_post(slack, message["ts"])


def test_disagreement_posts_votes_guidelines_and_mentions_routed_experts(escalated, slack):
    _, post = escalated
    text = message_text(post)
    # default (user and group), by_label (billing is in the disagreement), by_field (language: de)
    for mention in ("<@U0EXPERT>", "<!subteam^S0EXPERTS>", "<@U0FIN>", "<@U0DE>"):
        assert mention in text
    assert "<@U0ADMIN>" not in text  # admins only on fallback
    assert "*Billing* × 1" in text and "Payments, invoices, refunds" in text
    assert {"decide:billing", "decide:bug", "decide:other", "decide_note", "send_back"} <= {
        e["action_id"] for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]
    }


def test_non_expert_is_refused_and_expert_decides(escalated, slack, bot, tmp_path):
    ts, post = escalated
    slack.click("U0ANN1", CHANNEL, post["ts"], "decide:bug")
    slack.wait_for(
        lambda: any("Only the experts" in e["text"] for e in slack.ephemerals(user="U0ANN1")), timeout=10
    )
    assert export(bot, tmp_path)[0]["status"] == "escalated"
    slack.click("U0GRPMEM", CHANNEL, post["ts"], "decide:bug")  # member of the expert group
    slack.wait_for(lambda: "decided *Bug*" in message_text(slack.message(CHANNEL, post["ts"])), timeout=10)
    assert "decide:" not in json.dumps(slack.message(CHANNEL, post["ts"])["blocks"])
    slack.wait_for(
        lambda: "Labeled *Bug* by an expert" in message_text(slack.message(CHANNEL, ts)), timeout=15
    )
    row = export(bot, tmp_path)[0]
    assert (row["status"], row["resolution"], row["final_label"]) == ("resolved", "expert", "bug")
    history = bot.cli("history", "support", "e-1").stdout  # the expert by display name (the emulator's)
    assert "decided" in history and "u0grpmem" in history and "hours_to_decision" in history


def test_two_concurrent_decisions_record_one(escalated, slack, bot, tmp_path):
    _, post = escalated
    results = {}
    barrier = threading.Barrier(2)

    def decide(user, label):
        barrier.wait()
        results[user] = slack.click(user, CHANNEL, post["ts"], f"decide:{label}")

    threads = [threading.Thread(target=decide, args=a) for a in (("U0EXPERT", "billing"), ("U0FIN", "bug"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(d.status == 200 for d in results.values())
    history = bot.cli("history", "support", "e-1").stdout
    assert history.count(" decided ") == 1
    final = export(bot, tmp_path)[0]["final_label"]
    loser = "U0FIN" if final == "billing" else "U0EXPERT"
    slack.wait_for(
        lambda: any("already decided" in e["text"] for e in slack.ephemerals(user=loser)), timeout=10
    )


def test_decide_with_note_adds_edge_case(escalated, slack, bot):
    _, post = escalated
    slack.click("U0EXPERT", CHANNEL, post["ts"], "decide_note")
    (view,) = slack.wait_for(lambda: slack.open_views("U0EXPERT"), timeout=10)
    bad = slack.submit_view("U0EXPERT", view["id"], {"label": {"value": "billing"}, "note": {"value": "   "}})
    assert bad.body["response_action"] == "errors" and "note" in bad.body["errors"]
    ok = slack.submit_view(
        "U0EXPERT",
        view["id"],
        {
            "label": {"value": "billing"},
            "note": {"value": "Refunds win over crashes"},
            "edge_case": {"value": ["edge_case"]},
        },
    )
    assert ok.status == 200 and not ok.body
    guide = bot.cli("guidelines", "support").stdout
    assert "## Edge cases" in guide and "Refunds win over crashes" in guide and "Refund for a crash?" in guide


def test_annotator_escalates_with_reason(bot, slack):
    bot.import_items([{"id": "a-1", "text": "Weird one", "language": "en"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    slack.click("U0ANN1", CHANNEL, message["ts"], "escalate")
    (view,) = slack.wait_for(lambda: slack.open_views("U0ANN1"), timeout=10)
    invalid = slack.submit_view("U0ANN1", view["id"], {"reason": {"value": "  "}})
    assert invalid.body["response_action"] == "errors" and "reason" in invalid.body["errors"]
    done = slack.submit_view(
        "U0ANN1",
        view["id"],
        {"reason": {"value": "Is this <!channel> spam?"}, "suggested": {"value": "other"}},
    )
    assert done.status == 200 and not done.body
    post = escalation_post(slack, message["ts"])
    text = message_text(post)
    assert "<@U0ANN1> escalated" in text and "&lt;!channel&gt; spam" in text and "<@U0EXPERT>" in text
    # One escalation at a time: a second attempt is refused in the modal.
    slack.wait_for(lambda: "Escalated" in message_text(slack.message(CHANNEL, message["ts"])), timeout=10)


def test_thread_replies_stored_once_edits_and_deletes(escalated, slack, bot, tmp_path):
    ts, _ = escalated
    first = slack.user_posts("U0EXPERT", CHANNEL, "Looks like billing to me", thread_ts=ts)
    assert first.status == 200
    slack.redeliver(first)
    second = slack.user_posts("U0ANN1", CHANNEL, "I thought crash", thread_ts=ts)
    slack.user_edits("U0ANN1", CHANNEL, second.ts, "I thought crash, sorry")
    slack.user_deletes("U0EXPERT", CHANNEL, first.ts)
    rows = export(bot, tmp_path, "--discussions")
    assert [(r["user_id"], r["text"], r["deleted"]) for r in rows] == [
        ("U0EXPERT", "Looks like billing to me", True),
        ("U0ANN1", "I thought crash, sorry", False),
    ]


def test_reminder_and_fallback_fire_once_under_a_controlled_clock(escalated, slack, bot):
    ts, _ = escalated
    now = datetime.now(UTC)
    later = (now + timedelta(hours=25)).replace(tzinfo=None).isoformat()
    much_later = (now + timedelta(hours=73)).replace(tzinfo=None).isoformat()
    early = (now + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert "sent 0 reminder(s)" in bot.cli("remind", "--now", early).stdout
    assert "sent 1 reminder(s)" in bot.cli("remind", "--now", later).stdout
    assert "sent 0 reminder(s)" in bot.cli("remind", "--now", later).stdout  # never twice
    assert "sent 1 reminder(s)" in bot.cli("remind", "--now", much_later).stdout
    replies = [message_text(m) for m in slack.thread(CHANNEL, ts)]
    assert sum("Reminder" in r for r in replies) == 1
    fallback = [r for r in replies if "Still undecided" in r]
    assert len(fallback) == 1 and "<@U0ADMIN>" in fallback[0]


def test_send_back_requeues_with_new_message_and_keeps_votes(escalated, slack, bot, tmp_path):
    ts, post = escalated
    slack.click("U0ADMIN", CHANNEL, post["ts"], "send_back")
    (view,) = slack.wait_for(lambda: slack.open_views("U0ADMIN"), timeout=10)
    assert (
        slack.submit_view("U0ADMIN", view["id"], {"note": {"value": "Read the guidelines again"}}).status
        == 200
    )
    messages = wait_items(slack, 2)
    assert messages[1]["metadata"]["event_payload"]["round"] == 2
    slack.wait_for(lambda: "sent back" in message_text(slack.message(CHANNEL, ts)), timeout=15)
    assert "Read the guidelines again" in message_text(slack.message(CHANNEL, post["ts"]))
    row = export(bot, tmp_path)[0]
    assert (row["status"], row["n_labels"], row["round"]) == ("open", 0, 2)
    history = bot.cli("history", "support", "e-1").stdout
    assert "sent_back" in history and "billing" in history
    # The old round's message has no label buttons left to click.
    with pytest.raises(LookupError):
        slack.click("U0ANN1", CHANNEL, ts, "label:bug")


def test_concurrent_decisions_on_two_bot_processes_record_one(escalated, slack, bot, tmp_path):
    """Two experts click at once, each request served by a different bot process on one database."""
    from urllib.parse import urlencode

    import httpx

    from bot.slack.emulator import signed_headers

    _, post = escalated
    other = ProcessBot(bot.workdir, bot.env, slack, False)  # `bot` serves in this process
    other.start()
    slack.deliver_to_http(f"{bot.url}/slack/events")
    try:
        # Real payloads, captured from the emulator, then sent at the same moment to both processes.
        bodies = []
        for user, label in (("U0EXPERT", "billing"), ("U0FIN", "bug")):
            slack.click("U0ANN4", CHANNEL, post["ts"], f"decide:{label}")  # not an expert: refused, no change
            payload = slack.deliveries[-1].payload
            payload = {**payload, "user": {**payload["user"], "id": user}}
            bodies.append(urlencode({"payload": json.dumps(payload)}).encode())
        barrier = threading.Barrier(2)
        statuses = []

        def send(url, body):
            barrier.wait()
            headers = {
                **signed_headers(slack.signing_secret, body),
                "Content-Type": "application/x-www-form-urlencoded",
            }
            statuses.append(
                httpx.post(f"{url}/slack/events", content=body, headers=headers, timeout=30).status_code
            )

        threads = [
            threading.Thread(target=send, args=(u, b))
            for u, b in ((bot.url, bodies[0]), (other.url, bodies[1]))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        other.stop()
    assert statuses == [200, 200]
    history = bot.cli("history", "support", "e-1").stdout
    assert history.count(" decided ") == 1
