"""Shared fixtures: the fake Future AGI API on loopback, and the CLI run in-process."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, load_dir

ROOT = Path(__file__).resolve().parent.parent
DEMO_DATA = ROOT / "tests" / "fakeapi" / "data"
SEED = ROOT / "examples" / "seed-execution.json"
SUPPORT = "Support Agent Regression"
NEWEST = "6f1c2a8e-3b7d-4e59-9a41-2c8d5e7f9b10"
# The demo data's day (its newest completed execution ended at 08:20 UTC). The CLI runs in this
# process at this instant, so that checks on age give the same verdict on any day the suite
# runs; a CLI started as its own process uses the real clock (its tests do not depend on age).
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


# What `pytest -m "not slow"` leaves out (the inner loop; CI runs everything): the modules that
# start processes, build wheels or containers, or run the README's scripts, and every
# hypothesis test.
SLOW_MODULES = frozenset({"test_readme", "test_delivery", "test_properties", "test_demo"})


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In an xdist worker: hand what the tests recorded for docs/reliability.md to the
    controller (tests/figures.py merges it)."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        from tests import figures

        output["figures"] = figures.export()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""  # type: ignore[attr-defined]
        function = getattr(item, "function", None)
        if module in SLOW_MODULES or getattr(function, "is_hypothesis_test", False):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries back off from 0.05 s instead of 0.5 s: the same doubling and jitter, a tenth of
    the waiting (a test that asserts the backoff itself builds its own RetryPolicy)."""
    monkeypatch.setattr("gate.transport.BACKOFF_BASE", 0.05)


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gate.judge.now", lambda: NOW)


@pytest.fixture(autouse=True)
def _transports_closed() -> Iterator[None]:
    """A test that made a client and did not close it: closed here, so that its sockets are
    not left to the garbage collector (a ResourceWarning, an error under -W error)."""
    yield
    from gate.transport import _OPEN

    for transport in list(_OPEN):
        transport.close()


@pytest.fixture
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll every 0.1 s instead of 5 s: the fake's executions end within a second. The
    executions started by `run` are of today: the real clock, not the demo data's day."""
    monkeypatch.setattr("gate.api.WAIT_FIRST", 0.1)
    monkeypatch.setattr("gate.api.WAIT_MAX", 0.2)
    monkeypatch.setattr("gate.judge.now", lambda: datetime.now(timezone.utc))


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    """The fake, its started executions at a quarter of their by-hand durations (0.25 s from
    start to end, still passing through each state): tests poll every 0.1 s (quick_polls)."""
    with FakeApi(load_dir(DEMO_DATA), run_speed=0.25) as api:
        yield api


@pytest.fixture
def api_env(fake_api: FakeApi) -> dict[str, str]:
    return {"FI_BASE_URL": fake_api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}


def run(argv: list[str], env: Mapping[str, str] | None = None) -> Result:
    """The real CLI, in this process, with its own stdout/stderr and environment."""
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        try:
            code = main(argv, dict(env or {}))
        except SystemExit as exc:  # argparse usage errors and --version
            code = int(exc.code or 0)
    finally:
        sys.stdout, sys.stderr = old
    return Result(code, out.getvalue(), err.getvalue())


def spawn(argv: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """fi-gate (or a wrapper of it) as its own process, as a CI job starts it: SIGINT at its
    default disposition (a suite started in the background inherits it ignored, and so would
    fi-gate), stdout and stderr captured."""
    return subprocess.Popen(
        argv,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


# On PYTHONPATH for a fi-gate subprocess: its sitecustomize.py polls the fake every 0.1 s.
QUICK_POLLS = ROOT / "tests" / "quickpoll"


def terminate_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool]) -> str:
    """SIGTERM `proc` once `ready()` holds (it must still be running then, within 60 s), as
    a cancelled CI job does; its standard error."""
    try:
        deadline = time.monotonic() + 60
        while not ready():
            assert proc.poll() is None and time.monotonic() < deadline, proc.poll()
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    return err.decode()


def write_policy(tmp_path: Path, text: str, name: str = "fi-gate.yml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)
