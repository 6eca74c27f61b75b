"""The sandbox's page: Slack as one sample user sees it, and what that user does, as Slack does it.

``GET /`` is a plain HTML page with a small script (``static/``) that polls ``GET /api/state``:
the channel's messages and threads, the user's direct messages with the app (a personal labeling
session), the user's ephemeral messages, open modal and App Home, all read from the emulator.
What the person does on the page (``POST /api/...``) goes through the emulator's user actions
(``click``, ``submit_view``, ``slash_command``, ``user_posts``, ``message_shortcut``...), which build
Slack's signed payloads from what the bot really posted and deliver them to the bot.
Uploaded files (the digest's chart) are served from the emulator's store at ``/files/ID``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.sandbox.workspace import CHANNEL, USERS
from bot.slack.emulator import Delivery

if TYPE_CHECKING:
    from bot.sandbox.runner import Sandbox

__all__ = ["Page", "page_app", "state"]

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
    dm = slack.dm_channel(user)
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
        "dm": {
            "messages": [_message(m) for m in slack.messages(dm)],
            "ephemerals": [_message(e) for e in slack.ephemerals(user=user, channel=dm)],
        },
        "shortcuts": sorted(slack.message_shortcuts),
        "modal": modal,
        "modal_errors": slack.view_errors(modal["id"]) if modal else {},
        "home": slack.home(user),
    }


class Page:
    """The page's endpoints for a running sandbox; ``app()`` is the ASGI app."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.slack = sandbox.slack

    def app(self) -> Starlette:
        actions = {
            "click": self.click,
            "submit": self.submit,
            "close": self.close,
            "post": self.post,
            "command": self.command,
            "home": self.home,
            "digest": self.digest,
            "shortcut": self.shortcut,
        }
        return Starlette(
            routes=[
                Route("/", self.index),
                Route("/api/state", self.state),
                *(
                    Route(f"/api/{name}", _action(handler), methods=["POST"])
                    for name, handler in actions.items()
                ),
                Route("/files/{file_id}", self.file),
                Mount("/static", StaticFiles(directory=STATIC), name="static"),
            ]
        )

    # -- what the person sees
    def index(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    def state(self, request: Request) -> Response:
        user = request.query_params.get("user", USERS[0].id)
        if user not in USER_IDS:
            return JSONResponse({"error": f"unknown user {user!r}"}, status_code=400)
        return JSONResponse(state(self.sandbox, user))

    def file(self, request: Request) -> Response:
        record = self.slack.files.get(request.path_params["file_id"])
        if record is None or record.content is None:
            return Response("not found", status_code=404)
        kind = "image/png" if record.name.lower().endswith(".png") else "application/octet-stream"
        return Response(record.content, media_type=kind, headers={"Cache-Control": "no-store"})

    # -- what the person does: the emulator's user actions, as Slack delivers them
    def click(self, body: dict[str, Any]) -> Response:
        user, action_id = _user(body), str(body["action_id"])
        value, option, block = body.get("value"), body.get("option_value"), body.get("block_id")
        if body.get("view_id"):
            view_id = str(body["view_id"])
            return _delivered(
                self.slack.click_in_view(user, view_id, action_id, value, option, block_id=block)
            )
        ts = str(body["ts"])
        channel = self.slack.dm_channel(user) if body.get("channel") == "dm" else CHANNEL
        return _delivered(self.slack.click(user, channel, ts, action_id, value, option, block_id=block))

    def shortcut(self, body: dict[str, Any]) -> Response:
        """The message's ⋯ menu: one of the app's message shortcuts ("Send to labeling")."""
        user, ts = _user(body), str(body["ts"])
        return _delivered(self.slack.message_shortcut(user, CHANNEL, ts, str(body["callback_id"])))

    def submit(self, body: dict[str, Any]) -> Response:
        values = body.get("values") or {}
        return _delivered(self.slack.submit_view(_user(body), str(body["view_id"]), values))

    def close(self, body: dict[str, Any]) -> Response:
        return _delivered(self.slack.close_view(_user(body), str(body["view_id"])))

    def post(self, body: dict[str, Any]) -> Response:
        text = str(body.get("text", "")).strip()
        if not text:
            raise ValueError("nothing to send")
        thread = body.get("thread_ts") or None
        return _delivered(self.slack.user_posts(_user(body), CHANNEL, text, thread_ts=thread))

    def command(self, body: dict[str, Any]) -> Response:
        return _delivered(self.slack.slash_command(_user(body), CHANNEL, "/label", str(body.get("text", ""))))

    def home(self, body: dict[str, Any]) -> Response:
        return _delivered(self.slack.app_home_opened(_user(body)))

    def digest(self, body: dict[str, Any]) -> Response:
        """What ``labelbot digest PROJECT`` does; Slack's refusal, if any, is shown on the page."""
        try:
            return JSONResponse({"ok": True, "ts": self.sandbox.digest()})
        except SlackApiError as exc:
            return JSONResponse({"ok": False, "error": str(exc.response.get("error"))}, status_code=502)


def page_app(sandbox: Sandbox) -> Starlette:
    """The page's ASGI app for a running sandbox."""
    return Page(sandbox).app()


def _user(body: dict[str, Any]) -> str:
    user = str(body.get("user", ""))
    if user not in USER_IDS:
        raise LookupError(f"unknown user {user!r}")
    return user


def _delivered(delivery: Delivery | None) -> JSONResponse:
    """How Slack took it: ``error`` is what Slack would show (a view the app did not acknowledge)."""
    error = delivery.error if delivery is not None else None
    status = delivery.status if delivery is not None else None
    return JSONResponse({"ok": error is None, "error": error, "status": status})


def _action(handler: Callable[[dict[str, Any]], Response]) -> Callable[[Request], Awaitable[Response]]:
    """An action endpoint: the JSON body to ``handler`` on a thread (the emulator waits for the bot's
    ack); an action the person cannot do (an element no longer there) is a 400 with the reason."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("a JSON object is expected")
            return await run_in_threadpool(handler, body)
        except (LookupError, ValueError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)

    return endpoint
