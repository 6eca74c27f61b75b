"""Krippendorff's alpha and Fleiss' kappa against published values and reference libraries."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from bot.quality import LabelData, Metric, fleiss_kappa, krippendorff_alpha

from .support import assert_same_metric, current, fixed_k_frames, label_frames


def krippendorff_reference(df: pd.DataFrame) -> float:
    """The krippendorff package on the same current labels (coders × units, NaN = missing)."""
    d = LabelData.from_frame(df)
    data = np.full((d.n_users, d.n_items), np.nan)
    data[d.user, d.item] = d.label
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def fleiss_reference(df: pd.DataFrame) -> float | None:
    """Fleiss' kappa straight from the formula, items of any size >= 2 (plain loops)."""
    by_item: dict[object, Counter[str]] = {}
    for row in current(df).itertuples():
        by_item.setdefault(row.item_id, Counter())[row.label] += 1
    used = {item: c for item, c in by_item.items() if sum(c.values()) >= 2}
    if not used:
        return None
    p_items = []
    totals: Counter[str] = Counter()
    for counts in used.values():
        n = sum(counts.values())
        p_items.append(sum(c * (c - 1) for c in counts.values()) / (n * (n - 1)))
        totals.update(counts)
    grand = sum(totals.values())
    p_e = sum((c / grand) ** 2 for c in totals.values())
    if len(totals) < 2:
        return None
    return (sum(p_items) / len(p_items) - p_e) / (1 - p_e)


# --------------------------------------------------------------------------- published


def test_krippendorff_2011_example(krippendorff_2011: pd.DataFrame) -> None:
    alpha = krippendorff_alpha(krippendorff_2011)
    assert alpha.value == pytest.approx(0.743, abs=5e-4)
    assert alpha.value == pytest.approx(krippendorff_reference(krippendorff_2011), abs=1e-12)
    assert alpha.n == 11  # unit 12 has a single value: not pairable


def test_fleiss_wikipedia_example(fleiss_wikipedia: pd.DataFrame) -> None:
    kappa = fleiss_kappa(fleiss_wikipedia)
    assert kappa.value == pytest.approx(0.210, abs=5e-4)
    table = pd.crosstab(fleiss_wikipedia.item_id, fleiss_wikipedia.label).to_numpy()
    assert kappa.value == pytest.approx(sm_fleiss_kappa(table), abs=1e-12)


def test_fleiss_1971_psychiatric_diagnoses(fleiss_1971: pd.DataFrame, fleiss_1971_table: np.ndarray) -> None:
    kappa = fleiss_kappa(fleiss_1971)
    assert kappa.value == pytest.approx(0.430, abs=5e-4)
    assert kappa.value == pytest.approx(sm_fleiss_kappa(fleiss_1971_table), abs=1e-12)
    assert kappa.n == 30


# --------------------------------------------------------------------------- randomized


@settings(max_examples=50, deadline=None)
@given(label_frames())
def test_krippendorff_matches_package(df: pd.DataFrame) -> None:
    ours = krippendorff_alpha(df)
    if ours.value is None:
        # Undefined for us ⇔ the package refuses or divides 0 by 0.
        try:
            ref = krippendorff_reference(df)
        except ValueError:
            return
        assert np.isnan(ref)
        return
    assert ours.value == pytest.approx(krippendorff_reference(df), abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(fixed_k_frames())
def test_fleiss_matches_statsmodels_with_fixed_number_of_ratings(df: pd.DataFrame) -> None:
    ours = fleiss_kappa(df)
    table = pd.crosstab(df.item_id, df.label).to_numpy()
    if df.label.nunique() < 2:
        assert ours.value is None and "one category" in (ours.reason or "")
        return
    assert ours.value == pytest.approx(sm_fleiss_kappa(table), abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(label_frames())
def test_fleiss_matches_formula_with_varying_number_of_ratings(df: pd.DataFrame) -> None:
    ours = fleiss_kappa(df)
    ref = fleiss_reference(df)
    if ref is None:
        assert ours.value is None
    else:
        assert ours.value == pytest.approx(ref, abs=1e-9)


def test_fleiss_varying_ratings_where_statsmodels_refuses() -> None:
    # Item 0: 3 ratings, item 1: 2, item 2: 4. statsmodels asserts a fixed count (and under
    # `python -O` silently computes with the maximum instead).
    df = pd.DataFrame(
        {
            "item_id": [0, 0, 0, 1, 1, 2, 2, 2, 2],
            "user_id": ["a", "b", "c", "a", "b", "a", "b", "c", "d"],
            "label": ["x", "x", "y", "y", "y", "x", "x", "x", "y"],
        }
    )
    table = pd.crosstab(df.item_id, df.label).to_numpy()
    with pytest.raises(AssertionError):
        sm_fleiss_kappa(table)
    # P_i = 1/3, 1, 1/2; P̄ = 11/18; p = (5/9, 4/9); P_e = 41/81.
    expected = (11 / 18 - 41 / 81) / (1 - 41 / 81)
    assert fleiss_kappa(df).value == pytest.approx(expected, abs=1e-12)
    assert fleiss_kappa(df).value == pytest.approx(fleiss_reference(df), abs=1e-12)


# --------------------------------------------------------------------------- degenerate


@pytest.mark.parametrize("metric", [krippendorff_alpha, fleiss_kappa])
def test_degenerate_cases(metric: Callable[[pd.DataFrame], Metric]) -> None:
    empty = pd.DataFrame({"item_id": [], "user_id": [], "label": []})
    assert metric(empty).value is None and metric(empty).reason == "no labels"

    one_annotator = pd.DataFrame({"item_id": [1, 2, 3], "user_id": ["a"] * 3, "label": ["x", "y", "x"]})
    result = metric(one_annotator)
    assert result.value is None and result.reason == "no item has at least two labels"

    no_overlap = pd.DataFrame({"item_id": [1, 2], "user_id": ["a", "b"], "label": ["x", "y"]})
    assert metric(no_overlap).reason == "no item has at least two labels"

    one_category = pd.DataFrame(
        {"item_id": [1, 1, 2, 2, 3], "user_id": ["a", "b", "a", "b", "a"], "label": ["x", "x", "x", "x", "y"]}
    )
    result = metric(one_category)
    assert result.value is None and "only one category used" in (result.reason or "")
    assert result.n == 2


@pytest.mark.parametrize("metric", [krippendorff_alpha, fleiss_kappa])
def test_perfect_agreement_is_one(metric: Callable[[pd.DataFrame], Metric]) -> None:
    df = pd.DataFrame(
        {"item_id": [1, 1, 2, 2, 2, 3, 3], "user_id": list("ababcac"), "label": list("xxyyyzz")}
    )
    assert metric(df).value == pytest.approx(1.0, abs=1e-12)


def test_relabel_counts_once() -> None:
    base = pd.DataFrame(
        {"item_id": [1, 1, 2, 2], "user_id": ["a", "b", "a", "b"], "label": ["x", "y", "y", "y"]}
    )
    # "a" first disagreed on item 1, then changed to agree: only the last label counts.
    relabelled = pd.concat([pd.DataFrame({"item_id": [1], "user_id": ["a"], "label": ["z"]}), base])
    assert_same_metric(krippendorff_alpha(relabelled), krippendorff_alpha(base))
    assert_same_metric(fleiss_kappa(relabelled), fleiss_kappa(base))
