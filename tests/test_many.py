"""Several run tests in one gate: judged concurrently, one section each, the worst exit code."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema

from tests.conftest import NEWEST, ROOT, SUPPORT, run, write_policy
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, load_dir
from tests.figures import attack

SCHEMA = json.loads((ROOT / "gate" / "schemas" / "report.schema.json").read_text())
CHECKOUT = "Checkout Bot"


def gate(
    api: FakeApi, tmp_path: Path, policy: str, *argv: str, env: dict[str, str] | None = None
) -> tuple[int, Any, str, str]:
    path = write_policy(tmp_path, policy)
    files = {k: tmp_path / k for k in ("r.json", "s.md", "j.xml", "d.env")}
    result = run(
        [
            "check",
            "--policy",
            path,
            "--report",
            str(files["r.json"]),
            "--summary",
            str(files["s.md"]),
            "--junit",
            str(files["j.xml"]),
            "--dotenv",
            str(files["d.env"]),
            *argv,
        ],
        env={
            "FI_BASE_URL": api.url,
            "FI_API_KEY": API_KEY,
            "FI_SECRET_KEY": SECRET_KEY,
            **(env or {}),
        },
    )
    report = json.loads(files["r.json"].read_text())
    jsonschema.validate(report, SCHEMA)
    xmlschema.XMLSchema(str(ROOT / "tests" / "schemas" / "junit.xsd")).validate(
        files["j.xml"].read_text()
    )
    return result.code, report, files["s.md"].read_text(), result.out


def test_repeated_run_test_flags(tmp_path: Path) -> None:
    with FakeApi(load_dir(ROOT / "tests" / "fakeapi" / "data"), latency=0.05) as api:
        code, report, summary, out = gate(
            api,
            tmp_path,
            "version: 1\ndefaults: {min_pass_rate: 70}\n",
            "--run-test",
            SUPPORT,
            "--run-test",
            CHECKOUT,
        )
        assert api.max_in_flight >= 2  # judged concurrently
    assert code == 4  # Checkout Bot's newest is still running; Support passes
    assert [(r["run_test"], r["verdict"]) for r in report["run_tests"]] == [
        (SUPPORT, "warn"),
        (CHECKOUT, "not_ready"),
    ]
    assert (report["verdict"], report["exit_code"]) == ("not_ready", 4)
    assert summary.startswith("## ⏳ fi-gate: NOT READY · 2 run tests")
    assert "| Support Agent Regression | ⚠️ PASS with warnings | 0 |" in summary
    assert "### ⚠️ fi-gate: PASS with warnings · Support Agent Regression" in summary
    assert "overview:\n  Support Agent Regression: PASS with warnings (exit 0)" in out
    # the verdict line names the run test that is not ready
    assert out.splitlines()[-1] == f"NOT READY: 2 run tests; not ready: {CHECKOUT} (exit 4)"
    suites = ET.fromstring((tmp_path / "j.xml").read_text()).findall("testsuite")
    assert len(suites) == 2
    env_file = (tmp_path / "d.env").read_text()
    assert "FI_GATE_VERDICT=not_ready\n" in env_file
    assert (
        "FI_GATE_JUDGED_EXECUTION_ID=6f1c2a8e-3b7d-4e59-9a41-2c8d5e7f9b10,c0ffee00-1111" in env_file
    )


def test_policy_run_tests_with_their_own_rules(tmp_path: Path, fake_api: FakeApi) -> None:
    policy = (
        "version: 1\n"
        "run_tests:\n"
        f"  - {SUPPORT}\n"
        f"  - name: {CHECKOUT}\n"
        "    evals: {Coherence: {min_pass_rate: 99}}\n"
        "evals:\n  Coherence: {min_pass_rate: 50}\n"
    )
    code, report, _, _ = gate(fake_api, tmp_path, policy, "--select", "latest-completed")
    by_name = {r["run_test"]: r for r in report["run_tests"]}
    assert by_name[SUPPORT]["exit_code"] == 0  # Coherence 92 % against the shared 50
    coherence = next(c for c in by_name[CHECKOUT]["checks"] if c["name"] == "Coherence")
    assert (coherence["threshold"], coherence["status"]) == (99.0, "fail")  # its own rule
    assert code == 1


def test_environment_lists_run_tests_one_per_line(tmp_path: Path, fake_api: FakeApi) -> None:
    code, report, _, _ = gate(
        fake_api,
        tmp_path,
        "version: 1\ndefaults: {min_pass_rate: 0, min_avg_score: 0}\n",
        env={
            "FI_GATE_RUN_TEST": f"{SUPPORT}\n{CHECKOUT}\n",
            "FI_GATE_SELECT": "latest-completed",
        },
    )
    assert [r["run_test"] for r in report["run_tests"]] == [SUPPORT, CHECKOUT]
    assert code == 0


def test_a_wrong_name_is_the_worst_outcome(tmp_path: Path, fake_api: FakeApi) -> None:
    code, report, _, _ = gate(
        fake_api,
        tmp_path,
        "version: 1\ndefaults: {min_pass_rate: 99}\n",
        "--run-test",
        SUPPORT,
        "--run-test",
        "Nope",
    )
    assert code == 2  # a configuration mistake outranks a failed gate
    assert [r["exit_code"] for r in report["run_tests"]] == [1, 2]


# Threads that decode their first answers at the same moment, as the run tests judged together
# do. msgspec builds a type's decoding information on first use, and two threads doing that at
# once for one generic struct crashed the interpreter about one run in two (with the GIL handed
# over as often as possible); fi-gate builds each decoder once, under a lock.
FIRST_DECODES = """
import sys, threading
sys.setswitchinterval(1e-6)
from gate.calls import CallsResult, Detail
from gate.wire import decode_result
body = b'{"status": true, "result": {"execution_id": "e", "status": "completed",' \\
    b' "call_results": {"total_pages": 1, "current_page": 1, "count": 0, "results": []}}}'
