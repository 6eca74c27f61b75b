"""A local Slack: Web API, Socket Mode and the Slack side of interactivity, in one process.

The project's tests run the real bot against this emulator, so it errs on the side of
Slack's strictness: it validates Block Kit, tokens, channel membership, trigger and
response_url lifetimes, and rate limits the way Slack does, and answers in Slack's wire
format (HTTP 200 + ``{"ok": false, "error": ...}``, HTTP 429 + ``Retry-After``).

It also plays Slack's other role: delivering signed interactive payloads, slash commands
and Events API events to the app, over HTTP (``deliver_to_http``) or over a Socket Mode
websocket the app opened via ``apps.connections.open``.

Threading: a uvicorn server runs on a background thread with its own event loop; tests
call the emulator from their own thread.  All state sits behind one re-entrant lock, which
is never held while waiting on the app (the app calls back into the Web API meanwhile).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import copy
import email.parser
import email.policy
import json
import math
import random
import secrets
import socket
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from . import payloads
from .blockkit import (
    INTERACTIVE_TYPES,
    iter_interactive_elements,
    normalize_blocks,
    validate_blocks,
    validate_view,
)
from .payloads import AppContext
from .signing import signed_headers

MAX_TEXT = 40_000
TRIGGER_TTL = 3.0  # seconds; Slack: trigger_ids expire after 3 seconds
RESPONSE_URL_TTL = 30 * 60.0  # Slack: response_url is valid for 30 minutes...
RESPONSE_URL_USES = 5  # ...and up to 5 times
ACK_TIMEOUT = 3.0  # Slack waits 3 seconds for an ack
MAX_VIEW_STACK = 3

# Rate limits: (requests per minute, burst, scope).  Scope "channel" keys the bucket by
# channel, as Slack does for chat.postMessage ("1 per second per channel, short bursts").
TIER1, TIER2, TIER3, TIER4 = 1, 20, 50, 100
RATE_LIMITS: dict[str, tuple[float, float, str]] = {
    "api.test": (TIER4, TIER4, "global"),
    "auth.test": (TIER4, TIER4, "global"),
    "apps.connections.open": (TIER1, 3, "global"),
    "chat.postMessage": (60, 5, "channel"),
    "chat.postEphemeral": (TIER4, TIER4, "global"),
    "chat.update": (TIER3, TIER3, "global"),
    "chat.delete": (TIER3, TIER3, "global"),
    "chat.getPermalink": (TIER4, TIER4, "global"),
    "conversations.history": (TIER3, TIER3, "global"),
    "conversations.replies": (TIER3, TIER3, "global"),
    "conversations.info": (TIER3, TIER3, "global"),
    "conversations.members": (TIER4, TIER4, "global"),
    "conversations.open": (TIER3, TIER3, "global"),
    "conversations.list": (TIER2, TIER2, "global"),
    "users.info": (TIER4, TIER4, "global"),
    "users.list": (TIER2, TIER2, "global"),
    "usergroups.list": (TIER2, TIER2, "global"),
    "usergroups.users.list": (TIER2, TIER2, "global"),
    "reactions.add": (TIER3, TIER3, "global"),
    "reactions.remove": (TIER2, TIER2, "global"),
    "views.open": (TIER4, TIER4, "global"),
    "views.update": (TIER4, TIER4, "global"),
    "views.push": (TIER4, TIER4, "global"),
    "views.publish": (TIER4, TIER4, "global"),
    "files.getUploadURLExternal": (TIER4, TIER4, "global"),
    "files.completeUploadExternal": (TIER4, TIER4, "global"),
}
DEFAULT_RATE_LIMIT = (TIER3, TIER3, "global")
# Since 2025 Slack limits non-Marketplace apps to 1 history/replies call a minute, 15 messages each.
NON_MARKETPLACE_HISTORY = (1, 1, "global")
NON_MARKETPLACE_HISTORY_MAX_LIMIT = 15

APP_TOKEN_METHODS = {"apps.connections.open"}
JSON_PARAMS = ("blocks", "attachments", "metadata", "view", "files")


class ApiError(Exception):
    """Raised by method handlers; becomes ``{"ok": false, "error": ...}`` (HTTP 200)."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class NoAppConnected(RuntimeError):
    """Nothing to deliver to: no Request URL set and no Socket Mode connection."""


@dataclass
class ApiCall:
    """One Web API request as the emulator saw and answered it."""

    method: str
    params: dict[str, Any]
    token: str | None
    status: int
    response: Any
    http_method: str = "POST"
    headers: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.status == 200 and isinstance(self.response, dict) and bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error") if isinstance(self.response, dict) else None

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


@dataclass
class Delivery:
    """One payload the emulator sent to the app, and how the app answered."""

    kind: str  # "interactive" | "slash_commands" | "events_api" | "url_verification"
    payload: dict[str, Any]
    transport: str  # "http" | "socket"
    status: int | str | None = None  # HTTP status, or "acked" / "timeout" / "disconnected" / "error"
    body: Any = None  # parsed JSON of the response / ack payload, else text
    headers: dict[str, str] = field(default_factory=dict)
    envelope_id: str | None = None
    event_id: str | None = None
    retry_attempt: int = 0
    retry_reason: str = ""
    elapsed: float = 0.0
    ts: str | None = None  # ts of the message the action created (user_posts etc.)
    error: str | None = None  # what Slack would have shown/complained about
    accepts_response_payload: bool = False

    @property
    def acked(self) -> bool:
        """True when the app acknowledged in time (HTTP 2xx or a Socket Mode ack)."""
        return self.status == "acked" or (isinstance(self.status, int) and 200 <= self.status < 300)

    @property
    def late(self) -> bool:
        """Acked, but after Slack's 3 second deadline."""
        return self.elapsed > ACK_TIMEOUT

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


@dataclass
class Channel:
    id: str
    name: str
    members: list[str]
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    is_archived: bool = False
    user: str | None = None  # the other party of an IM
    created: int = field(default_factory=lambda: int(time.time()))
    topic: str = ""
    purpose: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)  # all messages incl. replies, by ts

    @property
    def channel_type(self) -> str:
        if self.is_im:
            return "im"
        if self.is_mpim:
            return "mpim"
        return "group" if self.is_private else "channel"


@dataclass
class FileRecord:
    id: str
    name: str
    length: int
    title: str = ""
    content: bytes | None = None
    uploaded: bool = False
    completed: bool = False
    channels: list[str] = field(default_factory=list)
    created: int = field(default_factory=lambda: int(time.time()))
    alt_txt: str | None = None


@dataclass
class _SocketConn:
    id: str
    ws: WebSocket
    send_lock: asyncio.Lock
    connected_at: float
    refreshing: bool = False
    closed: bool = False
    pending: set[str] = field(default_factory=set)


