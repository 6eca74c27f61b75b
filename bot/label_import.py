"""Importing labels from an earlier round or another tool (``labelbot import --labels``).

Same rules as item import: every row is validated first and the file lands
whole or not at all. Imported labels count like labels given in Slack: the
consensus and escalation rules apply to open and queued items, and a row applies
only if it is newer (``created_at``; now when absent) than the user's latest answer
on the item (``bot.ordering``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import ProjectConfig
from bot.importer import (
    PROGRESS_EVERY,
    InputFileError,
    Progress,
    Rejected,
    _has_surrogates,
    _is_missing,
    control_character_problem,
    detect_format,
    read_table,
)
from bot.items import mark_dirty, record_event
from bot.labeling import close_if_complete
from bot.ordering import Order, take_turn
from storage.models import Item, ItemStatus, Label, Project, utcnow

__all__ = ["LabelImportReport", "LabelRow", "import_labels", "read_label_rows"]

REQUIRED = ("item_id", "user_id", "label")


@dataclass(frozen=True)
class LabelRow:
    item_id: str
    user_id: str
    label: str
    created_at: datetime | None
    row: int


@dataclass(frozen=True)
class LabelImportReport:
    new: int
    changed: int
    unchanged: int
    resolved: int
    escalated: int
    older: int = 0  # rows older (by ``created_at``) than the user's latest answer on the item: not applied


def _parse_time(value: object) -> datetime:
    stamp = pd.Timestamp(value)  # raises ValueError on nonsense
    if pd.isna(stamp):
        raise ValueError("empty")
    stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)
    return stamp.to_pydatetime()


def read_label_rows(
    path: Path,
    project: ProjectConfig,
    known_items: set[str],
    fmt: str | None = None,
    on_progress: Progress | None = None,
) -> tuple[list[LabelRow], list[Rejected]]:
    kind = detect_format(Path(path), fmt)
    records, rejected, columns = read_table(Path(path), kind)
    missing = [c for c in REQUIRED if c not in columns]
    if missing and records:
        raise InputFileError(
            f"{Path(path).name}: missing column(s) {', '.join(map(repr, missing))}; "
            f"a labels file needs item_id, user_id, label and optionally created_at"
        )
    rows: list[LabelRow] = []
    seen: dict[tuple[str, str], int] = {}
    for index, record in enumerate(records, start=1):
        if on_progress is not None and index % PROGRESS_EVERY == 0:
            on_progress(index, len(records))
        number = int(record.pop("__row__", index))
        row = _label_row(record, number, project, known_items)
        if isinstance(row, LabelRow) and (row.item_id, row.user_id) in seen:
            first = seen[(row.item_id, row.user_id)]
            row = f"user {row.user_id} labels item {row.item_id!r} twice (first at row {first})"
        if isinstance(row, str):
            rejected.append(Rejected(number, row, {k: str(v) for k, v in record.items()}))
            continue
        seen[(row.item_id, row.user_id)] = number
        rows.append(row)
    if on_progress is not None:
        on_progress(len(records), len(records))
    rejected.sort(key=lambda r: r.row)
    return rows, rejected


def _label_row(
    record: dict[str, object], number: int, project: ProjectConfig, known_items: set[str]
) -> LabelRow | str:
    """One record as a label, or what is wrong with it."""
    values = {c: record.get(c) for c in REQUIRED}
    missing = next((c for c in REQUIRED if _is_missing(values[c])), None)
    if missing is not None:
        return f"missing {missing!r}"
    for column in (*REQUIRED, "created_at"):
        problem = control_character_problem(column, record.get(column))
        if problem:
            return problem
    item_id, user, label = (str(values[c]).strip() for c in REQUIRED)
    parsed = dict(zip(REQUIRED, (item_id, user, label), strict=True))
    undecodable = next((c for c, v in parsed.items() if _has_surrogates(v)), None)
    if undecodable is not None:
        return f"column {undecodable!r} is not valid UTF-8"
    if item_id not in known_items:
        return f"item {item_id!r} is not in project {project.key!r}; import the items first"
    if len(user) > 32 or any(c.isspace() for c in user):
        # Other tools' annotators need not be Slack users, but the id must fit and be one word.
        return f"user_id {user!r} must be at most 32 characters without spaces"
    if project.label(label) is None:
        return f"label {label!r} is not one of the project's labels"
    created = None
    if not _is_missing(record.get("created_at")):
        try:
            created = _parse_time(record["created_at"])
        except (ValueError, TypeError):
            return f"created_at {record['created_at']!r} is not a date and time"
    return LabelRow(item_id, user, label, created, number)


def known_item_ids(session: Session, project: Project) -> dict[str, int]:
    return dict(session.execute(select(Item.external_id, Item.id).where(Item.project_id == project.id)).all())


def import_labels(
    session: Session,
    config: ProjectConfig,
    project: Project,
    rows: Sequence[LabelRow],
    on_progress: Progress | None = None,
) -> LabelImportReport:
    """Apply the rows; ``on_progress(done, total)`` counts the rows."""
    ids = known_item_ids(session, project)
    now = utcnow()
    new = changed = unchanged = older = 0
    touched: dict[int, Item] = {}
    for done, row in enumerate(rows, start=1):
        if on_progress is not None and done % 1000 == 0:
            on_progress(done, len(rows))
        item_id = ids[row.item_id]
        item = touched.get(item_id) or session.get(Item, item_id)
        if item is None:
            continue
        touched[item_id] = item
        at = row.created_at or now
        if take_turn(session, item_id, row.user_id, at) == Order.OLDER:
            older += 1  # the user answered this item later (in Slack): that answer stands
            continue
        existing = session.scalar(select(Label).where(Label.item_id == item_id, Label.user_id == row.user_id))
        if existing is not None and existing.value == row.label:
            unchanged += 1
            continue
        detail = {"gold_correct": row.label == item.gold_label} if item.gold_label else None
        record_event(
            session,
            item,
            row.user_id,
            "import",
            label=row.label,
            previous_label=existing.value if existing else None,
            detail=detail,
            at=at,
        )
        if existing is None:
            session.add(
                Label(
                    item_id=item_id,
                    user_id=row.user_id,
                    value=row.label,
                    source="import",
                    created_at=at,
                    updated_at=at,
                )
            )
            new += 1
        else:
            existing.value, existing.updated_at, existing.source = row.label, at, "import"
            changed += 1
    session.flush()
    resolved = escalated = 0
    if on_progress is not None:
        on_progress(len(rows), len(rows))
    for item in touched.values():
        if item.status in (ItemStatus.QUEUED, ItemStatus.OPEN):
            close_if_complete(session, item, config, now=now)
            resolved += item.status == ItemStatus.RESOLVED
            escalated += item.status == ItemStatus.ESCALATED
            mark_dirty(item)
    return LabelImportReport(new, changed, unchanged, resolved, escalated, older)
