"""A local Slack: Web API, Socket Mode and the Slack side of interactivity, in one process.

The project's tests run the real bot against this emulator, so it errs on the side of
Slack's strictness: it validates Block Kit, tokens, OAuth scopes (``scopes.py``: by method
and by conversation type, granted with ``bot_scopes=``), channel membership, trigger and
response_url lifetimes, and rate limits the way Slack does, and answers in Slack's wire
format (HTTP 200 + ``{"ok": false, "error": ...}``, HTTP 429 + ``Retry-After``).

It also plays Slack's other role: delivering signed interactive payloads, slash commands
and Events API events to the app, over HTTP (``deliver_to_http``) or over a Socket Mode
websocket the app opened via ``apps.connections.open``.

The emulator is one class, ``SlackEmulator``, composed here from a mixin per Slack API
family: ``core`` (shared state, ids, lookups, Web API dispatch), ``chat``,
``conversations``, ``views``, ``files``, ``users``, ``socket_mode``, ``user_actions``
(what people do in Slack), ``delivery`` (Slack -> app transport) and ``inspection`` (the
read side tests use).  This module adds the Web API method table, the server's lifecycle
and the ASGI app.

Threading: a uvicorn server runs on a background thread with its own event loop; tests
call the emulator from their own thread.  All state sits behind one re-entrant lock, which
is never held while waiting on the app (the app calls back into the Web API meanwhile).
"""

from __future__ import annotations

import asyncio
import copy
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from .chat import ChatApi
from .conversations import ConversationsApi
from .core import JSON_PARAMS, ApiCall, EmulatorBase, _parse_multipart
from .delivery import Deliveries
from .files import FilesApi
from .inspection import Inspection
from .socket_mode import SocketModeApi
from .user_actions import UserActions
from .users import UsersApi
from .views import ViewsApi


class SlackEmulator(
    ChatApi,
    ConversationsApi,
    ViewsApi,
    FilesApi,
    UsersApi,
    SocketModeApi,
    UserActions,
    Deliveries,
    Inspection,
    EmulatorBase,
):
    """Emulated Slack workspace + app.  Use as a context manager or call start()/stop()."""

    # ------------------------------------------------------------------ Web API: method table

    def _handlers(self) -> dict[str, Callable[[dict[str, Any], str], dict[str, Any]]]:
        return {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.info": self._conversations_info,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.members": self._conversations_members,
            "conversations.open": self._conversations_open,
            "conversations.list": self._conversations_list,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.upload": self._files_upload_v1,
            "files.info": self._files_info,
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> SlackEmulator:
        """Start the server on 127.0.0.1 with an OS-chosen port; returns self."""
        if self._thread is not None:
            return self
        # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only when the
        # listening socket says TCP, and without it every keep-alive response waits ~40 ms
        # (Nagle against delayed ACK) between its headers and its body.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._asgi,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            interface="asgi3",
            ws="websockets-sansio",
            timeout_graceful_shutdown=1,
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        ready = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            ready.set()
            assert self._server is not None
            await self._server.serve(sockets=[sock])

        self._thread = threading.Thread(
            target=lambda: asyncio.run(main()), name="slack-emulator", daemon=True
        )
        self._thread.start()
        ready.wait(10)
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("Slack emulator failed to start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Close sockets, stop the server thread, release resources."""
        if self._thread is None:
            return
        for conn in list(self._sockets):
            self._close_socket(conn, code=1001)
        for fut in list(self._pending_acks.values()):
            if not fut.done():
                fut.set_exception(ConnectionError("emulator stopped"))
        assert self._server is not None
        self._server.should_exit = True
        self._thread.join(10)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(5)
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._http.close()
        if self._sock is not None:
            self._sock.close()
        self._thread = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ ASGI app

    def _build_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._http_api, methods=["GET", "POST"]),
                Route("/actions/{team}/{num}/{secret}", self._http_response_url, methods=["POST"]),
                Route("/commands/{team}/{num}/{secret}", self._http_response_url, methods=["POST"]),
                Route("/upload/v1/{token}", self._http_upload, methods=["POST", "PUT"]),
                Route("/files-pri/{team_file}/{name}", self._http_download, methods=["GET"]),
                WebSocketRoute("/socket-mode", self._ws_socket_mode),
            ]
        )

    async def _asgi(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        """Outer ASGI layer: implements drop_connection_next before Starlette sees the request."""
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            method = scope["path"][len("/api/") :]
            with self._lock:
                drop = self._drops.get(method, 0) > 0
                if drop:
                    self._drops[method] -= 1
            if drop:
                body = b""
                more = True
                while more:
                    message = await receive()
                    body += message.get("body", b"")
                    more = message.get("more_body", False)
                with self._lock:
                    self.calls.append(
                        ApiCall(
                            method=method,
                            params={},
                            token=None,
                            status=0,
                            response="dropped",
                            http_method=scope.get("method", "POST"),
                        )
                    )
                transport = getattr(getattr(send, "__self__", None), "transport", None)
                if transport is not None:
                    transport.abort()
                    # Let uvicorn notice the disconnect so the response below is silently discarded.
                    for _ in range(10):
                        await asyncio.sleep(0.005)
                    await send({"type": "http.response.start", "status": 200, "headers": []})
                    await send({"type": "http.response.body", "body": b""})
                    return
                await send(
                    {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]}
                )
                return
        await self._app(scope, receive, send)

    async def _read_params(self, request: Request) -> tuple[dict[str, Any], str | None]:
        body = await request.body()
        params: dict[str, Any] = dict(request.query_params)
        ctype = request.headers.get("content-type", "")
        is_json = "application/json" in ctype
        if body:
            if is_json:
                try:
                    data = json.loads(body)
                except ValueError:
                    data = None
                if isinstance(data, dict):
                    params.update(data)
                else:
                    params["__invalid_json__"] = True
            elif "multipart/form-data" in ctype:
                params.update(_parse_multipart(body, ctype))
            else:
                params.update(dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)))
        token = None
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        elif params.get("token") and not is_json:
            token = str(params["token"])  # Slack ignores a token inside a JSON body
        params.pop("token", None)
        return params, token

    async def _http_api(self, request: Request) -> Response:
        method = request.path_params["method"]
        params, token = await self._read_params(request)
        if params.pop("__invalid_json__", False):
            status, body, headers = 200, {"ok": False, "error": "invalid_json"}, dict[str, str]()
        else:
            status, body, headers = self._dispatch(method, params, token)
        recorded = {
            k: (self._json_param(params, k) if k in JSON_PARAMS else v)
            for k, v in params.items()
            if not isinstance(v, bytes)
        }
        with self._lock:
            self.calls.append(
                ApiCall(
                    method=method,
                    params=recorded,
                    token=token,
                    status=status,
                    response=copy.deepcopy(body),
                    http_method=request.method,
                    headers=dict(request.headers),
                )
            )
        held = time.monotonic() + self.answer_delay(method)
        while time.monotonic() < held and self.answer_delay(method):  # done; the answer is late
            await asyncio.sleep(0.02)
        if isinstance(body, str):
            return Response(body, status_code=status, headers=headers, media_type="text/html")
        return JSONResponse(body, status_code=status, headers=headers)
