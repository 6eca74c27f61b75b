"""Dynamic overlap: how many human labels an item needs, given the votes so far and the model.

Config ``annotators_per_item: {min: 1, max: 3}``. Fixed 3-way overlap triples the cost of
every item; most items are easy, and when the first human agrees with a confident model
the extra labels rarely change the outcome. benchmarks/simulate_savings.py measures
the labels this saves at equal accuracy. A rule of labeling, not of the model: it lives outside
``bot.learning`` so that recording a label never loads scikit-learn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Decision", "OverlapPolicy", "needs_more_labels"]


class Decision(StrEnum):
    """What to do with an item after its latest vote."""

    RESOLVE = "resolve"  # unanimous humans + confident agreeing model: take that label now
    NEED_MORE = "need_more"  # ask one more annotator
    APPLY_AGREEMENT_RULE = "apply_agreement_rule"  # stop asking; the usual consensus rule decides


@dataclass(frozen=True)
class OverlapPolicy:
    """``annotators_per_item`` plus the thresholds the rule uses; validated on creation."""

    min: int = 1
    max: int = 3
    confidence_threshold: float = 0.9
    agreement: float = 0.66

    def __post_init__(self) -> None:
        if self.min < 1:
            raise ValueError("annotators_per_item.min must be at least 1")
        if self.max < self.min:
            raise ValueError(f"annotators_per_item.max ({self.max}) must be >= min ({self.min})")
        if not 0 <= self.confidence_threshold <= 1:
            raise ValueError("confidence_threshold must be between 0 and 1")
        if not 0 < self.agreement <= 1:
            raise ValueError("agreement must be in (0, 1]")

    def decide(
        self,
        votes: Mapping[Any, str],
        model_label: str | None,
        model_confidence: float | None,
    ) -> Decision:
        """:func:`needs_more_labels` with this policy's settings."""
        return needs_more_labels(
            votes,
            model_label,
            model_confidence,
            min_labels=self.min,
            max_labels=self.max,
            confidence_threshold=self.confidence_threshold,
            agreement=self.agreement,
        )


def needs_more_labels(
    votes: Mapping[Any, str],
    model_label: str | None,
    model_confidence: float | None,
    *,
    min_labels: int = 1,
    max_labels: int = 3,
    confidence_threshold: float = 0.9,
    agreement: float = 0.66,
) -> Decision:
    """Decide whether an item needs another human label. Pure; checked in this order.

    With n = number of votes (one per user) and c = votes for the most common label:

    1. n >= ``max_labels`` -> ``APPLY_AGREEMENT_RULE``: the budget is spent; the caller's
       usual consensus rule (share >= ``agreement``, else escalate) decides on the votes
       so far, e.g. ``bot.consensus.decide(votes, needed=len(votes), agreement=...)``.
    2. n < ``min_labels`` -> ``NEED_MORE``.
    3. All n votes are the same label L, ``model_label == L`` and ``model_confidence >=
       confidence_threshold`` -> ``RESOLVE`` with L. This is the only way an item
       resolves with fewer than ``max_labels`` labels on the model's word; with no model
       (``model_label`` None) it never applies.
    4. The agreement rule's outcome is already fixed: even if all ``max_labels - n``
       missing votes went to other labels, L would still have share c / max >=
       ``agreement`` (with the 1e-12 tolerance bot.consensus uses) and a strict majority
       (c > max - c) -> ``APPLY_AGREEMENT_RULE`` now; asking more could not change the
       winner, and the usual rule resolves it with the votes so far. (With max 3 and agreement 0.66, two
       agreeing humans are enough.)
    5. Otherwise -> ``NEED_MORE``.

    So with ``{min: 1, max: 3}`` an item gets 1 label when the human and a confident model
    agree, 2 when two humans agree (if step 4 applies), and 3 otherwise.
    """
    if min_labels < 1 or max_labels < min_labels:
        raise ValueError("need 1 <= min_labels <= max_labels")
    if not 0 <= confidence_threshold <= 1 or not 0 < agreement <= 1:
        raise ValueError("confidence_threshold must be in [0, 1] and agreement in (0, 1]")
    n = len(votes)
    if n >= max_labels:
        return Decision.APPLY_AGREEMENT_RULE
    if n < min_labels:
        return Decision.NEED_MORE
    counts = Counter(votes.values())
    top_label, top = counts.most_common(1)[0]
    if (
        len(counts) == 1
        and model_label is not None
        and model_label == top_label
        and model_confidence is not None
        and model_confidence >= confidence_threshold
    ):
        return Decision.RESOLVE
    if top / max_labels >= agreement - 1e-12 and top > max_labels - top:
        return Decision.APPLY_AGREEMENT_RULE
    return Decision.NEED_MORE
