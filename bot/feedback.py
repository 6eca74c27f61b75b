"""Private feedback on gold accuracy: who is below the project's bar, with what to look at.

The public digest shows counts and project figures only. An annotator whose gold accuracy is
below ``quality.min_gold_accuracy``, judged on at least :data:`~bot.quality.MIN_GOLD_ANSWERS`
gold answers, gets their own figures by direct message, beside the project's, with the label
pairs they most often confuse (:func:`bot.quality.annotator_confusions`: expected → given,
against gold labels, else final labels); the project's admins get the list. Pure: the metrics'
results in, typed results out; sending is ``bot.slack.posting.feedback``'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from bot.quality import MIN_GOLD_ANSWERS, LabelData, annotator_confusions, gold_counts

__all__ = ["AnnotatorFeedback", "Confusion", "Feedback", "private_feedback"]


@dataclass(frozen=True)
class Confusion:
    expected: str
    given: str
    n: int


@dataclass(frozen=True)
class AnnotatorFeedback:
    user_id: str
    gold_accuracy: float
    gold_answers: int
    confusions: tuple[Confusion, ...]


@dataclass(frozen=True)
class Feedback:
    """The period's annotators below ``threshold`` (lowest accuracy first) and the project's figure."""

    threshold: float
    project_gold_accuracy: float | None
    project_gold_answers: int
    annotators: tuple[AnnotatorFeedback, ...]


def private_feedback(
    labels: LabelData,
    stats: pd.DataFrame,
    threshold: float,
    *,
    min_answers: int = MIN_GOLD_ANSWERS,
    top: int = 3,
) -> Feedback:
    """Who gets feedback, from the labels and :func:`bot.quality.annotator_stats`' frame of them."""
    correct, answers = gold_counts(labels) if labels.gold is not None else (0, 0)
    project = correct / answers if answers else None
    low: list[tuple[str, float, int]] = []
    for user, row in stats.iterrows():
        accuracy, n = float(row["gold_accuracy"]), int(row["n_gold"])
        if n >= min_answers and not math.isnan(accuracy) and accuracy < threshold:
            low.append((str(user), accuracy, n))
    low.sort(key=lambda a: (a[1], a[0]))
    confusions: dict[str, list[Confusion]] = {}
    if low:
        frame = annotator_confusions(labels, top=top)
        wanted = frame[frame["user_id"].isin([user for user, _, _ in low])]
        for user, expected, given, n in wanted.itertuples(index=False):
            confusions.setdefault(str(user), []).append(Confusion(str(expected), str(given), int(n)))
    return Feedback(
        threshold=threshold,
        project_gold_accuracy=project,
        project_gold_answers=answers,
        annotators=tuple(
            AnnotatorFeedback(user, accuracy, n, tuple(confusions.get(user, ()))) for user, accuracy, n in low
        ),
    )
