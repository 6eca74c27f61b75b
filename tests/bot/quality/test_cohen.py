"""Pairwise Cohen's kappa against scikit-learn's cohen_kappa_score on shared items."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from sklearn.metrics import cohen_kappa_score

from bot.quality import annotator_mean_kappa, mean_cohen_kappa, pairwise_cohen_kappa
from bot.quality.metrics import PAIR_COLUMNS

from .support import current, label_frames


def sklearn_pairs(df: pd.DataFrame) -> dict[tuple[str, str], tuple[int, float]]:
    """(user_a, user_b) → (n_shared, sklearn kappa) by looping over pairs."""
    cur = current(df)
    by_user = {user: g.set_index("item_id")["label"] for user, g in cur.groupby("user_id")}
    out = {}
    for a, b in itertools.combinations(sorted(by_user), 2):
        shared = by_user[a].index.intersection(by_user[b].index)
        if len(shared) == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kappa = cohen_kappa_score(by_user[a][shared].to_numpy(), by_user[b][shared].to_numpy())
        out[(a, b)] = (len(shared), float(kappa))
    return out


def test_wikipedia_example(cohen_wikipedia: pd.DataFrame) -> None:
    pairs = pairwise_cohen_kappa(cohen_wikipedia)
    assert list(pairs.columns) == list(PAIR_COLUMNS)
    row = pairs.iloc[0]
    assert (row.user_a, row.user_b, row.n_shared, row.n_agree) == ("A", "B", 50, 35)
    assert row.agreement == pytest.approx(0.7)
    assert row.kappa == pytest.approx(0.4, abs=1e-12)
    assert row.reason is None
    assert mean_cohen_kappa(cohen_wikipedia).value == pytest.approx(0.4, abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(label_frames(max_items=40, max_users=5))
def test_matches_sklearn_on_shared_items(df: pd.DataFrame) -> None:
    pairs = pairwise_cohen_kappa(df, min_overlap=1)
    ref = sklearn_pairs(df)
    assert set(zip(pairs.user_a, pairs.user_b, strict=True)) == set(ref)
    for row in pairs.itertuples():
        n_shared, kappa = ref[(row.user_a, row.user_b)]
        assert row.user_a < row.user_b
        assert row.n_shared == n_shared
        if np.isnan(kappa):
            assert np.isnan(row.kappa) and "same label" in row.reason
        else:
            assert row.kappa == pytest.approx(kappa, abs=1e-9)
            assert row.reason is None


@settings(max_examples=30, deadline=None)
@given(label_frames(max_items=40, max_users=5))
def test_mean_and_per_annotator_means(df: pd.DataFrame) -> None:
    min_overlap = 3
    ref = {
        pair: kappa
        for pair, (n, kappa) in sklearn_pairs(df).items()
        if n >= min_overlap and not np.isnan(kappa)
    }
    mean = mean_cohen_kappa(df, min_overlap=min_overlap)
    if ref:
        assert mean.value == pytest.approx(np.mean(list(ref.values())), abs=1e-9)
        assert mean.n == len(ref)
    else:
        assert mean.value is None and mean.reason
    per_user = annotator_mean_kappa(df, min_overlap=min_overlap)
    assert list(per_user.index) == sorted(current(df).user_id.unique())
    for user, value in per_user.items():
        mine = [k for (a, b), k in ref.items() if user in (a, b)]
        if mine:
            assert value == pytest.approx(np.mean(mine), abs=1e-9)
        else:
            assert np.isnan(value)


def test_min_overlap_reports_insufficient_pairs() -> None:
    df = pd.DataFrame(
        {
            "item_id": list(range(12)) + list(range(12)) + [0, 1],
            "user_id": ["a"] * 12 + ["b"] * 12 + ["c", "c"],
            "label": ["x", "y"] * 6 + ["x", "y"] * 5 + ["y", "x"] + ["x", "x"],
        }
    )
    pairs = pairwise_cohen_kappa(df).set_index(["user_a", "user_b"])
    assert pairs.loc[("a", "b"), "n_shared"] == 12
    assert pairs.loc[("a", "b"), "kappa"] == pytest.approx((10 / 12 - 0.5) / 0.5)
    for pair in [("a", "c"), ("b", "c")]:
        assert pairs.loc[pair, "n_shared"] == 2
        assert np.isnan(pairs.loc[pair, "kappa"])
        assert pairs.loc[pair, "reason"] == "only 2 shared items (min_overlap=10)"
    mean = mean_cohen_kappa(df)
    assert mean.value == pytest.approx(2 / 3) and mean.n == 1
    assert mean_cohen_kappa(df, min_overlap=13).reason == "no annotator pair shares at least 13 items"
    per_user = annotator_mean_kappa(df)
    assert per_user["a"] == pytest.approx(2 / 3) and np.isnan(per_user["c"])


def test_same_single_label_is_undefined_like_sklearn() -> None:
    df = pd.DataFrame({"item_id": [1, 1, 2, 2], "user_id": ["a", "b"] * 2, "label": ["x"] * 4})
    pairs = pairwise_cohen_kappa(df, min_overlap=1)
    assert np.isnan(pairs.kappa[0]) and "same label" in pairs.reason[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(cohen_kappa_score(["x", "x"], ["x", "x"]))
    assert mean_cohen_kappa(df, min_overlap=1).value is None
    assert "undefined" in (mean_cohen_kappa(df, min_overlap=1).reason or "")
    # Different constant labels: p_o = 0 = p_e, kappa 0 (as sklearn).
    df.loc[df.user_id == "b", "label"] = "y"
    assert pairwise_cohen_kappa(df, min_overlap=1).kappa[0] == pytest.approx(0.0)


def test_degenerate_inputs() -> None:
    empty = pd.DataFrame({"item_id": [], "user_id": [], "label": []})
    assert pairwise_cohen_kappa(empty).empty
    assert list(pairwise_cohen_kappa(empty).columns) == list(PAIR_COLUMNS)
    assert mean_cohen_kappa(empty).reason == "no labels"
    one = pd.DataFrame({"item_id": [1, 2], "user_id": ["a", "a"], "label": ["x", "y"]})
    assert pairwise_cohen_kappa(one).empty
    assert mean_cohen_kappa(one).reason == "fewer than two annotators"
    disjoint = pd.DataFrame({"item_id": [1, 2], "user_id": ["a", "b"], "label": ["x", "y"]})
    assert pairwise_cohen_kappa(disjoint).empty
    assert mean_cohen_kappa(disjoint).reason == "no two annotators share an item"
    assert annotator_mean_kappa(disjoint).isna().all()
    with pytest.raises(ValueError):
        pairwise_cohen_kappa(disjoint, min_overlap=0)


def test_many_annotators_vectorised() -> None:
    """All pairs of 100 annotators sharing items; a sample checked against sklearn."""
    rng = np.random.default_rng(7)
    n_items, n_users = 6000, 100
    truth = rng.integers(0, 4, n_items)
    users = np.argsort(rng.random((n_items, n_users)), axis=1)[:, :4]
    item = np.repeat(np.arange(n_items), 4)
    user = users.ravel()
    label = np.where(rng.random(len(item)) < 0.7, truth[item], rng.integers(0, 4, len(item)))
    df = pd.DataFrame(
        {"item_id": item, "user_id": [f"u{u:03d}" for u in user], "label": [f"c{x}" for x in label]}
    )
    pairs = pairwise_cohen_kappa(df, min_overlap=1)
    merged = df.merge(df, on="item_id")
    merged = merged[merged.user_id_x < merged.user_id_y]
    assert len(pairs) == merged.groupby(["user_id_x", "user_id_y"]).ngroups
    by_user = {u: g.set_index("item_id")["label"] for u, g in df.groupby("user_id")}
    for row in pairs.sample(100, random_state=1).itertuples():
        shared = by_user[row.user_a].index.intersection(by_user[row.user_b].index)
        ref = cohen_kappa_score(by_user[row.user_a][shared], by_user[row.user_b][shared])
        assert row.n_shared == len(shared)
        assert row.kappa == pytest.approx(ref, abs=1e-9)
