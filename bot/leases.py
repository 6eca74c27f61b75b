"""Leases: an item given out in a user's direct-message session is held for them for a while.

A lease counts toward the labels an item still needs, so that twenty people asking for their next
item at once do not all get the one item that needs three labels. It is granted only while the
item's labels plus its live leases are fewer than the item needs now (dynamic overlap included),
under the item's row lock, which every label also takes: grants and labels on one item are applied
one after another on PostgreSQL and SQLite alike. A lease ends when it expires, when its holder
moves on (answers, skips, stops), or when the item closes; it stops counting once its holder has
labeled the item (wherever: their label counts instead, and the click path deletes nothing). It never blocks a
channel click: a label is a label wherever it comes from, and one arriving after the item has what
it needs is refused as in the channel.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Exists

from storage.models import Label, LabelingSession, Lease

__all__ = ["counting", "grant", "live_count", "live_lease", "release", "release_item", "session_shows"]


def counting(now: datetime) -> list[ColumnElement[bool]]:
    """SQL: the lease lives and counts (its holder has not labeled the item: their label counts)."""
    return [
        Lease.expires_at > now,
        ~exists().where(Label.item_id == Lease.item_id, Label.user_id == Lease.user_id),
    ]


def live_count(session: Session, item_id: int, now: datetime, *, other_than: str | None = None) -> int:
    """Live leases on the item that count (of users other than ``other_than``)."""
    where = [Lease.item_id == item_id, *counting(now)]
    if other_than is not None:
        where.append(Lease.user_id != other_than)
    return session.scalar(select(func.count()).select_from(Lease).where(*where)) or 0


def live_lease(item_id_column: ColumnElement[int] | InstrumentedAttribute[int], now: datetime) -> Exists:
    """SQL: the item (a column holding its id) has a live lease."""
    return exists().where(Lease.item_id == item_id_column, Lease.expires_at > now)


def grant(
    session: Session,
    item_id: int,
    user: str,
    session_id: int | None,
    *,
    labels: int,
    needed: int,
    now: datetime,
    duration: timedelta,
) -> bool:
    """Lease the item to ``user`` if its ``labels`` plus the others' live leases are fewer than
    ``needed``. The caller holds the item's row lock and counted ``labels`` under it."""
    if labels + live_count(session, item_id, now, other_than=user) >= needed:
        return False
    session.execute(delete(Lease).where(Lease.item_id == item_id, Lease.user_id == user))
    session.add(
        Lease(item_id=item_id, user_id=user, session_id=session_id, granted_at=now, expires_at=now + duration)
    )
    session.flush()
    return True


def release(
    session: Session, user: str, *, item_id: int | None = None, session_id: int | None = None
) -> None:
    """End ``user``'s lease on the item, or every lease of their session."""
    where = [Lease.user_id == user]
    if item_id is not None:
        where.append(Lease.item_id == item_id)
    if session_id is not None:
        where.append(Lease.session_id == session_id)
    session.execute(delete(Lease).where(*where).execution_options(synchronize_session=False))


def release_item(session: Session, item_id: int) -> None:
    """The item closed: its leases end."""
    session.execute(
        delete(Lease).where(Lease.item_id == item_id).execution_options(synchronize_session=False)
    )


def session_shows(
    session: Session,
    user: str,
    item_id: int,
    round_: int,
    channel: str | None,
    ts: str | None,
    *,
    answered: bool = False,
) -> bool:
    """Whether ``user``'s live session message (``channel``, ``ts``; any of theirs when both are
    None: a modal opened from it) shows this item now (or, with ``answered``, confirms the user's
    answer on it, where Undo sits): a click there may act on the item, wherever else its channel
    message is."""
    shown = (LabelingSession.item_id == item_id) & (LabelingSession.item_round == round_)
    if answered:
        shown = shown | (LabelingSession.previous_item_id == item_id)
    where = [LabelingSession.user_id == user, LabelingSession.ended_at.is_(None), shown]
    if channel is not None or ts is not None:
        where += [LabelingSession.channel == channel, LabelingSession.message_ts == ts]
    return session.execute(select(LabelingSession.id).where(*where)).first() is not None
