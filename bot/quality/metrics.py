"""Agreement and accuracy metrics over a label export.

Every function is a pure function of a label frame (columns ``item_id``, ``user_id``,
``label`` and, where said, ``final_label`` / ``gold_label``; see :mod:`bot.quality.data`
for the contract, including "the last row of an (item, user) pair counts") or of a
:class:`~bot.quality.data.LabelData` encoded once from it. The work is vectorised over
integer codes (bincount and sparse products), so a million labels take well under a
second per metric.

Scalar results are :class:`~bot.quality.data.Metric`: a metric that cannot be computed
returns ``value=None`` with a ``reason`` instead of raising or returning a misleading
number. Degenerate cases, for every agreement metric:

* no labels at all → "no labels";
* no item with at least two labels (also: a single annotator) → "no item has at least two
  labels";
* only one category among the labels that enter the metric → "only one category used"
  (chance agreement is total, so agreement beyond chance is undefined).

A missing required column is a caller error and raises ValueError.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from bot.quality.data import FINAL_LABEL, LABEL, USER_ID, LabelData, Metric, as_label_data
from bot.quality.intervals import wilson_bounds

__all__ = [
    "CONFUSION_COLUMNS",
    "DEFAULT_MIN_OVERLAP",
    "MIN_GOLD_ANSWERS",
    "PAIR_COLUMNS",
    "STATS_COLUMNS",
    "annotator_confusions",
    "annotator_mean_kappa",
    "annotator_stats",
    "confused_pairs",
    "confusion_matrix",
    "fleiss_kappa",
    "gold_accuracy",
    "gold_counts",
    "krippendorff_alpha",
    "mean_cohen_kappa",
    "pairwise_cohen_kappa",
]

#: Default of the project setting ``quality.min_pair_overlap``.
DEFAULT_MIN_OVERLAP = 10

#: Fewest answers on gold items on which an annotator's gold accuracy is judged (below it, one
#: wrong answer would swing the figure by 20 points or more).
MIN_GOLD_ANSWERS = 5

#: Columns of :func:`annotator_confusions`.
CONFUSION_COLUMNS = ("user_id", "expected", "given", "n")

#: Columns of :func:`pairwise_cohen_kappa`.
PAIR_COLUMNS = ("user_a", "user_b", "n_shared", "n_agree", "agreement", "kappa", "reason")

#: Columns of :func:`annotator_stats` (indexed by ``user_id``).
STATS_COLUMNS = (
    "n_labels",
    "n_final",
    "final_agreement",
    "n_gold",
    "gold_correct",
    "gold_accuracy",
    "gold_accuracy_low",
    "gold_accuracy_high",
    "mean_kappa",
    "n_kappa_pairs",
)

NO_LABELS = "no labels"
NO_PAIRABLE = "no item has at least two labels"
ONE_CATEGORY = "only one category used"

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
DataLike: TypeAlias = pd.DataFrame | LabelData


# --------------------------------------------------------------------------- helpers


def _item_label_counts(d: LabelData) -> tuple[IntArray, IntArray, IntArray]:
    """Non-zero cells of the item × label count matrix as (item, label, count) arrays."""
    n_labels = max(d.n_labels, 1)
    key = d.item * n_labels + d.label
    size = d.n_items * n_labels
    if size <= max(8 * len(key), 1 << 22):
        counts = np.bincount(key, minlength=size)
        cells = np.flatnonzero(counts)
        return cells // n_labels, cells % n_labels, counts[cells].astype(np.int64)
    cells, counts = np.unique(key, return_counts=True)
    return cells // n_labels, cells % n_labels, counts.astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Pairable:
    """Item × label counts restricted to items with at least two labels."""

    n_items: int  # pairable items
    label: IntArray  # per non-zero cell
    count: FloatArray  # per non-zero cell
    item_total: FloatArray  # labels on the cell's item
    label_total: FloatArray  # per label: labels on pairable items


def _pairable(d: LabelData) -> _Pairable | Metric:
    if len(d) == 0:
        return Metric(None, NO_LABELS)
    per_item = np.bincount(d.item, minlength=d.n_items)
    pairable = per_item >= 2
    n_items = int(pairable.sum())
    if n_items == 0:
        return Metric(None, NO_PAIRABLE)
    item, label, count = _item_label_counts(d)
    keep = pairable[item]
    label, count_f = label[keep], count[keep].astype(np.float64)
    label_total = np.asarray(np.bincount(label, weights=count_f, minlength=d.n_labels), dtype=np.float64)
    if np.count_nonzero(label_total) < 2:
        return Metric(None, f"{ONE_CATEGORY} on items with at least two labels", n=n_items)
    return _Pairable(n_items, label, count_f, per_item[item[keep]].astype(np.float64), label_total)


# --------------------------------------------------------------------------- chance-corrected agreement


def krippendorff_alpha(data: DataLike) -> Metric:
    """Krippendorff's alpha for nominal data, annotators labelling varying subsets of items.

    Coincidence-matrix formulation (Krippendorff 2011, "Computing Krippendorff's
    Alpha-Reliability"): only items with at least two labels are pairable; an item with
    m labels contributes each ordered pair of its labels with weight 1/(m - 1). With n the
    number of pairable values, n_c their count per category and o_cc the diagonal of the
    coincidence matrix, alpha = 1 - (n - 1)(n - Σ o_cc) / (n² - Σ n_c²). Equals
    ``krippendorff.alpha(..., level_of_measurement="nominal")``.

    ``n`` of the result = number of pairable items. Undefined (value None) when there are
    no labels, no item with two labels, or only one category among pairable values (the
    expected disagreement is then 0).
    """
    return _krippendorff(_pairable(as_label_data(data)))


def _krippendorff(p: _Pairable | Metric) -> Metric:
    if isinstance(p, Metric):
        return p
    n = float(p.label_total.sum())
    observed_same = float(np.sum(p.count * (p.count - 1.0) / (p.item_total - 1.0)))
    expected = n * n - float(np.sum(p.label_total**2))
    return Metric(1.0 - (n - 1.0) * (n - observed_same) / expected, n=p.n_items)


def fleiss_kappa(data: DataLike) -> Metric:
    """Fleiss' kappa, also for items with different numbers of labels.

    Over items with n_i >= 2 labels: P_i = Σ_j n_ij(n_ij - 1) / (n_i(n_i - 1)), P̄ their mean,
    p_j = Σ_i n_ij / Σ_i n_i, P_e = Σ_j p_j², kappa = (P̄ - P_e) / (1 - P_e). With the same
    number of labels on every item this is Fleiss (1971) and equals statsmodels'
    ``fleiss_kappa`` (which only accepts that case). Items with one label are left out
    since they carry no agreement information.

    ``n`` = number of items used. Undefined when there are no labels, no item with two
    labels, or only one category used on those items.
    """
    return _fleiss(_pairable(as_label_data(data)))


def _fleiss(p: _Pairable | Metric) -> Metric:
    if isinstance(p, Metric):
        return p
    p_bar = float(np.sum(p.count * (p.count - 1.0) / (p.item_total * (p.item_total - 1.0)))) / p.n_items
    share = p.label_total / p.label_total.sum()
    p_e = float(np.sum(share**2))
    return Metric((p_bar - p_e) / (1.0 - p_e), n=p.n_items)


# --------------------------------------------------------------------------- pairwise Cohen's kappa


@dataclass(frozen=True, slots=True)
class _Pairs:
    """Annotator pairs with at least one shared item, as codes (user_a < user_b)."""

    a: IntArray
    b: IntArray
    n_shared: IntArray
    n_agree: IntArray
    kappa: FloatArray  # NaN when not reported
    short: npt.NDArray[np.bool_]  # fewer than min_overlap shared items
    constant: npt.NDArray[np.bool_]  # both used one and the same label throughout


def _check_min_overlap(min_overlap: int) -> None:
    if int(min_overlap) != min_overlap or min_overlap < 1:
        raise ValueError(f"min_overlap must be a positive integer, got {min_overlap!r}")


def _compact(key: IntArray, size: int) -> tuple[IntArray, IntArray]:
    """Distinct keys (sorted) and each entry's position among them."""
    if size <= max(4 * len(key), 1 << 22):
        present = np.zeros(size, dtype=bool)
        present[key] = True
        uniq = np.flatnonzero(present)
        pos = np.cumsum(present) - 1
        return uniq.astype(np.int64), pos[key].astype(np.int64)
    uniq, inverse = np.unique(key, return_inverse=True)
    return uniq.astype(np.int64), inverse.astype(np.int64)


def _pairs(d: LabelData, min_overlap: int) -> _Pairs:
    """Cohen's kappa of every annotator pair on their shared items, from one sparse product.

    With Z the (user, label) × item indicator, G = Z Zᵀ counts, for every two annotators
    a, b and labels c, c', the items where a said c and b said c'. Per pair with n shared
    items, A of them with equal labels, and r_c / s_c the counts of a's / b's label c on
    the shared items: p_o = A/n, p_e = Σ_c r_c s_c / n², so kappa = (nA - S) / (n² - S)
    with S = Σ_c r_c s_c, exact in integers up to the final division. This is what sklearn's
    ``cohen_kappa_score`` computes on the shared items; n² = S exactly when both used one
    and the same label on every shared item.
    """
    _check_min_overlap(min_overlap)
    empty = np.zeros(0, dtype=np.int64)
    if len(d) == 0 or d.n_users < 2:
        return _Pairs(empty, empty, empty, empty, np.zeros(0), np.zeros(0, bool), np.zeros(0, bool))
    n_u, n_l = d.n_users, d.n_labels
    z = sp.csr_array(
        (np.ones(len(d), dtype=np.int64), (d.user * n_l + d.label, d.item)), shape=(n_u * n_l, d.n_items)
    )
    g = (z @ z.T).tocoo()
    row = g.row.astype(np.int64)
    col = g.col.astype(np.int64)
    upper = row // n_l < col // n_l
    row, col, count = row[upper], col[upper], g.data[upper].astype(np.int64)
    a_lab, b_lab = row % n_l, col % n_l
    pair_key, pair = _compact((row // n_l) * n_u + col // n_l, n_u * n_u)
    n_pairs = len(pair_key)
    n_shared = np.bincount(pair, weights=count, minlength=n_pairs).astype(np.int64)
    n_agree = np.bincount(pair[a_lab == b_lab], weights=count[a_lab == b_lab], minlength=n_pairs).astype(
        np.int64
    )
    margin_a = np.bincount(pair * n_l + a_lab, weights=count, minlength=n_pairs * n_l).reshape(n_pairs, n_l)
    margin_b = np.bincount(pair * n_l + b_lab, weights=count, minlength=n_pairs * n_l).reshape(n_pairs, n_l)
    s = np.einsum("pc,pc->p", margin_a, margin_b)

    n = n_shared.astype(np.float64)
    denom = n * n - s
    short = n_shared < min_overlap
    constant = denom == 0
    ok = ~short & ~constant
    kappa = np.full(n_pairs, np.nan)
    kappa[ok] = (n[ok] * n_agree[ok] - s[ok]) / denom[ok]
    return _Pairs(pair_key // n_u, pair_key % n_u, n_shared, n_agree, kappa, short, constant & ~short)


def _pairs_frame(d: LabelData, p: _Pairs, min_overlap: int) -> pd.DataFrame:
    reason = np.full(len(p.a), None, dtype=object)
    if p.short.any():
        reason[p.short] = [f"only {k} shared items (min_overlap={min_overlap})" for k in p.n_shared[p.short]]
    reason[p.constant] = "both used one and the same label on every shared item; chance agreement is 1"
    users = d.users.to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "user_a": users[p.a],
            "user_b": users[p.b],
            "n_shared": p.n_shared,
            "n_agree": p.n_agree,
            "agreement": p.n_agree / np.maximum(p.n_shared, 1),
            "kappa": p.kappa,
            "reason": pd.Series(reason, dtype=object),  # keep None (pandas would infer str/NaN)
        },
        columns=list(PAIR_COLUMNS),
    )


def pairwise_cohen_kappa(data: DataLike, min_overlap: int = DEFAULT_MIN_OVERLAP) -> pd.DataFrame:
    """Cohen's kappa for every pair of annotators that share at least one item.

    Kappa is computed on the pair's shared items only, with each annotator's label
    distribution on those items as chance model (= sklearn's ``cohen_kappa_score`` on the
    shared items). Columns (``PAIR_COLUMNS``), one row per pair, sorted, ``user_a < user_b``:

    * ``n_shared`` – items both labelled; ``n_agree`` – of those, same label;
    * ``agreement`` – n_agree / n_shared (observed agreement);
    * ``kappa`` – float, NaN exactly when ``reason`` is set:
      fewer than ``min_overlap`` shared items (too noisy to report), or both annotators
      used one and the same label on every shared item (chance agreement 1: undefined,
      sklearn returns nan);
    * ``reason`` – None or why kappa is missing.

    No annotators, a single annotator or no shared item give an empty frame.
    """
    d = as_label_data(data)
    return _pairs_frame(d, _pairs(d, min_overlap), min_overlap)


def _mean_kappa_metric(d: LabelData, p: _Pairs, min_overlap: int) -> Metric:
    ok = ~np.isnan(p.kappa)
    if ok.any():
        return Metric(float(np.mean(p.kappa[ok])), n=int(ok.sum()))
    if len(d) == 0:
        reason = NO_LABELS
    elif d.n_users < 2:
        reason = "fewer than two annotators"
    elif len(p.a) == 0:
        reason = "no two annotators share an item"
    elif p.short.all():
        reason = f"no annotator pair shares at least {min_overlap} items"
    else:
        reason = (
            "kappa is undefined for every pair with enough shared items (one and the same label throughout)"
        )
    return Metric(None, reason, n=0)


def mean_cohen_kappa(data: DataLike, min_overlap: int = DEFAULT_MIN_OVERLAP) -> Metric:
    """Plain mean of pairwise Cohen's kappa over pairs with a reported kappa.

    ``n`` = number of pairs averaged. Undefined (with the reason) when there are no labels,
    fewer than two annotators, no shared item, no pair with ``min_overlap`` shared items, or
    only pairs whose kappa is undefined.
    """
    d = as_label_data(data)
    return _mean_kappa_metric(d, _pairs(d, min_overlap), min_overlap)


def _per_annotator_kappa(d: LabelData, p: _Pairs) -> tuple[FloatArray, IntArray]:
    ok = ~np.isnan(p.kappa)
    users = np.concatenate([p.a[ok], p.b[ok]])
    values = np.concatenate([p.kappa[ok], p.kappa[ok]])
    count = np.bincount(users, minlength=d.n_users)
    total = np.bincount(users, weights=values, minlength=d.n_users)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return mean, count.astype(np.int64)


def annotator_mean_kappa(data: DataLike, min_overlap: int = DEFAULT_MIN_OVERLAP) -> pd.Series:
    """Per annotator: mean Cohen's kappa with the others over pairs with a reported kappa.

    Series indexed by ``user_id`` (every annotator), named ``mean_kappa``; NaN for an
    annotator without such a pair.
    """
    d = as_label_data(data)
    mean, _ = _per_annotator_kappa(d, _pairs(d, min_overlap))
    return pd.Series(mean, index=d.users.rename(USER_ID), name="mean_kappa", dtype=np.float64)


# --------------------------------------------------------------------------- accuracy


def gold_accuracy(data: DataLike) -> Metric:
    """Share of correct answers over all answers on gold items (items with a gold label).

    ``n`` = number of gold answers. Undefined ("no answers on gold items") when there is
    none. Needs the ``gold_label`` column.
    """
    correct, n = gold_counts(data)
    if n == 0:
        return Metric(None, "no answers on gold items", n=0)
    return Metric(correct / n, n=n)


def gold_counts(data: DataLike) -> tuple[int, int]:
    """(correct answers, all answers) on gold items; feeds :func:`error_rate_estimate`."""
    d = as_label_data(data)
    gold = d.require_gold()[d.item]
    on_gold = gold >= 0
    return int(np.count_nonzero(d.label[on_gold] == gold[on_gold])), int(on_gold.sum())


def annotator_stats(data: DataLike, min_overlap: int = DEFAULT_MIN_OVERLAP) -> pd.DataFrame:
    """Per-annotator quality table, indexed by ``user_id`` (sorted), columns ``STATS_COLUMNS``.

    * ``n_labels`` – current labels given;
    * ``n_final`` / ``final_agreement`` – their labels on items with a final label, and the
      share equal to it (NaN when ``n_final`` is 0). Note the final label may itself derive
      from the annotator's vote;
    * ``n_gold`` / ``gold_correct`` / ``gold_accuracy`` – answers on gold items, correct
      ones, and their share (NaN when ``n_gold`` is 0), with its 95 % Wilson interval in
      ``gold_accuracy_low`` / ``gold_accuracy_high``;
    * ``mean_kappa`` / ``n_kappa_pairs`` – mean Cohen's kappa with other annotators over the
      pairs with a reported kappa (see :func:`pairwise_cohen_kappa`), NaN when there is none.

    Needs ``final_label`` and ``gold_label``.
    """
    d = as_label_data(data)
    return _annotator_frame(d, _pairs(d, min_overlap))


def _annotator_frame(d: LabelData, pairs: _Pairs) -> pd.DataFrame:
    final = d.require_final()[d.item]
    gold = d.require_gold()[d.item]
    n_u = d.n_users

    def per_user(mask: npt.NDArray[np.bool_]) -> IntArray:
        return np.bincount(d.user[mask], minlength=n_u).astype(np.int64)

    n_labels = np.bincount(d.user, minlength=n_u).astype(np.int64)
    has_final = final >= 0
    n_final = per_user(has_final)
    final_same = per_user(has_final & (d.label == final))
    has_gold = gold >= 0
    n_gold = per_user(has_gold)
    gold_correct = per_user(has_gold & (d.label == gold))
    with np.errstate(invalid="ignore", divide="ignore"):
        final_agreement = np.where(n_final > 0, final_same / np.maximum(n_final, 1), np.nan)
        gold_acc = np.where(n_gold > 0, gold_correct / np.maximum(n_gold, 1), np.nan)
    low, high = wilson_bounds(gold_correct, n_gold)
    mean_kappa, n_pairs = _per_annotator_kappa(d, pairs)
    return pd.DataFrame(
        {
            "n_labels": n_labels,
            "n_final": n_final,
            "final_agreement": final_agreement,
            "n_gold": n_gold,
            "gold_correct": gold_correct,
            "gold_accuracy": gold_acc,
            "gold_accuracy_low": low,
            "gold_accuracy_high": high,
            "mean_kappa": mean_kappa,
            "n_kappa_pairs": n_pairs,
        },
        index=d.users.rename(USER_ID),
        columns=list(STATS_COLUMNS),
    )


# --------------------------------------------------------------------------- confusion


def _confusion_counts(d: LabelData) -> tuple[npt.NDArray[np.int64], IntArray]:
    """Dense label × final-label counts and the label codes that appear (sorted)."""
    final_by_item = d.require_final()
    final = final_by_item[d.item]
    has = final >= 0
    present = np.bincount(d.label, minlength=d.n_labels) > 0  # (bincount: no sort of every label)
    present[final_by_item[final_by_item >= 0]] = True
    used = np.flatnonzero(present)
    pos = np.full(d.n_labels, -1, dtype=np.int64)
    pos[used] = np.arange(len(used))
    k = len(used)
    counts = np.bincount(pos[d.label[has]] * k + pos[final[has]], minlength=k * k).reshape(k, k)
    return counts.astype(np.int64), used.astype(np.int64)


def confusion_matrix(data: DataLike) -> pd.DataFrame:
    """Counts of annotator labels (rows, ``label``) against the item's final label (columns,
    ``final_label``), over labels on items with a final label.

    Square over the sorted union of annotator and final labels, so the diagonal is
    agreement. Empty (0 × 0) without labels. Needs ``final_label``.
    """
    d = as_label_data(data)
    return _confusion_frame(d, *_confusion_counts(d))


def _confusion_frame(d: LabelData, counts: npt.NDArray[np.int64], used: IntArray) -> pd.DataFrame:
    labels = d.labels[used]
    return pd.DataFrame(counts, index=labels.rename(LABEL), columns=labels.rename(FINAL_LABEL))


def confused_pairs(data: DataLike, top: int | None = 10) -> list[tuple[Hashable, Hashable, int]]:
    """Most often confused label pairs among annotator-vs-final disagreements.

    Each label on an item with a final label that differs from it counts once for the
    unordered pair {label, final}. Returns ``(label_a, label_b, count)`` with
    ``label_a < label_b``, most frequent first, ties by (label_a, label_b); at most ``top``
    pairs (all with ``top=None``). Empty when there is no disagreement.
    """
    if top is not None and top < 0:
        raise ValueError(f"top must be >= 0 or None, got {top!r}")
    d = as_label_data(data)
    return _confused_pairs(d, *_confusion_counts(d), top)


def _confused_pairs(
    d: LabelData, counts: npt.NDArray[np.int64], used: IntArray, top: int | None
) -> list[tuple[Hashable, Hashable, int]]:
    sym = np.triu(counts + counts.T, k=1)
    i, j = np.nonzero(sym)
    c = sym[i, j]
    order = np.lexsort((j, i, -c))[: (None if top is None else top)]
    labels = d.labels[used]
    return [(labels[i[o]], labels[j[o]], int(c[o])) for o in order]


def annotator_confusions(data: DataLike, top: int | None = 3) -> pd.DataFrame:
    """Each annotator's most frequent mistakes, as ordered (expected → given) label pairs.

    A label is a mistake when it differs from the item's gold label or, on an item without
    one, from its final label (which may itself derive from the annotator's vote). Columns
    ``CONFUSION_COLUMNS``: ``n`` counts the annotator's labels ``given`` where ``expected``
    was right. Sorted by ``user_id``, then ``n`` descending, then ``expected`` and ``given``;
    at most ``top`` rows per annotator (all with ``top=None``). Needs ``final_label`` and
    ``gold_label``.
    """
    if top is not None and top < 0:
        raise ValueError(f"top must be >= 0 or None, got {top!r}")
    d = as_label_data(data)
    gold = d.require_gold()[d.item]
    final = d.require_final()[d.item]
    expected = np.where(gold >= 0, gold, final)
    wrong = (expected >= 0) & (d.label != expected)
    k = max(d.n_labels, 1)
    keys, counts = np.unique((d.user[wrong] * k + expected[wrong]) * k + d.label[wrong], return_counts=True)
    user, rest = np.divmod(keys, k * k)
    exp, given = np.divmod(rest, k)
    order = np.lexsort((given, exp, -counts, user))
    user, exp, given, counts = user[order], exp[order], given[order], counts[order]
    if top is not None:
        starts = np.r_[0, np.flatnonzero(np.diff(user)) + 1] if len(user) else np.array([], dtype=np.int64)
        rank = np.arange(len(user)) - np.repeat(starts, np.diff(np.r_[starts, len(user)]))
        keep = rank < top
        user, exp, given, counts = user[keep], exp[keep], given[keep], counts[keep]
    return pd.DataFrame(
        {
            "user_id": d.users[user].to_numpy(dtype=object),
            "expected": d.labels[exp].to_numpy(dtype=object),
            "given": d.labels[given].to_numpy(dtype=object),
            "n": counts.astype(np.int64),
        },
        columns=list(CONFUSION_COLUMNS),
    )
