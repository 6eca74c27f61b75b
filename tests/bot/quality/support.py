"""Test support: random label exports (hypothesis strategies) and comparison helpers."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import strategies as st

from bot.quality import Metric

__all__ = ["assert_same_metric", "current", "fixed_k_frames", "label_frames"]


@st.composite
def label_frames(
    draw: st.DrawFn,
    max_items: int = 25,
    max_users: int = 6,
    max_labels: int = 4,
    with_final: bool = False,
    with_gold: bool = False,
) -> pd.DataFrame:
    """Rows (item, user, label) drawn with repeats, so some pairs are relabelled."""
    n_items = draw(st.integers(1, max_items))
    n_users = draw(st.integers(1, max_users))
    n_labels = draw(st.integers(1, max_labels))
    rows = draw(
        st.lists(
            st.tuples(st.integers(0, n_items - 1), st.integers(0, n_users - 1), st.integers(0, n_labels - 1)),
            max_size=n_items * n_users + 5,
        )
    )
    df = pd.DataFrame(
        {
            "item_id": [f"i{i:02d}" for i, _, _ in rows],
            "user_id": [f"u{u}" for _, u, _ in rows],
            "label": [f"L{lab}" for _, _, lab in rows],
        },
        dtype=object,
    )
    for column, wanted in (("final_label", with_final), ("gold_label", with_gold)):
        if wanted:
            per_item = draw(
                st.lists(st.one_of(st.none(), st.integers(0, n_labels)), min_size=n_items, max_size=n_items)
            )
            df[column] = [None if per_item[i] is None else f"L{per_item[i]}" for i, _, _ in rows]
    return df


@st.composite
def fixed_k_frames(draw: st.DrawFn, max_items: int = 30, max_k: int = 7, max_labels: int = 5) -> pd.DataFrame:
    """Every item labelled by the same number k >= 2 of raters (statsmodels' Fleiss case)."""
    n_items = draw(st.integers(1, max_items))
    k = draw(st.integers(2, max_k))
    n_labels = draw(st.integers(1, max_labels))
    labels = draw(st.lists(st.integers(0, n_labels - 1), min_size=n_items * k, max_size=n_items * k))
    return pd.DataFrame(
        {
            "item_id": [i // k for i in range(n_items * k)],
            "user_id": [f"r{i % k}" for i in range(n_items * k)],
            "label": [f"L{lab}" for lab in labels],
        }
    )


def current(df: pd.DataFrame) -> pd.DataFrame:
    """Independent statement of the contract: last row per (item, user), null labels out."""
    return df.drop_duplicates(["item_id", "user_id"], keep="last").dropna(subset=["label"])


def assert_same_metric(got: Metric, expected: Metric, tol: float = 1e-12) -> None:
    """Same value (to ``tol``), reason and n."""
    assert (got.reason, got.n) == (expected.reason, expected.n)
    if expected.value is None:
        assert got.value is None
    else:
        assert got.value == pytest.approx(expected.value, abs=tol)
