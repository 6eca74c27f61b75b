"""``labelbot simulate``: replay a team's own labeled data and say what active learning would save.

The data are a file (CSV, JSONL, Parquet: a text and a label column) or a project's resolved
items. Each strategy runs through :func:`bot.learning.simulate.simulate` — the bot's model,
its ranking and retraining schedule, ``explore`` and the overlap rule — against random order
on the same seeds, with one perfectly accurate annotator per item (the issue's protocol). A
second pair of runs, with annotators of a given accuracy, compares fixed overlap (``max``
labels per item) with dynamic overlap (``min``-``max``). The result is plain data;
:func:`render` turns it into the text the command prints.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.learning.sampling import LENGTH_POWER
from bot.learning.simulate import SimulationConfig, SimulationResult, compare, simulate
from bot.learning.strategies import DEFAULT_STRATEGY, STRATEGIES
from bot.overlap import OverlapPolicy

__all__ = [
    "MIN_PER_CLASS",
    "MIN_ROWS",
    "OverlapFigures",
    "ReplayError",
    "ReplayReport",
    "StrategyFigures",
    "load_labeled_file",
    "parse_overlap",
    "render",
    "replay",
]

#: Fewest labeled rows worth simulating: 30 % are held out, the rest must outlast a few retrains.
MIN_ROWS = 200
#: A class needs this many rows to appear in both the pool and the held-out test set.
MIN_PER_CLASS = 5

Progress = Callable[[int, int], None]


class ReplayError(ValueError):
    """The data or options cannot be simulated; the message says what to fix."""


def load_labeled_file(
    path: Path, text_field: str, label_field: str, fmt: str | None = None
) -> tuple[list[str], list[str]]:
    """Texts and labels of a labeled file; rows without a text or a label are skipped."""
    from bot.importer import InputFileError, detect_format, read_table

    try:
        records, _unparsed, columns = read_table(path, detect_format(path, fmt))
    except InputFileError as exc:
        raise ReplayError(str(exc)) from None
    for field, what in ((text_field, "--text-field"), (label_field, "--label-field")):
        if field not in columns:
            raise ReplayError(
                f"{path.name} has no column {field!r} ({what}); its columns: {', '.join(columns)}"
            )
    texts: list[str] = []
    labels: list[str] = []
    for record in records:
        text, label = record.get(text_field), record.get(label_field)
        if _blank(text) or _blank(label):
            continue
        texts.append(str(text))
        labels.append(str(label).strip())
    return texts, labels


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == ""


def parse_overlap(text: str) -> tuple[int, int]:
    """``"1-3"`` -> (1, 3); ``"2"`` -> (2, 2). The ``annotators_per_item`` to compare."""
    parts = text.split("-")
    try:
        low, high = (int(parts[0]), int(parts[-1])) if len(parts) <= 2 else (0, -1)
    except ValueError:
        raise ReplayError(f"--overlap {text!r}: give MIN-MAX labels per item, e.g. 1-3") from None
    if not 1 <= low <= high <= 9:
        raise ReplayError(f"--overlap {text!r}: give MIN-MAX with 1 <= MIN <= MAX <= 9, e.g. 1-3")
    return low, high


@dataclass(frozen=True)
class StrategyFigures:
    """One strategy over the seeds: its median curve and how many of random's labels it needed."""

    strategy: str
    labels: list[int]  # evaluation points (labels spent), the first seed's grid
    f1: list[float]  # median macro-F1 over the seeds at those points
    shares: list[float | None]  # per seed: labels to reach random's final F1 / random's labels
    final_f1: float  # median over seeds
    retrain_s: float  # mean seconds per retrain (fit, score the pool, order it)

    @property
    def share_median(self) -> float | None:
        """Median share; a seed that never reached random's final F1 counts as infinitely many."""
        values = [np.inf if s is None else s for s in self.shares]
        median = float(statistics.median(values)) if values else np.inf
        return None if np.isinf(median) else median


@dataclass(frozen=True)
class OverlapFigures:
    """Fixed overlap (``max``) against dynamic overlap (``min``-``max``), medians over seeds."""

    min: int
    max: int
    accuracy: float
    fixed_labels_per_item: float
    dynamic_labels_per_item: float
    fixed_label_accuracy: float
    dynamic_label_accuracy: float


@dataclass(frozen=True)
class ReplayReport:
    """Everything ``labelbot simulate`` prints."""

    source: str
    n_rows: int
    classes: dict[str, int]
    budget: int
    seeds: int
    retrain_every: int
    strategies: list[StrategyFigures]
    overlap: OverlapFigures | None
    results: dict[str, list[SimulationResult]]
    length_power: float = LENGTH_POWER

    def best(self) -> StrategyFigures | None:
        """The active strategy with the lowest median share (None if none beats random)."""
        ranked = [s for s in self.strategies if s.strategy != "random" and s.share_median is not None]
        ranked = [s for s in ranked if s.share_median is not None and s.share_median < 1.0]
        return min(ranked, key=lambda s: (s.share_median, -s.final_f1)) if ranked else None


