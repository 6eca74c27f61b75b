"""Importing items: reading files (CSV, JSONL, Parquet) into validated rows, and storing them.

The whole file is validated before anything is written, so a file lands whole
or not at all; with ``skip_invalid`` the good rows land and the rejected ones are
written, with their error, to a file beside it. Importing the same ids again
creates no duplicates: unchanged rows are left alone, changed ones updated.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.items import BOT_ACTOR
from storage.bulk import insert_rows
from storage.models import Item, ItemEvent, ItemStatus, Project, utcnow

__all__ = [
    "FORMATS",
    "PROGRESS_EVERY",
    "ImportReport",
    "InputFileError",
    "ItemRow",
    "Progress",
    "Rejected",
    "check_input_file",
    "control_character_problem",
    "decode_text",
    "detect_format",
    "format_rejections",
    "read_item_rows",
    "read_table",
    "upsert_items",
    "write_rejected",
]

Format = Literal["csv", "jsonl", "parquet"]
FORMATS: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
MAX_ID_LENGTH = 255
#: ``on_progress(done, total)``: how far a long loop is (the CLI draws a bar from it; None: silent).
Progress = Callable[[int, int], None]
PROGRESS_EVERY = 10_000  # rows between two calls of ``on_progress``


class InputFileError(ValueError):
    """The file cannot be imported; the message says what is wrong and where."""


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


@dataclass(frozen=True)
class Rejected:
    row: int  # 1-based data row (CSV/Parquet: header not counted; JSONL: the line number)
    error: str
    record: dict[str, Any]


def detect_format(path: Path, explicit: str | None = None) -> Format:
    """The file's format: its extension decides; ``--format`` (``explicit``) is for a file whose
    extension says nothing, and one that contradicts the extension is refused."""
    by_extension = FORMATS.get(path.suffix.lower())
    if explicit:
        if explicit not in ("csv", "jsonl", "parquet"):
            raise InputFileError(f"unknown format {explicit!r}; use csv, jsonl or parquet")
        if by_extension is not None and by_extension != explicit:
            raise InputFileError(
                f"--format {explicit} contradicts the extension of {path.name} ({by_extension}); "
                "rename the file or leave --format out"
            )
        return explicit  # type: ignore[return-value]
    fmt = by_extension
    if fmt is None:
        raise InputFileError(
            f"cannot tell the format of {path.name} from its extension; use .csv, .jsonl or .parquet, "
            "or pass --format"
        )
    return fmt


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, bytes):  # a binary Parquet column: bad bytes are reported by row
        return value.decode("utf-8", errors=BAD_BYTES)
    return value


BAD_BYTES = "labelbot-mark-bad-bytes"
BAD_MARK = "\uffff"  # a Unicode noncharacter: never in real text


def _mark_bad_bytes(exc: UnicodeError) -> tuple[str, int]:
    return BAD_MARK, cast(UnicodeDecodeError, exc).end


codecs.register_error(BAD_BYTES, _mark_bad_bytes)


def _has_surrogates(text: str) -> bool:
    """True for text that came from bytes that were not UTF-8."""
    if BAD_MARK in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


#: C0 control characters other than tab, LF and CR: PostgreSQL's text and jsonb refuse NUL, and
#: none of them belongs in text a person labels (SQLite stored them and sent them to Slack).
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _control_character(value: Any) -> str | None:
    """The first control character in ``value``, looking inside lists and dicts (keys too)."""
    if isinstance(value, str):
        found = CONTROL_CHARACTER.search(value)
        return found.group() if found else None
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, dict):
        value = [part for pair in value.items() for part in pair]
    if isinstance(value, list | tuple):
        return next((c for c in map(_control_character, value) if c is not None), None)
    return None


def control_character_problem(column: str, value: Any) -> str | None:
    """``column 'text' contains a control character (U+0000)``, or None when there is none.

    The column's name is checked first: metadata names are stored as well as values.
    """
    for what, checked in (("column name", column), ("column", value)):
        found = _control_character(checked)
        if found is not None:
            return f"{what} {column!r} contains a control character (U+{ord(found):04X})"
    return None


def check_input_file(path: Path) -> None:
    """Refuse, in one line, a path that is not a file: missing, or a folder."""
    if not path.exists():
        folder = path.parent
        where = "" if folder.is_dir() else f" (the folder {folder} does not exist either)"
        raise InputFileError(f"{path}: no such file{where}")
    if path.is_dir():
        raise InputFileError(f"{path} is a folder, not a file")


def read_table(path: Path, fmt: Format) -> tuple[list[dict[str, Any]], list[Rejected], list[str]]:
    """Records (one dict per data row) plus rows that could not even be parsed, and the columns."""
    check_input_file(path)
    try:
        return _READERS[fmt](path)
    except PermissionError:
        raise InputFileError(f"{path}: permission denied (cannot read it)") from None
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from None


#: Byte-order marks, longest first (UTF-32 LE starts with UTF-16 LE's).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


def decode_text(path: Path, data: bytes) -> str:
    """A text file's content: UTF-8, or UTF-16/UTF-32 with a byte-order mark (as Excel and
    Windows tools save "Unicode text"), the mark dropped. Bytes that do not decode become a
    marker, so the bad row (not the whole file) is reported. UTF-16 without a mark cannot be
    told from binary reliably; a file that starts like it (a NUL after every ASCII letter) is
    refused with a message instead of a garbled header."""
    for bom, encoding, _name in BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors=BAD_BYTES)
    head = data[:64]
    zeros = sorted((head[0::2].count(0), head[1::2].count(0)))
    if len(head) >= 4 and zeros[0] == 0 and zeros[1] >= len(head) // 4:
        raise InputFileError(
            f"{path.name} looks like UTF-16 without a byte-order mark; save it as UTF-8 "
            "(or as UTF-16 with a byte-order mark)"
        )
    return data.decode("utf-8", errors=BAD_BYTES)


def _read_csv(path: Path) -> tuple[list[dict[str, Any]], list[Rejected], list[str]]:
    content = decode_text(path, path.read_bytes())
    if not content.strip():
        raise InputFileError(f"{path.name}: not a readable CSV file: it is empty")
    try:
        frame = pd.read_csv(io.StringIO(content), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputFileError(f"{path.name}: not a readable CSV file: {reason}") from None
    return frame.to_dict("records"), [], [str(c) for c in frame.columns]


def _lines(path: Path) -> Iterable[bytes]:
    """The file's lines as UTF-8 bytes: UTF-8 lines as they are (a bad byte is reported by
    :func:`_json_line` for its line), a UTF-16/UTF-32 file (with a byte-order mark) decoded first."""
    with path.open("rb") as handle:
        start = handle.read(4)
        handle.seek(0)
        if not any(start.startswith(bom) for bom, _, name in BOMS if name != "UTF-8"):
            if start.startswith(codecs.BOM_UTF8):
                handle.seek(len(codecs.BOM_UTF8))
            else:
                decode_text(path, handle.read(64))  # refuses UTF-16 without a mark
                handle.seek(0)
            yield from handle
            return
    # Split on LF only: str.splitlines would also split inside a JSON string at U+2028 and kin.
    for line in io.StringIO(decode_text(path, path.read_bytes()), newline="\n"):
        yield line.encode("utf-8", errors="surrogatepass")


def _read_jsonl(path: Path) -> tuple[list[dict[str, Any]], list[Rejected], list[str]]:
    records: list[dict[str, Any]] = []
    broken: list[Rejected] = []
    columns: dict[str, None] = {}
    for number, raw in enumerate(_lines(path), start=1):
        if not raw.strip():
            continue
        record = _json_line(number, raw, broken)
        if record is not None:
            record["__row__"] = number
            records.append(record)
            columns.update(dict.fromkeys(k for k in record if k != "__row__"))
    if not records and not broken:
        raise InputFileError(f"{path.name}: not a readable JSONL file: it has no JSON lines")
    return records, broken, list(columns)


def _json_line(number: int, raw: bytes, broken: list[Rejected]) -> dict[str, Any] | None:
    """One JSONL line as an object, or None with the reason added to ``broken``."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        broken.append(Rejected(number, f"line is not valid UTF-8 ({exc.reason})", {}))
        return None
    if BAD_MARK in line:  # a byte that was not UTF-16/UTF-32 in a file with a byte-order mark
        broken.append(Rejected(number, "line is not valid text in the file's encoding", {}))
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        broken.append(Rejected(number, f"not valid JSON: {exc.msg}", {"raw": line[:200]}))
        return None
    if not isinstance(record, dict):
        broken.append(Rejected(number, "a line must hold a JSON object", {"raw": line[:200]}))
        return None
    return record


