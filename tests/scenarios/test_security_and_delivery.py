"""Signatures, replays, duplicate deliveries and Socket Mode, against the running bot."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from bot.slack.emulator import signed_headers
from tests.scenarios.conftest import CHANNEL, wait_items


def label_history(bot, tmp_path):
    out = tmp_path / "labels.jsonl"
    bot.cli("export", "support", "--labels", "-o", str(out))
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.fixture
def click_body(bot, slack):
    """A real block_actions body for a label click, as Slack would send it (not yet sent)."""
    bot.import_items([{"id": "s-1", "text": "secure me", "language": "en"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    slack.click("U0ANN4", CHANNEL, message["ts"], "label:bug")  # U0ANN4 is not an annotator: refused
    payload = slack.deliveries[-1].payload
    payload = {**payload, "user": {**payload["user"], "id": "U0ANN1"}}
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.mark.parametrize(
    "headers",
    [
        {},  # unsigned
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
        "stale",
        "wrong-secret",
    ],
    ids=["unsigned", "bad-signature", "stale", "wrong-secret"],
)
def test_bad_signatures_get_401_and_record_nothing(bot, slack, click_body, tmp_path, headers):
    if headers == "stale":
        headers = signed_headers(slack.signing_secret, click_body, timestamp=int(time.time()) - 301)
    elif headers == "wrong-secret":
        headers = signed_headers("not-the-secret", click_body)
    response = slack.raw_post(
        "/slack/events", click_body, {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 401
    assert label_history(bot, tmp_path) == []
    good = slack.raw_post(
        "/slack/events",
        click_body,
        {
            **signed_headers(slack.signing_secret, click_body),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert good.status_code == 200
    assert [r["user_id"] for r in label_history(bot, tmp_path)] == ["U0ANN1"]


def test_duplicate_delivery_records_one_label(bot, slack, tmp_path):
    bot.import_items([{"id": "d-1", "text": "twice", "language": "en"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    first = slack.click("U0ANN1", CHANNEL, message["ts"], "label:bug")
    again = slack.redeliver(first)
    assert first.status == again.status == 200
    assert [r["action"] for r in label_history(bot, tmp_path)] == ["label"]


def test_socket_mode_loop(socket_bot, slack, tmp_path):
    bot = socket_bot
    bot.import_items([{"id": "sm-1", "text": "over the socket", "language": "en"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    for user in ("U0ANN1", "U0ANN2", "U0ANN3"):
        delivery = slack.click(user, CHANNEL, message["ts"], "label:other")
        assert delivery.transport == "socket" and delivery.acked, bot.log()
    slack.wait_for(
        lambda: "Labeled *Other*" in json.dumps(slack.message(CHANNEL, message["ts"])["blocks"]), timeout=15
    )
    assert len(label_history(bot, tmp_path)) == 3
    help_ = slack.slash_command("U0ANN1", CHANNEL, "/label", "help")
    assert help_.acked and "/label help" in json.dumps(help_.body)


def test_socket_mode_acknowledges_and_drops_malformed_envelopes(socket_bot, slack, tmp_path):
    bot = socket_bot
    bot.import_items([{"id": "sm-2", "text": "still connected", "language": "en"}])
    bot.start()
    (message,) = wait_items(slack, 1)
    conn = slack._active_socket()
    malformed = [
        {"type": "block_actions", "user": {"id": "U0ANN1"}, "actions": [None]},
        {"type": "event_callback", "event": ["message"]},
        {
            "type": "view_submission",
            "user": {"id": "U0ANN1"},
            "view": {"callback_id": "decide_modal", "type": "modal", "state": 7},
        },
    ]
    for payload in malformed:
        kind = "events_api" if payload["type"] == "event_callback" else "interactive"
        delivery = slack._deliver_socket(
            conn, kind, payload, retry_attempt=0, retry_reason="", accepts_response_payload=False
        )
        assert delivery.acked, delivery  # acknowledged: Slack will not resend it
    slack._socket_send(conn, '{"envelope_id": "x", "type": "events_api", "payload": ')  # not even JSON
    assert slack.click("U0ANN1", CHANNEL, message["ts"], "label:bug").acked  # the connection stayed up
    assert [r["user_id"] for r in label_history(bot, tmp_path)] == ["U0ANN1"]
    log = bot.log()
    assert (
        log.count("refused a Socket Mode envelope") == 3
        and "refused a Socket Mode message that is not JSON" in log
    )
    assert "Traceback" not in log


def test_tokens_never_reach_the_log(process_bot, slack):
    bot = process_bot
    bot.start()
    slack.slash_command("U0ANN1", CHANNEL, "/label", "help")
    bot.stop()
    log = bot.log()
    assert slack.bot_token not in log and slack.signing_secret not in log


def test_missing_settings_fail_fast_and_name_them(bot, slack):
    env = {k: v for k, v in bot.env.items() if k != "SLACK_SIGNING_SECRET"}
    import subprocess

    from tests.scenarios.conftest import LABELBOT

    result = subprocess.run(
        [LABELBOT, "serve", "--port", "1"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2  # ExitCode.BAD_INPUT
    assert "SLACK_SIGNING_SECRET" in result.stderr
    bad = {**bot.env, "SLACK_BOT_TOKEN": "xoxp-wrong-kind"}
    result = subprocess.run(
        [LABELBOT, "serve", "--port", "1"], env=bad, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "SLACK_BOT_TOKEN holds a user token (xoxp-)" in result.stderr
    assert "xoxp-wrong-kind" not in result.stderr
    revoked = {**bot.env, "SLACK_BOT_TOKEN": "xoxb-not-valid"}
    result = subprocess.run(
        [LABELBOT, "serve", "--port", "1"], env=revoked, capture_output=True, text=True, timeout=60
    )
    assert (
        result.returncode == 4  # ExitCode.REFUSED
        and "invalid_auth" in result.stderr
        and "xoxb-not-valid" not in result.stderr
    )
