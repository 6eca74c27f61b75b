"""Typed SQLAlchemy 2.0 models: the single source of truth for labelbot's schema.

Rules the database enforces, not only the code:
- one current label per (item, user): ``uq_labels_item_user``;
- a unique external id per project: ``uq_items_project_external``;
- an append-only history: triggers refuse UPDATE and DELETE on ``item_events``
  (created by the migration, see ``storage/migrations``);
- one open escalation per item, one decision: a partial unique index and a
  conditional UPDATE in ``bot.escalation``;
- thread messages deduplicated by Slack's ``event_id``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AdminEvent",
    "Audit",
    "AuditStatus",
    "Base",
    "Digest",
    "DigestStatus",
    "DispatchRank",
    "Escalation",
    "EscalationStatus",
    "Item",
    "ItemEvent",
    "ItemStatus",
    "Label",
    "ModelStatus",
    "ModelVersion",
    "Project",
    "Resolution",
    "Skip",
    "ThreadMessage",
    "UserAction",
    "utcnow",
]


def utcnow() -> datetime:
    """Aware UTC now; every timestamp in the database is UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back aware datetimes (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Statuses are stored as their string values; a StrEnum member equals its value, so rows read
# back as plain strings compare equal to the members.
class ItemStatus(StrEnum):
    """An item's life: queued → open (posted) → resolved, or escalated → resolved or queued again."""

    QUEUED = "queued"
    OPEN = "open"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class Resolution(StrEnum):
    """Who decided a resolved item's final label."""

    CONSENSUS = "consensus"
    EXPERT = "expert"
    AUDIT = "audit"
    MODEL = "model"


class EscalationStatus(StrEnum):
    OPEN = "open"
    DECIDED = "decided"
    SENT_BACK = "sent_back"


class AuditStatus(StrEnum):
    PENDING = "pending"  # sampled, not yet sent to the expert
    POSTED = "posted"
    DONE = "done"


class DigestStatus(StrEnum):
    CLAIMED = "claimed"
    POSTED = "posted"


class ModelStatus(StrEnum):
    TRAINED = "trained"
    FAILED = "failed"


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}  # noqa: RUF012


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Model rankings (``DispatchRank``): the last run number handed out, and the run that dispatch
    # follows (None until a first ranking is complete).
    score_runs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    dispatch_run: Mapped[int | None] = mapped_column(Integer)
    # An admin's pause (App Home or ``/label pause``): no new item is posted or given out in a
    # direct message; labels on items already out still count.
    paused_at: Mapped[datetime | None] = mapped_column()
    paused_by: Mapped[str | None] = mapped_column(String(32))


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "external_id", name="uq_items_project_external"),
        # Queued items in import order; the model's order lives in ``dispatch_ranks``.
        Index("ix_items_dispatch", "project_id", "status", "import_seq"),
        Index("ix_items_message", "channel", "message_ts"),
        # Room on each page for the new version of its rows: re-scoring is then a HOT update
        # (no index touched). Migration 0003 says why and what it measured.
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    gold_label: Mapped[str | None] = mapped_column(String(150))
    content_hash: Mapped[str] = mapped_column(String(64))
    import_seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.QUEUED)
    resolution: Mapped[str | None] = mapped_column(String(16))
    final_label: Mapped[str | None] = mapped_column(String(150))
    agreement: Mapped[float | None] = mapped_column(Float)
    round: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    # Set when the message shows stale progress; the refresher coalesces chat.update calls
    # and clears the flag only if ``revision`` did not move while it rendered.
    message_dirty: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    # A dispatcher's claim on a queued item; a claim older than the lease may be retaken,
    # after checking the channel for a message that an interrupted post left behind.
    post_attempted_at: Mapped[datetime | None] = mapped_column()
    posted_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    # Model outputs (active learning): higher priority = ask sooner. Not indexed here: dispatch
    # follows ``dispatch_ranks``, which a scoring run writes in this order.
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    model_label: Mapped[str | None] = mapped_column(String(150))
    model_confidence: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    project: Mapped[Project] = relationship()
    labels: Mapped[list[Label]] = relationship(back_populates="item", cascade="all, delete-orphan")


