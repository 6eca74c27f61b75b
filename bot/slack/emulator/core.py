"""The emulator's shared state and plumbing, which every API-family mixin builds on.

``EmulatorBase`` declares in its ``__init__`` all the state the parts share through
``self`` (workspace, messages, views, files, tokens, triggers, sockets, recorded calls),
behind one re-entrant lock; it issues ids, message timestamps, trigger_ids and
response_urls, resolves channels as the Web API does (private channels the bot is not in
do not exist), stores messages with Slack's thread bookkeeping, and dispatches every Web API
call strictly: injected failures first, then ``unknown_method``, ``not_authed``,
``invalid_auth``, ``token_revoked`` and ``not_allowed_token_type``, then the method's OAuth
scope (``missing_scope``; the Conversations API's, which depends on the conversation's type,
is checked by its handlers once the conversation is known: ``scopes.py``), then rate limits
by Slack's tiers (HTTP 429 + ``Retry-After``), and only then a family's handler, whose
``ApiError`` becomes HTTP 200 + ``{"ok": false, "error": ...}``.  ``api.test`` and
``auth.test`` are answered here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.websockets import WebSocket

from . import payloads, scopes
from .blockkit import iter_interactive_elements
from .payloads import AppContext

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
        if not isinstance(name, str) or not name:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename():
            out[name] = data
            out.setdefault("filename", part.get_filename())
        else:
            out[name] = data.decode("utf-8", "replace")
    return out


class EmulatorBase:
    """State shared by every part of the emulator (declared once, here), ids, lookups and Web API dispatch."""

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
        bot_scopes: Iterable[str] = scopes.ALL_BOT_SCOPES,
        app_scopes: Iterable[str] = scopes.APP_SCOPES,
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
        # The callback_ids of the app's message shortcuts (a manifest's ``features.shortcuts`` of
        # ``type: message``): only these are in a message's menu (``message_shortcut``).
        self.message_shortcuts: set[str] = set()
        # The scopes granted to the bot token and to the app-level token (``set_scopes``).
        self.bot_scopes = scopes.ordered(bot_scopes)
        self.app_scopes = scopes.ordered(app_scopes)
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
        self._storm: tuple[float, dict[str, Any], frozenset[str] | None] | None = None
        self._drops: dict[str, int] = {}
        self._slow: dict[str, float] = {}

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

    # ------------------------------------------------------------------ addresses

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

    def set_scopes(self, bot: Iterable[str] | None = None, app: Iterable[str] | None = None) -> None:
        """Grant the bot token (and/or the app-level token) exactly these scopes from now on, as
        reinstalling the app with another manifest would; a string is a comma-separated list."""
        with self._lock:
            if bot is not None:
                self.bot_scopes = scopes.ordered(bot)
            if app is not None:
                self.app_scopes = scopes.ordered(app)

    def fail_next(
        self,
        method: str,
        status: int = 500,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        *,
        after_effect: bool = False,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail: 5xx, 429 (+Retry-After) or 200 + ``error``.

        ``after_effect``: the call takes effect (a message is posted) and only its answer is the
        failure, as when Slack times out or errs after doing the work (a 5xx is ambiguous)."""
        with self._lock:
            for _ in range(times):
                self._failures.setdefault(method, []).append(
                    {
                        "status": status,
                        "error": error,
                        "retry_after": retry_after,
                        "after_effect": after_effect,
                    }
                )

    def fail_for(
        self,
        seconds: float,
        status: int = 500,
        *,
        retry_after: int | None = None,
        methods: Iterable[str] | None = None,
        after_effect: bool = False,
    ) -> None:
        """A storm: every call (or every call to ``methods``) fails as :meth:`fail_next` would,
        for ``seconds`` from now. Slack then answers again on its own (or :meth:`stop_failing`)."""
        with self._lock:
            self._storm = (
                time.monotonic() + seconds,
                {"status": status, "error": None, "retry_after": retry_after, "after_effect": after_effect},
                frozenset(methods) if methods is not None else None,
            )

    def slow_answers(self, seconds: float, methods: Iterable[str]) -> None:
        """Calls to ``methods`` take effect at once but their answers arrive ``seconds`` later (a
        slow Slack): the window in which a caller that dies has done the work without knowing it.
        ``seconds=0`` ends it, and answers the calls held meanwhile."""
        with self._lock:
            for method in methods:
                if seconds > 0:
                    self._slow[method] = seconds
                else:
                    self._slow.pop(method, None)

    def answer_delay(self, method: str) -> float:
        with self._lock:
            return self._slow.get(method, 0.0)

    def stop_failing(self) -> None:
        """End a storm now."""
        with self._lock:
            self._storm = None

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

    # ------------------------------------------------------------------ internals: messages

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

    def _initial_state(self, blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        state: dict[str, dict[str, Any]] = {}
        for block, el in iter_interactive_elements(blocks):
            if el.get("type") in ("button", "overflow", "workflow_button") or "action_id" not in el:
                continue
            state.setdefault(block["block_id"], {})[el["action_id"]] = payloads.state_value(el, initial=True)
        return state

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
        for state_key in [k for k in self._msg_state if k[0] == ch.id and k[1] == msg["ts"]]:
            del self._msg_state[state_key]

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

    # ------------------------------------------------------------------ Web API: dispatch

    @staticmethod
    def _json_param(params: dict[str, Any], key: str) -> Any:
        value = params.get(key)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def _dispatch(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, Any, dict[str, str]]:
        headers = {"x-slack-req-id": secrets.token_hex(16)}
        with self._lock:
            queue = self._failures.get(method)
            failure = queue.pop(0) if queue else None
            storm = self._storm
            if (
                failure is None
                and storm is not None
                and time.monotonic() < storm[0]
                and (storm[2] is None or method in storm[2])
            ):
                failure = storm[1]
            if failure is not None and not failure.get("after_effect"):
                return self._injected_failure(failure, headers)
            answered = self._answer(method, params, token, headers)
            return answered if failure is None else self._injected_failure(failure, headers)

    def _answer(
        self, method: str, params: dict[str, Any], token: str | None, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            handler = self._handlers().get(method)
            if handler is None:
                return 200, {"ok": False, "error": "unknown_method", "req_method": method}, headers
            try:
                kind = self._token_kind(method, token)
            except ApiError as exc:
                return 200, {"ok": False, "error": exc.error}, headers
            granted = self.bot_scopes if kind == "bot" else self.app_scopes
            headers["x-oauth-scopes"] = ",".join(granted)
            needed = scopes.METHOD_SCOPES.get(method)
            refusal = scopes.missing_scope(needed, granted) if needed else None
            if refusal is not None:
                return 200, {"ok": False, **refusal}, headers
            retry_after = self._rate_limited(method, params)
            if retry_after:
                return (
                    429,
                    {"ok": False, "error": "ratelimited"},
                    {**headers, "Retry-After": str(retry_after)},
                )
            try:
                result = handler(params, token or "")  # a token: _token_kind refused none
            except ApiError as exc:
                return 200, {"ok": False, "error": exc.error, **exc.extra}, headers
            return 200, {"ok": True, **result}, headers

    @staticmethod
    def _injected_failure(
        failure: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        """The answer for a failure queued by ``fail_next``: 429 + Retry-After, a 5xx (a JSON
        error, or an HTML page when no error was given) or an ``ok: false`` with that status."""
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

    def _token_kind(self, method: str, token: str | None) -> str:
        """The kind of ``token`` ("bot" or "app"), or ApiError when Slack refuses it for ``method``."""
        if not token:
            raise ApiError("not_authed")
        if token in self._revoked:
            raise ApiError("token_revoked")
        kind = self._valid_tokens.get(token)
        if kind is None:
            raise ApiError("invalid_auth")
        if (kind == "app") != (method in APP_TOKEN_METHODS) and method != "api.test":
            raise ApiError("not_allowed_token_type")
        return kind

    def _require_scope(self, method: str, ch: Channel) -> None:
        """``missing_scope`` unless the bot may call ``method`` on ``ch``'s type of conversation."""
        self._require(scopes.conversation_scope(method, ch.channel_type))

    def _require(self, needed: str) -> None:
        refusal = scopes.missing_scope(needed, self.bot_scopes)
        if refusal is not None:
            raise ApiError(refusal.pop("error"), **refusal)

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

    # ------------------------------------------------------------------ provided by the other parts

    # What one part calls in another (defined in the module named above it), declared here so
    # that each mixin type-checks on its own; SlackEmulator (server.py) composes the parts.
    if TYPE_CHECKING:
        # users.py
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
        ) -> dict[str, Any]: ...

        # conversations.py
        def _paginate(
            self,
            items: list[Any],
            params: dict[str, Any],
            key: str,
            *,
            default_limit: int = 100,
            max_limit: int = 1000,
        ) -> dict[str, Any]: ...

        # chat.py
        def _message_content(self, params: dict[str, Any], *, for_update: bool = False) -> dict[str, Any]: ...

        def _add_ephemeral(
            self,
            channel: str,
            user: str,
            ts: str,
            content: dict[str, Any],
            thread_ts: str | None,
            source: str,
        ) -> dict[str, Any]: ...

        # views.py
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
        ) -> dict[str, Any]: ...

        # socket_mode.py
        def _active_socket(self) -> _SocketConn | None: ...

        def _deliver_socket(
            self,
            conn: _SocketConn,
            kind: str,
            payload: dict[str, Any],
            *,
            retry_attempt: int,
            retry_reason: str,
            accepts_response_payload: bool,
        ) -> Delivery: ...

        # delivery.py
        def _app_reachable(self) -> bool: ...

        def _deliver_event(self, event: dict[str, Any], *, event_id: str | None = None) -> Delivery: ...

        def _deliver_async(self, event: dict[str, Any]) -> concurrent.futures.Future[Delivery] | None: ...

        def _deliver(
            self,
            kind: str,
            payload: dict[str, Any],
            *,
            retry_attempt: int = 0,
            retry_reason: str = "",
            event_id: str | None = None,
            accepts_response_payload: bool = False,
        ) -> Delivery: ...

        # server.py
        def _handlers(self) -> dict[str, Callable[[dict[str, Any], str], dict[str, Any]]]: ...

        def _build_app(self) -> Starlette: ...
