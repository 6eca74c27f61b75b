"""Gold feedback, blind audits and label import, end to end."""

from __future__ import annotations

import json

import pandas as pd

from tests.app_manifest import BOT_SCOPES
from tests.scenarios.conftest import CHANNEL, message_text, wait_items


def export(bot, tmp_path, *flags):
    out = tmp_path / f"export{len(flags)}.jsonl"
    bot.cli("export", "support", *flags, "-o", str(out))
    return [json.loads(line) for line in out.read_text().splitlines() if line]


def test_wrong_answer_on_gold_item_gets_feedback(bot, slack):
    bot.configure(quality={"gold_feedback": True})
    bot.import_items(
        [{"id": "g-1", "text": "Charged twice", "language": "en", "gold": "billing"}], "--gold-field", "gold"
    )
    bot.start()
    (message,) = wait_items(slack, 1)
    assert "gold" not in message_text(message).lower()  # served unmarked
    slack.click("U0ANN1", CHANNEL, message["ts"], "label:bug")
    slack.click("U0ANN2", CHANNEL, message["ts"], "label:billing")
    slack.wait_for(lambda: slack.ephemerals(user="U0ANN1") and slack.ephemerals(user="U0ANN2"), timeout=10)
    wrong = json.dumps(slack.ephemerals(user="U0ANN1")[-1]["blocks"])
    assert "expected label is *Billing*" in wrong and "Payments, invoices, refunds" in wrong
    assert "expected label" not in json.dumps(slack.ephemerals(user="U0ANN2")[-1]["blocks"])


def test_audit_disagreement_corrects_the_final_label(bot, slack, tmp_path):
    bot.configure(quality={"audit_rate": 1.0}, experts={"default": ["U0EXPERT"], "admins": ["S0EXPERTS"]})
    bot.import_items([{"id": "au-1", "text": "Refund?", "language": "en"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    for user in ("U0ANN1", "U0ANN2", "U0ANN3"):
        slack.click(user, CHANNEL, message["ts"], "label:billing")
    dm = slack.dm_channel("U0EXPERT")
    audit_msg = slack.wait_for(
        lambda: [m for m in slack.messages(dm) if "Blind audit" in message_text(m)], timeout=20
    )[0]
    # with manifest.yml's scopes (the fixture's): the DM's history was read before posting
    looked = [c for c in slack.calls_to("conversations.history") if c.params.get("channel") == dm]
    assert looked and all(c.ok for c in looked)
    assert "Billing" in message_text(audit_msg)  # the label buttons, but never the consensus:
    assert "annotators" not in message_text(audit_msg).lower()
    slack.click("U0EXPERT", dm, audit_msg["ts"], "audit:bug")
    slack.wait_for(
        lambda: "Your label is now the final one" in message_text(slack.message(dm, audit_msg["ts"])),
        timeout=10,
    )
    row = export(bot, tmp_path)[0]
    assert (row["final_label"], row["resolution"]) == ("bug", "audit")
    history = bot.cli("history", "support", "au-1").stdout
    assert "audited" in history and "corrected" in history and "billing" in history


def test_an_audit_by_direct_message_needs_im_history(bot, slack):
    """The poster looks for an audit in the expert's DM before sending it: without ``im:history``
    Slack refuses that look (``missing_scope``), the audit is never sent blind, and the log names
    the scope; granted again (the app reinstalled with manifest.yml), the audit goes out."""
    slack.set_scopes([s for s in BOT_SCOPES if s != "im:history"])
    bot.configure(
        quality={"audit_rate": 1.0}, experts={"default": ["U0EXPERT"], "admins": ["S0EXPERTS"]}
    )  # no audit_channel
    bot.import_items([{"id": "au-2", "text": "Refund?", "language": "en"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    for user in ("U0ANN1", "U0ANN2", "U0ANN3"):
        slack.click(user, CHANNEL, message["ts"], "label:billing")
    dm = slack.dm_channel("U0EXPERT")

    def refused() -> list:
        calls = slack.calls_to("conversations.history")
        return [c for c in calls if c.params.get("channel") == dm and c.error == "missing_scope"]

    first = slack.wait_for(refused, timeout=20)[0]
    assert first.status == 200 and first.response["needed"] == "im:history"
    assert "im:history" not in first.response["provided"].split(",")
    slack.wait_for(lambda: len(refused()) >= 2, timeout=10)  # tried again, still refused
    assert not [m for m in slack.messages(dm) if "Blind audit" in message_text(m)]
    assert "missing_scope (needed: im:history" in bot.log()

    slack.set_scopes(BOT_SCOPES)
    slack.wait_for(lambda: [m for m in slack.messages(dm) if "Blind audit" in message_text(m)], timeout=20)


def test_label_import_applies_consensus_and_is_all_or_nothing(bot, slack, tmp_path):
    bot.import_items([{"id": f"li-{i}", "text": f"text {i}", "language": "en"} for i in range(3)])
    bad = tmp_path / "bad_labels.csv"
    pd.DataFrame(
        [
            {"item_id": "li-0", "user_id": "U0ANN1", "label": "bug"},
            {"item_id": "nope", "user_id": "U0ANN1", "label": "bug"},
            {"item_id": "li-0", "user_id": "U0ANN1", "label": "other"},
            {"item_id": "li-1", "user_id": "U0ANN2", "label": "sideways"},
        ]
    ).to_csv(bad, index=False)
    result = bot.cli("import", "support", str(bad), "--labels", check=False)
    assert result.returncode != 0
    assert "row 2: item 'nope' is not in project 'support'" in result.stderr
    assert "row 3: user U0ANN1 labels item 'li-0' twice (first at row 1)" in result.stderr
    assert "row 4: label 'sideways' is not one of the project's labels" in result.stderr
    assert export(bot, tmp_path, "--labels") == []
    good = tmp_path / "labels.csv"
    pd.DataFrame(
        [
            {"item_id": "li-0", "user_id": u, "label": v, "created_at": "2026-01-05T10:00:00Z"}
            for u, v in (("U0ANN1", "bug"), ("U0ANN2", "bug"), ("U0ANN3", "other"))
        ]
        + [
            {"item_id": "li-1", "user_id": u, "label": v, "created_at": "2026-01-05 11:00"}
            for u, v in (("U0ANN1", "bug"), ("U0ANN2", "billing"), ("U0ANN3", "other"))
        ]
    ).to_csv(good, index=False)
    out = bot.cli("import", "support", str(good), "--labels").stdout
    assert "6 new label(s)" in out and "1 item(s) resolved, 1 escalated" in out
    rows = {r["item_id"]: r for r in export(bot, tmp_path)}
    assert rows["li-0"]["status"] == "resolved" and rows["li-0"]["final_label"] == "bug"
    assert rows["li-1"]["status"] == "escalated"
    history = export(bot, tmp_path, "--labels")
    assert {r["action"] for r in history} == {"import"}
    assert history[0]["created_at"].startswith("2026-01-05T10:00:00")
    # The escalated item had no message: the bot posts it, then the expert thread.
    bot.start()
    slack.wait_for(
        lambda: any(
            "decide:" in json.dumps(m.get("blocks"))
            for m in slack.messages(CHANNEL)
            for m in slack.thread(CHANNEL, m["ts"])
        ),
        timeout=30,
    )
