"""Items and projects in the database: lookups, history events, and the state of item messages.

Functions take a ``Session``; the caller owns the transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from bot.cards import ItemCard, ItemLike, card_for
from bot.config import Config, ProjectConfig
from storage.models import Item, ItemEvent, ItemStatus, Project, utcnow

__all__ = [
    "BOT_ACTOR",
    "NotFound",
    "ProjectOfItem",
    "StaleMessage",
    "get_item",
    "get_item_by_external",
    "get_item_row",
    "get_project",
    "item_events",
    "mark_dirty",
    "message_refreshed",
    "project_id",
    "record_event",
    "stale_messages",
    "sync_projects",
    "touch_message",
]

BOT_ACTOR = "labelbot"
ITEMS = cast(Table, Item.__table__)
EVENTS = cast(Table, ItemEvent.__table__)
EVENTS_INSERT = EVENTS.insert().inline()  # no RETURNING id: never read back
# Built once: constructing a statement costs more than SQLite takes to run it (the click path).
_ITEM_ROW = select(ITEMS).where(ITEMS.c.id == bindparam("id"))
_ITEM_ROW_LOCKED = _ITEM_ROW.with_for_update()
#: What marking an item's message for a refresh sets (here, and in ``bot.labeling``'s statements).
TOUCH_VALUES = {"message_dirty": True, "revision": func.coalesce(ITEMS.c.revision, 0) + 1}
_TOUCH = update(ITEMS).where(ITEMS.c.id == bindparam("b_id")).values(TOUCH_VALUES)


class NotFound(LookupError):
    """A project or item that the caller named does not exist."""


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


def project_id(session: Session, key: str) -> int | None:
    """The project's id, or None when it has no row yet (nothing imported, never served)."""
    return session.scalar(select(Project.id).where(Project.key == key))


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
    """Append one event to the item's history (append-only: the database refuses changes)."""
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


def item_events(session: Session, item_id: int) -> list[ItemEvent]:
    """The item's history, oldest first."""
    return list(session.scalars(select(ItemEvent).where(ItemEvent.item_id == item_id).order_by(ItemEvent.id)))


# -- the item's message ----------------------------------------------------------------------------
def mark_dirty(item: Item) -> None:
    """Ask for the item's message to be updated (coalesced and rate-limited by the refresher)."""
    if item.message_ts:
        item.message_dirty = True
        item.revision = (item.revision or 0) + 1


def touch_message(session: Session, item: Row[Any]) -> None:
    """:func:`mark_dirty` for an item read as a row: one UPDATE, no unit of work."""
    if item.message_ts:
        session.execute(_TOUCH, {"b_id": item.id})


@dataclass(frozen=True)
class StaleMessage:
    """A posted message that shows outdated progress or status, with what it should show now."""

    item_id: int
    revision: int
    channel: str
    ts: str
    card: ItemCard


def stale_messages(
    session: Session, project: ProjectConfig, project_id: int, limit: int = 20
) -> list[StaleMessage]:
    """Messages marked dirty, oldest change first. Read in a read transaction: a label that lands
    meanwhile moves ``revision``, so :func:`message_refreshed` leaves its flag set."""
    rows = session.scalars(
        select(Item)
        .where(Item.project_id == project_id, Item.message_dirty.is_(True), Item.message_ts.is_not(None))
        .order_by(Item.updated_at)
        .limit(limit)
    ).all()
    return [
        StaleMessage(
            i.id, i.revision, i.channel or project.channel, str(i.message_ts), card_for(session, i, project)
        )
        for i in rows
    ]


def message_refreshed(session: Session, item_id: int, revision: int) -> None:
    """The message now shows ``revision``; still dirty if the item changed since."""
    session.execute(
        update(Item)
        .where(Item.id == item_id, Item.revision == revision)
        .values(message_dirty=False)
        .execution_options(synchronize_session=False)
    )


# -- which project an item belongs to --------------------------------------------------------------
class ProjectOfItem:
    """The configured project of an item, cached: items never move, and a click that had to look
    its project up would pay a read for it (the click path)."""

    MAX_CACHED = 100_000

    def __init__(self, config: Config) -> None:
        self._config = config
        self._keys: dict[int, str] = {}
        self._lock = threading.Lock()

    def lookup(
        self, item_id: int, read: Callable[[], AbstractContextManager[Session]]
    ) -> ProjectConfig | None:
        """The item's project; on a cache miss, opens ``read()`` (a read transaction) to find it."""
        with self._lock:
            key = self._keys.get(item_id)
        if key is None:
            with read() as session:
                return self.of(session, item_id)
        return self._configured(key)

    def of(self, session: Session, item_id: int) -> ProjectConfig | None:
        """The item's project, read in ``session`` on a cache miss; None for an unknown item or a
        project no longer configured."""
        with self._lock:
            key = self._keys.get(item_id)
        if key is None:
            key = session.scalar(
                select(Project.key).join(Item, Item.project_id == Project.id).where(Item.id == item_id)
            )
            if key is None:
                return None
            with self._lock:
                if len(self._keys) > self.MAX_CACHED:
                    self._keys.clear()
                self._keys[item_id] = key
        return self._configured(key)

    def prime(self, session: Session) -> int:
        """Cache the project of every item that can be clicked now (open or escalated), so that the
        first click on each after a start costs no extra read; returns how many."""
        rows = session.execute(
            select(Item.id, Project.key)
            .join(Project, Project.id == Item.project_id)
            .where(Item.status.in_([ItemStatus.OPEN, ItemStatus.ESCALATED]))
            .limit(self.MAX_CACHED)
        ).all()
        with self._lock:
            self._keys.update({item_id: key for item_id, key in rows})
        return len(rows)

    def _configured(self, key: str) -> ProjectConfig | None:
        try:
            return self._config.project(key)
        except ValueError:
            return None
