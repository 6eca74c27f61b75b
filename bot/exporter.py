"""Exports: items with their outcome, the label history, thread discussions.

Reads columns, not ORM objects, so that 100,000 items export in seconds. CSV is
opened by spreadsheets, which run a cell starting with ``=`` as a formula, and
anyone who can write an item, a metadata value or a thread reply writes cells:
CSV exports prefix such cells with ``'`` unless asked for raw values.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.importer import PROGRESS_EVERY, Format, InputFileError, Progress, detect_format
from storage.models import Item, ItemEvent, Label, Project, ThreadMessage

__all__ = [
    "FORMULA_STARTS",
    "ITEM_COLUMNS",
    "LABEL_ACTIONS",
    "check_output_path",
    "discussions_frame",
    "export_format",
    "items_frame",
    "label_events_frame",
    "neutralise_formulas",
    "redacted_value",
    "write_csv",
    "write_frame",
]

ITEM_COLUMNS = [
    "item_id",
    "text",
    "status",
    "final_label",
    "resolution",
    "agreement",
    "n_labels",
    "votes",
    "gold_label",
    "model_label",
    "model_confidence",
    "model_version",
    "round",
    "posted_at",
    "resolved_at",
]
LABEL_ACTIONS = ("label", "change", "undo", "skip", "import")
#: What a spreadsheet takes for the start of a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


Redact = Callable[[str], str]


def redacted_value(value: Any, redact: Redact | None) -> Any:
    """``value`` through ``redact`` (``export --redacted``): text redacted; a number that held a
    secret (a card as an integer) becomes its redacted text, any other value stays as it was."""
    if redact is None or value is None:
        return value
    if isinstance(value, str):
        return redact(value)
    shown = redact(str(value))
    return value if shown == str(value) else shown


def items_frame(
    session: Session, project: Project, on_progress: Progress | None = None, redact: Redact | None = None
) -> pd.DataFrame:
    """One row per item; metadata columns under their own names (``meta_`` only on a collision).
    ``on_progress(items, total)`` is called as the rows are built; ``redact``, when given, is applied
    to the text and the metadata values."""
    votes: dict[int, dict[str, str]] = defaultdict(dict)
    for item_id, user, value in session.execute(
        select(Label.item_id, Label.user_id, Label.value)
        .join(Item, Item.id == Label.item_id)
        .where(Item.project_id == project.id)
    ):
        votes[item_id][user] = value
    rows = session.execute(
        select(
            Item.id,
            Item.external_id,
            Item.text,
            Item.status,
            Item.final_label,
            Item.resolution,
            Item.agreement,
            Item.gold_label,
            Item.model_label,
            Item.model_confidence,
            Item.model_version,
            Item.round,
            Item.posted_at,
            Item.resolved_at,
            Item.meta,
        )
        .where(Item.project_id == project.id)
        .order_by(Item.import_seq)
    ).all()
    records: list[dict[str, Any]] = []
    meta_names: dict[str, None] = {}
    for done, r in enumerate(rows, start=1):
        if on_progress is not None and done % PROGRESS_EVERY == 0:
            on_progress(done, len(rows))
        item_votes = votes.get(r.id, {})
        record = {
            "item_id": r.external_id,
            "text": redacted_value(r.text, redact),
            "status": r.status,
            "final_label": r.final_label,
            "resolution": r.resolution,
            "agreement": r.agreement,
            "n_labels": len(item_votes),
            "votes": item_votes,
            "gold_label": r.gold_label,
            "model_label": r.model_label,
            "model_confidence": r.model_confidence,
            "model_version": r.model_version,
            "round": r.round,
            "posted_at": r.posted_at,
            "resolved_at": r.resolved_at,
        }
        for key, value in (r.meta or {}).items():
            name = f"meta_{key}" if key in ITEM_COLUMNS else key
            meta_names[name] = None
            record[name] = redacted_value(value, redact)
        records.append(record)
    if on_progress is not None:
        on_progress(len(rows), len(rows))
    frame = pd.DataFrame.from_records(records, columns=ITEM_COLUMNS + list(meta_names))
    frame["n_labels"] = frame["n_labels"].astype("int64")
    frame["round"] = frame["round"].astype("int64")
    return frame


def label_events_frame(session: Session, project: Project) -> pd.DataFrame:
    """The whole label history: one row per label, change, undo, skip or import."""
    rows = session.execute(
        select(
            Item.external_id,
            ItemEvent.actor,
            ItemEvent.label,
            ItemEvent.previous_label,
            ItemEvent.created_at,
            ItemEvent.action,
            ItemEvent.round,
        )
        .join(Item, Item.id == ItemEvent.item_id)
        .where(ItemEvent.project_id == project.id, ItemEvent.action.in_(LABEL_ACTIONS))
        .order_by(ItemEvent.id)
    ).all()
    return pd.DataFrame.from_records(
        [tuple(r) for r in rows],
        columns=["item_id", "user_id", "label", "previous_label", "created_at", "action", "round"],
    )


def discussions_frame(session: Session, project: Project, redact: Redact | None = None) -> pd.DataFrame:
    """Thread messages, one row each; ``redact`` applies to their text (people quote items there)."""
    rows = session.execute(
        select(
            Item.external_id,
            ThreadMessage.user_id,
            ThreadMessage.ts,
            ThreadMessage.text,
            ThreadMessage.deleted,
            ThreadMessage.edited_at,
            ThreadMessage.created_at,
        )
        .join(Item, Item.id == ThreadMessage.item_id)
        .where(Item.project_id == project.id)
        .order_by(ThreadMessage.id)
    ).all()
    return pd.DataFrame.from_records(
        [(r[0], r[1], r[2], redacted_value(r[3], redact), *r[4:]) for r in rows],
        columns=["item_id", "user_id", "ts", "text", "deleted", "edited_at", "created_at"],
    )


def _defuse(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy in which every string cell and column name a spreadsheet would run is text.

    Only strings change (``'`` in front, the OWASP rule): numbers stay numbers, a
    negative one included, so that a column of numbers still sums.
    """
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(_defuse)
    safe.columns = [_defuse(str(c)) for c in safe.columns]
    return safe


