"""``labelbot init DATAFILE``: a commented starter ``labelbot.yml`` proposed from a data file.

It reads the file as ``labelbot import`` would, then guesses: the id column (by name, else the
first column whose values are unique), the text column (by name, else the longest texts), the
labels (from a column named like ``label`` or ``category`` with 2–100 values) and the fields
shown with each item (the remaining short columns). What it cannot know (the channel, the
experts) is a placeholder that ``labelbot check`` will name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.importer import InputFileError, detect_format, read_table

__all__ = ["PLACEHOLDER_CHANNEL", "PLACEHOLDER_USER", "Starter", "propose", "render"]

PLACEHOLDER_CHANNEL = "C0CHANGEME"
PLACEHOLDER_USER = "U0CHANGEME"
ID_NAMES = ("id", "item_id", "external_id", "uuid", "key", "ticket_id", "doc_id", "document_id")
TEXT_NAMES = (
    "text", "body", "message", "content", "description", "comment", "review", "sentence",
    "utterance", "question", "document", "title",
)  # fmt: skip
LABEL_NAMES = (
    "label", "labels", "category", "class", "intent", "gold", "gold_label", "target", "tag",
    "sentiment", "topic", "answer",
)  # fmt: skip
SAMPLE = 5000  # rows looked at
MAX_LABELS = 100
MAX_FIELDS = 10
FIELD_LENGTH = 40  # mean characters: longer columns are texts, not fields


@dataclass
class Starter:
    """What ``init`` proposes for one project."""

    key: str
    name: str
    id_field: str
    text_field: str
    label_field: str | None
    labels: list[tuple[str, str]]  # (value, text)
    fields: list[str] = field(default_factory=list)
    rows: int = 0
    notes: list[str] = field(default_factory=list)  # what it could not decide


def propose(path: Path) -> Starter:
    """Read ``path`` (CSV, JSONL or Parquet) and propose a project; InputFileError when the file
    cannot be read or has nothing to label."""
    records, _broken, columns = read_table(path, detect_format(path))
    columns = [c for c in columns if c != "__row__"]
    if not records or not columns:
        raise InputFileError(f"{path.name}: no rows to propose a configuration from")
    sample = records[:SAMPLE]
    values = {c: [_text(r.get(c)) for r in sample] for c in columns}
    notes: list[str] = []
    id_field = _by_name(columns, ID_NAMES) or next(
        (c for c in columns if _unique(values[c]) and _mean_length(values[c]) <= 64), None
    )
    if id_field is None:
        id_field = columns[0]
        notes.append(f"no column has a unique value per row; {id_field!r} is a guess: check it")
    rest = [c for c in columns if c != id_field]
    text_field = _by_name(rest, TEXT_NAMES) or max(rest or [id_field], key=lambda c: _mean_length(values[c]))
    label_field = _by_name([c for c in rest if c != text_field], LABEL_NAMES)
    labels: list[tuple[str, str]] = []
    if label_field is not None:
        distinct = sorted({v for v in values[label_field] if v})
        if 2 <= len(distinct) <= MAX_LABELS:
            labels = _label_options(distinct)
        else:
            notes.append(f"column {label_field!r} has {len(distinct)} values; labels left as examples")
            label_field = None
    if not labels:
        labels = [("yes", "Yes"), ("no", "No")]
        notes.append("no label column found: the labels are examples, replace them")
    fields = [
        c for c in rest if c not in (text_field, label_field) and 0 < _mean_length(values[c]) <= FIELD_LENGTH
    ][:MAX_FIELDS]
    stem = re.sub(r"[^A-Za-z0-9_.:-]+", "_", path.stem).strip("_.:-") or "project"
    name = path.stem.replace("_", " ").replace("-", " ").strip().capitalize() or "Project"
    return Starter(
        stem[:64], name[:150], id_field, text_field, label_field, labels, fields, len(records), notes
    )


def render(starter: Starter, source: Path) -> str:
    """The starter ``labelbot.yml``, with a comment on each choice."""
    labels = "\n".join(f"      - {_flow({'value': value, 'text': text})}" for value, text in starter.labels)
    origin = (
        f"from the column {starter.label_field!r} of {source.name}"
        if starter.label_field
        else "examples: replace them with yours"
    )
    fields = _flow(starter.fields) if starter.fields else "[]"
    return f"""\
