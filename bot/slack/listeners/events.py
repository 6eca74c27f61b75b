"""Events API: discussion in escalation threads (``message`` events).

Stored before the ack, deduplicated by ``event_id`` in the database: a redelivery stores nothing.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, BoltContext

from bot.discussion import store_thread_event
from bot.slack.listeners.routes import Route, runtime
from bot.slack.payload import thread_event

__all__ = ["ROUTES"]


def thread_message(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    event = thread_event(body)
    if event is not None:
        with runtime(context).write() as session:
            store_thread_event(session, event)
    ack()


ROUTES = [Route("event", "message", thread_message, decides="discussion.store_thread_event")]
