"""Precision and recall of the detectors on annotated texts (the benchmark's and the tests' scorer).

A case is a text and the private spans in it, each with its kind. Scored for what redaction is
for: a gold span is *found* when its kind's predicted spans cover every letter and digit of it
(nothing of it stays readable, even if the span drawn is wider or split); a predicted span is
*correct* when it overlaps a gold span of its kind. Precision = correct / predicted, recall =
found / gold, per kind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.privacy.detectors import DETECTORS, Span
from bot.privacy.redactor import Redactor

__all__ = ["Case", "Score", "read_cases", "score", "spans_of"]


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    expected: tuple[Span, ...]
    note: str = ""
    known_error: str = ""


@dataclass
class Score:
    """Counts for one kind."""

    gold: int = 0
    found: int = 0
    predicted: int = 0
    correct: int = 0
    misses: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.correct / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.found / self.gold if self.gold else None


def spans_of(text: str, expect: Iterable[dict[str, str]]) -> tuple[Span, ...]:
    """``[{kind, value}]`` to spans: each value at its first occurrence after the previous same value."""
    spans = []
    after: dict[str, int] = {}
    for entry in expect:
        kind, value = entry["kind"], entry["value"]
        if kind not in DETECTORS:
            raise ValueError(f"unknown kind {kind!r}; the kinds are {', '.join(DETECTORS)}")
        start = text.find(value, after.get(value, 0))
        if start == -1:
            raise ValueError(f"{value!r} is not in the text {text!r}")
        after[value] = start + len(value)
        spans.append(Span(start, start + len(value), kind, ""))
    return tuple(spans)


def read_cases(path: str | Path) -> list[Case]:
    """The JSON Lines file of cases.

    One case a line: ``{"id", "text", "expect": [{"kind", "value"}], "note"?, "known_error"?}``.
    """
    cases = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        try:
            expected = spans_of(row["text"], row.get("expect", []))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
        cases.append(Case(row["id"], row["text"], expected, row.get("note", ""), row.get("known_error", "")))
    return cases


def _covered(gold: Span, predicted: list[Span], text: str) -> bool:
    return all(
        any(p.start <= i < p.end for p in predicted) for i in range(gold.start, gold.end) if text[i].isalnum()
    )


def score(redactor: Redactor, cases: Iterable[Case]) -> dict[str, Score]:
    """Per kind (the redactor's detectors), over ``cases``."""
    scores = {kind: Score() for kind in redactor.detectors}
    for case in cases:
        predicted = redactor.spans(case.text)
        for kind, counts in scores.items():
            gold = [g for g in case.expected if g.kind == kind]
            mine = [p for p in predicted if p.kind == kind]
            counts.gold += len(gold)
            counts.predicted += len(mine)
            for g in gold:
                if _covered(g, mine, case.text):
                    counts.found += 1
                else:
                    counts.misses.append(f"{case.id}: {case.text[g.start : g.end]!r}")
            for p in mine:
                if any(p.start < g.end and g.start < p.end for g in gold):
                    counts.correct += 1
                else:
                    counts.false_positives.append(f"{case.id}: {case.text[p.start : p.end]!r}")
    return scores
