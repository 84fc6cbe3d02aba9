"""The environment: one vocabulary for every boolean and enum, validated like its flag; the
names fi-gate reads are listed once, and no output defines one of them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gate.render import dotenv, github
from gate.settings import capture, reads
from gate.verdict import GateResult
from tests.conftest import NOW, ROOT, SEED, run, write_policy
from tests.evaluate_helpers import verdict_of
from tests.figures import attack

BOOLEANS = (
    "FI_GATE_WAIT",
    "FI_GATE_WAIT_FOR_SUMMARY",
    "FI_GATE_CALLS",
    "FI_GATE_STEP_SUMMARY",
    "FI_GATE_ALLOW_INSECURE_HTTP",
)
ENUMS = {"FI_GATE_SELECT": "newest", "FI_GATE_ON_API_ERROR": "ignore"}
POLICY = "version: 1\ndefaults: {min_pass_rate: 0, min_avg_score: 0}\n"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        *((n, v) for n, v in ENUMS.items()),
        *((n, "maybe") for n in BOOLEANS),
        ("FI_GATE_CALLS", "2"),
    ],
)
def test_a_bad_value_in_the_environment_is_exit_2_naming_the_variable(
    tmp_path: Path, name: str, value: str
) -> None:
    policy = write_policy(tmp_path, POLICY)
    report = tmp_path / "r.json"
    result = run(
        ["check", "--policy", policy, "--from-file", str(SEED), "--report", str(report)],
        env={name: value},
    )
    assert result.code == 2, result
    assert result.err.startswith(f"fi-gate: error: {name}={value!r}"), result.err
    assert '"exit_code": 2' in report.read_text()
    attack("environment values", f"{name}={value}", "exit 2 naming the variable")


@pytest.mark.parametrize("word", ["true", "TRUE", "1", "yes", "Yes", "on", "ON"])
def test_every_true_word_is_read_as_true(word: str) -> None:
    assert capture({"FI_GATE_CALLS": word}).flag("FI_GATE_CALLS") is True


@pytest.mark.parametrize("word", ["false", "False", "0", "no", "NO", "off", "", "  "])
def test_every_false_word_and_empty_is_read_as_false(word: str) -> None:
    assert capture({"FI_GATE_CALLS": word}).flag("FI_GATE_CALLS") is False


def test_an_unlisted_name_cannot_be_read() -> None:
    env = capture({"FI_GATE_SOMETHING_NEW": "x", "HOME": "/root"})
    with pytest.raises(AssertionError, match="not declared"):
        env.text("FI_GATE_SOMETHING_NEW")
    assert "HOME" not in env.names  # nothing undeclared is even kept


def _names_in_source() -> set[str]:
    """Every string constant in gate/ that looks like one of fi-gate's variables."""
    found: set[str] = set()
    for path in (ROOT / "gate").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"(FI|GITHUB)_[A-Z_]+", node.value)
            ):
                found.add(node.value)
    return found


def test_every_variable_the_code_names_is_listed_or_an_output() -> None:
    outputs = set(_dotenv_names())
    unlisted = _names_in_source() - reads() - outputs
    assert unlisted == set(), f"read but not in gate.reads(): {unlisted}"


def _dotenv_names() -> list[str]:
    v = verdict_of(POLICY, SEED, NOW)
    return [line.split("=", 1)[0] for line in dotenv.render(GateResult((v,))).splitlines()]


def test_no_output_defines_a_variable_fi_gate_reads() -> None:
    """GitLab hands dotenv variables to later jobs: a second gate there must not read the
    first one's execution (or verdict) as its own input."""
    names = _dotenv_names()
    assert "FI_GATE_JUDGED_EXECUTION_ID" in names
    assert set(names).isdisjoint(reads())
    attack("outputs as inputs", "dotenv read by a later gate", "no output defines a variable read")
    # GitHub step outputs are read as `steps.<id>.outputs.<name>`, never as variables.
    outputs = github.outputs(GateResult((verdict_of(POLICY, SEED, NOW),)), {})
    keys = {line.split("<<", 1)[0] for line in outputs.splitlines() if "<<" in line}
    assert {k.upper().replace("-", "_") for k in keys}.isdisjoint(reads())
