"""Items and projects in the database: lookups, the import upsert, history events.

Functions take a ``Session``; the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.orm import Session

from bot.blocks.item import ItemCard
from bot.config import Config, ProjectConfig
from storage.db import driver_mark
from storage.models import Item, ItemEvent, ItemStatus, Label, Project, utcnow

__all__ = [
    "BOT_ACTOR",
    "ImportReport",
    "ItemRow",
    "NotFound",
    "card_for",
    "content_hash",
    "get_item",
    "get_item_by_external",
    "get_item_row",
    "get_project",
    "mark_dirty",
    "record_event",
    "sync_projects",
    "touch_message",
    "upsert_items",
]

BOT_ACTOR = "labelbot"
EVENTS_INSERT = ItemEvent.__table__.insert()
ITEMS = Item.__table__
# A locked item read as a plain row (no ORM object): what the click path needs, at a third of the cost.
ItemLike = Item | Row[Any]
# Built once: constructing a statement costs more than SQLite takes to run it.
_ITEM_ROW = select(ITEMS).where(ITEMS.c.id == bindparam("id"))
_ITEM_ROW_LOCKED = _ITEM_ROW.with_for_update()
_TOUCH = (
    update(ITEMS)
    .where(ITEMS.c.id == bindparam("b_id"))
    .values(message_dirty=True, revision=func.coalesce(ITEMS.c.revision, 0) + 1)
)


class NotFound(LookupError):
    """A project or item that the caller named does not exist."""


@dataclass(frozen=True)
class ItemRow:
    """One validated row of an import file."""

    external_id: str
    text: str
    meta: dict[str, Any]
    gold_label: str | None


@dataclass(frozen=True)
class ImportReport:
    new: int
    unchanged: int
    changed: int
    rejected: int = 0


def content_hash(text: str, meta: dict[str, Any], gold: str | None) -> str:
    payload = json.dumps([text, meta, gold], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def sync_projects(session: Session, config: Config) -> dict[str, Project]:
    """Make sure every configured project has its row; returns them by key."""
    existing = {p.key: p for p in session.scalars(select(Project))}
    for project in config.projects:
        if project.key not in existing:
            row = Project(key=project.key)
            session.add(row)
            existing[project.key] = row
    session.flush()
    return existing


def get_project(session: Session, key: str) -> Project:
    project = session.scalar(select(Project).where(Project.key == key))
    if project is None:
        project = Project(key=key)
        session.add(project)
        session.flush()
    return project


def get_item(session: Session, item_id: int, *, lock: bool = False) -> Item:
    """The item, row-locked for the transaction when ``lock`` (PostgreSQL; SQLite locks the file)."""
    query = select(Item).where(Item.id == item_id)
    if lock:
        query = query.with_for_update()
    item = session.scalar(query)
    if item is None:
        raise NotFound(f"item {item_id} does not exist")
    return item


def get_item_row(session: Session, item_id: int, *, lock: bool = False) -> Row[Any]:
    """Like :func:`get_item`, as a row: for paths that only read the item and update by statement."""
    row = session.execute(_ITEM_ROW_LOCKED if lock else _ITEM_ROW, {"id": item_id}).first()
    if row is None:
        raise NotFound(f"item {item_id} does not exist")
    return row


def get_item_by_external(session: Session, project: Project, external_id: str) -> Item:
    item = session.scalar(select(Item).where(Item.project_id == project.id, Item.external_id == external_id))
    if item is None:
        raise NotFound(f"no item {external_id!r} in project {project.key!r}")
    return item


def record_event(
    session: Session,
    item: ItemLike,
    actor: str,
    action: str,
    *,
    label: str | None = None,
    previous_label: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    # One cached Core INSERT rather than a unit-of-work object: history rows are never read back here.
    session.execute(
        EVENTS_INSERT,
        {
            "item_id": item.id,
            "project_id": item.project_id,
            "actor": actor,
            "action": action,
            "label": label,
            "previous_label": previous_label,
            "round": item.round,
            "detail": detail,
            "created_at": at or utcnow(),
        },
    )


def mark_dirty(item: Item) -> None:
    """Ask the refresher to update the item's message (coalesced, rate-limited)."""
    if item.message_ts:
        item.message_dirty = True
        item.revision = (item.revision or 0) + 1


def touch_message(session: Session, item: Row[Any]) -> None:
    """:func:`mark_dirty` for an item read as a row: one UPDATE, no unit of work."""
    if item.message_ts:
        session.execute(_TOUCH, {"b_id": item.id})


