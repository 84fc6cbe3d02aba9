"""What the open-source backend really answers, and fi-gate judging it right (issue #19).

The real server lists only the choices that occurred; it names run tests by id as well as by
name; it closes idle keep-alive connections. Tested on captured answers (`--from-file` on
../shared/real-responses) and against the fake made faithful to them.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEMO_DATA, SUPPORT, run, write_policy
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, load_dir
from tests.fakeapi.store import generate_calls
from tests.figures import record

REAL = Path(__file__).resolve().parents[2] / "shared" / "real-responses"
needs_captures = pytest.mark.skipif(not REAL.is_dir(), reason="no ../shared/real-responses")


@pytest.fixture(autouse=True)
def _real_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The captures are of 2026-12-02: judged on today's clock, not the demo data's day."""
    monkeypatch.setattr("gate.judge.now", lambda: datetime.now(timezone.utc))


def _real_execution(tmp_path: Path, prefix: str) -> str:
    """A listing entry of the real server saved as an execution (`--from-file`)."""
    items = json.loads((REAL / "list_default.json").read_text())["result"]["results"]
    (item,) = [i for i in items if i["execution_id"].startswith(prefix)]
    path = tmp_path / f"{prefix}.json"
    path.write_text(json.dumps({"status": True, "result": item}))
    return str(path)


def _judge(tmp_path: Path, policy: str, *argv: str, env: dict[str, str] | None = None) -> Any:
    report = tmp_path / "r.json"
    result = run(
        ["check", "--policy", write_policy(tmp_path, policy), "--report", str(report), *argv],
        env or {},
    )
    return result, json.loads(report.read_text()) if report.exists() else None


# --- 1. a choice that never occurred is 0 % --------------------------------------------------


@needs_captures
def test_a_perfect_real_execution_passes_a_choices_ceiling(tmp_path: Path) -> None:
    """Execution A of the real server: every call judged Positive, so `tone` reports
    {"Positive": 100.0} and no Negative at all. A ceiling on Negative passes (0 %)."""
    saved = _real_execution(tmp_path, "c16d0940")
    policy = "version: 1\nevals:\n  tone: {max_choice_rate: {Negative: 25}}\n"
    result, report = _judge(tmp_path, policy, "--from-file", saved)
    assert result.code == 0, result.out + result.err
    (check,) = [c for c in report["checks"] if c["name"] == "tone"]
    assert (check["status"], check["observed"]) == ("pass", 0.0)
    assert "the choice 'Negative' never occurred" in check["message"]
    record("fidelity", "a choice that never occurred (real execution A)",
           "0 %: max_choice_rate passes, min_choice_rate fails, both saying so")  # fmt: skip


@needs_captures
def test_a_floor_on_a_choice_that_never_occurred_fails_saying_so(tmp_path: Path) -> None:
    saved = _real_execution(tmp_path, "c16d0940")
    policy = "version: 1\nevals:\n  tone: {min_choice_rate: {Negative: 5}}\n"
    result, report = _judge(tmp_path, policy, "--from-file", saved)
    assert result.code == 1
    (check,) = [c for c in report["checks"] if c["name"] == "tone"]
    assert (check["status"], check["observed"]) == ("fail", 0.0)
    assert "never occurred" in check["message"]


@needs_captures
def test_a_label_that_is_a_near_miss_of_a_reported_one_stays_a_mistake(tmp_path: Path) -> None:
    """Execution B reports Negative: NEGATIVE is the policy's typo, never 0 %."""
    saved = _real_execution(tmp_path, "0da70716")
    policy = "version: 1\nevals:\n  tone: {max_choice_rate: {NEGATIVE: 25}}\n"
    result, report = _judge(tmp_path, policy, "--from-file", saved)
    assert result.code == 1
    (check,) = [c for c in report["checks"] if c["name"] == "tone"]
    assert check["status"] == "missing"
    assert "did you mean 'Negative'?" in check["message"]


