"""Serving: HTTP (uvicorn + Starlette through Bolt's adapter) or Socket Mode.

Bolt's Starlette handler calls ``App.dispatch`` on the event loop, which would
serialise every request behind the slowest one; we hand the dispatch to worker
threads instead, keeping Bolt's request/response conversion. Only a few: a click
is CPU work under one GIL, and 32 threads taking turns at it (Starlette's default
pool holds 40) spent more time handing the GIL over than labeling — measured with
``benchmarks/clicks.py`` at 32 clients: 40 threads 300 clicks/s, 2 threads 333, 1
thread 359. Two, so that one slow listener does not hold up every click.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
import anyio.to_thread
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["EVENTS_PATH", "http_app"]

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
MAX_BODY = 1_000_000
DISPATCH_THREADS = 2


def http_app(
    bolt_app: App | None, health: Callable[[], dict[str, object]], *, threads: int = DISPATCH_THREADS
) -> Starlette:
    """``POST /slack/events`` (signed Slack requests) and ``GET /healthz``; Bolt verifies signatures."""
    limiters: list[anyio.CapacityLimiter] = []  # made on the event loop, at the first request

    async def events(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response("payload too large", status_code=413)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return Response("body is not UTF-8", status_code=400)
        bolt_request = to_bolt_request(request, body)
        if not limiters:
            limiters.append(anyio.CapacityLimiter(threads))
        bolt_response = await anyio.to_thread.run_sync(
            bolt_app.dispatch,  # type: ignore[union-attr]
            bolt_request,
            limiter=limiters[0],
        )
        return to_starlette_response(bolt_response)

    async def healthz(_: Request) -> Response:
        status = await anyio.to_thread.run_sync(health)
        return JSONResponse(status, status_code=200 if status.get("ok") else 503)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if bolt_app is not None:
        routes.append(Route(EVENTS_PATH, events, methods=["POST"]))
    return Starlette(routes=routes)
