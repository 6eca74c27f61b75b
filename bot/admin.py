"""Project administration: an admin pauses and resumes a project, or reveals an item's original text.

A paused project gets no new item: the dispatcher posts none to its channel (and no personal
queue gives one out). What is already out goes on: labels on open items count, escalation threads,
message refreshes, reminders and audits are still posted, experts still decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.authorization import Action, Permit
from bot.history import AdminAction, record_admin_event
from bot.items import get_project
from storage.db import changed
from storage.models import Item, Project

__all__ = ["PauseResult", "Revealed", "is_paused", "pause", "paused_project_ids", "resume", "reveal"]


@dataclass(frozen=True)
class PauseResult:
    changed: bool  # False: it already was in that state
    paused_by: str | None  # who paused it (the admin who did, or earlier someone else)
    paused_at: datetime | None


def pause(session: Session, permit: Permit, now: datetime) -> PauseResult:
    """Pause ``permit.project``; pausing a paused project changes nothing (and keeps who did)."""
    permit.require(Action.ADMIN)
    project = get_project(session, permit.project.key)
    result = session.execute(
        update(Project)
        .where(Project.id == project.id, Project.paused_at.is_(None))
        .values(paused_at=now, paused_by=permit.user)
        .execution_options(synchronize_session=False)
    )
    session.refresh(project)
    done = changed(result) > 0
    if done:  # a change, and only a change, is recorded with who made it
        record_admin_event(session, project.id, permit.user, AdminAction.PAUSE, now)
    return PauseResult(done, project.paused_by, project.paused_at)


def resume(session: Session, permit: Permit, now: datetime) -> PauseResult:
    """Resume ``permit.project``; resuming a running project changes nothing (and records nothing)."""
    permit.require(Action.ADMIN)
    project = get_project(session, permit.project.key)
    was_paused_by = project.paused_by
    result = session.execute(
        update(Project)
        .where(Project.id == project.id, Project.paused_at.is_not(None))
        .values(paused_at=None, paused_by=None)
        .execution_options(synchronize_session=False)
    )
    session.refresh(project)
    done = changed(result) > 0
    if done:
        detail = {"paused_by": was_paused_by} if was_paused_by else None
        record_admin_event(session, project.id, permit.user, AdminAction.RESUME, now, detail=detail)
    return PauseResult(done, project.paused_by, project.paused_at)


@dataclass(frozen=True)
class Revealed:
    item_id: int
    external_id: str
    text: str  # as stored: the caller escapes it and keeps it private to the admin


def reveal(session: Session, permit: Permit, item: str, now: datetime) -> Revealed | None:
    """``permit.project``'s item ``item`` (its external id; ``#N``: the internal id), recorded as
    revealed to ``permit.user`` before it is returned. None when there is no such item."""
    permit.require(Action.REVEAL)
    project = get_project(session, permit.project.key)
    query = select(Item).where(Item.project_id == project.id)
    row = session.scalar(query.where(Item.external_id == item))
    if row is None and item.startswith("#") and item[1:].isdigit() and len(item) < 19:
        row = session.scalar(query.where(Item.id == int(item[1:])))
    if row is None:
        return None
    detail = {"external_id": row.external_id, "chars": len(row.text)}
    record_admin_event(
        session, project.id, permit.user, AdminAction.REVEAL, now, item_id=row.id, detail=detail
    )
    return Revealed(row.id, row.external_id, row.text)


def is_paused(session: Session, project_id: int) -> bool:
    return session.scalar(select(Project.paused_at).where(Project.id == project_id)) is not None


def paused_project_ids(session: Session) -> set[int]:
    """Every paused project's id: one query for the dispatcher's round."""
    return set(session.scalars(select(Project.id).where(Project.paused_at.is_not(None))))