def _read_parquet(path: Path) -> tuple[list[dict[str, Any]], list[Rejected], list[str]]:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise InputFileError(f"{path.name}: not a readable Parquet file: {exc}") from None
    return frame.to_dict("records"), [], [str(c) for c in frame.columns]


_READERS = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}


def read_item_rows(
    path: Path,
    *,
    id_field: str = "id",
    text_field: str = "text",
    gold_field: str | None = None,
    labels: Sequence[str] = (),
    fmt: str | None = None,
    on_progress: Progress | None = None,
) -> tuple[list[ItemRow], list[Rejected]]:
    """Parse and validate every row; returns good rows and rejected ones (with row numbers).
    ``on_progress(rows checked, rows)`` is called as the rows are checked."""
    path = Path(path)
    kind = detect_format(path, fmt)
    records, rejected, columns = read_table(path, kind)
    missing = [f for f in (id_field, text_field, gold_field) if f and f not in columns]
    if missing and (records or not rejected):
        raise InputFileError(
            f"{path.name}: missing column(s) {', '.join(map(repr, missing))}; "
            f"the file has: {', '.join(columns) or 'no columns'} "
            "(choose others with --id-field/--text-field/--gold-field)"
        )
    fixed = {id_field, text_field} | ({gold_field} if gold_field else set())
    label_set = set(labels)
    rows: list[ItemRow] = []
    first_row: dict[str, int] = {}
    total = len(records)
    for index, record in enumerate(records, start=1):
        if on_progress is not None and index % PROGRESS_EVERY == 0:
            on_progress(index, total)
        number = int(record.pop("__row__", index))
        row = _item_row(record, id_field, text_field, gold_field, fixed, label_set)
        if isinstance(row, ItemRow) and row.external_id in first_row:
            first = first_row[row.external_id]
            row = f"id {row.external_id!r} appears twice in the file (first at row {first})"
        if isinstance(row, str):
            rejected.append(Rejected(number, row, _printable(record)))
            continue
        first_row[row.external_id] = number
        rows.append(row)
    if on_progress is not None:
        on_progress(total, total)
    rejected.sort(key=lambda r: r.row)
    return rows, rejected


