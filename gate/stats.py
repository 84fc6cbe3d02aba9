"""Small-sample statistics for verdicts that do not flap: pure functions, percent in and out."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
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

    return least(1, meets)


def least(start: int, meets: Callable[[int], bool], limit: int = 10_000_000) -> int | None:
    """The smallest n >= start for which `meets(n)` holds, when it holds from some n on
    (doubling, then bisection); None beyond `limit`."""
    high = max(start, 1)
    while not meets(high):
        high *= 2
        if high > limit:
            return None
    low = high // 2 if high > max(start, 1) else high
    low = max(low, start)
    if low == high:
        return high
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


# --- paired comparisons by scenario (docs/statistics.md, "Per-scenario regressions") ---------


def _hypergeom_pmf(total: int, successes: int, draws: int) -> tuple[int, list[float]]:
    """The distribution of the successes among `draws` taken from `total` of which `successes`
    are: (its lowest value, the probabilities from there).

    From the mode outwards by the ratio of consecutive terms,
    P(x + 1) / P(x) = (K − x)(m − x) / ((x + 1)(N − K − m + x + 1)), then normalised: no big
    binomial coefficients (a scenario of 200 calls a side made them 120 digits long), and no
    underflow of the terms that matter. Agrees with the exact `math.comb` form to about 1e-13."""
    low, high = max(0, draws - (total - successes)), min(successes, draws)
    others = total - successes
    mode = min(high, max(low, (draws + 1) * (successes + 1) // (total + 2)))
    terms = [0.0] * (high - low + 1)
    terms[mode - low] = 1.0
    for x in range(mode, high):  # upwards
        ratio = (successes - x) * (draws - x) / ((x + 1) * (others - draws + x + 1))
        terms[x + 1 - low] = terms[x - low] * ratio
    for x in range(mode, low, -1):  # downwards: P(x - 1) = P(x) / ratio(x - 1)
        ratio = (successes - x + 1) * (draws - x + 1) / (x * (others - draws + x))
        terms[x - 1 - low] = terms[x - low] / ratio
    whole = math.fsum(terms)
    return low, [t / whole for t in terms]


def fisher_lower(base_passed: int, base_n: int, now_passed: int, now_n: int) -> float:
    """One-sided Fisher exact test that the current rate is lower than the baseline's: the
    probability, given both margins, of `now_passed` or fewer passes among the current calls."""
    total, successes = base_n + now_n, base_passed + now_passed
    low, pmf = _hypergeom_pmf(total, successes, now_n)
    return min(1.0, math.fsum(pmf[: now_passed - low + 1]))


def min_fisher_p(base_n: int, now_n: int) -> float:
    """The smallest one-sided Fisher p-value `n` baseline and `m` current calls can give:
    1 / C(n + m, n) (every baseline call passing, every current one failing)."""
    return 1 / math.comb(base_n + now_n, base_n)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (Holm 1979): controls the chance of any false alarm among
    the k tests at alpha, whatever their dependence. Adjusted values, in the input's order."""
    k = len(p_values)
    order = sorted(range(k), key=lambda i: p_values[i])
    adjusted = [0.0] * k
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (k - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def stratified_lower(tables: Sequence[tuple[int, int, int, int]]) -> float:
    """One-sided exact test, stratified by scenario, that the current pass rate is lower: given
    each scenario's margins, the current passes of the scenarios sum to a convolution of their
    hypergeometric distributions; the p-value is the chance of the observed sum or less.
    `tables`: (baseline passed, baseline n, current passed, current n) per scenario."""
    pmfs = []
    bound = 0  # the observed sum, counted from the lowest possible: the last index needed
    for b, n, c, m in tables:
        if m == 0:
            continue
        s_low, pmf = _hypergeom_pmf(n + m, b + c, m)
        bound += c - s_low
        if len(pmf) > 1:  # every call of the scenario passed, or failed: a constant
            pmfs.append(pmf)
    dist = [1.0]
    for pmf in pmfs:  # only the lower tail matters: values past the bound are never needed
        dist = _convolve(dist, pmf, bound + 1)
    return min(1.0, math.fsum(dist[: bound + 1]))


def _convolve(a: list[float], b: list[float], keep: int) -> list[float]:
    out = [0.0] * min(len(a) + len(b) - 1, max(1, keep))
    for i, x in enumerate(a[: len(out)]):
        if x == 0.0:
            continue
        for j, y in enumerate(b[: len(out) - i]):
            out[i + j] += x * y
    return out
