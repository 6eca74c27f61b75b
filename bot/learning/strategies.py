"""Active-learning strategies as an *ordering* of the pending items.

The bot asks items in the order of a stored ranking, rebuilt after each retrain, and about
``retrain_every`` of them are labeled before the next one. A strategy is therefore a function
from the model's probabilities (and, for the batch-aware ones, the items' feature vectors) to
an order: the first ``batch`` positions are what the next retrain will learn from.

* ``uncertainty`` / ``margin`` / ``entropy`` / ``random``: a per-item priority
  (:func:`bot.learning.sampling.priority`), ties in import order.
* ``diverse``: among the ``top_m`` most uncertain (margin), a greedy k-means++-style cover:
  each next pick maximises ``uncertainty x distance to the picks so far`` (cosine distance on
  the model's features), so one batch does not spend 50 labels on 50 near-duplicates.
* ``dense``: margin uncertainty times the candidate's mean cosine similarity to the other
  ``top_m`` candidates (density-weighted sampling: skip outliers nobody else resembles).
* ``badge``: BADGE (Ash et al., 2020) for the linear model: k-means++ seeding over gradient
  embeddings ``(p - onehot(argmax p)) (x) x``, computed through the kernel
  ``<g_i, g_j> = <p_i - e_i, p_j - e_j> <x_i, x_j>`` so the k x d embedding is never built.
* ``balanced``: while some class is rare among the labels so far (fewer than the mean count
  per class by more than chance, ``mean - 2 sqrt(mean)``), the batch (``balance_share`` of it)
  goes round-robin to the candidates most likely to be of each rare class; once none is, it is
  margin uncertainty. Macro-F1 weighs every class alike, and a rare class with a few dozen
  labels caps it whatever else is learnt. On fortunes topics (1-3 seeds) balancing the whole batch
  up to the mean needed 58-81 % of random's labels, half the batch up to half the mean 68-95 %.
* ``balanced-diverse``: ``balanced``'s rare-class picks, then ``diverse`` for the rest.

With a ``weight`` per item (the bot's ``model.length_power``:
:func:`bot.learning.sampling.length_weight`), every strategy but ``random`` starts from its
uncertainty times that weight: of two items equally uncertain, the longer text goes first.

Everything but the four priorities only reorders the ``top_m`` most uncertain candidates
(margin; default 1000, ``model.rerank_top``), so ranking a million items costs one sort plus
a ``top_m x top_m`` similarity matrix, and the bot needs features for those candidates only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from bot.learning.sampling import priority, weighted

__all__ = [
    "BATCH_STRATEGIES",
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "Embed",
    "model_embedder",
    "order",
]

#: Every strategy :func:`order` knows, the default first.
STRATEGIES: tuple[str, ...] = (
    "balanced",
    "uncertainty",
    "margin",
    "entropy",
    "random",
    "diverse",
    "dense",
    "badge",
    "balanced-diverse",
)
#: Chosen by measurement (benchmarks/simulate_savings.py, README "Active learning").
DEFAULT_STRATEGY = "balanced"
#: Strategies that need the candidates' feature vectors.
BATCH_STRATEGIES = frozenset({"diverse", "dense", "badge", "balanced-diverse"})

#: ``embed(positions)`` -> feature rows (dense or sparse) of those items, or None if unknown.
Embed = Callable[[np.ndarray], Any]


def model_embedder(model: Any, texts: Sequence[str]) -> Embed:
    """Features of ``texts[positions]`` as the model sees them: everything before its last step.

    For a scikit-learn ``Pipeline`` (ours: TF-IDF then logistic regression) that is the TF-IDF
    matrix; for any other model there is no feature space to measure distances in, so the
    probabilities stand in (the caller passes them instead).
    """
    steps = getattr(model, "steps", None)

    def embed(positions: np.ndarray) -> Any:
        if not steps or len(steps) < 2:
            return None
        return model[:-1].transform([texts[int(i)] for i in positions])

    return embed


def _margin(p: np.ndarray) -> np.ndarray:
    return priority(p, "margin") if p.shape[1] > 1 else np.zeros(p.shape[0])


def _by_priority(pri: np.ndarray, seq: np.ndarray) -> np.ndarray:
    return np.lexsort((seq, -pri))


def _cosine_gram(x: Any) -> np.ndarray:
    """Cosine similarities between rows, as a dense (m, m) array; zero rows are similar to nothing.

    Sparse rows stay sparse until the product: a TF-IDF vocabulary has 10^5-10^6 columns.
    """
    if sp.issparse(x):
        rows = sp.csr_matrix(x, dtype=np.float64)
        norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        unit = sp.diags(scale) @ rows
        return np.asarray((unit @ unit.T).toarray())
    dense = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    unit = np.divide(dense, norms, out=np.zeros_like(dense), where=norms > 0)
    return unit @ unit.T


def _candidate_features(p: np.ndarray, positions: np.ndarray, embed: Embed | None) -> Any:
    x = embed(positions) if embed is not None else None
    return p[positions] if x is None else x


def _greedy_cover(weight: np.ndarray, gram: np.ndarray, picks: int, seeds: Sequence[int] = ()) -> list[int]:
    """Greedy weighted k-center: each pick maximises ``weight x distance to the nearest pick``.

    ``gram`` is a kernel matrix; distances are ``sqrt(K_ii + K_jj - 2 K_ij)``. ``seeds`` are
    picks made already (they come first); without them the first pick is the heaviest item.
    Deterministic (ties: lowest index, i.e. best ranked).
    """
    n = weight.size
    diag = np.diag(gram).copy()
    nearest = np.full(n, np.inf)
    chosen: list[int] = []
    taken = np.zeros(n, dtype=bool)
    for i in range(min(picks, n)):
        if i < len(seeds):
            best = int(seeds[i])
        else:
            value = np.where(taken, -np.inf, weight * np.where(np.isinf(nearest), 1.0, nearest))
            best = int(np.argmax(value))
        chosen.append(best)
        taken[best] = True
        dist = np.sqrt(np.maximum(diag + diag[best] - 2 * gram[best], 0.0))
        nearest = np.minimum(nearest, dist)
    return chosen


def _kmeanspp(gram: np.ndarray, picks: int, rng: np.random.Generator) -> list[int]:
    """k-means++ seeding in a kernel space: first the largest norm, then sampled by D^2."""
    diag = np.diag(gram).copy()
    n = diag.size
    first = int(np.argmax(diag))
    chosen = [first]
    nearest = np.maximum(diag + diag[first] - 2 * gram[first], 0.0)
    for _ in range(min(picks, n) - 1):
        total = nearest.sum()
        if total <= 0:
            break
        nxt = int(rng.choice(n, p=nearest / total))
        chosen.append(nxt)
        nearest = np.minimum(nearest, np.maximum(diag + diag[nxt] - 2 * gram[nxt], 0.0))
    return chosen


def _reorder_top(base: np.ndarray, top: np.ndarray, first: list[int]) -> np.ndarray:
    """``base`` with ``top[first]`` moved to the front, in that order; the rest keep their order."""
    front = top[np.asarray(first, dtype=np.intp)] if first else np.empty(0, dtype=np.intp)
    rest = base[~np.isin(base, front)]
    return np.concatenate([front, rest]).astype(np.intp)


def _rare_classes(class_counts: np.ndarray | None, k: int, below: float) -> np.ndarray:
    """Labels with fewer resolved items than ``below`` x the mean per label, by more than chance.

    Two standard deviations of a count (``2 sqrt(mean)``) are chance: on a balanced queue the
    counts wander that much, and balancing then would only cost uncertainty picks.
    """
    if class_counts is None or class_counts.size != k or class_counts.sum() == 0:
        return np.empty(0, dtype=np.intp)
    mean = class_counts.sum() / k
    return np.flatnonzero(class_counts < min(below * mean, mean - 2 * np.sqrt(mean)))


def _balanced_front(p: np.ndarray, rare: np.ndarray, picks: int) -> list[int]:
    """Round-robin over rare classes: the pending item most likely to be of each (indices into p)."""
    if not rare.size or picks <= 0:
        return []
    per_class = [np.argsort(-p[:, c], kind="stable")[: picks + 1] for c in rare]
    chosen: list[int] = []
    seen: set[int] = set()
    cursors = [0] * len(per_class)
    while len(chosen) < picks:
        progressed = False
        for c, ranked in enumerate(per_class):
            while cursors[c] < ranked.size and int(ranked[cursors[c]]) in seen:
                cursors[c] += 1
            if cursors[c] < ranked.size and len(chosen) < picks:
                item = int(ranked[cursors[c]])
                chosen.append(item)
                seen.add(item)
                cursors[c] += 1
                progressed = True
        if not progressed:
            break
    return chosen


def order(
    proba: np.ndarray,
    strategy: str = DEFAULT_STRATEGY,
    *,
    import_seq: np.ndarray | Sequence[int] | None = None,
    embed: Embed | None = None,
    class_counts: np.ndarray | Sequence[int] | None = None,
    batch: int = 50,
    top_m: int = 1000,
    density_power: float = 1.0,
    rare_below: float = 1.0,
    balance_share: float = 1.0,
    rng: np.random.Generator | int | None = None,
    weight: np.ndarray | Sequence[float] | None = None,
) -> np.ndarray:
    """Indices of the rows of ``proba`` in the order they should be asked (see module doc).

    ``import_seq`` breaks ties (default: row order). ``embed`` gives feature rows for the
    batch-aware strategies (without it they use the probabilities). ``class_counts``: labels so
    far per column of ``proba``, for ``balanced``. ``batch``: labels until the next retrain
    (the project's ``retrain_every``). ``rng`` only matters for ``random`` and ``badge``.
    ``weight``: a factor per row on the uncertainty every strategy but ``random`` starts from
    (``model.length_power``: :func:`bot.learning.sampling.length_weight`).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    p = np.asarray(proba, dtype=np.float64)
    n = p.shape[0]
    seq = np.arange(n) if import_seq is None else np.asarray(import_seq)
    if seq.shape != (n,):
        raise ValueError("proba and import_seq must have the same length")
    if n == 0:
        return np.empty(0, dtype=np.intp)
    w = None if weight is None else np.asarray(weight, dtype=np.float64)
    generator = np.random.default_rng(rng)
    if strategy in ("uncertainty", "margin", "entropy", "random"):
        return _by_priority(weighted(priority(p, strategy, rng=generator), strategy, w), seq)

    margin = weighted(_margin(p), strategy, w)
    base = _by_priority(margin, seq)
    top = base[: max(top_m, batch)]  # every choice below is among these: scoring calls on them only
    if top.size < 2:
        return base
    counts = None if class_counts is None else np.asarray(class_counts, dtype=np.float64)
    front: list[int] = []  # positions in ``top``
    if strategy.startswith("balanced"):
        front = _balanced_front(
            p[top], _rare_classes(counts, p.shape[1], rare_below), round(batch * balance_share)
        )
        if strategy == "balanced":
            return _reorder_top(base, top, front)
    unc = margin[top]
    gram = _cosine_gram(_candidate_features(p, top, embed))
    if strategy == "dense":
        sim = gram
        density = (sim.sum(axis=1) - np.diag(sim)) / (top.size - 1)
        local = _by_priority(unc * np.clip(density, 0.0, None) ** density_power, seq[top])
        return np.concatenate([top[local], base[top.size :]]).astype(np.intp)
    if strategy == "badge":
        onehot = np.zeros_like(p[top])
        onehot[np.arange(top.size), p[top].argmax(axis=1)] = 1.0
        grad = p[top] - onehot
        picks = _kmeanspp((grad @ grad.T) * gram, batch, generator)
    else:  # diverse, balanced-diverse: a cover that starts from the balanced picks
        picks = _greedy_cover(unc + 1e-9, gram, batch, seeds=front)
    return _reorder_top(base, top, picks)


def cold_start_order(
    texts: Sequence[str], picks: int, *, import_seq: np.ndarray | Sequence[int] | None = None
) -> np.ndarray:
    """An order for before the first model: a greedy cover of the texts' TF-IDF space first.

    Import order is often sorted by source or topic, and even shuffled it spends the first
    labels on whatever is most common. The first ``picks`` items here are spread over the pool
    (greedy k-center on cosine distance, over at most 2,000 texts in import order), the rest
    follow in import order.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    n = len(texts)
    seq = np.arange(n) if import_seq is None else np.asarray(import_seq)
    base = np.argsort(seq, kind="stable").astype(np.intp)
    sample = base[:2000]
    if picks < 1 or sample.size < 2:
        return base
    try:
        x = TfidfVectorizer(sublinear_tf=True, min_df=2, dtype=np.float32).fit_transform(
            [texts[int(i)] for i in sample]
        )
    except ValueError:  # no term in two texts: nothing to spread over
        return base
    # Distance to the nearest pick, weighted by typicality: a cover of the dense regions.
    gram = _cosine_gram(x)
    density = (gram.sum(axis=1) - 1.0) / (sample.size - 1)
    chosen = _greedy_cover(np.clip(density, 1e-6, None), gram, picks)
    return _reorder_top(base, sample, chosen)
