"""The JSON report (schema_version 1), for machines. Its JSON Schema ships in gate/schemas."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime
from typing import Any

from gate import __version__
from gate.render.common import json_safe
from gate.verdict import CallsSummary, Check, Cluster, GateResult, ScenarioChange, Verdict

SCHEMA_VERSION = 1


def _time(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def _record(obj: Any, renamed: dict[str, str], left_out: frozenset[str]) -> dict[str, Any]:
    """A dataclass as the report writes it: every field, by its report name, except those
    left out. A field added to the dataclass reaches the report (and its schema test)."""
    return {
        renamed.get(f.name, f.name): _plain(getattr(obj, f.name))
        for f in fields(obj)
        if f.name not in left_out
    }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# How a check is written: `passes` is `pass_count`; how it is shown and where it came from
# (unit, the policy line, the configs' positions and ids, min_cells) stay in the renderers.
CHECK_NAMES = {"passes": "pass_count"}
CHECK_LEFT_OUT = frozenset({"unit", "line", "config_index", "config_ids", "min_cells"})
CLUSTER_NAMES = {"eval_name": "eval"}
CLUSTER_LEFT_OUT = frozenset({"template"})


def _check(c: Check) -> dict[str, Any]:
    record = _record(c, CHECK_NAMES, CHECK_LEFT_OUT)
    record["op"] = c.op or None
    return record


def _scenario(r: ScenarioChange) -> dict[str, Any]:
    def counts(pair: tuple[int, int] | None) -> dict[str, int] | None:
        return None if pair is None else {"passed": pair[0], "n": pair[1]}

    return {
        "eval": r.eval,
        "config": r.config,
        "config_id": r.config_id,
        "scenario_id": r.scenario_id,
        "scenario_name": r.scenario_name,
        "baseline": counts(r.baseline),
        "current": counts(r.current),
        "p_value": r.p_value,
        "adjusted_p_value": r.adjusted_p_value,
        "status": r.status,
    }


def _cluster(cl: Cluster) -> dict[str, Any]:
    return _record(cl, CLUSTER_NAMES, CLUSTER_LEFT_OUT)


def _config_key(c: CallsSummary, config_id: str) -> str:
    """A config's name; with its id when another config of the calls has the same name."""
    name = c.config_names.get(config_id, config_id)
    shared = sum(1 for n in c.config_names.values() if n == name) > 1
    return f"{name} ({config_id})" if shared else name


def _calls(v: Verdict) -> dict[str, Any]:
    c = v.calls
    assert c is not None
    return {
        "read": c.calls,
        "by_status": dict(c.by_status),
        "failed_by_scenario": [{"scenario": s, "calls": n} for s, n in c.failed_by_scenario],
        "failing_examples": {
            _config_key(c, config_id): [
                {"call_id": e.call_id, "scenario": e.scenario, "reason": e.reason} for e in ex
            ]
            for config_id, ex in c.failing_examples.items()
        },
        "duplicates_skipped": c.duplicates,
    }


def _evidence(v: Verdict) -> dict[str, Any] | None:
    """`evidence:` (fi-gate run): the executions pooled, their calls, the budget."""
    if not v.pooled:
        return None
    return {
        "max_calls": v.max_calls,
        "calls": v.pooled_calls,
        "executions": [
            {
                "execution_id": p.execution_id,
                "status": p.status,
                "total_calls": p.total_calls,
                "link": p.link,
            }
            for p in v.pooled
        ],
    }


def as_dict(v: Verdict) -> dict[str, Any]:
    e = v.execution
    return {
        "schema_version": SCHEMA_VERSION,
        "verdict": v.verdict,
        "exit_code": v.exit_code,
        "message": v.message,
        "problems": list(v.problems),
        "run_test": v.run_test,
        "execution": None
        if e is None
        else {
            "execution_id": e.execution_id,
            "status": e.status,
            "started_at": _time(e.started_at),
            "completed_at": _time(e.completed_at),
            "total_calls": e.total_calls,
            "completed_calls": e.completed_calls,
            "failed_calls": e.failed_calls,
            "summary_status": e.summary_status,
        },
        "checks": [_check(c) for c in v.checks],
        "failed_checks": len(v.failed_checks),
        "undecided_checks": len(v.undecided_checks),
        "evidence": _evidence(v),
        "warnings": list(v.warnings),
        "not_gated": list(v.not_gated),
        "clusters": [_cluster(cl) for cl in v.clusters],
        "calls": None if v.calls is None else _calls(v),
        "trend": {name: list(values) for name, values in v.trend},
        "scenarios": [_scenario(r) for r in v.scenarios],
        "provenance": {
            "selection": v.selection,
            "commit": v.commit,
            "ref": v.ref,
            "link": v.link,
            "run_test_id": v.run_test_id,
            "executions": [p.execution_id for p in v.pooled] or None,
        },
        "source": v.source,
        "generated_at": _time(v.generated_at),
        "tool_version": __version__,
    }


def render(result: GateResult) -> str:
    """One run test: its verdict object; several: the overall verdict and one object each."""
    data = as_dict(result.verdicts[0]) if len(result.verdicts) == 1 else _many(result)
    return json_safe(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


def _many(result: GateResult) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "verdict": result.verdict,
        "exit_code": result.exit_code,
        "failed_checks": result.failed_checks,
        "undecided_checks": result.undecided_checks,
        "run_tests": [as_dict(v) for v in result.verdicts],
        "generated_at": _time(result.worst.generated_at),
        "tool_version": __version__,
    }
