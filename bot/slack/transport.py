"""The HTTP transport: Slack's requests (uvicorn + Starlette, Bolt's request and response).

A request is refused before it costs anything: a body over ``MAX_BODY`` is refused (413) as soon
as it is over, without reading the rest; the signature is checked over the raw body before any
parsing (401); a body that does not parse, or a payload of a shape labelbot does not read
(``bot.slack.shapes``), gets 400. Each refusal is one log line without the body, and those lines
share a process-wide budget, so a flood of refused requests cannot fill the disk.

Bolt's Starlette handler calls ``App.dispatch`` on the event loop, which would
serialise every request behind the slowest one; we hand the dispatch to worker
threads instead, keeping Bolt's request/response conversion. Only a few: a click
is CPU work under one GIL, and 32 threads taking turns at it (Starlette's default
pool holds 40) spent more time handing the GIL over than labeling — measured with
``benchmarks/clicks.py`` at 32 clients: 40 threads 300 clicks/s, 2 threads 333, 1
thread 359. Two, so that one slow listener does not hold up every click. Requests the
caller marks as short and Slack-free (label clicks) skip these threads: with a group commit
(``bot.group_commit``) they run in its groups, on the event loop for SQLite (the price: while
another process holds SQLite's write lock for long, a large import, they hold up the loop rather
than one thread) or in its own threads for PostgreSQL.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import anyio
import anyio.to_thread
from slack_bolt import App, BoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.group_commit import GroupCommit
from bot.slack import metrics
from bot.slack.bolt_compat import (
    build_normalized_headers,
    extract_content_type,
    parse_body,
    to_starlette_response,
)
from bot.slack.listeners.labels import is_click
from bot.slack.payload import action_ref
from bot.slack.refusals import REFUSALS
from bot.slack.responder import Responder
from bot.slack.shapes import malformed

__all__ = [
    "EVENTS_PATH",
    "MAX_BODY",
    "ack_kind",
    "http_app",
    "observe_ack",
    "parse_form_body",
    "to_bolt_request",
]

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
MAX_BODY = 1_000_000
DISPATCH_THREADS = 2
Check = Callable[[], dict[str, object]]
# labelbot_ack_seconds{kind}: children bound once, so a click's observation is one call.
ACK_KINDS = {
    "click": "click",
    "block_actions": "action",
    "view_submission": "view",
    "event_callback": "event",
}
_ACK = {kind: metrics.METRICS.ack_seconds.labels(kind) for kind in {*ACK_KINDS.values(), "command", "other"}}


def observe_ack(kind: str, seconds: float) -> None:
    _ACK[kind].observe(seconds)


def ack_kind(body: dict[str, Any]) -> str:
    """A request's kind for the ack histogram: click (label, Undo, Skip), action, view, event, command."""
    if is_click(body):
        return "click"
    kind = ACK_KINDS.get(str(body.get("type")))
    return kind or ("command" if "command" in body else "other")


