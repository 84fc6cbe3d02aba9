"""The policy: load a YAML file, validate it against the shipped JSON Schema, build typed rules.

Every problem becomes a ConfigError whose message names the file, the line and the path, e.g.
``fi-gate.yml:12: evals.Coherence.min_pass_rate: 150 is greater than the maximum of 100``.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gate import files, yamldoc
from gate.errors import ConfigError
from gate.hints import did_you_mean
from gate.metrics import METRICS, PASS_FAIL

if TYPE_CHECKING:
    from gate.console import Console

Level = Literal["error", "warn", "off"]
GLOB_CHARS = frozenset("*?[")
MAX_ERRORS = 20
# The threshold keys, from the table of threshold kinds: a rate or score, or one per choice.
RATE_KEYS = tuple(m.key for m in METRICS if not m.per_choice)
CHOICE_KEYS = tuple(m.key for m in METRICS if m.per_choice)


@dataclass(frozen=True)
class Thresholds:
    """What one check compares against, in the API's units (0-100): by threshold key (a row of
    `gate.metrics.METRICS`), a number, or ((choice, number), ...) for a per-choice kind."""

    limits: Mapping[str, Any] = field(default_factory=dict)
    confidence: float | None = None
    min_cells: int | None = None

    def limit(self, key: str) -> Any:
        return self.limits.get(key)

    @property
    def empty(self) -> bool:
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


@cache
def schema() -> dict[str, Any]:
    """The policy JSON Schema shipped with the package."""
    text = resources.files("gate.schemas").joinpath("policy.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_policy(path: str | Path) -> Policy:
    """Read, validate and build the policy at `path`."""
    p = Path(path)
    try:
        raw = files.read_regular(p, yamldoc.MAX_BYTES)
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{p}: policy file not found; write one from your run test's recent executions "
            "with `fi-gate init --run-test NAME` (or see `fi-gate demo`), or point to yours "
            "with --policy or FI_GATE_POLICY"
        ) from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{p}: is a directory, not a policy file") from exc
    except files.Refused as exc:
        raise ConfigError(f"{p}: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the policy file: {exc.strerror}") from exc
    return parse_policy(raw, str(p))


def parse_policy(raw: bytes | str, source: str = "<policy>") -> Policy:
    """Validate and build a policy from its text; `source` names it in messages."""
    try:
        text = yamldoc.decode(raw) if isinstance(raw, bytes) else raw
        doc = yamldoc.load(text)
    except yamldoc.YamlError as exc:
        where = source if exc.line is None else f"{source}:{exc.line}"
        if exc.column is not None:
            where += f":{exc.column}"
        raise ConfigError(f"{where}: {exc.message}") from exc
    if doc.data is None:
        raise ConfigError(
            f"{source}: the policy is empty; it needs at least `version: 1` "
            "(see policies/starter.yml)"
        )
    if not isinstance(doc.data, dict):
        # Never the value itself: a file that is not a policy may be anyone's secret.
        kind = _type_name(doc.data).split(" (")[0]
        raise ConfigError(
            f"{source}:1: the policy must be a mapping of keys (version, evals, ...), not {kind}"
        )
    if not set(doc.data) & set(schema()["properties"]):
        raise ConfigError(
            f"{source}:1: this is not an fi-gate policy (none of its keys is version, evals, "
            "defaults, ...); check --policy or FI_GATE_POLICY (see policies/starter.yml)"
        )
    problems = sorted(_problems(doc), key=lambda lp: (lp[0] or 0, lp[1]))
    if problems:
        lines = [
            f"{source}:{line}: {msg}" if line else f"{source}: {msg}" for line, msg in problems
        ]
        if len(lines) > MAX_ERRORS:
            lines = [*lines[:MAX_ERRORS], f"{source}: ... and {len(lines) - MAX_ERRORS} more"]
        raise ConfigError("\n".join(lines))
    return _build(doc, source)


def _problems(doc: yamldoc.Document) -> Iterator[tuple[int | None, str]]:
    import jsonschema  # imported here: `fi-gate --version` should not pay for it

    validator = jsonschema.Draft202012Validator(schema())
    seen: set[tuple[Any, ...]] = set()
    for error in validator.iter_errors(doc.data):
        for leaf in _leaves(error):
            path = tuple(leaf.absolute_path)
            line, msg = _describe(leaf, path, doc)
            key = (path, msg)
            if key not in seen:
                seen.add(key)
                yield line, msg
    others = list(_semantic_problems(doc))
    yield from others
    if not seen and not others:  # what the policy judges, once its values are right
        yield from _judging_problems(doc)


def _json_types(value: Any) -> set[str]:
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int):
        return {"integer", "number"}
    if isinstance(value, float):
        return {"number", "integer"} if value.is_integer() else {"number"}
    if isinstance(value, str):
        return {"string"}
    if isinstance(value, dict):
        return {"object"}
    if isinstance(value, list):
        return {"array"}
    return {"null"}


def _branch_types(branch: Mapping[str, Any]) -> set[str]:
    if "type" in branch:
        t = branch["type"]
        return set(t) if isinstance(t, list) else {t}
    values = branch.get("enum", [branch["const"]] if "const" in branch else [])
    return set().union(*(_json_types(v) for v in values)) if values else set()


def _leaves(error: Any) -> Iterator[Any]:
    """The errors that say something: for anyOf, those of the branch that fits the value's type."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        kinds = _json_types(error.instance)
        fitting = {i for i, b in enumerate(error.validator_value) if _branch_types(b) & kinds}
        chosen = [e for e in error.context if e.relative_schema_path[0] in fitting]
        if chosen:
            for e in chosen:
                yield from _leaves(e)
            return
    yield error


