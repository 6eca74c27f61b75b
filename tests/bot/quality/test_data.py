"""The column contract: current labels, nulls, item attributes, coding."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings

from bot.quality import LabelData, Metric, current_labels, krippendorff_alpha
from bot.quality.data import as_label_data

from .support import assert_same_metric, current, label_frames


def test_last_row_of_a_pair_counts() -> None:
    df = pd.DataFrame(
        {
            "item_id": ["a", "a", "b", "a"],
            "user_id": ["u1", "u2", "u1", "u1"],
            "label": ["x", "y", "x", "z"],
        }
    )
    d = LabelData.from_frame(df)
    got = {(d.items[i], d.users[u]): d.labels[lab] for i, u, lab in zip(d.item, d.user, d.label, strict=True)}
    assert got == {("a", "u1"): "z", ("a", "u2"): "y", ("b", "u1"): "x"}
    assert current_labels(df).index.tolist() == [1, 2, 3]


def test_null_label_retracts_and_null_ids_are_ignored() -> None:
    df = pd.DataFrame(
        {
            "item_id": ["a", "a", None, "b"],
            "user_id": ["u1", "u1", "u1", None],
            "label": ["x", None, "y", "y"],
        }
    )
    d = LabelData.from_frame(df)
    assert len(d) == 0 and d.n_users == 0
    assert current_labels(df).empty
    retracted = pd.DataFrame({"item_id": [1, 1, 1], "user_id": ["a", "b", "a"], "label": ["x", "y", None]})
    d = LabelData.from_frame(retracted)
    assert list(d.users) == ["b"] and d.users[d.user[0]] == "b"


def test_final_and_gold_take_last_non_null_per_item() -> None:
    df = pd.DataFrame(
        {
            "item_id": ["a", "a", "a", "b"],
            "user_id": ["u1", "u2", "u3", "u1"],
            "label": ["x", "x", "y", "y"],
            "final_label": ["x", "y", None, None],
            "gold_label": [None, "x", None, "q"],
        }
    )
    d = LabelData.from_frame(df)
    final = {d.items[i]: (None if c < 0 else d.labels[c]) for i, c in enumerate(d.require_final())}
    gold = {d.items[i]: (None if c < 0 else d.labels[c]) for i, c in enumerate(d.require_gold())}
    assert final == {"a": "y", "b": None}
    assert gold == {"a": "x", "b": "q"}
    assert list(d.labels) == ["q", "x", "y"]  # union of all label columns, sorted


def test_users_and_labels_are_sorted_items_keep_first_appearance() -> None:
    df = pd.DataFrame({"item_id": [3, 1, 2], "user_id": ["zed", "amy", "bob"], "label": ["c", "a", "b"]})
    d = LabelData.from_frame(df)
    assert list(d.users) == ["amy", "bob", "zed"]
    assert list(d.labels) == ["a", "b", "c"]
    assert list(d.items) == [3, 1, 2]


def test_mixed_type_ids_sort_by_str() -> None:
    df = pd.DataFrame({"item_id": [1, "1", (2, 3)], "user_id": [2, "a", 1], "label": ["x", 1, "x"]})
    d = LabelData.from_frame(df)
    assert len(d) == 3
    assert [str(u) for u in d.users] == ["1", "2", "a"]


def test_categorical_columns_work() -> None:
    df = pd.DataFrame(
        {"item_id": [1, 1, 2, 2], "user_id": ["a", "b", "a", "b"], "label": ["x", "x", "y", "x"]}
    )
    cat = df.astype("category")
    assert_same_metric(krippendorff_alpha(cat), krippendorff_alpha(df))


def test_missing_required_column_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="label"):
        LabelData.from_frame(pd.DataFrame({"item_id": [1], "user_id": ["a"]}))
    d = LabelData.from_frame(pd.DataFrame({"item_id": [1], "user_id": ["a"], "label": ["x"]}))
    with pytest.raises(ValueError, match="final_label"):
        d.require_final()
    with pytest.raises(ValueError, match="gold_label"):
        d.require_gold()
    with pytest.raises(TypeError):
        as_label_data([1, 2, 3])  # type: ignore[arg-type]


def test_label_data_passes_through() -> None:
    d = LabelData.from_frame(pd.DataFrame({"item_id": [1], "user_id": ["a"], "label": ["x"]}))
    assert as_label_data(d) is d


def test_metric_needs_exactly_one_of_value_and_reason() -> None:
    assert Metric(0.5).defined
    assert not Metric(None, "why").defined
    with pytest.raises(ValueError):
        Metric(None)
    with pytest.raises(ValueError):
        Metric(0.5, "both")


@settings(max_examples=50, deadline=None)
@given(label_frames())
def test_encoding_matches_pandas_statement_of_the_contract(df: pd.DataFrame) -> None:
    d = LabelData.from_frame(df)
    got = sorted(
        zip(
            d.items.to_numpy(dtype=object)[d.item],
            d.users.to_numpy(dtype=object)[d.user],
            d.labels.to_numpy(dtype=object)[d.label],
            strict=True,
        )
    )
    expected = current(df)
    assert got == sorted(zip(expected.item_id, expected.user_id, expected.label, strict=True))
    assert list(d.users) == sorted(d.users)
    assert list(d.labels) == sorted(d.labels)
