"""Intervals and sample sizes, and how `confidence` and `min_cells` change a verdict."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from statistics import fmean, stdev

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.errors import ConfigError
from gate.evaluate import evaluate
from gate.model import Execution, parse_execution
from gate.policy import parse_policy
from gate.stats import (
    cells_needed,
    mean_interval_from_percentiles,
    mean_interval_from_values,
    sample_stdev,
    wilson,
    z,
)
from gate.verdict import CallsSummary
from tests.conftest import SEED

NOW = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)


def seed() -> Execution:
    return parse_execution(json.loads(SEED.read_text())["result"])


def test_wilson_on_the_seed_matches_the_issue() -> None:
    # 21 of 26 calls: "compatible with a true pass rate anywhere from about 62 % to 91 %"
    lo, hi = wilson(21, 26)
    assert round(lo) == 62
    assert round(hi) == 91


@pytest.mark.parametrize(("k", "n"), [(0, 10), (10, 10), (5, 10), (1, 1000), (999, 1000)])
def test_wilson_properties(k: int, n: int) -> None:
    lo, hi = wilson(k, n)
    assert 0 <= lo <= 100 * k / n <= hi <= 100
    wider = wilson(k, n, 0.99)
    assert wider[0] <= lo and wider[1] >= hi
    more = wilson(k * 10, n * 10)
    assert more[1] - more[0] <= hi - lo


def test_cells_needed_is_the_smallest_sufficient_sample() -> None:
    n = cells_needed(80.77, 75, 0.95)
    assert n is not None
    assert wilson(round(0.8077 * n), n)[0] >= 75
    assert wilson(round(0.8077 * (n - 1)), n - 1)[0] < 75
    assert cells_needed(70, 75, 0.95) is None  # the rate itself is below: no sample helps
    upper = cells_needed(5, 10, 0.95, lower=False)
    assert upper is not None
    assert wilson(round(0.05 * upper), upper)[1] <= 10


def test_score_intervals() -> None:
    lo, hi = mean_interval_from_percentiles(70, 50, 90, 100)
    assert lo < 70 < hi
    assert pytest.approx(70 - lo, abs=0.01) == hi - 70
    values = [0.6, 0.7, 0.8, 0.9, 0.75]
    lo, hi = mean_interval_from_values(values)
    half = z(0.95) * stdev(values) * 100 / len(values) ** 0.5
    assert (lo, hi) == (round(fmean(values) * 100 - half, 2), round(fmean(values) * 100 + half, 2))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1), min_size=2, max_size=400))
def test_float_stdev_agrees_with_the_exact_one(values: list[float]) -> None:
    assert sample_stdev(values, fmean(values)) == pytest.approx(stdev(values), rel=1e-9, abs=1e-12)


def test_every_rate_check_carries_its_interval() -> None:
    v = evaluate(
        parse_policy("version: 1\nevals:\n  is_helpful: {min_pass_rate: 80}\n"), seed(), NOW
    )
    check = next(c for c in v.checks if c.name == "is_helpful")
    assert (check.passes, check.n, check.interval_source) == (21, 26, "wilson")
    assert check.interval == wilson(21, 26)
    assert check.status == "pass"  # no confidence set: the point estimate is judged
    assert check.confidence is None


def test_confidence_judges_the_lower_bound_and_says_how_many_calls_would_do() -> None:
    policy = "version: 1\nevals:\n  is_helpful: {min_pass_rate: 75, confidence: 0.95}\n"
    v = evaluate(parse_policy(policy), seed(), NOW)
    check = next(c for c in v.checks if c.name == "is_helpful")
    assert check.status == "fail"
    assert "lower bound 62.12% is not" in check.message
    assert check.cells_needed == cells_needed(80.77, 75, 0.95)
    assert f"about {check.cells_needed} cells at this rate would be enough" in check.message
    assert v.exit_code == 1


def test_confidence_is_inherited_from_defaults() -> None:
    policy = parse_policy(
        "version: 1\ndefaults: {min_pass_rate: 50, confidence: 0.9, min_cells: 5}\n"
        "evals:\n  A: {min_pass_rate: 60}\n"
        "  B:\n    configs: {b: {min_pass_rate: 60, confidence: 0.99}}\n"
    )
    assert policy.defaults.confidence == 0.9
    a = policy.rule_for("A")
    b = policy.rule_for("B")
    assert a is not None and b is not None
    assert (a.thresholds.confidence, a.thresholds.min_cells) == (0.9, 5)
    assert (b.configs[0].thresholds.confidence, b.configs[0].thresholds.min_cells) == (0.99, 5)


def test_min_cells_fails_a_small_sample() -> None:
    v = evaluate(
        parse_policy("version: 1\nevals:\n  is_helpful: {min_pass_rate: 50, min_cells: 30}\n"),
        seed(),
        NOW,
    )
    check = next(c for c in v.checks if c.name == "is_helpful")
    assert check.status == "fail"
    assert "26 cells, fewer than min_cells 30" in check.message


@pytest.mark.parametrize("bad", ["0.5", "1", "95", "-1"])
def test_confidence_must_be_a_probability(bad: str) -> None:
    with pytest.raises(ConfigError, match="confidence"):
        parse_policy(f"version: 1\ndefaults: {{confidence: {bad}}}\n")


def test_score_interval_from_calls_when_read() -> None:
    ex = parse_execution(
        {
            "execution_id": "e",
            "status": "completed",
            "total_calls": 4,
            "completed_calls": 4,
            "failed_calls": 0,
            "eval_results": [
                {
                    "name": "CSAT",
                    "output_type": "score",
                    "total_avg": 75.0,
                    "result": [
                        {
                            "name": "csat",
                            "id": "cfg-csat",
                            "total_cells": 4,
                            "avg_score": 75.0,
                            "output": {"p10": 60.0, "p90": 90.0},
                        }
                    ],
                }
            ],
        }
    )
    policy = parse_policy("version: 1\nevals:\n  CSAT: {min_avg_score: 70}\n")
    from_api = next(c for c in evaluate(policy, ex, NOW).checks if c.name == "CSAT")
    assert from_api.interval_source == "percentiles"
    calls = CallsSummary(
        calls=4,
        by_status=(),
        failed_by_scenario=(),
        failing_examples={},
        scores={"cfg-csat": (0.6, 0.7, 0.8, 0.9)},  # by config id
    )
    from_calls = next(c for c in evaluate(policy, ex, NOW, calls=calls).checks if c.name == "CSAT")
    assert from_calls.interval_source == "calls"
    assert from_calls.interval == mean_interval_from_values([0.6, 0.7, 0.8, 0.9])
