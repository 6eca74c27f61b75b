"""A user's clicks count in the order they made them, and only on the item's own message."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from bot.slack.emulator import signed_headers
from tests.scenarios.conftest import CHANNEL, project_config, wait_items


def labels(bot, tmp_path):
    out = tmp_path / f"labels-{time.monotonic_ns()}.jsonl"
    bot.cli("export", "support", "--labels", "-o", str(out))
    return [json.loads(line) for line in out.read_text().splitlines()]


def resend(slack, payload):
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {
        **signed_headers(slack.signing_secret, body),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return slack.raw_post("/slack/events", body, headers)


def current_label(bot, tmp_path, user):
    events = [e for e in labels(bot, tmp_path) if e["user_id"] == user]
    return events[-1]["label"] if events and events[-1]["action"] != "undo" else None


def test_a_replayed_older_click_never_overwrites_a_newer_one(bot, slack, tmp_path):
    bot.import_items([{"id": "o-1", "text": "order me", "language": "en"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    slack.click("U0ANN1", CHANNEL, message["ts"], "label:billing")
    first = slack.deliveries[-1].payload
    slack.click("U0ANN1", CHANNEL, message["ts"], "label:bug")  # the user changes their mind
    assert current_label(bot, tmp_path, "U0ANN1") == "bug"
    assert resend(slack, first).status_code == 200  # signed, within five minutes: a replay
    assert current_label(bot, tmp_path, "U0ANN1") == "bug"
    slack.wait_for(lambda: any("older one was not" in e["text"] for e in slack.ephemerals(user="U0ANN1")))
    assert [e["action"] for e in labels(bot, tmp_path)] == ["label", "change"]


def test_an_undo_replayed_after_a_new_label_does_not_remove_it(bot, slack, tmp_path):
    bot.import_items([{"id": "o-2", "text": "undo me", "language": "en"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    slack.click("U0ANN1", CHANNEL, message["ts"], "label:billing")
    confirmation = slack.wait_for(lambda: slack.ephemerals(user="U0ANN1"))[-1]
    slack.click("U0ANN1", CHANNEL, confirmation["ts"], "undo")
    undo = slack.deliveries[-1].payload
    slack.click("U0ANN1", CHANNEL, message["ts"], "label:other")
    resend(slack, undo)
    assert current_label(bot, tmp_path, "U0ANN1") == "other"


def test_a_click_on_one_projects_message_cannot_label_another_projects_item(bot, slack, tmp_path):
    slack.add_channel("C0OTHER", "other", members=["U0ANN1", "UBOT"])
    other = project_config(key="other", name="Other", channel="C0OTHER")
    (tmp_path / "labelbot.yml").write_text(
        __import__("yaml").safe_dump({"projects": [project_config(), other]}, sort_keys=False)
    )
    bot.import_items([{"id": "p-1", "text": "mine", "language": "en"}])
    bot.cli("import", "other", str(_csv(tmp_path, [{"id": "q-1", "text": "theirs", "language": "en"}])))
    bot.start()
    (mine,) = wait_items(slack, 1)
    theirs = slack.wait_for(lambda: slack.messages("C0OTHER"))[0]
    their_ref = json.dumps(theirs["blocks"]).split('"value": "')[1].split('"')[0]  # "item:round"
    slack.click("U0ANN4", CHANNEL, mine["ts"], "label:bug")  # a real click, by a non-annotator
    forged = json.loads(json.dumps(slack.deliveries[-1].payload))
    forged["user"]["id"] = "U0ANN1"  # an annotator of both projects
    forged["actions"][0]["value"] = their_ref
    forged["actions"][0]["action_ts"] = f"{time.time():.6f}"
    assert resend(slack, forged).status_code == 200
    # The answer goes to the response_url of the click that was copied (U0ANN4's).
    slack.wait_for(lambda: any("not on this item's message" in e["text"] for e in slack.ephemerals()))
    out = tmp_path / "other.jsonl"
    bot.cli("export", "other", "--labels", "-o", str(out))
    assert out.read_text().strip() == ""  # nothing recorded on the other project's item


def test_a_thread_message_redelivered_with_a_new_event_id_is_stored_once(bot, slack, tmp_path):
    bot.import_items([{"id": "t-1", "text": "discuss me", "language": "en"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    for user, label in (("U0ANN1", "billing"), ("U0ANN2", "bug"), ("U0ANN3", "other")):
        slack.click(user, CHANNEL, message["ts"], f"label:{label}")
    slack.wait_for(lambda: "decide:" in json.dumps(slack.thread(CHANNEL, message["ts"])), timeout=20)
    slack.user_posts("U0EXPERT", CHANNEL, "I think billing", thread_ts=message["ts"])
    delivery = slack.deliveries[-1]
    again = json.loads(json.dumps(delivery.payload))
    again["event_id"] = "Ev" + "9" * 10  # Slack's redelivery under a new id
    body = json.dumps(again).encode()
    headers = {**signed_headers(slack.signing_secret, body), "Content-Type": "application/json"}
    assert slack.raw_post("/slack/events", body, headers).status_code == 200
    out = tmp_path / "discussions.jsonl"
    bot.cli("export", "support", "--discussions", "-o", str(out))
    assert len(out.read_text().splitlines()) == 1


def _csv(tmp_path, rows):
    import pandas as pd

    path = tmp_path / f"rows-{time.monotonic_ns()}.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def click_before_the_post_is_recorded(bot, slack, action):
    """The dispatcher has posted the item's message, and before it records the post a user clicks
    ``action`` on the message (Slack shows a message before the poster reads its answer)."""
    clicked = []

    def click_first(item_id):
        (message,) = wait_items(slack, 1)
        slack.click("U0ANN1", CHANNEL, message["ts"], action)
        clicked.append(message["ts"])

    bot.start()
    bot._served.dispatcher.items.after_post = click_first
    bot.import_items([{"id": "r-1", "text": "quick!", "language": "en"}])
    slack.wait_for(lambda: clicked, timeout=20)
    return clicked[0]


def test_a_label_clicked_before_the_post_is_recorded_counts(bot, slack, tmp_path):
    ts = click_before_the_post_is_recorded(bot, slack, "label:billing")
    assert [(e["user_id"], e["label"]) for e in labels(bot, tmp_path)] == [("U0ANN1", "billing")]
    slack.wait_for(lambda: any("Billing" in e["text"] for e in slack.ephemerals(user="U0ANN1")))
    time.sleep(0.5)  # the poster records its post after the click: it must keep the message
    assert [m["ts"] for m in wait_items(slack, 1)] == [ts]
    assert not slack.calls_to("chat.delete")
    out = tmp_path / "items.jsonl"
    bot.cli("export", "support", "-o", str(out))
    assert json.loads(out.read_text())["status"] == "open"


def test_escalate_clicked_before_the_post_is_recorded_opens_the_form(bot, slack):
    click_before_the_post_is_recorded(bot, slack, "escalate")
    slack.wait_for(lambda: slack.open_views("U0ANN1"), timeout=10)
    assert not any("cannot" in e["text"] for e in slack.ephemerals(user="U0ANN1"))
