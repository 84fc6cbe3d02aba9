"""Small-sample statistics for verdicts that do not flap: pure functions, percent in and out."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from statistics import NormalDist, fmean

DEFAULT_CONFIDENCE = 0.95
# p90 - p10 of a normal distribution spans 2 * 1.2816 standard deviations.
_P10_P90_SPAN = 2 * NormalDist().inv_cdf(0.9)


def z(confidence: float) -> float:
    return NormalDist().inv_cdf((1 + confidence) / 2)


def wilson(successes: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a proportion, in percent (0-100)."""
    if n <= 0:
        return (0.0, 100.0)
    k = z(confidence)
    p = successes / n
    denominator = 1 + k * k / n
    centre = (p + k * k / (2 * n)) / denominator
    half = k * math.sqrt(p * (1 - p) / n + k * k / (4 * n * n)) / denominator
    return (round(max(0.0, centre - half) * 100, 2), round(min(1.0, centre + half) * 100, 2))


def cells_needed(
    rate: float, threshold: float, confidence: float, *, lower: bool = True
) -> int | None:
    """Fewest cells at the observed `rate` (percent) whose Wilson bound would meet `threshold`.

    None when no sample size can: the rate itself is on the wrong side of the threshold.
    """
    if (lower and rate <= threshold) or (not lower and rate >= threshold):
        return None

    def meets(n: int) -> bool:
        lo, hi = wilson(round(rate / 100 * n), n, confidence)
        return lo >= threshold if lower else hi <= threshold

    n = 1
    while not meets(n):
        n *= 2
        if n > 10_000_000:
            return None
    low, high = n // 2, n
    while low + 1 < high:
        mid = (low + high) // 2
        if meets(mid):
            high = mid
        else:
            low = mid
    return high


def mean_interval_from_percentiles(
    mean: float, p10: float, p90: float, n: int, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """An interval for a mean score (0-100) from the spread the API reports (p10 and p90)."""
    if n <= 1:
        return (0.0, 100.0)
    sd = max(0.0, p90 - p10) / _P10_P90_SPAN
    half = z(confidence) * sd / math.sqrt(n)
    return (round(max(0.0, mean - half), 2), round(min(100.0, mean + half), 2))


def mean_interval_from_values(
    values: Sequence[float], confidence: float = DEFAULT_CONFIDENCE
) -> tuple[float, float]:
    """An interval for the mean of call-level scores (0-1), in percent."""
    if len(values) <= 1:
        return (0.0, 100.0)
    centre = fmean(values)
    sd = sample_stdev(values, centre)
    mean = centre * 100
    half = z(confidence) * sd * 100 / math.sqrt(len(values))
    return (round(max(0.0, mean - half), 2), round(min(100.0, mean + half), 2))


def sample_stdev(values: Sequence[float], mean: float) -> float:
    """The sample standard deviation, two-pass with exact float sums.

    `statistics.stdev` is exact but works in fractions: 40 ms for 20,000 scores, more than the
    rest of the verdict. Two passes over floats with `math.fsum` agree with it to about 1e-12.
    """
    deviations = [v - mean for v in values]
    return math.sqrt(math.fsum(map(operator.mul, deviations, deviations)) / (len(values) - 1))
