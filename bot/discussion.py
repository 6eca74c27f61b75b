"""Discussion in escalation threads, stored with the item.

Slack may deliver an event more than once (``X-Slack-Retry-Num``, or
``retry_attempt`` in Socket Mode): the unique ``event_id`` makes the database
refuse the second copy.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import Escalation, Item, ThreadMessage, utcnow

__all__ = ["store_thread_event"]


def _escalated_item(session: Session, channel: str, thread_ts: str) -> Item | None:
    item = session.scalar(select(Item).where(Item.channel == channel, Item.message_ts == thread_ts))
    if item is None:
        return None
    has_escalation = session.scalar(select(Escalation.id).where(Escalation.item_id == item.id).limit(1))
    return item if has_escalation is not None else None


def store_thread_event(session: Session, body: dict[str, Any]) -> str:
    """Apply one ``message`` event; returns what happened (for logs and tests)."""
    event = body.get("event") or {}
    event_id = str(body.get("event_id") or "")
    subtype = event.get("subtype")
    channel = str(event.get("channel") or "")
    if subtype in (None, "thread_broadcast"):
        # message events can have $.event.bot_id; the bot's own replies are not discussion.
        if event.get("bot_id") or not event_id:
            return "ignored"
        thread_ts, ts = event.get("thread_ts"), event.get("ts")
        if not thread_ts or thread_ts == ts:
            return "ignored"
        item = _escalated_item(session, channel, str(thread_ts))
        if item is None:
            return "ignored"
        try:
            with session.begin_nested():
                session.add(
                    ThreadMessage(
                        item_id=item.id,
                        event_id=event_id,
                        user_id=str(event.get("user", "")),
                        ts=str(ts),
                        text=str(event.get("text", "")),
                    )
                )
        except IntegrityError:
            return "duplicate"
        return "stored"
    if subtype == "message_changed":
        # The edited message (with its thread_ts) is under $.event.message.
        message = event.get("message") or {}
        row = session.scalar(select(ThreadMessage).where(ThreadMessage.ts == str(message.get("ts", ""))))
        if row is None or message.get("bot_id"):
            return "ignored"
        row.text = str(message.get("text", ""))
        row.edited_at = utcnow()
        return "edited"
    if subtype == "message_deleted":
        previous = event.get("previous_message") or {}
        row = session.scalar(
            select(ThreadMessage).where(
                ThreadMessage.ts == str(event.get("deleted_ts") or previous.get("ts", ""))
            )
        )
        if row is None:
            return "ignored"
        row.deleted = True
        return "deleted"
    return "ignored"
