"""The admins' history: pause, resume and reveal, each one row with who did it and when.

Rows are written by the domain function that makes the change (``bot.admin``), in its own
transaction: a pause is never committed without its row, and a reveal is recorded before the
text is shown. The table is append-only (the database refuses UPDATE and DELETE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AdminEvent, Item

__all__ = ["AdminAction", "AdminEntry", "admin_events", "record_admin_event"]


class AdminAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    REVEAL = "reveal"


def record_admin_event(
    session: Session,
    project_id: int,
    actor: str,
    action: AdminAction,
    at: datetime,
    *,
    item_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AdminEvent:
    event = AdminEvent(
        project_id=project_id, item_id=item_id, actor=actor, action=str(action), detail=detail, at=at
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class AdminEntry:
    """One admin event as the history shows it: the item by its external id."""

    id: int
    at: datetime
    actor: str
    action: str
    item_id: int | None
    external_id: str | None
    detail: dict[str, Any]


def admin_events(
    session: Session, project_id: int, *, item_id: int | None = None, limit: int | None = None
) -> list[AdminEntry]:
    """The project's admin events (only ``item_id``'s when given), oldest first; ``limit``: the newest."""
    query = (
        select(AdminEvent, Item.external_id)
        .outerjoin(Item, Item.id == AdminEvent.item_id)
        .where(AdminEvent.project_id == project_id)
    )
    if item_id is not None:
        query = query.where(AdminEvent.item_id == item_id)
    query = query.order_by(AdminEvent.id.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = session.execute(query).all()
    return [
        AdminEntry(e.id, e.at, e.actor, e.action, e.item_id, external, dict(e.detail or {}))
        for e, external in reversed(rows)
    ]
