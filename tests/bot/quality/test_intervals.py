"""Wilson intervals against statsmodels' proportion_confint(method="wilson")."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from bot.quality import error_rate_estimate, wilson_bounds, wilson_interval


@st.composite
def counts(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 100_000))
    return draw(st.integers(0, n)), n


@settings(max_examples=50, deadline=None)
@given(counts(), st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99, 0.999]))
def test_matches_statsmodels(sn: tuple[int, int], confidence: float) -> None:
    successes, n = sn
    low, high = wilson_interval(successes, n, confidence)
    ref_low, ref_high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    assert low == pytest.approx(ref_low, abs=1e-12)
    assert high == pytest.approx(ref_high, abs=1e-12)
    assert 0.0 <= low <= successes / n <= high <= 1.0


def test_boundaries() -> None:
    # 0 of 10 and 10 of 10: the bounds sit on 0 and 1 (no rounding dust outside the data).
    low, high = wilson_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-15)
    assert high == pytest.approx(proportion_confint(0, 10, method="wilson")[1], abs=1e-15)
    low, high = wilson_interval(10, 10)
    assert high == pytest.approx(1.0, abs=1e-15)


def test_vectorised_bounds_match_scalar_and_give_nan_for_n_zero() -> None:
    k = np.array([0, 3, 7, 0])
    n = np.array([5, 10, 7, 0])
    low, high = wilson_bounds(k, n)
    for i in range(3):
        interval = wilson_interval(int(k[i]), int(n[i]))
        assert (low[i], high[i]) == pytest.approx((interval.low, interval.high), abs=1e-15)
    assert np.isnan(low[3]) and np.isnan(high[3])


def test_n_zero_is_undefined_with_a_reason() -> None:
    interval = wilson_interval(0, 0)
    assert (interval.low, interval.high) == (None, None)
    assert interval.reason
    estimate = error_rate_estimate(0, 0)
    assert estimate.value is None and estimate.low is None and estimate.reason


def test_error_rate_estimate() -> None:
    estimate = error_rate_estimate(3, 40)
    assert estimate.value == pytest.approx(0.075)
    ref = proportion_confint(3, 40, method="wilson")
    assert (estimate.low, estimate.high) == pytest.approx(ref, abs=1e-12)
    assert estimate.n == 40 and estimate.reason is None
    assert estimate.rate == estimate.value
    assert tuple(estimate.interval) == (estimate.low, estimate.high)


@pytest.mark.parametrize(
    ("successes", "n", "confidence"), [(-1, 5, 0.95), (6, 5, 0.95), (1, 5, 1.0), (1, 5, 0.0)]
)
def test_invalid_input_is_a_caller_error(successes: int, n: int, confidence: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(successes, n, confidence)