def test_through_the_api_a_choice_no_call_was_judged_is_zero(tmp_path: Path) -> None:
    """The fake aggregates as the server does: only the choices that occurred are listed."""
    store = load_dir(DEMO_DATA)
    rt = next(r for r in store.run_tests if r.name == SUPPORT)
    newest = rt.executions[0]
    gen = {"calls": 20, "rates": {"sentiment": {"Positive": 80, "Neutral": 20}}}
    newest.calls = generate_calls(gen, rt.templates, random.Random(1), newest.created_at)
    with FakeApi(store) as api:
        env = {"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}
        policy = "version: 1\nevals:\n  Sentiment: {max_choice_rate: {Negative: 10}}\n"
        argv = ("--execution-id", newest.execution_id)
        result, report = _judge(tmp_path, policy, *argv, env=env)
        assert result.code == 0, result.err
        (check,) = [c for c in report["checks"] if c["name"] == "Sentiment"]
        assert check["status"] == "pass" and check["observed"] == 0.0
        sentiment = next(e for e in report["checks"] if e["name"] == "Sentiment")
        assert sentiment["n"] == 20


# --- the real run-test search in the fake: scenarios by name ---------------------------------


@pytest.fixture
def api() -> Any:
    with FakeApi(load_dir(DEMO_DATA)) as fake:
        yield fake


# --- 4. run tests by id -----------------------------------------------------------------------

SUPPORT_ID = "59d8bb53-f60e-463a-8978-cbbf9afa67f0"
NEWEST = "6f1c2a8e-3b7d-4e59-9a41-2c8d5e7f9b10"
POLICY = "version: 1\ndefaults: {min_pass_rate: 0, min_avg_score: 0}\n"


def _env(api: FakeApi, **more: str) -> dict[str, str]:
    return {"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY, **more}


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_check_by_run_test_id_judges_that_run_tests_latest(
    api: FakeApi, tmp_path: Path, how: str
) -> None:
    argv = ("--run-test-id", SUPPORT_ID) if how == "flag" else ()
    env = _env(api) if how == "flag" else _env(api, FI_GATE_RUN_TEST_ID=SUPPORT_ID)
    result, report = _judge(tmp_path, POLICY, *argv, env=env)
    assert result.code == 0, result.err
    assert report["run_test"] == SUPPORT
    assert report["execution"]["execution_id"] == NEWEST
    assert report["provenance"]["run_test_id"] == SUPPORT_ID


def test_run_by_run_test_id_starts_that_run_test(
    api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gate.api.WAIT_FIRST", 0.1)
    monkeypatch.setattr("gate.api.WAIT_MAX", 0.2)
    report_path = tmp_path / "r.json"
    result = run(
        ["run", "--policy", write_policy(tmp_path, POLICY), "--run-test-id", SUPPORT_ID,
         "--report", str(report_path)],
        _env(api),
    )  # fmt: skip
    assert result.code == 0, result.err
    (started,) = api.started
    report = json.loads(report_path.read_text())
    assert report["run_test"] == SUPPORT and report["execution"]["execution_id"] == started
    record("run", "--run-test-id", "the run test found by its id; its execution started")


def test_an_unknown_run_test_id_is_exit_2(api: FakeApi, tmp_path: Path) -> None:
    unknown = "00000000-0000-4000-8000-000000000abc"
    result, _ = _judge(tmp_path, POLICY, "--run-test-id", unknown, env=_env(api))
    assert result.code == 2, result.err
    assert f"no run test has the id {unknown}" in result.err


def test_a_uuid_given_as_a_run_test_name_gets_a_hint(api: FakeApi, tmp_path: Path) -> None:
    result, _ = _judge(tmp_path, POLICY, "--run-test", SUPPORT_ID, env=_env(api))
    assert result.code == 2, result.err
    assert "it looks like a run test id: give it with --run-test-id" in result.err


def test_run_test_id_and_name_together_are_refused(tmp_path: Path) -> None:
    result, _ = _judge(tmp_path, POLICY, "--run-test-id", SUPPORT_ID, "--run-test", SUPPORT)
    assert result.code == 2
    assert "give one of them" in result.err


# --- 6. idle connections ----------------------------------------------------------------------


def test_a_connection_the_server_closed_while_idle_is_replaced_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real server closes kept-alive connections idle for about 30 s; here after 0.1 s,
    with polls 0.4 s apart: every poll finds its connection closed. Not a fault: no retry
    line, no retry counted, the verdict as usual."""
    monkeypatch.setattr("gate.api.WAIT_FIRST", 0.4)
    monkeypatch.setattr("gate.api.WAIT_MAX", 0.4)
    with FakeApi(load_dir(DEMO_DATA), idle_close=0.1) as api:
        report_path = tmp_path / "r.json"
        result = run(
            ["run", "--policy", write_policy(tmp_path, POLICY), "--run-test", SUPPORT,
             "--report", str(report_path)],
            _env(api),
        )  # fmt: skip
        polls = [s for s in api.runs_requests if s.query.get("execution_id")]
    assert result.code == 0, result.err
    assert len(polls) >= 3
    assert "connection broke" not in result.err and "retrying" not in result.err
    record("faults", "the server closes idle kept-alive connections between polls",
           "replaced quietly: no retry line, the verdict as usual")  # fmt: skip