def replay(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    source: str,
    strategies: Sequence[str] = (DEFAULT_STRATEGY, "uncertainty"),
    overlap: tuple[int, int] | None = (1, 3),
    annotator_accuracy: float = 0.85,
    budget: int = 1500,
    seeds: int = 5,
    retrain_every: int = 50,
    initial_size: int = 20,
    explore: float = 0.1,
    char_ngrams: bool | str = "auto",
    length_power: float = LENGTH_POWER,
    pipeline_factory: Callable[[], Any] | None = None,
    on_progress: Progress | None = None,
) -> ReplayReport:
    """Simulate ``strategies`` against random order and, if asked, dynamic against fixed overlap."""
    _check(texts, labels, source, strategies, seeds, budget)
    counts = Counter(labels)
    active = [s for s in dict.fromkeys(strategies) if s != "random"]
    base = SimulationConfig(
        label_budget=budget,
        annotator_accuracy=1.0,
        n_annotators=max(overlap[1], 1) if overlap else 1,
        expert_accuracy=None,
        retrain_every=retrain_every,
        initial_size=initial_size,
        explore=explore,
        char_ngrams=char_ngrams,
        length_power=length_power,
    )
    extra: dict[str, Any] = {} if pipeline_factory is None else {"pipeline_factory": pipeline_factory}
    total = seeds * (1 + len(active) + (2 if overlap else 0))
    done = 0

    def run(cfg: SimulationConfig, name: str) -> SimulationResult:
        nonlocal done
        result = simulate(texts, labels, cfg, name=name, **extra)
        done += 1
        if on_progress is not None:
            on_progress(done, total)
        return result

    if on_progress is not None:
        on_progress(0, total)
    results: dict[str, list[SimulationResult]] = {"random": []}
    for strategy in active:
        results[strategy] = []
    for seed in range(seeds):
        for strategy in results:
            results[strategy].append(run(replace(base, strategy=strategy, seed=seed), strategy))
    figures = [_figures(name, runs, results["random"]) for name, runs in results.items()]
    overlap_figures = None
    if overlap is not None:
        overlap_figures = _overlap(
            texts, labels, base, active[0] if active else "random", overlap, annotator_accuracy, seeds, run
        )
    return ReplayReport(
        source=source,
        n_rows=len(texts),
        classes=dict(counts.most_common()),
        budget=budget,
        seeds=seeds,
        retrain_every=retrain_every,
        strategies=figures,
        overlap=overlap_figures,
        results=results,
        length_power=length_power,
    )


def _check(
    texts: Sequence[str],
    labels: Sequence[str],
    source: str,
    strategies: Sequence[str],
    seeds: int,
    budget: int,
) -> None:
    """Refuse, with what to fix, data or options a simulation cannot use."""
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ReplayError(f"unknown strategy {unknown[0]!r}; choose from {', '.join(STRATEGIES)}")
    if seeds < 1 or budget < 1:
        raise ReplayError("--seeds and --budget must be at least 1")
    counts = Counter(labels)
    if len(texts) < MIN_ROWS:
        raise ReplayError(f"{source}: {len(texts)} labeled row(s); a simulation needs at least {MIN_ROWS}")
    if len(counts) < 2:
        raise ReplayError(
            f"{source}: every labeled row has the label {next(iter(counts), '')!r}; need 2 labels"
        )
    few = sorted(label for label, n in counts.items() if n < MIN_PER_CLASS)
    if few:
        raise ReplayError(
            f"{source}: label(s) {', '.join(map(repr, few))} have fewer than {MIN_PER_CLASS} rows; "
            "drop them or label more"
        )


def _figures(name: str, runs: list[SimulationResult], randoms: list[SimulationResult]) -> StrategyFigures:
    grid = runs[0].labels_spent
    curves = [np.interp(grid, r.labels_spent, r.macro_f1) for r in runs]
    return StrategyFigures(
        strategy=name,
        labels=[int(x) for x in grid],
        f1=[float(v) for v in np.median(curves, axis=0)],
        shares=[compare(run, rnd).share for run, rnd in zip(runs, randoms, strict=True)],
        final_f1=float(statistics.median(r.final_f1 for r in runs)),
        retrain_s=float(np.mean([r.extra.get("retrain_s", 0.0) for r in runs])),
    )


