"""Sampling formulas against hand-computed values, ranking and exploration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.learning.sampling import (
    LENGTH_FULL_WORDS,
    STRATEGIES,
    explore_mask,
    length_weight,
    priority,
    rank,
    score,
    select_batch,
)

PROBA = np.array([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2], [1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0]])


def test_uncertainty_is_one_minus_max() -> None:
    assert priority(PROBA, "uncertainty") == pytest.approx([0.3, 0.6, 2 / 3, 0.0])


def test_margin_is_one_minus_top_two_gap() -> None:
    assert priority(PROBA, "margin") == pytest.approx([0.5, 1.0, 1.0, 0.0])


def test_entropy_is_normalised_by_log_k() -> None:
    # -sum p ln p by hand: 0.7*0.356675 + 0.2*1.609438 + 0.1*2.302585 = 0.801819;
    # 2*0.4*0.916291 + 0.2*1.609438 = 1.054920; ln 3 = 1.098612.
    expected = [0.801819 / 1.098612, 1.054920 / 1.098612, 1.0, 0.0]
    assert priority(PROBA, "entropy") == pytest.approx(expected, abs=1e-6)


def test_binary_values() -> None:
    proba = [[0.9, 0.1], [0.5, 0.5]]
    assert priority(proba, "uncertainty") == pytest.approx([0.1, 0.5])
    assert priority(proba, "margin") == pytest.approx([0.2, 1.0])
    h = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1)) / math.log(2)
    assert priority(proba, "entropy") == pytest.approx([h, 1.0])


def test_single_class_gives_zero_priority() -> None:
    for strategy in ("uncertainty", "margin", "entropy"):
        assert priority([[1.0], [1.0]], strategy) == pytest.approx([0.0, 0.0])


def test_random_is_seeded_and_uniform() -> None:
    a = priority(np.full((1000, 3), 1 / 3), "random", rng=7)
    b = priority(np.full((1000, 3), 1 / 3), "random", rng=7)
    c = priority(np.full((1000, 3), 1 / 3), "random", rng=8)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() < 1
    assert a.mean() == pytest.approx(0.5, abs=0.05)


def test_score_returns_label_confidence_priority() -> None:
    result = score(PROBA, ["a", "b", "c"], "uncertainty")
    assert list(result.label) == ["a", "a", "a", "a"]  # ties -> first class
    assert result.confidence == pytest.approx([0.7, 0.4, 1 / 3, 1.0])
    assert result.priority == pytest.approx(1 - result.confidence)
    empty = score(np.empty((0, 2)), ["a", "b"])
    assert empty.label.size == empty.confidence.size == empty.priority.size == 0


@pytest.mark.parametrize(
    "proba",
    [[0.5, 0.5], [[0.5, 0.6]], [[1.2, -0.2]], [[np.nan, 1.0]], np.ones((2, 2, 2))],
)
def test_invalid_probabilities_are_refused(proba: object) -> None:
    with pytest.raises(ValueError):
        priority(proba, "uncertainty")  # type: ignore[arg-type]


def test_unknown_strategy_and_class_count_mismatch() -> None:
    with pytest.raises(ValueError, match="unknown sampling strategy"):
        priority(PROBA, "confusion")
    with pytest.raises(ValueError, match="classes"):
        score(PROBA, ["a", "b"])


def test_rank_breaks_ties_by_import_order() -> None:
    pri = [0.5, 0.9, 0.5, 0.9, 0.1]
    assert list(rank(pri)) == [1, 3, 0, 2, 4]
    assert list(rank(pri, import_seq=[40, 30, 20, 10, 0])) == [3, 1, 2, 0, 4]
    with pytest.raises(ValueError):
        rank(pri, import_seq=[1, 2])


def test_explore_mask_rate_and_seed() -> None:
    assert not explore_mask(100, 0.0, rng=1).any()
    assert explore_mask(100, 1.0, rng=1).all()
    a = explore_mask(10_000, 0.1, rng=3)
    assert np.array_equal(a, explore_mask(10_000, 0.1, rng=3))
    assert 0.09 < a.mean() < 0.11
    with pytest.raises(ValueError):
        explore_mask(3, 1.5)


def test_select_batch_without_exploration_takes_the_top() -> None:
    pri = np.array([0.1, 0.9, 0.5, 0.9, 0.7])
    assert list(select_batch(pri, 3, explore=0.0)) == [1, 3, 4]
    assert sorted(select_batch(pri, 10, explore=0.0)) == [0, 1, 2, 3, 4]
    assert select_batch(pri, 0).size == 0


def test_select_batch_exploration_is_seeded_and_distinct() -> None:
    pri = np.linspace(0, 1, 200)
    a = select_batch(pri, 50, explore=0.5, rng=11)
    assert np.array_equal(a, select_batch(pri, 50, explore=0.5, rng=11))
    assert len(set(a.tolist())) == 50
    explored = select_batch(pri, 50, explore=1.0, rng=11)
    assert not set(explored.tolist()) <= set(range(150, 200))  # not just the top 50


probabilities = st.integers(1, 6).flatmap(
    lambda k: st.lists(
        st.lists(st.floats(0.0, 1.0), min_size=k, max_size=k).filter(lambda row: sum(row) > 1e-3),
        min_size=1,
        max_size=20,
    )
)


@settings(max_examples=60, deadline=None)
@given(probabilities)
def test_priorities_are_in_unit_interval_and_row_local(rows: list[list[float]]) -> None:
    p = np.array(rows)
    p = p / p.sum(axis=1, keepdims=True)
    for strategy in STRATEGIES:
        pri = priority(p, strategy, rng=0)
        assert pri.shape == (len(rows),)
        assert np.all(pri >= -1e-12) and np.all(pri <= 1 + 1e-12)
    for strategy in ("uncertainty", "margin", "entropy"):
        # A row's priority depends on that row only, not on its neighbours or column order.
        assert priority(p[::-1], strategy) == pytest.approx(priority(p, strategy)[::-1])
        assert priority(p[:, ::-1], strategy) == pytest.approx(priority(p, strategy))


def test_length_weight_is_the_capped_power_of_the_word_count() -> None:
    texts = ["one", "two words", " ".join(["w"] * 125), " ".join(["w"] * 500), " ".join(["w"] * 900), ""]
    assert length_weight(texts, 0.5) == pytest.approx(
        [math.sqrt(1 / 500), math.sqrt(2 / 500), 0.5, 1, 1, math.sqrt(1 / 500)]
    )
    assert length_weight(texts, 1.0, full=4) == pytest.approx([0.25, 0.5, 1.0, 1.0, 1.0, 0.25])
    # Words are split on any run of whitespace.
    assert length_weight(["a\tb\n c  d"], 1.0, full=8) == pytest.approx([0.5])
    assert length_weight(texts, 0).tolist() == [1.0] * 6  # off
    assert LENGTH_FULL_WORDS == 500
    with pytest.raises(ValueError, match="power >= 0"):
        length_weight(texts, -0.5)


def test_score_weighs_every_priority_but_random() -> None:
    weight = np.array([1.0, 0.5, 0.25, 1.0])
    plain = score(PROBA, ["a", "b", "c"], "margin")
    weighted = score(PROBA, ["a", "b", "c"], "margin", weight=weight)
    assert weighted.priority == pytest.approx(plain.priority * weight)
    assert weighted.label.tolist() == plain.label.tolist()  # labels and confidences are the model's
    assert weighted.confidence == pytest.approx(plain.confidence)
    rnd = score(PROBA, ["a", "b", "c"], "random", rng=3, weight=weight)
    assert rnd.priority == pytest.approx(score(PROBA, ["a", "b", "c"], "random", rng=3).priority)
    with pytest.raises(ValueError, match="3 weights for 4 priorities"):
        score(PROBA, ["a", "b", "c"], "margin", weight=weight[:3])