def _item_row(
    record: dict[str, Any],
    id_field: str,
    text_field: str,
    gold_field: str | None,
    fixed: set[str],
    label_set: set[str],
) -> ItemRow | str:
    """One record as an item, or what is wrong with it."""
    raw_id, raw_text = record.get(id_field), record.get(text_field)
    if _is_missing(raw_id):
        return f"missing {id_field!r}"
    if _is_missing(raw_text):
        return f"missing {text_field!r}"
    raw_id = str(_jsonable(raw_id))
    text = raw_text if isinstance(raw_text, str) else str(_jsonable(raw_text))
    raw_gold = None
    if gold_field and not _is_missing(record.get(gold_field)):
        raw_gold = str(_jsonable(record[gold_field]))
    checked = {id_field: raw_id, text_field: text, **({gold_field: raw_gold} if gold_field else {})}
    problem = next(filter(None, (control_character_problem(c, v) for c, v in checked.items())), None)
    if problem:
        return problem
    external_id = raw_id.strip()
    if len(external_id) > MAX_ID_LENGTH:
        return f"{id_field!r} is longer than {MAX_ID_LENGTH} characters"
    undecodable = next((c for c, v in checked.items() if v is not None and _has_surrogates(v)), None)
    if undecodable is not None:
        return f"column {undecodable!r} is not valid UTF-8"
    gold = raw_gold.strip() if raw_gold is not None else None
    if gold is not None and label_set and gold not in label_set:
        return f"gold label {gold!r} is not one of the project's labels"
    meta = _meta(record, fixed)
    if isinstance(meta, str):
        return meta
    return ItemRow(external_id=external_id, text=text, meta=meta, gold_label=gold)


