"""Benchmark: human labels saved by active learning and by dynamic overlap (simulated).

Replays labeled data through bot.learning.simulate (the bot's model, its ranking rebuilt every
``retrain_every`` labels and asked in order, ``explore``, the overlap rule) and prints the table
strategy x data set of the issue's protocol: one perfectly accurate annotator per item, a fixed
held-out 30 % per seed, a budget of 1,500 labels, "reaches" = the first evaluation whose
macro-F1 is at least random order's final one; the share of random's labels that takes (median
and spread over seeds; "never" counts as more than any), the final macro-F1, and the seconds per
retrain (fit + score the pool + order it). Data sets: three sets of fortunes topics (the default
strategy was chosen on ``six`` and is reported on the others), a balanced synthetic set and a
skewed one (rarest class 10x less common). Get the corpus without installing it:

    apt-get update && apt-get download fortunes && dpkg -x fortunes_*.deb /tmp/fortunes
    nice -n 10 .venv/bin/python benchmarks/simulate_savings.py --fortunes /tmp/fortunes/usr/share/games/fortunes

``--overlap`` adds fixed 3-way vs dynamic {min 1, max 3} overlap (annotators 80 % accurate).
``--quick`` runs tiny sizes. PNGs and a JSON of the figures go to benchmarks/results/.
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

import numpy as np
import pandas as pd

from bot.learning.corpora import load_fortunes, make_synthetic
from bot.learning.simulate import (
    SimulationConfig,
    SimulationResult,
    compare,
    mean_result,
    plot_learning_curves,
    simulate,
)
from bot.learning.strategies import DEFAULT_STRATEGY, STRATEGIES
from bot.overlap import OverlapPolicy

__all__ = ["FORTUNE_SETS", "main"]

RESULTS = Path(__file__).resolve().parent / "results"
#: Topic sets of Debian's fortunes; ``six`` chose the default, the others check it.
FORTUNE_SETS: dict[str, tuple[str, ...]] = {
    "six": ("computers", "science", "politics", "law", "food", "education"),
    "eight": ("computers", "science", "politics", "law", "food", "education", "sports", "work"),
    "other": ("art", "drugs", "love", "men-women", "medicine", "songs-poems", "wisdom", "kids"),
}


def _median(values: list[float | None]) -> float | None:
    """Median where None ("never reached") counts as larger than any share."""
    if not values:
        return None
    median = statistics.median(np.inf if v is None else v for v in values)
    return None if np.isinf(median) else float(median)


def _pct(value: float | None) -> str:
    return "never" if value is None else f"{value:.0%}"


def run_strategies(
    name: str, data: pd.DataFrame, base: SimulationConfig, strategies: list[str], seeds: list[int], out: Path
) -> dict[str, Any]:
    """Random order and each strategy on the same seeds; returns the figures per strategy."""
    order = ["random", *[s for s in strategies if s != "random"]]
    runs: dict[str, list[SimulationResult]] = {s: [] for s in order}
    for seed in seeds:
        for strategy in order:
            start = time.perf_counter()
            result = simulate(
                data["text"], data["label"], replace(base, strategy=strategy, seed=seed), name=strategy
            )
            runs[strategy].append(result)
            share = compare(result, runs["random"][-1]).share
            print(
                f"  [{name}] seed {seed} {strategy:16s} final macro-F1 {result.final_f1:.3f}, "
                f"{_pct(share)} of random's labels ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    figures: dict[str, Any] = {"n_items": len(data), "classes": data["label"].value_counts().to_dict()}
    for strategy in order:
        shares = [compare(run, rnd).share for run, rnd in zip(runs[strategy], runs["random"], strict=True)]
        figures[strategy] = {
            "share": shares,
            "share_median": _median(shares),
            "final_f1": [r.final_f1 for r in runs[strategy]],
            "final_f1_median": statistics.median(r.final_f1 for r in runs[strategy]),
            "retrain_s": float(np.mean([r.extra["retrain_s"] for r in runs[strategy]])),
        }
    png = plot_learning_curves(
        [mean_result(runs[s], name=s) for s in order],
        out / f"learning_curves_{name}.png",
        title=f"{name}: macro-F1 vs human labels (mean of {len(seeds)} seeds)",
        baseline="random",
    )
    figures["png"] = str(png)
    return figures


def table(figures: dict[str, dict[str, Any]], strategies: list[str]) -> str:
    """Strategy x data set: share of random's labels (median, spread), final F1, s per retrain."""
    rows = [["data set", "strategy", "share median", "spread", "final F1", "random's F1", "s/retrain"]]
    for dataset, fig in figures.items():
        for strategy in strategies:
            if strategy == "random" or strategy not in fig:
                continue
            f = fig[strategy]
            known = [s for s in f["share"] if s is not None]
            never = len(f["share"]) - len(known)
            spread = (f"{min(known):.0%}-{max(known):.0%}" if known else "-") + (
                f" +{never} never" if never else ""
            )
            rows.append(
                [
                    dataset,
                    strategy,
                    _pct(f["share_median"]),
                    spread,
                    f"{f['final_f1_median']:.3f}",
                    f"{fig['random']['final_f1_median']:.3f}",
                    f"{f['retrain_s']:.2f}",
                ]
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_overlap(
    name: str, data: pd.DataFrame, base: SimulationConfig, seeds: list[int], out: Path
) -> dict[str, Any]:
    """Fixed 3-way overlap vs dynamic {min 1, max 3}, both with the default strategy."""
    fixed_cfg = replace(base, strategy=DEFAULT_STRATEGY, overlap=3, dynamic=None, n_annotators=5)
    dynamic_cfg = replace(
        base, strategy=DEFAULT_STRATEGY, dynamic=OverlapPolicy(1, 3, 0.9, base.agreement), n_annotators=5
    )
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
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=1500)
    parser.add_argument(
        "--strategies", default=f"{DEFAULT_STRATEGY},uncertainty,margin,diverse,dense,badge,balanced-diverse"
    )
    parser.add_argument("--sets", nargs="+", default=[*FORTUNE_SETS, "synthetic", "skewed"])
    parser.add_argument("--explore", type=float, default=0.1, help="the bot's default share of random posts")
    parser.add_argument("--overlap", action="store_true", help="also fixed vs dynamic overlap")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--json", default=None, help="file name of the figures in --out [simulate_savings.json]"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    args = parser.parse_args(argv)
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        parser.error(f"unknown strategy {unknown[0]!r}; choose from {', '.join(STRATEGIES)}")
    seeds = list(range(args.seeds))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    budget = 300 if args.quick else args.budget
    base = SimulationConfig(
        initial_size=20,
        retrain_every=50,
        label_budget=budget,
        annotator_accuracy=1.0,
        expert_accuracy=None,
        explore=args.explore,
    )
    started = time.perf_counter()
    n_synth = 1200 if args.quick else 6000
    sets: dict[str, pd.DataFrame] = {}
    for name in args.sets:
        if name == "synthetic":
            sets[name] = make_synthetic(n_synth, 5, seed=0)
        elif name == "skewed":
            sets[name] = make_synthetic(n_synth, 5, seed=0, class_balance=0.1)
        elif name in FORTUNE_SETS:
            if args.fortunes is None:
                print(f"no --fortunes directory: skipping {name} (see the module docstring)")
                continue
            frame = load_fortunes(args.fortunes, FORTUNE_SETS[name])
            sets[f"fortunes-{name}"] = frame.sample(1200, random_state=0) if args.quick else frame
        else:
            parser.error(
                f"unknown data set {name!r}; choose from {', '.join([*FORTUNE_SETS, 'synthetic', 'skewed'])}"
            )
    figures: dict[str, Any] = {}
    for name, frame in sets.items():
        print(f"{name}: {len(frame)} texts, {frame['label'].value_counts().to_dict()}", flush=True)
        figures[name] = run_strategies(name, frame, base, strategies, seeds, out)
    print(f"\nbudget {budget} labels, retrain every 50, explore {args.explore}, {len(seeds)} seeds:")
    print(table(figures, strategies))
    overlap: dict[str, Any] = {}
    if args.overlap:
        noisy = replace(base, annotator_accuracy=0.8, expert_accuracy=0.95, label_budget=budget * 2)
        for name, frame in sets.items():
            overlap[name] = run_overlap(name, frame, noisy, seeds, out)
    result = {
        "seeds": seeds,
        "budget": budget,
        "explore": args.explore,
        "strategies": figures,
        "overlap": overlap,
        "duration_s": round(time.perf_counter() - started, 1),
    }
    name = args.json or ("simulate_savings_quick.json" if args.quick else "simulate_savings.json")
    (out / name).write_text(json.dumps(result, indent=2, default=str))
    print(f"done in {result['duration_s']:.0f} s; figures in {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
