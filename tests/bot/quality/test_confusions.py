"""Each annotator's mistakes as expected → given pairs: against gold, else the final label."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.quality import LabelData, annotator_confusions


def frame(rows: list[tuple[str, str, str, str | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item_id", "user_id", "label", "final_label", "gold_label"])


ROWS = [
    # item, user, label, final, gold
    ("g1", "u1", "other", "billing", "billing"),  # gold miss: billing → other
    ("g2", "u1", "other", "billing", "billing"),
    ("g3", "u1", "billing", "bug", "bug"),  # gold miss: bug → billing
    ("g3", "u2", "bug", "bug", "bug"),  # right
    ("f1", "u1", "bug", "billing", None),  # no gold: against the final label
    ("f1", "u2", "billing", "billing", None),
    ("g4", "u2", "other", "other", "bug"),  # gold wins over a final label that agrees with u2
    ("open", "u2", "bug", None, None),  # neither: not a mistake of anyone's
]


def test_mistakes_against_gold_else_final_most_frequent_first():
    out = annotator_confusions(frame(ROWS), top=None)
    assert list(out.itertuples(index=False, name=None)) == [
        ("u1", "billing", "other", 2),
        ("u1", "billing", "bug", 1),
        ("u1", "bug", "billing", 1),
        ("u2", "bug", "other", 1),
    ]


def test_top_per_annotator_and_encoded_input():
    out = annotator_confusions(LabelData.from_frame(frame(ROWS)), top=1)
    assert list(out.itertuples(index=False, name=None)) == [
        ("u1", "billing", "other", 2),
        ("u2", "bug", "other", 1),
    ]
    assert annotator_confusions(frame(ROWS), top=0).empty


def test_no_mistakes_no_labels_and_bad_top():
    assert annotator_confusions(frame([("a", "u1", "bug", "bug", None)])).empty
    assert list(annotator_confusions(frame([])).columns) == ["user_id", "expected", "given", "n"]
    with pytest.raises(ValueError, match="top must be >= 0"):
        annotator_confusions(frame(ROWS), top=-1)


def test_needs_gold_and_final_columns():
    with pytest.raises(ValueError, match="gold_label"):
        annotator_confusions(
            pd.DataFrame({"item_id": ["a"], "user_id": ["u"], "label": ["x"], "final_label": ["x"]})
        )
