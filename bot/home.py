"""What App Home shows a user: per project, the counts and what waits for them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.progress import status_counts
from storage.models import Item, ItemStatus, Label, Project, Skip

__all__ = ["ProjectSummary", "home_summary", "waiting_for"]


@dataclass(frozen=True)
class ProjectSummary:
    key: str
    name: str
    channel: str
    counts: dict[ItemStatus, int]
    waiting: int
    labeled_by_you: int


def waiting_for(session: Session, project_id: int, user: str) -> Select[Any]:
    """Open items this user has neither labeled nor skipped: what the bot offers them next."""
    labeled = select(Label.item_id).where(Label.user_id == user)
    skipped = select(Skip.item_id).where(Skip.user_id == user)
    return (
        select(Item)
        .where(
            Item.project_id == project_id,
            Item.status == ItemStatus.OPEN,
            Item.id.not_in(labeled),
            Item.id.not_in(skipped),
        )
        .order_by(Item.priority.desc(), Item.import_seq)
    )


def home_summary(session: Session, config: Config, user: str) -> list[ProjectSummary]:
    out = []
    for project in config.projects:
        pid = session.scalar(select(Project.id).where(Project.key == project.key))
        if pid is None:
            continue
        waiting = session.scalar(select(func.count()).select_from(waiting_for(session, pid, user).subquery()))
        mine = session.scalar(
            select(func.count())
            .select_from(Label)
            .join(Item, Item.id == Label.item_id)
            .where(Item.project_id == pid, Label.user_id == user)
        )
        out.append(
            ProjectSummary(
                project.key,
                project.name,
                project.channel,
                status_counts(session, pid),
                int(waiting or 0),
                int(mine or 0),
            )
        )
    return out
