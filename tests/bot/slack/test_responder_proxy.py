"""Answers to clicks behind a proxy: HTTP_PROXY/HTTPS_PROXY are honoured and NO_PROXY bypasses
them, proven with a forward proxy on loopback that records what passes through it."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from bot.slack.emulator import SlackEmulator
from bot.slack.metrics import METRICS
from bot.slack.responder import Responder
from tests.app_manifest import BOT_SCOPES
from tests.bot.slack.test_responder import issue


class ForwardProxy:
    """A plain HTTP forward proxy: absolute-URI requests are relayed; each is recorded."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                proxy.seen.append((self.command, self.path))
                target = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
                path = target.path + (f"?{target.query}" if target.query else "")
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "host")
                }
                upstream.request("POST", path, body=body, headers=headers)
                reply = upstream.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    emu = SlackEmulator(bot_scopes=BOT_SCOPES).start()
    emu.add_user("U1", "u1")
    emu.add_channel("C1", "c", members=["U1"])
    yield emu
    emu.stop()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ForwardProxy]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    p = ForwardProxy()
    yield p
    p.stop()


def test_answers_go_through_the_proxy_the_environment_names(slack, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    url = issue(slack)
    responder = Responder(timeout=5)
    try:
        assert responder.respond(url, {"text": "via proxy"}, response_type="ephemeral")
    finally:
        responder.close()
    assert [e["text"] for e in slack.ephemerals(user="U1")] == ["via proxy"]
    assert proxy.seen == [("POST", url)]  # a forward proxy gets the absolute URL
    assert responder.connections_opened == 0  # the direct path was not taken


def test_no_proxy_bypasses_it(slack, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.org,127.0.0.1")
    responder = Responder(timeout=5)
    try:
        assert responder.respond(issue(slack), {"text": "direct"}, response_type="ephemeral")
    finally:
        responder.close()
    assert [e["text"] for e in slack.ephemerals(user="U1")] == ["direct"]
    assert proxy.seen == []
    assert responder.connections_opened == 1


def test_a_proxy_that_is_down_fails_the_answer_with_one_line(slack, proxy, monkeypatch, caplog):
    url = issue(slack)
    dead = proxy.url
    proxy.stop()
    monkeypatch.setenv("HTTP_PROXY", dead)
    before = sum(
        METRICS.value("labelbot_slack_api_errors_total", {"method": "response_url", "error": e})
        for e in ("URLError", "ConnectionRefusedError")
    )
    responder = Responder(timeout=2)
    try:
        assert responder.respond(url, {"text": "lost"}) is False
    finally:
        responder.close()
    assert slack.ephemerals(user="U1") == []
    lines = [r for r in caplog.records if "response_url" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert "/actions/" not in lines[0].getMessage()  # the URL's secret path is never logged
    after = sum(
        METRICS.value("labelbot_slack_api_errors_total", {"method": "response_url", "error": e})
        for e in ("URLError", "ConnectionRefusedError")
    )
    assert after == before + 1
