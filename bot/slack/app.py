"""Wiring only: the Web API client, the Bolt app, the runtime in Bolt's context, the listeners."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient

from bot.settings import Settings
from bot.slack.listeners import register
from bot.slack.listeners.routes import RUNTIME_KEY
from bot.slack.runtime import Runtime

__all__ = ["build_app", "make_client"]


def make_client(settings: Settings, *, retries: bool = True) -> WebClient:
    """A Web API client on ``SLACK_API_URL``; background posters manage retries themselves."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    kwargs: dict[str, Any] = {} if retries else {"retry_handlers": []}
    return WebClient(token=token, base_url=settings.api_url, timeout=15, **kwargs)


class RuntimeMiddleware(Middleware):
    """Puts the runtime into every request's context, after Bolt's signature check.

    A ``Middleware`` object rather than a function: Bolt calls it directly, without building
    keyword arguments for it (this runs on every click)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],
    ) -> BoltResponse:
        req.context[RUNTIME_KEY] = self.rt
        return next()


def build_app(rt: Runtime, settings: Settings) -> App:
    """The Bolt app. ``process_before_response`` so that an ack means the label is committed;
    slower work (ephemeral answers, modals) runs in lazy listeners after the ack."""
    app = App(
        client=rt.client,
        signing_secret=settings.signing_secret.get_secret_value() if settings.signing_secret else "",
        process_before_response=True,
        # The HTTP transport checks every signature over the raw body before parsing it
        # (bot.slack.transport); Bolt's own check would only do it again, and log refused bodies.
        request_verification_enabled=False,
        logger=logging.getLogger("labelbot.bolt"),
    )
    app.use(RuntimeMiddleware(rt))
    register(app)
    return app
