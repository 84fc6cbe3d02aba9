"""`fi-gate run`: start the simulation, wait, judge that very execution (issue #13).

End to end against the fake, whose started executions progress over time (pending, running
with growing completed calls, evaluating, then final), over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SUPPORT, Result, run, spawn, terminate_when, write_policy
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, Fault
from tests.fakeapi.server import RUNS_PATH
from tests.figures import record

CHECKOUT = "Checkout Bot"
SUPPORT_ID = "59d8bb53-f60e-463a-8978-cbbf9afa67f0"
POLICY = "version: 1\ndefaults: {min_pass_rate: 80, min_avg_score: 70}\n"
EXECUTE = f"/simulate/run-tests/{SUPPORT_ID}/execute/"


pytestmark = pytest.mark.usefixtures("quick_polls")


@pytest.fixture
def api(fake_api: FakeApi) -> FakeApi:
    return fake_api


def gate_run(
    api: FakeApi,
    tmp_path: Path,
    *argv: str,
    policy: str = POLICY,
    env: dict[str, str] | None = None,
) -> tuple[Result, Any]:
    report = tmp_path / "r.json"
    result = run(
        ["run", "--policy", write_policy(tmp_path, policy), "--report", str(report), *argv],
        env={
            "FI_BASE_URL": api.url,
            "FI_API_KEY": API_KEY,
            "FI_SECRET_KEY": SECRET_KEY,
            **(env or {}),
        },
    )
    return result, json.loads(report.read_text()) if report.exists() else None


def starts(api: FakeApi) -> list[str]:
    return [s.path for s in api.seen if s.method == "POST" and s.path.endswith("/execute/")]


def test_run_starts_waits_and_judges_that_execution(api: FakeApi, tmp_path: Path) -> None:
    files = {"--summary": tmp_path / "s.md", "--junit": tmp_path / "j.xml"}
    files["--dotenv"] = tmp_path / "d.env"
    paths = [a for flag, path in files.items() for a in (flag, str(path))]
    result, report = gate_run(
        api, tmp_path, "--run-test", SUPPORT, *paths, env={"GITHUB_SHA": "abc123"}
    )
    assert result.code == 0, result.err
    (started,) = api.started
    assert report["execution"]["execution_id"] == started
    assert report["execution"]["status"] == "completed"
    link = f"https://app.futureagi.com/dashboard/simulate/test/{SUPPORT_ID}/{started}"
    assert report["provenance"] == {
        "selection": "started",
        "commit": "abc123",
        "ref": None,
        "link": link,
        "run_test_id": SUPPORT_ID,
        "executions": None,  # one execution: no `evidence:`
    }
    first = result.err.splitlines()[0]
    assert first == f"fi-gate: started execution {started} of run test '{SUPPORT}': {link}"
    # the --wait machinery's progress lines, each with the execution's link
    assert f"waiting for execution {started} ({link}): " in result.err
    assert starts(api) == [EXECUTE]  # exactly one start
    assert api.cancelled == []
    summary = files["--summary"].read_text()
    assert f"| **Execution** | [{started}]({link}) |" in summary
    assert "| **Chosen** | started by this run (`fi-gate run`) |" in summary
    assert "| **Deploying** | `abc123` |" in summary
    junit = files["--junit"].read_text()
    assert '<property name="fi-gate.selection" value="started" />' in junit
    assert f'<property name="fi-gate.link" value="{link}" />' in junit
    assert f"FI_GATE_EXECUTION_URL={link}\n" in files["--dotenv"].read_text()
    record("run", "pass", "exit 0; one start; the report names the started execution and links it")


def test_run_fails_when_the_policy_is_not_met(api: FakeApi, tmp_path: Path) -> None:
    result, report = gate_run(
        api, tmp_path, "--run-test", SUPPORT, policy="version: 1\ndefaults: {min_pass_rate: 95}\n"
    )
    assert result.code == 1, result.err
    assert report["verdict"] == "fail"
    assert starts(api) == [EXECUTE]


def test_run_of_an_execution_that_ends_failed(api: FakeApi, tmp_path: Path) -> None:
    rt = next(r for r in api.store.run_tests if r.name == SUPPORT)
    rt.run["final"], rt.run["failed"] = "failed", 30
    result, report = gate_run(api, tmp_path, "--run-test", SUPPORT)
    assert result.code == 1, result.err
    status = next(c for c in report["checks"] if c["name"] == "execution status")
    assert status["message"] == "the execution ended failed (30 of 30 calls failed, none completed)"


@pytest.mark.slow  # bounded by its deadline or backoff: seconds of waiting
def test_run_past_the_deadline_cancels_what_it_started(api: FakeApi, tmp_path: Path) -> None:
    rt = next(r for r in api.store.run_tests if r.name == SUPPORT)
    rt.run["running"] = 600
    result, report = gate_run(api, tmp_path, "--run-test", SUPPORT, "--timeout", "4")
    assert result.code == 4, result.err
    (started,) = api.started
    assert api.cancelled == [started]
    assert f"cancelled execution {started} (the deadline passed; fi-gate started it)" in result.err
    assert report["verdict"] == "not_ready" and report["execution"]["execution_id"] == started
    record("run", "deadline", "exit 4; the started execution cancelled")


@pytest.mark.slow  # bounded by its deadline or backoff: seconds of waiting
def test_no_cancel_leaves_it_running(api: FakeApi, tmp_path: Path) -> None:
    next(r for r in api.store.run_tests if r.name == SUPPORT).run["running"] = 600
    result, _ = gate_run(api, tmp_path, "--run-test", SUPPORT, "--timeout", "4", "--no-cancel")
    assert result.code == 4
    assert api.cancelled == []
    assert (
        "keeps running (the deadline passed; --no-cancel): https://app.futureagi.com/" in result.err
    )


@pytest.mark.parametrize(
    "fault",
    [
        Fault(mode="lost", path=EXECUTE),  # carried out, then the connection closed
        Fault(mode="status", status=502, body=b"<html>Bad Gateway</html>", path=EXECUTE),
    ],
    ids=["connection dropped", "proxy 502"],
)
def test_a_lost_start_is_never_adopted_judged_or_cancelled(
    api: FakeApi, tmp_path: Path, fault: Fault
) -> None:
    """The start's answer is lost and an execution appears (this job's, or another pipeline's
    started at the same moment: fi-gate cannot tell): none is judged, none cancelled, and the
    start is never sent again."""
    other = next(r for r in api.store.run_tests if r.name == SUPPORT)
    if fault.mode == "status":  # the proxy lost it; another pipeline's start lands meanwhile
        fault = replace(fault, meanwhile=lambda: api.store.start(other, [], time.monotonic()))
    api.fail(fault)
    result, report = gate_run(api, tmp_path, "--run-test", SUPPORT)
    assert result.code == 3, result.err
    appeared = other.executions[-1].execution_id
    assert starts(api) == [EXECUTE]  # one start, never a second
    assert api.cancelled == []
    assert f"execution(s) {appeared} appeared since" in result.err
    assert "judged none and cancelled none" in result.err
    assert "fi-gate check --execution-id" in result.err
    assert report["verdict"] == "error" and report["execution"] is None
    assert not any(s.query.get("execution_id") == appeared for s in api.runs_requests)
    outcome = "exit 3; the execution that appeared named, never judged nor cancelled; one start"
    record("run", f"a start whose answer is lost ({fault.mode})", outcome)


def test_a_start_that_was_not_received_is_not_sent_again(api: FakeApi, tmp_path: Path) -> None:
    api.fail(Fault(mode="reset", path=EXECUTE))
    result, _ = gate_run(api, tmp_path, "--run-test", SUPPORT)
    assert result.code == 3, result.err
    assert api.started == [] and len(starts(api)) == 1
    assert "no new execution appeared in its listing since" in result.err


@pytest.mark.parametrize("limit", [402, 403])
def test_a_plan_without_simulation_is_exit_2(api: FakeApi, tmp_path: Path, limit: int) -> None:
    api.plan_limit = limit
    result, report = gate_run(api, tmp_path, "--run-test", SUPPORT)
    assert result.code == 2, result.err
    assert f"(HTTP {limit})" in result.err and "fi-gate check" in result.err
    assert report["verdict"] == "error"
    record("run", f"HTTP {limit} on the start (plan)", "exit 2: start it elsewhere, then check")


def test_a_run_test_without_scenarios_is_exit_2(api: FakeApi, tmp_path: Path) -> None:
    next(r for r in api.store.run_tests if r.name == SUPPORT).scenarios = []
    result, _ = gate_run(api, tmp_path, "--run-test", SUPPORT)
    assert result.code == 2
    assert "At least one scenario is required" in result.err


def test_the_exact_name_among_several_substring_matches(api: FakeApi, tmp_path: Path) -> None:
    from tests.fakeapi import build_run_test

    for name in (f"{SUPPORT} v2", f"Old {SUPPORT}"):
        api.store.run_tests.append(build_run_test({"name": name}))
    result, report = gate_run(api, tmp_path, "--run-test", SUPPORT)
    assert result.code == 0, result.err
    assert report["provenance"]["run_test_id"] == SUPPORT_ID
    lower, _ = gate_run(api, tmp_path, "--run-test", SUPPORT.lower())
    assert lower.code == 2
    assert f"did you mean '{SUPPORT}'?" in lower.err
    api.store.run_tests.append(
        build_run_test({"name": SUPPORT, "id": "11111111-2222-4333-8444-555555555555"})
    )
    twice, _ = gate_run(api, tmp_path, "--run-test", SUPPORT)
    assert twice.code == 2
    assert SUPPORT_ID in twice.err and "11111111-2222-4333-8444-555555555555" in twice.err
    record(
        "run",
        "a name among substring matches, a case-only match, two of one name",
        "the exact one; did-you-mean; an error naming both ids",
    )


def test_several_run_tests_start_at_once(api: FakeApi, tmp_path: Path) -> None:
    result, report = gate_run(api, tmp_path, "--run-test", SUPPORT, "--run-test", CHECKOUT)
    assert result.code == 0, result.err
    assert len(api.started) == 2 and len(starts(api)) == 2
    judged = {r["run_test"]: r["execution"]["execution_id"] for r in report["run_tests"]}
    assert set(judged.values()) == set(api.started)


def test_scenarios_are_sent_and_checked(api: FakeApi, tmp_path: Path) -> None:
    scenario = "0b9e7a42-1c3d-4e5f-8a9b-1c2d3e4f5a61"
    result, _ = gate_run(api, tmp_path, "--run-test", SUPPORT, "--scenario", scenario)
    assert result.code == 0, result.err
    (post,) = [s for s in api.seen if s.method == "POST"]
    assert json.loads(post.body) == {"scenario_ids": [scenario]}
    bad, _ = gate_run(api, tmp_path, "--run-test", SUPPORT, "--scenario", "angry caller")
    assert bad.code == 2, bad.err
    assert "'angry caller': not a scenario of run test" in bad.err
    assert "did you mean 'Angry caller'?" in bad.err
    assert starts(api) == [EXECUTE]  # the first run's only


def test_a_scenario_by_name_is_started_by_its_id(api: FakeApi, tmp_path: Path) -> None:
    result, _ = gate_run(api, tmp_path, "--run-test", SUPPORT, "--scenario", "Angry caller")
    assert result.code == 0, result.err
    (post,) = [s for s in api.seen if s.method == "POST"]
    assert json.loads(post.body) == {"scenario_ids": ["0b9e7a42-1c3d-4e5f-8a9b-1c2d3e4f5a63"]}


def test_a_scenario_of_another_run_test_is_refused_before_the_start(
    api: FakeApi, tmp_path: Path
) -> None:
    """The server starts any UUID (a pending execution with no call that never moves):
    fi-gate checks the ids against the run test's scenarios first."""
    other = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e41"  # Checkout Bot's scenario
    result, _ = gate_run(api, tmp_path, "--run-test", SUPPORT, "--scenario", other)
    assert result.code == 2, result.err
    assert f"--scenario '{other}': not a scenario of run test '{SUPPORT}'" in result.err
    assert starts(api) == [] and api.started == []
    record("run", "a scenario id that is not the run test's", "exit 2 before any start")


