"""Property-based tests: generated policies and API responses never crash the gate, and the
verdict obeys the invariants a user relies on."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.api import newest
from gate.errors import ApiError, ConfigError
from gate.evaluate import evaluate
from gate.model import ExecutionRef, parse_execution
from gate.policy import parse_policy
from gate.verdict import EXIT_BY_VERDICT
from tests.conftest import run
from tests.figures import counter

NOW = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)
FAST = settings(
    derandomize=True, deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow]
)
SLOW = settings(
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

KEYS = [
    "version",
    "run_test",
    "execution",
    "defaults",
    "evals",
    "configs",
    "level",
    "min_pass_rate",
    "min_avg_score",
    "min_choice_rate",
    "max_choice_rate",
    "max_failed_calls",
    "min_completed_calls",
    "max_age",
    "Coherence",
    "Tone*",
    "is_helpful",
    "min_pass_rat",
    "x",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 1000),
    st.floats(allow_nan=True),
    st.sampled_from(["off", "warn", "error", "24h", "10%", "0.5", "", "[", "*", "é", "\x00"]),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)
policies = st.dictionaries(st.sampled_from(KEYS), values, max_size=6).map(
    lambda d: {"version": 1, **d} if random.Random(str(d)).random() < 0.7 else d
)


def _yaml(data: Any) -> str:
    try:
        return yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        return "version: 1\n"


@FAST
@given(policies)
def test_generated_policies_load_or_fail_with_located_messages(data: dict[str, Any]) -> None:
    counter(
        "fuzz",
        "generated policies (valid and misspelled keys, any values)",
        FAST.max_examples,
        "loaded, or ConfigError with file:line on every line",
    )
    try:
        policy = parse_policy(_yaml(data), "p.yml")
    except ConfigError as exc:
        for line in str(exc).splitlines():
            assert line.startswith("p.yml"), line
    else:
        assert policy.version == 1


def _policy_or_located_error(source: str | bytes, case: str) -> None:
    counter("fuzz", case, FAST.max_examples, "loaded, or a located ConfigError")
    try:
        parse_policy(source, "p.yml")
    except ConfigError as exc:
        assert str(exc).startswith("p.yml")


@FAST
@given(st.text(max_size=200))
def test_arbitrary_text_is_a_policy_or_a_config_error(text: str) -> None:
    _policy_or_located_error(text, "arbitrary text as a policy")


@FAST
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_a_policy_or_a_config_error(raw: bytes) -> None:
    _policy_or_located_error(raw, "arbitrary bytes as a policy")


# --- generated executions ----------------------------------------------------------------------

names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
percent = st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 2))
thresholds = st.integers(0, 100)  # a policy's 0 < x < 1 is refused as a fraction


@st.composite
def eval_results(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["Pass/Fail", "score", "choices", "unknown"]))
    configs = []
    for cname in draw(st.lists(names, min_size=1, max_size=3, unique=True)):
        cells = draw(st.integers(0, 50))
        out: dict[str, Any] = {}
        entry: dict[str, Any] = {"name": cname, "id": "c", "total_cells": cells, "output": out}
        if cells and kind == "Pass/Fail":
            p = draw(percent)
            out.update(pass_=p)
            out["pass"] = out.pop("pass_")
            out["fail"] = round(100 - p, 2)
        elif cells and kind == "score":
            entry["avg_score"] = draw(percent)
        elif cells and kind == "choices":
            out.update(
                draw(
                    st.dictionaries(
                        st.sampled_from(["Positive", "Negative", "Neutral"]), percent, max_size=3
                    )
                )
            )
        configs.append(entry)
    result: dict[str, Any] = {
        "name": draw(st.sampled_from(["Coherence", "Tone", "CSAT", "Mood"])),
        "output_type": kind,
        "result": configs,
    }
    if kind == "Pass/Fail":
        result["total_pass_rate"] = draw(percent)
    elif kind == "score":
        result["total_avg"] = draw(percent)
    elif kind == "choices":
        result["total_choices_avg"] = draw(
            st.dictionaries(st.sampled_from(["Positive", "Negative"]), percent, max_size=2)
        )
    return result


@st.composite
def executions(draw: st.DrawFn) -> dict[str, Any]:
    total = draw(st.integers(0, 100))
    failed = draw(st.integers(0, total))
    evals = draw(st.lists(eval_results(), max_size=5))
    seen: set[str] = set()
    unique = [e for e in evals if not (e["name"] in seen or seen.add(e["name"]))]  # type: ignore[func-returns-value]
    return {
        "execution_id": "6f1c2a8e-3b7d-4e59-9a41-2c8d5e7f9b10",
        "status": draw(
            st.sampled_from(
                ["completed"] * 6 + ["failed", "cancelled", "running", "pending", "evaluating"]
            )
        ),
        "started_at": "2026-11-28T08:00:00Z",
        "completed_at": draw(st.sampled_from([None, "2026-11-28T09:00:00Z"])),
        "total_calls": total,
        "completed_calls": total - failed,
        "failed_calls": failed,
        "eval_results": unique,
    }


def _mutate(data: Any, rng: random.Random) -> Any:
    """Break one thing in a response: a wrong type, a missing key, a null, a string number."""
    if isinstance(data, dict) and data:
        key = rng.choice(list(data))
        choice = rng.random()
        copy = dict(data)
        if choice < 0.25:
            del copy[key]
        elif choice < 0.5:
            copy[key] = None
        elif choice < 0.75:
            copy[key] = str(copy[key])
        else:
            copy[key] = _mutate(copy[key], rng)
        return copy
    if isinstance(data, list) and data:
        i = rng.randrange(len(data))
        return [*data[:i], _mutate(data[i], rng), *data[i + 1 :]]
    return rng.choice([None, "x", -1, [], {}, 1e308, True])


POLICY_TEXT = (
    "version: 1\nexecution: {max_failed_calls: 10%}\n"
    "defaults: {min_pass_rate: 80, min_avg_score: 70}\n"
    "evals:\n  Mood: {min_choice_rate: {Positive: 50}, max_choice_rate: {Negative: 20}}\n"
    "  'T*': {min_pass_rate: 60, level: warn}\n"
)


@SLOW
@given(executions(), st.integers(0, 2**32), st.booleans())
def test_generated_responses_end_in_a_documented_exit_code(
    tmp_path_factory: Any, execution: dict[str, Any], seed: int, broken: bool
) -> None:
    counter(
        "fuzz",
        "generated and mutated API responses through the CLI",
        SLOW.max_examples,
        "exit 0, 1, 3 or 4 with one line; never a traceback",
    )
    tmp = tmp_path_factory.mktemp("gen")
    body = _mutate(execution, random.Random(seed)) if broken else execution
    saved = tmp / "e.json"
    saved.write_text(json.dumps({"status": True, "result": body}))
    policy = tmp / "p.yml"
    policy.write_text(POLICY_TEXT)
    result = run(["check", "--policy", str(policy), "--from-file", str(saved)])
    assert result.code in (0, 1, 3, 4), result
    assert "Traceback" not in result.err
    if result.code == 3:  # malformed or impossible: a response error, one line naming the field
        assert len(result.err.strip().splitlines()) == 1, result.err
        assert "result" in result.err or "impossible data" in result.err


@FAST
@given(executions(), st.integers(0, 2**32))
def test_mutated_responses_are_api_errors_or_judged(execution: dict[str, Any], seed: int) -> None:
    counter(
        "fuzz",
        "mutated API responses (wrong types, missing keys, nulls)",
        FAST.max_examples,
        "ApiError naming the field, or a verdict",
    )
    body = _mutate(execution, random.Random(seed))
    try:
        ex = parse_execution(body)
    except ApiError as exc:
        assert "unexpected shape" in str(exc) or "unreadable timestamp" in str(exc)
        return
    verdict = evaluate(parse_policy(POLICY_TEXT), ex, NOW)
    assert verdict.exit_code in (0, 1, 3, 4)
    if verdict.exit_code == 3:  # a mutation made the data impossible (1e308, -1): not judged
        assert verdict.message.startswith("impossible data")
        assert verdict.checks == ()


# --- invariants ---------------------------------------------------------------------------------


def _policy(threshold: float, level: str = "error") -> str:
    return (
        "version: 1\n"
        f"defaults: {{min_pass_rate: {threshold}, min_avg_score: {threshold}, level: {level}}}\n"
        f"evals:\n  Mood: {{min_choice_rate: {{Positive: {threshold}}}, "
        f"max_choice_rate: {{Negative: {100 - threshold}}}, level: {level}}}\n"
    )


@FAST
@given(executions(), thresholds, thresholds)
def test_raising_a_threshold_never_turns_a_fail_into_a_pass(
    execution: dict[str, Any], a: float, b: float
) -> None:
    counter(
        "fuzz",
        "invariant: raising a threshold never turns a fail into a pass",
        FAST.max_examples,
        "held",
    )
    low, high = sorted((a, b))
    ex = parse_execution(execution)
    loose = evaluate(parse_policy(_policy(low)), ex, NOW)
    strict = evaluate(parse_policy(_policy(high)), ex, NOW)
    if loose.exit_code == 1:
        assert strict.exit_code == 1
    assert len(strict.failed_checks) >= len(loose.failed_checks)


@FAST
@given(executions(), thresholds)
def test_a_warn_level_never_changes_the_exit_code(execution: dict[str, Any], t: float) -> None:
    counter(
        "fuzz", "invariant: a warn level never changes the exit code", FAST.max_examples, "held"
    )
    ex = parse_execution(execution)
    warned = evaluate(parse_policy(_policy(t, level="warn")), ex, NOW)
    # Only the execution's own checks (its status, its failed calls, whether anything was
    # judged at all) can block: never an eval check at level warn.
    assert all(c.kind == "execution" for c in warned.failed_checks)
    assert warned.exit_code == (1 if warned.failed_checks else EXIT_BY_VERDICT[warned.verdict])


@FAST
@given(executions(), thresholds, st.randoms(use_true_random=False))
def test_the_verdict_does_not_depend_on_the_order_of_evals(
    execution: dict[str, Any], t: float, rng: random.Random
) -> None:
    counter(
        "fuzz",
        "invariant: the verdict does not depend on the order of evals",
        FAST.max_examples,
        "held",
    )
    policy = parse_policy(_policy(t))
    shuffled = dict(
        execution,
        eval_results=rng.sample(execution["eval_results"], len(execution["eval_results"])),
    )
    one = evaluate(policy, parse_execution(execution), NOW)
    two = evaluate(policy, parse_execution(shuffled), NOW)
    assert (one.verdict, one.exit_code) == (two.verdict, two.exit_code)
    assert sorted(map(repr, one.checks)) == sorted(map(repr, two.checks))


@FAST
@given(
    st.lists(st.integers(0, 10_000), min_size=1, max_size=20, unique=True),
    st.randoms(use_true_random=False),
)
def test_the_newest_execution_does_not_depend_on_list_order(
    minutes: list[int], rng: random.Random
) -> None:
    counter(
        "fuzz",
        "invariant: the newest execution does not depend on list order",
        FAST.max_examples,
        "held",
    )
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    refs = [ExecutionRef(f"e{m}", "completed", base + timedelta(minutes=m), None) for m in minutes]
    assert newest(refs) == newest(rng.sample(refs, len(refs)))
    assert newest(refs).execution_id == f"e{max(minutes)}"
