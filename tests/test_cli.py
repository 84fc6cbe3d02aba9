"""The command line end to end: real HTTP to the fake API on loopback, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gate import __version__
from tests.conftest import NEWEST, ROOT, SEED, SUPPORT, run, write_policy
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, Store, build_run_test

REPORT_SCHEMA = json.loads((ROOT / "gate" / "schemas" / "report.schema.json").read_text())
STARTER = str(ROOT / "policies" / "starter.yml")
STRICT = str(ROOT / "policies" / "strict.yml")


def valid_report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    jsonschema.Draft202012Validator(
        REPORT_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(data)
    return data


# --- the seed example, with no network and no keys ---------------------------------------


@pytest.mark.parametrize(("threshold", "code"), [(80, 0), (81, 1)])
def test_from_file_on_the_seed(tmp_path: Path, threshold: int, code: int) -> None:
    policy = write_policy(
        tmp_path, f"version: 1\nevals:\n  is_helpful: {{min_pass_rate: {threshold}}}\n"
    )
    result = run(["check", "--policy", policy, "--from-file", str(SEED)], env={})
    assert result.code == code, result.err
    assert "80.77%" in result.out
    assert f"≥ {threshold}%" in result.out


def test_from_file_accepts_the_result_object_alone(tmp_path: Path) -> None:
    body = json.loads(SEED.read_text())["result"]
    saved = tmp_path / "result.json"
    saved.write_text(json.dumps(body))
    policy = write_policy(tmp_path, "version: 1\nevals:\n  is_helpful: {min_pass_rate: 80}\n")
    assert run(["check", "--policy", policy, "--from-file", str(saved)]).code == 0


def test_installed_command_runs_without_traceback(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\nevals:\n  is_helpful: {min_pass_rate: 81}\n")
    exe = Path(sys.executable).with_name("fi-gate")
    done = subprocess.run(
        [str(exe), "check", "--policy", policy, "--from-file", str(SEED)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
        check=False,
    )
    assert done.returncode == 1
    assert "FAIL" in done.stdout
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
    assert version.stdout.strip() == f"fi-gate {__version__}"
    module = subprocess.run(
        [sys.executable, "-m", "gate", "--version"], capture_output=True, text=True, check=False
    )
    assert module.stdout.strip() == f"fi-gate {__version__}"


# --- against the fake API ------------------------------------------------------------------


def test_run_test_latest_passes_with_two_requests(
    fake_api: FakeApi, api_env: dict[str, str]
) -> None:
    result = run(["check", "--policy", STARTER], env=api_env)
    assert result.code == 0, result.err
    assert NEWEST in result.out
    seen = fake_api.runs_requests
    assert len(seen) == 2  # list, then the detail
    assert seen[0].query == {"run_test_name": SUPPORT, "page": "1", "limit": "5"}
    assert seen[1].query == {"execution_id": NEWEST, "limit": "1", "summary": "true"}
    for s in seen:
        assert "authorization" not in s.headers
        assert s.headers["user-agent"].startswith(f"fi-gate/{__version__}")


def test_execution_id_needs_one_request(fake_api: FakeApi, api_env: dict[str, str]) -> None:
    result = run(["check", "--policy", STARTER, "--execution-id", NEWEST], env=api_env)
    assert result.code == 0, result.err
    assert len(fake_api.runs_requests) == 1


def test_strict_policy_fails_and_explains(
    fake_api: FakeApi, api_env: dict[str, str], tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    report = tmp_path / "report.json"
    result = run(
        ["check", "--policy", STRICT, "--summary", str(summary), "--report", str(report)],
        env=api_env,
    )
    assert result.code == 1
    data = valid_report(report)
    assert data["verdict"] == "fail"
    assert data["exit_code"] == 1
    failing = [c for c in data["checks"] if c["status"] == "fail"]
    assert {c["name"] for c in failing} == {"is_helpful"}
    text = summary.read_text()
    assert text.startswith("## ❌ fi-gate: FAIL")
    assert "Refund policy answered from memory" in text  # the FMA cluster of the failing eval
    assert "Warm greeting" not in text  # a success cluster is not a reason


def test_not_ready_is_exit_4_and_latest_completed_skips_it(
    fake_api: FakeApi, api_env: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    waiting = run(
        ["check", "--policy", STARTER, "--run-test", "Checkout Bot", "--report", str(report)],
        env=api_env,
    )
    assert waiting.code == 4
    assert "still running" in waiting.out
    assert valid_report(report)["verdict"] == "not_ready"
    done = run(
        [
            "check",
            "--policy",
            STARTER,
            "--run-test",
            "Checkout Bot",
            "--select",
            "latest-completed",
        ],
        env=api_env,
    )
    assert done.code == 0, done.err
    assert "c0ffee00-7777-4888-9999-aaaabbbbcccc" in done.out


def test_newest_is_chosen_by_started_at_not_list_order(tmp_path: Path) -> None:
    now = datetime(2026, 11, 28, tzinfo=timezone.utc)
    spec = {
        "name": "Reordered",
        "evals": [{"name": "Tone", "configs": [{"name": "tone"}]}],
        "executions": [
            # created later (listed first) but started earlier, e.g. a re-queued run
            {
                "execution_id": "11111111-1111-4111-8111-111111111111",
                "status": "completed",
                "created_at": now.isoformat(),
                "started_at": (now - timedelta(hours=5)).isoformat(),
                "completed_at": (now - timedelta(hours=4)).isoformat(),
                "generate": {"calls": 10, "rates": {"tone": 10}},
            },
            {
                "execution_id": "22222222-2222-4222-8222-222222222222",
                "status": "completed",
                "created_at": (now - timedelta(hours=1)).isoformat(),
                "started_at": (now - timedelta(minutes=30)).isoformat(),
                "completed_at": (now - timedelta(minutes=10)).isoformat(),
                "generate": {"calls": 10, "rates": {"tone": 100}},
            },
        ],
    }
    policy = write_policy(tmp_path, "version: 1\nevals:\n  Tone: {min_pass_rate: 90}\n")
    with FakeApi(Store([build_run_test(spec)])) as api:
        env = {"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}
        result = run(["check", "--policy", policy, "--run-test", "Reordered"], env=env)
    assert result.code == 0, result.out
    assert "22222222-2222-4222-8222-222222222222" in result.out


def test_environment_wiring_and_precedence(
    fake_api: FakeApi, api_env: dict[str, str], tmp_path: Path
) -> None:
    policy = write_policy(tmp_path, "version: 1\nrun_test: Nope\ndefaults: {min_pass_rate: 50}\n")
    env = {**api_env, "FI_GATE_POLICY": policy}
    # the policy's run test does not exist: 404 is the user's mistake, exit 2
    missing = run(["check"], env=env)
    assert missing.code == 2
    assert "no run test is named 'Nope'" in missing.err
    # FI_GATE_RUN_TEST overrides the policy
    assert run(["check"], env={**env, "FI_GATE_RUN_TEST": SUPPORT}).code == 0
    # an execution id (environment) is judged; the run test named beside it must be its own
    by_id = run(["check"], env={**env, "FI_GATE_RUN_TEST": SUPPORT, "FI_GATE_EXECUTION_ID": NEWEST})
    assert by_id.code == 0, by_id.err
    assert fake_api.runs_requests[-1].query["execution_id"] == NEWEST
    wrong = run(["check"], env={**env, "FI_GATE_RUN_TEST": "Nope", "FI_GATE_EXECUTION_ID": NEWEST})
    assert wrong.code == 2, wrong.err
    assert not any(r.query.get("execution_id") for r in fake_api.runs_requests[-1:])
    # a flag beats the environment
    flag = run(["check", "--run-test", "Checkout Bot"], env={**env, "FI_GATE_EXECUTION_ID": NEWEST})
    assert flag.code == 4


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (
            ["check", "--run-test", "a", "--run-test", "b", "--execution-id", NEWEST],
            {},
            "give at most one --run-test with it",
        ),
        (["check", "--from-file", "x.json", "--run-test", "a"], {}, "do not combine"),
        (["check", "--execution-id", "1234"], {}, "is not a UUID"),
        (["check", "--run-test", ""], {}, "--run-test is empty"),
        (["check", "--run-test", SUPPORT], {"FI_API_KEY": "k"}, "FI_SECRET_KEY is not set"),
        (["check", "--run-test", SUPPORT], {}, "FI_API_KEY and FI_SECRET_KEY are not set"),
        (
            ["check", "--run-test", SUPPORT, "--base-url", "http://api.example.com"],
            {"FI_API_KEY": "k", "FI_SECRET_KEY": "s"},
            "refusing to send the keys over plain http",
        ),
        (["check", "--base-url", "ftp://x"], {}, "is not an http(s) URL"),
        (["check", "--timeout", "0"], {}, "--timeout 0 is out of range"),
        (["check"], {}, "nothing to judge"),
        (["check", "--from-file", "/nonexistent.json"], {}, "file not found (--from-file)"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    tmp_path: Path, argv: list[str], env: dict[str, str], message: str
) -> None:
    policy = write_policy(tmp_path, "version: 1\ndefaults: {min_pass_rate: 0, min_avg_score: 0}\n")
    result = run([*argv, "--policy", policy], env=env)
    assert result.code == 2, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("fi-gate: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.err
    assert result.out == ""


def test_argparse_errors_exit_2() -> None:
    assert run(["check", "--select", "oldest"]).code == 2
    assert run(["bogus"]).code == 2
    assert run([]).code == 2


def test_bad_from_file(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\ndefaults: {min_pass_rate: 0, min_avg_score: 0}\n")
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    assert "not JSON" in run(["check", "--policy", policy, "--from-file", str(junk)]).err
    shape = tmp_path / "shape.json"
    shape.write_text(json.dumps({"execution_id": "x", "status": "completed"}))
    result = run(["check", "--policy", policy, "--from-file", str(shape)])
    assert result.code == 3  # a response error, as from the API
    assert "total_calls" in result.err


def test_wrong_keys_are_exit_2_and_name_the_variables(
    fake_api: FakeApi, api_env: dict[str, str], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    result = run(
        ["check", "--policy", STARTER, "--report", str(report)],
        env={**api_env, "FI_SECRET_KEY": "wrong"},
    )
    assert result.code == 2
    assert "check FI_API_KEY and FI_SECRET_KEY" in result.err
    data = valid_report(report)
    assert (data["verdict"], data["exit_code"], data["execution"]) == ("error", 2, None)


def test_config_error_still_writes_report_and_summary(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\nevals: {A: {min_pass_rate: 101}}\n")
    report, summary = tmp_path / "r.json", tmp_path / "s.md"
    result = run(
        [
            "check",
            "--policy",
            policy,
            "--from-file",
            str(SEED),
            "--report",
            str(report),
            "--summary",
            str(summary),
        ]
    )
    assert result.code == 2
    assert "101 is greater than the maximum of 100" in result.err
    assert valid_report(report)["exit_code"] == 2
    assert summary.read_text().startswith("## 🛑 fi-gate: ERROR")


def test_json_format_on_stdout_messages_on_stderr(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\nevals:\n  is_helpful: {min_pass_rate: 81}\n")
    result = run(["check", "--policy", policy, "--from-file", str(SEED), "--format", "json"])
    assert result.code == 1
    data = result.json()
    assert data["schema_version"] == 1
    assert data["execution"]["failed_calls"] == 4
    check = next(c for c in data["checks"] if c["name"] == "is_helpful")
    assert (check["observed"], check["threshold"], check["n"]) == (80.77, 81.0, 26)
    jsonschema.validate(data, REPORT_SCHEMA)


def test_step_summary_is_appended(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\nevals:\n  is_helpful: {min_pass_rate: 80}\n")
    step = tmp_path / "step.md"
    step.write_text("earlier step\n")
    result = run(
        ["check", "--policy", policy, "--from-file", str(SEED)],
        env={"GITHUB_STEP_SUMMARY": str(step)},
    )
    assert result.code == 0
    text = step.read_text()
    assert text.startswith("earlier step\n## ⚠️ fi-gate: PASS with warnings")


@pytest.mark.parametrize(
    ("argv", "env", "coloured"),
    [
        ([], {}, False),
        (["--no-color"], {"FORCE_COLOR": "1"}, False),
        ([], {"FORCE_COLOR": "1", "NO_COLOR": ""}, False),
        ([], {"FORCE_COLOR": "1"}, True),
    ],
)
def test_colour(tmp_path: Path, argv: list[str], env: dict[str, str], coloured: bool) -> None:
    policy = write_policy(tmp_path, "version: 1\nevals:\n  is_helpful: {min_pass_rate: 81}\n")
    result = run(["check", "--policy", policy, "--from-file", str(SEED), *argv], env=env)
    assert ("\x1b[" in result.out) is coloured


def test_unwritable_report_is_a_clear_error(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\ndefaults: {min_pass_rate: 0, min_avg_score: 0}\n")
    result = run(
        [
            "check",
            "--policy",
            policy,
            "--from-file",
            str(SEED),
            "--report",
            str(tmp_path / "no" / "such" / "dir.json"),
        ]
    )
    assert result.code == 2
    assert "cannot write" in result.err


# --- where the output cannot go ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("redirect", "command", "code", "said"),
    [
        ("> /dev/full", "check", 2, "cannot write to standard output: No space left on device"),
        ("| (exec 0<&-)", "check", 2, "cannot write to standard output: Broken pipe"),
        (">&-", "check", 2, "cannot write to standard output: it is closed"),
        ("> /dev/full", "schema", 2, "cannot write to standard output: No space left on device"),
        ("> /dev/full", "validate", 2, "cannot write to standard output: No space left on device"),
        ("2>&- > /dev/null", "check --policy missing.yml", 2, None),
    ],
    ids=["disk full", "reader gone", "stdout closed", "schema", "validate", "stderr closed"],
)
def test_output_that_cannot_be_written_is_one_line_and_exit_2(
    tmp_path: Path, redirect: str, command: str, code: int, said: str | None
) -> None:
    """A full disk, a reader that went away or a closed descriptor: one line on stderr, the
    documented exit code, no traceback; files asked for are still written."""
    policy = write_policy(tmp_path, "version: 1\nevals:\n  is_helpful: {min_pass_rate: 80}\n")
    exe = Path(sys.executable).with_name("fi-gate")
    args = {
        "check": f"check --policy {policy} --from-file {SEED} --report {tmp_path / 'r.json'}",
        "schema": "schema",
        "validate": f"validate {policy}",
    }.get(command, command)
    script = f"{exe} {args} {redirect}"
    if redirect.startswith("|"):  # the reader is gone before fi-gate writes
        script = f"(sleep 0.5; exec {exe} {args}) {redirect}; exit ${{PIPESTATUS[0]}}"
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"]},
        check=False,
    )
    assert done.returncode == code, done.stderr
    if said is not None:
        assert done.stderr.splitlines() == [
            f"fi-gate: error: {said}; check what reads it (a closed pipe, a full disk)"
        ]
    else:
        assert done.stderr == ""  # stderr was closed: nothing could be said, the code says it
    if command == "check":
        assert json.loads((tmp_path / "r.json").read_text())["verdict"] == "warn"


@pytest.mark.parametrize(
    ("typed", "hint"),
    [("chek", "did you mean 'check'?"), ("valdate", "did you mean 'validate'?"), ("xyz", "")],
)
def test_an_unknown_command_is_one_line_with_a_suggestion(typed: str, hint: str) -> None:
    result = run([typed, "--policy", "p.yml"])
    assert result.code == 2
    line = result.err.strip()
    assert line.startswith(f"fi-gate: error: unknown command '{typed}'")
    assert "\n" not in line and hint in line
    assert "(commands: check, run, validate, init, schema, demo)" in line


def test_a_policy_error_is_annotated_on_the_policy_file_and_line(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\nevals:\n  A: {min_pass_rate: 150}\n")
    result = run(
        ["check", "--policy", policy, "--from-file", str(SEED)], {"GITHUB_ACTIONS": "true"}
    )
    assert result.code == 2
    (annotation,) = [x for x in result.err.splitlines() if x.startswith("::error ")]
    assert annotation.startswith(f"::error file={policy},line=3,title=fi-gate%3A error::")
    assert annotation.endswith("evals.A.min_pass_rate: 150 is greater than the maximum of 100")


@pytest.mark.parametrize(
    ("interface", "said"),
    [
        (None, "fi-gate: error: FI_GATE_SELECT='newest' is not one of latest, latest-completed"),
        (
            "github-action",
            "fi-gate: error: the select input ('newest') is not one of latest, latest-completed",
        ),
        (
            "gitlab-component",
            "fi-gate: error: the select input ('newest') is not one of latest, latest-completed",
        ),
    ],
)
def test_hints_name_the_interface_the_user_is_in(interface: str | None, said: str) -> None:
    env = {"FI_GATE_SELECT": "newest", **({"FI_GATE_INTERFACE": interface} if interface else {})}
    result = run(["check", "--from-file", str(SEED)], env)
    assert result.code == 2
    assert result.err.strip() == said


def test_inside_the_action_the_keys_and_flags_are_inputs() -> None:
    env = {"FI_GATE_INTERFACE": "github-action"}
    result = run(
        ["check", "--run-test", "X", "--policy", str(ROOT / "policies" / "starter.yml")], env
    )
    assert result.code == 2
    line = result.err.strip()
    assert "the api-key input (FI_API_KEY) and the secret-key input (FI_SECRET_KEY)" in line
    component = run(["check", "--timeout", "0"], {"FI_GATE_INTERFACE": "gitlab-component"})
    assert "the timeout input 0 is out of range" in component.err
    policy = run(["check", "--run-test", "X"], {"FI_GATE_INTERFACE": "github-action"})
    # a command in backticks stays a command; the flag becomes the input
    assert "`fi-gate init --run-test NAME`" in policy.err
    assert "point to yours with the policy input" in policy.err


def test_a_run_test_named_in_the_wrong_case_gets_the_right_name(
    fake_api: FakeApi, api_env: dict[str, str], tmp_path: Path
) -> None:
    policy = write_policy(tmp_path, "version: 1\ndefaults: {min_pass_rate: 50}\n")
    result = run(["check", "--policy", policy, "--run-test", SUPPORT.lower()], env=api_env)
    assert result.code == 2
    assert f"did you mean '{SUPPORT}'?" in result.err


def test_validate_in_a_github_job_annotates_each_problem_on_its_line(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\nevals:\n  A: {min_pass_rate: 150}\n  B: off\n")
    plain = run(["validate", policy])
    github = run(["validate", policy], {"GITHUB_ACTIONS": "true"})
    assert plain.code == github.code == 2
    assert "::" not in plain.err
    (annotation,) = [x for x in github.err.splitlines() if x.startswith("::error ")]
    assert annotation.startswith(f"::error file={policy},line=3,title=fi-gate%3A policy::")
