"""Which item to ask about next: confidence, predicted label and priority from probabilities.

All functions are vectorised over an ``(n, k)`` ``predict_proba`` matrix. Higher
priority means "ask sooner". Ties: callers order pending items by
``(priority desc, import_seq asc)`` — :func:`rank` does exactly that — so equal
priorities (e.g. before any model exists, when every row is uniform) fall back to
import order and the queue is stable across rescoring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = [
    "LENGTH_FULL_WORDS",
    "LENGTH_POWER",
    "STRATEGIES",
    "Scores",
    "Strategy",
    "explore_mask",
    "length_weight",
    "priority",
    "rank",
    "score",
    "select_batch",
    "weighted",
]

Strategy = Literal["uncertainty", "margin", "entropy", "random"]
#: Supported sampling strategies.
STRATEGIES: tuple[str, ...] = ("uncertainty", "margin", "entropy", "random")


#: ``model.length_power``'s default: uncertainty x (words / LENGTH_FULL_WORDS) ** 0.5 (below).
LENGTH_POWER = 0.5
#: Texts of at least this many words get the full weight, so the weight stays in [0, 1]: about
#: what an item's message shows (``SECTION_TEXT_LIMIT``, 3,000 characters).
LENGTH_FULL_WORDS = 500


@dataclass(frozen=True)
class Scores:
    """Per-item results of :func:`score`; arrays of length n."""

    label: np.ndarray  # predicted label (argmax; first class on ties)
    confidence: np.ndarray  # max probability
    priority: np.ndarray  # higher = ask sooner, in [0, 1]


def _check_proba(proba: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValueError(f"proba must be a 2-D (n, k) array with k >= 1, got shape {p.shape}")
    if p.size and (not np.all(np.isfinite(p)) or p.min() < 0):
        raise ValueError("proba must contain finite, non-negative probabilities")
    if p.size and np.max(np.abs(p.sum(axis=1) - 1.0)) > 1e-4:
        raise ValueError("each row of proba must sum to 1")
    return p


def priority(
    proba: np.ndarray | Sequence[Sequence[float]],
    strategy: Strategy | str = "uncertainty",
    *,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Priority per row, in [0, 1]; higher = more useful to label now.

    * ``uncertainty`` (least confidence): ``1 - max p``.
    * ``margin``: ``1 - (p1 - p2)`` with p1 >= p2 the two largest (p2 = 0 when k = 1).
    * ``entropy``: ``-sum p log p / log k`` (0 when k = 1), so it is comparable across k.
    * ``random``: uniform [0, 1) from ``rng`` (a Generator or seed), ignoring the model.

    Note ``uncertainty`` ranges over [0, 1 - 1/k]; the others reach 1.
    """
    p = _check_proba(proba)
    n, k = p.shape
    if strategy == "uncertainty":
        return 1.0 - p.max(axis=1)
    if strategy == "margin":
        if k == 1:
            return np.zeros(n)
        top2 = np.partition(p, k - 2, axis=1)[:, -2:]
        return 1.0 - (top2[:, 1] - top2[:, 0])
    if strategy == "entropy":
        if k == 1:
            return np.zeros(n)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log(p), 0.0)
        return np.clip(-terms.sum(axis=1) / np.log(k), 0.0, 1.0)
    if strategy == "random":
        return np.asarray(np.random.default_rng(rng).random(size=n), dtype=np.float64)
    raise ValueError(f"unknown sampling strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")


def length_weight(
    texts: Sequence[str], power: float = LENGTH_POWER, *, full: int = LENGTH_FULL_WORDS
) -> np.ndarray:
    """Per text, ``(min(words, full) / full) ** power`` (at least one word): the factor on uncertainty.

    One label teaches a linear text model about every word of its text, so of two items the
    model is equally unsure about, the longer one is worth more. With ``power`` 0.5, ranking by
    margin x this weight reached random order's final macro-F1 with about 50 % of its labels
    instead of 55 % on fortunes *six* and 50 % instead of 56 % on the synthetic set (README,
    Performance). ``full`` is about what one Slack message shows of an item (3,000 characters):
    words past it were never read, so they earn nothing. ``power`` 0 turns it off.
    """
    if power < 0 or full < 1:
        raise ValueError("length_weight needs power >= 0 and full >= 1")
    if power == 0:
        return np.ones(len(texts))
    words = np.fromiter((len(t.split()) for t in texts), dtype=np.float64, count=len(texts))
    return (np.clip(words, 1, full) / full) ** power