def card_for(
    session: Session,
    item: ItemLike,
    project: ProjectConfig,
    *,
    sent_back: bool = False,
    n_labels: int | None = None,
) -> ItemCard:
    """What the item's message shows; ``n_labels`` when the caller already counted them."""
    if n_labels is None:
        n_labels = (
            session.scalar(select(func.count()).select_from(Label).where(Label.item_id == item.id)) or 0
        )
    suggestion = (
        (item.model_label, item.model_confidence)
        if item.model_label is not None and item.model_confidence is not None
        else None
    )
    return ItemCard(
        item_id=item.id,
        external_id=item.external_id,
        round=item.round,
        text=item.text,
        status=item.status,
        n_labels=n_labels,
        needed=_needed(project, n_labels),
        meta=dict(item.meta or {}),
        final_label=item.final_label,
        resolution=item.resolution,
        agreement=item.agreement,
        suggestion=suggestion,
        sent_back=sent_back,
    )


def _needed(project: ProjectConfig, n_labels: int) -> int:
    """Labels to show as needed: fixed overlap, or (dynamic) the next one up to ``max``."""
    overlap = project.annotators_per_item
    return overlap.min if overlap.fixed else min(overlap.max, max(overlap.min, n_labels + 1))


def upsert_items(session: Session, project: Project, rows: Sequence[ItemRow]) -> ImportReport:
    """Insert new items and update changed ones; ids seen before create no duplicates.

    Columns are read and written in bulk (100,000 rows in seconds): no ORM objects
    per row. A changed item keeps its labels, gets an ``updated`` event, and its
    message is refreshed if it was posted.
    """
    existing: dict[str, tuple[int, str, str | None, int]] = {
        ext: (item_id, digest, ts, round_)
        for item_id, ext, digest, ts, round_ in session.execute(
            select(Item.id, Item.external_id, Item.content_hash, Item.message_ts, Item.round).where(
                Item.project_id == project.id
            )
        )
    }
    next_seq = (
        session.scalar(
            select(Item.import_seq)
            .where(Item.project_id == project.id)
            .order_by(Item.import_seq.desc())
            .limit(1)
        )
        or 0
    ) + 1
    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    changed: list[tuple[int, ItemRow, str, str | None, int]] = []
    unchanged = 0
    for row in rows:
        digest = content_hash(row.text, row.meta, row.gold_label)
        known = existing.get(row.external_id)
        if known is None:
            new_rows.append(
                {
                    "project_id": project.id,
                    "external_id": row.external_id,
                    "text": row.text,
                    "meta": row.meta,
                    "gold_label": row.gold_label,
                    "content_hash": digest,
                    "import_seq": next_seq,
                    "status": ItemStatus.QUEUED,
                    "round": 1,
                    "message_dirty": False,
                    "revision": 0,
                    "priority": 0.0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            next_seq += 1
        elif known[1] == digest:
            unchanged += 1
        else:
            changed.append((known[0], row, digest, known[2], known[3]))
    if new_rows:
        first_seq = new_rows[0]["import_seq"]
        _insert_core(session, Item.__table__, new_rows)
        ids = session.scalars(
            select(Item.id).where(Item.project_id == project.id, Item.import_seq >= first_seq)
        ).all()
        _insert_events(session, project.id, ((i, "queued", None, 1) for i in ids), now)
    for item_id, row, digest, ts, _round in changed:
        values: dict[str, Any] = {
            "text": row.text,
            "meta": row.meta,
            "gold_label": row.gold_label,
            "content_hash": digest,
            "updated_at": now,
        }
        if ts:
            values["message_dirty"] = True
            values["revision"] = Item.revision + 1
        session.execute(update(Item).where(Item.id == item_id).values(**values))
    if changed:
        _insert_events(
            session,
            project.id,
            ((item_id, "updated", {"source": "import"}, round_) for item_id, *_, round_ in changed),
            now,
        )
    return ImportReport(new=len(new_rows), unchanged=unchanged, changed=len(changed))


def _insert_core(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) through the driver's ``executemany``, 10,000 at a time.

    Each column's values go through that column type's own bind processor (JSON, UTC datetimes,
    booleans), once per distinct value object, as SQLAlchemy would convert them; SQLAlchemy's own
    per-row parameter handling took 3.7 of the 10 s that importing 100,000 items took.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    columns: list[list[Any]] = []
    for name in names:
        values = [row[name] for row in rows]
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            seen: dict[int, Any] = {}  # the same object (one timestamp for a whole import) once
            values = [seen[id(v)] if id(v) in seen else seen.setdefault(id(v), process(v)) for v in values]
        columns.append(values)
    mark = driver_mark(dialect)
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, names))}) "
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    tuples = list(zip(*columns, strict=True))
    for start in range(0, len(tuples), 10_000):
        connection.exec_driver_sql(sql, tuples[start : start + 10_000])


def _insert_events(
    session: Session,
    project_id: int,
    events: Iterable[tuple[int, str, dict[str, Any] | None, int]],
    at: datetime,
) -> None:
    rows = [
        {
            "item_id": item_id,
            "project_id": project_id,
            "actor": BOT_ACTOR,
            "action": action,
            "round": round_,
            "detail": detail,
            "created_at": at,
        }
        for item_id, action, detail, round_ in events
    ]
    _insert_core(session, ItemEvent.__table__, rows)
