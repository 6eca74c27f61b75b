"""One user's actions on one item happen in the order the user made them.

Slack stamps every interaction with the time the user acted (``action_ts``). Requests can arrive
late or twice (a retry, a replay within the signature's five minutes, a slow network), so each
action is applied only if it is newer than the user's latest one on the item: an older action
never overwrites a newer one, and the same action twice is applied once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import UserAction, utcnow

__all__ = [
    "STALE",
    "TAKE_TURN_PG",
    "Order",
    "order_by_latest",
    "take_turn",
    "turn_latest",
]

STALE = "A later answer of yours on this item was recorded first; this older one was not."

# Core statements on the table, built once: this runs on every click (see bot.items).
ACTIONS = cast(Table, UserAction.__table__)
_LATEST = select(ACTIONS.c.acted_at).where(
    ACTIONS.c.item_id == bindparam("item_id"), ACTIONS.c.user_id == bindparam("user_id")
)


def _newer(dialect: Any, prefix: str = "") -> Any:
    """Insert the time, or move it forward: one statement, which returns a row only when it did.
    ``prefix`` names its binds apart, for a statement that embeds it next to other binds."""
    statement = dialect.insert(ACTIONS).values(
        item_id=bindparam(f"{prefix}item_id"),
        user_id=bindparam(f"{prefix}user_id"),
        acted_at=bindparam(f"{prefix}acted_at"),
    )
    return statement.on_conflict_do_update(
        index_elements=[ACTIONS.c.item_id, ACTIONS.c.user_id],
        set_={"acted_at": statement.excluded.acted_at},
        where=ACTIONS.c.acted_at < statement.excluded.acted_at,
    ).returning(ACTIONS.c.item_id)


_NEWER = {"sqlite": _newer(sqlite), "postgresql": _newer(postgresql)}
#: The upsert as a CTE with ``b_``-prefixed binds, for a write that takes the turn it already
#: knows is the newest (the item locked and the latest time read before, ``bot.labeling``).
TAKE_TURN_PG = _newer(postgresql, "b_").cte("take_turn")


def turn_latest() -> Any:
    """The user's latest action time on the item, as a scalar subquery (for a statement that reads
    it with the item, ``bot.labeling``; :func:`order_by_latest` compares it)."""
    return _LATEST.scalar_subquery()


class Order(StrEnum):
    NEWEST = "newest"  # apply it
    SAME = "same"  # this very action was applied already (a redelivery): nothing to do
    OLDER = "older"  # a newer action was applied first: refuse it


def take_turn(session: Session, item_id: int, user: str, at: datetime | None) -> Order:
    """Whether the action ``user`` made on ``item_id`` at ``at`` comes after their latest one; when it
    does, it becomes the latest. Call it with the item locked (as every labeling rule does)."""
    at = at or utcnow()
    params = {"item_id": item_id, "user_id": user, "acted_at": at}
    newer = _NEWER[session.get_bind().dialect.name]
    if session.execute(newer, params).first() is not None:
        return Order.NEWEST
    latest = session.execute(_LATEST, params).scalar()
    return Order.SAME if latest == at else Order.OLDER


def order_by_latest(latest: datetime | None, at: datetime) -> Order:
    """The order of an action at ``at`` from the user's latest time, read with the item locked
    (so no other action of theirs can move it meanwhile); NEWEST still has to be recorded."""
    if latest is None or at > latest:
        return Order.NEWEST
    return Order.SAME if latest == at else Order.OLDER
