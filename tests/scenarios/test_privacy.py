"""Redaction end to end: items holding an email, a card number (one straddling Slack's cut), a
phone number and an IBAN go through the real bot; nothing the bot sent to Slack — any Web API
call, response_url answer or ack body — holds one of them, while the database and the plain
export keep the original and ``export --redacted`` does not."""

from __future__ import annotations

import json
import re

from tests.scenarios.conftest import CHANNEL, message_text, wait_items

EMAIL = "jane.doe+billing@example.com"
CARD = "4111 1111 1111 1111"
PHONE = "+44 20 7946 0958"
IBAN = "DE89 3704 0044 0532 0130 00"
OTHER_CARD = "5555-5555-5555-4444"
ID_EMAIL = "carol.ops@example.org"  # an item whose ID is an address
# Each secret and the fragments a careless cut or an unescaped variant could leave behind.
FRAGMENTS = {
    EMAIL: ["jane.doe", "billing@example"],
    CARD: ["4111 1111", "4111111111111111", "1111 1111 1111"],
    PHONE: ["7946 0958", "79460958"],
    IBAN: ["DE89 3704", "3704 0044", "0532 0130", "DE89370400440532013000"],
    OTHER_CARD: ["5555-5555", "5555555555554444"],
    ID_EMAIL: ["carol.ops"],
}

PRIVACY = {
    "redact": ["email", "phone", "card", "iban", "national_id", "ip", "url_secrets"],
    "regions": ["US", "GB"],
}


