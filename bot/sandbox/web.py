"""The sandbox's page: Slack as one sample user sees it, and what that user does, as Slack does it.

``GET /`` is a plain HTML page with a small script (``static/``) that polls ``GET /api/state``:
the channel's messages and threads, the user's ephemeral messages, open modal and App Home, all
read from the emulator. What the person does on the page (``POST /api/...``) goes through the
emulator's user actions (``click``, ``submit_view``, ``slash_command``, ``user_posts``, ...), which
build Slack's signed payloads from what the bot really posted and deliver them to the bot.
Uploaded files (the digest's chart) are served from the emulator's store at ``/files/ID``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.sandbox.workspace import CHANNEL, USERS

if TYPE_CHECKING:
    from bot.sandbox.runner import Sandbox

__all__ = ["page_app", "state"]

STATIC = Path(__file__).with_name("static")
USER_IDS = {u.id for u in USERS}


def _message(m: dict[str, Any]) -> dict[str, Any]:
    """What the page needs of a stored message (metadata and internals left out)."""
    return {
        "ts": m["ts"],
        "user": m.get("user"),
        "bot": bool(m.get("bot_id")),
        "text": m.get("text", ""),
        "blocks": m.get("blocks") or [],
        "files": [
            {"id": f["id"], "title": f.get("title") or f.get("name"), "mimetype": f.get("mimetype")}
            for f in m.get("files") or []
        ],
        "thread_ts": m.get("thread_ts"),
        "reply_count": m.get("reply_count", 0),
        "edited": bool(m.get("edited")),
    }


def state(sandbox: Sandbox, user: str) -> dict[str, Any]:
    """Everything ``user`` sees now."""
    slack = sandbox.slack
    top = slack.messages(CHANNEL)
    threads = {
        m["ts"]: [_message(r) for r in slack.thread(CHANNEL, m["ts"])[1:]]
        for m in top
        if m.get("reply_count")
    }
    views = slack.open_views(user)
    modal = views[-1] if views else None
    return {
        "me": user,
        "users": [
            {"id": u.id, "name": u.name, "real_name": u.real_name, "role": u.role, "simulated": u.simulated}
            for u in USERS
        ],
        "bot_name": slack.bot_name,
        "channel": {"id": CHANNEL, "name": "labeling"},
        "messages": [_message(m) for m in top],
        "threads": threads,
        "ephemerals": [
            {**_message(e), "thread_ts": e.get("thread_ts")}
            for e in slack.ephemerals(user=user, channel=CHANNEL)
        ],
        "modal": modal,
        "modal_errors": slack.view_errors(modal["id"]) if modal else {},
        "home": slack.home(user),
    }


def page_app(sandbox: Sandbox) -> Starlette:
    """The page's ASGI app for a running sandbox."""

    def me(body: dict[str, Any]) -> str:
        user = str(body.get("user", ""))
        if user not in USER_IDS:
            raise LookupError(f"unknown user {user!r}")
        return user

    def delivered(delivery: Any) -> JSONResponse:
        error = getattr(delivery, "error", None)
        status = getattr(delivery, "status", None)
        return JSONResponse({"ok": error is None, "error": error, "status": status})

    async def read(request: Request) -> dict[str, Any]:
        body = await request.json()
        if not isinstance(body, dict):
            raise LookupError("a JSON object is expected")
        return body

    def act(handler: Any) -> Any:
        """An action endpoint: the JSON body to ``handler``; a refusal is a 400 with its reason."""

        async def endpoint(request: Request) -> Response:
            from starlette.concurrency import run_in_threadpool

            try:
                body = await read(request)
                return await run_in_threadpool(handler, body)
            except (LookupError, ValueError) as exc:
                return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)

        return endpoint

    def click(body: dict[str, Any]) -> Response:
        user = me(body)
        target = {
            "action_id": str(body["action_id"]),
            "value": body.get("value"),
            "option_value": body.get("option_value"),
            "block_id": body.get("block_id"),
        }
        if body.get("view_id"):
            return delivered(sandbox.slack.click_in_view(user, str(body["view_id"]), **target))
        return delivered(sandbox.slack.click(user, CHANNEL, str(body["ts"]), **target))

    def submit(body: dict[str, Any]) -> Response:
        values = body.get("values") or {}
        return delivered(sandbox.slack.submit_view(me(body), str(body["view_id"]), values))

    def close(body: dict[str, Any]) -> Response:
        return delivered(sandbox.slack.close_view(me(body), str(body["view_id"])))

    def post(body: dict[str, Any]) -> Response:
        text = str(body.get("text", "")).strip()
        if not text:
            raise ValueError("nothing to send")
        thread = body.get("thread_ts") or None
        return delivered(sandbox.slack.user_posts(me(body), CHANNEL, text, thread_ts=thread))

    def command(body: dict[str, Any]) -> Response:
        return delivered(sandbox.slack.slash_command(me(body), CHANNEL, "/label", str(body.get("text", ""))))

    def home(body: dict[str, Any]) -> Response:
        return delivered(sandbox.slack.app_home_opened(me(body)))

    def digest(body: dict[str, Any]) -> Response:
        return JSONResponse({"ok": True, "ts": sandbox.digest()})

    def api_state(request: Request) -> Response:
        user = request.query_params.get("user", USERS[0].id)
        if user not in USER_IDS:
            return JSONResponse({"error": f"unknown user {user!r}"}, status_code=400)
        return JSONResponse(state(sandbox, user))

    def file(request: Request) -> Response:
        record = sandbox.slack.files.get(request.path_params["file_id"])
        if record is None or record.content is None:
            return Response("not found", status_code=404)
        kind = "image/png" if record.name.lower().endswith(".png") else "application/octet-stream"
        return Response(record.content, media_type=kind, headers={"Cache-Control": "no-store"})

    def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/state", api_state),
            Route("/api/click", act(click), methods=["POST"]),
            Route("/api/submit", act(submit), methods=["POST"]),
            Route("/api/close", act(close), methods=["POST"]),
            Route("/api/post", act(post), methods=["POST"]),
            Route("/api/command", act(command), methods=["POST"]),
            Route("/api/home", act(home), methods=["POST"]),
            Route("/api/digest", act(digest), methods=["POST"]),
            Route("/files/{file_id}", file),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]
    )