# labelbot configuration, written by `labelbot init {source.name}` on {date.today().isoformat()}.
# Every key is described in the README ("Describe the projects"); `labelbot check` checks it all.
projects:
  - key: {_flow(starter.key)}  # on the command line: labelbot import {starter.key} {source.name}
    name: {_flow(starter.name)}  # shown in Slack
    # The ID of the channel where items are posted (in Slack: the channel's details, at the
    # bottom). Then invite the bot there: /invite @labelbot
    channel: {PLACEHOLDER_CHANNEL}
    # The answers, one button each ({origin}).
    # value: what the export holds (letters, digits, _ . : -); text: the button (75 characters).
    labels:
{labels}
    annotators_per_item: 3  # independent labels per item
    agreement: 0.66  # the share of labels that makes a consensus; less goes to the experts
    # annotators: [U0123ABCD, S0123ABCD]  # who may label (users, user groups); out: anyone in the channel
    experts:
      # Who decides escalated items (user IDs U…, user groups S…; in Slack: a profile's ⋮ menu,
      # "Copy member ID").
      default: [{PLACEHOLDER_USER}]
      # Who may pause and resume the project, reveal an item's original text and decide any
      # escalation; undecided escalations fall back to them.
      admins: [{PLACEHOLDER_USER}]
    # Columns of {source.name} shown with each item (besides {starter.id_field!r} and {starter.text_field!r}).
    fields: {fields}
    max_open: 10  # items open at once in the channel
"""


def next_steps(starter: Starter, source: Path, written: Path) -> list[str]:
    """What to do after ``init``, as lines to print."""
    options = ""
    if starter.id_field != "id":
        options += f" --id-field {_shell(starter.id_field)}"
    if starter.text_field != "text":
        options += f" --text-field {_shell(starter.text_field)}"
    lines = [
        f"wrote {written}: project {starter.key!r} from {starter.rows} row(s) of {source.name}, id column "
        f"{starter.id_field!r}, text column {starter.text_field!r}, {len(starter.labels)} label(s)",
        *(f"note: {note}" for note in starter.notes),
        "next:",
        f"  1. in {written}, set channel ({PLACEHOLDER_CHANNEL}) to your channel's ID and "
        f"experts.default and experts.admins ({PLACEHOLDER_USER}) to the people who decide escalations "
        "and administer the project",
        "  2. labelbot check",
        f"  3. labelbot import {starter.key} {_shell(str(source))}{options}",
    ]
    if starter.label_field:
        lines.append(
            f"     (add --gold-field {_shell(starter.label_field)} if that column holds known answers "
            "to check the annotators against)"
        )
    lines.append("  4. labelbot serve")
    return lines


# -- guesses ----------------------------------------------------------------------------------
def _text(value: Any) -> str:
    return "" if value is None or value != value else str(value).strip()  # NaN != NaN


def _by_name(columns: Sequence[str], names: Sequence[str]) -> str | None:
    lowered = {c.lower().strip(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def _unique(values: list[str]) -> bool:
    return all(values) and len(set(values)) == len(values)


def _mean_length(values: list[str]) -> float:
    filled = [v for v in values if v]
    return sum(map(len, filled)) / len(filled) if filled else 0.0


def _label_options(distinct: list[str]) -> list[tuple[str, str]]:
    options: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw in distinct:
        base = re.sub(r"[^a-z0-9]+", "_", raw.lower()).strip("_")[:150] or "label"
        value, n = base, 2
        while value in seen:
            value, n = f"{base}_{n}", n + 1
        seen.add(value)
        options.append((value, raw[:75]))
    return options


def _flow(value: Any) -> str:
    """One YAML value on one line, quoted where YAML needs it."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000, sort_keys=False)
    return text.strip().removesuffix("\n...")


def _shell(word: str) -> str:
    return word if re.fullmatch(r"[A-Za-z0-9_./:-]+", word) else "'" + word.replace("'", "'\\''") + "'"
