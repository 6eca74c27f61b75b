"""The response_url poster, against the emulator's response URLs and a few misbehaving servers."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from bot.slack.emulator import SlackEmulator
from bot.slack.responder import Responder
from tests.app_manifest import BOT_SCOPES


@pytest.fixture
def slack():
    emu = SlackEmulator(bot_scopes=BOT_SCOPES).start()
    emu.add_user("U1", "u1")
    emu.add_channel("C1", "c", members=["U1"])
    yield emu
    emu.stop()


@pytest.fixture
def responder() -> Iterator[Responder]:
    r = Responder(timeout=2)
    yield r
    r.close()


def issue(emu: SlackEmulator) -> str:
    with emu._lock:
        return emu._issue_response_url(
            "actions", channel="C1", user="U1", message_ts="1.000001", is_ephemeral=False, thread_ts=None
        )


def test_answers_reuse_one_connection_and_reach_the_user(slack, responder):
    urls = [issue(slack) for _ in range(3)]
    for n, url in enumerate(urls):
        assert responder.respond(
            url, {"text": f"answer {n}"}, response_type="ephemeral", replace_original=False
        )
    assert [e["text"] for e in slack.ephemerals(user="U1")] == ["answer 0", "answer 1", "answer 2"]
    assert responder.connections_opened == 1  # kept alive between answers


def test_answers_sent_from_the_servers_loop_are_finished_on_shutdown(slack):
    responder = Responder(connections=4)
    urls = [issue(slack) for _ in range(20)]

    async def serve() -> None:
        responder.bind()
        for n, url in enumerate(urls):
            responder.send(url, {"text": f"answer {n}"}, response_type="ephemeral")
        with pytest.raises(RuntimeError):  # waiting on its own loop would hang it
            responder.respond(urls[0], {"text": "x"})
        await responder.shutdown()

    asyncio.run(serve())
    assert sorted(e["text"] for e in slack.ephemerals(user="U1")) == sorted(f"answer {n}" for n in range(20))
    assert responder.connections_opened <= 4  # the others waited for a connection to be free


def test_answers_from_threads_go_through_the_bound_loop(slack):
    responder = Responder()
    urls = [issue(slack) for _ in range(4)]
    results: list[bool] = []

    async def serve() -> None:
        responder.bind()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            None, lambda: results.extend(responder.respond(u, {"text": "t"}) for u in urls)
        )
        await responder.shutdown()

    asyncio.run(serve())
    assert results == [True] * 4 and len(slack.ephemerals(user="U1")) == 4


def test_refusals_are_reported_without_the_secret_url(slack, responder, caplog):
    url = issue(slack)
    slack.response_url_uses = 1
    assert responder.respond(url, {"text": "first"}, response_type="ephemeral")
    with caplog.at_level(logging.WARNING):
        assert not responder.respond(url, {"text": "second"}, response_type="ephemeral")
    assert "HTTP 404" in caplog.text and "used_url" in caplog.text
    assert url.rsplit("/", 1)[1] not in caplog.text


def test_missing_url_and_unreachable_host_fail_cleanly(responder, caplog):
    assert not responder.respond(None, {"text": "x"})
    assert not responder.respond("file:///etc/passwd", {"text": "x"})
    assert not responder.respond("https://hooks.slack.com:notaport/actions/secret", {"text": "x"})
    assert not responder.respond("https://hooks.slack.com/actions/a b/secret", {"text": "x"})
    assert not responder.respond("https://hooks.slack.com/actions/é/secret", {"text": "x"})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with caplog.at_level(logging.WARNING):
        assert not responder.respond(f"http://127.0.0.1:{port}/actions/T1/1/secret", {"text": "x"})
    assert "secret" not in caplog.text


class RawServer:
    """A one-thread HTTP server that answers each request with ``replies`` in turn, then acts."""

    def __init__(
        self,
        replies: list[bytes],
        *,
        close_after_each: bool = False,
        silent: bool = False,
        drop_after: int | None = None,
    ) -> None:
        """``drop_after``: on each connection, after that many replies the next request is read
        and the connection closed without a reply (an idle timeout racing the request)."""
        self.replies, self.close_after_each, self.silent = replies, close_after_each, silent
        self.drop_after = drop_after
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, secret: str = "secret") -> str:
        return f"http://127.0.0.1:{self.port}/actions/T1/1/{secret}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                answered = 0
                while self.replies:
                    data = conn.recv(65536)
                    if not data:
                        break
                    self.requests.append(data)
                    if self.drop_after is not None and answered == self.drop_after:
                        break
                    answered += 1
                    if self.silent:
                        continue
                    conn.sendall(self.replies.pop(0))
                    if self.close_after_each:
                        break

    def close(self) -> None:
        self.sock.close()


OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def test_a_connection_the_server_closed_is_not_reused(responder):
    server = RawServer([OK, OK, OK], close_after_each=True)  # closes idle connections, unannounced
    for _ in range(3):
        assert responder.respond(server.url(), {"text": "x"})
        time.sleep(0.2)  # an idle connection, closed by the server meanwhile
    assert server.connections == responder.connections_opened == 3
    assert server.requests[0].startswith(b"POST /actions/T1/1/secret HTTP/1.1\r\n")
    assert b'"text": "x"' in server.requests[0]
    server.close()


def test_a_kept_alive_connection_closed_under_the_request_is_retried_once_on_a_new_one(responder):
    server = RawServer([OK, OK, OK], drop_after=1)
    assert responder.respond(server.url(), {"text": "a"})  # a new connection, kept alive
    assert responder.respond(server.url(), {"text": "b"})  # dropped on it, then sent on a new one
    assert responder.connections_opened == server.connections == 2
    assert [b'"text": "b"' in r for r in server.requests] == [False, True, True]
    server.close()


def test_a_new_connection_closed_without_a_reply_is_not_retried(responder, caplog):
    server = RawServer([OK], drop_after=0)  # the answer may have reached the server: not sent again
    with caplog.at_level(logging.WARNING):
        assert not responder.respond(server.url(), {"text": "x"})
    assert server.connections == len(server.requests) == 1
    assert "ConnectionResetError" in caplog.text and "secret" not in caplog.text
    server.close()


def test_connection_close_and_chunked_and_close_delimited_replies():
    responder = Responder(timeout=2)
    replies = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    ]
    server = RawServer(replies)
    assert responder.respond(server.url(), {"text": "a"})  # chunked: the connection is kept
    assert responder.respond(server.url(), {"text": "b"})  # then the server says close
    assert responder.connections_opened == 1
    delimited = RawServer([b"HTTP/1.1 200 OK\r\n\r\nok"], close_after_each=True)
    assert responder.respond(delimited.url(), {"text": "c"})  # a body that ends with the connection
    responder.close()
    server.close()
    delimited.close()


def test_a_server_that_never_answers_times_out(caplog):
    responder = Responder(timeout=0.5)
    server = RawServer([OK], silent=True)
    with caplog.at_level(logging.WARNING):
        assert not responder.respond(server.url(), {"text": "x"})
    assert "TimeoutError" in caplog.text and "secret" not in caplog.text
    responder.close()
    server.close()


def test_garbage_replies_fail_without_hanging(caplog):
    responder = Responder(timeout=2)
    server = RawServer([b"NOT HTTP AT ALL\r\n\r\n"])
    with caplog.at_level(logging.WARNING):
        assert not responder.respond(server.url(), {"text": "x"})
    assert "secret" not in caplog.text
    responder.close()
    server.close()