class _Bucket:
    def __init__(self, per_minute: float, burst: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, burst)
        self.tokens = self.capacity
        self.last = time.monotonic()

    def take(self) -> float:
        """Consume a token; return 0 if allowed, else seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate if self.rate > 0 else 60.0


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _ts_key(ts: str) -> tuple[int, int]:
    sec, _, frac = str(ts).partition(".")
    try:
        return int(sec), int((frac + "000000")[:6])
    except ValueError:
        return (0, 0)


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Minimal multipart/form-data parsing (files become bytes)."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    out: dict[str, Any] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        data = part.get_payload(decode=True) or b""
        if part.get_filename():
            out[name] = data
            out.setdefault("filename", part.get_filename())
        else:
            out[name] = data.decode("utf-8", "replace")
    return out


class SlackEmulator:
    """Emulated Slack workspace + app.  Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        signing_secret: str = "test-signing-secret",
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        *,
        bot_id: str = "B0001",
        app_id: str = "A0001",
        team_domain: str = "labelbot-test",
        team_name: str = "Labelbot Test",
        bot_name: str = "labelbot",
        rate_limits: str | float = "slack",
        non_marketplace: bool = False,
        echo_bot_messages: bool = False,
        ack_timeout: float = ACK_TIMEOUT,
        connect_timeout: float = 10.0,
        seed: int | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.ctx = AppContext(
            team_id=team_id,
            team_domain=team_domain,
            team_name=team_name,
            api_app_id=app_id,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
        )
        self.bot_name = bot_name
        self.non_marketplace = non_marketplace
        self.echo_bot_messages = echo_bot_messages
        self.ack_timeout = ack_timeout
        self.connect_timeout = connect_timeout
        self.trigger_ttl = TRIGGER_TTL
        self.response_url_ttl = RESPONSE_URL_TTL
        self.response_url_uses = RESPONSE_URL_USES
        self.event_subscriptions: set[str] = {
            "message.channels",
            "message.groups",
            "message.im",
            "message.mpim",
            "app_mention",
            "app_home_opened",
            "member_joined_channel",
        }
        self.scopes = (
            "chat:write,commands,channels:history,groups:history,im:history,im:write,users:read,"
            "usergroups:read,files:write,channels:read,groups:read,reactions:write"
        )
        self.rate_limit_scale: float | None = None
        self.set_rate_limits(rate_limits)
        self._rate_overrides: dict[str, tuple[float, float, str]] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}

        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._last_ts = (0, 0)
        self._valid_tokens = {bot_token: "bot", app_token: "app"}
        self._revoked: set[str] = set()

        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, Channel] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        self._ephemerals: list[dict[str, Any]] = []
        self._views: dict[str, dict[str, Any]] = {}  # view_id -> record
        self._view_stacks: dict[str, list[str]] = {}  # user -> open modal view ids (root first)
        self._homes: dict[str, str] = {}  # user -> view id
        self._files: dict[str, FileRecord] = {}
        self._upload_tokens: dict[str, str] = {}  # url token -> file id
        self._triggers: dict[str, dict[str, Any]] = {}
        self._response_urls: dict[str, dict[str, Any]] = {}
        self._msg_state: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
        self._tickets: dict[str, float] = {}
        self._failures: dict[str, list[dict[str, Any]]] = {}
        self._drops: dict[str, int] = {}

        self.calls: list[ApiCall] = []
        self.deliveries: list[Delivery] = []
        self.responses: list[dict[str, Any]] = []
        self.socket_messages: list[dict[str, Any]] = []  # everything the app sent over Socket Mode

        self._app_url: str | None = None
        self._sockets: list[_SocketConn] = []
        self._pending_acks: dict[str, concurrent.futures.Future[dict[str, Any]]] = {}
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="slack-emu-deliver"
        )
        self._http = httpx.Client(timeout=ack_timeout)

        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sock: socket.socket | None = None
        self.port: int = 0

        self.add_user(bot_user_id, bot_name, is_bot=True)
        self._app = self._build_app()

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

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def api_url(self) -> str:
        """Pass as slack_sdk ``base_url`` / ``SLACK_API_URL``: methods live at ``<api_url><method>``."""
        return f"{self.base_url}api/"

    # ------------------------------------------------------------------ configuration

    def set_rate_limits(self, mode: str | float) -> None:
        """``"slack"`` (Slack's tiers), ``"off"``, or a multiplier (``10`` = ten times more lenient)."""
        if mode == "off" or mode is None:
            self.rate_limit_scale = None
        elif mode == "slack":
            self.rate_limit_scale = 1.0
        else:
            self.rate_limit_scale = float(mode)
        if hasattr(self, "_buckets"):
            self._buckets.clear()

    def set_rate_limit(
        self, method: str, per_minute: float, burst: float | None = None, scope: str = "global"
    ) -> None:
        """Override one method's limit (``scope``: "global" or "channel")."""
        with self._lock:
            self._rate_overrides[method] = (per_minute, burst if burst is not None else per_minute, scope)
            self._buckets = {k: v for k, v in self._buckets.items() if k[0] != method}

    def fail_next(
        self,
        method: str,
        status: int = 500,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail: 5xx, 429 (+Retry-After) or 200 + ``error``."""
        with self._lock:
            for _ in range(times):
                self._failures.setdefault(method, []).append(
                    {"status": status, "error": error, "retry_after": retry_after}
                )

    def drop_connection_next(self, method: str, times: int = 1) -> None:
        """Close the TCP connection on the next call(s) to ``method`` without answering."""
        with self._lock:
            self._drops[method] = self._drops.get(method, 0) + times

    def revoke_token(self, token: str) -> None:
        """Subsequent calls with ``token`` answer ``token_revoked``."""
        with self._lock:
            self._revoked.add(token)

    def issue_trigger_id(self, user: str) -> str:
        """A fresh trigger_id for ``user``, as if they had just interacted (for API-level tests)."""
        with self._lock:
            return self._issue_trigger(user)

    def deliver_to_http(self, url: str | None) -> None:
        """Deliver payloads to the app's Request URL (signed HTTP) instead of Socket Mode; None to unset."""
        self._app_url = url

    # ------------------------------------------------------------------ workspace state

    def add_user(
        self,
        id: str,
        name: str,
        *,
        real_name: str | None = None,
        is_bot: bool = False,
        email: str | None = None,
        tz: str = "UTC",
        is_admin: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        with self._lock:
            user = {
                "id": id,
                "team_id": self.ctx.team_id,
                "name": name,
                "deleted": deleted,
                "real_name": real_name or name,
                "tz": tz,
                "tz_label": tz,
                "tz_offset": 0,
                "profile": {
                    "real_name": real_name or name,
                    "display_name": name,
                    "real_name_normalized": real_name or name,
                    "display_name_normalized": name,
                    "team": self.ctx.team_id,
                    **({"email": email} if email else {}),
                },
                "is_admin": is_admin,
                "is_owner": False,
                "is_bot": is_bot,
                "is_app_user": False,
                "updated": int(time.time()),
            }
            if is_bot and id == self.ctx.bot_user_id:
                user["profile"]["bot_id"] = self.ctx.bot_id
                user["profile"]["api_app_id"] = self.ctx.api_app_id
            self._users[id] = user
            return copy.deepcopy(user)

    def add_channel(
        self,
        id: str,
        name: str,
        members: Iterable[str] = (),
        *,
        is_private: bool = False,
        bot_member: bool = True,
        is_archived: bool = False,
    ) -> None:
        """Create a channel; unknown member ids become users named after their id."""
        with self._lock:
            mem: list[str] = []
            for m in members:
                if m not in self._users:
                    self.add_user(m, m.lower())
                if m not in mem:
                    mem.append(m)
            if bot_member and self.ctx.bot_user_id not in mem:
                mem.append(self.ctx.bot_user_id)
            self._channels[id] = Channel(
                id=id, name=name, members=mem, is_private=is_private, is_archived=is_archived
            )

    def add_usergroup(self, id: str, handle: str, users: Iterable[str], *, name: str | None = None) -> None:
        with self._lock:
            now = int(time.time())
            self._usergroups[id] = {
                "id": id,
                "team_id": self.ctx.team_id,
                "is_usergroup": True,
                "is_subteam": True,
                "name": name or handle,
                "description": "",
                "handle": handle,
                "is_external": False,
                "date_create": now,
                "date_update": now,
                "date_delete": 0,
                "auto_type": None,
                "created_by": self.ctx.bot_user_id,
                "updated_by": self.ctx.bot_user_id,
                "deleted_by": None,
                "prefs": {"channels": [], "groups": []},
                "users": list(users),
                "user_count": len(list(users)),
            }

    def set_usergroup_users(self, id: str, users: Iterable[str]) -> None:
        with self._lock:
            group = self._usergroups[id]
            group["users"] = list(users)
            group["user_count"] = len(group["users"])

    def join_channel(self, user: str, channel: str, *, notify: bool = True) -> Delivery | None:
        """Add a member (the bot included); delivers member_joined_channel like Slack does."""
        with self._lock:
            ch = self._require_channel(channel)
            if user not in self._users:
                self.add_user(user, user.lower())
            if user not in ch.members:
                ch.members.append(user)
            event = payloads.member_joined_channel_event(
                user_id=user,
                channel=ch.id,
                channel_type=ch.channel_type[0].upper(),
                team=self.ctx.team_id,
                event_ts=self._next_ts(),
            )
            bot_in = self.ctx.bot_user_id in ch.members
        if (
            notify
            and bot_in
            and "member_joined_channel" in self.event_subscriptions
            and self._app_reachable()
        ):
            return self._deliver_event(event)
        return None

    def leave_channel(self, user: str, channel: str) -> None:
        with self._lock:
            ch = self._require_channel(channel)
            if user in ch.members:
                ch.members.remove(user)

    def dm_channel(self, user: str) -> str:
        """Id of the app's DM with ``user`` (created on first use, like conversations.open)."""
        with self._lock:
            return self._im_for(user).id

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages (and thread broadcasts) of a channel, oldest first, as Slack stores them."""
        with self._lock:
            ch = self._require_channel(channel)
            return [copy.deepcopy(m) for m in ch.messages if self._is_top_level(m)]

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Parent then replies, oldest first."""
        with self._lock:
            ch = self._require_channel(channel)
            return [copy.deepcopy(m) for m in ch.messages if m.get("thread_ts") == ts or m["ts"] == ts]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self._lock:
            msg = self._find_message(self._require_channel(channel), ts)
            return copy.deepcopy(msg) if msg else None

    def ephemerals(self, user: str | None = None, channel: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages still visible (newest last); each carries ``channel`` and ``recipient``."""
        with self._lock:
            ch_id = self._require_channel(channel).id if channel else None
            return [
                copy.deepcopy(e)
                for e in self._ephemerals
                if (user is None or e["recipient"] == user) and (ch_id is None or e["channel"] == ch_id)
            ]

    @property
    def views(self) -> dict[str, dict[str, Any]]:
        """All views ever opened/published, by id (check ``emu.view_is_open(id)`` for modals)."""
        with self._lock:
            return {vid: copy.deepcopy(rec["view"]) for vid, rec in self._views.items()}

    def view(self, view_id: str) -> dict[str, Any] | None:
        with self._lock:
            rec = self._views.get(view_id)
            return copy.deepcopy(rec["view"]) if rec else None

    def view_is_open(self, view_id: str) -> bool:
        with self._lock:
            rec = self._views.get(view_id)
            return bool(rec and rec["open"])

    def open_views(self, user: str) -> list[dict[str, Any]]:
        """The user's modal stack, root first (empty when no modal is open)."""
        with self._lock:
            return [copy.deepcopy(self._views[v]["view"]) for v in self._view_stacks.get(user, [])]

    def view_errors(self, view_id: str) -> dict[str, str]:
        """Errors last shown on a modal via ``response_action: errors``."""
        with self._lock:
            rec = self._views.get(view_id)
            return dict(rec["errors"]) if rec else {}

    def home(self, user: str) -> dict[str, Any] | None:
        with self._lock:
            vid = self._homes.get(user)
            return copy.deepcopy(self._views[vid]["view"]) if vid else None

    @property
    def files(self) -> dict[str, FileRecord]:
        with self._lock:
            return dict(self._files)

    def calls_to(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def clear_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 10.0,
        interval: float = 0.02,
        message: str | None = None,
    ) -> Any:
        """Poll ``predicate`` until it returns something truthy (returned); TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(message or f"condition not met within {timeout}s: {predicate}")
            time.sleep(interval)

    def wait_for_socket(self, timeout: float = 15.0) -> None:
        """Wait until a Socket Mode connection is up and any refresh hand-off has finished.

        After ``disconnect_socket`` slack_sdk's builtin client opens the new connection but only
        starts reading it once the old one is closed (up to ~3 s later), so payloads sent in
        between are acked late, as with real Slack; waiting here avoids that window.
        """

        def ready() -> bool:
            with self._lock:
                handing_off = any(c.refreshing and not c.closed for c in self._sockets)
            return not handing_off and self._active_socket() is not None

        self.wait_for(ready, timeout, message="no settled Socket Mode connection")

    @property
    def socket_connected(self) -> bool:
        return self._active_socket() is not None

    @property
    def socket_connections(self) -> int:
        with self._lock:
            return sum(1 for c in self._sockets if not c.closed)

    # ------------------------------------------------------------------ user actions (Slack -> app)

    def click(
        self,
        user: str,
        channel: str,
        ts: str,
        action_id: str,
        value: Any = None,
        option_value: str | None = None,
        *,
        block_id: str | None = None,
        option_values: list[str] | None = None,
    ) -> Delivery:
        """``user`` uses the element ``action_id`` on message ``ts`` (channel or own ephemeral message).

        ``value`` picks among same-id buttons by their value (or is the input for dates, user
        pickers, text inputs); ``option_value(s)`` choose select/radio/checkbox/overflow options,
        which must exist in the element.  Raises LookupError if the element isn't there.
        """
        with self._lock:
            if user not in self._users:
                raise LookupError(f"unknown user {user}")
            ch = self._require_channel(channel)
            msg = self._find_message(ch, ts)
            ephemeral = None
            if msg is None:
                ephemeral = next(
                    (
                        e
                        for e in self._ephemerals
                        if e["channel"] == ch.id and e["ts"] == ts and e["recipient"] == user
                    ),
                    None,
                )
                if ephemeral is None:
                    raise LookupError(f"no message {ts} in {ch.id} visible to {user}")
                blocks = ephemeral.get("blocks") or []
            else:
                if ch.is_private and user not in ch.members:
                    raise LookupError(f"{user} cannot see private channel {ch.id}")
                blocks = msg.get("blocks") or []
            block, element = self._find_element(blocks, action_id, block_id, value)
            picked = (
                option_values
                if option_values is not None
                else (option_value if option_value is not None else value)
            )
            action = payloads.action(element, block["block_id"], self._action_ts(), value=picked)
            state_key = (ch.id, ts, user)
            state = self._msg_state.setdefault(state_key, self._initial_state(blocks))
            if element.get("type") in INTERACTIVE_TYPES - {"button", "overflow", "workflow_button"}:
                state.setdefault(block["block_id"], {})[element["action_id"]] = payloads.state_value(
                    element, picked
                )
            is_eph = ephemeral is not None
            thread_ts = (msg or ephemeral or {}).get("thread_ts")
            response_url = self._issue_response_url(
                "actions", channel=ch.id, user=user, message_ts=ts, is_ephemeral=is_eph, thread_ts=thread_ts
            )
            payload = payloads.block_actions(
                self.ctx,
                user_id=user,
                user_name=self._users[user]["name"],
                actions=[action],
                trigger_id=self._issue_trigger(user),
                container={"type": "message", "message_ts": ts, "channel_id": ch.id, "is_ephemeral": is_eph},
                channel={"id": ch.id, "name": self._channel_display_name(ch)},
                message=None if is_eph else self._render(msg, include_metadata=False),
                state_values=copy.deepcopy(state),
                response_url=response_url,
            )
        return self._deliver("interactive", payload)

    def click_in_view(
        self,
        user: str,
        view_id: str,
        action_id: str,
        value: Any = None,
        option_value: str | None = None,
        *,
        block_id: str | None = None,
        option_values: list[str] | None = None,
    ) -> Delivery:
        """Like ``click`` but on an element of an open modal or the user's App Home."""
        with self._lock:
            rec = self._open_view_record(user, view_id)
            stack = self._view_stacks.get(user, [])
            if rec["view"]["type"] == "modal" and (not stack or stack[-1] != view_id):
                raise LookupError(f"{view_id} is covered by a pushed view; only the top modal is interactive")
            view = rec["view"]
            block, element = self._find_element(view.get("blocks") or [], action_id, block_id, value)
            picked = (
                option_values
                if option_values is not None
                else (option_value if option_value is not None else value)
            )
            action = payloads.action(element, block["block_id"], self._action_ts(), value=picked)
            if element.get("type") in INTERACTIVE_TYPES - {"button", "overflow", "workflow_button"}:
                view["state"]["values"].setdefault(block["block_id"], {})[element["action_id"]] = (
                    payloads.state_value(element, picked)
                )
            payload = payloads.block_actions(
                self.ctx,
                user_id=user,
                user_name=self._users[user]["name"],
                actions=[action],
                trigger_id=self._issue_trigger(user),
                container={"type": "view", "view_id": view_id},
                view=copy.deepcopy(view),
            )
        return self._deliver("interactive", payload)

    def fill_view(self, user: str, view_id: str, values: dict[str, dict[str, Any]]) -> None:
        """Type into a modal's inputs without submitting (no payload is sent, as in Slack)."""
        with self._lock:
            rec = self._open_view_record(user, view_id)
            self._apply_values(rec["view"], values)

    def submit_view(
        self, user: str, view_id: str, values: dict[str, dict[str, Any]] | None = None
    ) -> Delivery:
        """Submit the user's top modal with input ``values`` ({block_id: {action_id: value}}).

        Values may be plain (text, option value, list of option values) or state-shaped dicts.
        Required inputs left empty raise ValueError (Slack's client refuses to submit).  The
        app's ``response_action`` (errors/update/push/clear) is applied; an empty ack closes
        the view.  Returns the Delivery (``body`` = ack body, ``error`` if Slack would complain).
        """
        with self._lock:
            rec = self._open_view_record(user, view_id)
            view = rec["view"]
            if view.get("type") != "modal":
                raise ValueError("only modals can be submitted")
            stack = self._view_stacks.get(user, [])
            if not stack or stack[-1] != view_id:
                raise ValueError(f"{view_id} is not the top-most modal for {user}")
            if not view.get("submit"):
                raise ValueError(f"{view_id} has no submit button")
            if values:
                self._apply_values(view, values)
            missing = self._missing_required(view)
            if missing:
                raise ValueError(f"required inputs are empty: {missing}")
            rec["errors"] = {}
            payload = payloads.view_submission(
                self.ctx,
                user_id=user,
                user_name=self._users[user]["name"],
                view=copy.deepcopy(view),
                trigger_id=self._issue_trigger(user),
            )
        delivery = self._deliver("interactive", payload, accepts_response_payload=True)
        self._apply_submission_ack(user, view_id, delivery)
        return delivery

    def close_view(self, user: str, view_id: str) -> Delivery | None:
        """The user closes (cancels) a modal; view_closed is sent only if ``notify_on_close``."""
        with self._lock:
            rec = self._open_view_record(user, view_id)
            view = copy.deepcopy(rec["view"])
            stack = self._view_stacks.get(user, [])
            if view_id in stack:
                idx = stack.index(view_id)
                for vid in stack[idx:]:
                    self._views[vid]["open"] = False
                del stack[idx:]
            notify = bool(view.get("notify_on_close"))
            if notify:
                payload = payloads.view_closed(
                    self.ctx, user_id=user, user_name=self._users[user]["name"], view=view, is_cleared=False
                )
        return self._deliver("interactive", payload) if notify else None

    def slash_command(self, user: str, channel: str, command: str, text: str = "") -> Delivery:
        """The user runs ``command`` in ``channel``; an ack body (text/blocks) is shown like Slack does."""
        with self._lock:
            if user not in self._users:
                raise LookupError(f"unknown user {user}")
            ch = self._require_channel(channel)
            form = payloads.slash_command(
                self.ctx,
                user_id=user,
                user_name=self._users[user]["name"],
                channel_id=ch.id,
                channel_name=self._channel_display_name(ch),
                command=command if command.startswith("/") else "/" + command,
                text=text,
                response_url=self._issue_response_url(
                    "commands", channel=ch.id, user=user, message_ts=None, is_ephemeral=False, thread_ts=None
                ),
                trigger_id=self._issue_trigger(user),
            )
        delivery = self._deliver("slash_commands", form, accepts_response_payload=True)
        body = delivery.body
        if delivery.acked and body:
            message = body if isinstance(body, dict) else {"text": str(body)}
            if message.get("text") or message.get("blocks"):
                try:
                    self._post_response(ch.id, user, None, False, None, message, source="slash_ack")
                except ApiError as exc:
                    delivery.error = exc.error
        return delivery

    def user_posts(
        self,
        user: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        *,
        blocks: list[dict[str, Any]] | None = None,
        deliver: bool = True,
    ) -> Delivery | None:
        """A human posts; the message is stored and a ``message`` event delivered if the app would get one.

        Returns the Delivery (``.ts`` is the new message's ts), or None when Slack would not send
        an event (app not in the channel or not subscribed).  The ts is then in ``emu.messages``.
        ``deliver=False`` only stores the message (to seed history before the app runs).
        """
        with self._lock:
            ch = self._require_channel(channel)
            if user not in self._users:
                raise LookupError(f"unknown user {user}")
            if user not in ch.members:
                raise LookupError(f"{user} is not a member of {ch.id}")
            parent = None
            if thread_ts:
                parent = self._find_message(ch, thread_ts)
                if parent is None:
                    raise LookupError(f"no thread {thread_ts} in {ch.id}")
                thread_ts = parent.get("thread_ts", parent["ts"])
            msg = payloads.user_message(
                self.ctx,
                user_id=user,
                text=text,
                ts=self._next_ts(),
                thread_ts=thread_ts,
                parent_user_id=parent.get("user") if parent else None,
                blocks=blocks,
            )
            self._store_message(ch, msg)
            send_message = deliver and self._wants_message_event(ch)
            mention = deliver and (
                f"<@{self.ctx.bot_user_id}>" in text
                and "app_mention" in self.event_subscriptions
                and self.ctx.bot_user_id in ch.members
            )
            event = payloads.message_event(msg, channel=ch.id, channel_type=ch.channel_type)
            mention_event = payloads.app_mention_event(msg, channel=ch.id) if mention else None
        result = None
        if send_message:
            result = self._deliver_event(event)
            result.ts = msg["ts"]
        if mention_event is not None:
            d = self._deliver_event(mention_event)
            d.ts = msg["ts"]
            result = result or d
        return result

    def user_edits(self, user: str, channel: str, ts: str, text: str) -> Delivery | None:
        """A human edits their message; delivers ``message_changed``."""
        with self._lock:
            ch = self._require_channel(channel)
            msg = self._find_message(ch, ts)
            if msg is None or msg.get("user") != user or msg.get("bot_id"):
                raise LookupError(f"{user} has no message {ts} in {ch.id}")
            previous = self._render(msg, include_metadata=False)
            msg["text"] = text
            msg["blocks"] = payloads.rich_text_blocks(text)
            event_ts = self._next_ts()
            msg["edited"] = {"user": user, "ts": event_ts}
            event = payloads.message_changed_event(
                self._render(msg, include_metadata=False),
                previous,
                channel=ch.id,
                channel_type=ch.channel_type,
                event_ts=event_ts,
            )
            deliver = self._wants_message_event(ch)
        return self._deliver_event(event) if deliver else None

    def user_deletes(self, user: str, channel: str, ts: str) -> Delivery | None:
        """A human deletes their message; delivers ``message_deleted``."""
        with self._lock:
            ch = self._require_channel(channel)
            msg = self._find_message(ch, ts)
            if msg is None or msg.get("user") != user or msg.get("bot_id"):
                raise LookupError(f"{user} has no message {ts} in {ch.id}")
            previous = self._render(msg, include_metadata=False)
            self._remove_message(ch, msg)
            event = payloads.message_deleted_event(
                previous, channel=ch.id, channel_type=ch.channel_type, event_ts=self._next_ts()
            )
            deliver = self._wants_message_event(ch)
        return self._deliver_event(event) if deliver else None

    def app_home_opened(self, user: str, tab: str = "home") -> Delivery | None:
        with self._lock:
            if user not in self._users:
                raise LookupError(f"unknown user {user}")
            im = self._im_for(user)
            vid = self._homes.get(user)
            view = copy.deepcopy(self._views[vid]["view"]) if vid else None
            event = payloads.app_home_opened_event(
                user_id=user, channel=im.id, event_ts=self._action_ts(), view=view, tab=tab
            )
        if "app_home_opened" not in self.event_subscriptions:
            return None
        return self._deliver_event(event)

    def deliver_event(self, event: dict[str, Any]) -> Delivery:
        """Deliver an arbitrary Events API event (wrapped in a fresh event_callback envelope)."""
        return self._deliver_event(event)

    def verify_url(self) -> Delivery:
        """Send the ``url_verification`` challenge Slack sends when a Request URL is saved."""
        challenge = secrets.token_urlsafe(24)
        d = self._deliver("url_verification", payloads.url_verification(self.ctx, challenge))
        body = d.body.get("challenge") if isinstance(d.body, dict) else d.body
        if body != challenge:
            d.error = "challenge_failed"
        return d

    def redeliver(self, target: Delivery | str, reason: str = "http_timeout") -> Delivery:
        """Resend a delivery (or the one of an ``event_id``) as Slack's retry: same body, retry_attempt+1."""
        with self._lock:
            if isinstance(target, str):
                matches = [d for d in self.deliveries if d.event_id == target]
                if not matches:
                    raise LookupError(f"no delivery with event_id {target}")
                target = matches[-1]
        return self._deliver(
            target.kind,
            target.payload,
            retry_attempt=target.retry_attempt + 1,
            retry_reason=reason,
            event_id=target.event_id,
            accepts_response_payload=target.accepts_response_payload,
        )

    def raw_post(
        self,
        path_or_url: str,
        body: bytes,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """POST hand-made bytes (e.g. a badly signed payload); relative paths go to the app's Request URL."""
        if path_or_url.startswith("http://") or path_or_url.startswith("https://"):
            url = path_or_url
        elif self._app_url:
            parsed = urlparse(self._app_url)
            url = f"{parsed.scheme}://{parsed.netloc}/{path_or_url.lstrip('/')}"
        else:
            url = self.base_url + path_or_url.lstrip("/")
        return self._http.post(url, content=body, headers=headers or {}, timeout=timeout or self.ack_timeout)

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

    # ------------------------------------------------------------------ internals: ids & time

    def _next_ts(self) -> str:
        with self._lock:
            now = time.time()
            cand = (int(now), int((now % 1) * 1_000_000))
            if cand <= self._last_ts:
                sec, us = self._last_ts
                us += 1
                if us >= 1_000_000:
                    sec, us = sec + 1, 0
                cand = (sec, us)
            self._last_ts = cand
            return f"{cand[0]}.{cand[1]:06d}"

    def _action_ts(self) -> str:
        return f"{time.time():.6f}"

    def _new_id(self, prefix: str, n: int = 10) -> str:
        return prefix + "".join(self._rng.choice(string.ascii_uppercase + string.digits) for _ in range(n))

    def _issue_trigger(self, user: str) -> str:
        tid = f"{int(time.time() * 1000)}.{self._rng.randint(10**9, 10**10 - 1)}.{secrets.token_hex(16)}"
        self._triggers[tid] = {"issued": time.monotonic(), "used": False, "user": user}
        return tid

    def _consume_trigger(self, trigger_id: Any) -> str:
        if not trigger_id:
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] missing required field: trigger_id"]},
            )
        rec = self._triggers.get(str(trigger_id))
        if rec is None:
            raise ApiError("invalid_trigger_id")
        if rec["used"]:
            raise ApiError("exchanged_trigger_id")
        if time.monotonic() - rec["issued"] > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        rec["used"] = True
        return rec["user"]

    def _issue_response_url(
        self,
        kind: str,
        *,
        channel: str,
        user: str,
        message_ts: str | None,
        is_ephemeral: bool,
        thread_ts: str | None,
    ) -> str:
        secret = secrets.token_urlsafe(18)
        num = self._rng.randint(10**12, 10**13 - 1)
        self._response_urls[secret] = {
            "kind": kind,
            "channel": channel,
            "user": user,
            "message_ts": message_ts,
            "is_ephemeral": is_ephemeral,
            "thread_ts": thread_ts,
            "issued": time.monotonic(),
            "uses": 0,
        }
        return f"{self.base_url}{kind}/{self.ctx.team_id}/{num}/{secret}"

    # ------------------------------------------------------------------ internals: lookup

    def _channel_display_name(self, ch: Channel) -> str:
        return "directmessage" if ch.is_im else ch.name

    def _get_channel(self, ref: Any) -> Channel | None:
        if not ref:
            return None
        ref = str(ref)
        if ref in self._channels:
            return self._channels[ref]
        name = ref[1:] if ref.startswith("#") else ref
        return next((c for c in self._channels.values() if c.name == name and not c.is_im), None)

    def _require_channel(self, ref: str) -> Channel:
        ch = self._get_channel(ref)
        if ch is None:
            raise LookupError(f"unknown channel {ref}")
        return ch

    def _im_for(self, user: str) -> Channel:
        for ch in self._channels.values():
            if ch.is_im and ch.user == user:
                return ch
        if user not in self._users:
            raise ApiError("user_not_found")
        cid = "D" + user[1:] if len(user) > 1 else self._new_id("D")
        while cid in self._channels:
            cid = self._new_id("D")
        ch = Channel(
            id=cid, name=user, members=[user, self.ctx.bot_user_id], is_im=True, is_private=True, user=user
        )
        self._channels[cid] = ch
        return ch

    def _api_channel(self, ref: Any, *, allow_user: bool = False, need_member: bool = False) -> Channel:
        """Resolve a channel the way the Web API does (private channels are invisible to non-members)."""
        if allow_user and isinstance(ref, str) and ref[:1] in ("U", "W") and ref in self._users:
            return self._im_for(ref)
        ch = self._get_channel(ref)
        if ch is None:
            raise ApiError("channel_not_found")
        is_member = self.ctx.bot_user_id in ch.members
        if ch.is_private and not is_member:
            raise ApiError("channel_not_found")
        if need_member and not is_member:
            raise ApiError("not_in_channel")
        return ch

    @staticmethod
    def _find_message(ch: Channel, ts: Any) -> dict[str, Any] | None:
        ts = str(ts)
        return next((m for m in ch.messages if m["ts"] == ts), None)

    @staticmethod
    def _is_top_level(msg: dict[str, Any]) -> bool:
        return (
            "thread_ts" not in msg
            or msg["thread_ts"] == msg["ts"]
            or msg.get("subtype") == "thread_broadcast"
        )

    def _render(self, msg: dict[str, Any] | None, *, include_metadata: bool) -> dict[str, Any]:
        out = copy.deepcopy(msg or {})
        if not include_metadata:
            out.pop("metadata", None)
        return out

    def _find_element(
        self, blocks: list[dict[str, Any]], action_id: str, block_id: str | None, value: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        candidates = []
        for block, el in iter_interactive_elements(blocks):
            if el.get("action_id") != action_id or (
                block_id is not None and block.get("block_id") != block_id
            ):
                continue
            if block.get("type") == "input" and not block.get("dispatch_action"):
                continue  # input blocks only send block_actions with dispatch_action; see fill_view
            candidates.append((block, el))
        if len(candidates) > 1 and value is not None:
            narrowed = [
                (b, e) for b, e in candidates if e.get("type") == "button" and e.get("value") == value
            ]
            candidates = narrowed or candidates
        if not candidates:
            available = sorted({str(e.get("action_id")) for _, e in iter_interactive_elements(blocks)})
            raise LookupError(f"no element {action_id!r} (block_id={block_id!r}); available: {available}")
        if len(candidates) > 1:
            raise LookupError(f"{len(candidates)} elements match {action_id!r}; pass block_id or value")
        block, el = candidates[0]
        if el.get("type") == "button" and value is not None and el.get("value") != value:
            raise LookupError(f"button {action_id!r} has value {el.get('value')!r}, not {value!r}")
        return block, el

    def _initial_state(self, blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        state: dict[str, dict[str, Any]] = {}
        for block, el in iter_interactive_elements(blocks):
            if el.get("type") in ("button", "overflow", "workflow_button") or "action_id" not in el:
                continue
            state.setdefault(block["block_id"], {})[el["action_id"]] = payloads.state_value(el, initial=True)
        return state

    def _open_view_record(self, user: str, view_id: str) -> dict[str, Any]:
        rec = self._views.get(view_id)
        if rec is None:
            raise LookupError(f"unknown view {view_id}")
        if rec["user"] != user:
            raise LookupError(f"view {view_id} belongs to {rec['user']}, not {user}")
        if not rec["open"]:
            raise LookupError(f"view {view_id} is not open")
        if user not in self._users:
            raise LookupError(f"unknown user {user}")
        return rec

    def _apply_values(self, view: dict[str, Any], values: dict[str, dict[str, Any]]) -> None:
        elements = {
            (b.get("block_id"), e.get("action_id")): e for b, e in iter_interactive_elements(view["blocks"])
        }
        for bid, by_action in values.items():
            for aid, raw in by_action.items():
                el = elements.get((bid, aid))
                if el is None:
                    raise LookupError(
                        f"view {view['id']} has no input {bid}/{aid}; has {sorted(map(str, elements))}"
                    )
                view["state"]["values"].setdefault(bid, {})[aid] = payloads.state_value(el, raw)

    @staticmethod
    def _missing_required(view: dict[str, Any]) -> list[str]:
        missing = []
        for block in view.get("blocks") or []:
            if block.get("type") != "input" or block.get("optional"):
                continue
            el = block.get("element") or {}
            entry = view["state"]["values"].get(block.get("block_id"), {}).get(el.get("action_id"), {})
            filled = [v for k, v in entry.items() if k != "type" and v not in (None, "", [], {})]
            if not filled:
                missing.append(f"{block.get('block_id')}/{el.get('action_id')}")
        return missing

    # ------------------------------------------------------------------ internals: messages

    def _store_message(self, ch: Channel, msg: dict[str, Any]) -> None:
        ch.messages.append(msg)
        ch.messages.sort(key=lambda m: _ts_key(m["ts"]))
        thread_ts = msg.get("thread_ts")
        if thread_ts and thread_ts != msg["ts"]:
            parent = self._find_message(ch, thread_ts)
            if parent is not None:
                self._refresh_thread(ch, parent)

    def _refresh_thread(self, ch: Channel, parent: dict[str, Any]) -> None:
        replies = [m for m in ch.messages if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"]]
        if not replies:
            for key in (
                "thread_ts",
                "reply_count",
                "reply_users_count",
                "latest_reply",
                "reply_users",
                "is_locked",
                "subscribed",
            ):
                if key != "thread_ts" or parent.get("thread_ts") == parent["ts"]:
                    parent.pop(key, None)
            return
        users: list[str] = []
        for r in replies:
            if r.get("user") and r["user"] not in users:
                users.append(r["user"])
        parent.update(
            {
                "thread_ts": parent["ts"],
                "reply_count": len(replies),
                "reply_users_count": len(users),
                "latest_reply": replies[-1]["ts"],
                "reply_users": users,
                "is_locked": False,
                "subscribed": False,
            }
        )

    def _remove_message(self, ch: Channel, msg: dict[str, Any]) -> None:
        has_replies = any(m.get("thread_ts") == msg["ts"] and m["ts"] != msg["ts"] for m in ch.messages)
        if has_replies:
            # Slack keeps a tombstone so the thread survives.
            for key in (
                "blocks",
                "attachments",
                "metadata",
                "files",
                "bot_id",
                "app_id",
                "bot_profile",
                "edited",
            ):
                msg.pop(key, None)
            msg.update(
                {
                    "subtype": "tombstone",
                    "text": "This message was deleted.",
                    "user": "USLACKBOT",
                    "hidden": True,
                }
            )
            return
        ch.messages.remove(msg)
        parent_ts = msg.get("thread_ts")
        if parent_ts and parent_ts != msg["ts"]:
            parent = self._find_message(ch, parent_ts)
            if parent is not None:
                if parent.get("subtype") == "tombstone" and not any(
                    m.get("thread_ts") == parent_ts and m["ts"] != parent_ts for m in ch.messages
                ):
                    ch.messages.remove(parent)
                else:
                    self._refresh_thread(ch, parent)
        for key in [k for k in self._msg_state if k[0] == ch.id and k[1] == msg["ts"]]:
            del self._msg_state[key]

    def _bot_message(self, text: str, ts: str) -> dict[str, Any]:
        return {
            "user": self.ctx.bot_user_id,
            "type": "message",
            "ts": ts,
            "bot_id": self.ctx.bot_id,
            "app_id": self.ctx.api_app_id,
            "text": text,
            "team": self.ctx.team_id,
            "bot_profile": {
                "id": self.ctx.bot_id,
                "app_id": self.ctx.api_app_id,
                "name": self.bot_name,
                "icons": {"image_36": "https://a.slack-edge.com/80588/img/plugins/app/bot_36.png"},
                "deleted": False,
                "updated": 1700000000,
                "team_id": self.ctx.team_id,
            },
        }

    def _wants_message_event(self, ch: Channel) -> bool:
        sub = {
            "channel": "message.channels",
            "group": "message.groups",
            "im": "message.im",
            "mpim": "message.mpim",
        }[ch.channel_type]
        return sub in self.event_subscriptions and self.ctx.bot_user_id in ch.members

    # ------------------------------------------------------------------ internals: content validation

    @staticmethod
    def _json_param(params: dict[str, Any], key: str) -> Any:
        value = params.get(key)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def _message_content(self, params: dict[str, Any], *, for_update: bool = False) -> dict[str, Any]:
        """Validate text/blocks/attachments/metadata as chat.* methods do; returns the parsed fields."""
        out: dict[str, Any] = {}
        if "text" in params and params["text"] is not None:
            out["text"] = str(params["text"])
        if "blocks" in params and params["blocks"] not in (None, ""):
            blocks = self._json_param(params, "blocks")
            if not isinstance(blocks, list):
                raise ApiError("invalid_blocks_format")
            out["blocks"] = blocks
        if "attachments" in params and params["attachments"] not in (None, ""):
            attachments = self._json_param(params, "attachments")
            if not isinstance(attachments, list):
                raise ApiError("invalid_attachments")
            if len(attachments) > 100:
                raise ApiError("too_many_attachments")
            out["attachments"] = attachments
        if "metadata" in params and params["metadata"] not in (None, ""):
            metadata = self._json_param(params, "metadata")
            if (
                not isinstance(metadata, dict)
                or not isinstance(metadata.get("event_type"), str)
                or not isinstance(metadata.get("event_payload", {}), dict)
            ):
                raise ApiError("invalid_metadata_format")
            if len(json.dumps(metadata)) > 8000:
                raise ApiError("metadata_too_large")
            out["metadata"] = metadata
        has_content = bool(out.get("text")) or bool(out.get("blocks")) or bool(out.get("attachments"))
        if not has_content and not (for_update and "blocks" in out):
            raise ApiError("no_text")
        if len(out.get("text", "")) > MAX_TEXT:
            raise ApiError("msg_too_long")
        if out.get("blocks"):
            errors = validate_blocks(out["blocks"], surface="message")
            if errors:
                raise ApiError(
                    "invalid_blocks",
                    errors=errors,
                    response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
                )
            out["blocks"] = normalize_blocks(out["blocks"], self._rng)
        return out

    def _build_view(
        self,
        raw: Any,
        *,
        user: str,
        view_id: str | None = None,
        previous: dict[str, Any] | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
        expect: str | None = None,
    ) -> dict[str, Any]:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise ApiError(
                    "invalid_arguments",
                    response_metadata={
                        "messages": ["[ERROR] must be a valid JSON object [json-pointer:/view]"]
                    },
                ) from None
        errors = validate_view(raw)
        if not errors and expect and raw.get("type") != expect:
            errors = [f"must be {expect} [json-pointer:/view/type]"]
        if errors:
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
            )
        vid = view_id or self._new_id("V", 10)
        blocks = normalize_blocks(raw.get("blocks") or [], self._rng)
        ext = raw.get("external_id", "") or ""
        if ext:
            for other_id, rec in self._views.items():
                if other_id != vid and rec["view"].get("external_id") == ext and rec["open"]:
                    raise ApiError("duplicate_external_id")
        view: dict[str, Any] = {
            "id": vid,
            "team_id": self.ctx.team_id,
            "type": raw["type"],
            "blocks": blocks,
            "private_metadata": raw.get("private_metadata", "") or "",
            "callback_id": raw.get("callback_id", "") or "",
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": copy.deepcopy(raw.get("title")),
            "clear_on_close": bool(raw.get("clear_on_close", False)),
            "notify_on_close": bool(raw.get("notify_on_close", False)),
            "close": copy.deepcopy(raw.get("close")),
            "submit": copy.deepcopy(raw.get("submit")),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id or vid,
            "app_id": self.ctx.api_app_id,
            "external_id": ext,
            "app_installed_team_id": self.ctx.team_id,
            "bot_id": self.ctx.bot_id,
        }
        for key in ("title", "close", "submit"):
            if view[key] is not None:
                view[key].setdefault("emoji", True)
        if raw["type"] == "home":
            for key in ("title", "close", "submit", "clear_on_close", "notify_on_close"):
                view.pop(key, None)
        # Keep what the user typed into inputs that survive an update (Slack does the same).
        fresh = self._initial_state(blocks)
        old = (previous or {}).get("state", {}).get("values", {})
        for bid, by_action in fresh.items():
            for aid in by_action:
                if aid in old.get(bid, {}):
                    fresh[bid][aid] = old[bid][aid]
        view["state"]["values"] = {
            bid: v
            for bid, v in fresh.items()
            if any(b.get("block_id") == bid and b.get("type") == "input" for b in blocks) or bid in old
        }
        return view

    # ------------------------------------------------------------------ Web API: dispatch

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

    def _dispatch(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, Any, dict[str, str]]:
        headers = {"x-slack-req-id": secrets.token_hex(16)}
        with self._lock:
            queue = self._failures.get(method)
            if queue:
                failure = queue.pop(0)
                status = int(failure["status"])
                if status == 429:
                    retry = str(failure["retry_after"] if failure["retry_after"] is not None else 1)
                    return (
                        429,
                        {"ok": False, "error": failure["error"] or "ratelimited"},
                        {**headers, "Retry-After": retry},
                    )
                if status >= 500:
                    if failure["error"]:
                        return status, {"ok": False, "error": failure["error"]}, headers
                    return status, f"<html><body><h1>{status} Server Error</h1></body></html>", headers
                return status, {"ok": False, "error": failure["error"] or "internal_error"}, headers
            handler = self._handlers().get(method)
            if handler is None:
                return 200, {"ok": False, "error": "unknown_method", "req_method": method}, headers
            if not token:
                return 200, {"ok": False, "error": "not_authed"}, headers
            if token in self._revoked:
                return 200, {"ok": False, "error": "token_revoked"}, headers
            kind = self._valid_tokens.get(token)
            if kind is None:
                return 200, {"ok": False, "error": "invalid_auth"}, headers
            if (kind == "app") != (method in APP_TOKEN_METHODS) and method != "api.test":
                return 200, {"ok": False, "error": "not_allowed_token_type"}, headers
            if kind == "bot":
                headers["x-oauth-scopes"] = self.scopes
            retry_after = self._rate_limited(method, params)
            if retry_after:
                return (
                    429,
                    {"ok": False, "error": "ratelimited"},
                    {**headers, "Retry-After": str(retry_after)},
                )
            try:
                result = handler(params, token)
            except ApiError as exc:
                return 200, {"ok": False, "error": exc.error, **exc.extra}, headers
            return 200, {"ok": True, **result}, headers

    def _rate_limited(self, method: str, params: dict[str, Any]) -> int:
        if self.rate_limit_scale is None:
            return 0
        per_minute, burst, scope = self._rate_overrides.get(method) or RATE_LIMITS.get(
            method, DEFAULT_RATE_LIMIT
        )
        if (
            self.non_marketplace
            and method in ("conversations.history", "conversations.replies")
            and method not in self._rate_overrides
        ):
            per_minute, burst, scope = NON_MARKETPLACE_HISTORY
        key = (
            method,
            str(params.get("channel") or params.get("channel_id") or "") if scope == "channel" else "",
        )
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(
                per_minute * self.rate_limit_scale, max(1.0, burst * self.rate_limit_scale)
            )
        wait = bucket.take()
        return max(1, math.ceil(wait)) if wait > 0 else 0

    # ------------------------------------------------------------------ Web API: methods

    def _api_test(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        if params.get("error"):
            raise ApiError(str(params["error"]))
        return {"args": {k: v for k, v in params.items() if k != "token"}}

    def _auth_test(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        return {
            "url": f"https://{self.ctx.team_domain}.slack.com/",
            "team": self.ctx.team_name,
            "user": self.bot_name,
            "team_id": self.ctx.team_id,
            "user_id": self.ctx.bot_user_id,
            "bot_id": self.ctx.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ticket = str(uuid.uuid4())
        self._tickets[ticket] = time.monotonic()
        return {"url": f"ws://127.0.0.1:{self.port}/socket-mode?ticket={ticket}&app_id={self.ctx.api_app_id}"}

    def _chat_post_message(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"), allow_user=True, need_member=True)
        if ch.is_archived:
            raise ApiError("is_archived")
        content = self._message_content(params)
        msg = self._bot_message(content.get("text", ""), self._next_ts())
        for key in ("blocks", "attachments", "metadata"):
            if key in content:
                msg[key] = content[key]
        thread_ts = params.get("thread_ts")
        if thread_ts:
            parent = self._find_message(ch, thread_ts)
            if parent is None:
                raise ApiError("thread_not_found")
            msg["thread_ts"] = parent.get("thread_ts", parent["ts"])
            root = self._find_message(ch, msg["thread_ts"]) or parent
            msg["parent_user_id"] = root.get("user")
            if _bool(params.get("reply_broadcast")):
                msg["subtype"] = "thread_broadcast"
                msg["root"] = self._render(root, include_metadata=False)
        self._store_message(ch, msg)
        rendered = self._render(msg, include_metadata=True)
        if self.echo_bot_messages and self._wants_message_event(ch):
            self._deliver_async(payloads.message_event(msg, channel=ch.id, channel_type=ch.channel_type))
        return {"channel": ch.id, "ts": msg["ts"], "message": rendered}

    def _chat_update(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"))
        msg = self._find_message(ch, params.get("ts"))
        if msg is None or msg.get("subtype") == "tombstone":
            raise ApiError("message_not_found")
        if msg.get("bot_id") != self.ctx.bot_id:
            raise ApiError("cant_update_message")
        if not any(k in params for k in ("text", "blocks", "attachments", "metadata")):
            raise ApiError("no_text")
        merged = {"text": params.get("text", msg.get("text", ""))}
        for key in ("blocks", "attachments", "metadata"):
            merged[key] = params[key] if key in params else msg.get(key)
        content = self._message_content({k: v for k, v in merged.items() if v is not None}, for_update=True)
        previous = self._render(msg, include_metadata=False)
        msg["text"] = content.get("text", "")
        for key in ("blocks", "attachments", "metadata"):
            if content.get(key):
                msg[key] = content[key]
            else:
                msg.pop(key, None)
        msg["edited"] = {"user": self.ctx.bot_user_id, "ts": self._next_ts()}
        for key in [k for k in self._msg_state if k[0] == ch.id and k[1] == msg["ts"]]:
            del self._msg_state[key]
        if self.echo_bot_messages and self._wants_message_event(ch):
            self._deliver_async(
                payloads.message_changed_event(
                    self._render(msg, include_metadata=False),
                    previous,
                    channel=ch.id,
                    channel_type=ch.channel_type,
                    event_ts=msg["edited"]["ts"],
                )
            )
        return {
            "channel": ch.id,
            "ts": msg["ts"],
            "text": msg["text"],
            "message": self._render(msg, include_metadata=True),
        }

    def _chat_delete(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"))
        msg = self._find_message(ch, params.get("ts"))
        if msg is None or msg.get("subtype") == "tombstone":
            raise ApiError("message_not_found")
        if msg.get("bot_id") != self.ctx.bot_id:
            raise ApiError("cant_delete_message")
        previous = self._render(msg, include_metadata=False)
        self._remove_message(ch, msg)
        if self.echo_bot_messages and self._wants_message_event(ch):
            self._deliver_async(
                payloads.message_deleted_event(
                    previous, channel=ch.id, channel_type=ch.channel_type, event_ts=self._next_ts()
                )
            )
        return {"channel": ch.id, "ts": previous["ts"]}

    def _chat_post_ephemeral(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"), need_member=True)
        user = params.get("user")
        if not user or user not in self._users:
            raise ApiError("user_not_found")
        if user not in ch.members:
            raise ApiError("user_not_in_channel")
        content = self._message_content(params)
        ts = self._next_ts()
        self._add_ephemeral(ch.id, user, ts, content, params.get("thread_ts"), "chat.postEphemeral")
        return {"message_ts": ts}

    def _add_ephemeral(
        self, channel: str, user: str, ts: str, content: dict[str, Any], thread_ts: str | None, source: str
    ) -> dict[str, Any]:
        eph = {
            "type": "message",
            "subtype": "bot_message",
            "ts": ts,
            "channel": channel,
            "recipient": user,
            "bot_id": self.ctx.bot_id,
            "text": content.get("text", ""),
            "source": source,
        }
        for key in ("blocks", "attachments"):
            if content.get(key):
                eph[key] = content[key]
        if thread_ts:
            eph["thread_ts"] = thread_ts
        self._ephemerals.append(eph)
        return eph

    def _chat_get_permalink(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"))
        msg = self._find_message(ch, params.get("message_ts"))
        if msg is None:
            raise ApiError("message_not_found")
        link = f"https://{self.ctx.team_domain}.slack.com/archives/{ch.id}/p{msg['ts'].replace('.', '')}"
        if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
            link += f"?thread_ts={msg['thread_ts']}&cid={ch.id}"
        return {"channel": ch.id, "permalink": link}

    def _channel_object(self, ch: Channel, *, num_members: bool = False) -> dict[str, Any]:
        if ch.is_im:
            return {
                "id": ch.id,
                "created": ch.created,
                "is_archived": False,
                "is_im": True,
                "is_org_shared": False,
                "context_team_id": self.ctx.team_id,
                "updated": ch.created * 1000,
                "user": ch.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        obj: dict[str, Any] = {
            "id": ch.id,
            "name": ch.name,
            "is_channel": not ch.is_private and not ch.is_mpim,
            "is_group": ch.is_private and not ch.is_mpim,
            "is_im": False,
            "is_mpim": ch.is_mpim,
            "is_private": ch.is_private,
            "created": ch.created,
            "is_archived": ch.is_archived,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": ch.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.ctx.team_id,
            "updated": ch.created * 1000,
            "parent_conversation": None,
            "creator": self.ctx.bot_user_id,
            "is_ext_shared": False,
            "shared_team_ids": [self.ctx.team_id],
            "pending_connected_team_ids": [],
            "is_member": self.ctx.bot_user_id in ch.members,
            "topic": {"value": ch.topic, "creator": "", "last_set": 0},
            "purpose": {"value": ch.purpose, "creator": "", "last_set": 0},
            "previous_names": [],
        }
        if num_members:
            obj["num_members"] = len(ch.members)
        return obj

    def _conversations_info(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"))
        return {"channel": self._channel_object(ch, num_members=_bool(params.get("include_num_members")))}

    def _conversations_list(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        types = str(params.get("types") or "public_channel").split(",")
        out = []
        for ch in self._channels.values():
            kind = (
                "im"
                if ch.is_im
                else "mpim"
                if ch.is_mpim
                else "private_channel"
                if ch.is_private
                else "public_channel"
            )
            if kind not in types or (ch.is_private and self.ctx.bot_user_id not in ch.members):
                continue
            if _bool(params.get("exclude_archived")) and ch.is_archived:
                continue
            out.append(self._channel_object(ch))
        return self._paginate(out, params, "channels")

    def _paginate(
        self,
        items: list[Any],
        params: dict[str, Any],
        key: str,
        *,
        default_limit: int = 100,
        max_limit: int = 1000,
    ) -> dict[str, Any]:
        limit = self._limit(params, default_limit, max_limit)
        start = 0
        cursor = params.get("cursor")
        if cursor:
            try:
                start = int(json.loads(base64.b64decode(str(cursor)).decode())["offset"])
            except Exception:
                raise ApiError("invalid_cursor") from None
        page = items[start : start + limit]
        nxt = ""
        if start + limit < len(items):
            nxt = base64.b64encode(json.dumps({"offset": start + limit}).encode()).decode()
        return {key: page, "response_metadata": {"next_cursor": nxt}}

    @staticmethod
    def _limit(params: dict[str, Any], default: int, maximum: int) -> int:
        try:
            limit = int(params.get("limit") or default)
        except (TypeError, ValueError):
            raise ApiError("invalid_limit") from None
        return max(1, min(limit, maximum))

    def _history_page(
        self, msgs: list[dict[str, Any]], params: dict[str, Any], *, newest_first: bool, key: str = "messages"
    ) -> dict[str, Any]:
        include_metadata = _bool(params.get("include_all_metadata"))
        inclusive = _bool(params.get("inclusive"))
        oldest = params.get("oldest")
        latest = params.get("latest")

        def in_range(m: dict[str, Any]) -> bool:
            k = _ts_key(m["ts"])
            if oldest not in (None, "", "0"):
                o = _ts_key(str(oldest))
                if k < o or (k == o and not inclusive):
                    return False
            if latest not in (None, ""):
                lt = _ts_key(str(latest))
                if k > lt or (k == lt and not inclusive):
                    return False
            return True

        selected = [m for m in msgs if in_range(m)]
        if newest_first:
            selected = list(reversed(selected))
        max_limit = NON_MARKETPLACE_HISTORY_MAX_LIMIT if self.non_marketplace else 999
        default = NON_MARKETPLACE_HISTORY_MAX_LIMIT if self.non_marketplace else 100
        limit = self._limit(params, default, max_limit)
        start = 0
        cursor = params.get("cursor")
        if cursor:
            try:
                decoded = base64.b64decode(str(cursor)).decode()
                assert decoded.startswith("next_ts:")
                ts_raw = decoded.split(":", 1)[1]
                target = f"{ts_raw[:-6]}.{ts_raw[-6:]}"
                start = next(i for i, m in enumerate(selected) if m["ts"] == target)
            except Exception:
                raise ApiError("invalid_cursor") from None
        page = selected[start : start + limit]
        has_more = start + limit < len(selected)
        nxt = ""
        if has_more:
            nxt = base64.b64encode(
                f"next_ts:{selected[start + limit]['ts'].replace('.', '')}".encode()
            ).decode()
        return {
            key: [self._render(m, include_metadata=include_metadata) for m in page],
            "has_more": has_more,
            "response_metadata": {"next_cursor": nxt},
        }

    def _conversations_history(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"), need_member=True)
        top = [m for m in ch.messages if self._is_top_level(m)]
        result = self._history_page(top, params, newest_first=True)
        result.update({"pin_count": 0, "channel_actions_ts": None, "channel_actions_count": 0})
        return result

    def _conversations_replies(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"), need_member=True)
        ts = params.get("ts")
        if not ts:
            raise ApiError("invalid_arguments")
        msg = self._find_message(ch, ts)
        if msg is None:
            raise ApiError("thread_not_found")
        if msg.get("thread_ts") and msg["thread_ts"] != msg["ts"]:
            thread = [msg]
        else:
            thread = [m for m in ch.messages if m["ts"] == msg["ts"] or m.get("thread_ts") == msg["ts"]]
        return self._history_page(thread, params, newest_first=False)

    def _conversations_members(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"))
        return self._paginate(list(ch.members), params, "members")

    def _conversations_open(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        if params.get("channel"):
            ch = self._api_channel(params.get("channel"))
            return {"channel": {"id": ch.id}, "no_op": True, "already_open": True}
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if not users:
            raise ApiError("users_list_not_supplied")
        for u in users:
            if u not in self._users:
                raise ApiError("user_not_found")
        if len(users) > 1:
            members = sorted({*users, self.ctx.bot_user_id})
            for ch in self._channels.values():
                if ch.is_mpim and sorted(ch.members) == members:
                    return {"channel": {"id": ch.id}, "no_op": True, "already_open": True}
            cid = self._new_id("G")
            name = "mpdm-" + "--".join(self._users[u]["name"] for u in members) + "-1"
            self._channels[cid] = Channel(id=cid, name=name, members=members, is_private=True, is_mpim=True)
            return {"channel": {"id": cid}}
        existed = any(c.is_im and c.user == users[0] for c in self._channels.values())
        ch = self._im_for(users[0])
        out: dict[str, Any] = {
            "channel": self._channel_object(ch) if _bool(params.get("return_im")) else {"id": ch.id}
        }
        if existed:
            out.update({"no_op": True, "already_open": True})
        return out

    def _users_info(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        user = self._users.get(str(params.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _users_list(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        result = self._paginate([copy.deepcopy(u) for u in self._users.values()], params, "members")
        result["cache_ts"] = int(time.time())
        return result

    def _usergroups_list(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        out = []
        for g in self._usergroups.values():
            item = copy.deepcopy(g)
            if not _bool(params.get("include_users")):
                item.pop("users", None)
            if not _bool(params.get("include_count")):
                item.pop("user_count", None)
            out.append(item)
        return {"usergroups": out}

    def _usergroups_users_list(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        gid = params.get("usergroup")
        if not gid:
            raise ApiError("invalid_arguments")
        group = self._usergroups.get(str(gid))
        if group is None:
            raise ApiError("no_such_subteam")
        return {"users": list(group["users"])}

    def _reactions_add(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"), need_member=True)
        msg = self._find_message(ch, params.get("timestamp"))
        name = str(params.get("name") or "").strip(":")
        if msg is None:
            raise ApiError("message_not_found")
        if not name:
            raise ApiError("invalid_name")
        reactions = msg.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == name), None)
        if entry is None:
            entry = {"name": name, "users": [], "count": 0}
            reactions.append(entry)
        if self.ctx.bot_user_id in entry["users"]:
            raise ApiError("already_reacted")
        entry["users"].append(self.ctx.bot_user_id)
        entry["count"] = len(entry["users"])
        return {}

    def _reactions_remove(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        ch = self._api_channel(params.get("channel"))
        msg = self._find_message(ch, params.get("timestamp"))
        if msg is None:
            raise ApiError("message_not_found")
        name = str(params.get("name") or "").strip(":")
        entry = next((r for r in msg.get("reactions", []) if r["name"] == name), None)
        if entry is None or self.ctx.bot_user_id not in entry["users"]:
            raise ApiError("no_reaction")
        entry["users"].remove(self.ctx.bot_user_id)
        entry["count"] = len(entry["users"])
        if not entry["users"]:
            msg["reactions"].remove(entry)
        if not msg.get("reactions"):
            msg.pop("reactions", None)
        return {}

    def _views_open(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        if "view" not in params:
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
            )
        user = self._consume_trigger(params.get("trigger_id"))
        view = self._build_view(params["view"], user=user, expect="modal")
        for vid in self._view_stacks.get(user, []):
            self._views[vid]["open"] = False
        self._view_stacks[user] = [view["id"]]
        self._views[view["id"]] = {"view": view, "user": user, "open": True, "errors": {}}
        return {"view": copy.deepcopy(view)}

    def _views_push(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        if "view" not in params:
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
            )
        user = self._consume_trigger(params.get("trigger_id"))
        stack = self._view_stacks.get(user) or []
        if not stack:
            raise ApiError("not_found")
        if len(stack) >= MAX_VIEW_STACK:
            raise ApiError("push_limit_reached")
        view = self._build_view(
            params["view"], user=user, expect="modal", root_view_id=stack[0], previous_view_id=stack[-1]
        )
        stack.append(view["id"])
        self._views[view["id"]] = {"view": view, "user": user, "open": True, "errors": {}}
        return {"view": copy.deepcopy(view)}

    def _views_update(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        if "view" not in params:
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
            )
        rec = None
        if params.get("view_id"):
            rec = self._views.get(str(params["view_id"]))
        elif params.get("external_id"):
            rec = next(
                (
                    r
                    for r in self._views.values()
                    if r["view"].get("external_id") == params["external_id"] and r["open"]
                ),
                None,
            )
        else:
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] must provide either view_id or external_id"]},
            )
        if rec is None or not rec["open"]:
            raise ApiError("not_found")
        old = rec["view"]
        if params.get("hash") and params["hash"] != old["hash"]:
            raise ApiError("hash_conflict")
        view = self._build_view(
            params["view"],
            user=rec["user"],
            view_id=old["id"],
            previous=old,
            root_view_id=old["root_view_id"],
            previous_view_id=old["previous_view_id"],
            expect=old["type"],
        )
        rec["view"] = view
        rec["errors"] = {}
        return {"view": copy.deepcopy(view)}

    def _views_publish(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        user = params.get("user_id")
        if not user or user not in self._users:
            raise ApiError("user_not_found")
        if "view" not in params:
            raise ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]}
            )
        vid = self._homes.get(user)
        old = self._views[vid]["view"] if vid else None
        if old is not None and params.get("hash") and params["hash"] != old["hash"]:
            raise ApiError("hash_conflict")
        view = self._build_view(params["view"], user=user, view_id=vid, previous=old, expect="home")
        self._homes[user] = view["id"]
        self._views[view["id"]] = {"view": view, "user": user, "open": True, "errors": {}}
        return {"view": copy.deepcopy(view)}

    def _files_get_upload_url(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        filename = params.get("filename")
        length = params.get("length")
        if not filename or length in (None, ""):
            raise ApiError("invalid_arguments")
        try:
            n = int(length)
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments") from None
        if n <= 0:
            raise ApiError("invalid_arguments")
        fid = self._new_id("F", 10)
        self._files[fid] = FileRecord(
            id=fid, name=str(filename), length=n, title=str(filename), alt_txt=params.get("alt_txt")
        )
        url_token = secrets.token_urlsafe(24)
        self._upload_tokens[url_token] = fid
        return {"upload_url": f"{self.base_url}upload/v1/{url_token}", "file_id": fid}

    def _file_object(self, rec: FileRecord) -> dict[str, Any]:
        ext = rec.name.rsplit(".", 1)[-1].lower() if "." in rec.name else "binary"
        mimetype = {
            "txt": "text/plain",
            "csv": "text/csv",
            "json": "application/json",
            "png": "image/png",
            "jpg": "image/jpeg",
            "jpeg": "image/jpeg",
            "pdf": "application/pdf",
        }.get(ext, "application/octet-stream")
        url = f"{self.base_url}files-pri/{self.ctx.team_id}-{rec.id}/{rec.name}"
        return {
            "id": rec.id,
            "created": rec.created,
            "timestamp": rec.created,
            "name": rec.name,
            "title": rec.title,
            "mimetype": mimetype,
            "filetype": ext,
            "pretty_type": ext.upper(),
            "user": self.ctx.bot_user_id,
            "user_team": self.ctx.team_id,
            "editable": False,
            "size": len(rec.content or b""),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": bool(rec.channels),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": url,
            "url_private_download": url + "?download=1",
            "permalink": f"https://{self.ctx.team_domain}.slack.com/files/{self.ctx.bot_user_id}/{rec.id}/{rec.name}",
            "channels": [c for c in rec.channels if c.startswith("C")],
            "groups": [c for c in rec.channels if c.startswith("G")],
            "ims": [c for c in rec.channels if c.startswith("D")],
            "comments_count": 0,
            "shares": {},
        }

    def _files_complete_upload(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        files = self._json_param(params, "files")
        if not isinstance(files, list) or not files:
            raise ApiError("invalid_arguments")
        records = []
        for f in files:
            if not isinstance(f, dict) or f.get("id") not in self._files:
                raise ApiError("file_not_found")
            rec = self._files[f["id"]]
            if not rec.uploaded or rec.completed:
                raise ApiError("file_not_found")
            records.append((rec, f.get("title") or rec.name))
        targets: list[Channel] = []
        if params.get("channel_id"):
            targets.append(self._api_channel(params["channel_id"], need_member=True))
        for cid in [c for c in str(params.get("channels") or "").split(",") if c]:
            targets.append(self._api_channel(cid, need_member=True))
        thread_ts = params.get("thread_ts")
        if thread_ts and len(targets) != 1:
            raise ApiError("invalid_arguments")
        for rec, title in records:
            rec.title = title
            rec.completed = True
            rec.channels.extend(ch.id for ch in targets)
        for ch in targets:
            text = str(params.get("initial_comment") or "")
            msg = self._bot_message(text, self._next_ts())
            msg.update(
                {"files": [self._file_object(r) for r, _ in records], "upload": True, "display_as_bot": False}
            )
            if thread_ts:
                parent = self._find_message(ch, thread_ts)
                if parent is None:
                    raise ApiError("thread_not_found")
                msg["thread_ts"] = parent.get("thread_ts", parent["ts"])
                msg["parent_user_id"] = parent.get("user")
            self._store_message(ch, msg)
        return {"files": [{"id": r.id, "title": r.title} for r, _ in records]}

    def _files_upload_v1(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        raise ApiError("method_deprecated")

    def _files_info(self, params: dict[str, Any], token: str) -> dict[str, Any]:
        rec = self._files.get(str(params.get("file") or ""))
        if rec is None or not rec.completed:
            raise ApiError("file_not_found")
        return {"file": self._file_object(rec), "comments": [], "response_metadata": {"next_cursor": ""}}

    # ------------------------------------------------------------------ response_url & view acks

    def _post_response(
        self,
        channel: str,
        user: str,
        message_ts: str | None,
        is_ephemeral: bool,
        thread_ts: str | None,
        body: dict[str, Any],
        *,
        source: str,
    ) -> dict[str, Any]:
        """Apply a response_url / slash-ack message (replace, delete, in_channel or ephemeral)."""
        with self._lock:
            ch = self._channels[channel]
            if _bool(body.get("delete_original")):
                if message_ts is None:
                    raise ApiError("no_original_message")
                if is_ephemeral:
                    before = len(self._ephemerals)
                    self._ephemerals = [
                        e
                        for e in self._ephemerals
                        if not (e["channel"] == channel and e["ts"] == message_ts and e["recipient"] == user)
                    ]
                    if len(self._ephemerals) == before:
                        raise ApiError("message_not_found")
                else:
                    msg = self._find_message(ch, message_ts)
                    if msg is None:
                        raise ApiError("message_not_found")
                    self._remove_message(ch, msg)
                return {"action": "deleted", "ts": message_ts}
            content = self._message_content(body)
            if _bool(body.get("replace_original")) and message_ts is not None:
                if is_ephemeral:
                    eph = next(
                        (
                            e
                            for e in self._ephemerals
                            if e["channel"] == channel and e["ts"] == message_ts and e["recipient"] == user
                        ),
                        None,
                    )
                    if eph is None:
                        raise ApiError("message_not_found")
                    eph["text"] = content.get("text", "")
                    for key in ("blocks", "attachments"):
                        if content.get(key):
                            eph[key] = content[key]
                        else:
                            eph.pop(key, None)
                    self._msg_state.pop((channel, message_ts, user), None)
                    return {"action": "replaced", "ts": message_ts}
                msg = self._find_message(ch, message_ts)
                if msg is None:
                    raise ApiError("message_not_found")
                msg["text"] = content.get("text", "")
                for key in ("blocks", "attachments"):
                    if content.get(key):
                        msg[key] = content[key]
                    else:
                        msg.pop(key, None)
                msg["edited"] = {"user": self.ctx.bot_user_id, "ts": self._next_ts()}
                for key in [k for k in self._msg_state if k[0] == channel and k[1] == message_ts]:
                    del self._msg_state[key]
                return {"action": "replaced", "ts": message_ts}
            target_thread = body.get("thread_ts") or thread_ts
            if body.get("response_type") == "in_channel":
                msg = self._bot_message(content.get("text", ""), self._next_ts())
                for key in ("blocks", "attachments"):
                    if content.get(key):
                        msg[key] = content[key]
                if target_thread:
                    parent = self._find_message(ch, target_thread)
                    if parent is not None:
                        msg["thread_ts"] = parent.get("thread_ts", parent["ts"])
                        msg["parent_user_id"] = parent.get("user")
                self._store_message(ch, msg)
                return {"action": "posted", "ts": msg["ts"]}
            eph = self._add_ephemeral(channel, user, self._next_ts(), content, target_thread, source)
            return {"action": "ephemeral", "ts": eph["ts"]}

    def _apply_submission_ack(self, user: str, view_id: str, delivery: Delivery) -> None:
        if not delivery.acked:
            delivery.error = delivery.error or "view_submission_not_acked"  # Slack shows a connection error
            return
        body = delivery.body if isinstance(delivery.body, dict) else {}
        action = body.get("response_action")
        with self._lock:
            stack = self._view_stacks.setdefault(user, [])
            rec = self._views[view_id]
            try:
                if action == "errors":
                    errors = body.get("errors")
                    input_ids = {b.get("block_id") for b in rec["view"]["blocks"] if b.get("type") == "input"}
                    if not isinstance(errors, dict) or not errors or not set(errors) <= input_ids:
                        delivery.error = "invalid_response_action_errors"
                        return
                    rec["errors"] = dict(errors)
                elif action == "update":
                    view = self._build_view(
                        body.get("view"),
                        user=user,
                        view_id=view_id,
                        previous=rec["view"],
                        root_view_id=rec["view"]["root_view_id"],
                        previous_view_id=rec["view"]["previous_view_id"],
                        expect="modal",
                    )
                    rec["view"] = view
                elif action == "push":
                    if len(stack) >= MAX_VIEW_STACK:
                        delivery.error = "push_limit_reached"
                        return
                    view = self._build_view(
                        body.get("view"),
                        user=user,
                        expect="modal",
                        root_view_id=stack[0] if stack else view_id,
                        previous_view_id=view_id,
                    )
                    stack.append(view["id"])
                    self._views[view["id"]] = {"view": view, "user": user, "open": True, "errors": {}}
                elif action == "clear":
                    for vid in stack:
                        self._views[vid]["open"] = False
                    stack.clear()
                elif action is None:
                    if view_id in stack:
                        stack.remove(view_id)
                    rec["open"] = False
                else:
                    delivery.error = f"unknown response_action: {action}"
            except ApiError as exc:
                delivery.error = f"{exc.error}: {exc.extra.get('response_metadata', {}).get('messages', [])}"

    # ------------------------------------------------------------------ delivery (Slack -> app)

    def _app_reachable(self) -> bool:
        return bool(self._app_url) or self._active_socket() is not None

    def _active_socket(self) -> _SocketConn | None:
        with self._lock:
            live = [c for c in self._sockets if not c.closed and not c.refreshing]
            return live[-1] if live else None

    def _deliver_event(self, event: dict[str, Any], *, event_id: str | None = None) -> Delivery:
        eid = event_id or self._new_id("Ev0", 9)
        payload = payloads.event_callback(self.ctx, event, event_id=eid, event_time=int(time.time()))
        return self._deliver("events_api", payload, event_id=eid)

    def _deliver_async(self, event: dict[str, Any]) -> concurrent.futures.Future[Delivery] | None:
        """Deliver from a background thread (used while serving a Web API call, so no deadlock)."""
        if not self._app_reachable():
            return None
        return self._executor.submit(self._deliver_event, event)

    def _deliver(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        event_id: str | None = None,
        accepts_response_payload: bool = False,
    ) -> Delivery:
        if kind == "events_api" and event_id is None:
            event_id = payload.get("event_id")
        if kind == "slash_commands":
            accepts_response_payload = True
        if self._app_url:
            d = self._deliver_http(kind, payload, retry_attempt=retry_attempt, retry_reason=retry_reason)
        else:
            deadline = time.monotonic() + self.connect_timeout
            conn = self._active_socket()
            while conn is None and time.monotonic() < deadline:
                time.sleep(0.02)
                conn = self._active_socket()
            if conn is None:
                raise NoAppConnected("no Request URL set (deliver_to_http) and no Socket Mode connection")
            d = self._deliver_socket(
                conn,
                kind,
                payload,
                retry_attempt=retry_attempt,
                retry_reason=retry_reason,
                accepts_response_payload=accepts_response_payload,
            )
        d.event_id = event_id
        d.accepts_response_payload = accepts_response_payload
        with self._lock:
            self.deliveries.append(d)
        return d

    def _deliver_http(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int, retry_reason: str
    ) -> Delivery:
        assert self._app_url is not None
        if kind == "interactive":
            body = urlencode({"payload": payloads.dumps(payload)}).encode()
            ctype = "application/x-www-form-urlencoded"
        elif kind == "slash_commands":
            body = urlencode(payload).encode()
            ctype = "application/x-www-form-urlencoded"
        else:
            body = payloads.dumps(payload).encode()
            ctype = "application/json"
        headers = {
            "Content-Type": ctype,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "Accept": "application/json,*/*",
            "Accept-Encoding": "gzip,deflate",
            **signed_headers(self.signing_secret, body),
        }
        if retry_attempt:
            headers["X-Slack-Retry-Num"] = str(retry_attempt)
            headers["X-Slack-Retry-Reason"] = retry_reason
        d = Delivery(
            kind=kind,
            payload=payload,
            transport="http",
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )
        start = time.monotonic()
        try:
            resp = self._http.post(self._app_url, content=body, headers=headers, timeout=self.ack_timeout)
        except httpx.TimeoutException:
            d.status, d.error = "timeout", "http_timeout"
        except httpx.HTTPError as exc:
            d.status, d.error = "error", f"connection_failed: {exc}"
        else:
            d.status = resp.status_code
            d.headers = dict(resp.headers)
            text = resp.text
            try:
                d.body = resp.json() if text.strip() else None
            except ValueError:
                d.body = text
            if not d.acked:
                d.error = "http_error"
        d.elapsed = time.monotonic() - start
        return d

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
            status, body, headers = 200, {"ok": False, "error": "invalid_json"}, {}
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
        if isinstance(body, str):
            return Response(body, status_code=status, headers=headers, media_type="text/html")
        return JSONResponse(body, status_code=status, headers=headers)

    async def _http_response_url(self, request: Request) -> Response:
        secret = request.path_params["secret"]
        raw = await request.body()
        try:
            if "application/json" in request.headers.get("content-type", "") or raw.strip().startswith(b"{"):
                body = json.loads(raw or b"{}")
            else:
                body = json.loads(dict(parse_qsl(raw.decode())).get("payload", "{}"))
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        with self._lock:
            rec = self._response_urls.get(secret)
            entry: dict[str, Any] = {"url": str(request.url), "body": body, "status": None, "result": None}
            self.responses.append(entry)
            if rec is None:
                entry["status"] = 404
                return JSONResponse({"ok": False, "error": "no_service"}, status_code=404)
            entry.update(
                {
                    "channel": rec["channel"],
                    "user": rec["user"],
                    "message_ts": rec["message_ts"],
                    "is_ephemeral": rec["is_ephemeral"],
                    "kind": rec["kind"],
                }
            )
            if time.monotonic() - rec["issued"] > self.response_url_ttl:
                entry["status"] = 404
                return JSONResponse({"ok": False, "error": "expired_url"}, status_code=404)
            if rec["uses"] >= self.response_url_uses:
                entry["status"] = 404
                return JSONResponse({"ok": False, "error": "used_url"}, status_code=404)
            rec["uses"] += 1
            if not isinstance(body, dict):
                entry["status"] = 400
                return PlainTextResponse("invalid_payload", status_code=400)
            try:
                result = self._post_response(
                    rec["channel"],
                    rec["user"],
                    rec["message_ts"],
                    rec["is_ephemeral"],
                    rec["thread_ts"],
                    body,
                    source="response_url",
                )
            except ApiError as exc:
                entry.update({"status": 400, "error": exc.error, "errors": exc.extra.get("errors")})
                return PlainTextResponse(exc.error, status_code=400)
            entry.update({"status": 200, "result": result})
        return JSONResponse({"ok": True})

    async def _http_upload(self, request: Request) -> Response:
        raw = await request.body()
        ctype = request.headers.get("content-type", "")
        with self._lock:
            fid = self._upload_tokens.pop(request.path_params["token"], None)
            if fid is None:
                return PlainTextResponse("invalid upload url", status_code=404)
            data = raw
            if "multipart/form-data" in ctype:
                parts = _parse_multipart(raw, ctype)
                data = next((v for v in parts.values() if isinstance(v, bytes)), b"")
            rec = self._files[fid]
            rec.content = data
            rec.uploaded = True
        return PlainTextResponse(f"OK - {len(data)}")

    async def _http_download(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {self.bot_token}":
            return PlainTextResponse("", status_code=302, headers={"Location": "https://slack.com/signin"})
        fid = request.path_params["team_file"].split("-", 1)[-1]
        rec = self._files.get(fid)
        if rec is None or rec.content is None:
            return PlainTextResponse("not found", status_code=404)
        return Response(rec.content, media_type="application/octet-stream")

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
