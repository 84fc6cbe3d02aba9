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
