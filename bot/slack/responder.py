"""Answers to a click's ``response_url``: asynchronous posts over kept-alive connections.

Every label click is answered, so the answer is on the click path's CPU budget. Bolt's
``respond`` (slack_sdk's WebhookClient) opened a new HTTPS connection for every answer;
urllib3 in threads kept them open, but its request machinery and the hand-over of each
answer to a thread and back cost the server as much CPU as recording the label. Here an
answer is a task on the server's event loop: one prebuilt request written to a kept-alive
connection and a C parser (httptools, uvicorn's) reading the reply, no thread involved.
Outside a server (tests, scripts) the responder runs its own loop in one thread.

Behind a proxy (``HTTPS_PROXY``/``HTTP_PROXY`` for the answer's host, unless ``NO_PROXY`` names
it), an answer goes through slack_sdk's webhook client instead, in a thread of the loop's
executor: it speaks the proxy's protocol (CONNECT for https), as every other Slack call does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import threading
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httptools
from slack_sdk.webhook import WebhookClient

from bot.slack.metrics import METRICS

__all__ = ["Responder"]

CONNECT_ATTEMPTS = 3
MAX_BODY = 65_536  # of a reply: Slack answers "ok" or a short JSON error

log = logging.getLogger(__name__)


class Responder:
    def __init__(self, *, timeout: float = 10.0, connections: int = 32, connect_timeout: float = 5.0) -> None:
        self._timeout, self._connect_timeout = timeout, connect_timeout
        # Per host: answers on their way at once (the rest wait their turn), and connections kept
        # alive. At 32 clients, 8 in flight fell behind the clicks, and keeping fewer connections
        # than answers in flight opened a new one for every few answers (benchmarks/clicks.py).
        self._connections = connections
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._slots: dict[tuple[str, str, int], asyncio.Semaphore] = {}
        self._tasks: set[asyncio.Task[bool]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None
        self._proxies: dict[tuple[str, str, int], str | None] = {}
        self._answered = METRICS.slack_calls.labels("response_url")
        self.connections_opened = 0  # over the responder's life: kept-alive ones are opened once

    # -- the loop ---------------------------------------------------------------------------------
    def bind(self) -> None:
        """Send answers from the running event loop (the server's), from now on."""
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.get_running_loop()

    def _own_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name="labelbot-answers", daemon=True)
                self._thread.start()
                self._loop = loop
            return self._loop

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop that sends answers, from any thread (its answers are then tasks
        of that loop, with no further hand-over)."""
        loop = self._loop or self._own_loop()
        if _running_loop() is loop:
            loop.call_soon(fn)
        else:
            loop.call_soon_threadsafe(fn)

    def send(
        self,
        response_url: str | None,
        message: dict[str, Any],
        *,
        response_type: str | None = None,
        replace_original: bool | None = None,
    ) -> None:
        """Post ``message`` to ``response_url`` in the background; a failure is logged."""
        coro = self.post(
            response_url, message, response_type=response_type, replace_original=replace_original
        )
        loop = self._loop or self._own_loop()
        if _running_loop() is loop:
            self._track(loop.create_task(coro))
        else:
            loop.call_soon_threadsafe(lambda: self._track(loop.create_task(coro)))

    def respond(
        self,
        response_url: str | None,
        message: dict[str, Any],
        *,
        response_type: str | None = None,
        replace_original: bool | None = None,
    ) -> bool:
        """:meth:`post`, waited for: for threads, never on the responder's own loop."""
        loop = self._loop or self._own_loop()
        if _running_loop() is loop:
            raise RuntimeError("Responder.respond would block its own event loop; use send()")
        coro = self.post(
            response_url, message, response_type=response_type, replace_original=replace_original
        )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def _track(self, task: asyncio.Task[bool]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[bool]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("answering through response_url failed", exc_info=task.exception())

    async def shutdown(self, timeout: float = 5.0) -> None:
        """On the server's way out: wait a while for the answers still on their way, then close."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)
        self._close_idle()

    # -- one answer -------------------------------------------------------------------------------
    async def post(
        self,
        response_url: str | None,
        message: dict[str, Any],
        *,
        response_type: str | None = None,
        replace_original: bool | None = None,
    ) -> bool:
        """Post ``message`` (text/blocks) to ``response_url``; False (and a log line) on failure.

        The URL's path is a secret: it is never logged.
        """
        where = _destination(response_url)
        if where is None:
            log.warning("a click arrived without a usable response_url; its answer was dropped")
            return False
        key, host, target = where
        body = dict(message)
        if response_type is not None:
            body["response_type"] = response_type
        if replace_original is not None:
            body["replace_original"] = replace_original
        proxy = self._proxy(key)
        if proxy is not None:
            return await asyncio.get_running_loop().run_in_executor(
                None, self._post_through, proxy, str(response_url), host, body
            )
        payload = json.dumps(body).encode()
        request = (
            f"POST {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: labelbot\r\n"
            f"Content-Type: application/json; charset=utf-8\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode("latin-1") + payload
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = asyncio.Semaphore(self._connections)
        async with slots:
            try:
                status, reply = await self._exchange(key, request)
            except (OSError, TimeoutError, httptools.HttpParserError) as exc:
                return self._failed(host, exc)
        if status != 200:
            log.warning("response_url at %s answered HTTP %s: %s", host, status, reply[:200])
            METRICS.slack_call("response_url", f"http_{status}")
            return False
        self._answered.inc()
        return True

    def _proxy(self, key: tuple[str, str, int]) -> str | None:
        """The proxy for answers to ``key``'s host, from the environment (read once per host)."""
        if key not in self._proxies:
            proxies = urllib.request.getproxies_environment()
            proxy = proxies.get(key[0])
            bypass = proxy and urllib.request.proxy_bypass_environment(key[1], proxies)  # type: ignore[attr-defined]
            self._proxies[key] = proxy if proxy and not bypass else None
        return self._proxies[key]

    def _post_through(self, proxy: str, url: str, host: str, body: dict[str, Any]) -> bool:
        """One answer through ``proxy`` with slack_sdk's webhook client (in a thread)."""
        try:
            reply = WebhookClient(url, timeout=round(self._timeout), proxy=proxy).send_dict(body)
        except OSError as exc:
            return self._failed(host, exc)
        if reply.status_code != 200:
            log.warning("response_url at %s answered HTTP %s (through a proxy)", host, reply.status_code)
            METRICS.slack_call("response_url", f"http_{reply.status_code}")
            return False
        self._answered.inc()
        return True

    async def _exchange(self, key: tuple[str, str, int], request: bytes) -> tuple[int, bytes]:
        """Send ``request`` over a kept-alive connection to ``key``'s host (or a new one); the reply."""
        while True:
            conn, reused = await self._connection(key)
            try:
                async with asyncio.timeout(self._timeout):
                    status, reply = await conn.exchange(request)
                break
            except (OSError, TimeoutError, httptools.HttpParserError) as exc:
                conn.close()
                if reused and isinstance(exc, ConnectionError) and not conn.answered:
                    # A kept-alive connection the server closed as the answer went out (its idle
                    # timeout): once more on a new one, as browsers do. The worst case, a server
                    # that read the answer and then dropped the connection without replying,
                    # shows the confirmation twice; not retrying would lose it.
                    log.debug("response_url at %s: kept-alive connection closed; retrying", key[1])
                    continue
                # Otherwise not retried: the answer may have reached Slack, and it is not idempotent.
                raise
        idle = self._idle.setdefault(key, [])
        if conn.reusable and len(idle) < self._connections:
            idle.append(conn)
        else:
            conn.close()
        return status, reply

    async def _connection(self, key: tuple[str, str, int]) -> tuple[_Connection, bool]:
        """A kept-alive connection to ``key``'s host that the server has not closed (True), or a new
        one (False)."""
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.reusable:
                return conn, True
        scheme, hostname, port = key
        loop = asyncio.get_running_loop()
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                async with asyncio.timeout(self._connect_timeout):
                    _, conn = await loop.create_connection(
                        _Connection,
                        hostname,
                        port,
                        ssl=context,
                        server_hostname=hostname if context else None,
                    )
                self.connections_opened += 1
                return conn, False
            except OSError:
                # Nothing reached Slack, so trying again cannot show the answer twice.
                if attempt + 1 == CONNECT_ATTEMPTS:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        raise ConnectionError("unreachable")

    @staticmethod
    def _failed(host: str, exc: BaseException) -> bool:
        log.warning("answering through response_url at %s failed: %s", host, type(exc).__name__)
        METRICS.slack_call("response_url", type(exc).__name__)
        return False

    def close(self) -> None:
        """Close the kept-alive connections (and stop the responder's own loop, if it has one)."""
        loop, thread = self._loop, self._thread
        if loop is None:
            return
        if thread is not None:
            loop.call_soon_threadsafe(self._close_idle)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()
            self._loop = self._thread = None

    def _close_idle(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def _destination(url: str | None) -> tuple[tuple[str, str, int], str, str] | None:
    """((scheme, hostname, port), Host header, request target) of an http(s) URL, or None when it
    is unusable: the request line is written by hand, so nothing may end it or add a header."""
    parts = urlsplit(url) if url else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname:
        return None
    host = parts.netloc
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if not (host + target).isascii() or any(c <= " " for c in host + target):
        return None
    return (parts.scheme, parts.hostname, port), host, target


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, one exchange at a time; httptools parses the replies."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._reply: asyncio.Future[tuple[int, bytes]] | None = None
        self._status: int | None = None
        self._body = bytearray()
        self._keep_alive = False
        self._lost = False
        self.answered = False  # a byte of a reply arrived for the current request

    @property
    def reusable(self) -> bool:
        return self._keep_alive and not self._lost and self._reply is None

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        if self._transport is None or self._reply is not None:
            raise ConnectionError("the connection is not ready for a request")
        self._reply = asyncio.get_running_loop().create_future()
        self._keep_alive, self._status, self._body = False, None, bytearray()
        self.answered = False
        self._transport.write(request)
        try:
            return await self._reply
        finally:
            self._reply = None

    def close(self) -> None:
        self._lost = True
        if self._transport is not None:
            self._transport.close()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._reply is None:  # bytes nobody asked for: the connection is not to be trusted
            self.close()
            return
        self.answered = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._lost = True
            if not self._reply.done():
                self._reply.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self._reply is None or self._reply.done():
            return
        if exc is None and self._status is not None:  # a reply whose body ends with the connection
            self._reply.set_result((self._status, bytes(self._body)))
        else:
            self._reply.set_exception(ConnectionResetError("connection closed before the reply"))

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if len(self._body) < MAX_BODY:
            self._body += body

    def on_message_complete(self) -> None:
        self._keep_alive = self._parser.should_keep_alive()
        if self._reply is not None and not self._reply.done():
            self._reply.set_result((self._parser.get_status_code(), bytes(self._body)))
