"""Every example in the README is exercised here, as a new user would run it."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gate.policy import parse_policy
from tests.conftest import QUICK_POLLS, ROOT
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, load_dir

README = (ROOT / "README.md").read_text()
# The README and the reference pages it links to (docs/): every example in them runs here.
PAGES = {"README.md": README} | {
    f"docs/{p.name}": p.read_text()
    for p in sorted((ROOT / "docs").glob("*.md"))
    if p.name not in ("reliability.md", "performance.md", "statistics.md", "architecture.md")
}
BLOCK = re.compile(r"<!-- example: ([\w-]+) -->\n```(\w+)\n(.*?)```", re.S)
EXAMPLES = {m.group(1): m.group(3) for text in PAGES.values() for m in BLOCK.finditer(text)}
BIN = Path(sys.executable).parent


@pytest.mark.parametrize("page", list(PAGES))
def test_every_code_block_is_a_tagged_example(page: str) -> None:
    text = PAGES[page]
    fences = text.count("\n```") // 2
    assert fences == len(BLOCK.findall(text)), f"tag every example of {page}"


def test_the_readme_is_short_and_its_links_work() -> None:
    """What a team needs to decide and start, in five minutes; the reference is in docs/, linked
    absolutely (the package index shows the README without the repository around it)."""
    assert len(README.splitlines()) <= 400
    for target in re.findall(
        r"\]\((https://github.com/future-agi/fi-gate/blob/main/[^)#]+)", README
    ):
        assert (ROOT / target.split("/blob/main/", 1)[1]).exists(), target
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", README, re.M)
    }
    for anchor in re.findall(r"\]\(#([a-z0-9-]+)\)", README):
        assert anchor in anchors, anchor


def bash(
    script: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a README snippet with this checkout's environment: `.venv` is the one running us."""
    venv = cwd / ".venv"
    if not venv.exists():
        venv.symlink_to(BIN.parent)
    full_env = {"PATH": f"{BIN}:{os.environ['PATH']}", "HOME": str(cwd), **(env or {})}
    full_env.setdefault("PYTHONPATH", str(QUICK_POLLS))  # fi-gate polls the fake every 0.1 s
    return subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the files the README's examples use, so they run from the 'repository root'."""
    for name in ("examples", "policies", "tests"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_first_minute_works_from_a_clean_clone(tmp_path: Path) -> None:
    """The quick start's first block as written, from a clean clone in a fresh virtualenv:
    the clone is of this repository (no network), and pip installs offline (the virtualenv
    sees the dependencies this one has), which are the only changes to its three lines."""
    clone_line, venv_line, demo_line = EXAMPLES["demo"].strip().splitlines()
    assert clone_line == "git clone https://github.com/future-agi/fi-gate && cd fi-gate"
    assert venv_line == "python3 -m venv .venv && .venv/bin/pip install ."
    assert demo_line == ".venv/bin/fi-gate demo"
    clone = tmp_path / "fi-gate"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, capture_output=True)
    # The venv line, offline: a venv that sees this one's packages (a .pth file), and pip run
    # for it from here, installing the clone with no index and no download.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(clone / ".venv")],
                   check=True)  # fmt: skip
    site = next((clone / ".venv" / "lib").glob("python3*/site-packages"))
    ours = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (site / "_offline.pth").write_text(ours + "\n")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(clone / ".venv" / "bin" / "python"),
         "install", "-q", "--no-index", "--no-deps", "--no-build-isolation", "."],
        cwd=clone, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    done = bash(demo_line, clone)
    assert done.returncode == 0, done.stderr
    assert "is_helpful" in done.stdout and "PASS with warnings" in done.stdout


def test_demo_usage_line_matches_the_parser() -> None:
    from gate.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    flags = {s for a in sub.choices["demo"]._actions for s in a.option_strings}
    line = next(x for x in EXAMPLES["usage"].splitlines() if x.startswith("fi-gate demo"))
    assert set(re.findall(r"--[a-z-]+", line)) == flags - {"-h", "--help"}


def test_setup_commands_are_the_ones_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    for line in EXAMPLES["setup"].strip().splitlines():
        assert line in ci


def test_seed_example_passes_then_fails_at_81(checkout: Path) -> None:
    script = EXAMPLES["seed"]
    done = bash(script, checkout)
    assert done.returncode == 0, done.stderr
    assert "80.77%" in done.stdout
    assert "4 of 30 calls failed" in done.stdout
    stricter = bash(script.replace("min_pass_rate: 80", "min_pass_rate: 81"), checkout)
    assert stricter.returncode == 1


