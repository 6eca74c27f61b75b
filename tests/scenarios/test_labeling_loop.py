"""The core loop end to end: import, posted messages, clicks by several users, consensus or
escalation, the export's contents — through the real HTTP endpoint with signed requests."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from tests.scenarios.conftest import ANNOTATORS, CHANNEL, OUTSIDER, item_messages, message_text, wait_items

ITEMS = [
    {"id": "t-1", "text": "I was charged twice", "language": "en"},
    {"id": "t-2", "text": "The app crashes", "language": "de"},
    {"id": "t-3", "text": "Hello there", "language": "en"},
]


def buttons(message):
    return {e["action_id"]: e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]}


def test_import_post_label_consensus_escalation_export(any_bot, slack, tmp_path):
    bot = any_bot
    out = bot.import_items(ITEMS)
    assert "3 new, 0 unchanged, 0 changed" in out
    bot.start()
    messages = wait_items(slack, 3)
    assert [m["metadata"]["event_payload"]["round"] for m in messages] == [1, 1, 1]
    first, second, _ = messages
    assert "I was charged twice" in message_text(first)
    assert "0 of 3 labels" in message_text(first)
    assert "language" in message_text(first)
    assert {"label:billing", "label:bug", "label:other", "skip", "guidelines", "escalate"} <= set(
        buttons(first)
    )
    posts = slack.calls_to("chat.postMessage")
    assert all(c.params.get("unfurl_links") in (False, "false") for c in posts)

    # Three annotators: two agree -> consensus.
    for user, label in (("U0ANN1", "billing"), ("U0ANN2", "billing"), ("U0ANN3", "bug")):
        delivery = slack.click(user, CHANNEL, first["ts"], f"label:{label}")
        assert delivery.status == 200, bot.log()
    slack.wait_for(
        lambda: "Labeled *Billing*" in message_text(slack.message(CHANNEL, first["ts"])), timeout=15
    )
    final = slack.message(CHANNEL, first["ts"])
    assert "label:billing" not in buttons(final)  # closed: no label buttons

    # Each clicker got an ephemeral confirmation naming the item and label, with Undo while open.
    slack.wait_for(lambda: len(slack.ephemerals(user="U0ANN1")) >= 1, timeout=10)
    confirmation = slack.ephemerals(user="U0ANN1")[0]
    assert "t-1" in confirmation["text"] and "Billing" in confirmation["text"]

    # Three different labels -> escalated.
    for user, label in (("U0ANN1", "billing"), ("U0ANN2", "bug"), ("U0ANN3", "other")):
        slack.click(user, CHANNEL, second["ts"], f"label:{label}")
    slack.wait_for(lambda: "Escalated" in message_text(slack.message(CHANNEL, second["ts"])), timeout=15)

    out_file = tmp_path / "export.jsonl"
    bot.cli("export", "support", "-o", str(out_file))
    rows = {r["item_id"]: r for r in map(json.loads, out_file.read_text().splitlines())}
    assert rows["t-1"]["status"] == "resolved" and rows["t-1"]["resolution"] == "consensus"
    assert rows["t-1"]["final_label"] == "billing"
    assert rows["t-1"]["agreement"] == pytest.approx(2 / 3)
    assert rows["t-1"]["votes"] == {"U0ANN1": "billing", "U0ANN2": "billing", "U0ANN3": "bug"}
    assert rows["t-1"]["n_labels"] == 3 and rows["t-1"]["language"] == "en"
    assert rows["t-2"]["status"] == "escalated" and rows["t-2"]["final_label"] is None
    assert rows["t-3"]["status"] == "open"

    labels_file = tmp_path / "labels.csv"
    bot.cli("export", "support", "--labels", "-o", str(labels_file))
    history = pd.read_csv(labels_file)
    assert {"item_id", "user_id", "label", "created_at", "action"} <= set(history.columns)
    assert len(history[history["item_id"] == "t-1"]) == 3


def test_change_undo_double_click_and_skip(bot, slack, tmp_path):
    bot.import_items(ITEMS[:1])
    bot.start()
    (message,) = wait_items(slack, 1)
    ts = message["ts"]
    slack.click("U0ANN1", CHANNEL, ts, "label:billing")
    slack.click("U0ANN1", CHANNEL, ts, "label:billing")  # double click: nothing new
    slack.click("U0ANN1", CHANNEL, ts, "label:bug")  # change
    slack.wait_for(lambda: len(slack.ephemerals(user="U0ANN1")) >= 3, timeout=10)
    latest = slack.ephemerals(user="U0ANN1")[-1]
    assert "Bug" in latest["text"]
    undo = slack.click("U0ANN1", CHANNEL, latest["ts"], "undo")
    assert undo.status == 200
    slack.click("U0ANN2", CHANNEL, ts, "skip")
    slack.wait_for(lambda: any("Skipped" in e["text"] for e in slack.ephemerals(user="U0ANN2")), timeout=10)
    out = tmp_path / "labels.jsonl"
    bot.cli("export", "support", "--labels", "-o", str(out))
    actions = [(r["user_id"], r["action"], r["label"]) for r in map(json.loads, out.read_text().splitlines())]
    assert actions == [
        ("U0ANN1", "label", "billing"),
        ("U0ANN1", "change", "bug"),
        ("U0ANN1", "undo", None),
        ("U0ANN2", "skip", None),
    ]
    slack.wait_for(lambda: "0 of 3 labels" in message_text(slack.message(CHANNEL, ts)), timeout=15)


def test_user_outside_annotators_is_refused(bot, slack, tmp_path):
    bot.import_items(ITEMS[:1])
    bot.start()
    (message,) = wait_items(slack, 1)
    slack.click(OUTSIDER, CHANNEL, message["ts"], "label:bug")
    slack.wait_for(lambda: slack.ephemerals(user=OUTSIDER), timeout=10)
    assert "not one of this project's annotators" in slack.ephemerals(user=OUTSIDER)[0]["text"]
    # A member of an annotator user group may label.
    slack.click("U0GRPANN", CHANNEL, message["ts"], "label:bug")
    slack.wait_for(lambda: slack.ephemerals(user="U0GRPANN"), timeout=10)
    out = tmp_path / "labels.jsonl"
    bot.cli("export", "support", "--labels", "-o", str(out))
    users = [json.loads(line)["user_id"] for line in out.read_text().splitlines()]
    assert users == ["U0GRPANN"]


def test_hostile_text_never_pings_or_links(bot, slack):
    hostile = "<!channel> ping <@U0ANN1> <http://evil.example|your bank> http://bare.example & more"
    bot.import_items([{"id": "evil", "text": hostile, "language": "<!here>"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    dumped = message_text(message)
    for raw in ("<!channel>", "<@U0ANN1>", "<http://evil", "<!here>"):
        assert raw not in dumped
    assert "&lt;!channel&gt;" in message["text"]
    call = slack.calls_to("chat.postMessage")[-1]
    assert call.params["unfurl_links"] in (False, "false") and call.params["unfurl_media"] in (False, "false")


def test_long_text_is_cut_with_full_text_modal(bot, slack):
    bot.import_items([{"id": "long", "text": "word " * 2000, "language": "en"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    assert "full_text" in buttons(message)
    slack.click("U0ANN1", CHANNEL, message["ts"], "full_text")
    slack.wait_for(lambda: slack.open_views("U0ANN1"), timeout=10)


def test_reimport_updates_posted_message_and_keeps_labels(bot, slack, tmp_path):
    bot.import_items(ITEMS[:1])
    bot.start()
    (message,) = wait_items(slack, 1)
    slack.click("U0ANN1", CHANNEL, message["ts"], "label:bug")
    out = bot.import_items([{**ITEMS[0], "text": "I was charged three times"}])
    assert "0 new, 0 unchanged, 1 changed" in out
    slack.wait_for(lambda: "three times" in message_text(slack.message(CHANNEL, message["ts"])), timeout=15)
    assert "1 of 3 labels" in message_text(slack.message(CHANNEL, message["ts"]))
    assert len(item_messages(slack)) == 1


def test_label_help_command(bot, slack):
    bot.start()
    delivery = slack.slash_command("U0ANN1", CHANNEL, "/label", "help")
    assert delivery.status == 200
    assert "/label help" in json.dumps(delivery.body)
    unknown = slack.slash_command("U0ANN1", CHANNEL, "/label", "frobnicate")
    assert "frobnicate" in json.dumps(unknown.body)


def test_app_home_counts_what_waits_for_each_user(bot, slack):
    bot.import_items(ITEMS[:2])
    bot.start()
    first, _ = wait_items(slack, 2)
    slack.click("U0ANN1", CHANNEL, first["ts"], "label:bug")
    slack.app_home_opened("U0ANN1")
    home = slack.wait_for(lambda: slack.home("U0ANN1"), timeout=10)
    assert "*1* open item(s) wait for your label" in json.dumps(home["blocks"])
    slack.app_home_opened("U0ANN2")
    home = slack.wait_for(lambda: slack.home("U0ANN2"), timeout=10)
    assert "*2* open item(s) wait for your label" in json.dumps(home["blocks"])


def test_several_worker_processes(process_bot, slack, database_url):
    """``serve --workers 2``: the parent posts and refreshes messages, the workers record clicks.
    On SQLite (one writer at a time) the option is refused with the way out."""
    bot = process_bot
    bot.import_items(ITEMS)
    if database_url.startswith("sqlite"):
        result = bot.cli("serve", "--port", str(bot.port), "--workers", "2", check=False)
        assert result.returncode != 0
        assert "--workers needs PostgreSQL" in result.stderr + result.stdout
        return
    bot.start("--workers", "2")
    first = wait_items(slack, 3)[0]
    for user, label in (("U0ANN1", "billing"), ("U0ANN2", "billing"), ("U0ANN3", "bug")):
        assert slack.click(user, CHANNEL, first["ts"], f"label:{label}").status == 200, bot.log()
    slack.wait_for(
        lambda: "Labeled *Billing*" in message_text(slack.message(CHANNEL, first["ts"])), timeout=20
    )
    slack.wait_for(lambda: all(slack.ephemerals(user=u) for u in ("U0ANN1", "U0ANN2", "U0ANN3")), timeout=10)
    out = bot.cli("status", "support").stdout
    assert "resolved" in out


def test_concurrent_clicks_are_each_committed_before_their_ack(bot, slack, tmp_path):
    """Clicks arriving together (committed in groups on SQLite): every ack is a stored label, each
    item closes with all its votes, and every clicker gets their own confirmation."""
    bot.import_items(ITEMS)
    bot.start()
    messages = wait_items(slack, 3)
    slack.click("U0GRPANN", CHANNEL, messages[2]["ts"], "skip")  # the user-group lookup, out of the way
    votes = {  # item -> each annotator's label: consensus, consensus, escalation
        0: ("billing", "billing", "bug"),
        1: ("bug", "bug", "bug"),
        2: ("billing", "bug", "other"),
    }
    clicks = [
        (user, n, label)
        for n, labels in votes.items()
        for user, label in zip(ANNOTATORS[:3], labels, strict=True)
    ]
    barrier = threading.Barrier(len(clicks))

    def click(user: str, n: int, label: str) -> int:
        barrier.wait()
        return slack.click(user, CHANNEL, messages[n]["ts"], f"label:{label}").status

    with ThreadPoolExecutor(len(clicks)) as pool:
        statuses = list(pool.map(lambda c: click(*c), clicks))
    assert statuses == [200] * len(clicks), bot.log()
    out = tmp_path / "items.jsonl"
    bot.cli("export", "support", "-o", str(out))
    rows = {r["item_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert (rows["t-1"]["status"], rows["t-1"]["final_label"]) == ("resolved", "billing")
    assert (rows["t-2"]["status"], rows["t-2"]["final_label"]) == ("resolved", "bug")
    assert rows["t-3"]["status"] == "escalated"
    for n, labels in votes.items():
        assert rows[ITEMS[n]["id"]]["votes"] == dict(zip(ANNOTATORS[:3], labels, strict=True))
    slack.wait_for(lambda: all(len(slack.ephemerals(user=u)) == 3 for u in ANNOTATORS[:3]), timeout=15)
    assert "Traceback" not in bot.log()
