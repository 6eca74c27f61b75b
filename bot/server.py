"""Serving: HTTP (uvicorn + Starlette through Bolt's adapter) or Socket Mode.

Bolt's Starlette handler calls ``App.dispatch`` on the event loop, which would
serialise every request behind the slowest one; we hand the dispatch to the
threadpool instead, keeping Bolt's request/response conversion.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["EVENTS_PATH", "http_app"]

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
MAX_BODY = 1_000_000


def http_app(bolt_app: App | None, health: Callable[[], dict[str, object]]) -> Starlette:
    """``POST /slack/events`` (signed Slack requests) and ``GET /healthz``; Bolt verifies signatures."""

    async def events(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response("payload too large", status_code=413)
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return Response("body is not UTF-8", status_code=400)
        bolt_request = to_bolt_request(request, body)
        bolt_response = await run_in_threadpool(bolt_app.dispatch, bolt_request)  # type: ignore[union-attr]
        return to_starlette_response(bolt_response)

    async def healthz(_: Request) -> Response:
        status = await run_in_threadpool(health)
        return JSONResponse(status, status_code=200 if status.get("ok") else 503)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if bolt_app is not None:
        routes.append(Route(EVENTS_PATH, events, methods=["POST"]))
    return Starlette(routes=routes)
