"""Policy files: every example in tests/examples/{valid,invalid} and policies/ is checked."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jsonschema
import pytest

from gate.errors import ConfigError
from gate.policy import load_policy, parse_policy, schema
from gate.rules import parse_duration
from tests.conftest import ROOT, run
from tests.figures import attack

EXAMPLES = ROOT / "tests" / "examples"
JUDGING = {
    "gates-nothing": "judged nothing",
    "all-off": "judged nothing",
    "rule-without-threshold": "rules without a threshold",
    "empty-rule": "rules without a threshold",
    "level-only-rule": "rules without a threshold",
    "config-without-threshold": "rules without a threshold",
    "duplicate-run-test": "per-run-test rules",
}
INVALID = sorted((EXAMPLES / "invalid").glob("*.yml"))
VALID = sorted((EXAMPLES / "valid").glob("*.yml")) + sorted((ROOT / "policies").glob("*.yml"))


def _expected(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode()
    assert first.startswith("# expect: "), f"{path} needs a '# expect: ' first line"
    return first.removeprefix("# expect: ")


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_policy_is_one_clear_message(path: Path) -> None:
    expected = _expected(path)
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    if expected.startswith(":"):
        assert message.startswith(f"{path}{expected}"), message
    else:
        assert expected in message, message
    assert "Traceback" not in message


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_validate_command_reports_invalid_with_exit_2(path: Path) -> None:
    result = run(["validate", str(path)])
    assert result.code == 2
    assert result.err.startswith(str(path))
    assert result.out == ""
    if path.stem in JUDGING:
        attack(JUDGING[path.stem], f"policy {path.stem}", "validate: exit 2")


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_policies_load_and_match_the_published_schema(path: Path) -> None:
    policy = load_policy(path)
    assert policy.version == 1
    import yaml

    data = yaml.safe_load(path.read_text())
    jsonschema.Draft202012Validator(schema()).validate(data)
    result = run(["validate", str(path)])
    assert result.code == 0, result.err
    assert result.out.startswith(f"{path}: ok")


def test_schema_command_prints_the_schema() -> None:
    result = run(["schema"])
    assert result.code == 0
    assert json.loads(result.out) == schema()
    jsonschema.Draft202012Validator.check_schema(schema())


def test_several_problems_are_all_reported_in_line_order(tmp_path: Path) -> None:
    p = tmp_path / "p.yml"
    p.write_text("version: 1\nevals:\n  A: {min_pass_rate: 101}\n  B: {min_pass_rat: 5}\n")
    with pytest.raises(ConfigError) as info:
        load_policy(p)
    lines = str(info.value).splitlines()
    assert lines == [
        f"{p}:3: evals.A.min_pass_rate: 101 is greater than the maximum of 100",
        f"{p}:4: evals.B.min_pass_rat: unknown key 'min_pass_rat'; did you mean 'min_pass_rate'?",
    ]


def test_missing_file_names_the_fix(tmp_path: Path) -> None:
    """The fix a pip user can run (there is no policies/ folder outside a clone)."""
    with pytest.raises(ConfigError, match="policy file not found") as caught:
        load_policy(tmp_path / "nope.yml")
    assert "`fi-gate init --run-test NAME`" in str(caught.value)
    assert "policies/" not in str(caught.value)


def test_directory_is_not_a_policy(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_policy(tmp_path)


def test_alias_bomb_is_refused_quickly() -> None:
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="alias bomb"):
        load_policy(EXAMPLES / "invalid" / "alias-bomb.yml")
    # Generous: the point is that it does not expand 10^9 nodes.
    assert time.perf_counter() - start < 5


def test_rules_levels_and_globs_are_built_in_file_order() -> None:
    policy = parse_policy(
        "version: 1\n"
        "defaults: {min_pass_rate: 80, level: warn}\n"
        "evals:\n"
        "  'Tone*': {min_pass_rate: 75}\n"
        "  'T*': {min_pass_rate: 10, level: error}\n"
        "  Tone: off\n"
        "  is_helpful:\n"
        "    configs: {helpful_or_no: {min_pass_rate: 85, level: error}}\n"
    )
    assert policy.default_level == "warn"
    tone = policy.rule_for("Tone")
    assert tone is not None
    assert tone.pattern == "Tone"  # exact name wins over globs
    assert tone.level == "off"
    rule = policy.rule_for("Tones")
    assert rule is not None
    assert rule.pattern == "Tone*"  # first glob in file order
    assert rule.level == "warn"  # inherits the default level
    toxicity = policy.rule_for("Toxicity")
    assert toxicity is not None
    assert toxicity.pattern == "T*"
    assert policy.rule_for("Coherence") is None
    helpful = policy.rule_for("is_helpful")
    assert helpful is not None
    assert helpful.configs[0].level == "error"
    assert helpful.configs[0].thresholds.limit("min_pass_rate") == 85


def test_execution_rules() -> None:
    policy = parse_policy(
        "version: 1\nexecution: {max_failed_calls: '12.5%', min_completed_calls: 3, max_age: 2d}\n"
        "defaults: {min_pass_rate: 80}\n"
    )
    assert policy.execution.max_failed_calls_percent == 12.5
    assert policy.execution.max_failed_calls is None
    assert policy.execution.min_completed_calls == 3
    assert policy.execution.max_age_seconds == 2 * 86400
    count = parse_policy(
        "version: 1\nexecution: {max_failed_calls: 3}\ndefaults: {min_pass_rate: 80}\n"
    )
    assert count.execution.max_failed_calls == 3


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("30m", 1800), ("24h", 86400), ("1.5d", 129600)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