start = threading.Barrier(4)
def first(shape):
    start.wait()
    decode_result(body, "an execution", shape, "host")
threads = [threading.Thread(target=first, args=(s,)) for s in (Detail, Detail, CallsResult, Detail)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("ok")
"""


@pytest.mark.slow  # large inputs: seconds of work, kept out of the inner loop
def test_first_decodes_on_several_threads_at_once_do_not_crash() -> None:
    import subprocess
    import sys

    for _ in range(10):  # a fresh process each time: the first use is what races
        done = subprocess.run(
            [sys.executable, "-c", FIRST_DECODES], capture_output=True, text=True, check=False
        )
        assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr[-2000:]


OWN_RULES = (
    "version: 1\n"
    "run_tests:\n"
    f"  - {SUPPORT}\n"
    f"  - name: {CHECKOUT}\n"
    "    evals: {Coherence: {min_pass_rate: 99}}\n"
    "defaults: {min_pass_rate: 0, min_avg_score: 0}\n"
)


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (("--run-test", CHECKOUT), {}),
        ((), {"FI_GATE_RUN_TEST": CHECKOUT}),
        ((), {"FI_GATE_RUN_TEST": f"{CHECKOUT}\n"}),  # the action's input, one name per line
    ],
    ids=["flag", "environment", "action input"],
)
def test_a_run_tests_own_rules_apply_however_it_is_named(
    tmp_path: Path, fake_api: FakeApi, argv: tuple[str, ...], env: dict[str, str]
) -> None:
    code, report, _, _ = gate(
        fake_api, tmp_path, OWN_RULES, "--select", "latest-completed", *argv, env=env
    )
    coherence = [c for c in report["checks"] if c["name"] == "Coherence"]
    assert [(c["threshold"], c["status"]) for c in coherence] == [(99.0, "fail")]
    assert code == 1
    attack("per-run-test rules", f"named by {' '.join(argv) or repr(env)}", "its rules apply")


def test_a_run_test_the_policy_does_not_list_is_a_usage_error(
    tmp_path: Path, fake_api: FakeApi
) -> None:
    code, _, _, _ = gate(fake_api, tmp_path, OWN_RULES, "--run-test", "checkout bot")
    result = run(
        ["check", "--policy", str(tmp_path / "fi-gate.yml"), "--run-test", "checkout bot"],
        env={"FI_BASE_URL": fake_api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY},
    )
    assert (code, result.code) == (2, 2)
    assert "did you mean 'Checkout Bot'?" in result.err
    assert fake_api.runs_requests == []  # refused before any request


def test_an_execution_id_with_several_rule_sets_needs_its_run_test(
    tmp_path: Path, fake_api: FakeApi
) -> None:
    policy = write_policy(tmp_path, OWN_RULES)
    env = {"FI_BASE_URL": fake_api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}
    unnamed = run(["check", "--policy", policy, "--execution-id", NEWEST], env=env)
    assert unnamed.code == 2
    assert "name the run test this execution belongs to" in unnamed.err
    named = run(
        ["check", "--policy", policy, "--execution-id", NEWEST, "--format", "json"],
        env={**env, "FI_GATE_RUN_TEST": SUPPORT},
    )
    assert named.code == 0, named.err
    assert [c["threshold"] for c in named.json()["checks"] if c["name"] == "Coherence"] == [0.0]


def test_an_execution_named_beside_another_run_test_is_refused_naming_its_own(
    tmp_path: Path, fake_api: FakeApi
) -> None:
    """NEWEST is Support's: judged under Checkout's (stricter or looser) rules it would be
    another run test's verdict. Refused (exit 2) before it is judged, naming whose it is."""
    policy = write_policy(tmp_path, OWN_RULES)
    env = {"FI_BASE_URL": fake_api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}
    for argv, extra in (((), {"FI_GATE_RUN_TEST": CHECKOUT}), (("--run-test", CHECKOUT), {})):
        fake_api.seen.clear()
        result = run(
            ["check", "--policy", policy, "--execution-id", NEWEST, *argv], env={**env, **extra}
        )
        assert result.code == 2, result.err
        assert (
            f"execution {NEWEST} is not an execution of run test '{CHECKOUT}' (it belongs to "
            f"run test '{SUPPORT}')" in result.err
        )
        assert not any(r.query.get("execution_id") for r in fake_api.runs_requests)
    # a run test the policy does not know of: whose it is cannot be told, and it is still refused
    alone = write_policy(tmp_path, "version: 1\ndefaults: {min_pass_rate: 0}\n", "alone.yml")
    result = run(["check", "--policy", alone, "--execution-id", NEWEST, "--run-test", CHECKOUT],
                 env=env)  # fmt: skip
    assert result.code == 2, result.err
    assert "could not tell which run test it belongs to" in result.err
    attack("execution id", "named beside another run test", "exit 2 naming whose it is")
