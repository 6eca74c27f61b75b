"""Simulation: determinism, the active-learning effect, dynamic overlap, and the plot."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bot.learning.corpora import make_synthetic
from bot.learning.simulate import (
    SimulationConfig,
    SimulationResult,
    compare,
    labels_to_reach,
    mean_result,
    plot_learning_curves,
    simulate,
)
from bot.overlap import OverlapPolicy

SMALL: dict[str, Any] = {"retrain_every": 20, "initial_size": 20, "seed": 0}


@pytest.fixture(scope="module")
def skewed() -> pd.DataFrame:
    """1,000 texts, 4 classes, the rarest 10x less common than the most common."""
    return make_synthetic(1000, 4, seed=0, class_balance=0.1)


@pytest.fixture(scope="module")
def random_run(skewed: pd.DataFrame) -> SimulationResult:
    cfg = SimulationConfig(strategy="random", label_budget=200, annotator_accuracy=1.0, **SMALL)
    return simulate(skewed["text"], skewed["label"], cfg)


@pytest.fixture(scope="module")
def uncertainty_run(skewed: pd.DataFrame) -> SimulationResult:
    cfg = SimulationConfig(strategy="uncertainty", label_budget=200, annotator_accuracy=1.0, **SMALL)
    return simulate(skewed["text"], skewed["label"], cfg)


def test_simulation_is_deterministic(skewed: pd.DataFrame, uncertainty_run: SimulationResult) -> None:
    cfg = SimulationConfig(strategy="uncertainty", label_budget=200, annotator_accuracy=1.0, **SMALL)
    again = simulate(skewed["text"], skewed["label"], cfg)
    assert np.array_equal(again.labels_spent, uncertainty_run.labels_spent)
    assert np.array_equal(again.macro_f1, uncertainty_run.macro_f1)
    other_seed = simulate(skewed["text"], skewed["label"], replace(cfg, seed=1))
    assert not np.array_equal(other_seed.macro_f1, uncertainty_run.macro_f1)


def test_curve_shape_and_budget(random_run: SimulationResult) -> None:
    assert random_run.labels_spent[0] == 20  # first model after the cold-start batch
    assert np.all(np.diff(random_run.labels_spent) > 0)
    assert random_run.total_labels == 200
    assert random_run.labels_per_item == pytest.approx(1.0)
    assert random_run.label_accuracy == pytest.approx(1.0)
    assert random_run.n_test == 300
    assert np.all((random_run.macro_f1 >= 0) & (random_run.macro_f1 <= 1))


def test_uncertainty_beats_random_on_a_skewed_synthetic_set(
    random_run: SimulationResult, uncertainty_run: SimulationResult
) -> None:
    # Fixed seed, no timing involved: the same numbers on every run of this machine's stack.
    assert uncertainty_run.final_f1 > random_run.final_f1 + 0.05
    comparison = compare(uncertainty_run, random_run)
    assert comparison.target_f1 == pytest.approx(random_run.final_f1)
    assert comparison.baseline_labels == 200
    assert comparison.share is not None and comparison.share <= 0.6


def test_dynamic_overlap_spends_fewer_labels_per_item() -> None:
    data = make_synthetic(1000, 3, seed=0)
    common: dict[str, Any] = {"label_budget": 450, "annotator_accuracy": 0.8, **SMALL}
    fixed = simulate(data["text"], data["label"], SimulationConfig(overlap=3, **common))
    dynamic = simulate(
        data["text"], data["label"], SimulationConfig(dynamic=OverlapPolicy(1, 3, 0.9, 0.66), **common)
    )
    assert fixed.labels_per_item >= 3.0  # plus an expert label for the escalated items
    assert dynamic.labels_per_item < 2.7
    assert dynamic.n_resolved[-1] > fixed.n_resolved[-1]
    assert dynamic.label_accuracy > fixed.label_accuracy - 0.05
    assert 0 < fixed.escalated_share < 0.2


def test_expert_free_resolution_and_plurality() -> None:
    data = make_synthetic(400, 3, seed=1)
    cfg = SimulationConfig(overlap=2, expert_accuracy=None, label_budget=100, annotator_accuracy=0.6, **SMALL)
    result = simulate(data["text"], data["label"], cfg)
    assert result.escalated_share == 0
    assert result.labels_per_item == pytest.approx(2.0)


def make_result(name: str, labels: list[int], f1: list[float]) -> SimulationResult:
    return SimulationResult(
        name=name,
        config=SimulationConfig(),
        labels_spent=np.array(labels),
        n_resolved=np.array(labels),
        macro_f1=np.array(f1),
        accuracy=np.array(f1),
        label_accuracy=1.0,
        labels_per_item=1.0,
        escalated_share=0.0,
    )


def test_labels_to_reach_and_compare_by_hand() -> None:
    base = make_result("random", [100, 200, 300, 400], [0.5, 0.6, 0.7, 0.75])
    fast = make_result("uncertainty", [100, 200, 300, 400], [0.55, 0.76, 0.74, 0.8])
    slow = make_result("slow", [100, 200], [0.1, 0.2])
    assert labels_to_reach(fast, 0.75) == 200
    assert labels_to_reach(slow, 0.75) is None
    comparison = compare(fast, base)
    assert (comparison.candidate_labels, comparison.baseline_labels) == (200, 400)
    assert comparison.share == pytest.approx(0.5)
    assert compare(slow, base).share is None


def test_plot_writes_a_png(
    tmp_path: Path, random_run: SimulationResult, uncertainty_run: SimulationResult
) -> None:
    out = plot_learning_curves(
        {"random": random_run, "uncertainty": uncertainty_run},
        tmp_path / "plots" / "curves.png",
        baseline=random_run.name,
    )
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


@pytest.mark.parametrize(
    "bad",
    [
        {"strategy": "greedy"},
        {"overlap": 0},
        {"overlap": 6},
        {"annotator_accuracy": (0.9, 0.8)},
        {"annotator_accuracy": 1.2},
        {"label_budget": 0},
        {"agreement": 0.0},
        {"expert_accuracy": 2.0},
        {"dynamic": OverlapPolicy(1, 6)},
        {"char_ngrams": "sometimes"},
        {"length_power": -0.1},
        {"length_power": 3.0},
    ],
)
def test_config_validation(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SimulationConfig(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("setting", "expected"), [("auto", {True}), (False, {False}), (True, {True})])
def test_the_default_model_is_chosen_as_the_bot_chooses_it(
    skewed: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, setting: object, expected: set[bool]
) -> None:
    """Without a factory the simulation trains the bot's default model: character n-grams on a
    small pool under "auto" (bot.learning.pipeline.wants_char_ngrams), as the project set it otherwise."""
    import bot.learning.simulate as simulate_module

    asked: list[bool] = []
    real = simulate_module.build_default_pipeline

    def spy(char_ngrams: bool = False) -> Any:
        asked.append(char_ngrams)
        return real(char_ngrams=False)  # the word model, to keep the test fast

    monkeypatch.setattr(simulate_module, "build_default_pipeline", spy)
    cfg = SimulationConfig(label_budget=60, annotator_accuracy=1.0, char_ngrams=setting, **SMALL)  # type: ignore[arg-type]
    simulate(skewed["text"], skewed["label"], cfg)
    assert len(asked) == 3 and set(asked) == expected


@pytest.mark.parametrize("power", [0.5, 0.0])
def test_the_ranking_is_weighted_by_text_length_as_the_bot_weighs_it(
    skewed: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, power: float
) -> None:
    """Every ranking gets the pending texts' length_weight, as score_items stores it."""
    from bot.learning import strategies
    from bot.learning.sampling import length_weight

    seen: list[np.ndarray] = []
    real = strategies.order

    def spy(proba: np.ndarray, strategy: str, **kw: Any) -> np.ndarray:
        seen.append(np.asarray(kw["weight"]))
        return real(proba, strategy, **kw)

    monkeypatch.setattr(strategies, "order", spy)
    texts = [t if i % 3 else f"{t} {t} {t}" for i, t in enumerate(skewed["text"])]  # lengths vary
    cfg = SimulationConfig(label_budget=60, annotator_accuracy=1.0, length_power=power, **SMALL)
    simulate(texts, skewed["label"], cfg)
    assert len(seen) == 3
    weights = np.concatenate(seen)
    if power == 0:
        assert np.all(weights == 1.0)
    else:
        assert weights.min() > 0 and weights.max() <= 1 and len(np.unique(weights)) > 1
        assert set(np.round(weights, 9)) <= set(np.round(length_weight(texts, power), 9))


