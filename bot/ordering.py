"""One user's actions on one item happen in the order the user made them.

Slack stamps every interaction with the time the user acted (``action_ts``). Requests can arrive
late or twice (a retry, a replay within the signature's five minutes, a slow network), so each
action is applied only if it is newer than the user's latest one on the item: an older action
never overwrites a newer one, and the same action twice is applied once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from storage.models import UserAction, utcnow

__all__ = ["STALE", "Order", "take_turn"]

STALE = "A later answer of yours on this item was recorded first; this older one was not."

_LATEST = select(UserAction.acted_at).where(
    UserAction.item_id == bindparam("item_id"), UserAction.user_id == bindparam("user_id")
)
_INSERT = insert(UserAction)
_UPDATE = (
    update(UserAction)
    .where(UserAction.item_id == bindparam("b_item"), UserAction.user_id == bindparam("b_user"))
    .values(acted_at=bindparam("b_at"))
)


class Order(StrEnum):
    NEWEST = "newest"  # apply it
    SAME = "same"  # this very action was applied already (a redelivery): nothing to do
    OLDER = "older"  # a newer action was applied first: refuse it


def take_turn(session: Session, item_id: int, user: str, at: datetime | None) -> Order:
    """Whether the action ``user`` made on ``item_id`` at ``at`` comes after their latest one; when it
    does, it becomes the latest. Call it with the item locked (as every labeling rule does)."""
    at = at or utcnow()
    latest = session.execute(_LATEST, {"item_id": item_id, "user_id": user}).scalar()
    if latest is None:
        session.execute(_INSERT, {"item_id": item_id, "user_id": user, "acted_at": at})
        return Order.NEWEST
    if at < latest:
        return Order.OLDER
    if at == latest:
        return Order.SAME
    session.execute(_UPDATE, {"b_item": item_id, "b_user": user, "b_at": at})
    return Order.NEWEST