def _overlap(
    texts: Sequence[str],
    labels: Sequence[str],
    base: SimulationConfig,
    strategy: str,
    overlap: tuple[int, int],
    accuracy: float,
    seeds: int,
    run: Callable[[SimulationConfig, str], SimulationResult],
) -> OverlapFigures:
    low, high = overlap
    noisy = replace(
        base, strategy=strategy, annotator_accuracy=accuracy, expert_accuracy=0.95, n_annotators=max(high, 3)
    )
    fixed = [run(replace(noisy, overlap=high, seed=s), "fixed") for s in range(seeds)]
    dynamic = [
        run(replace(noisy, dynamic=OverlapPolicy(low, high, 0.9, noisy.agreement), seed=s), "dynamic")
        for s in range(seeds)
    ]
    return OverlapFigures(
        min=low,
        max=high,
        accuracy=accuracy,
        fixed_labels_per_item=float(statistics.median(r.labels_per_item for r in fixed)),
        dynamic_labels_per_item=float(statistics.median(r.labels_per_item for r in dynamic)),
        fixed_label_accuracy=float(statistics.median(r.label_accuracy for r in fixed)),
        dynamic_label_accuracy=float(statistics.median(r.label_accuracy for r in dynamic)),
    )


def _pct(value: float | None) -> str:
    return "never" if value is None else f"{value:.0%}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render(report: ReplayReport) -> str:
    """The report as text: data, learning curves, savings, overlap and the recommendation."""
    out = [
        f"{report.source}: {report.n_rows} labeled rows, {len(report.classes)} labels "
        f"({', '.join(f'{k} {v}' for k, v in list(report.classes.items())[:8])}"
        f"{', ...' if len(report.classes) > 8 else ''})",
        f"budget {report.budget} labels, retrain every {report.retrain_every}, {report.seeds} seed(s); "
        "one accurate annotator per item; macro-F1 on a held-out 30 %; "
        + (
            f"uncertainty weighted by text length (length_power {report.length_power:g})"
            if report.length_power
            else "uncertainty not weighted by text length (length_power 0)"
        ),
        "",
        "Learning curve (median macro-F1 over seeds):",
    ]
    random_fig = next(s for s in report.strategies if s.strategy == "random")
    points = _curve_points(random_fig.labels)
    rows = []
    for fig in report.strategies:
        values: list[float] = list(np.interp(points, fig.labels, fig.f1)) if fig.labels else []
        rows.append([fig.strategy, *(f"{v:.3f}" for v in values)])
    out.append(_table(["labels", *(str(p) for p in points)], rows))
    out += ["", f"Labels needed to reach random order's final macro-F1 ({random_fig.final_f1:.3f}):"]
    rows = []
    for fig in report.strategies:
        if fig.strategy == "random":
            continue
        known = [s for s in fig.shares if s is not None]
        spread = f"{min(known):.0%}-{max(known):.0%}" if known else "-"
        never = sum(s is None for s in fig.shares)
        rows.append(
            [
                fig.strategy,
                _pct(fig.share_median),
                spread + (f" ({never} never)" if never else ""),
                f"{fig.final_f1:.3f}",
                f"{fig.retrain_s:.2f}s",
            ]
        )
    out.append(_table(["strategy", "share of random's labels", "spread", "final F1", "per retrain"], rows))
    if report.overlap is not None:
        o = report.overlap
        out += [
            "",
            f"Overlap, annotators {o.accuracy:.0%} accurate: fixed {o.max} labels/item -> consensus "
            f"{o.fixed_label_accuracy:.1%} correct; dynamic {o.min}-{o.max} -> "
            f"{o.dynamic_labels_per_item:.2f} labels/item, {o.dynamic_label_accuracy:.1%} correct",
        ]
    out += ["", "Recommendation:"]
    best = report.best()
    if best is None:
        out.append(
            "  model.strategy: random order did as well here; keep the default or set strategy: random"
        )
    else:
        out.append(
            f"  model: {{strategy: {best.strategy}, retrain_every: {report.retrain_every}, "
            f"length_power: {report.length_power:g}}}   "
            f"# {1 - (best.share_median or 1):.0%} fewer labels than random order"
        )
    if report.overlap is not None:
        o = report.overlap
        if o.dynamic_label_accuracy >= o.fixed_label_accuracy - 0.01 and o.min < o.max:
            out.append(
                f"  annotators_per_item: {{min: {o.min}, max: {o.max}}}   # "
                f"{1 - o.dynamic_labels_per_item / o.fixed_labels_per_item:.0%} fewer labels per item, "
                "same consensus accuracy"
            )
        else:
            out.append(f"  annotators_per_item: {o.max}   # dynamic overlap lost consensus accuracy here")
    return "\n".join(out) + "\n"


def _curve_points(labels: list[int], n: int = 6) -> list[int]:
    if not labels:
        return []
    picks = np.unique(np.linspace(0, len(labels) - 1, num=min(n, len(labels))).round().astype(int))
    return [int(labels[i]) for i in picks]
