"""The pooled response_url poster, against the emulator's response URLs."""

from __future__ import annotations

import logging
import socket

import pytest

from bot.responder import Responder
from tests.slack_emulator import SlackEmulator


@pytest.fixture
def slack():
    emu = SlackEmulator().start()
    emu.add_user("U1", "u1")
    emu.add_channel("C1", "c", members=["U1"])
    yield emu
    emu.stop()


def issue(emu: SlackEmulator) -> str:
    with emu._lock:
        return emu._issue_response_url(
            "actions", channel="C1", user="U1", message_ts="1.000001", is_ephemeral=False, thread_ts=None
        )


def test_answers_reuse_one_connection_and_reach_the_user(slack):
    responder = Responder()
    urls = [issue(slack) for _ in range(3)]
    for n, url in enumerate(urls):
        assert responder.respond(
            url, {"text": f"answer {n}"}, response_type="ephemeral", replace_original=False
        )
    assert [e["text"] for e in slack.ephemerals(user="U1")] == ["answer 0", "answer 1", "answer 2"]
    pool = responder._pool.connection_from_url(urls[0])
    assert pool.num_connections == 1  # kept alive between answers


def test_refusals_are_reported_without_the_secret_url(slack, caplog):
    responder = Responder()
    url = issue(slack)
    slack.response_url_uses = 1
    assert responder.respond(url, {"text": "first"}, response_type="ephemeral")
    with caplog.at_level(logging.WARNING):
        assert not responder.respond(url, {"text": "second"}, response_type="ephemeral")
    assert "HTTP 404" in caplog.text and "used_url" in caplog.text
    assert url.rsplit("/", 1)[1] not in caplog.text


def test_missing_url_and_unreachable_host_fail_cleanly(caplog):
    responder = Responder(timeout=2)
    assert not responder.respond(None, {"text": "x"})
    assert not responder.respond("file:///etc/passwd", {"text": "x"})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with caplog.at_level(logging.WARNING):
        assert not responder.respond(f"http://127.0.0.1:{port}/actions/T1/1/secret", {"text": "x"})
    assert "secret" not in caplog.text
