"""Socket Mode: Bolt's handler over slack_sdk's built-in client, refusing what cannot be read.

An envelope whose JSON does not parse is dropped before slack_sdk's worker would fail on it; an
envelope whose payload is malformed (``bot.slack.shapes``) is acknowledged, so Slack does not
resend it, and dropped. Each is one line in the refusals log; the connection stays up.
"""

from __future__ import annotations

import json
import time

from slack_bolt import App
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.slack.bolt_compat import BaseSocketModeHandler, run_bolt_app, send_response
from bot.slack.refusals import REFUSALS
from bot.slack.shapes import malformed
from bot.slack.transport import ack_kind, observe_ack

__all__ = ["SocketModeHandler"]


class _Client(SocketModeClient):
    def enqueue_message(self, message: str) -> None:
        if message.startswith("{"):
            try:
                json.loads(message)
            except ValueError:
                REFUSALS.refused("a Socket Mode message that is not JSON")
                return
        super().enqueue_message(message)


class SocketModeHandler(BaseSocketModeHandler):
    """Connects ``app`` to Slack over Socket Mode with the app-level token."""

    client: SocketModeClient  # slack_sdk's built-in client (bot.slack.socket_guard closes and reopens it)

    def __init__(self, app: App, app_token: str) -> None:
        self.app, self.app_token = app, app_token
        self.client = _Client(
            app_token=app_token, logger=app.logger, web_client=app.client, proxy=app.client.proxy
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        problem = malformed(req.payload)
        if problem is not None:
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            REFUSALS.refused(f"a Socket Mode envelope ({req.type}): malformed payload: {problem}")
            return
        start, began = time.time(), time.perf_counter()
        send_response(client, req, run_bolt_app(self.app, req), start)
        observe_ack(ack_kind(req.payload), time.perf_counter() - began)
