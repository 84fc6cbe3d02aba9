"""The policy as fi-gate judges by it: typed rules, built by policy_build.py from a validated
file (policy.py loads it). Also the one definition of a rule that is off, of its level, and of a
rule that sets a threshold of its own, which validation (policy_checks.py) and building share.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from gate.metrics import METRICS

Level = Literal["error", "warn", "off"]
GLOB_CHARS = frozenset("*?[")
# The threshold keys, from the table of threshold kinds: a rate or score, or one per choice.
RATE_KEYS = tuple(m.key for m in METRICS if not m.per_choice)
CHOICE_KEYS = tuple(m.key for m in METRICS if m.per_choice)


def level_of(value: Any, inherited: Level) -> Level:
    """A `level:` as written (`off` or `false`, `warn`, `error`), or the inherited one."""
    if value is None:
        return inherited
    if value is False or value == "off":
        return "off"
    return "warn" if value == "warn" else "error"


def is_off(rule: Any) -> bool:
    """A rule (or `defaults`) switched off: `off`, `false`, or `level: off`."""
    return not isinstance(rule, dict) or level_of(rule.get("level"), "error") == "off"


@dataclass(frozen=True)
class Thresholds:
    """What one check compares against, in the API's units (0-100): by threshold key (a row of
    `gate.metrics.METRICS`), a number, or ((choice, number), ...) for a per-choice kind."""

    limits: Mapping[str, Any] = field(default_factory=dict)
    confidence: float | None = None
    min_cells: int | None = None

    @classmethod
    def of(cls, rule: Mapping[str, Any], inherited: Thresholds | None = None) -> Thresholds:
        """A rule's thresholds; `confidence` and `min_cells` are inherited from `inherited`."""

        def rates(key: str) -> tuple[tuple[str, float], ...]:
            return tuple((str(k), float(v)) for k, v in (rule.get(key) or {}).items())

        def num(key: str) -> float | None:
            v = rule.get(key)
            return None if v is None else float(v)

        confidence, min_cells = num("confidence"), rule.get("min_cells")
        if inherited is not None:
            confidence = confidence or inherited.confidence
            min_cells = min_cells or inherited.min_cells
        return cls(
            limits={m.key: rates(m.key) if m.per_choice else num(m.key) for m in METRICS},
            confidence=confidence,
            min_cells=min_cells,
        )

    def limit(self, key: str) -> Any:
        return self.limits.get(key)

    @property
    def empty(self) -> bool:
        """No threshold of its own: the one definition (validation asks it of the raw rule
        through `sets_threshold`; judging, of the built one, to inherit `defaults`)."""
        return all(v is None or v == () for v in self.limits.values())


@dataclass(frozen=True)
class ScenarioRule:
    """`baseline.scenarios`: the paired per-scenario comparison (Pass/Fail evals)."""

    max_regressed: int = 0  # scenarios allowed to regress significantly
    level: Level | None = None  # None: the rule's level


@dataclass(frozen=True)
class Baseline:
    compare_to: str = "previous"  # last-passing, previous, or an execution id
    max_drop: float | None = None
    scenarios: ScenarioRule | None = None


@dataclass(frozen=True)
class ConfigRule:
    name: str
    thresholds: Thresholds
    level: Level
    line: int | None = None
    # No threshold of its own nor of its eval rule: judged by `defaults` for the eval's type.
    inherits_defaults: bool = False


@dataclass(frozen=True)
class EvalRule:
    pattern: str
    thresholds: Thresholds
    level: Level
    configs: tuple[ConfigRule, ...] = ()
    line: int | None = None
    baseline: Baseline | None = None
    # No threshold of its own (`{}`, `{level: error}`, `{min_cells: 30}`) and no configs: its
    # eval is judged by `defaults` for its output type, never dropped from the gate.
    inherits_defaults: bool = False

    @property
    def is_glob(self) -> bool:
        return any(c in GLOB_CHARS for c in self.pattern)

    def matches(self, name: str) -> bool:
        if self.is_glob:
            return fnmatch.fnmatchcase(name, self.pattern)
        return name == self.pattern


@dataclass(frozen=True)
class ExecutionRules:
    max_failed_calls: int | None = None
    max_failed_calls_percent: float | None = None
    min_completed_calls: int | None = None
    max_age_seconds: float | None = None
    max_age_text: str | None = None


@dataclass(frozen=True)
class Policy:
    version: int = 1
    run_test: str | None = None
    execution: ExecutionRules = ExecutionRules()
    defaults: Thresholds = Thresholds()
    default_level: Level = "error"
    evals: tuple[EvalRule, ...] = ()
    source: str = "<policy>"
    baseline: Baseline | None = None
    trend: int | None = None
    run_tests: tuple[tuple[str, tuple[EvalRule, ...]], ...] = ()
    # `evidence.max_calls`: fi-gate run pools executions until each check is decided.
    max_calls: int | None = None

    def for_run_test(self, name: str) -> Policy:
        """The policy one run test of `run_tests` is judged by: its own rules come first."""
        own = next((rules for n, rules in self.run_tests if n == name), ())
        return replace(self, run_test=name, evals=own + self.evals, run_tests=())

    @property
    def run_test_names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.run_tests)

    @property
    def has_own_rules(self) -> bool:
        """Some run test of `run_tests` has rules of its own."""
        return any(rules for _, rules in self.run_tests)

    @property
    def compares_scenarios(self) -> bool:
        """Some baseline (the policy's, or a rule's) compares the executions by scenario."""
        return any(b is not None and b.scenarios is not None
                   for b in (self.baseline, *(r.baseline for r in self.evals)))  # fmt: skip

    @property
    def history_needed(self) -> int:
        """How many earlier executions the policy needs (baseline, trend); 0 for none."""
        wants_baseline = self.baseline is not None or any(r.baseline for r in self.evals)
        return max(self.trend or 0, 10 if wants_baseline else 0)

    def rule_for(self, eval_name: str) -> EvalRule | None:
        """The rule of the exact name, else the first glob that matches in file order."""
        for rule in self.evals:
            if not rule.is_glob and rule.pattern == eval_name:
                return rule
        for rule in self.evals:
            if rule.is_glob and rule.matches(eval_name):
                return rule
        return None


_DURATION = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """'90s', '30m', '24h', '7d' to seconds."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd])\s*", text)
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    return float(m.group(1)) * _DURATION[m.group(2)]


def sets_threshold(rule: Mapping[str, Any]) -> bool:
    """The raw rule sets a threshold of its own (`Thresholds.empty`, the one definition). One
    without is gated by what it inherits (its eval rule's thresholds, else `defaults`)."""
    return not Thresholds.of(rule).empty
