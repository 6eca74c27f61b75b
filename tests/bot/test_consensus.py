import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.consensus import decide


def test_two_of_three_passes_default_agreement():
    outcome = decide({"U1": "a", "U2": "a", "U3": "b"}, needed=3, agreement=0.66)
    assert outcome.status == "resolved"
    assert outcome.winner == "a"
    assert outcome.share == pytest.approx(2 / 3)


def test_open_until_enough_labels():
    assert decide({"U1": "a", "U2": "a"}, needed=3, agreement=0.66).status == "open"
    assert decide({}, needed=3, agreement=0.66).status == "open"


def test_split_escalates():
    outcome = decide({"U1": "a", "U2": "b", "U3": "c"}, needed=3, agreement=0.66)
    assert outcome.status == "escalated"
    assert outcome.share == pytest.approx(1 / 3)


def test_agreement_threshold_is_inclusive():
    assert decide({"U1": "a", "U2": "a", "U3": "b", "U4": "b", "U5": "a"}, 5, 0.6).status == "resolved"
    assert decide({"U1": "a", "U2": "a", "U3": "b", "U4": "b", "U5": "a"}, 5, 0.61).status == "escalated"


def test_tie_never_resolves_even_when_share_suffices():
    outcome = decide({"U1": "a", "U2": "a", "U3": "b", "U4": "b"}, needed=4, agreement=0.5)
    assert outcome.status == "escalated"
    assert outcome.winner is None
    assert outcome.tied


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from([f"U{i}" for i in range(8)]), st.sampled_from("abc"), min_size=1),
    st.integers(1, 8),
    st.sampled_from([0.5, 0.66, 0.75, 1.0]),
)
def test_rule_properties(votes, needed, agreement):
    outcome = decide(votes, needed, agreement)
    assert sum(outcome.counts.values()) == len(votes)
    if len(votes) < needed:
        assert outcome.status == "open"
    elif outcome.status == "resolved":
        assert not outcome.tied and outcome.share >= agreement - 1e-9
        assert outcome.counts[outcome.winner] == max(outcome.counts.values())
    else:
        assert outcome.tied or outcome.share < agreement
    # The order in which votes arrive never changes the outcome.
    assert decide(dict(reversed(list(votes.items()))), needed, agreement) == outcome
