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

__all__ = ["STALE", "Order", "take_turn"]

STALE = "A later answer of yours on this item was recorded first; this older one was not."

# Core statements on the table, built once: this runs on every click (see bot.items).
ACTIONS = cast(Table, UserAction.__table__)
_LATEST = select(ACTIONS.c.acted_at).where(
    ACTIONS.c.item_id == bindparam("item_id"), ACTIONS.c.user_id == bindparam("user_id")
)


def _newer(dialect: Any) -> Any:
    """Insert the time, or move it forward: one statement, which returns a row only when it did."""
    statement = dialect.insert(ACTIONS).values(
        item_id=bindparam("item_id"), user_id=bindparam("user_id"), acted_at=bindparam("acted_at")
    )
    return statement.on_conflict_do_update(
        index_elements=[ACTIONS.c.item_id, ACTIONS.c.user_id],
        set_={"acted_at": statement.excluded.acted_at},
        where=ACTIONS.c.acted_at < statement.excluded.acted_at,
    ).returning(ACTIONS.c.item_id)


_NEWER = {"sqlite": _newer(sqlite), "postgresql": _newer(postgresql)}


class Order(StrEnum):
    NEWEST = "newest"  # apply it
    SAME = "same"  # this very action was applied already (a redelivery): nothing to do
    OLDER = "older"  # a newer action was applied first: refuse it


def take_turn(session: Session, item_id: int, user: str, at: datetime | None) -> Order:
    """Whether the action ``user`` made on ``item_id`` at ``at`` comes after their latest one; when it
    does, it becomes the latest. Call it with the item locked (as every labeling rule does)."""
    params = {"item_id": item_id, "user_id": user, "acted_at": at or utcnow()}
    newer = _NEWER[session.get_bind().dialect.name]
    if session.execute(newer, params).first() is not None:
        return Order.NEWEST
    latest = session.execute(_LATEST, params).scalar()
    return Order.SAME if latest == params["acted_at"] else Order.OLDER