def write_csv(frame: pd.DataFrame, path: Path, *, raw: bool = False) -> None:
    """CSV as RFC 4180 has it (CRLF line ends), with formulas neutralised unless ``raw``.

    With CRLF as the line end every cell holding a CR or LF is quoted; with pandas'
    default LF a lone CR went out unquoted and started a new row in a spreadsheet,
    a row whose first cell no prefix had looked at.
    """
    if not raw:
        frame = neutralise_formulas(frame)
    frame.to_csv(path, index=False, lineterminator="\r\n")


def _nested_as_json(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value


def _as_json_text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _flat(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Times as ISO text; ``votes`` and nested metadata as JSON text in CSV (and any non-text in Parquet)."""
    frame = frame.copy()
    for column in frame.columns:
        if (
            pd.api.types.is_datetime64_any_dtype(frame[column])
            or frame[column].map(lambda v: hasattr(v, "isoformat")).any()
        ):
            frame[column] = frame[column].map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    if kind == "jsonl":
        return frame
    if "votes" in frame.columns:
        frame["votes"] = frame["votes"].map(lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(_nested_as_json if kind == "csv" else _as_json_text)
    return frame


def check_output_path(path: Path) -> None:
    """Refuse, before any work, a path that cannot be written: its folder missing, a folder, or
    a folder this user may not write in."""
    folder = path.parent
    if path.is_dir():
        raise InputFileError(f"{path} is a folder; give a file name, like {path / 'labels.csv'}")
    if not folder.exists():
        raise InputFileError(f"cannot write {path}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise InputFileError(f"cannot write {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputFileError(f"cannot write {path}: permission denied")


def export_format(path: Path, fmt: str | None = None, *, raw_csv: bool = False) -> Format:
    """The format to write, checked before any work: ``raw_csv`` means something for CSV only."""
    check_output_path(path)
    kind = detect_format(path, fmt)
    if raw_csv and kind != "csv":
        name = "JSONL" if kind == "jsonl" else "Parquet"
        raise InputFileError(f"--raw-csv is only for CSV; {name} is written raw anyway")
    return kind


def write_frame(frame: pd.DataFrame, path: Path, fmt: str | None = None, *, raw_csv: bool = False) -> None:
    """CSV, JSONL or Parquet by extension (or ``fmt``); ``votes`` is JSON text except in JSONL.

    CSV cells that would run as formulas get a ``'`` in front unless ``raw_csv``
    (refused for the other formats, whose values are never run). Written to a
    temporary file and renamed, so a failed export never leaves half a file.
    """
    kind = export_format(path, fmt, raw_csv=raw_csv)
    frame = _flat(frame, kind)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        _write(frame, path, tmp, kind, raw_csv)
    except PermissionError:
        raise InputFileError(f"cannot write {path}: permission denied") from None
    except OSError as exc:  # a full disk, a folder removed meanwhile
        raise InputFileError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write(frame: pd.DataFrame, path: Path, tmp: Path, kind: Format, raw_csv: bool) -> None:
    try:
        if kind == "csv":
            write_csv(frame, tmp, raw=raw_csv)
        elif kind == "jsonl":
            if frame.empty:
                tmp.write_text("")  # pandas writes a lone newline, which is not a JSON line
            else:
                frame.to_json(tmp, orient="records", lines=True, force_ascii=False, date_format="iso")
        else:
            frame.to_parquet(tmp, index=False)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
