"""Socket Mode: ``apps.connections.open`` (app-level token only) and the websocket it hands
out.  Strict as Slack is: a connection URL's ticket works once (a second connection with it
is refused), every connection starts with ``hello``, payloads travel in envelopes whose
``envelope_id`` the app must ack within 3 seconds, a refresh is Slack's ``disconnect``
message followed by closing the old connection some seconds later (payloads go to the
newest connection that is not being refreshed), and a delivery whose connection goes away
before its ack fails rather than hangs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
import time
import uuid
from typing import Any

from starlette.websockets import WebSocket

from . import payloads
from .core import Delivery, EmulatorBase, NoAppConnected, _SocketConn


class SocketModeApi(EmulatorBase):
    """``apps.connections.open`` and the Socket Mode websocket."""

    # ------------------------------------------------------------------ Web API: apps.connections.open

    def _apps_connections_open(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ticket = str(uuid.uuid4())
        self._tickets[ticket] = time.monotonic()
        return {"url": f"ws://127.0.0.1:{self.port}/socket-mode?ticket={ticket}&app_id={self.ctx.api_app_id}"}

    # ------------------------------------------------------------------ Socket Mode control

    def disconnect_socket(self, reason: str = "refresh_requested", close_after: float | None = 10.0) -> None:
        """Ask the newest connection to reconnect (Slack's ``disconnect`` message), then close it later."""
        conn = self._active_socket()
        if conn is None:
            raise NoAppConnected("no Socket Mode connection")
        conn.refreshing = True
        self._socket_send(conn, payloads.dumps(payloads.disconnect(reason)))
        if close_after is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(
                self._loop.call_later,
                close_after,
                lambda: asyncio.ensure_future(self._aclose_socket(conn, 1001)),
            )

    def close_socket(self, code: int = 1011) -> None:
        """Abruptly close the newest Socket Mode connection (as if Slack's edge dropped it)."""
        conn = self._active_socket()
        if conn is None:
            raise NoAppConnected("no Socket Mode connection")
        self._close_socket(conn, code)

    # ------------------------------------------------------------------ Socket Mode: envelopes and acks

    def _active_socket(self) -> _SocketConn | None:
        with self._lock:
            live = [c for c in self._sockets if not c.closed and not c.refreshing]
            return live[-1] if live else None

    def _deliver_socket(
        self,
        conn: _SocketConn,
        kind: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int,
        retry_reason: str,
        accepts_response_payload: bool,
    ) -> Delivery:
        envelope_id = str(uuid.uuid4())
        envelope = payloads.socket_envelope(
            kind,
            payload,
            envelope_id=envelope_id,
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )
        fut: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        with self._lock:
            self._pending_acks[envelope_id] = fut
            conn.pending.add(envelope_id)
        d = Delivery(
            kind=kind,
            payload=payload,
            transport="socket",
            envelope_id=envelope_id,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )
        start = time.monotonic()
        try:
            self._socket_send(conn, payloads.dumps(envelope))
            ack = fut.result(timeout=self.ack_timeout)
        except concurrent.futures.TimeoutError:
            d.status, d.error = "timeout", "ack_timeout"
        except Exception as exc:  # connection went away mid-delivery
            d.status, d.error = "disconnected", str(exc)
        else:
            d.status = "acked"
            d.body = ack.get("payload")
        finally:
            with self._lock:
                self._pending_acks.pop(envelope_id, None)
                conn.pending.discard(envelope_id)
        d.elapsed = time.monotonic() - start
        return d

    def _socket_send(self, conn: _SocketConn, text: str) -> None:
        if self._loop is None:
            raise NoAppConnected("emulator not started")
        if threading.current_thread() is self._thread:
            raise RuntimeError("socket sends must not run on the server thread")

        async def send() -> None:
            async with conn.send_lock:
                await conn.ws.send_text(text)

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(timeout=5)

    async def _aclose_socket(self, conn: _SocketConn, code: int) -> None:
        if conn.closed:
            return
        conn.closed = True
        with contextlib.suppress(Exception):
            await conn.ws.close(code=code)
        self._fail_pending(conn)

    def _close_socket(self, conn: _SocketConn, code: int) -> None:
        if self._loop is None or conn.closed:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._aclose_socket(conn, code), self._loop).result(timeout=5)
        except Exception:
            conn.closed = True

    def _fail_pending(self, conn: _SocketConn) -> None:
        with self._lock:
            for eid in list(conn.pending):
                fut = self._pending_acks.get(eid)
                if fut is not None and not fut.done():
                    fut.set_exception(ConnectionError("socket closed before ack"))

    # ------------------------------------------------------------------ Socket Mode: websocket endpoint

    async def _ws_socket_mode(self, ws: WebSocket) -> None:
        ticket = ws.query_params.get("ticket", "")
        with self._lock:
            valid = self._tickets.pop(ticket, None) is not None
        if not valid:
            await ws.close(code=1008)
            return
        await ws.accept()
        conn = _SocketConn(id=str(uuid.uuid4()), ws=ws, send_lock=asyncio.Lock(), connected_at=time.time())
        with self._lock:
            self._sockets.append(conn)
            n = sum(1 for c in self._sockets if not c.closed)
        try:
            async with conn.send_lock:
                await ws.send_text(
                    payloads.dumps(payloads.hello(app_id=self.ctx.api_app_id, num_connections=n))
                )
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None and message.get("bytes") is not None:
                    text = message["bytes"].decode("utf-8", "replace")
                if text:
                    self._on_socket_message(text)
        except Exception:
            pass
        finally:
            conn.closed = True
            self._fail_pending(conn)
            with self._lock:
                if conn in self._sockets:
                    self._sockets.remove(conn)

    def _on_socket_message(self, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        with self._lock:
            self.socket_messages.append(data)
            fut = self._pending_acks.get(str(data.get("envelope_id")))
        if fut is not None and not fut.done():
            fut.set_result(data)
