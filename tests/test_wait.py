"""--wait: poll until final with backoff, bounded by the deadline; tested on a fake clock."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.api import Client, wait_for
from gate.errors import NotReadyError
from gate.model import Execution
from gate.transport import Deadline
from tests.conftest import ROOT, Result, run, spawn
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, Fault, load_dir
from tests.figures import attack

RUNNING = "c0ffee00-1111-4222-8333-444455556666"  # Checkout Bot's newest: running


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi(load_dir(ROOT / "tests" / "fakeapi" / "data")) as fake:
        yield fake


def finish_after(api: FakeApi, detail_requests: int, *, summary_after: int | None = None) -> None:
    """Make the running execution complete once the fake has served that many details."""
    ex = api.store.execution(RUNNING)
    assert ex is not None
    execution = ex[1]
    seen = {"n": 0}

    def tick(query: dict[str, str]) -> bool:
        if query.get("execution_id") == RUNNING:
            seen["n"] += 1
            if seen["n"] > detail_requests:
                execution.status = "completed"
                execution.fma_status = "pending"
            if summary_after is not None and seen["n"] > summary_after:
                execution.fma_status = "completed"
        return False

    api.fail(Fault(match=tick))  # never taken: it only watches the requests


def client(api: FakeApi, clock: FakeClock, seconds: float) -> Client:
    return Client(
        api.url,
        API_KEY,
        SECRET_KEY,
        deadline=Deadline(seconds, clock=clock.clock),
        sleep=clock.sleep,
    )


def poll(c: Client, *, for_summary: bool = False, progress: list[str] | None = None) -> Execution:
    """wait_for on the running execution, fetching it again through the same client."""
    sink = progress if progress is not None else []
    return wait_for(
        c,
        c.execution(RUNNING),
        for_summary=for_summary,
        on_progress=sink.append,
        fetch=lambda: c.execution(RUNNING),
    )


def test_polls_with_backoff_until_final(api: FakeApi) -> None:
    clock = FakeClock()
    finish_after(api, 5)
    c = client(api, clock, 600)
    progress: list[str] = []
    done = poll(c, progress=progress)
    assert done.status == "completed"
    assert clock.sleeps == [5.0, 7.5, 11.25, 16.875, 25.3125]  # 5 s growing to the 30 s cap
    assert len(progress) == 5
    assert progress[0].startswith(f"waiting for execution {RUNNING}: running, 20/20 calls")
    assert "next check in 5s" in progress[0]


def test_backoff_is_capped_at_30_seconds(api: FakeApi) -> None:
    clock = FakeClock()
    finish_after(api, 9)
    c = client(api, clock, 3600)
    poll(c)
    assert max(clock.sleeps) == 30.0
    assert clock.sleeps[-1] == 30.0


def test_timeout_is_not_ready_with_the_last_status(api: FakeApi) -> None:
    clock = FakeClock()
    c = client(api, clock, 60)
    with pytest.raises(NotReadyError, match=r"still running after 58s \(--timeout 60s\)"):
        poll(c)
    assert sum(clock.sleeps) < 60


@pytest.mark.parametrize("seconds", [12, 60])
def test_a_wait_uses_its_whole_deadline(api: FakeApi, seconds: float) -> None:
    """The last look comes just before the deadline (LAST_LOOK seconds kept to judge it), not
    when the next backoff step would overshoot (once: --timeout 12 gave up after 5 s)."""
    from gate.api import LAST_LOOK

    clock = FakeClock()
    with pytest.raises(NotReadyError):
        poll(client(api, clock, seconds))
    assert sum(clock.sleeps) == pytest.approx(seconds - LAST_LOOK, abs=0.01)


def test_wait_for_summary(api: FakeApi) -> None:
    clock = FakeClock()
    finish_after(api, 1, summary_after=3)
    c = client(api, clock, 600)
    progress: list[str] = []
    done = poll(c, for_summary=True, progress=progress)
    assert (done.status, done.summary_status) == ("completed", "completed")
    assert any("Fix My Agent summary (pending)" in p for p in progress)


def test_summary_still_pending_at_the_deadline_is_judged_without_it(api: FakeApi) -> None:
    clock = FakeClock()
    finish_after(api, 0)
    c = client(api, clock, 40)
    progress: list[str] = []
    done = poll(c, for_summary=True, progress=progress)
    assert done.summary_status == "pending"
    assert progress[-1] == "the Fix My Agent summary is still pending: judging without it"


def cli_check(api: FakeApi, tmp_path: Path, *args: str) -> Result:
    """`fi-gate check` with an empty policy against the fake."""
    policy = tmp_path / "p.yml"
    policy.write_text("version: 1\ndefaults: {min_pass_rate: 0, min_avg_score: 0}\n")
    env = {"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}
    return run(["check", "--policy", str(policy), *args], env=env)


def test_cli_wait_is_bounded_and_exit_4(api: FakeApi, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    result = cli_check(
        api, tmp_path, "--run-test", "Checkout Bot", "--wait", "--timeout", "3",
        "--report", str(report),
    )  # fmt: skip
    assert result.code == 4
    assert "fi-gate: waiting for execution" in result.err
    assert "/dashboard/simulate/test/" in result.err  # the progress lines link the execution
    # how long it waited depends on the machine's speed: never asserted
    assert re.search(r"still running after \d+s \(--timeout 3s\)", result.err), result.err
    # The report says what was waited for, and how it was last seen.
    data = json.loads(report.read_text())
    assert (data["verdict"], data["run_test"]) == ("not_ready", "Checkout Bot")
    assert data["execution"]["execution_id"] == RUNNING
    assert data["execution"]["status"] == "running"
    attack("interrupted runs", "--wait runs out", "the report names the execution and its status")


def test_a_status_with_a_newline_cannot_start_a_log_line(api: FakeApi, tmp_path: Path) -> None:
    api.store.execution(RUNNING)[1].status = "running\n::error title=Approved::ship it"  # type: ignore[index]
    result = cli_check(api, tmp_path, "--execution-id", RUNNING, "--wait", "--timeout", "2")
    lines = result.err.splitlines()
    assert all(line.startswith("fi-gate: ") for line in lines), lines
    assert not any(line.lstrip().startswith("::") for line in lines)
    attack("log commands", "a status with a newline and ::error", "every line prefixed, disarmed")


def test_cli_wait_with_calls_polls_one_call_then_reads_the_pages(
    api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each poll asks for one call; the calls are read once the execution is final."""
    monkeypatch.setattr("gate.api.WAIT_FIRST", 0.05)
    finish_after(api, 1)  # running at the first detail, completed at the second
    result = cli_check(
        api, tmp_path, "--execution-id", RUNNING, "--wait", "--calls", "--format", "json"
    )
    assert result.code == 0, result.err
    details = [s.query for s in api.runs_requests if "page" not in s.query]
    assert [d["limit"] for d in details] == ["10000", "1", "10000"]  # first look, poll, calls
    assert json.loads(result.out)["calls"]["read"] == 20


