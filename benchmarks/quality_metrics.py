"""Benchmark: label-quality metrics on a million labels, against the reference libraries.

Generates a realistic export (300,000 items, 200 annotators of varying activity and
accuracy, 5 labels with structured confusions, 3-4 annotators per item, 2 % gold items,
final labels on 95 % of items), writes and reloads it as Parquet, then times, as the
median of ``--repeats`` runs:

* every metric of :mod:`bot.quality.metrics` called on the DataFrame on its own (each
  encodes the frame itself) and on a pre-encoded :class:`~bot.quality.data.LabelData`;
* :func:`bot.quality.summary.summarize_quality`, the whole set from the DataFrame with one
  encoding (target: under 2 s);
* :class:`bot.quality.dawid_skene.DawidSkene` on all labels and on a 300,000-label subset;
* the reference libraries on the same numbers where feasible: the ``krippendorff``
  package (from its value-count matrix), statsmodels' ``fleiss_kappa`` (only on the items
  with exactly three labels: it refuses varying counts), and scikit-learn's
  ``cohen_kappa_score`` looped over a sample of annotator pairs, extrapolated to all pairs.

Prints a table and, last, one JSON line. Not a test: run it by hand,
``.venv/bin/python benchmarks/quality_metrics.py [--repeats 5] [--items 300000] ...``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.quality import (
    DawidSkene,
    LabelData,
    annotator_stats,
    confused_pairs,
    confusion_matrix,
    fleiss_kappa,
    gold_accuracy,
    krippendorff_alpha,
    mean_cohen_kappa,
    pairwise_cohen_kappa,
    summarize_quality,
)

__all__ = ["generate_export", "main"]

LABELS = np.array(["billing", "bug", "feature", "other", "question"], dtype=object)
OUT = Path(__file__).resolve().parent / "out"


def generate_export(
    n_items: int = 300_000, n_users: int = 200, n_labels: int = 1_000_000, seed: int = 0
) -> pd.DataFrame:
    """A synthetic label export with exactly ``n_labels`` rows (3 or 4 labels per item)."""
    rng = np.random.default_rng(seed)
    k = len(LABELS)
    extra = n_labels - 3 * n_items
    if not 0 <= extra <= n_items:
        raise ValueError("n_labels must be between 3 and 4 labels per item")
    per_item = np.full(n_items, 3)
    per_item[rng.choice(n_items, size=extra, replace=False)] = 4

    # Annotators: activity heavy-tailed, accuracy mostly good with a weak tail.
    activity = rng.pareto(1.5, n_users) + 1.0
    activity /= activity.sum()
    accuracy = np.clip(rng.beta(8, 2, n_users), 0.45, 0.98)
    chosen = rng.choice(n_users, size=(n_items, 4), p=activity)
    while True:  # redraw items whose annotators repeat
        ordered = np.sort(chosen, axis=1)
        clash = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not clash.any():
            break
        chosen[clash] = rng.choice(n_users, size=(int(clash.sum()), 4), p=activity)
    mask = np.arange(4)[None, :] < per_item[:, None]
    item = np.broadcast_to(np.arange(n_items)[:, None], (n_items, 4))[mask]
    user = chosen[mask]

    prior = np.array([0.2, 0.3, 0.15, 0.1, 0.25])
    truth = rng.choice(k, size=n_items, p=prior)
    right = rng.random(len(item)) < accuracy[user]
    # Mistakes are mostly "neighbouring" labels, so some pairs are confused far more often.
    shift = rng.choice([1, k - 1, 2], size=len(item), p=[0.5, 0.35, 0.15])
    label = np.where(right, truth[item], (truth[item] + shift) % k)

    votes = np.zeros((n_items, k), dtype=np.int64)
    np.add.at(votes, (item, label), 1)
    final = np.where(rng.random(n_items) < 0.95, LABELS[votes.argmax(axis=1)], None)
    gold = np.where(rng.random(n_items) < 0.02, LABELS[truth], None)

    item_ids = np.array([f"item-{i:07d}" for i in range(n_items)], dtype=object)
    alphabet = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"))
    user_ids = np.array(["U0" + "".join(rng.choice(alphabet, 8)) for _ in range(n_users)], dtype=object)
    order = rng.permutation(len(item))  # rows arrive in time order, not item order
    item, user, label = item[order], user[order], label[order]
    return pd.DataFrame(
        {
            "item_id": item_ids[item],
            "user_id": user_ids[user],
            "label": LABELS[label],
            "final_label": final[item],
            "gold_label": gold[item],
        }
    )


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time over ``repeats`` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def value(result: Any) -> Any:
    if isinstance(result, float | np.floating):
        return float(result)
    if hasattr(result, "value"):
        return result.value
    if isinstance(result, pd.DataFrame | list):
        return f"{len(result)} rows"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300_000)
    parser.add_argument("--annotators", type=int, default=200)
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--ds-repeats", type=int, default=3)
    parser.add_argument("--sklearn-pairs", type=int, default=300, help="pairs to time with sklearn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-reference", action="store_true", help="skip the reference libraries")
    args = parser.parse_args(argv)

    OUT.mkdir(exist_ok=True)
    path = OUT / "quality_labels.parquet"
    start = time.perf_counter()
    generate_export(args.items, args.annotators, args.labels, args.seed).to_parquet(path, index=False)
    generated = time.perf_counter() - start
    df = pd.read_parquet(path)
    print(
        f"export: {len(df):,} labels, {df.item_id.nunique():,} items, {df.user_id.nunique()} annotators, "
        f"{df.gold_label.notna().sum():,} labels on gold items (generated in {generated:.1f} s; {path})"
    )
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}; "
        f"median of {args.repeats} runs\n"
    )

    rows: list[dict[str, Any]] = []

    def record(name: str, seconds: float, result: Any, note: str = "") -> None:
        rows.append({"name": name, "seconds": round(seconds, 4), "value": value(result), "note": note})
        shown = value(result)
        shown = f"{shown:.6f}" if isinstance(shown, float) else (shown or "")
        print(f"  {name:<44} {seconds * 1000:>9.1f} ms  {shown!s:<14} {note}")

    print("ours, whole set from the DataFrame (one encoding)")
    t, summary = timed(lambda: summarize_quality(df), args.repeats)
    record("summarize_quality(df)", t, None, "all metrics below, target < 2 s")

    print("\nours, each metric on the DataFrame (each encodes the frame)")
    metrics: list[tuple[str, Callable[[Any], Any]]] = [
        ("krippendorff_alpha", krippendorff_alpha),
        ("fleiss_kappa", fleiss_kappa),
        ("pairwise_cohen_kappa", pairwise_cohen_kappa),
        ("mean_cohen_kappa", mean_cohen_kappa),
        ("annotator_stats", annotator_stats),
        ("confusion_matrix", confusion_matrix),
        ("confused_pairs", confused_pairs),
        ("gold_accuracy", gold_accuracy),
    ]
    separate = 0.0
    for name, fn in metrics:
        t, result = timed(lambda fn=fn: fn(df), args.repeats)
        separate += t
        record(f"{name}(df)", t, result)
    record("sum of the above", separate, None)

    print("\nours, on a pre-encoded LabelData")
    t, data = timed(lambda: LabelData.from_frame(df), args.repeats)
    record("LabelData.from_frame(df)", t, None, "the shared encoding")
    for name, fn in metrics:
        t, result = timed(lambda fn=fn: fn(data), args.repeats)
        record(f"{name}(data)", t, result)

    print("\nDawid-Skene (alpha=0.2, tol=1e-10: run to convergence)")
    t, model = timed(lambda: DawidSkene().fit(data), args.ds_repeats)
    record(
        f"DawidSkene().fit, {len(data):,} labels",
        t,
        None,
        f"{model.n_iter_} iterations, converged={model.converged_}, "
        f"{1000 * t / max(model.n_iter_, 1):.1f} ms/iteration",
    )
    subset_items = df.item_id.unique()[: int(len(df.item_id.unique()) * 0.3)]
    subset = LabelData.from_frame(df[df.item_id.isin(subset_items)])
    t, small_model = timed(lambda: DawidSkene().fit(subset), args.ds_repeats)
    record(
        f"DawidSkene().fit, {len(subset):,} labels",
        t,
        None,
        f"{small_model.n_iter_} iterations, converged={small_model.converged_}",
    )

    reference: dict[str, Any] = {}
    if not args.no_reference:
        reference = run_references(df, data, summary, args, record)

    print(
        "\nvalues: "
        + ", ".join(
            f"{k}={getattr(summary, k).value:.6f}"
            for k in ("krippendorff_alpha", "fleiss_kappa", "mean_cohen_kappa", "gold_accuracy")
        )
    )
    print(
        json.dumps(
            {
                "benchmark": "quality_metrics",
                "labels": len(df),
                "items": int(df.item_id.nunique()),
                "annotators": int(df.user_id.nunique()),
                "repeats": args.repeats,
                "timings": rows,
                "reference_checks": reference,
            }
        )
    )
    return 0


def run_references(
    df: pd.DataFrame,
    data: LabelData,
    summary: Any,
    args: argparse.Namespace,
    record: Callable[..., None],
) -> dict[str, Any]:
    import krippendorff
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

    checks: dict[str, Any] = {}
    print("\nreference libraries (same numbers)")
    counts = np.zeros((data.n_items, data.n_labels), dtype=np.int64)
    np.add.at(counts, (data.item, data.label), 1)
    t, ref_alpha = timed(
        lambda: krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"), args.repeats
    )
    record("krippendorff.alpha(value_counts=...)", t, float(ref_alpha), "count matrix given for free")
    checks["krippendorff_abs_diff"] = abs(float(ref_alpha) - summary.krippendorff_alpha.value)

    three = counts[counts.sum(axis=1) == 3]
    t, ref_fleiss = timed(lambda: sm_fleiss_kappa(three), args.repeats)
    record("statsmodels fleiss_kappa (3-label items)", t, float(ref_fleiss), f"{len(three):,} items")
    mask = np.isin(data.item, np.flatnonzero(counts.sum(axis=1) == 3))
    only_three = LabelData(
        data.items,
        data.users,
        data.labels,
        data.item[mask],
        data.user[mask],
        data.label[mask],
        data.final,
        data.gold,
    )
    checks["fleiss_3_label_items_abs_diff"] = abs(float(ref_fleiss) - fleiss_kappa(only_three).value)

    pairs = summary.pairs
    sample = pairs.sample(min(args.sklearn_pairs, len(pairs)), random_state=0)
    current = df.drop_duplicates(["item_id", "user_id"], keep="last")
    by_user = {u: g.set_index("item_id")["label"] for u, g in current.groupby("user_id")}

    def sklearn_loop() -> list[float]:
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for a, b in zip(sample.user_a, sample.user_b, strict=True):
                shared = by_user[a].index.intersection(by_user[b].index)
                out.append(cohen_kappa_score(by_user[a][shared], by_user[b][shared]))
        return out

    t, ref_kappas = timed(sklearn_loop, 1)
    estimate = t / len(sample) * len(pairs)
    record(f"sklearn cohen_kappa_score x {len(sample)} pairs", t, None, "measured")
    record(f"  extrapolated to all {len(pairs):,} pairs", estimate, None, "estimate, not measured")
    ours = sample.kappa.to_numpy()
    ref = np.asarray(ref_kappas, dtype=float)
    both = ~np.isnan(ours) & ~np.isnan(ref)
    checks["cohen_sampled_pairs"] = len(sample)
    checks["cohen_max_abs_diff"] = float(np.max(np.abs(ours[both] - ref[both]))) if both.any() else None
    checks["sklearn_pairwise_extrapolated_seconds"] = round(estimate, 2)
    print("\nreference checks: " + ", ".join(f"{k}={v}" for k, v in checks.items()))
    print("(crowd-kit is not a dependency; see tests/bot/quality/test_dawid_skene.py for its comparison)")
    return checks


if __name__ == "__main__":
    raise SystemExit(main())
