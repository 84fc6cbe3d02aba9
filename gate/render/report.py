"""The JSON report (schema_version 1), for machines. Its JSON Schema ships in gate/schemas."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from gate import __version__
from gate.render.common import json_safe
from gate.verdict import CallsSummary, Check, Cluster, GateResult, ScenarioChange, Verdict

SCHEMA_VERSION = 1


def _time(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def _check(c: Check) -> dict[str, Any]:
    return {
        "name": c.name,
        "config": c.config,
        "kind": c.kind,
        "metric": c.metric,
        "op": c.op or None,
        "observed": c.observed,
        "threshold": c.threshold,
        "level": c.level,
        "status": c.status,
        "n": c.n,
        "output_type": c.output_type,
        "message": c.message,
        "interval": list(c.interval) if c.interval else None,
        "interval_source": c.interval_source,
        "pass_count": c.passes,
        "confidence": c.confidence,
        "cells_needed": c.cells_needed,
        "baseline_value": c.baseline_value,
        "baseline_execution": c.baseline_execution,
    }


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
    return {
        "eval": cl.eval_name,
        "name": cl.name,
        "kind": cl.kind,
        "size": cl.size,
        "description": cl.description,
        "issues": list(cl.issues),
        "guidance": cl.guidance,
        "confidence": cl.confidence,
        "call_ids": list(cl.call_ids),
    }


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
