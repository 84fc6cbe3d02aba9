"""`fi-gate demo`: the first minute, with no account, no network and no checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, run


def test_demo_judges_the_example_execution() -> None:
    result = run(["demo"])
    assert result.code == 0, result.err
    assert "is_helpful" in result.out and "80.77%" in result.out
    assert "PASS with warnings" in result.out
    assert "min_pass_rate: 80" in result.err  # the policy it was judged by, shown
    assert "fi-gate init --run-test NAME" in result.err  # and what to do next


def test_demo_fail_shows_a_failure_and_exits_1() -> None:
    result = run(["demo", "--fail"])
    assert result.code == 1, result.err
    assert "FAIL" in result.out and "min_pass_rate: 81" in result.err


def test_demo_markdown_is_the_job_summary() -> None:
    result = run(["demo", "--markdown"])
    assert result.code == 0
    assert result.out.startswith("## ")
    assert "helpful" in result.out and "| " in result.out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip install fi-gate` would install, built from this checkout (offline)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    return next(out.glob("fi_gate-*.whl"))


def test_the_wheel_ships_the_demo_data_and_the_demo_runs_from_it(
    wheel: Path, tmp_path: Path
) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"gate/examples/execution.json", "gate/examples/policy.yml"} <= names
    # The demo from the wheel alone (a zip on the path), in a directory with no checkout.
    env = {**os.environ, "PYTHONPATH": str(wheel), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", "import gate, sys; from gate.cli import main; "
         "assert 'whl' in gate.__file__, gate.__file__; sys.exit(main(['demo']))"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "is_helpful" in done.stdout