def long_text() -> str:
    """About 3,400 characters with the card number across character 3,000 (the section's cut) and
    the email across character 300 (the notification fallback's)."""
    head = "word " * 56 + "mail " + EMAIL + " please "  # the email starts near 285
    filler = "word " * ((2990 - len(head)) // 5)
    text = head + filler + "card " + CARD + " and more " + "word " * 80
    start = text.index(CARD)
    assert start < 3000 < start + len(CARD), start
    assert text.index(EMAIL) < 300 < text.index(EMAIL) + len(EMAIL)
    return text


ITEMS = [
    {"id": "p-long", "text": long_text(), "language": "en"},
    {
        "id": "p-mix",
        "text": f"Call me at {PHONE}, refund to {IBAN} or mail {EMAIL}",
        "language": f"de {PHONE}",
    },
    {"id": "p-card", "text": f"Charged twice on {OTHER_CARD}; IBAN {IBAN}", "language": "en"},
    {"id": ID_EMAIL, "text": "Where is my parcel?", "language": "en"},
]


def everything_sent(slack) -> str:
    """Every payload the bot sent toward Slack, as one string (JSON, Unicode as is)."""
    sent = [c.params for c in slack.calls]
    sent += [r["body"] for r in slack.responses]
    sent += [d.body for d in slack.deliveries]
    sent += slack.socket_messages
    return json.dumps(sent, ensure_ascii=False, default=str)


def leaks(dumped: str, keep: tuple[str, ...] = ()) -> list[str]:
    return [
        f for secret, fragments in FRAGMENTS.items() if secret not in keep for f in fragments if f in dumped
    ]


def test_no_secret_reaches_slack_by_any_path(bot, slack, tmp_path):
    bot.configure(
        privacy=PRIVACY, quality={"audit_rate": 1.0}, experts={"default": ["U0EXPERT"], "admins": ["U0ADMIN"]}
    )
    bot.import_items(ITEMS)
    bot.start()
    messages = wait_items(slack, 4)
    assert sum("Item `[email]`" in message_text(m) for m in messages) == 1
    by_id = {
        ext: next(m for m in messages if f"`{ext}`" in message_text(m))
        for ext in ("p-long", "p-mix", "p-card")
    }
    long_msg, mix_msg, card_msg = by_id["p-long"], by_id["p-mix"], by_id["p-card"]

    # Channel messages: the redaction marks are there (redaction ran), the cut kept whole marks.
    assert "[card]" in message_text(long_msg) and "[email]" in long_msg["text"]
    for mark in ("[phone]", "[iban]", "[email]"):
        assert mark in message_text(mix_msg)
    assert "[card]" in message_text(card_msg) and "[iban]" in message_text(card_msg)

    # Modal: Show full text.
    slack.click("U0ANN1", CHANNEL, long_msg["ts"], "full_text")
    (full,) = slack.wait_for(lambda: slack.open_views("U0ANN1"), timeout=10)
    assert "[card]" in json.dumps(full)

    # Thread: an annotator escalates, quoting the email in the reason.
    slack.click("U0ANN2", CHANNEL, mix_msg["ts"], "escalate")
    (view,) = slack.wait_for(lambda: slack.open_views("U0ANN2"), timeout=10)
    slack.submit_view("U0ANN2", view["id"], {"reason": {"value": f"Has {EMAIL} in it"}})
    post = slack.wait_for(
        lambda: [m for m in slack.thread(CHANNEL, mix_msg["ts"]) if "decide:" in json.dumps(m.get("blocks"))],
        timeout=20,
    )[0]
    assert "[email]" in message_text(post)

    # App Home: the expert's routed escalations quote the item.
    slack.app_home_opened("U0EXPERT")
    home = slack.wait_for(
        lambda: (h := slack.home("U0EXPERT")) and "p-mix" in json.dumps(h) and h, timeout=20
    )
    assert "[iban]" in json.dumps(home) or "[phone]" in json.dumps(home)

    # Guidelines modal: the decision (with a card in its note) becomes an edge case quoting the item.
    slack.click("U0EXPERT", CHANNEL, post["ts"], "decide_note")
    (note_view,) = slack.wait_for(lambda: slack.open_views("U0EXPERT"), timeout=10)
    done = slack.submit_view(
        "U0EXPERT",
        note_view["id"],
        {
            "label": {"value": "billing"},
            "note": {"value": f"Card {CARD} means billing"},
            "edge_case": {"value": ["edge_case"]},
        },
    )
    assert done.status == 200
    slack.click("U0ANN3", CHANNEL, long_msg["ts"], "guidelines")
    (guide,) = slack.wait_for(lambda: slack.open_views("U0ANN3"), timeout=10)
    assert "Edge cases" in json.dumps(guide) and "[phone]" in json.dumps(guide)

    # Audit (a direct message): consensus on p-card sends a blind audit to the expert or the admin.
    for user in ("U0ANN1", "U0ANN2", "U0ANN3"):
        slack.click(user, CHANNEL, card_msg["ts"], "label:billing")
    dms = [slack.dm_channel(user) for user in ("U0EXPERT", "U0ADMIN")]  # auditors: experts and admins
    audit = slack.wait_for(
        lambda: [m for dm in dms for m in slack.messages(dm) if "Blind audit" in message_text(m)], timeout=20
    )[0]
    assert "[card]" in message_text(audit)

    # Personal session (a direct message): the long item, cut at 3,000 characters like the channel's.
    slack.slash_command("U0ANN3", CHANNEL, "/label", "next support")
    session_dm = slack.dm_channel("U0ANN3")
    session = slack.wait_for(lambda: slack.messages(session_dm), timeout=15)[-1]
    assert "p-long" in message_text(session) and "[card]" in message_text(session)

    dumped = everything_sent(slack)
    assert leaks(dumped) == [], leaks(dumped)
    assert len(slack.calls) > 20  # the scan saw the whole conversation

    # The original stays in the database and the plain export; --redacted writes redacted text.
    plain_out, redacted_out = tmp_path / "plain.jsonl", tmp_path / "redacted.jsonl"
    bot.cli("export", "support", "-o", str(plain_out))
    bot.cli("export", "support", "--redacted", "-o", str(redacted_out))
    plain_rows = {r["item_id"]: r for r in map(json.loads, plain_out.read_text().splitlines())}
    assert (
        plain_rows["p-mix"]["text"] == ITEMS[1]["text"] and plain_rows["p-mix"]["language"] == f"de {PHONE}"
    )
    redacted = redacted_out.read_text(encoding="utf-8")
    # The item ID stays: it is the key that joins the export to the data it came from.
    assert leaks(redacted, keep=(ID_EMAIL,)) == [] and "[iban]" in redacted and ID_EMAIL in redacted
    discussions = tmp_path / "threads.jsonl"
    bot.cli("export", "support", "--discussions", "--redacted", "-o", str(discussions))
    assert leaks(discussions.read_text(encoding="utf-8"), keep=(ID_EMAIL,)) == []


def test_export_redacted_without_privacy_is_a_clear_error(bot, tmp_path):
    bot.import_items(ITEMS[:1])
    result = bot.cli("export", "support", "--redacted", "-o", str(tmp_path / "x.csv"), check=False)
    assert result.returncode != 0
    assert "redacts nothing" in result.stdout + result.stderr and "Traceback" not in result.stdout


def test_check_and_start_name_an_unknown_detector(bot):
    bot.configure(privacy={"redact": ["emial"], "custom": [{"pattern": "(unclosed"}]})
    result = bot.cli("check", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert re.search(r"privacy\.redact: unknown detector 'emial'; did you mean `email`", out), out
    assert "privacy.custom[0].pattern" in out and "not a valid regex" in out
    served = bot.cli("serve", "--port", str(bot.port), check=False)  # fails at start, before serving
    assert served.returncode != 0 and "unknown detector 'emial'" in served.stdout + served.stderr