@pytest.mark.parametrize(
    ("signum", "code", "word", "pid_1", "several"),
    [
        (signal.SIGTERM, 143, "terminated", False, False),
        (signal.SIGINT, 130, "interrupted", False, False),
        (signal.SIGTERM, 143, "terminated", True, False),
        (signal.SIGTERM, 143, "terminated", False, True),
    ],
    ids=["SIGTERM", "SIGINT", "SIGTERM to PID 1", "SIGTERM, several run tests"],
)
def test_a_cancelled_job_stops_a_wait_at_once(
    api: FakeApi, tmp_path: Path, signum: int, code: int, word: str, pid_1: bool, several: bool
) -> None:
    """A CI job cancelled while fi-gate polls: SIGTERM or Ctrl-C ends the run now, with one
    line and no verdict; no traceback. In the action's container fi-gate is PID 1, which the
    kernel spares from a signal it does not handle: `unshare` makes it PID 1 here too."""
    policy = tmp_path / "fi-gate.yml"
    policy.write_text("version: 1\nevals:\n  '*': {min_pass_rate: 50}\n")
    exe = Path(sys.executable).with_name("fi-gate")
    env = {"PATH": os.environ["PATH"], "FI_BASE_URL": api.url}
    env |= {"FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}
    argv = [str(exe), "check", "--policy", str(policy), "--execution-id", RUNNING, "--wait"]
    # Reports of an earlier run in the same place: none may still claim a verdict after.
    earlier = {"--report": "r.json", "--dotenv": "d.env", "--junit": "j.xml"}
    for flag, name in earlier.items():
        (tmp_path / name).write_text("FI_GATE_VERDICT=pass\n")
        argv += [flag, str(tmp_path / name)]
    if several:  # judged on threads: the one still waiting is stopped from the main thread
        argv[4:6] = ["--run-test", "Support Agent Regression", "--run-test", "Checkout Bot"]
    if pid_1:  # a new PID namespace, as in a container; fi-gate is its first process
        argv = ["unshare", "--pid", "--fork", "--kill-child", *argv]
    with spawn(argv, env) as proc:
        try:
            deadline = time.monotonic() + 30
            while len(api.runs_requests) < (4 if several else 1):  # running: polls again in 5 s
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
            time.sleep(0.3)
            target = proc.pid
            if pid_1:
                children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
                assert len(children) == 1, children
                target = int(children[0])
                status = Path(f"/proc/{target}/status").read_text()
                nspid = status.split("NSpid:")[1].splitlines()[0].split()
                assert nspid[-1] == "1", nspid  # its pid in its own namespace
            os.kill(target, signum)
            _, err = proc.communicate(timeout=4)  # before the next poll
        finally:
            proc.kill()
    assert proc.returncode == code, err
    assert err.decode().strip().splitlines()[-1] == f"fi-gate: error: {word}; no verdict"
    assert b"Traceback" not in err
    assert len(api.runs_requests) == (4 if several else 1)  # no poll after the signal
    assert err.decode().count("fi-gate: error:") == 1  # the cut-off thread says nothing
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["verdict"], report["exit_code"]) == ("error", code)
    assert f"{word}; no verdict" in json.dumps(report)
    dotenv = (tmp_path / "d.env").read_text()
    assert "FI_GATE_VERDICT=error\n" in dotenv and f"FI_GATE_EXIT_CODE={code}\n" in dotenv
    assert "<error" in (tmp_path / "j.xml").read_text()
    attack(
        "interrupted runs",
        f"{signal.Signals(signum).name}, earlier reports in place",
        f"reports say error, exit {code}",
    )
