"""Fail closed (issue #12): exit 0 only when the policy was met on data that makes sense.

Impossible data is a response error (exit 3) that names the field, never judged; the
property test at the end holds the whole CLI to the promise on generated data.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SEED, run, write_policy
from tests.figures import record

POLICY = "version: 1\ndefaults: {min_pass_rate: 50, min_avg_score: 50}\n"
GOOD = json.loads(SEED.read_text())


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        node: Any = data["result"]
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        last = keys[-1]
        node[int(last) if last.isdigit() else last] = value

    return apply


IMPOSSIBLE = {
    "a pass rate of 150": (_set("eval_results.0.total_pass_rate", 150), "total_pass_rate"),
    "a negative pass rate": (_set("eval_results.0.result.0.output.pass", -1), "output['pass']"),
    "a pass rate of 1e300": (_set("eval_results.0.total_pass_rate", 1e300), "outside 0-100"),
    "Infinity in --from-file": (_set("eval_results.0.total_pass_rate", float("inf")), "inf"),
    "NaN in --from-file": (_set("eval_results.0.result.0.output.pass", float("nan")), "nan"),
    "failed calls above total": (_set("failed_calls", 31), "failed_calls 31 is more than"),
    "completed calls above total": (_set("completed_calls", 40), "completed_calls 40 is more"),
    "completed + failed above total": (_set("completed_calls", 29), "completed_calls 29 +"),
    "cells above calls": (_set("eval_results.0.result.0.total_cells", 31), "total_cells 31"),
    "a negative count": (_set("failed_calls", -4), "result.failed_calls"),
    "pass_count above cells": (_set("eval_results.0.result.0.output.pass_count", 27), "pass_count"),
    "completed before started": (_set("completed_at", "2026-01-19T07:00:00Z"), "is before"),
    "completed far in the future": (_set("completed_at", "2099-01-01T00:00:00Z"), "future"),
    "a choice share of 101": (
        _set(
            "eval_results",
            [
                {
                    "name": "Mood",
                    "output_type": "choices",
                    "total_choices_avg": {"Positive": 101},
                    "result": [{"name": "m", "total_cells": 20, "output": {"Positive": 101}}],
                }
            ],
        ),
        "total_choices_avg['Positive']",
    ),
    "an average score of -5": (
        _set(
            "eval_results",
            [
                {
                    "name": "CSAT",
                    "output_type": "score",
                    "total_avg": -5,
                    "result": [{"name": "c", "total_cells": 20, "avg_score": -5, "output": {}}],
                }
            ],
        ),
        "total_avg is -5",
    ),
}


@pytest.mark.parametrize("case", sorted(IMPOSSIBLE))
def test_impossible_data_is_exit_3_naming_the_field(tmp_path: Path, case: str) -> None:
    mutate, field = IMPOSSIBLE[case]
    data = copy.deepcopy(GOOD)
    mutate(data)
    saved = tmp_path / "execution.json"
    saved.write_text(json.dumps(data))  # Infinity and NaN as Python writes them
    policy = write_policy(tmp_path, POLICY)
    report = tmp_path / "r.json"
    result = run(
        ["check", "--policy", policy, "--from-file", str(saved), "--report", str(report)],
        env={},
    )
    assert result.code == 3, result
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err  # one clear line
    assert field in lines[0], result.err
    assert json.loads(report.read_text())["checks"] == []  # never judged
    record("hostile", f"impossible data: {case}", "exit 3, the field named, nothing judged")


def test_a_sane_copy_of_the_same_file_is_judged(tmp_path: Path) -> None:
    saved = tmp_path / "execution.json"
    saved.write_text(json.dumps(GOOD))
    result = run(["check", "--policy", write_policy(tmp_path, POLICY), "--from-file", str(saved)])
    assert result.code == 0, result.err


def test_deeply_nested_json_is_a_response_error(tmp_path: Path) -> None:
    saved = tmp_path / "deep.json"
    saved.write_text("[" * 100_000 + "]" * 100_000)
    result = run(["check", "--policy", write_policy(tmp_path, POLICY), "--from-file", str(saved)])
    assert result.code == 3, result
    assert "nested too deeply" in result.err


# --- files: read and write only what was meant (section 3) --------------------------------------

SECRET_TEXT = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-canary\n"


def _check_policy(tmp_path: Path, policy: str, *extra: str) -> Any:
    report = tmp_path / "r.json"
    result = run(
        ["check", "--policy", policy, "--from-file", str(SEED), "--report", str(report), *extra],
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "step.md")},
    )
    return result, report


def test_a_policy_symlink_out_of_the_working_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "home" / "id_ed25519"
    secret.parent.mkdir()
    secret.write_text(SECRET_TEXT)
    work = tmp_path / "checkout"
    work.mkdir()
    (work / "fi-gate.yml").symlink_to(secret)
    monkeypatch.chdir(work)
    result, report = _check_policy(tmp_path, "fi-gate.yml")
    assert result.code == 2
    assert "symbolic link that leads out of the working directory" in result.err
    everything = result.out + result.err + report.read_text() + (tmp_path / "step.md").read_text()
    assert "canary" not in everything and "PRIVATE" not in everything
    record("hostile", "policy: a symlink to ~/.ssh/id_ed25519", "exit 2; the file is never read")


def test_a_policy_symlink_inside_the_working_directory_is_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "real.yml").write_text(POLICY)
    (tmp_path / "fi-gate.yml").symlink_to(tmp_path / "policies" / "real.yml")
    monkeypatch.chdir(tmp_path)
    result, _ = _check_policy(tmp_path, "fi-gate.yml")
    assert result.code == 0, result.err


def test_a_secret_file_given_as_the_policy_is_never_quoted(tmp_path: Path) -> None:
    secret = tmp_path / "id_ed25519"
    secret.write_text(SECRET_TEXT)
    env_file = tmp_path / "prod.env"
    env_file.write_text("DB_PASSWORD: hunter2-canary\nAPI_TOKEN: tok-canary\n")
    for path in (secret, env_file):
        result, report = _check_policy(tmp_path, str(path))
        assert result.code == 2
        everything = result.out + result.err + report.read_text()
        assert "canary" not in everything, everything


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "fifo"])
def test_a_device_or_fifo_is_not_a_policy(tmp_path: Path, device: str) -> None:
    import os

    if device == "fifo":
        device = str(tmp_path / "pipe.yml")
        os.mkfifo(device)  # nobody writes: a plain open would block forever
    result, _ = _check_policy(tmp_path, device)
    assert result.code == 2
    assert "not a regular file" in result.err
    record("hostile", f"policy: {Path(device).name}", "exit 2 at once: not a regular file")


def test_reports_replace_a_planted_symlink_and_never_write_through_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    outputs = {}
    for flag in ("--report", "--summary", "--junit", "--dotenv"):
        path = tmp_path / f"out{flag}"
        path.symlink_to(victim)  # planted by a pull request in its checkout
        outputs[flag] = path
    argv = [a for flag, path in outputs.items() for a in (flag, str(path))]
    result = run(
        ["check", "--policy", write_policy(tmp_path, POLICY), "--from-file", str(SEED), *argv]
    )
    assert result.code == 0, result.err
    assert victim.read_text() == "precious\n"
    for path in outputs.values():
        assert not path.is_symlink() and path.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []
    record(
        "hostile", "report paths planted as symlinks", "replaced by a rename, never written through"
    )


def test_a_report_that_cannot_be_written_ends_the_log_with_the_real_exit_code(
    tmp_path: Path,
) -> None:
    result = run(
        [
            "check", "--policy", write_policy(tmp_path, POLICY), "--from-file", str(SEED),
            "--report", str(tmp_path / "missing-folder" / "r.json"),
        ]
    )  # fmt: skip
    assert result.code == 2
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("fi-gate: error: exit 2: could not write"), last
    assert "the verdict was warn, exit 0" in last
