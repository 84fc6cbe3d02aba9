"""What a schema cannot say well, checked on a policy whose shape is valid: rates written as
fractions, a rule with nothing to judge, a gate that judges nothing, a run test listed twice,
`baseline.scenarios` under a rule of another output type. Used by policy.py."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from gate import yamldoc
from gate.metrics import METRICS, PASS_FAIL
from gate.policy_messages import dotted
from gate.rules import CHOICE_KEYS, RATE_KEYS, is_off, sets_threshold


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _rate_places(data: Mapping[str, Any]) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every percentage in the policy, with its path."""
    defaults = data.get("defaults")
    if isinstance(defaults, dict):
        for k in RATE_KEYS:
            if k in defaults:
                yield ("defaults", k), defaults[k]
    evals = data.get("evals")
    if not isinstance(evals, dict):
        return
    for name, rule in evals.items():
        if not isinstance(rule, dict):
            continue
        yield from _threshold_places(("evals", name), rule)
        configs = rule.get("configs")
        if isinstance(configs, dict):
            for cname, crule in configs.items():
                if isinstance(crule, dict):
                    yield from _threshold_places(("evals", name, "configs", cname), crule)


def _threshold_places(
    base: tuple[Any, ...], rule: Mapping[str, Any]
) -> Iterator[tuple[tuple[Any, ...], Any]]:
    for k in RATE_KEYS:
        if k in rule:
            yield (*base, k), rule[k]
    for k in CHOICE_KEYS:
        choices = rule.get(k)
        if isinstance(choices, dict):
            for choice, v in choices.items():
                yield (*base, k, choice), v


def _rule_tables(data: Mapping[str, Any]) -> Iterator[tuple[tuple[Any, ...], Mapping[str, Any]]]:
    """Every table of eval rules: `evals`, and each run test's own `evals`."""
    if isinstance(data.get("evals"), dict):
        yield ("evals",), data["evals"]
    for index, entry in enumerate(data.get("run_tests") or []):
        if isinstance(entry, dict) and isinstance(entry.get("evals"), dict):
            yield ("run_tests", index, "evals"), entry["evals"]


NO_THRESHOLD = (
    "the rule sets no threshold and `defaults` has none to inherit; add "
    + ", ".join(m.key for m in METRICS[:-1])
    + f" or {METRICS[-1].key} (or `level: off` to leave it ungated)"
)


def judging_problems(doc: yamldoc.Document) -> Iterator[tuple[int | None, str]]:
    """A gate that judges nothing never passes: every rule has a threshold (its own, its eval
    rule's, or one inherited from `defaults`), and the policy gates at least one eval."""
    data = doc.data
    defaults = data.get("defaults")
    defaults = defaults if isinstance(defaults, dict) else {}
    default_off = is_off(defaults)
    has_defaults = not default_off and any(k in defaults for k in RATE_KEYS)
    live_rules = 0
    for at, table in _rule_tables(data):
        for name, rule in table.items():
            if is_off(rule) or (default_off and isinstance(rule, dict) and "level" not in rule):
                continue
            live_rules += 1
            configs = rule.get("configs") if isinstance(rule.get("configs"), dict) else {}
            own = sets_threshold(rule)
            if not own and not configs and not has_defaults:
                yield doc.line_of((*at, name), key=True), f"{dotted((*at, name))}: {NO_THRESHOLD}"
            for cname, crule in configs.items():
                if is_off(crule) or own or has_defaults or sets_threshold(crule):
                    continue
                path = (*at, name, "configs", cname)
                yield doc.line_of(path, key=True), f"{dotted(path)}: {NO_THRESHOLD}"
    if not live_rules and not has_defaults:
        yield (
            doc.line_of(("version",), key=True) or 1,
            "the policy gates no eval, and a gate that judges nothing never passes: add "
            "`defaults: {min_pass_rate: 80}` or a rule under `evals:`",
        )
    seen: dict[str, int] = {}
    for index, entry in enumerate(data.get("run_tests") or []):
        named: Any = entry.get("name") if isinstance(entry, dict) else entry
        if not isinstance(named, str):
            continue
        if named in seen:
            yield (
                doc.line_of(("run_tests", index)),
                f"run_tests[{index}]: '{named}' is already listed at run_tests[{seen[named]}]; "
                "keep one entry per run test (merge their rules)",
            )
        else:
            seen[named] = index


def semantic_problems(doc: yamldoc.Document) -> Iterator[tuple[int | None, str]]:
    """What a schema cannot say well: rates written as fractions, rules that judge nothing."""
    data = doc.data
    for path, value in _rate_places(data):
        if _is_number(value) and (0 < value < 1 or (isinstance(value, float) and value == 1)):
            guess = round(value * 100, 2)
            guess_text = f"{guess:g}"
            yield (
                doc.line_of(path),
                f"{dotted(path)}: {value} looks like a fraction; rates are percentages "
                f"from 0 to 100 (did you mean {guess_text}?)",
            )
    yield from _scenarios_problems(doc)
    execution = data.get("execution")
    if isinstance(execution, dict):
        mfc = execution.get("max_failed_calls")
        if isinstance(mfc, str) and re.fullmatch(r"\s*[0-9.]+\s*%\s*", mfc):
            pct = float(mfc.strip().rstrip("%"))
            if pct > 100:
                yield (
                    doc.line_of(("execution", "max_failed_calls")),
                    f"execution.max_failed_calls: {mfc!r} is more than 100%",
                )


def _scenarios_problems(doc: yamldoc.Document) -> Iterator[tuple[int | None, str]]:
    """`baseline.scenarios` compares Pass/Fail outcomes: written in a rule whose thresholds
    gate another type of eval, it is a mistake (inherited from the top level, it simply does
    not apply to such an eval)."""
    evals = doc.data.get("evals")
    for name, rule in evals.items() if isinstance(evals, dict) else ():
        baseline = rule.get("baseline") if isinstance(rule, dict) else None
        if not isinstance(baseline, dict) or "scenarios" not in baseline:
            continue
        other = [m for m in METRICS if m.output_type != PASS_FAIL and rule.get(m.key) is not None]
        if other:
            yield (
                doc.line_of(("evals", name, "baseline", "scenarios")),
                f"evals.{name}.baseline.scenarios: the per-scenario comparison applies to "
                f"Pass/Fail evals, and this rule gates a {other[0].output_type} eval "
                f"({other[0].key}); remove scenarios from it",
            )
