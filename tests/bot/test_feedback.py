"""Who gets private feedback: below the bar on enough gold answers, with their confusions."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.feedback import Confusion, private_feedback
from bot.quality import MIN_GOLD_ANSWERS, LabelData, annotator_stats


def gold_frame(answers: dict[str, list[bool]]) -> pd.DataFrame:
    """Each user answers gold items g0, g1, ... (gold "bug"): right ("bug") or wrong ("other")."""
    rows = [
        (f"g{i}", user, "bug" if right else "other", "bug", "bug")
        for user, results in answers.items()
        for i, right in enumerate(results)
    ]
    return pd.DataFrame(rows, columns=["item_id", "user_id", "label", "final_label", "gold_label"])


def feedback_of(answers: dict[str, list[bool]], threshold: float = 0.8):
    labels = LabelData.from_frame(gold_frame(answers))
    return private_feedback(labels, annotator_stats(labels), threshold)


def test_below_the_bar_on_enough_answers_lowest_first_with_confusions():
    n = MIN_GOLD_ANSWERS
    result = feedback_of(
        {
            "U0LOW": [True] * 2 + [False] * (n - 2),
            "U0LOWER": [False] * n,
            "U0GOOD": [True] * n,
            "U0FEW": [False] * (n - 1),  # too few answers to judge
        }
    )
    assert [a.user_id for a in result.annotators] == ["U0LOWER", "U0LOW"]
    lower, low = result.annotators
    assert lower.gold_accuracy == pytest.approx(0.0) and lower.gold_answers == n
    assert low.gold_accuracy == pytest.approx(2 / n)
    assert low.confusions == (Confusion("bug", "other", n - 2),)
    assert result.project_gold_answers == 4 * n - 1
    assert result.project_gold_accuracy == pytest.approx((2 + n) / (4 * n - 1))
    assert result.threshold == pytest.approx(0.8)


def test_at_the_bar_is_not_below_and_no_gold_means_no_one():
    n = MIN_GOLD_ANSWERS * 2
    assert feedback_of({"U0A": [True] * (n - 2) + [False] * 2}, threshold=(n - 2) / n).annotators == ()
    labels = LabelData.from_frame(
        pd.DataFrame(
            {"item_id": ["a"], "user_id": ["U0A"], "label": ["x"], "final_label": ["y"], "gold_label": [None]}
        )
    )
    none = private_feedback(labels, annotator_stats(labels), 0.8)
    assert none.annotators == () and none.project_gold_accuracy is None and none.project_gold_answers == 0
