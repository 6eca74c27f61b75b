"""Wiring only: the Web API client, the Bolt app, the runtime in Bolt's context, the listeners."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.lazy_listener import LazyListenerRunner
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient

from bot.settings import Settings
from bot.slack.listeners import register
from bot.slack.listeners.routes import RUNTIME_KEY
from bot.slack.outage import answer_error, telling_outage
from bot.slack.runtime import Runtime
from bot.slack.webclient import CountingWebClient, after_ack_handlers, before_ack_handlers

__all__ = ["build_app", "make_client"]


def make_client(settings: Settings, *, retries: bool = True, after_ack: bool = False) -> WebClient:
    """A Web API client on ``SLACK_API_URL``: the listeners' (a rate limit waits at most 1 s, for
    calls before the ack), ``after_ack`` (waits as Slack says), or without retries (background
    posters manage them themselves). See ``bot.slack.webclient``."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    handlers = (after_ack_handlers() if after_ack else before_ack_handlers()) if retries else []
    return CountingWebClient(token=token, base_url=settings.api_url, timeout=15, retry_handlers=handlers)


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
        req.context["client"] = self.rt.client  # counted, with the before-ack retry policy
        return next()


class AfterAckClient(LazyListenerRunner):
    """Bolt's lazy-listener runner, handing the lazy listeners (after the ack) their own client."""

    def __init__(self, inner: LazyListenerRunner, client: WebClient) -> None:
        self.inner, self.client, self.logger = inner, client, inner.logger

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        request.context["client"] = self.client
        self.inner.start(telling_outage(function, request), request)


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
    app.error(answer_error)  # a database outage answered with a notice, not a 500 (bot.slack.outage)
    runner = app.listener_runner
    runner.lazy_listener_runner = AfterAckClient(
        runner.lazy_listener_runner, make_client(settings, after_ack=True)
    )
    register(app)
    return app
