"""The dynamic overlap rule: a decision table, an exhaustive check and its consensus contract."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from bot.consensus import decide
from bot.overlap import Decision, OverlapPolicy, needs_more_labels

R, N, A = Decision.RESOLVE, Decision.NEED_MORE, Decision.APPLY_AGREEMENT_RULE


def votes_of(*labels: str) -> dict[str, str]:
    return {f"U{i}": label for i, label in enumerate(labels)}


@pytest.mark.parametrize(
    ("labels", "model_label", "confidence", "expected"),
    [
        ((), "a", 0.99, N),  # below min
        (("a",), "a", 0.95, R),  # human agrees with a confident model
        (("a",), "a", 0.90, R),  # threshold is inclusive
        (("a",), "a", 0.89, N),  # model not confident enough
        (("a",), "b", 0.99, N),  # confident model disagrees
        (("a",), None, None, N),  # no model yet
        (("a", "a"), "a", 0.95, R),
        (("a", "a"), None, None, A),  # 2 of 3 already meets agreement 0.66 whatever the third says
        (("a", "a"), "b", 0.99, A),
        (("a", "b"), "a", 0.99, N),  # humans disagree: ask the third
        (("a", "b", "a"), "a", 0.99, A),  # max reached
        (("a", "b", "c"), None, None, A),
        (("a", "a", "a", "a"), "a", 0.99, A),  # over max
    ],
)
def test_decision_table_min1_max3(
    labels: tuple[str, ...], model_label: str | None, confidence: float | None, expected: Decision
) -> None:
    decision = needs_more_labels(
        votes_of(*labels),
        model_label,
        confidence,
        min_labels=1,
        max_labels=3,
        confidence_threshold=0.9,
        agreement=0.66,
    )
    assert decision is expected


def test_min_forces_labels_even_with_a_confident_model() -> None:
    kwargs: dict[str, Any] = {
        "min_labels": 2,
        "max_labels": 3,
        "confidence_threshold": 0.9,
        "agreement": 0.66,
    }
    assert needs_more_labels(votes_of("a"), "a", 0.99, **kwargs) is N
    assert needs_more_labels(votes_of("a", "a"), "a", 0.99, **kwargs) is R


def test_unanimity_agreement_never_stops_early() -> None:
    kwargs: dict[str, Any] = {"min_labels": 1, "max_labels": 3, "confidence_threshold": 0.9, "agreement": 1.0}
    assert needs_more_labels(votes_of("a", "a"), None, None, **kwargs) is N
    assert needs_more_labels(votes_of("a", "a"), "a", 0.95, **kwargs) is R


def test_fixed_overlap_is_min_equals_max() -> None:
    kwargs: dict[str, Any] = {
        "min_labels": 3,
        "max_labels": 3,
        "confidence_threshold": 0.9,
        "agreement": 0.66,
    }
    assert needs_more_labels(votes_of("a", "a"), "a", 1.0, **kwargs) is N
    assert needs_more_labels(votes_of("a", "a", "a"), "a", 1.0, **kwargs) is A


def reference(
    votes: dict[str, str],
    model_label: str | None,
    conf: float | None,
    mn: int,
    mx: int,
    thr: float,
    agr: float,
) -> Decision:
    """The docstring's rule, written independently as a case analysis."""
    values = list(votes.values())
    n = len(values)
    if n >= mx:
        return A
    if n < mn:
        return N
    unanimous = len(set(values)) == 1
    if unanimous and model_label == values[0] and conf is not None and conf >= thr:
        return R
    best = max(values.count(v) for v in set(values))
    worst_case_share = best / mx
    if worst_case_share >= agr - 1e-12 and 2 * best > mx:
        return A
    return N


def test_exhaustive_small_cases_match_the_reference() -> None:
    labels = ("a", "b", "c")
    checked = 0
    for mn, mx in [(1, 1), (1, 2), (1, 3), (2, 3), (2, 4), (3, 3), (1, 4)]:
        for n in range(mx + 2):
            for combo in itertools.product(labels, repeat=n):
                votes = votes_of(*combo)
                for model_label, conf in itertools.product((None, "a", "b"), (None, 0.5, 0.9, 0.99)):
                    for agr in (0.5, 0.66, 0.75, 1.0):
                        got = needs_more_labels(
                            votes,
                            model_label,
                            conf,
                            min_labels=mn,
                            max_labels=mx,
                            confidence_threshold=0.9,
                            agreement=agr,
                        )
                        assert got is reference(votes, model_label, conf, mn, mx, 0.9, agr), (
                            combo,
                            model_label,
                            conf,
                            mn,
                            mx,
                            agr,
                        )
                        if got is R:
                            assert len(set(combo)) == 1 and n >= mn
                        if n >= mx:
                            assert got is A
                        if n < mn:
                            assert got is N
                        checked += 1
    assert checked > 10_000


def test_early_stop_never_changes_the_consensus_winner() -> None:
    """When the rule stops before max, the usual rule on the votes so far picks the label that
    every possible completion up to max would also resolve to."""
    labels = ("a", "b", "c")
    for mx, agr in itertools.product((2, 3, 4, 5), (0.5, 0.6, 0.66, 0.75, 1.0)):
        for n in range(1, mx):
            for combo in itertools.product(labels, repeat=n):
                votes = votes_of(*combo)
                if needs_more_labels(votes, None, None, min_labels=1, max_labels=mx, agreement=agr) is not A:
                    continue
                now = decide(votes, needed=len(votes), agreement=agr)
                assert now.status == "resolved"
                for rest in itertools.product((*labels, "d"), repeat=mx - n):
                    full = decide(votes_of(*combo, *rest), needed=mx, agreement=agr)
                    assert full.status == "resolved" and full.winner == now.winner


def test_sequential_labeling_always_terminates_within_max() -> None:
    for combo in itertools.product("ab", repeat=4):
        votes: dict[str, str] = {}
        for label in combo:
            votes[f"U{len(votes)}"] = label
            if needs_more_labels(votes, "a", 0.95) is not N:
                break
        assert 1 <= len(votes) <= 3


def test_policy_validates_and_delegates() -> None:
    policy = OverlapPolicy(min=1, max=3, confidence_threshold=0.8, agreement=0.66)
    assert policy.decide(votes_of("a"), "a", 0.85) is R
    for bad in ({"min": 0}, {"min": 3, "max": 2}, {"confidence_threshold": 1.5}, {"agreement": 0.0}):
        with pytest.raises(ValueError):
            OverlapPolicy(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        needs_more_labels({}, None, None, min_labels=2, max_labels=1)
    with pytest.raises(ValueError):
        needs_more_labels({}, None, None, agreement=1.5)


def test_decision_values_are_the_documented_strings() -> None:
    assert [d.value for d in Decision] == ["resolve", "need_more", "apply_agreement_rule"]
