"""Typed rules from a validated policy document: thresholds and levels inherited as the policy
reference says (docs/policy.md). Used by policy.py once the document has no problem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from gate import yamldoc
from gate.rules import (
    Baseline,
    ConfigRule,
    EvalRule,
    ExecutionRules,
    Level,
    Policy,
    ScenarioRule,
    Thresholds,
    level_of,
    parse_duration,
)


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
            level_of(scenarios.get("level"), "error") if "level" in scenarios else None,
        )
        if isinstance(scenarios, dict)
        else base.scenarios,
    )


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
        level = level_of(rule.get("level"), default_level)
        own = Thresholds.of(rule, base)
        configs = []
        for cname, crule in (rule.get("configs") or {}).items():
            mine = Thresholds.of(crule, own)
            if mine.empty and not own.empty:  # a config rule without thresholds: its eval's
                mine = replace(own, confidence=mine.confidence, min_cells=mine.min_cells)
            configs.append(
                ConfigRule(
                    name=cname,
                    thresholds=mine,
                    level=level_of(crule.get("level"), level),
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


def build(doc: yamldoc.Document, source: str) -> Policy:
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
    default_level = level_of(defaults.get("level"), "error")
    base = Thresholds.of(defaults)
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