def test_counts_kept_across_retrains_give_the_same_model(skewed: pd.DataFrame) -> None:
    """The simulation's per-text n-gram counts (``_NgramCounts``) change its speed, not its model."""
    from bot.learning.pipeline import build_default_pipeline
    from bot.learning.simulate import _cache_counts

    texts = [*skewed["text"], "Ünïcode tëxt, too", "a  b\tc", "x"]
    labels = np.asarray([*skewed["label"], "class_0", "class_1", "class_2"])
    caches: dict[Any, Any] = {}
    # Overlapping fits and scorings: later ones find some texts counted already, others not.
    for fit, score in (
        (slice(0, 200), slice(200, 600)),
        (slice(100, 500), slice(0, None)),
        (slice(-203, None), slice(0, 300)),
    ):
        for char in (True, False):
            plain = build_default_pipeline(char_ngrams=char).fit(texts[fit], labels[fit])
            kept = _cache_counts(build_default_pipeline(char_ngrams=char), caches).fit(
                texts[fit], labels[fit]
            )
            assert (plain[:-1].transform(texts[score]) != kept[:-1].transform(texts[score])).nnz == 0
            assert np.array_equal(plain[-1].coef_, kept[-1].coef_)
            assert np.array_equal(plain.predict_proba(texts[score]), kept.predict_proba(texts[score]))
    assert caches  # the counts were kept


def test_simulate_input_validation() -> None:
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        simulate(["a", "b"], ["x"])
    with pytest.raises(ValueError, match="at least 2 classes"):
        simulate(["a", "b"], ["x", "x"])


def test_mean_result_interpolates_on_the_first_grid() -> None:
    a = make_result("a", [100, 200, 300], [0.5, 0.6, 0.7])
    b = make_result("b", [150, 250, 350], [0.4, 0.6, 0.8])
    mean = mean_result([a, b], name="mean")
    assert list(mean.labels_spent) == [200, 300]
    # b at 200 is 0.5 and at 300 is 0.7 by interpolation.
    assert mean.macro_f1 == pytest.approx([0.55, 0.7])
    assert mean.extra == {"n_runs": 2}
    with pytest.raises(ValueError):
        mean_result([])
