"""What App Home shows a user, per role, and the figures ``/label mine`` gives.

- Annotators: each project they may label (``Authorizer.label``; user groups count), its progress
  and how many open items wait for them.
- Everyone who labeled: their week (labels given in the last seven days, agreement of those labels
  with the final label of the items since resolved, accuracy on gold items).
- Experts: the open escalations routed to them (user groups count), oldest first, with their age.
- Admins: each project they administer, its health: backlog, open items, open escalations, the
  last digest, the model version, paused or not.

Plain Python over a ``Session``: the Slack edge renders it (``bot.slack.blocks.home``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import Session

from bot.authorization import Authorizer, Permit
from bot.config import Config, ProjectConfig
from bot.progress import status_counts
from storage.models import (
    Digest,
    DigestStatus,
    Escalation,
    EscalationStatus,
    Item,
    ItemStatus,
    Label,
    ModelStatus,
    ModelVersion,
    Project,
    Resolution,
    Skip,
)

__all__ = [
    "WEEK",
    "Home",
    "ProjectHealth",
    "ProjectProgress",
    "RoutedEscalation",
    "WeekFigures",
    "administered",
    "build_home",
    "labelable",
    "project_health",
    "routed_escalations",
    "waiting_for",
    "week_figures",
]

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class ProjectProgress:
    key: str
    name: str
    channel: str
    counts: dict[ItemStatus, int]
    waiting: int  # open items this user has neither labeled nor skipped
    labeled_by_you: int
    paused: bool

    @property
    def done(self) -> int:
        return self.counts[ItemStatus.RESOLVED]

    @property
    def queued(self) -> int:
        return self.counts[ItemStatus.QUEUED]

    @property
    def open(self) -> int:
        return self.counts[ItemStatus.OPEN]

    @property
    def escalated(self) -> int:
        return self.counts[ItemStatus.ESCALATED]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class WeekFigures:
    """One user's labels in a period, in one project (or all: ``project`` None)."""

    project: str | None
    labels: int
    resolved: int  # of those labels, on items since resolved by a person (consensus, expert, audit)
    agreed: int  # of those, the same as the final label
    gold: int  # of those labels, on gold items
    gold_right: int

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.resolved if self.resolved else None

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_right / self.gold if self.gold else None


@dataclass(frozen=True)
class RoutedEscalation:
    escalation_id: int
    project: str  # key
    project_name: str
    channel: str
    item_external_id: str
    item_text: str
    parent_ts: str | None  # the item's message
    thread_ts: str | None  # the escalation's post in its thread; None until posted
    opened_at: datetime
    age: timedelta


@dataclass(frozen=True)
class ProjectHealth:
    key: str
    name: str
    channel: str
    queued: int  # the backlog
    open: int
    escalations: int  # open escalations
    last_digest: datetime | None
    model_version: int | None
    paused_at: datetime | None
    paused_by: str | None

    @property
    def paused(self) -> bool:
        return self.paused_at is not None


@dataclass(frozen=True)
class Home:
    user: str
    projects: list[ProjectProgress]
    week: WeekFigures
    escalations: list[RoutedEscalation]
    admin: list[ProjectHealth]


# -- who sees which project ------------------------------------------------------------------------
def labelable(config: Config, authorizer: Authorizer, user: str) -> list[ProjectConfig]:
    """The projects ``user`` may label, in configuration order."""
    return [p for p in config.projects if isinstance(authorizer.label(p, user), Permit)]


def administered(config: Config, authorizer: Authorizer, user: str) -> list[ProjectConfig]:
    """The projects ``user`` administers (``experts.admins``)."""
    return [p for p in config.projects if isinstance(authorizer.admin(p, user), Permit)]


# -- the sections ----------------------------------------------------------------------------------
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


def _project_ids(session: Session) -> dict[str, tuple[int, datetime | None, str | None]]:
    rows = session.execute(select(Project.key, Project.id, Project.paused_at, Project.paused_by)).all()
    return {key: (pid, paused_at, paused_by) for key, pid, paused_at, paused_by in rows}


def project_progress(session: Session, projects: Sequence[ProjectConfig], user: str) -> list[ProjectProgress]:
    rows = _project_ids(session)
    out = []
    for project in projects:
        if project.key not in rows:
            continue
        pid, paused_at, _ = rows[project.key]
        waiting = session.scalar(select(func.count()).select_from(waiting_for(session, pid, user).subquery()))
        mine = session.scalar(
            select(func.count())
            .select_from(Label)
            .join(Item, Item.id == Label.item_id)
            .where(Item.project_id == pid, Label.user_id == user)
        )
        out.append(
            ProjectProgress(
                project.key,
                project.name,
                project.channel,
                status_counts(session, pid),
                int(waiting or 0),
                int(mine or 0),
                paused_at is not None,
            )
        )
    return out


