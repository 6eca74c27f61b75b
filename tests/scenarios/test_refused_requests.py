"""Requests refused before they cost anything: size, signature, parse, shape; logged once, briefly."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from urllib.parse import urlencode

import httpx
import pytest

from bot.slack.emulator import signed_headers
from bot.slack.refusals import RefusalLog
from bot.slack.transport import MAX_BODY

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def post(bot, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{bot.url}/slack/events", content=body, headers=headers, timeout=10)


def signed(slack, body: bytes, **extra: str) -> dict[str, str]:
    return {**signed_headers(slack.signing_secret, body), **FORM, **extra}


@pytest.fixture
def served(bot):
    bot.start()
    return bot


def test_a_huge_body_is_refused_without_being_read(served):
    """2 MiB sent in chunks, no length announced: 413 once the cap is passed, and the connection closed."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as conn:
        head = (
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        conn.sendall(head)
        chunk = b"a" * 65536
        for _ in range(32):  # 2 MiB in chunks; the server stops reading after 1 MB
            try:
                conn.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except OSError:
                break
        reply = conn.recv(4096)
        assert reply.startswith(b"HTTP/1.1 413")
        conn.settimeout(5)
        with contextlib.suppress(ConnectionResetError):  # closed with our bytes unread: a reset
            while conn.recv(65536):  # then the server closes: the rest is never read
                pass


def test_the_declared_length_alone_is_enough_to_refuse(served):
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as conn:
        conn.sendall(
            f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode()
        )
        assert conn.recv(4096).startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"payload=notjson", "signed", 400),
        (b'payload={"type": "block_actions", "actions": [', "signed", 400),
        (b"payload=%ZZ", "signed", 400),
        (b'{"type": "event_callback", "event": ', "signed-json", 400),
        (b'{"type": "block_actions", "actions": {"action_id": "skip"}}', "signed-json", 400),
        (b"\xff\xfe not utf-8", "signed", 400),
        (b"payload=notjson", "unsigned", 401),
        (b"payload=notjson", "bad-timestamp", 401),
    ],
    ids=[
        "notjson",
        "truncated",
        "bad-escape",
        "json-truncated",
        "actions-object",
        "not-utf8",
        "unsigned",
        "ts-text",
    ],
)
def test_malformed_bodies_get_a_4xx_and_no_traceback(served, slack, caplog, body, headers, status):
    if headers == "signed":
        sent = signed(slack, body)
    elif headers == "signed-json":
        sent = {**signed_headers(slack.signing_secret, body), "Content-Type": "application/json"}
    elif headers == "bad-timestamp":
        sent = {**signed(slack, body), "X-Slack-Request-Timestamp": "soon"}
    else:
        sent = dict(FORM)
    with caplog.at_level(logging.INFO):
        response = post(served, body, sent)
    assert response.status_code == status
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.levelno >= logging.ERROR]
    refused = [r for r in caplog.records if r.name == "labelbot.refused"]
    assert len(refused) == 1 and body.decode("utf-8", "replace")[:12] not in refused[0].getMessage()


def test_refusals_are_logged_within_a_budget_and_never_with_the_body(served, caplog):
    body = urlencode({"payload": json.dumps({"secret": "do-not-log-me" * 1000})}).encode()
    started = time.monotonic()
    with caplog.at_level(logging.INFO):
        for _ in range(60):
            assert post(served, body, dict(FORM)).status_code == 401
    elapsed = time.monotonic() - started
    lines = [r.getMessage() for r in caplog.records if r.name == "labelbot.refused"]
    assert 1 <= len(lines) <= 20 + 5 * elapsed + 1  # the burst, plus what the budget refilled meanwhile
    assert all("do-not-log-me" not in line and len(line) < 200 for line in lines)
    assert "do-not-log-me" not in caplog.text  # nothing else (Bolt's verification) logged the body


def test_the_refusal_budget_counts_what_it_did_not_log(caplog):
    now = [0.0]
    refusals = RefusalLog(rate=1.0, burst=2.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO):
        assert [refusals.refused(f"r{i}") for i in range(5)] == [True, True, False, False, False]
        now[0] += 1.0
        assert refusals.refused("later")
    assert caplog.records[-1].getMessage() == "refused later (3 more refused, not logged)"


def test_signed_payloads_of_the_wrong_shape_get_400(served, slack):
    shapes = [
        {"type": "block_actions", "user": {"id": "U0ANN1"}, "actions": []},
        {"type": "block_actions", "user": {"id": "U0ANN1"}, "actions": [None]},
        {"type": "block_actions", "user": {"id": "U0ANN1"}, "actions": [{"value": "1:1"}]},
        {"type": "block_actions", "user": {"id": "U0ANN1"}, "actions": [{"action_id": 7}]},
        {"type": "block_actions", "user": {"id": "U0ANN1"}, "actions": [{"action_id": "skip", "value": 12}]},
        {
            "type": "block_actions",
            "user": {"id": "U0ANN1"},
            "actions": [{"action_id": "skip", "value": ["1:1"]}],
        },
        {
            "type": "view_submission",
            "user": {"id": "U0ANN1"},
            "view": {"callback_id": "decide_modal", "state": []},
        },
        {"type": "event_callback", "event": ["message"]},
        ["a", "list"],
    ]
    for shape in shapes:
        body = urlencode({"payload": json.dumps(shape)}).encode()
        assert post(served, body, signed(slack, body)).status_code == 400, shape


def test_a_thirty_digit_item_id_is_refused_politely(served, slack):
    action = {
        "action_id": "skip",
        "value": "1" * 30 + ":1",
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    payload = {"type": "block_actions", "user": {"id": "U0ANN1"}, "actions": [action], "response_url": ""}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    assert post(served, body, signed(slack, body)).status_code == 200