def _dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _describe(error: Any, path: tuple[Any, ...], doc: yamldoc.Document) -> tuple[int | None, str]:
    where = _dotted(path)
    line = doc.line_of(path)
    v = error.validator
    if v == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
        key = extra[0] if extra else "?"
        line = doc.line_of((*path, key), key=True)
        hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        tail = f"; did you mean '{hint[0]}'?" if hint else f" (allowed: {', '.join(allowed)})"
        return line, f"{_dotted((*path, key))}: unknown key '{key}'{tail}"
    if v == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else "?"
        fix = " (add `version: 1` at the top)" if name == "version" else ""
        return line or 1, f"{_dotted((*path, name))}: required key is missing{fix}"
    if v == "const" and path == ("version",):
        return line, f"version: {error.instance!r} is not supported; this fi-gate reads version 1"
    if v == "enum":
        names = [str(o) for o in error.validator_value if isinstance(o, str)]
        close = did_you_mean(str(error.instance), names, cutoff=0.6)
        return line, f"{where}: {error.instance!r} is not one of {', '.join(names)}{close}"
    if v in ("maximum", "exclusiveMaximum") and path and path[-1] == "confidence":
        value = error.instance
        guess = f"; did you mean {value / 100:g}?" if 1 < value < 100 else ""
        return line, f"{where}: {value!r} is not a confidence level above 0.5 and below 1{guess}"
    if v == "pattern" and path and path[-1] == "max_age":
        return line, f"{where}: {error.instance!r} is not a duration like 90s, 30m, 24h or 7d"
    if v == "pattern" and path and path[-1] == "max_failed_calls":
        return line, f'{where}: {error.instance!r} is not a count (3) or a percent ("10%")'
    if v == "type":
        expected = error.validator_value
        return line, f"{where}: expected {_an(expected)}, got {_type_name(error.instance)}" + (
            _percent_hint(error.instance)
        )
    if v == "minProperties":
        return line, f"{where}: must name at least one choice, e.g. {{Positive: 60}}"
    if v in ("anyOf", "oneOf") and path and path[-1] == "max_failed_calls":
        return line, f'{where}: {error.instance!r} is not a count (3) or a percent ("10%")'
    if v in ("anyOf", "oneOf"):
        words = []
        for branch in error.validator_value:
            if branch.get("type") == "object":
                words.append("a mapping of thresholds")
            elif "enum" in branch:
                words.append(" or ".join(repr(o) for o in branch["enum"] if isinstance(o, str)))
            elif "type" in branch:
                words.append(_an(branch["type"]))
        return line, f"{where}: expected {' or '.join(words)}, got {_type_name(error.instance)}"
    return line, f"{where}: {error.message}"


