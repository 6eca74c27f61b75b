"""Per-annotator statistics, gold accuracy and confusion against plain pandas statements."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from statsmodels.stats.proportion import proportion_confint

from bot.quality import (
    annotator_mean_kappa,
    annotator_stats,
    confused_pairs,
    confusion_matrix,
    gold_accuracy,
    gold_counts,
    summarize_quality,
)
from bot.quality.metrics import STATS_COLUMNS

from .support import assert_same_metric, current, label_frames


def item_attribute(df: pd.DataFrame, column: str) -> pd.Series:
    """Last non-null value per item (the contract for final_label / gold_label)."""
    return df.dropna(subset=[column]).groupby("item_id")[column].last()


def with_item_attributes(df: pd.DataFrame) -> pd.DataFrame:
    cur = current(df).drop(columns=["final_label", "gold_label"])
    cur = cur.merge(item_attribute(df, "final_label").rename("final"), on="item_id", how="left")
    return cur.merge(item_attribute(df, "gold_label").rename("gold"), on="item_id", how="left")


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [1, 1, 1, 2, 2, 3, 3, 4],
            "user_id": ["a", "b", "c", "a", "b", "a", "c", "b"],
            "label": ["x", "x", "y", "y", "z", "x", "x", "x"],
            "final_label": ["x", "x", "x", "z", "z", None, None, "y"],
            "gold_label": ["x", "x", "x", None, None, "y", "y", None],
        }
    )


def test_annotator_stats_small(small: pd.DataFrame) -> None:
    stats = annotator_stats(small, min_overlap=1)
    assert list(stats.columns) == list(STATS_COLUMNS)
    assert list(stats.index) == ["a", "b", "c"] and stats.index.name == "user_id"
    a, b, c = (stats.loc[u] for u in "abc")
    assert (a.n_labels, a.n_final) == (3, 2)
    assert a.final_agreement == pytest.approx(0.5)  # x=x on 1, y≠z on 2
    assert (b.n_labels, b.n_final) == (3, 3)
    assert b.final_agreement == pytest.approx(2 / 3)
    assert (a.n_gold, a.gold_correct) == (2, 1)
    assert a.gold_accuracy == pytest.approx(0.5)
    assert (c.n_gold, c.gold_correct) == (2, 0)  # y≠x on 1, x≠y on 3
    assert b.n_gold == 1 and b.gold_accuracy == pytest.approx(1.0)
    low, high = proportion_confint(1, 2, method="wilson")
    assert (a.gold_accuracy_low, a.gold_accuracy_high) == pytest.approx((low, high), abs=1e-12)
    assert stats.mean_kappa.equals(annotator_mean_kappa(small, min_overlap=1).rename("mean_kappa"))


@settings(max_examples=40, deadline=None)
@given(label_frames(with_final=True, with_gold=True))
def test_annotator_stats_match_pandas(df: pd.DataFrame) -> None:
    stats = annotator_stats(df)
    cur = with_item_attributes(df)
    assert list(stats.index) == sorted(cur.user_id.unique())
    for user, g in cur.groupby("user_id"):
        row = stats.loc[user]
        assert row.n_labels == len(g)
        on_final = g[g.final.notna()]
        assert row.n_final == len(on_final)
        if len(on_final):
            assert row.final_agreement == pytest.approx((on_final.label == on_final.final).mean(), abs=1e-12)
        else:
            assert np.isnan(row.final_agreement)
        on_gold = g[g.gold.notna()]
        assert row.n_gold == len(on_gold)
        assert row.gold_correct == int((on_gold.label == on_gold.gold).sum())
        if len(on_gold) == 0:
            assert np.isnan(row.gold_accuracy) and np.isnan(row.gold_accuracy_low)


@settings(max_examples=40, deadline=None)
@given(label_frames(with_final=True, with_gold=True))
def test_gold_accuracy_matches_pandas(df: pd.DataFrame) -> None:
    cur = with_item_attributes(df)
    on_gold = cur[cur.gold.notna()]
    result = gold_accuracy(df)
    assert gold_counts(df) == (int((on_gold.label == on_gold.gold).sum()), len(on_gold))
    if len(on_gold):
        assert result.value == pytest.approx((on_gold.label == on_gold.gold).mean(), abs=1e-12)
        assert result.n == len(on_gold)
    else:
        assert result.value is None and result.reason == "no answers on gold items"


@settings(max_examples=40, deadline=None)
@given(label_frames(with_final=True, with_gold=True))
def test_confusion_and_confused_pairs_match_pandas(df: pd.DataFrame) -> None:
    cur = with_item_attributes(df)
    matrix = confusion_matrix(df)
    labels = sorted(set(cur.label) | set(item_attribute(df, "final_label")))
    assert list(matrix.index) == labels and list(matrix.columns) == labels
    assert matrix.index.name == "label" and matrix.columns.name == "final_label"
    on_final = cur[cur.final.notna()]
    expected = Counter(zip(on_final.label, on_final.final, strict=True))
    for a, b in itertools.product(labels, labels):
        assert matrix.loc[a, b] == expected.get((a, b), 0)

    pairs: Counter[tuple[str, str]] = Counter()
    for (a, b), n in expected.items():
        if a != b:
            pairs[(min(a, b), max(a, b))] += n
    ranked = sorted(((a, b, n) for (a, b), n in pairs.items()), key=lambda t: (-t[2], t[0], t[1]))
    assert confused_pairs(df, top=None) == ranked
    assert confused_pairs(df, top=2) == ranked[:2]


def test_confused_pairs_ties_are_broken_by_label_names() -> None:
    df = pd.DataFrame(
        {
            "item_id": [1, 2, 3, 4, 5, 6],
            "user_id": ["a"] * 6,
            "label": ["b", "a", "d", "c", "a", "b"],
            "final_label": ["a", "b", "c", "d", "c", "c"],
        }
    )
    # {a,b}: 2, {c,d}: 2, {a,c}: 1, {b,c}: 1
    assert confused_pairs(df) == [("a", "b", 2), ("c", "d", 2), ("a", "c", 1), ("b", "c", 1)]
    assert confused_pairs(df, top=1) == [("a", "b", 2)]
    assert confused_pairs(df, top=0) == []
    with pytest.raises(ValueError):
        confused_pairs(df, top=-1)


def test_degenerate_inputs() -> None:
    empty = pd.DataFrame({"item_id": [], "user_id": [], "label": [], "final_label": [], "gold_label": []})
    assert annotator_stats(empty).empty and list(annotator_stats(empty).columns) == list(STATS_COLUMNS)
    assert confusion_matrix(empty).shape == (0, 0)
    assert confused_pairs(empty) == []
    assert gold_accuracy(empty).reason == "no answers on gold items"
    no_final = pd.DataFrame({"item_id": [1], "user_id": ["a"], "label": ["x"], "final_label": [None]})
    assert confused_pairs(no_final) == []
    assert confusion_matrix(no_final).to_numpy().sum() == 0
    with pytest.raises(ValueError, match="gold_label"):
        gold_accuracy(no_final)
    with pytest.raises(ValueError, match="final_label"):
        confusion_matrix(no_final.drop(columns=["final_label"]))


def test_summary_equals_the_individual_functions(small: pd.DataFrame) -> None:
    from bot.quality import fleiss_kappa, krippendorff_alpha, mean_cohen_kappa, pairwise_cohen_kappa

    s = summarize_quality(small, min_overlap=1)
    assert (s.n_labels, s.n_items, s.n_annotators) == (8, 4, 3)
    assert_same_metric(s.krippendorff_alpha, krippendorff_alpha(small))
    assert_same_metric(s.fleiss_kappa, fleiss_kappa(small))
    assert_same_metric(s.mean_cohen_kappa, mean_cohen_kappa(small, min_overlap=1))
    assert_same_metric(s.gold_accuracy, gold_accuracy(small))
    assert s.gold_error_rate.value == pytest.approx(1 - gold_accuracy(small).value)
    pd.testing.assert_frame_equal(s.pairs, pairwise_cohen_kappa(small, min_overlap=1))
    pd.testing.assert_frame_equal(s.annotators, annotator_stats(small, min_overlap=1))
    pd.testing.assert_frame_equal(s.confusion, confusion_matrix(small))
    assert s.top_confusions == confused_pairs(small)