def _meta(record: dict[str, Any], fixed: set[str]) -> dict[str, Any] | str:
    """The other columns as metadata, or what is wrong with one of them."""
    meta: dict[str, Any] = {}
    for key, value in record.items():
        if key in fixed or (not isinstance(value, list | dict | np.ndarray) and _is_missing(value)):
            continue
        value = _jsonable(value)
        problem = control_character_problem(str(key), value)
        if problem:
            return problem
        if isinstance(value, str) and _has_surrogates(value):
            return f"column {key!r} is not valid UTF-8"
        meta[str(key)] = value
    return meta


def _printable(record: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in record.items():
        value = _jsonable(value) if not isinstance(value, bytes) else value.decode("utf-8", "replace")
        if isinstance(value, str):
            value = value.replace(BAD_MARK, "\ufffd")
        out[str(key)] = value
    return out


def write_rejected(rejected: Sequence[Rejected], path: Path, fmt: str | None = None) -> None:
    """The rejected rows with ``row`` and ``error`` columns, in the format of ``path`` (or ``fmt``)."""
    frame = pd.DataFrame(
        [
            {
                "row": r.row,
                "error": r.error,
                **{k: v for k, v in r.record.items() if k not in ("row", "error")},
            }
            for r in rejected
        ]
    )
    kind = detect_format(path, fmt)
    if kind == "csv":
        from bot.exporter import write_csv  # the exporter imports this module

        write_csv(frame, path)  # formulas neutralised: the rows came from someone else's file
    elif kind == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.astype(str).to_parquet(path, index=False)


def format_rejections(rejected: Sequence[Rejected], limit: int = 20) -> str:
    lines = [f"  row {r.row}: {r.error}" for r in rejected[:limit]]
    if len(rejected) > limit:
        lines.append(f"  … and {len(rejected) - limit} more")
    return "\n".join(lines)


# -- storing ---------------------------------------------------------------------------------------
def content_hash(text: str, meta: dict[str, Any], gold: str | None) -> str:
    payload = json.dumps([text, meta, gold], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def upsert_items(
    session: Session, project: Project, rows: Sequence[ItemRow], on_progress: Progress | None = None
) -> ImportReport:
    """Insert new items and update changed ones; ids seen before create no duplicates.

    Columns are read and written in bulk (100,000 rows in seconds): no ORM objects
    per row. A changed item keeps its labels, gets an ``updated`` event, and its
    message is refreshed if it was posted. ``on_progress(done, total)`` counts the
    writes: new items, their events, then changed items.
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
    n_new, total = len(new_rows), 2 * len(new_rows) + len(changed)

    def report(offset: int) -> Progress | None:
        return None if on_progress is None else lambda done, _: on_progress(offset + done, total)

    if new_rows:
        first_seq = new_rows[0]["import_seq"]
        insert_rows(session, Item, new_rows, report(0))
        ids = session.scalars(
            select(Item.id).where(Item.project_id == project.id, Item.import_seq >= first_seq)
        ).all()
        _insert_events(session, project.id, ((i, "queued", None, 1) for i in ids), now, report(n_new))
    _update_changed(session, project.id, changed, now, report(2 * n_new))
    if on_progress is not None:
        on_progress(total, total)
    return ImportReport(new=len(new_rows), unchanged=unchanged, changed=len(changed))


def _update_changed(
    session: Session,
    project_id: int,
    changed: Sequence[tuple[int, ItemRow, str, str | None, int]],
    now: datetime,
    on_progress: Progress | None,
) -> None:
    """Changed items get their new content, an ``updated`` event, and a refresh if posted."""
    for done, (item_id, row, digest, ts, _round) in enumerate(changed, start=1):
        if on_progress is not None and done % 1000 == 0:
            on_progress(done, len(changed))
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
            project_id,
            ((item_id, "updated", {"source": "import"}, round_) for item_id, *_, round_ in changed),
            now,
        )


def _insert_events(
    session: Session,
    project_id: int,
    events: Iterable[tuple[int, str, dict[str, Any] | None, int]],
    at: datetime,
    on_progress: Progress | None = None,
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
    insert_rows(session, ItemEvent, rows, on_progress)