def _percent_hint(value: Any) -> str:
    """`"80%"` where a number was expected: say to drop the sign."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*%\s*", value) if isinstance(value, str) else None
    return f"; write {m.group(1)} (rates are percentages, without the % sign)" if m else ""


def _an(expected: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    words = {
        "object": "a mapping",
        "array": "a list",
        "string": "text",
        "number": "a number",
        "integer": "a whole number",
        "boolean": "true or false",
        "null": "nothing",
    }
    return " or ".join(words.get(str(n), str(n)) for n in names)


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    return f"text ({value!r})"


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


def _is_off(rule: Any) -> bool:
    """A rule (or `defaults`) switched off: `off`, `false` or `level: off`."""
    return not isinstance(rule, dict) or rule.get("level") in ("off", False)


def _has_threshold(rule: Mapping[str, Any]) -> bool:
    return any(k in rule for k in (*RATE_KEYS, *CHOICE_KEYS))


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


def _judging_problems(doc: yamldoc.Document) -> Iterator[tuple[int | None, str]]:
    """A gate that judges nothing never passes: every rule has a threshold (its own, its eval
    rule's, or one inherited from `defaults`), and the policy gates at least one eval."""
    data = doc.data
    defaults = data.get("defaults")
    defaults = defaults if isinstance(defaults, dict) else {}
    default_off = _is_off(defaults)
    has_defaults = not default_off and any(k in defaults for k in RATE_KEYS)
    live_rules = 0
    for at, table in _rule_tables(data):
        for name, rule in table.items():
            if _is_off(rule) or (default_off and isinstance(rule, dict) and "level" not in rule):
                continue
            live_rules += 1
            configs = rule.get("configs") if isinstance(rule.get("configs"), dict) else {}
            own = _has_threshold(rule)
            if not own and not configs and not has_defaults:
                yield doc.line_of((*at, name), key=True), f"{_dotted((*at, name))}: {NO_THRESHOLD}"
            for cname, crule in configs.items():
                if _is_off(crule) or own or has_defaults or _has_threshold(crule):
                    continue
                path = (*at, name, "configs", cname)
                yield doc.line_of(path, key=True), f"{_dotted(path)}: {NO_THRESHOLD}"
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


def _semantic_problems(doc: yamldoc.Document) -> Iterator[tuple[int | None, str]]:
    """What a schema cannot say well: rates written as fractions, rules that judge nothing."""
    data = doc.data
    for path, value in _rate_places(data):
        if _is_number(value) and (0 < value < 1 or (isinstance(value, float) and value == 1)):
            guess = round(value * 100, 2)
            guess_text = f"{guess:g}"
            yield (
                doc.line_of(path),
                f"{_dotted(path)}: {value} looks like a fraction; rates are percentages "
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


def _level(value: Any, inherited: Level) -> Level:
    if value is None:
        return inherited
    if value is False or value == "off":
        return "off"
    return "warn" if value == "warn" else "error"


def _thresholds(rule: Mapping[str, Any], inherited: Thresholds | None = None) -> Thresholds:
    """A rule's thresholds; `confidence` and `min_cells` are inherited from `inherited`."""

    def rates(key: str) -> tuple[tuple[str, float], ...]:
        return tuple((str(k), float(v)) for k, v in (rule.get(key) or {}).items())

    def num(key: str) -> float | None:
        v = rule.get(key)
        return None if v is None else float(v)

    return Thresholds(
        limits={m.key: rates(m.key) if m.per_choice else num(m.key) for m in METRICS},
        confidence=num("confidence")
        if inherited is None
        else num("confidence") or inherited.confidence,
        min_cells=rule.get("min_cells")
        if inherited is None
        else rule.get("min_cells") or inherited.min_cells,
    )


_DURATION = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _baseline(raw: Any, inherited: Baseline | None = None) -> Baseline | None:
    if not isinstance(raw, dict):
        return inherited
    base = inherited or Baseline()
    max_drop = raw.get("max_drop")
    scenarios = raw.get("scenarios")
    return Baseline(
        compare_to=str(raw.get("compare_to", base.compare_to)),
        max_drop=float(max_drop) if max_drop is not None else base.max_drop,
        scenarios=ScenarioRule(
            int(scenarios.get("max_regressed") or 0),
            _level(scenarios.get("level"), "error") if "level" in scenarios else None,
        )
        if isinstance(scenarios, dict)
        else base.scenarios,
    )


def parse_duration(text: str) -> float:
    """'90s', '30m', '24h', '7d' to seconds."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd])\s*", text)
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    return float(m.group(1)) * _DURATION[m.group(2)]


def _rules(
    doc: yamldoc.Document,
    at: tuple[Any, ...],
    raw_rules: Mapping[str, Any],
    base: Thresholds,
    default_level: Level,
    top_baseline: Baseline | None,
) -> list[EvalRule]:
    rules = []
    for name, raw_rule in raw_rules.items():
        rule: Mapping[str, Any] = raw_rule if isinstance(raw_rule, dict) else {"level": "off"}
        level = _level(rule.get("level"), default_level)
        own = _thresholds(rule, base)
        configs = []
        for cname, crule in (rule.get("configs") or {}).items():
            mine = _thresholds(crule, own)
            if mine.empty and not own.empty:  # a config rule without thresholds: its eval's
                mine = replace(own, confidence=mine.confidence, min_cells=mine.min_cells)
            configs.append(
                ConfigRule(
                    name=cname,
                    thresholds=mine,
                    level=_level(crule.get("level"), level),
                    line=doc.line_of((*at, name, "configs", cname), key=True),
                    inherits_defaults=mine.empty,
                )
            )
        rules.append(
            EvalRule(
                pattern=name,
                thresholds=own,
                level=level,
                configs=tuple(configs),
                line=doc.line_of((*at, name), key=True),
                baseline=_baseline(rule.get("baseline"), top_baseline),
                inherits_defaults=own.empty and not configs,
            )
        )
    return rules


def _build(doc: yamldoc.Document, source: str) -> Policy:
    data = doc.data
    ex = data.get("execution") or {}
    mfc = ex.get("max_failed_calls")
    max_age = ex.get("max_age")
    execution = ExecutionRules(
        max_failed_calls=mfc if isinstance(mfc, int) else None,
        max_failed_calls_percent=float(mfc.strip().rstrip("%")) if isinstance(mfc, str) else None,
        min_completed_calls=ex.get("min_completed_calls"),
        max_age_seconds=parse_duration(max_age) if max_age else None,
        max_age_text=max_age.strip() if max_age else None,
    )
    defaults = data.get("defaults") or {}
    default_level = _level(defaults.get("level"), "error")
    base = _thresholds(defaults)
    top_baseline = _baseline(data.get("baseline"))
    rules = _rules(doc, ("evals",), data.get("evals") or {}, base, default_level, top_baseline)
    run_tests: list[tuple[str, tuple[EvalRule, ...]]] = []
    for index, entry in enumerate(data.get("run_tests") or []):
        if isinstance(entry, str):
            run_tests.append((entry, ()))
        else:
            path = ("run_tests", index, "evals")
            own = _rules(doc, path, entry.get("evals") or {}, base, default_level, top_baseline)
            run_tests.append((entry["name"], tuple(own)))
    return Policy(
        version=1,
        run_test=data.get("run_test"),
        execution=execution,
        defaults=base,
        baseline=_baseline(data.get("baseline")),
        trend=(data.get("trend") or {}).get("last", 10) if "trend" in data else None,
        max_calls=(data.get("evidence") or {}).get("max_calls"),
        run_tests=tuple(run_tests),
        default_level=default_level,
        evals=tuple(rules),
        source=source,
    )


def validate_command(paths: Sequence[str], console: Console, *, annotate: bool = False) -> int:
    """`fi-gate validate`: a line per problem (file:line: path: what), exit 0 or 2; with
    `annotate` (a GitHub job), each problem is also an annotation on its file and line."""
    from gate.console import stdout
    from gate.render.github import located_error

    code = 0
    for path in paths:
        try:
            policy = load_policy(path)
        except ConfigError as exc:
            for line in str(exc).splitlines():
                console.write_line(line)
                if annotate:
                    console.command(located_error(line))
            code = 2
        else:
            rules = len(policy.evals)
            stdout(f"{path}: ok (version 1, {rules} eval rule{'s' if rules != 1 else ''})\n")
    return code