def http_app(
    bolt_app: App | None,
    health: Check,
    *,
    ready: Check | None = None,
    signing_secret: str | None = None,
    threads: int = DISPATCH_THREADS,
    inline: Callable[[dict[str, Any]], bool] | None = None,
    responder: Responder | None = None,
    group: GroupCommit | None = None,
) -> Starlette:
    """``POST /slack/events`` (signed Slack requests; ``signing_secret`` is required with a
    ``bolt_app``), ``GET /healthz`` (``health``: is the process alive), ``GET /readyz`` (``ready``:
    can it serve; ``health`` when not given) and ``GET /metrics`` (Prometheus).

    Requests whose parsed body ``inline`` accepts are dispatched on the event loop itself: for
    short, CPU-bound work with no Slack call before its ack (a label click on SQLite), the hand-over
    to a thread and back costs more than the work. Anything that may wait goes to the threads.
    With ``group``, those requests are committed in groups (see bot.group_commit), each answered
    once its group is. ``responder`` sends its answers from this server's event loop, and
    finishes them on shutdown.
    """

    def answer(check: Check) -> Callable[[Request], Any]:
        async def endpoint(_: Request) -> Response:
            status = await anyio.to_thread.run_sync(check)
            return JSONResponse(status, status_code=200 if status.get("ok") else 503)

        return endpoint

    async def scrape(_: Request) -> Response:
        # In a thread: the queue depth is a read query.
        body = await anyio.to_thread.run_sync(metrics.METRICS.exposition)
        return Response(body, media_type=metrics.CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if responder is not None:
            responder.bind()
        yield
        if responder is not None:
            await responder.shutdown()

    routes = [
        Route("/healthz", answer(health), methods=["GET"]),
        Route("/readyz", answer(ready or health), methods=["GET"]),
        Route("/metrics", scrape, methods=["GET"]),
    ]
    if bolt_app is not None:
        if not signing_secret:
            raise ValueError("serving Slack's requests needs the signing secret")
        events = _Events(bolt_app, SignatureVerifier(signing_secret), threads, inline, group)
        routes.append(Route(EVENTS_PATH, events.handle, methods=["POST"]))
    return Starlette(routes=routes, lifespan=lifespan)


class _Events:
    """``POST /slack/events``: refused as early as possible, else parsed once and dispatched to Bolt
    on the event loop (``inline`` requests, in groups with ``group``) or in one of ``threads`` threads."""

    def __init__(
        self,
        bolt_app: App,
        verifier: SignatureVerifier,
        threads: int,
        inline: Callable[[dict[str, Any]], bool] | None,
        group: GroupCommit | None,
    ) -> None:
        self.bolt_app, self.verifier, self.threads = bolt_app, verifier, threads
        self.inline, self.group = inline, group
        self._limiter: anyio.CapacityLimiter | None = None  # made on the event loop, at the first request

    async def handle(self, request: Request) -> Response:
        start = time.perf_counter()
        raw = await self._body(request)
        if isinstance(raw, Response):
            return raw
        try:
            body = parse_form_body(
                raw, request.headers.get("content-type", "").partition(";")[0].strip() or None
            )
        except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
            return self._refuse(request, 400, f"body does not parse ({type(exc).__name__})")
        problem = malformed(body)
        if problem is not None:
            return self._refuse(request, 400, f"malformed payload: {problem}")
        bolt_request = to_bolt_request(request, raw, body)
        dispatch = self.bolt_app.dispatch
        if self.inline is not None and self.inline(bolt_request.body):
            if self.group is not None:
                answered = await self.group.run(lambda: dispatch(bolt_request), order=click_order(body))
            else:
                answered = dispatch(bolt_request)
        else:
            if self._limiter is None:
                self._limiter = anyio.CapacityLimiter(self.threads)
            answered = await anyio.to_thread.run_sync(dispatch, bolt_request, limiter=self._limiter)
        _ACK[ack_kind(body)].observe(time.perf_counter() - start)
        return to_starlette_response(answered)

    async def _body(self, request: Request) -> str | Response:
        """The body as text once it is under the cap, UTF-8 and signed; else the refusal."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return self._refuse(request, 413, "body over the 1 MB cap (declared)")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:  # the rest is never read: the connection is closed after the answer
                return self._refuse(request, 413, "body over the 1 MB cap")
        try:
            raw = body.decode("utf-8")
        except UnicodeDecodeError:
            return self._refuse(request, 400, "body is not UTF-8")
        if not self._signed(request.headers, raw):
            return self._refuse(request, 401, "missing, stale or bad signature")
        return raw

    def _signed(self, headers: Mapping[str, str], raw: str) -> bool:
        timestamp, signature = headers.get("x-slack-request-timestamp"), headers.get("x-slack-signature")
        if not timestamp or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
            return False
        return self.verifier.is_valid(body=raw, timestamp=timestamp, signature=signature)

    @staticmethod
    def _refuse(request: Request, status: int, why: str) -> Response:
        REFUSALS.refused(f"a request from {request.client.host if request.client else '?'}: {status} {why}")
        return Response(why, status_code=status, headers={"Connection": "close"} if status == 413 else None)


def click_order(body: dict[str, Any]) -> int:
    """Where a click goes in its group: by item id, so that concurrent groups lock items in one order."""
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions and isinstance(actions[0], dict) else {}
    ref = action_ref(action)
    return ref.item_id if ref is not None else 0


def parse_form_body(raw: str, content_type: str | None) -> dict[str, Any]:
    """The body as Bolt's ``parse_body`` reads it, in a fraction of its time for interactivity.

    Slack posts interactive payloads as one form field, ``payload=<percent-encoded JSON>``;
    urllib's pure-Python unquote of those 5-10 kB was an eighth of the server's CPU per click.
    Here the percent escapes become ``\\xHH`` escapes for the C ``unicode_escape`` codec
    (backslashes doubled first, ``+`` a space, as ``unquote_plus`` does). Anything else, or any
    input on which the two could differ (a stray ``%``, escapes that are not UTF-8), goes to
    Bolt's own parser.
    """
    if content_type != "application/json" and raw.startswith("payload=") and "&" not in raw and raw.isascii():
        escaped = raw[8:].encode("ascii").replace(b"\\", b"\\\\").replace(b"+", b" ").replace(b"%", b"\\x")
        try:
            payload = codecs.decode(escaped, "unicode_escape").encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
        else:
            parsed: dict[str, Any] = json.loads(payload)
            return parsed
    return parse_body(raw, content_type)


def to_bolt_request(request: Request, raw: str, body: dict[str, Any] | None = None) -> BoltRequest:
    """Bolt's request, as its Starlette adapter builds it, with the body parsed by :func:`parse_form_body`
    (or given, already parsed and checked: building the request reads it).

    ``BoltRequest`` parses a body itself only in HTTP mode; it takes a parsed one in Socket Mode.
    So it is built as in Socket Mode and turned back into an HTTP request, whose raw body Bolt's
    middleware verifies the signature of, exactly as before.
    """
    headers = build_normalized_headers(request.headers)  # type: ignore[arg-type]
    bolt_request = BoltRequest(
        body=parse_form_body(raw, extract_content_type(headers)) if body is None else body,
        query=request.query_params,  # type: ignore[arg-type]
        headers=headers,
        mode="socket_mode",
    )
    bolt_request.raw_body, bolt_request.mode = raw, "http"
    return bolt_request
