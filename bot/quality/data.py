"""Column contract and integer coding shared by every quality metric.

All metrics read the label export's columns:

* ``item_id`` – the labelled item (any hashable),
* ``user_id`` – the annotator,
* ``label`` – the annotator's label,
* ``final_label`` – the item's final label, may be null (only where needed),
* ``gold_label`` – the item's gold label, may be null (only where needed).

Rules applied once here so that every metric agrees on them:

* Each ``(item_id, user_id)`` pair counts once: when it appears in several rows the
  **last row** is the annotator's current label (the export is append-ordered).
* A current row with a null ``label`` means "no current label" (e.g. a retracted answer):
  it still supersedes earlier rows of the pair, and then drops out.
* Rows with a null ``item_id`` or ``user_id`` are ignored; annotators without any current
  label do not appear in per-annotator results.
* ``final_label`` and ``gold_label`` are item attributes: the last non-null value over all
  rows of the item is taken (normally all rows of an item carry the same value).
* Labels and users are coded in sorted order (so "the label that sorts first" is the lowest
  code); items keep their order of first appearance (sorting 10⁵ ids would cost more than
  every metric together).

Coding is the expensive part on a large export, so :class:`LabelData` is public: encode once
with :meth:`LabelData.from_frame` and pass it to any metric instead of the DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "FINAL_LABEL",
    "GOLD_LABEL",
    "ITEM_ID",
    "LABEL",
    "USER_ID",
    "LabelData",
    "Metric",
    "as_label_data",
    "current_labels",
]

ITEM_ID = "item_id"
USER_ID = "user_id"
LABEL = "label"
FINAL_LABEL = "final_label"
GOLD_LABEL = "gold_label"

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Metric:
    """A scalar quality metric that may be undefined.

    Exactly one of ``value`` and ``reason`` is set: a metric that cannot be computed says why
    instead of crashing or returning a misleading number. ``n`` is the number of units behind
    the value (items, pairs or answers; each function says which), also when it is undefined.
    """

    value: float | None
    reason: str | None = None
    n: int = 0

    def __post_init__(self) -> None:
        if (self.value is None) == (self.reason is None):
            raise ValueError("Metric needs exactly one of value and reason")

    @property
    def defined(self) -> bool:
        """True when ``value`` is a number."""
        return self.value is not None


def _require(df: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"label frame lacks required column(s): {', '.join(missing)}")


def _sort_order(values: pd.Index) -> npt.NDArray[np.intp]:
    """Positions that sort ``values``; ids that do not compare (mixed types) sort by str()."""
    try:
        return np.argsort(values.to_numpy(dtype=object), kind="stable")
    except TypeError:
        return np.asarray(sorted(range(len(values)), key=lambda i: str(values[i])), dtype=np.intp)


def _factorize(values: pd.Series, sort: bool) -> tuple[IntArray, pd.Index]:
    """Integer codes (-1 for null) and the uniques they index (sorted if ``sort``).

    Categorical columns give plain uniques of their categories' dtype (taken from the
    categories, not re-inferred: inferring 300,000 strings costs more than the rest).
    """
    codes, raw = pd.factorize(values, sort=False)
    if isinstance(values.dtype, pd.CategoricalDtype):
        uniques = pd.Index(raw.categories.take(raw.codes))
    else:
        uniques = pd.Index(raw)
    codes = codes.astype(np.int64, copy=False)
    if sort and len(uniques) > 1:
        order = _sort_order(uniques)
        rank = np.empty(len(order) + 1, dtype=np.int64)
        rank[order] = np.arange(len(order))
        rank[-1] = -1
        codes = rank[codes]
        uniques = uniques[order]
    return codes, uniques


def _last_occurrence(key: IntArray) -> npt.NDArray[np.bool_]:
    """True at the last occurrence of each distinct key (hash based, no sort)."""
    return ~pd.Series(key, copy=False).duplicated(keep="last").to_numpy()


def _last_per_item(item: IntArray, codes: IntArray, n_items: int) -> IntArray:
    """Per item, the last non-null code (-1 when the item has none)."""
    out = np.full(n_items, -1, dtype=np.int64)
    keep = (codes >= 0) & (item >= 0)
    if not keep.any():
        return out
    rows = np.flatnonzero(keep)
    last = np.full(n_items, -1, dtype=np.int64)
    np.maximum.at(last, item[rows], rows)  # the last such row of each item
    has = last >= 0
    out[has] = codes[last[has]]
    return out


@dataclass(frozen=True, eq=False, slots=True)
class LabelData:
    """Integer-coded current labels: one entry per counted (item, user) label.

    ``item``, ``user`` and ``label`` are parallel int64 arrays of codes into ``items``,
    ``users`` and ``labels``. ``labels`` is the sorted union of annotator, final and gold
    labels. ``final`` and ``gold`` hold one label code per item (-1 = null), or are None when
    the frame had no such column.
    """

    items: pd.Index
    users: pd.Index
    labels: pd.Index
    item: IntArray
    user: IntArray
    label: IntArray
    final: IntArray | None
    gold: IntArray | None

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    def __len__(self) -> int:
        return len(self.item)

    def require_final(self) -> IntArray:
        """Per-item final label codes; raises if the frame had no ``final_label`` column."""
        if self.final is None:
            raise ValueError(f"label frame lacks required column: {FINAL_LABEL}")
        return self.final

    def require_gold(self) -> IntArray:
        """Per-item gold label codes; raises if the frame had no ``gold_label`` column."""
        if self.gold is None:
            raise ValueError(f"label frame lacks required column: {GOLD_LABEL}")
        return self.gold

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> LabelData:
        """Encode a label export (see the module docstring for the rules)."""
        _require(df, (ITEM_ID, USER_ID, LABEL))
        item_all, items = _factorize(df[ITEM_ID], sort=False)
        user_all, users = _factorize(df[USER_ID], sort=True)
        current = (item_all >= 0) & (user_all >= 0)
        key = item_all[current] * max(len(users), 1) + user_all[current]
        current[current] = _last_occurrence(key)

        label_all, ann_labels = _factorize(df[LABEL], sort=False)
        parts: list[tuple[str, IntArray, pd.Index]] = [(LABEL, label_all, ann_labels)]
        for col in (FINAL_LABEL, GOLD_LABEL):
            if col in df.columns:
                codes, uniques = _factorize(df[col], sort=False)
                parts.append((col, codes, uniques))
        union = pd.Index([], dtype=object)
        for _, _, uniques in parts:
            union = union.append(pd.Index(uniques, dtype=object))
        distinct = pd.Index(pd.unique(union.to_numpy(dtype=object)), dtype=object)
        labels = distinct[_sort_order(distinct)]

        recoded: dict[str, IntArray] = {}
        for col, codes, uniques in parts:
            remap = np.append(labels.get_indexer(pd.Index(uniques, dtype=object)), -1).astype(np.int64)
            recoded[col] = remap[codes]

        label = recoded[LABEL]
        rows = current & (label >= 0)
        user = user_all[rows]
        present = np.bincount(user, minlength=len(users)) > 0
        if not present.all():  # annotators whose every label was retracted drop out
            user = (np.cumsum(present) - 1)[user]
            users = users[present]
        final = _last_per_item(item_all, recoded[FINAL_LABEL], len(items)) if FINAL_LABEL in recoded else None
        gold = _last_per_item(item_all, recoded[GOLD_LABEL], len(items)) if GOLD_LABEL in recoded else None
        return cls(
            items=items,
            users=users,
            labels=labels,
            item=np.ascontiguousarray(item_all[rows]),
            user=np.ascontiguousarray(user, dtype=np.int64),
            label=np.ascontiguousarray(label[rows]),
            final=final,
            gold=gold,
        )


def as_label_data(data: pd.DataFrame | LabelData) -> LabelData:
    """Accept either a label frame or an already encoded :class:`LabelData`."""
    if isinstance(data, LabelData):
        return data
    if isinstance(data, pd.DataFrame):
        return LabelData.from_frame(data)
    raise TypeError(f"expected a DataFrame or LabelData, got {type(data).__name__}")


def current_labels(df: pd.DataFrame) -> pd.DataFrame:
    """The rows that count: last row per (item_id, user_id), minus null labels.

    Returned in the original row order, with the original index; handy for reports that
    want to show exactly what the metrics were computed on.
    """
    _require(df, (ITEM_ID, USER_ID, LABEL))
    valid = df[ITEM_ID].notna() & df[USER_ID].notna()
    kept = df[valid]
    kept = kept[~kept.duplicated([ITEM_ID, USER_ID], keep="last")]
    return kept[kept[LABEL].notna()]
