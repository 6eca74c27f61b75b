"""Project administration: an admin pauses and resumes a project.

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
from bot.items import get_project
from storage.db import changed
from storage.models import Project

__all__ = ["PauseResult", "is_paused", "pause", "paused_project_ids", "resume"]


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
    return PauseResult(changed(result) > 0, project.paused_by, project.paused_at)


def resume(session: Session, permit: Permit) -> PauseResult:
    """Resume ``permit.project``; resuming a running project changes nothing."""
    permit.require(Action.ADMIN)
    project = get_project(session, permit.project.key)
    result = session.execute(
        update(Project)
        .where(Project.id == project.id, Project.paused_at.is_not(None))
        .values(paused_at=None, paused_by=None)
        .execution_options(synchronize_session=False)
    )
    session.refresh(project)
    return PauseResult(changed(result) > 0, project.paused_by, project.paused_at)


def is_paused(session: Session, project_id: int) -> bool:
    return session.scalar(select(Project.paused_at).where(Project.id == project_id)) is not None


def paused_project_ids(session: Session) -> set[int]:
    """Every paused project's id: one query for the dispatcher's round."""
    return set(session.scalars(select(Project.id).where(Project.paused_at.is_not(None))))
