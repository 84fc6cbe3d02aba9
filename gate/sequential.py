"""Anytime-valid tests of a rate or a mean against a threshold, from counts only.

`fi-gate run` with `evidence:` looks at its data after every execution it pools, and decides
when the evidence does. A fixed-sample interval re-checked after every look would pass an agent
at the threshold far more often than its confidence says; these tests do not, however often
they look (Ville's inequality).

For observations x_i in [0, 1] (a Pass/Fail outcome, or a score on its 0-1 scale) with mean p,
and a threshold m, the one-sided mixture (Robbins 1970; Howard, Ramdas, McAuliffe and Sekhon
2021, the beta-binomial "conjugate mixture") is

    E_t(m) = (1/(1-m)) * integral from m to 1 of (q/m)^S * ((1-q)/(1-m))^(t-S) dq

with S = sum of x_i and t the number of observations. Each factor (q/m)^x ((1-q)/(1-m))^(1-x)
is convex in x, so its expectation for any x in [0, 1] with mean p <= m is at most
p q/m + (1-p)(1-q)/(1-m) <= 1 when q >= m: E_t(m) is a nonnegative supermartingale when
p <= m, and P(E_t(m) >= 1/alpha at any t) <= alpha. "pass" is E_t(m) >= 1/alpha, for
alpha = 1 - confidence; "fail" is the mirror test (the prior on [0, m]). Both depend only on S
and t, so looking after each execution (a subset of the looks) keeps the guarantee.

In closed form, with I the regularised incomplete beta function:

    E_t(m) = B(S+1, t-S+1) * I_{1-m}(t-S+1, S+1) / ((1-m) * m^S * (1-m)^(t-S))

Percent in and out where a caller sees it; the functions here take rates in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from gate.stats import least

_TINY = 1e-300
_EDGE = 1e-9  # a threshold of 0 or 100 % is tested as this close to it


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), a and b > 0 (continued fraction,
    modified Lentz; Press et al., Numerical Recipes, 6.4)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _fraction(b, a, 1.0 - x) / b


def _fraction(a: float, b: float, x: float) -> float:
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 10_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def log_evidence_above(total: float, n: int, m: float) -> float:
    """log E_n(m): the evidence that the mean exceeds m (see the module's doc)."""
    m = min(max(m, _EDGE), 1 - _EDGE)
    if n <= 0:
        return 0.0 if n == 0 else -math.inf
    s, f = total, n - total
    tail = betainc(f + 1, s + 1, 1 - m)  # = 1 - I_m(s+1, f+1), kept precise
    if tail <= 0.0:
        return -math.inf
    return _log_beta(s + 1, f + 1) + math.log(tail) - math.log1p(-m) - _log_lik(s, f, m)


def log_evidence_below(total: float, n: int, m: float) -> float:
    """log of the mirror evidence: that the mean is below m."""
    return log_evidence_above(n - total, n, 1 - m)


def _log_lik(s: float, f: float, m: float) -> float:
    return s * math.log(m) + f * math.log1p(-m)


@dataclass(frozen=True)
class Decision:
    """One check's state after a look: "pass", "fail" or "undecided", with the confidence
    sequence's bounds at this look (rates in [0, 1])."""

    state: str
    estimate: float
    lower: float
    upper: float
    n: int


def state(total: float, n: int, threshold: float, confidence: float, *, floor: bool) -> str:
    """ "pass", "fail" or "undecided": is the mean of `n` observations in [0, 1] summing to
    `total` above `threshold` (a floor) or below it (a ceiling, `floor=False`), at
    `confidence`, anytime-valid? False passes and false fails each at most 1 - confidence."""
    if not floor:  # a ceiling on x is a floor on 1 - x
        return state(n - total, n, 1 - threshold, confidence, floor=True)
    level = math.log(1 / (1 - confidence))
    if threshold <= 0.0:
        return "pass"  # every rate is at least 0
    if log_evidence_above(total, n, threshold) >= level:
        return "pass"
    if log_evidence_below(total, n, threshold) >= level:
        return "fail"
    return "undecided"


def decide(total: float, n: int, threshold: float, confidence: float, *, floor: bool) -> Decision:
    """`state`, with the estimate and the confidence sequence's bounds at this look."""
    lower, upper = bounds(total, n, confidence)
    estimate = total / n if n else 0.0
    return Decision(state(total, n, threshold, confidence, floor=floor), estimate, lower, upper, n)


def bounds(total: float, n: int, confidence: float) -> tuple[float, float]:
    """The confidence sequence at this look: every m that neither test rejects (each side at
    1 - confidence), found by bisection (the evidence falls as m nears the estimate)."""
    if n <= 0:
        return (0.0, 1.0)
    level = math.log(1 / (1 - confidence))
    estimate = total / n
    lower = _crossing(lambda m: log_evidence_above(total, n, m) >= level, 0.0, estimate)
    upper = 1 - _crossing(lambda m: log_evidence_below(total, n, 1 - m) >= level, 0.0, 1 - estimate)
    return (lower, upper)


def _crossing(rejected: Callable[[float], bool], low: float, high: float) -> float:
    """The largest m in [low, high] that `rejected(m)` holds for (0 when none does)."""
    if high <= _EDGE or not rejected(min(low + _EDGE, high)):
        return low
    for _ in range(50):
        mid = (low + high) / 2
        if rejected(mid):
            low = mid
        else:
            high = mid
    return low


def more_needed(
    estimate: float, n: int, threshold: float, confidence: float, *, floor: bool
) -> int | None:
    """About how many more observations, at the estimate, would decide the check; None when
    more are unlikely to (the estimate sits on the threshold)."""
    if abs(estimate - threshold) < 0.005:
        return None

    def decides(total_n: int) -> bool:
        at = state(estimate * total_n, total_n, threshold, confidence, floor=floor)
        return at != "undecided"

    found = least(max(n, 1), decides, limit=1_000_000)
    return None if found is None else max(0, found - n)