class Label(Base):
    """An annotator's current label on an item (the history lives in ``item_events``)."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("item_id", "user_id", name="uq_labels_item_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(150))
    source: Mapped[str] = mapped_column(String(16), default="slack")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship(back_populates="labels")


class Skip(Base):
    """A user skipped an item: never ask them about it again."""

    __tablename__ = "skips"
    __table_args__ = (UniqueConstraint("item_id", "user_id", name="uq_skips_item_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemEvent(Base):
    """Append-only history of everything that happens to an item.

    ``action`` values: label, change, undo, skip, import (label history) and
    queued, posted, updated, escalated, reminded, decided, sent_back, audited (item lifecycle).
    """

    __tablename__ = "item_events"
    __table_args__ = (Index("ix_item_events_item", "item_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    actor: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(150))
    previous_label: Mapped[str | None] = mapped_column(String(150))
    round: Mapped[int] = mapped_column(Integer, default=1)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (
        # One open escalation per item at a time, enforced by the database.
        Index(
            "uq_escalations_open_item",
            "item_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(16))  # disagreement | annotator
    note: Mapped[str | None] = mapped_column(Text)  # the annotator's reason
    raised_by: Mapped[str | None] = mapped_column(String(32))
    suggested_label: Mapped[str | None] = mapped_column(String(150))
    experts: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default=EscalationStatus.OPEN)
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_label: Mapped[str | None] = mapped_column(String(150))
    decision_note: Mapped[str | None] = mapped_column(Text)
    edge_case: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    fallback_at: Mapped[datetime | None] = mapped_column()


class Audit(Base):
    """A blind relabel by an expert of an item resolved by consensus (or by the model)."""

    __tablename__ = "audits"
    __table_args__ = (Index("ix_audits_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    resolution: Mapped[str] = mapped_column(String(16))  # what is audited: consensus | model
    audited_label: Mapped[str] = mapped_column(String(150))  # the final label at sampling time
    expert: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=AuditStatus.PENDING)
    channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    label: Mapped[str | None] = mapped_column(String(150))
    agrees: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column()


class Lease(Base):
    """An item given out in a user's direct-message session: it counts toward the labels the item
    still needs until it expires, the session stops, or the user answers (``bot.personal``)."""

    __tablename__ = "leases"
    __table_args__ = (Index("ix_leases_user", "user_id", "expires_at"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("labeling_sessions.id", ondelete="CASCADE"))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class LabelingSession(Base):
    """A user's personal queue in a direct message: one message, replaced in place with each item."""

    __tablename__ = "labeling_sessions"
    __table_args__ = (Index("ix_labeling_sessions_user", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    channel: Mapped[str | None] = mapped_column(String(32))  # the DM's ID, once opened
    message_ts: Mapped[str | None] = mapped_column(String(32))
    item_id: Mapped[int | None] = mapped_column(Integer)  # the item the message shows
    item_round: Mapped[int | None] = mapped_column(Integer)
    previous_item_id: Mapped[int | None] = mapped_column(Integer)  # the last answered: Undo
    labels: Mapped[int] = mapped_column(Integer, default=0)
    skips: Mapped[int] = mapped_column(Integer, default=0)
    gold_right: Mapped[int] = mapped_column(Integer, default=0)
    gold_wrong: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
    end_reason: Mapped[str | None] = mapped_column(String(16))  # stopped | done | idle | replaced


class UserAction(Base):
    """When a user last acted on an item, by Slack's clock (``action_ts``): labels, changes, Undo,
    Skip and escalations are applied in that order, so a replayed or delayed older request never
    overwrites a newer one."""

    __tablename__ = "user_actions"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    acted_at: Mapped[datetime] = mapped_column()


class ThreadMessage(Base):
    __tablename__ = "thread_messages"
    # A message Slack delivers again with a new event_id is the same message.
    __table_args__ = (Index("uq_thread_messages_item_ts", "item_id", "ts", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    edited_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Digest(Base):
    """A quality digest claimed for (project, period): posted exactly once."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("project_id", "period_start", name="uq_digests_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    period_start: Mapped[datetime] = mapped_column()
    period_end: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=DigestStatus.CLAIMED)
    channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None] = mapped_column()


class DispatchRank(Base):
    """One scoring run's order of a project's items: rank 0 is asked first.

    A run writes its rows in rank order, so every insert lands at the end of the primary key
    and a million of them touch only as many pages as they fill; updating a priority column
    indexed on ``items`` instead moved each item's entry to a random page of a million-entry
    index (benchmarks/model_scoring.py: 82 s against the 60 s target). Dispatch follows the
    run named by ``projects.dispatch_run``, so a new ranking replaces the old one at once;
    older runs are deleted behind it. Index-organised on SQLite (no rowid): the key is the order.
    """

    __tablename__ = "dispatch_ranks"
    __table_args__ = ({"sqlite_with_rowid": False},)

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    run: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # No foreign key: the rows are copied from ids just read from ``items`` (never deleted), and
    # the check was a random lookup into ``items`` per row: 1M ranks 7.7 s with it, 3.3 s without.
    item_id: Mapped[int] = mapped_column(Integer)


class ModelVersion(Base):
    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    path: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16))  # ModelStatus
    error: Mapped[str | None] = mapped_column(Text)
    cv_accuracy: Mapped[float | None] = mapped_column(Float)
    cv_macro_f1: Mapped[float | None] = mapped_column(Float)
    n_labels: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AdminEvent(Base):
    """Append-only history of what admins did to a project (pause, resume, reveal), with who.

    Recorded in the transaction of the change itself, so a change is never without its row.
    ``item_id`` is set for actions on one item (reveal).
    """

    __tablename__ = "admin_events"
    __table_args__ = (
        Index("ix_admin_events_project", "project_id", "id"),
        Index("ix_admin_events_item", "item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    actor: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))  # bot.history.AdminAction
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    at: Mapped[datetime] = mapped_column(default=utcnow)
