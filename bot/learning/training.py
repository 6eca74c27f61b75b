"""Train a model on resolved labels, with an honest estimate of how good it is.

Cross-validation policy (measured on the 2-core machine, default pipeline, 30-word texts):

* Each fold refits the whole pipeline, TF-IDF vocabulary included, so the score does not
  leak held-out words. One fit on 50k labels takes ~5-7 s (TF-IDF ~3-4 s, logistic
  regression 2-5 s); 5-fold CV + final fit on 50k took 66 s — over the 30 s budget.
* Up to ``holdout_above`` (20,000) labels: stratified k-fold with ``cv`` folds (default
  5), reduced to the size of the smallest class when a class has fewer labels than
  folds. If that leaves fewer than 2 folds (some class has a single label), the CV
  scores are None and ``cv_note`` says why; the model is still fitted.
* Above ``holdout_above``: a single stratified holdout of ``holdout_size`` (20 %, at most
  10,000 items) — the standard error of accuracy on 10,000 items is below 0.5 points, so
  more folds buy nothing but time. 50k labels then retrain in 11-14 s (medians of 3;
  single runs 10-29 s on the shared 2-core machine; benchmarks/model_scoring.py).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split

from bot.learning.pipeline import build_default_pipeline

__all__ = ["MIN_LABELS", "TrainResult", "TrainingError", "train"]

#: Fewest resolved labels worth training on; below this the rules or nothing are better.
MIN_LABELS = 10


class TrainingError(ValueError):
    """Training was refused; the message says what more is needed."""


@dataclass(frozen=True)
class TrainResult:
    """A fitted pipeline and how it scored. CV scores are None when they could not be measured."""

    pipeline: Any
    cv_accuracy: float | None
    cv_macro_f1: float | None
    n_labels: int
    classes: tuple[str, ...]
    trained_at: datetime
    duration_s: float
    cv_method: str  # e.g. "5-fold", "holdout 10000", "none"
    cv_note: str | None = None


class _Fits:
    """Counts the fits of a training for its ``on_progress(done, planned)``."""

    def __init__(self, on_progress: Callable[[int, int], None] | None) -> None:
        self.on_progress, self.done, self.planned = on_progress, 0, 1  # the final fit

    def report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.done, self.planned)

    def fitted(self) -> None:
        self.done += 1
        self.report()


def _evaluate(
    factory: Callable[[], Any],
    texts: np.ndarray,
    labels: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    on_fit: Callable[[], None] = lambda: None,
) -> tuple[float, float]:
    accuracies: list[float] = []
    f1s: list[float] = []
    for train_idx, test_idx in splits:
        model = factory()
        model.fit(list(texts[train_idx]), labels[train_idx])
        predicted = model.predict(list(texts[test_idx]))
        accuracies.append(float(accuracy_score(labels[test_idx], predicted)))
        f1s.append(float(f1_score(labels[test_idx], predicted, average="macro", zero_division=0)))
        on_fit()
    return float(np.mean(accuracies)), float(np.mean(f1s))


def train(
    texts: Sequence[str] | np.ndarray,
    labels: Sequence[str] | np.ndarray,
    pipeline_factory: Callable[[], Any] = build_default_pipeline,
    cv: int = 5,
    random_state: int = 0,
    *,
    min_labels: int = MIN_LABELS,
    holdout_above: int = 20_000,
    holdout_size: float = 0.2,
    max_holdout: int = 10_000,
    on_progress: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Estimate accuracy and macro-F1 (see module docstring), then fit on all labels.

    ``pipeline_factory`` returns a fresh unfitted estimator (called once per fold and
    once for the final fit). ``cv < 2`` skips evaluation. Raises :class:`TrainingError`
    when texts and labels differ in length, there are fewer than ``min_labels`` labels,
    or fewer than 2 distinct labels. ``on_progress(fits done, fits)`` is called after each fit
    (the evaluation's, then the final one).
    """
    start = time.perf_counter()
    x = np.asarray(list(texts), dtype=object)
    y = np.asarray([str(label) for label in labels], dtype=object)
    if x.shape != y.shape:
        raise TrainingError(f"got {len(x)} texts but {len(y)} labels")
    counts = Counter(y.tolist())
    if len(y) < min_labels:
        raise TrainingError(f"need at least {min_labels} resolved labels to train, have {len(y)}")
    if len(counts) < 2:
        only = next(iter(counts), None)
        raise TrainingError(
            f"need labels of at least 2 different classes to train; all {len(y)} are {only!r}"
        )

    cv_accuracy: float | None = None
    cv_f1: float | None = None
    note: str | None = None
    smallest_label, smallest = min(counts.items(), key=lambda kv: (kv[1], kv[0]))
    fits = _Fits(on_progress)

    if cv < 2:
        method, note = "none", "evaluation disabled (cv < 2)"
    elif len(y) > holdout_above:
        n_test = min(max_holdout, round(len(y) * holdout_size))
        if smallest < 2:
            method = "none"
            note = f"label {smallest_label!r} has 1 example; a stratified holdout needs at least 2"
        else:
            train_idx, test_idx = train_test_split(
                np.arange(len(y)), test_size=n_test, stratify=y, random_state=random_state
            )
            method = f"holdout {len(test_idx)}"
            fits.planned += 1
            fits.report()
            cv_accuracy, cv_f1 = _evaluate(pipeline_factory, x, y, [(train_idx, test_idx)], fits.fitted)
    else:
        folds = min(cv, smallest)
        if folds < 2:
            method = "none"
            note = f"label {smallest_label!r} has only {smallest} example; cross-validation needs 2 per label"
        else:
            method = f"{folds}-fold"
            if folds < cv:
                note = f"reduced from {cv} to {folds} folds: label {smallest_label!r} has {smallest} examples"
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
            splits = list(splitter.split(np.zeros(len(y)), y))
            fits.planned += len(splits)
            fits.report()
            cv_accuracy, cv_f1 = _evaluate(pipeline_factory, x, y, splits, fits.fitted)

    if not fits.done:
        fits.report()
    pipeline = pipeline_factory()
    pipeline.fit(list(x), y)
    fits.fitted()
    return TrainResult(
        pipeline=pipeline,
        cv_accuracy=cv_accuracy,
        cv_macro_f1=cv_f1,
        n_labels=len(y),
        classes=tuple(str(c) for c in getattr(pipeline, "classes_", sorted(counts))),
        trained_at=datetime.now(UTC),
        duration_s=time.perf_counter() - start,
        cv_method=method,
        cv_note=note,
    )
