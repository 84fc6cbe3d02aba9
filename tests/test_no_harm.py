"""No harm from run, wait and comment (issue #18): exit 0 only for the execution asked for,
judged when ready; cancels only for what fi-gate started; a write sent once, never redirected.

Each test drives the real CLI against the fake API misbehaving on the wire (a slow poll, a
swapped id, a POST redirect, a broken chunked framing) over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NEWEST, SUPPORT, Result, run, write_policy
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, Fault
from tests.figures import attack, record

CHECKOUT = "Checkout Bot"
RUNNING = "c0ffee00-1111-4222-8333-444455556666"  # Checkout Bot's running execution
CHECKOUT_DONE = "c0ffee00-7777-4888-9999-aaaabbbbcccc"
SUPPORT_ID = "59d8bb53-f60e-463a-8978-cbbf9afa67f0"
EXECUTE = f"/simulate/run-tests/{SUPPORT_ID}/execute/"
POLICY = "version: 1\ndefaults: {min_pass_rate: 0, min_avg_score: 0}\n"


pytestmark = pytest.mark.usefixtures("quick_polls")


@pytest.fixture
def api(fake_api: FakeApi) -> FakeApi:
    return fake_api


def gate(
    api: FakeApi, tmp_path: Path, *argv: str, policy: str = POLICY
) -> tuple[Result, dict[str, Any] | None, dict[str, Path]]:
    files = {
        "--report": tmp_path / "r.json",
        "--summary": tmp_path / "s.md",
        "--junit": tmp_path / "j.xml",
        "--dotenv": tmp_path / "d.env",
        "--github-output": tmp_path / "out.txt",
    }
    for path in files.values():
        path.unlink(missing_ok=True)
    flags = [a for flag, path in files.items() for a in (flag, str(path))]
    flags = [f for f in flags if not f.endswith("out.txt") and f != "--github-output"]
    env = {"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}
    env |= {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(files["--github-output"])}
    result = run([argv[0], "--policy", write_policy(tmp_path, policy), *flags, *argv[1:]], env=env)
    report = files["--report"]
    return result, json.loads(report.read_text()) if report.exists() else None, files


def polls_of(execution_id: str) -> Any:
    return lambda q: q.get("execution_id") == execution_id


def support_run(api: FakeApi, **spec: Any) -> Any:
    rt = next(r for r in api.store.run_tests if r.name == SUPPORT)
    rt.run.update(spec)
    return rt


# --- 1. not ready is not an outage ----------------------------------------------------------


@pytest.mark.slow  # bounded by its deadline or backoff: seconds of waiting
def test_a_deadline_during_a_slow_poll_is_not_ready_never_softened(
    api: FakeApi, tmp_path: Path
) -> None:
    """The execution is still running; the API takes longer than the time kept for the last
    look. The deadline ends during a poll: not ready (exit 4), even with --on-api-error pass,
    and never worded as the server breaking the connection."""
    api.fail(*[Fault(mode="hang", delay=30, match=polls_of(RUNNING)) for _ in range(50)])
    result, report, _ = gate(
        api, tmp_path, "check", "--run-test", CHECKOUT, "--wait", "--timeout", "5",
        "--on-api-error", "pass",
    )  # fmt: skip
    assert result.code == 4, result.err
    assert report is not None and report["verdict"] == "not_ready"
    assert "connection broke" not in result.err and "NOT gated" not in result.err
    record("faults", "the deadline ends during a slow poll (--wait, --on-api-error pass)",
           "exit 4 not ready, never softened; not described as a broken connection")  # fmt: skip


@pytest.mark.slow  # bounded by its deadline or backoff: seconds of waiting
def test_run_past_the_deadline_in_a_slow_poll_cancels_and_is_not_ready(
    api: FakeApi, tmp_path: Path
) -> None:
    support_run(api, running=600)

    def slow_polls(q: dict[str, str]) -> bool:
        return bool(api.started) and q.get("execution_id") == api.started[0]

    api.fail(*[Fault(mode="hang", delay=30, match=slow_polls) for _ in range(50)])
    result, report, _ = gate(
        api, tmp_path, "run", "--run-test", SUPPORT, "--timeout", "6", "--on-api-error", "pass"
    )
    assert result.code == 4, result.err
    (started,) = api.started
    assert api.cancelled == [started]
    assert report is not None and report["verdict"] == "not_ready"
    assert report["provenance"]["selection"] == "started"
    assert "connection broke" not in result.err
    record("run", "the deadline ends during a slow poll (--on-api-error pass)",
           "exit 4, never softened; the started execution cancelled")  # fmt: skip


# --- 2. the answer must be about the execution asked for ------------------------------------


def test_an_answer_about_another_execution_is_malformed(api: FakeApi, tmp_path: Path) -> None:
    api.fail(Fault(mode="swap", body=CHECKOUT_DONE, match=polls_of(NEWEST)))
    result, report, _ = gate(
        api, tmp_path, "check", "--execution-id", NEWEST, "--on-api-error", "pass"
    )
    assert result.code == 3, result.err
    assert f"with the data of execution {CHECKOUT_DONE}" in result.err
    assert report is not None and report["verdict"] == "error" and report["checks"] == []
    attack("an answer not about what was asked", "the detail of another execution (swapped id)",
           "exit 3, never softened; never judged")  # fmt: skip


def test_a_call_page_of_another_execution_is_malformed(api: FakeApi, tmp_path: Path) -> None:
    api.fail(
        Fault(
            mode="swap",
            body=CHECKOUT_DONE,
            match=lambda q: q.get("execution_id") == NEWEST and q.get("page") == "2",
        )
    )
    result, _, _ = gate(
        api, tmp_path, "check", "--execution-id", NEWEST, "--calls", "--on-api-error", "pass"
    )
    # NEWEST's 30 calls fit one page of the default size: a small page size forces page 2
    if "page 2" not in result.err:
        from tests.conftest import run as run_cli

        result = run_cli(
            ["check", "--policy", write_policy(tmp_path, POLICY), "--execution-id", NEWEST,
             "--calls", "--on-api-error", "pass"],
            env={"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY,
                 "FI_GATE_CALL_PAGE_SIZE": "10"},
        )  # fmt: skip
    assert result.code == 3, result.err
    assert "answered page 2 of the calls of execution" in result.err
    assert f"with the data of execution {CHECKOUT_DONE}" in result.err
    attack("an answer not about what was asked", "a call page of another execution",
           "exit 3, never softened; never counted")  # fmt: skip


def test_run_whose_poll_answers_about_another_execution_cancels_its_own(
    api: FakeApi, tmp_path: Path
) -> None:
    support_run(api, running=600)

    def first_poll(q: dict[str, str]) -> bool:
        return bool(api.started) and q.get("execution_id") == api.started[0]

    api.fail(Fault(mode="swap", body=NEWEST, match=first_poll))
    result, _, _ = gate(api, tmp_path, "run", "--run-test", SUPPORT, "--on-api-error", "pass")
    assert result.code == 3, result.err
    (started,) = api.started
    assert api.cancelled == [started]
    assert f"cancelled execution {started}" in result.err
    record("run", "a poll answered with another execution's data",
           "exit 3, never softened; the started execution cancelled")  # fmt: skip


# --- 5. a POST is never redirected ----------------------------------------------------------


@pytest.mark.parametrize("status", [303, 307, 308])
def test_a_redirected_start_is_not_followed(api: FakeApi, tmp_path: Path, status: int) -> None:
    api.fail(
        *[
            Fault(status=status, headers={"Location": EXECUTE}, body={}, path=EXECUTE)
            for _ in range(4)
        ]
    )
    result, _, _ = gate(api, tmp_path, "run", "--run-test", SUPPORT)
    assert result.code == 3, result.err
    posts = [s for s in api.seen if s.method == "POST"]
    assert len(posts) == 1 and api.started == [] and api.cancelled == []
    assert f"answered the POST with a redirect ({status} to {EXECUTE})" in result.err
    attack("a write redirected", f"{status} on the start", "exit 3 naming it; one POST, no start")


@pytest.mark.slow  # bounded by its deadline or backoff: seconds of waiting
def test_a_redirected_cancel_is_not_followed(api: FakeApi, tmp_path: Path) -> None:
    support_run(api, running=600)
    api.fail(Fault(status=308, headers={"Location": "/elsewhere/"}, body={}, path="*/cancel/"))
    result, _, _ = gate(api, tmp_path, "run", "--run-test", SUPPORT, "--timeout", "4")
    assert result.code == 4, result.err
    cancels = [s for s in api.seen if s.method == "POST" and s.path.endswith("/cancel/")]
    assert len(cancels) == 1
    assert not any(s.path == "/elsewhere/" for s in api.seen)
    assert "could not cancel execution" in result.err and "redirect (308" in result.err
    attack("a write redirected", "308 on the cancel", "not followed; said, with the app link")


# --- 6. one start per run test --------------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "check"])
def test_a_run_test_named_twice_is_refused_before_any_request(
    api: FakeApi, tmp_path: Path, command: str
) -> None:
    result, _, _ = gate(api, tmp_path, command, "--run-test", SUPPORT, "--run-test", SUPPORT)
    assert result.code == 2, result.err
    assert f"run test '{SUPPORT}' is named more than once" in result.err
    assert api.seen == []
    attack("one start per run test", f"{command} --run-test X --run-test X",
           "exit 2 before any request")  # fmt: skip


# --- 7. malformed stays malformed -----------------------------------------------------------


@pytest.mark.parametrize(
    "framing", [b"zz\r\n{}\r\n0\r\n\r\n", b"-1\r\n", b"5\r\n{}\r\n0\r\n\r\n"], ids=str
)
def test_a_broken_chunked_framing_is_malformed_not_an_outage(
    api: FakeApi, tmp_path: Path, framing: bytes
) -> None:
    api.fail(Fault(mode="badchunk", body=framing))
    result, report, _ = gate(
        api, tmp_path, "check", "--execution-id", NEWEST, "--on-api-error", "pass",
        "--timeout", "60",
    )  # fmt: skip
    assert result.code == 3, result.err
    assert "malformed answer" in result.err
    assert report is not None and "NOT gated" not in result.err
    assert len(api.runs_requests) == 1  # not retried: a framing error is not a network fault
    attack("malformed framing", f"chunk framing {framing[:6]!r}",
           "exit 3 at once, never retried nor softened")  # fmt: skip


# --- 8. no abbreviations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "--wait"], "`fi-gate run` always waits"),
        (["check", "--pol", "x.yml"], "did you mean '--policy'?"),
        (["check", "--wait-for-sum"], "did you mean '--wait-for-summary'?"),
        (["run", "--select", "latest"], "--select is an option of `fi-gate check`"),
        (["validate", "--x"], "unknown option '--x' for `fi-gate validate`"),
        (["init", "--run", "X"], "did you mean '--run-test'?"),
    ],
)
def test_options_are_never_abbreviated(argv: list[str], words: str) -> None:
    result = run(argv)
    assert result.code == 2
    assert words in result.err
    assert "never abbreviated" in result.err
    assert len(result.err.strip().splitlines()) == 1
    attack("abbreviated options", " ".join(argv), "exit 2 with the did-you-mean")


# --- 9. a --wait that runs out of time keeps what it knew ------------------------------------


def _what_it_knew(report: dict[str, Any], files: dict[str, Path]) -> dict[str, Any]:
    outputs = files["--github-output"].read_text()
    return {
        "run_test": report["run_test"],
        "execution": report["execution"]["execution_id"],
        "provenance": {k: v for k, v in report["provenance"].items() if k != "commit"},
        "heading": files["--summary"].read_text().splitlines()[0],
        "classname": 'classname="' + (report["run_test"] or "") in files["--junit"].read_text(),
        "url": next(
            (line for line in files["--dotenv"].read_text().splitlines() if "URL=" in line), None
        ),
        "link": "link<<" in outputs and report["provenance"]["link"] in outputs,
        "selection": "selection<<" in outputs,
    }


@pytest.mark.slow  # bounded by its deadline or backoff: seconds of waiting
def test_a_wait_that_runs_out_keeps_what_it_knew(api: FakeApi, tmp_path: Path) -> None:
    """The same run test, execution, provenance, link, heading and outputs as a plain
    not-ready check of the same running execution."""
    policy = f"version: 1\nrun_test: {CHECKOUT}\ndefaults: {{min_pass_rate: 0}}\n"
    plain, plain_report, files = gate(api, tmp_path, "check", policy=policy)
    assert plain.code == 4 and plain_report is not None
    expected = _what_it_knew(plain_report, files)
    waited, report, files = gate(api, tmp_path, "check", "--wait", "--timeout", "4", policy=policy)
    assert waited.code == 4, waited.err
    assert report is not None
    assert _what_it_knew(report, files) == expected
    assert expected["run_test"] == CHECKOUT and expected["execution"] == RUNNING
    assert expected["provenance"]["link"] and expected["url"]
    assert CHECKOUT in expected["heading"]
    outcome = "exit 4; run test, provenance, link and outputs as for any not-ready outcome"
    record("faults", "--wait runs out of time", outcome)


# --- 10. messages tell the truth -------------------------------------------------------------


def test_a_shadowed_glob_says_which_rule_took_its_evals(api: FakeApi, tmp_path: Path) -> None:
    policy = (
        "version: 1\nevals:\n  'Tone*': {min_pass_rate: 0}\n  'T*': {min_pass_rate: 0}\n"
        "defaults: {min_pass_rate: 0, min_avg_score: 0}\n"
    )
    result, report, _ = gate(api, tmp_path, "check", "--execution-id", NEWEST, policy=policy)
    assert report is not None
    (shadowed,) = [c for c in report["checks"] if c["name"] == "T*"]
    assert "no eval matches" not in shadowed["message"]
    assert shadowed["message"].startswith(
        "every eval this pattern matches ('Tone') is judged by an earlier rule ('Tone*')"
    )
    assert result.code == 1  # a rule with nothing to check is never a pass


def test_every_policy_problem_is_in_the_summary_and_annotated(api: FakeApi, tmp_path: Path) -> None:
    policy = (
        "version: 1\n"
        "evals:\n"
        "  a: {min_pass_rate: 150}\n"
        "  b: {min_pass_rate: -1}\n"
        "  c: {min_pas_rate: 3}\n"
    )
    summary = tmp_path / "s.md"
    result = run(
        ["check", "--policy", write_policy(tmp_path, policy), "--summary", str(summary)],
        env={"GITHUB_ACTIONS": "true", "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY},
    )
    assert result.code == 2, result.err
    annotations = [line for line in result.err.splitlines() if line.startswith("::error file=")]
    assert len(annotations) == 3, result.err
    assert [a.split(",")[1] for a in annotations] == ["line=3", "line=4", "line=5"]
    text = summary.read_text()
    for key in ("evals.a.min_pass_rate", "evals.b.min_pass_rate", "min_pas_rate"):
        assert key in text, text
    assert api.seen == []
