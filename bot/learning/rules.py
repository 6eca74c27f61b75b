"""Keyword/regex rules that pre-label items before a model can be trained.

A project's ``model.rules`` config is a list such as::

    - {label: bug, keywords: [crash, error, "stack trace"]}
    - {label: billing, pattern: "\\b(invoice|refund)s?\\b"}

:class:`RulePrelabeler` exposes ``classes_`` and ``predict_proba(texts)`` like a
scikit-learn classifier, so the bot can use it wherever it would use a model (sampling
priorities, suggested answers) during cold start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "RULE_CONFIDENCE",
    "Rule",
    "RuleError",
    "RuleMatch",
    "RulePrelabeler",
    "parse_rules",
]

#: Confidence of a rule match when every matching rule names the same label. Chosen
#: below the dynamic-overlap threshold (0.9 by default), so keyword rules alone never
#: let an item resolve with fewer human labels: rules order and suggest, humans decide.
RULE_CONFIDENCE = 0.6


class RuleError(ValueError):
    """``model.rules`` is malformed; the message names the offending rule index."""


@dataclass(frozen=True)
class Rule:
    """One compiled rule: texts matching ``regex`` get ``label``."""

    index: int
    label: str
    regex: re.Pattern[str]
    source: str  # "keywords" or "pattern", for messages


@dataclass(frozen=True)
class RuleMatch:
    """The pre-label for one text; ``label`` is None when no rule matched."""

    label: str | None
    confidence: float
    rule_index: int | None


def _keywords_regex(index: int, keywords: Any) -> re.Pattern[str]:
    if isinstance(keywords, str) or not isinstance(keywords, Sequence) or not keywords:
        raise RuleError(f"model.rules[{index}]: keywords must be a non-empty list of strings")
    words: list[str] = []
    for kw in keywords:
        if not isinstance(kw, str) or not kw.strip():
            raise RuleError(f"model.rules[{index}]: keyword {kw!r} must be a non-empty string")
        words.append(re.escape(kw.strip()))
    # Longest first so "stack trace" wins over "stack"; lookarounds instead of \b so
    # keywords such as "c++" or ".net" still match as whole words.
    words.sort(key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE)


def _as_mapping(entry: Any) -> Mapping[str, Any] | None:
    """A rule as a mapping; config objects (e.g. pydantic ``RuleConfig``) become their set fields."""
    if isinstance(entry, Mapping):
        return entry
    if all(hasattr(entry, key) for key in ("label", "keywords", "pattern")):
        fields = {key: getattr(entry, key) for key in ("label", "keywords", "pattern")}
        return {key: value for key, value in fields.items() if value is not None}
    return None


def parse_rules(raw: Any, labels: Iterable[str] | None = None) -> list[Rule]:
    """Validate and compile ``model.rules``; raise :class:`RuleError` naming the rule index.

    Each rule is a mapping (or an object with ``label``/``keywords``/``pattern``
    attributes, unset ones None) with a non-empty string ``label`` and exactly one of
    ``keywords`` (list of strings, matched as whole words) or ``pattern`` (a Python
    regex); both match case-insensitively. With ``labels``, a rule's label must be one
    of the project's labels. Unknown keys are errors, so typos do not silently disable a rule.
    """
    if raw is None:
        return []
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise RuleError("model.rules must be a list of {label, keywords} or {label, pattern} entries")
    allowed = None if labels is None else set(labels)
    return [_parse_rule(index, item, allowed) for index, item in enumerate(raw)]


def _parse_rule(index: int, item: Any, allowed: set[str] | None) -> Rule:
    entry = _as_mapping(item)
    if entry is None:
        raise RuleError(f"model.rules[{index}] must be a mapping, got {type(item).__name__}")
    unknown = sorted(set(entry) - {"label", "keywords", "pattern"})
    if unknown:
        raise RuleError(f"model.rules[{index}]: unknown key(s) {unknown}; use label with keywords or pattern")
    label = entry.get("label")
    if not isinstance(label, str) or not label.strip():
        raise RuleError(f"model.rules[{index}]: label must be a non-empty string")
    if allowed is not None and label not in allowed:
        raise RuleError(
            f"model.rules[{index}]: label {label!r} is not one of the project labels {sorted(allowed)}"
        )
    has_keywords, has_pattern = "keywords" in entry, "pattern" in entry
    if has_keywords == has_pattern:
        raise RuleError(f"model.rules[{index}]: give exactly one of keywords or pattern")
    if has_keywords:
        return Rule(
            index=index, label=label, regex=_keywords_regex(index, entry["keywords"]), source="keywords"
        )
    return Rule(index=index, label=label, regex=_pattern_regex(index, entry["pattern"]), source="pattern")


def _pattern_regex(index: int, pattern: Any) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise RuleError(f"model.rules[{index}]: pattern must be a non-empty string")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise RuleError(f"model.rules[{index}]: invalid regex {pattern!r}: {exc}") from exc


class RulePrelabeler:
    """Cold-start stand-in for a model: the first matching rule wins.

    Confidence of a matched text = ``confidence`` x (share of the matching rules that
    name the winning label): 0.6 when all matching rules agree, 0.3 when two rules with
    different labels match. ``predict_proba`` gives the winner that confidence and
    spreads the rest evenly over the other classes; texts no rule matches get the uniform
    distribution, so uncertainty sampling asks about them first. A winner's probability
    is raised to at least the others' share, so argmax is always the rule's label.
    """

    def __init__(
        self,
        rules: Sequence[Rule] | Any,
        labels: Iterable[str] | None = None,
        *,
        confidence: float = RULE_CONFIDENCE,
    ) -> None:
        if not 0 < confidence <= 1:
            raise RuleError("rule confidence must be in (0, 1]")
        label_list = None if labels is None else list(dict.fromkeys(labels))
        if rules and all(isinstance(r, Rule) for r in rules):
            self.rules: list[Rule] = list(rules)
            if label_list is not None:
                extra = sorted({r.label for r in self.rules} - set(label_list))
                if extra:
                    raise RuleError(f"rule label(s) {extra} are not among the project labels")
        else:
            self.rules = parse_rules(rules, label_list)
        classes = label_list if label_list is not None else sorted({r.label for r in self.rules})
        if len(classes) < 2:
            raise RuleError("a rule pre-labeler needs at least 2 labels (pass the project's labels)")
        self.classes_ = np.array(classes, dtype=object)
        self._class_index = {c: i for i, c in enumerate(classes)}
        self.confidence = confidence

    def prelabel(self, texts: Iterable[str]) -> list[RuleMatch]:
        """Label, confidence and winning rule index per text (label None if nothing matched)."""
        out: list[RuleMatch] = []
        for text in texts:
            hits = [rule for rule in self.rules if rule.regex.search(text)]
            if not hits:
                out.append(RuleMatch(None, 0.0, None))
                continue
            winner = hits[0]
            share = sum(rule.label == winner.label for rule in hits) / len(hits)
            out.append(RuleMatch(winner.label, self.confidence * share, winner.index))
        return out

    def predict(self, texts: Iterable[str]) -> list[str | None]:
        """The rule label per text, or None when no rule matched."""
        return [m.label for m in self.prelabel(texts)]

    def predict_proba(self, texts: Iterable[str]) -> np.ndarray:
        """``(n, k)`` probabilities over ``classes_``, as described in the class docstring."""
        matches = self.prelabel(texts)
        k = len(self.classes_)
        proba = np.full((len(matches), k), 1.0 / k)
        for row, match in enumerate(matches):
            if match.label is None:
                continue
            top = max(match.confidence, 1.0 / k)
            proba[row, :] = (1.0 - top) / (k - 1)
            proba[row, self._class_index[match.label]] = top
        return proba
