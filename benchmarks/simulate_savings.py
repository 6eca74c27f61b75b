"""Benchmark: human labels saved by active learning and by dynamic overlap (simulated).

Replays labeled data through bot.learning.simulate with simulated annotators and
reports, per data set:

* learning curves (macro-F1 on a held-out 30 % vs human labels) for random order vs
  uncertainty / margin / entropy sampling, one label per item;
* the labels uncertainty sampling needs to first reach the macro-F1 that random order
  has at the end of the budget, as a share of random's labels (target on the synthetic
  set: <= 60 %);
* fixed 3-way overlap vs dynamic overlap {min: 1, max: 3}: labels dynamic overlap needs
  to reach fixed overlap's final macro-F1, labels per item and consensus-label accuracy.

Every figure is given per seed and as the median over seeds; the PNGs show the
seed-averaged curves. Data sets: a balanced synthetic set, a skewed one (rarest class
10x less common) and, if given, Debian's fortunes corpus (8 topics). Get the corpus
without installing it:

    apt-get update && apt-get download fortunes && dpkg -x fortunes_*.deb /tmp/fortunes
    .venv/bin/python benchmarks/simulate_savings.py --fortunes /tmp/fortunes/usr/share/games/fortunes

Takes ~15-25 min on the 2-core machine with 3 seeds; ``--quick`` runs tiny sizes.
PNGs and a JSON of the figures go to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from bot.learning.corpora import DEFAULT_FORTUNE_TOPICS, load_fortunes, make_synthetic
from bot.learning.simulate import (
    SimulationConfig,
    SimulationResult,
    compare,
    mean_result,
    plot_learning_curves,
    simulate,
)
from bot.overlap import OverlapPolicy

__all__ = ["main"]

RESULTS = Path(__file__).resolve().parent / "results"
STRATEGY_ORDER = ("random", "uncertainty", "margin", "entropy")


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _pct(value: float | None) -> str:
    return "never" if value is None else f"{value:.0%}"


def run_strategies(
    name: str, data: pd.DataFrame, base: SimulationConfig, seeds: list[int], out: Path
) -> dict[str, Any]:
    """Random vs active strategies, one label per item; returns the figures."""
    runs: dict[str, list[SimulationResult]] = {s: [] for s in STRATEGY_ORDER}
    for seed in seeds:
        for strategy in STRATEGY_ORDER:
            start = time.perf_counter()
            cfg = replace(base, strategy=strategy, seed=seed)
            result = simulate(data["text"], data["label"], cfg, name=strategy)
            runs[strategy].append(result)
            print(
                f"  [{name}] seed {seed} {strategy:11s} final macro-F1 {result.final_f1:.3f} "
                f"after {result.total_labels} labels ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    figures: dict[str, Any] = {"config": _describe(base), "n_items": len(data), "strategies": {}}
    for strategy in STRATEGY_ORDER:
        per_seed = [compare(run, rnd) for run, rnd in zip(runs[strategy], runs["random"], strict=True)]
        shares = [c.share for c in per_seed]
        figures["strategies"][strategy] = {
            "final_f1": [r.final_f1 for r in runs[strategy]],
            "final_f1_median": statistics.median(r.final_f1 for r in runs[strategy]),
            "labels_to_reach_random_final": [c.candidate_labels for c in per_seed],
            "share_of_random_labels": shares,
            "share_median": _median(shares),
        }
    means = {s: mean_result(runs[s], name=s) for s in STRATEGY_ORDER}
    mean_share = compare(means["uncertainty"], means["random"]).share
    figures["uncertainty_share_on_mean_curves"] = mean_share
    png = plot_learning_curves(
        means,
        out / f"learning_curves_{name}.png",
        title=f"{name}: macro-F1 vs human labels (mean of {len(seeds)} seeds)",
        baseline="random",
    )
    figures["png"] = str(png)
    print(f"== {name}: uncertainty reaches random's final macro-F1 with")
    for strategy in STRATEGY_ORDER[1:]:
        fig = figures["strategies"][strategy]
        print(
            f"   {strategy:11s} {', '.join(_pct(s) for s in fig['share_of_random_labels'])} of random's labels "
            f"(median {_pct(fig['share_median'])}); final F1 median {fig['final_f1_median']:.3f} "
            f"vs random {figures['strategies']['random']['final_f1_median']:.3f}"
        )
    print(f"   uncertainty on seed-averaged curves: {_pct(mean_share)}  -> {png}", flush=True)
    return figures


def run_overlap(
    name: str, data: pd.DataFrame, base: SimulationConfig, seeds: list[int], out: Path
) -> dict[str, Any]:
    """Fixed 3-way overlap vs dynamic {min 1, max 3}, both with uncertainty sampling."""
    fixed_cfg = replace(base, strategy="uncertainty", overlap=3, dynamic=None)
    dynamic_cfg = replace(base, strategy="uncertainty", dynamic=OverlapPolicy(1, 3, 0.9, base.agreement))
    fixed_runs: list[SimulationResult] = []
    dynamic_runs: list[SimulationResult] = []
    for seed in seeds:
        for cfg, bucket, label in (
            (fixed_cfg, fixed_runs, "fixed overlap 3"),
            (dynamic_cfg, dynamic_runs, "dynamic overlap 1-3"),
        ):
            start = time.perf_counter()
            result = simulate(data["text"], data["label"], replace(cfg, seed=seed), name=label)
            bucket.append(result)
            print(
                f"  [{name}] seed {seed} {label:19s} final macro-F1 {result.final_f1:.3f}, "
                f"{result.labels_per_item:.2f} labels/item, consensus accuracy {result.label_accuracy:.3f} "
                f"({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    per_seed = [compare(d, f) for d, f in zip(dynamic_runs, fixed_runs, strict=True)]
    shares = [c.share for c in per_seed]
    figures: dict[str, Any] = {
        "config": _describe(base),
        "fixed": _overlap_figures(fixed_runs),
        "dynamic": _overlap_figures(dynamic_runs),
        "dynamic_labels_to_reach_fixed_final": [c.candidate_labels for c in per_seed],
        "fixed_total_labels": [c.baseline_labels for c in per_seed],
        "share_of_fixed_labels": shares,
        "share_median": _median(shares),
    }
    png = plot_learning_curves(
        [mean_result(fixed_runs), mean_result(dynamic_runs)],
        out / f"dynamic_overlap_{name}.png",
        title=f"{name}: fixed vs dynamic overlap, annotators {base.annotator_accuracy:.0%} accurate",
        baseline="fixed overlap 3",
    )
    figures["png"] = str(png)
    saved = _median([None if s is None else 1 - s for s in shares])
    print(
        f"== {name}: dynamic overlap reaches fixed overlap's final macro-F1 with "
        f"{', '.join(_pct(s) for s in shares)} of its labels (median saving {_pct(saved)}); "
        f"labels/item {figures['dynamic']['labels_per_item_median']:.2f} vs "
        f"{figures['fixed']['labels_per_item_median']:.2f}; consensus accuracy "
        f"{figures['dynamic']['label_accuracy_median']:.3f} vs {figures['fixed']['label_accuracy_median']:.3f}"
        f"  -> {png}",
        flush=True,
    )
    return figures


def _overlap_figures(runs: list[SimulationResult]) -> dict[str, Any]:
    return {
        "final_f1": [r.final_f1 for r in runs],
        "labels_per_item": [r.labels_per_item for r in runs],
        "labels_per_item_median": statistics.median(r.labels_per_item for r in runs),
        "label_accuracy": [r.label_accuracy for r in runs],
        "label_accuracy_median": statistics.median(r.label_accuracy for r in runs),
        "escalated_share": [r.escalated_share for r in runs],
    }


def _describe(cfg: SimulationConfig) -> dict[str, Any]:
    return {
        "initial_size": cfg.initial_size,
        "retrain_every": cfg.retrain_every,
        "label_budget": cfg.label_budget,
        "annotator_accuracy": cfg.annotator_accuracy,
        "explore": cfg.explore,
        "test_size": cfg.test_size,
        "agreement": cfg.agreement,
        "expert_accuracy": cfg.expert_accuracy,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fortunes", type=Path, default=None, help="directory of fortune topic files")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument(
        "--only",
        nargs="+",
        default=None,
        help="subset of: synthetic skewed fortunes overlap-synthetic overlap-fortunes",
    )
    args = parser.parse_args(argv)
    seeds = list(range(args.seeds))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only or ["synthetic", "skewed", "fortunes", "overlap-synthetic", "overlap-fortunes"])

    n_synth = 1200 if args.quick else 6000
    budget = 300 if args.quick else 1200
    # Annotators 90 % accurate, one label per item; the bot's default explore share.
    base = SimulationConfig(
        initial_size=40, retrain_every=40, label_budget=budget, annotator_accuracy=0.9, explore=0.1
    )
    overlap_base = replace(base, annotator_accuracy=0.8, label_budget=budget * 2)
    figures: dict[str, Any] = {"seeds": seeds}
    started = time.perf_counter()

    synthetic = make_synthetic(n_synth, 5, seed=0)
    if "synthetic" in wanted:
        figures["synthetic"] = run_strategies("synthetic", synthetic, base, seeds, out)
    if "skewed" in wanted:
        skewed = make_synthetic(n_synth, 5, seed=0, class_balance=0.1)
        figures["skewed"] = run_strategies("synthetic_skewed", skewed, base, seeds, out)
    if "overlap-synthetic" in wanted:
        figures["overlap_synthetic"] = run_overlap("synthetic", synthetic, overlap_base, seeds, out)

    if args.fortunes is not None and wanted & {"fortunes", "overlap-fortunes"}:
        fortunes = load_fortunes(args.fortunes, DEFAULT_FORTUNE_TOPICS)
        if args.quick:
            fortunes = fortunes.sample(1200, random_state=0)
        print(f"fortunes: {len(fortunes)} quotes, {fortunes['label'].value_counts().to_dict()}")
        if "fortunes" in wanted:
            figures["fortunes"] = run_strategies("fortunes", fortunes, base, seeds, out)
        if "overlap-fortunes" in wanted:
            figures["overlap_fortunes"] = run_overlap("fortunes", fortunes, overlap_base, seeds, out)
    elif args.fortunes is None:
        print("no --fortunes directory given: skipping the real corpus (see the module docstring)")

    figures["duration_s"] = round(time.perf_counter() - started, 1)
    name = "simulate_savings_quick.json" if args.quick else "simulate_savings.json"
    existing: dict[str, Any] = {}
    if (out / name).exists() and args.only:
        existing = json.loads((out / name).read_text())
    (out / name).write_text(json.dumps({**existing, **figures}, indent=2, default=str))
    print(f"done in {figures['duration_s']:.0f} s; figures in {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
