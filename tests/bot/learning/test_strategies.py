"""Strategies as orderings: every item once, the batch-aware ones change only the top."""

from __future__ import annotations

import typing

import numpy as np
import pytest
import scipy.sparse as sp

from bot.config import ModelConfig, Strategy
from bot.learning.strategies import DEFAULT_STRATEGY, STRATEGIES, cold_start_order, order


def _proba(n: int = 300, k: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(k), size=n)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_orders_every_item_once(strategy: str) -> None:
    p = _proba()
    ranked = order(p, strategy, class_counts=[10, 1, 30], batch=20, top_m=100, rng=0)
    assert sorted(ranked.tolist()) == list(range(len(p)))
    again = order(p, strategy, class_counts=[10, 1, 30], batch=20, top_m=100, rng=0)
    assert ranked.tolist() == again.tolist()  # seeded: the same ranking twice


@pytest.mark.parametrize("strategy", ["diverse", "dense", "badge", "balanced", "balanced-diverse"])
def test_batch_strategies_only_reorder_the_top_candidates(strategy: str) -> None:
    p = _proba(500)
    margin = order(p, "margin")
    ranked = order(p, strategy, class_counts=[1, 20, 20], batch=10, top_m=50, rng=1)
    assert set(ranked[:50].tolist()) == set(margin[:50].tolist())
    assert ranked[50:].tolist() == margin[50:].tolist()


def test_balanced_asks_for_the_rare_class_first_then_falls_back_to_margin() -> None:
    p = _proba(400)
    ranked = order(p, "balanced", class_counts=[30, 2, 30], batch=20, top_m=200)
    top = order(p, "margin")[:200]
    by_rare = top[np.argsort(-p[top, 1], kind="stable")]
    assert ranked[:10].tolist() == by_rare[:10].tolist()  # half the batch: the likeliest rare items
    assert order(p, "balanced", class_counts=[30, 25, 30], batch=20).tolist() == order(p, "margin").tolist()


@pytest.mark.parametrize("strategy", [s for s in STRATEGIES if s != "random"])
def test_a_weight_reorders_by_weighted_uncertainty(strategy: str) -> None:
    """Equal uncertainty, unequal weight (e.g. text length): the heavier item is asked first."""
    p = np.tile([[0.5, 0.3, 0.2]], (40, 1))
    p[20:] = [[0.9, 0.05, 0.05]]  # twenty confident items
    weight = np.ones(40)
    weight[7] = weight[13] = 3.0
    plain = order(p, strategy, class_counts=[5, 5, 5], batch=4, top_m=20, rng=0)
    heavy = order(p, strategy, class_counts=[5, 5, 5], batch=4, top_m=20, rng=0, weight=weight)
    assert plain[:2].tolist() != [7, 13]
    if strategy not in ("diverse", "badge", "balanced-diverse"):  # covers spread picks, not sort them
        assert heavy[:2].tolist() == [7, 13]
    else:
        assert {7, 13} <= set(heavy[:4].tolist())
    same = order(p, strategy, class_counts=[5, 5, 5], batch=4, top_m=20, rng=0, weight=np.ones(40))
    assert same.tolist() == plain.tolist()


def test_a_weight_leaves_random_order_alone() -> None:
    p = _proba(50)
    weight = np.linspace(0.1, 1.0, 50)
    assert order(p, "random", rng=4, weight=weight).tolist() == order(p, "random", rng=4).tolist()


def test_diverse_spreads_a_batch_over_distinct_items() -> None:
    """Ten copies of one uncertain text and ten distinct ones: a batch takes one copy, not ten."""
    p = np.tile([[0.5, 0.5]], (20, 1))
    p[10:] = [[0.55, 0.45]]  # the distinct ones are slightly less uncertain
    features = np.zeros((20, 11))
    features[:10, 0] = 1.0  # ten duplicates
    features[np.arange(10, 20), np.arange(1, 11)] = 1.0
    embed = lambda positions: sp.csr_matrix(features[positions])  # noqa: E731
    assert order(p, "margin")[:5].tolist() == [0, 1, 2, 3, 4]
    picked = order(p, "diverse", embed=embed, batch=5, top_m=20)[:5]
    assert sum(int(i) < 10 for i in picked) == 1


def test_cold_start_spreads_the_first_labels() -> None:
    texts = ["apple banana cherry"] * 50 + ["engine wheel brake"] * 5 + ["court judge law"] * 5
    first = cold_start_order(texts, 3)[:3]
    assert {t.split()[0] for t in (texts[int(i)] for i in first)} == {"apple", "engine", "court"}
    assert sorted(cold_start_order(texts, 3).tolist()) == list(range(len(texts)))


def test_unknown_strategy_and_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown strategy 'smart'"):
        order(_proba(), "smart")
    with pytest.raises(ValueError, match="same length"):
        order(_proba(10), "margin", import_seq=[1, 2])


def test_config_length_power_defaults_to_the_measured_one_and_is_checked() -> None:
    from pydantic import ValidationError

    from bot.learning.sampling import LENGTH_POWER

    assert ModelConfig().length_power == LENGTH_POWER == 0.5
    assert ModelConfig(length_power=0).length_power == 0
    for bad in (-0.5, 3, "long"):
        with pytest.raises(ValidationError, match="length_power"):
            ModelConfig.model_validate({"length_power": bad})


def test_config_strategies_are_the_learning_strategies() -> None:
    assert set(typing.get_args(Strategy)) == set(STRATEGIES)
    assert ModelConfig().strategy == DEFAULT_STRATEGY
    assert ModelConfig.model_validate({"sampling": "margin"}).strategy == "margin"  # the old name
    with pytest.raises(ValueError, match="strategy"):
        ModelConfig.model_validate({"strategy": "smart"})
    with pytest.raises(ValueError, match="old name"):
        ModelConfig.model_validate({"strategy": "margin", "sampling": "margin"})


def test_config_char_ngrams_default_to_auto_and_accept_a_choice() -> None:
    assert ModelConfig().char_ngrams == "auto"
    assert ModelConfig.model_validate({"char_ngrams": False}).char_ngrams is False
    assert ModelConfig.model_validate({"char_ngrams": True}).char_ngrams is True
    with pytest.raises(ValueError, match="char_ngrams"):
        ModelConfig.model_validate({"char_ngrams": "sometimes"})
