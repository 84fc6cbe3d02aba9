"""Baselines and trends: drops against an earlier execution, and the series per eval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.history import drop_is_significant
from tests.conftest import run, write_policy
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, Store, build_run_test

IDS = [f"{i:08d}-0000-4000-8000-{i:012d}" for i in range(1, 13)]


def store(rates: list[int], cells: int = 200) -> Store:
    """Executions oldest to newest with these is_helpful pass rates (day i at 08:00)."""
    return Store(
        [
            build_run_test(
                {
                    "name": "Agent",
                    "evals": [{"name": "is_helpful", "configs": [{"name": "helpful"}]}],
                    "executions": [
                        {
                            "execution_id": IDS[i],
                            "status": "completed",
                            "started_at": f"2026-11-{i + 10}T08:00:00Z",
                            "completed_at": f"2026-11-{i + 10}T08:30:00Z",
                            "created_at": f"2026-11-{i + 10}T08:00:00Z",
                            "generate": {"calls": cells, "rates": {"helpful": rate}},
                        }
                        for i, rate in enumerate(rates)
                    ],
                }
            )
        ]
    )


def gate(
    rates: list[int], policy: str, tmp_path: Path, cells: int = 200
) -> tuple[int, Any, FakeApi]:
    path = write_policy(tmp_path, "version: 1\nrun_test: Agent\n" + policy)
    report = tmp_path / "r.json"
    with FakeApi(store(rates, cells)) as api:
        result = run(
            [
                "check",
                "--policy",
                path,
                "--report",
                str(report),
                "--summary",
                str(tmp_path / "s.md"),
            ],
            env={"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY},
        )
    return result.code, json.loads(report.read_text()), api


def drops(report: Any) -> list[dict[str, Any]]:
    return [c for c in report["checks"] if c["metric"].endswith("_drop")]


def test_previous_baseline_catches_a_drop_with_no_extra_request(tmp_path: Path) -> None:
    code, report, api = gate(
        [90, 92, 80],
        "defaults: {min_pass_rate: 70}\nbaseline: {compare_to: previous, max_drop: 5}\n",
        tmp_path,
    )
    assert code == 1
    (drop,) = drops(report)
    assert (drop["observed"], drop["baseline_value"], drop["baseline_execution"]) == (
        -12.0,
        92.0,
        IDS[1],
    )
    assert drop["status"] == "fail"
    assert drop["message"].startswith(
        f"-12 points (92% → 80%) against baseline {IDS[1]} (previous)"
    )
    assert "a drop of at most 5 allowed" in drop["message"]
    assert len(api.runs_requests) == 2  # the listing page holds the history


def test_last_passing_skips_executions_that_failed_the_policy(tmp_path: Path) -> None:
    # day 1 at 60 % fails min_pass_rate 70: the last passing one is day 0 at 90 %
    code, report, _ = gate(
        [90, 60, 86],
        "defaults: {min_pass_rate: 70}\nbaseline: {compare_to: last-passing, max_drop: 3}\n",
        tmp_path,
    )
    (drop,) = drops(report)
    assert (drop["baseline_execution"], drop["observed"]) == (IDS[0], -4.0)
    assert code == 1


def test_explicit_baseline_id_is_fetched_when_not_listed(tmp_path: Path) -> None:
    policy = (
        f"defaults: {{min_pass_rate: 50}}\nbaseline: {{compare_to: '{IDS[0]}', max_drop: 50}}\n"
    )
    # 12 executions: the listing page (11 newest) does not hold the oldest, named one
    code, report, api = gate([70 + i for i in range(12)], policy, tmp_path)
    assert code == 0
    (drop,) = drops(report)
    assert (drop["baseline_execution"], drop["observed"]) == (IDS[0], 11.0)
    queries = [s.query for s in api.runs_requests]
    assert len(queries) == 3
    assert queries[2] == {"execution_id": IDS[0], "limit": "1"}


def test_per_eval_baseline_and_warn_level(tmp_path: Path) -> None:
    policy = (
        "evals:\n  is_helpful:\n    min_pass_rate: 50\n    level: warn\n"
        "    baseline: {compare_to: previous, max_drop: 1}\n"
    )
    code, report, _ = gate([90, 80], policy, tmp_path)
    assert code == 0
    assert drops(report)[0]["status"] == "warn"
    assert report["verdict"] == "warn"


def test_with_confidence_a_drop_must_be_significant(tmp_path: Path) -> None:
    policy = (
        "defaults: {min_pass_rate: 50, confidence: 0.95}\n"
        "baseline: {compare_to: previous, max_drop: 5}\n"
    )
    small_code, small, _ = gate([90, 80], policy, tmp_path, cells=20)  # 18/20 vs 16/20
    assert small_code == 0
    assert "not significant at 95%, so it passes" in drops(small)[0]["message"]
    big_code, big, _ = gate([90, 80], policy, tmp_path, cells=400)
    assert big_code == 1
    assert drops(big)[0]["status"] == "fail"


def test_no_baseline_yet_is_a_warning(tmp_path: Path) -> None:
    code, report, _ = gate(
        [90],
        "defaults: {min_pass_rate: 50}\nbaseline: {compare_to: previous, max_drop: 5}\n",
        tmp_path,
    )
    assert code == 0
    assert report["warnings"] == [
        "no baseline execution (previous) among the 1 read: drops are not checked"
    ]


def test_trend_is_oldest_first_and_rendered(tmp_path: Path) -> None:
    code, report, api = gate(
        [70, 75, 80, 85, 90], "defaults: {min_pass_rate: 50}\ntrend: {last: 4}\n", tmp_path
    )
    assert code == 0
    assert report["trend"] == {"is_helpful": [75.0, 80.0, 85.0, 90.0]}
    assert len(api.runs_requests) == 2
    summary = (tmp_path / "s.md").read_text()
    assert "| is_helpful | `▁▃▆█` | 75 | 90 |" in summary


@pytest.mark.parametrize(
    ("base", "now", "n", "significant"),
    [(90, 80, 20, False), (90, 80, 400, True), (80, 90, 400, False)],
)
def test_two_proportion_test(base: float, now: float, n: int, significant: bool) -> None:
    assert drop_is_significant(base, n, now, n, 0.95) is significant


def test_a_realistic_summary_shows_intervals_baseline_deltas_and_trends(tmp_path: Path) -> None:
    """policies/regression.yml against the demo run test, as the README's quick start runs it."""
    from tests.conftest import DEMO_DATA, ROOT
    from tests.fakeapi import load_dir

    summary = tmp_path / "s.md"
    with FakeApi(load_dir(DEMO_DATA)) as api:
        result = run(
            [
                "check",
                "--policy",
                str(ROOT / "policies" / "regression.yml"),
                "--summary",
                str(summary),
            ],
            env={"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY},
        )
        # the listing and the execution with its calls, then the baseline's calls
        # (baseline.scenarios compares them scenario by scenario)
        assert len(api.runs_requests) == 3
    assert result.code == 1  # two evals fail for lack of evidence at 95 %
    text = summary.read_text()
    # intervals, drawn against the threshold
    assert "| 69.58–92.56% `·············━━┃●━━·` | ≥ 75% |" in text
    assert "about 83 cells at this rate would be enough" in text
    # the baseline is the last execution that passed (the 27th failed on failed calls)
    assert "against baseline 5e8d2c4a-7b1f-4a3e-9c6d-0f1e2d3c4b5a (last-passing)" in text
    assert "not significant at 95%" in text.replace("\\%", "%")
    # the trend over the three completed executions, oldest first
    assert "### Trend (last 3 completed executions, oldest first)" in text
    assert "| is_helpful | `█▁▆` | 89.74 | 84.21 |" in text
