"""Wiring only: the Bolt app, its client and the listeners."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from bot.listeners import register
from bot.runtime import Runtime
from bot.settings import Settings

__all__ = ["build_app", "make_client"]


def make_client(settings: Settings, *, retries: bool = True) -> WebClient:
    """A Web API client on ``SLACK_API_URL``; background posters manage retries themselves."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    kwargs = {} if retries else {"retry_handlers": []}
    return WebClient(token=token, base_url=settings.api_url, timeout=15, **kwargs)


def build_app(rt: Runtime, settings: Settings) -> App:
    """The Bolt app. ``process_before_response`` so that an ack means the label is committed;
    slower work (ephemeral answers, modals) runs in lazy listeners after the ack."""
    app = App(
        client=rt.client,
        signing_secret=settings.signing_secret.get_secret_value() if settings.signing_secret else "",
        process_before_response=True,
        logger=logging.getLogger("labelbot.bolt"),
    )
    register(app, rt)
    return app