def week_figures(session: Session, config: Config, user: str, now: datetime) -> list[WeekFigures]:
    """``user``'s labels of the last seven days: the total first, then one per project that has any.

    A label counts by the time of its current value (as in ``bot.reports``); agreement compares it
    with the final label of items resolved by people (consensus, expert, audit), gold accuracy
    with the gold label of gold items.
    """
    human = [Resolution.CONSENSUS, Resolution.EXPERT, Resolution.AUDIT]
    resolved = and_(Item.status == ItemStatus.RESOLVED, Item.resolution.in_(human))
    rows = session.execute(
        select(
            Project.key,
            func.count(),
            func.count(case((resolved, 1))),
            func.count(case((and_(resolved, Label.value == Item.final_label), 1))),
            func.count(case((Item.gold_label.is_not(None), 1))),
            func.count(case((Label.value == Item.gold_label, 1))),
        )
        .select_from(Label)
        .join(Item, Item.id == Label.item_id)
        .join(Project, Project.id == Item.project_id)
        .where(Label.user_id == user, Label.updated_at >= now - WEEK, Label.updated_at <= now)
        .group_by(Project.key)
    ).all()
    order = {p.key: i for i, p in enumerate(config.projects)}
    per = sorted(
        (WeekFigures(key, int(n), int(r), int(a), int(g), int(gr)) for key, n, r, a, g, gr in rows),
        key=lambda w: (order.get(w.project or "", len(order)), w.project or ""),
    )
    total = WeekFigures(
        None,
        sum(w.labels for w in per),
        sum(w.resolved for w in per),
        sum(w.agreed for w in per),
        sum(w.gold for w in per),
        sum(w.gold_right for w in per),
    )
    return [total, *per]


def routed_escalations(
    session: Session, config: Config, authorizer: Authorizer, user: str, now: datetime
) -> list[RoutedEscalation]:
    """Open escalations routed to ``user`` (or to a group they are in), oldest first."""
    names = {p.key: p for p in config.projects}
    rows = session.execute(
        select(
            Escalation.id,
            Escalation.experts,
            Escalation.thread_ts,
            Escalation.created_at,
            Project.key,
            Item.external_id,
            Item.text,
            Item.channel,
            Item.message_ts,
        )
        .join(Item, Item.id == Escalation.item_id)
        .join(Project, Project.id == Item.project_id)
        .where(Escalation.status == EscalationStatus.OPEN)
        .order_by(Escalation.created_at, Escalation.id)
    ).all()
    out = []
    for eid, experts, thread_ts, created, key, external_id, text, channel, parent in rows:
        project = names.get(key)
        if project is None or not authorizer.includes(experts or [], user):
            continue
        out.append(
            RoutedEscalation(
                eid,
                key,
                project.name,
                channel or project.channel,
                project.privacy.apply(external_id),
                project.privacy.apply(text),  # redacted before the view cuts it
                parent,
                thread_ts,
                created,
                max(timedelta(0), now - created),
            )
        )
    return out


def project_health(session: Session, projects: Sequence[ProjectConfig]) -> list[ProjectHealth]:
    rows = _project_ids(session)
    out = []
    for project in projects:
        if project.key not in rows:
            continue
        pid, paused_at, paused_by = rows[project.key]
        counts = status_counts(session, pid)
        escalations = session.scalar(
            select(func.count())
            .select_from(Escalation)
            .join(Item, Item.id == Escalation.item_id)
            .where(Item.project_id == pid, Escalation.status == EscalationStatus.OPEN)
        )
        digest = session.scalar(
            select(func.max(Digest.posted_at)).where(
                Digest.project_id == pid, Digest.status == DigestStatus.POSTED
            )
        )
        model = session.scalar(
            select(func.max(ModelVersion.version)).where(
                ModelVersion.project_id == pid, ModelVersion.status == ModelStatus.TRAINED
            )
        )
        out.append(
            ProjectHealth(
                project.key,
                project.name,
                project.channel,
                counts[ItemStatus.QUEUED],
                counts[ItemStatus.OPEN],
                int(escalations or 0),
                digest,
                model,
                paused_at,
                paused_by,
            )
        )
    return out


def build_home(session: Session, config: Config, authorizer: Authorizer, user: str, now: datetime) -> Home:
    """Everything ``user``'s App Home shows (empty sections for roles they do not have)."""
    return Home(
        user,
        project_progress(session, labelable(config, authorizer, user), user),
        week_figures(session, config, user, now)[0],
        routed_escalations(session, config, authorizer, user, now),
        project_health(session, administered(config, authorizer, user)),
    )
