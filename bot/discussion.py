"""Discussion in escalation threads, stored with the item.

Slack may deliver an event more than once (``X-Slack-Retry-Num``, or ``retry_attempt`` in
Socket Mode): the unique ``event_id`` makes the database refuse the second copy. The edge
turns Slack's ``message`` events into :class:`ThreadEvent` values; nothing here reads Slack
payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import Escalation, Item, ThreadMessage, utcnow

__all__ = ["Stored", "ThreadEvent", "store_thread_event"]


@dataclass(frozen=True)
class ThreadEvent:
    """A message posted, edited or deleted in a channel, as far as discussion cares."""

    kind: Literal["posted", "edited", "deleted"]
    event_id: str
    channel: str
    ts: str  # the message's own ts (edited, deleted: the message changed)
    thread_ts: str | None = None  # posted: the parent's ts, for replies
    user: str = ""
    text: str = ""
    from_bot: bool = False  # the bot's own messages are not discussion


class Stored(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # a redelivery: stored before
    EDITED = "edited"
    DELETED = "deleted"
    IGNORED = "ignored"  # not a reply in an escalation thread, or the bot's own


def _escalated_item(session: Session, channel: str, thread_ts: str) -> Item | None:
    item = session.scalar(select(Item).where(Item.channel == channel, Item.message_ts == thread_ts))
    if item is None:
        return None
    has_escalation = session.scalar(select(Escalation.id).where(Escalation.item_id == item.id).limit(1))
    return item if has_escalation is not None else None


def store_thread_event(session: Session, event: ThreadEvent) -> Stored:
    """Apply one message event to the stored discussion."""
    if event.kind == "posted":
        if event.from_bot or not event.event_id or not event.thread_ts or event.thread_ts == event.ts:
            return Stored.IGNORED
        item = _escalated_item(session, event.channel, event.thread_ts)
        if item is None:
            return Stored.IGNORED
        try:
            with session.begin_nested():
                session.add(
                    ThreadMessage(
                        item_id=item.id,
                        event_id=event.event_id,
                        user_id=event.user,
                        ts=event.ts,
                        text=event.text,
                    )
                )
        except IntegrityError:
            return Stored.DUPLICATE
        return Stored.STORED
    row = session.scalar(select(ThreadMessage).where(ThreadMessage.ts == event.ts))
    if row is None:
        return Stored.IGNORED
    if event.kind == "edited":
        if event.from_bot:
            return Stored.IGNORED
        row.text = event.text
        row.edited_at = utcnow()
        return Stored.EDITED
    row.deleted = True
    return Stored.DELETED
