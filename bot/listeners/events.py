"""Events API: App Home, and discussion in escalation threads."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.blocks.home import home_view
from bot.discussion import store_thread_event
from bot.home import home_summary
from bot.runtime import Runtime
from storage.db import session_scope

__all__ = ["register"]

log = logging.getLogger(__name__)


def register(app: App, rt: Runtime) -> None:
    def ack_event(ack: Ack) -> None:
        ack()

    def publish_home(event: dict[str, Any], client: WebClient) -> None:
        user = str(event.get("user", ""))
        with session_scope(rt.factory) as session:
            summary = home_summary(session, rt.config, user)
        client.views_publish(user_id=user, view=home_view(summary))

    app.event("app_home_opened")(ack=ack_event, lazy=[publish_home])

    @app.event("message")
    def thread_message(ack: Ack, body: dict[str, Any]) -> None:
        # Stored before the ack, deduplicated by event_id in the database: a redelivery stores nothing.
        with session_scope(rt.factory) as session:
            store_thread_event(session, body)
        ack()
