"""How far a project is: items per status, and each annotator's labels and skips."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Item, ItemEvent, ItemStatus, Label, Lease, Project

__all__ = [
    "AnnotatorActivity",
    "annotator_activity",
    "live_leases_by_project",
    "queued_by_project",
    "status_counts",
]


def status_counts(session: Session, project_id: int | None) -> dict[ItemStatus, int]:
    """Items per status, every status listed (zero included), in the order of an item's life."""
    if project_id is None:
        return dict.fromkeys(ItemStatus, 0)
    counts = dict(
        session.execute(
            select(Item.status, func.count()).where(Item.project_id == project_id).group_by(Item.status)
        ).all()
    )
    return {status: int(counts.get(status, 0)) for status in ItemStatus}


def queued_by_project(session: Session) -> dict[str, int]:
    """Items waiting to be posted (queued), by project key; every project listed."""
    rows = session.execute(
        select(Project.key, func.count(Item.id))
        .select_from(Project)
        .outerjoin(Item, (Item.project_id == Project.id) & (Item.status == ItemStatus.QUEUED))
        .group_by(Project.key)
    ).all()
    return {str(key): int(count) for key, count in rows}


def live_leases_by_project(session: Session, now: datetime) -> dict[str, int]:
    """Items leased to a direct-message session now, by project key; every project listed."""
    rows = session.execute(
        select(Project.key, func.count(Lease.item_id))
        .select_from(Project)
        .outerjoin(Item, Item.project_id == Project.id)
        .outerjoin(Lease, (Lease.item_id == Item.id) & (Lease.expires_at > now))
        .group_by(Project.key)
    ).all()
    return {str(key): int(count) for key, count in rows}


@dataclass(frozen=True)
class AnnotatorActivity:
    user_id: str
    labels: int  # current labels
    skips: int


def annotator_activity(session: Session, project_id: int | None) -> list[AnnotatorActivity]:
    """Per annotator who labeled or skipped anything, by user id."""
    if project_id is None:
        return []
    labels = dict(
        session.execute(
            select(Label.user_id, func.count())
            .join(Item, Item.id == Label.item_id)
            .where(Item.project_id == project_id)
            .group_by(Label.user_id)
        ).all()
    )
    skips = dict(
        session.execute(
            select(ItemEvent.actor, func.count())
            .where(ItemEvent.project_id == project_id, ItemEvent.action == "skip")
            .group_by(ItemEvent.actor)
        ).all()
    )
    return [
        AnnotatorActivity(u, int(labels.get(u, 0)), int(skips.get(u, 0)))
        for u in sorted(set(labels) | set(skips))
    ]