def score(
    proba: np.ndarray | Sequence[Sequence[float]],
    classes: Sequence[str] | np.ndarray,
    strategy: Strategy | str = "uncertainty",
    *,
    rng: np.random.Generator | int | None = None,
    weight: np.ndarray | None = None,
) -> Scores:
    """Predicted label, confidence (max p) and priority for each row of ``proba``.

    ``weight`` (e.g. :func:`length_weight`) multiplies every priority but ``random``'s."""
    p = _check_proba(proba)
    labels = np.asarray(classes, dtype=object)
    if labels.shape != (p.shape[1],):
        raise ValueError(f"got {labels.size} classes for probabilities over {p.shape[1]}")
    best = p.argmax(axis=1) if p.shape[0] else np.empty(0, dtype=int)
    return Scores(
        label=labels[best],
        confidence=p.max(axis=1) if p.shape[0] else np.empty(0),
        priority=weighted(priority(p, strategy, rng=rng), strategy, weight),
    )


def weighted(pri: np.ndarray, strategy: str, weight: np.ndarray | None) -> np.ndarray:
    """``pri x weight``, except for ``random`` (which ignores the model and the text)."""
    if weight is None or strategy == "random":
        return pri
    w = np.asarray(weight, dtype=np.float64)
    if w.shape != pri.shape:
        raise ValueError(f"{w.size} weights for {pri.size} priorities")
    return pri * w


def rank(
    priorities: np.ndarray | Sequence[float], import_seq: np.ndarray | Sequence[int] | None = None
) -> np.ndarray:
    """Indices ordering items by priority descending, then ``import_seq`` ascending.

    Without ``import_seq`` the position is the import order. Stable and deterministic.
    """
    pri = np.asarray(priorities, dtype=np.float64)
    seq = np.arange(pri.size) if import_seq is None else np.asarray(import_seq)
    if seq.shape != pri.shape:
        raise ValueError("priorities and import_seq must have the same length")
    return np.lexsort((seq, -pri))


def explore_mask(n: int, explore: float = 0.1, *, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """For each of the next ``n`` posts, whether it ignores the model (True = explore).

    Pure uncertainty sampling only asks where the current model is unsure, so it can
    stay blind to regions it is confidently wrong about; a share ``explore`` of posts
    instead picks a uniformly random pending item (epsilon-greedy). Each post is an
    independent Bernoulli(``explore``) draw from ``rng`` (a Generator or an int seed),
    so a fixed seed gives the same sequence of decisions.
    """
    if not 0 <= explore <= 1:
        raise ValueError("explore must be between 0 and 1")
    if n < 0:
        raise ValueError("n must be >= 0")
    return np.random.default_rng(rng).random(n) < explore


def select_batch(
    priorities: np.ndarray | Sequence[float],
    size: int,
    *,
    import_seq: np.ndarray | Sequence[int] | None = None,
    explore: float = 0.1,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Indices of the next ``size`` items to post, in posting order.

    Post i takes the best remaining item by :func:`rank`, unless :func:`explore_mask`
    marks it as exploring, in which case it takes a uniformly random remaining item.
    """
    pri = np.asarray(priorities, dtype=np.float64)
    size = min(size, pri.size)
    if size <= 0:
        return np.empty(0, dtype=np.intp)
    generator = np.random.default_rng(rng)
    explore_posts = explore_mask(size, explore, rng=generator)
    n_explore = int(explore_posts.sum())
    order = rank(pri, import_seq)
    exploit = order[: size - n_explore]
    rest = order[size - n_explore :]
    explored = generator.choice(rest, size=n_explore, replace=False) if n_explore else rest[:0]
    out = np.empty(size, dtype=np.intp)
    out[~explore_posts] = exploit
    out[explore_posts] = explored
    return out