def test_fake_api_runs_by_hand(checkout: Path) -> None:
    command = EXAMPLES["fakeapi"].strip()
    assert command == ".venv/bin/python -m tests.fakeapi"
    bash("true", checkout)  # creates .venv
    proc = subprocess.Popen(
        [*command.split(), "--port", "0"],
        cwd=checkout,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+)", first)
        assert url, first
        env = {"FI_BASE_URL": url.group(1), "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}
        done = bash("fi-gate check --policy policies/starter.yml", checkout, env)
        assert done.returncode == 0, done.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
    assert proc.returncode == 0


def test_run_against_the_fake(checkout: Path) -> None:
    lines = EXAMPLES["run-against-fake"].strip().splitlines()
    assert lines[1] == EXAMPLES["against-fake"].strip().splitlines()[1]
    with FakeApi(load_dir(checkout / "tests" / "fakeapi" / "data")) as api:
        script = "\n".join(lines).replace("http://127.0.0.1:8765", api.url)
        done = bash(script, checkout)
        assert done.returncode == 0, done.stderr
        (started,) = api.started
    assert f"started execution {started} of run test 'Support Agent Regression'" in done.stderr
    assert "/dashboard/simulate/test/" in done.stderr


def test_commands_against_the_fake(checkout: Path, tmp_path: Path) -> None:
    """The README's commands as written, but for the summary's path: a temporary one (a fixed
    /tmp/summary.md would be shared by every run on the machine)."""
    summary = tmp_path / "summary.md"
    lines = EXAMPLES["against-fake"].strip().splitlines()
    assert lines[1].startswith("export FI_BASE_URL=http://127.0.0.1:8765 ")
    expected = {"passes": 0, "fails": 1, "not ready": 4}
    with FakeApi(load_dir(checkout / "tests" / "fakeapi" / "data")) as api:
        prelude = "\n".join(lines[:2]).replace("http://127.0.0.1:8765", api.url)
        for line in lines[2:]:
            command, comment = line.split("#", 1)
            want = next(code for word, code in expected.items() if word in comment)
            command = command.replace("/tmp/summary.md", str(summary))
            done = bash(f"{prelude}\n{command}", checkout)
            assert done.returncode == want, (line, done.stdout, done.stderr)
    assert "Refund policy answered from memory" in summary.read_text()


def test_real_api_commands_with_the_fake_standing_in(checkout: Path) -> None:
    lines = EXAMPLES["real-api"].strip().splitlines()
    assert lines[0] == "pip install fi-gate"
    (checkout / "fi-gate.yml").write_text((checkout / "policies" / "starter.yml").read_text())
    with FakeApi(load_dir(checkout / "tests" / "fakeapi" / "data")) as api:
        env = {"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}
        for line in lines[1:]:
            done = bash(line, checkout, env)
            assert done.returncode == 0, (line, done.stderr)
        assert len(api.started) == 1  # `run` started one; `check` judged the latest


def test_run_usage_matches_the_parser() -> None:
    from gate.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    flags = {s for a in sub.choices["run"]._actions for s in a.option_strings}
    usage = EXAMPLES["usage"]
    run_usage = usage[usage.index("fi-gate run") : usage.index("fi-gate schema")]
    assert set(re.findall(r"--[a-z-]+", run_usage)) == flags - {"-h", "--help"}


@pytest.mark.parametrize(
    ("policy", "code", "deployed"), [("starter", 0, True), ("strict", 1, False)]
)
def test_deploy_script_stops_on_a_failed_gate(
    checkout: Path, policy: str, code: int, deployed: bool
) -> None:
    (checkout / "fi-gate.yml").write_text((checkout / "policies" / f"{policy}.yml").read_text())
    (checkout / "deploy.sh").write_text("#!/bin/sh\necho DEPLOYED\n")
    (checkout / "deploy.sh").chmod(0o755)
    with FakeApi(load_dir(checkout / "tests" / "fakeapi" / "data")) as api:
        env = {"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}
        done = bash(EXAMPLES["deploy-script"], checkout, env)
    assert done.returncode == code
    assert ("DEPLOYED" in done.stdout) is deployed
    assert (checkout / "gate-report.json").exists()


def test_policy_reference_is_valid_and_the_error_example_is_exact(checkout: Path) -> None:
    text = EXAMPLES["policy-reference"]
    parse_policy(text)
    broken = text.replace(
        "  Coherence:\n    min_pass_rate: 90", "  Coherence:\n    min_pass_rate: 150"
    )
    assert broken != text
    (checkout / "fi-gate.yml").write_text(broken)
    done = bash("fi-gate validate fi-gate.yml", checkout)
    assert done.returncode == 2
    assert done.stderr.strip() == EXAMPLES["config-error"].strip()


def test_usage_block_matches_the_parser() -> None:
    from gate.cli import _parser

    usage = EXAMPLES["usage"]
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    check = sub.choices["check"]
    flags = {s for a in check._actions for s in a.option_strings if s.startswith("--")}
    check_usage = usage.split("fi-gate validate")[0]
    documented = set(re.findall(r"--[a-z-]+", check_usage))
    assert flags - {"--help"} == documented
    init = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    init_flags = {s for a in init.choices["init"]._actions for s in a.option_strings}
    init_line = next(line for line in usage.splitlines() if line.startswith("fi-gate init"))
    assert set(re.findall(r"--[a-z-]+", init_line)) == init_flags - {"-h", "--help", "--base-url"}


def test_the_pr_comment_picture_is_what_fi_gate_writes() -> None:
    """The README's picture of the comment: lines of the demo's real summary, in order."""
    from tests.conftest import run

    real = run(["demo", "--fail", "--markdown"]).out.splitlines()
    at = 0
    for line in EXAMPLES["pr-comment"].strip().splitlines():
        if not line:
            continue
        at = real.index(line, at) + 1  # ValueError: a line fi-gate does not write
