"""fi-gate init: a starter policy that validates and passes what it was drawn from."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.evaluate import evaluate
from gate.policy import load_policy
from tests.conftest import DEMO_DATA, NEWEST, SUPPORT, run
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, load_dir


@pytest.fixture
def env() -> dict[str, str]:
    return {"FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}


def test_init_writes_a_valid_commented_policy_that_passes_its_source(
    tmp_path: Path, env: dict[str, str]
) -> None:
    out = tmp_path / "fi-gate.yml"
    with FakeApi(load_dir(DEMO_DATA)) as api:
        result = run(
            ["init", "--run-test", SUPPORT, "--output", str(out)],
            env={**env, "FI_BASE_URL": api.url},
        )
        assert result.code == 0, result.err
        assert len(api.runs_requests) == 1  # one listing page carries everything
        text = out.read_text()
        policy = load_policy(out)
        check = run(["check", "--policy", str(out)], env={**env, "FI_BASE_URL": api.url})
    assert check.code == 0, check.out  # the newest execution passes the policy drawn from it
    assert policy.run_test == SUPPORT
    assert "# observed 70.97-89.74 (84.21, 70.97, 89.74)" in text
    data = yaml.safe_load(text)
    assert data["evals"]["is_helpful"] == {"min_pass_rate": 67}
    assert data["evals"]["Customer Satisfaction"] == {"min_avg_score": 61}
    assert 'min_choice_rate: {"Positive": 48}' in text  # under the lowest share seen
    assert data["evals"]["Sentiment"] == {"min_choice_rate": {"Positive": 48}}
    assert f"{NEWEST[:8]}" in text


def test_init_refuses_to_overwrite_and_needs_keys(tmp_path: Path, env: dict[str, str]) -> None:
    out = tmp_path / "fi-gate.yml"
    out.write_text("version: 1\n")
    refused = run(["init", "--run-test", SUPPORT, "--output", str(out)], env=env)
    assert refused.code == 2
    assert "pass --force" in refused.err
    assert out.read_text() == "version: 1\n"
    keyless = run(["init", "--run-test", SUPPORT, "--output", "-"])
    assert keyless.code == 2
    assert "FI_API_KEY and FI_SECRET_KEY" in keyless.err


def test_init_into_a_folder_that_does_not_exist_is_one_line(
    tmp_path: Path, env: dict[str, str]
) -> None:
    out = tmp_path / "no-such-folder" / "fi-gate.yml"
    with FakeApi(load_dir(DEMO_DATA)) as api:
        result = run(
            ["init", "--run-test", SUPPORT, "--output", str(out)],
            env={**env, "FI_BASE_URL": api.url},
        )
    assert result.code == 2
    assert result.err.splitlines() == [
        f"fi-gate: error: cannot write {out}: No such file or directory; check the path and "
        "permissions"
    ]


def test_init_with_no_completed_execution(tmp_path: Path, env: dict[str, str]) -> None:
    with FakeApi(load_dir(DEMO_DATA)) as api:
        for rt in api.store.run_tests:
            for ex in rt.executions:
                ex.status = "running"
        result = run(
            ["init", "--run-test", SUPPORT, "--output", "-"], env={**env, "FI_BASE_URL": api.url}
        )
    assert result.code == 2
    assert "no completed execution" in result.err


def test_starter_thresholds_sit_under_every_observed_value() -> None:
    from gate.init import starter_policy
    from gate.model import parse_execution
    from gate.policy import parse_policy

    def ex(rate: float, eid: str) -> object:
        return parse_execution(
            {
                "execution_id": eid,
                "status": "completed",
                "total_calls": 10,
                "completed_calls": 10,
                "failed_calls": 0,
                "started_at": "2026-11-28T08:00:00Z",
                "eval_results": [
                    {
                        "name": "Tone*",
                        "output_type": "Pass/Fail",
                        "total_pass_rate": rate,
                        "result": [
                            {
                                "name": "t",
                                "total_cells": 10,
                                "output": {"pass": rate, "pass_count": 1},
                            }
                        ],
                    }
                ],
            }
        )

    runs = [ex(91.5, "a"), ex(88.0, "b"), ex(95.0, "c")]
    policy = parse_policy(starter_policy('Odd "name"', runs))  # type: ignore[arg-type]
    assert policy.run_test == 'Odd "name"'
    for execution in runs:
        verdict = evaluate(policy, execution, datetime(2026, 11, 28, 12, tzinfo=timezone.utc))  # type: ignore[arg-type]
        assert verdict.exit_code == 0


def test_a_choices_eval_gets_a_floor_under_its_steadiest_choice() -> None:
    from gate.init import starter_policy
    from gate.model import parse_execution
    from gate.policy import parse_policy

    def ex(positive: float) -> Any:
        return parse_execution(
            {
                "execution_id": f"e{positive}",
                "status": "completed",
                "total_calls": 10,
                "completed_calls": 10,
                "failed_calls": 0,
                "started_at": "2026-11-28T08:00:00Z",
                "eval_results": [
                    {
                        "name": "Mood",
                        "output_type": "choices",
                        "total_choices_avg": {"Positive": positive, "Negative": 100 - positive},
                        "result": [{"name": "m", "total_cells": 10, "output": {}}],
                    }
                ],
            }
        )

    policy = parse_policy(starter_policy("R", [ex(70.0), ex(80.0)]))  # a choices-only run test
    (rule,) = policy.evals
    assert rule.thresholds.limit("min_choice_rate") == (("Positive", 67.0),)


def test_init_force_replaces_a_planted_link_and_never_writes_through_it(
    tmp_path: Path, env: dict[str, str]
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "fi-gate.yml"
    out.symlink_to(victim)
    with FakeApi(load_dir(DEMO_DATA)) as api:
        result = run(
            ["init", "--run-test", SUPPORT, "--output", str(out), "--force"],
            env={**env, "FI_BASE_URL": api.url},
        )
    assert result.code == 0, result.err
    assert victim.read_text() == "precious\n"
    assert not out.is_symlink() and out.read_text().startswith("# fi-gate policy")