def test_an_outage_worded_as_a_refusal_is_an_outage(api: FakeApi, tmp_path: Path) -> None:
    """The workflow engine is down: a 400 "Failed to start test execution" that leaves a
    pending row behind. Exit 3 (an outage), the row named, never cancelled."""
    api.executor_down = True
    result, report = gate_run(api, tmp_path, "--run-test", SUPPORT)
    assert result.code == 3, result.err
    (left,) = api.started
    assert f"the platform may have left execution(s) {left} pending" in result.err
    assert "fi-gate did not cancel them" in result.err and api.cancelled == []
    assert "fix the run test" not in result.err
    assert report["verdict"] == "error"
    softened, report = gate_run(api, tmp_path, "--run-test", SUPPORT, "--on-api-error", "pass")
    assert softened.code == 0 and report["verdict"] == "error"  # an outage: --on-api-error
    record("run", "the platform's workflow engine is down (400 on the start)",
           "exit 3, an outage; the pending row it left named, not cancelled")  # fmt: skip


@pytest.mark.slow  # bounded by its deadline or backoff: seconds of waiting
def test_an_execution_that_ended_after_the_last_poll_is_never_cancelled(
    api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deadline passes; the execution completed after fi-gate's last look. The platform's
    cancel would overwrite it to `cancelled`: fi-gate looks first and leaves it."""
    import gate.judge

    support_rt = next(r for r in api.store.run_tests if r.name == SUPPORT)
    support_rt.run["running"] = 600
    real_final_status = gate.judge.final_status

    def finish_then_look(client: Any, execution_id: str) -> str | None:
        ex = api.store.execution(execution_id)
        assert ex is not None
        ex[1].timeline, ex[1].status = None, "completed"  # it ended just now
        return real_final_status(client, execution_id)

    monkeypatch.setattr(gate.judge, "final_status", finish_then_look)
    result, _ = gate_run(api, tmp_path, "--run-test", SUPPORT, "--timeout", "4")
    assert result.code == 4, result.err
    (started,) = api.started
    assert api.cancelled == []
    assert api.store.execution(started)[1].status == "completed"  # type: ignore[index]
    assert f"execution {started} had already ended (completed)" in result.err
    record("run", "the execution ends after the last poll, before the cancel",
           "not cancelled (the platform would overwrite it); said so")  # fmt: skip


def test_sigterm_cancels_the_execution_it_started(api: FakeApi, tmp_path: Path) -> None:
    """A cancelled CI job: the execution fi-gate started is cancelled, then exit 143."""
    next(r for r in api.store.run_tests if r.name == SUPPORT).run["running"] = 600
    policy = write_policy(tmp_path, POLICY)
    exe = Path(sys.executable).with_name("fi-gate")
    env = {"PATH": os.environ["PATH"], "FI_BASE_URL": api.url, "FI_API_KEY": API_KEY}
    env["FI_SECRET_KEY"] = SECRET_KEY
    argv = [
        str(exe),
        "run",
        "--policy",
        policy,
        "--run-test",
        SUPPORT,
        "--report",
        str(tmp_path / "r.json"),
    ]
    with spawn(argv, env) as proc:
        text = terminate_when(
            proc, lambda: any(s.path == RUNS_PATH and "execution_id" in s.query for s in api.seen)
        )
    assert proc.returncode == 143, text
    (started,) = api.started
    assert api.cancelled == [started]
    assert f"cancelled execution {started} (terminated; fi-gate started it)" in text
    assert text.strip().splitlines()[-1] == "fi-gate: error: terminated; no verdict"
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["verdict"], report["exit_code"]) == ("error", 143)
    record("run", "SIGTERM while waiting", "exit 143; the started execution cancelled")


def test_the_action_and_component_mode_input_runs(api: FakeApi, tmp_path: Path) -> None:
    """The action and the GitLab component call `fi-gate check` with FI_GATE_MODE from their
    `mode` input: `run` starts the run test first, as `fi-gate run` does."""
    env = {"FI_GATE_MODE": "run", "FI_GATE_RUN_TEST": SUPPORT, "FI_GATE_SELECT": "latest"}
    report = tmp_path / "r.json"
    result = run(
        ["check", "--policy", write_policy(tmp_path, POLICY), "--report", str(report)],
        env={"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY, **env},
    )
    assert result.code == 0, result.err
    assert json.loads(report.read_text())["provenance"]["selection"] == "started"
    assert len(api.started) == 1
    bad = run(["check", "--policy", write_policy(tmp_path, POLICY)], env={"FI_GATE_MODE": "go"})
    assert bad.code == 2 and "FI_GATE_MODE='go' is not one of check, run" in bad.err


def test_check_says_when_the_execution_predates_the_pipelines_commit(
    api: FakeApi, tmp_path: Path
) -> None:
    """`check` judges whatever ran last: an execution older than the commit being deployed may
    not test it, and the verdict line says so (with `fi-gate run` as the way out)."""
    policy = write_policy(tmp_path, POLICY)
    env = {"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}
    argv = ["check", "--policy", policy, "--run-test", SUPPORT, "--select", "latest-completed"]
    newer = run(argv, env={**env, "CI_COMMIT_TIMESTAMP": "2026-11-29T09:00:00Z"})
    assert newer.code == 0, newer.err
    assert "it started before this pipeline's commit was made" in newer.out.splitlines()[-1]
    assert "`fi-gate run` starts one that does" in newer.out
    older = run(argv, env={**env, "CI_COMMIT_TIMESTAMP": "2026-11-27T09:00:00+00:00"})
    assert "before this pipeline's commit" not in older.out
    aged = write_policy(tmp_path, POLICY + "execution: {max_age: 1h}\n", "aged.yml")
    stale = run([*argv[:2], aged, *argv[3:]], env=env)
    assert stale.code == 1
    assert "(note: it is older than max_age 1h)" in stale.out.splitlines()[-1]
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"head_commit": {"timestamp": "2026-11-29T10:00:00+01:00"}}))
    github = run(argv, env={**env, "GITHUB_EVENT_PATH": str(event), "GITHUB_SHA": "f00d"})
    assert "before this pipeline's commit" in github.out
