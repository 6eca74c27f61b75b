"""Wilson score intervals for proportions (accuracy, error rates).

Digest numbers come from small samples (an annotator's twenty gold answers); a bare
proportion hides how little it says. The Wilson interval is well behaved at 0 and n
successes and for small n, unlike the normal ("Wald") interval, and is what
``statsmodels.stats.proportion.proportion_confint(method="wilson")`` computes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

__all__ = ["Interval", "RateEstimate", "error_rate_estimate", "wilson_bounds", "wilson_interval"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval; ``low``/``high`` are None (with a ``reason``) when undefined.

    Unpacks as a pair: ``low, high = wilson_interval(7, 20)``.
    """

    low: float | None
    high: float | None
    reason: str | None = None

    def __iter__(self) -> Iterator[float | None]:
        return iter((self.low, self.high))


@dataclass(frozen=True, slots=True)
class RateEstimate:
    """A proportion with its Wilson interval; ``value`` is None (with ``reason``) when n = 0.

    ``rate`` is an alias of ``value`` and ``interval`` the (low, high) pair as an
    :class:`Interval`, for callers that read it that way.
    """

    value: float | None
    low: float | None
    high: float | None
    n: int
    reason: str | None = None

    @property
    def rate(self) -> float | None:
        return self.value

    @property
    def interval(self) -> Interval:
        return Interval(self.low, self.high, self.reason)


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)


def _check_counts(successes: int, n: int) -> None:
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")


def wilson_bounds(
    successes: npt.ArrayLike, n: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Vectorised Wilson bounds; NaN where n = 0. For per-annotator columns."""
    z = _z(confidence)
    k = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / m
        z2 = z * z
        denom = 1.0 + z2 / m
        center = (p + z2 / (2.0 * m)) / denom
        half = z * np.sqrt(p * (1.0 - p) / m + z2 / (4.0 * m * m)) / denom
    # At k = 0 and k = n the bounds are exactly 0 and 1; the formula leaves rounding dust.
    low = np.where(m > 0, np.where(k == 0, 0.0, np.clip(center - half, 0.0, 1.0)), np.nan)
    high = np.where(m > 0, np.where(k == m, 1.0, np.clip(center + half, 0.0, 1.0)), np.nan)
    return low, high


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for ``successes`` out of ``n``.

    n = 0 gives ``Interval(None, None, reason)``: there is nothing to estimate. Counts outside
    0 <= successes <= n and confidence outside (0, 1) are caller errors (ValueError).
    """
    _check_counts(successes, n)
    if n == 0:
        _z(confidence)
        return Interval(None, None, "no observations (n = 0)")
    low, high = wilson_bounds(successes, n, confidence)
    return Interval(float(low), float(high))


def error_rate_estimate(errors: int, n: int, confidence: float = 0.95) -> RateEstimate:
    """Error rate ``errors / n`` with its Wilson interval (value None with reason when n = 0)."""
    interval = wilson_interval(errors, n, confidence)
    if n == 0:
        return RateEstimate(None, None, None, 0, interval.reason)
    return RateEstimate(errors / n, interval.low, interval.high, n)
