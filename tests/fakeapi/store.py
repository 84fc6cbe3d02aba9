"""The fake's data: run tests, executions and calls, and the server's aggregation over them.

Behaves like the Future AGI server described in ../shared/API-NOTES.md: eval results are computed
from call-level `eval_outputs` (only completed calls with outputs count; errored evals are left
out), per eval template and config, for Pass/Fail, score and choices.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

PERCENTILES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100)
KNOWN_TYPES = ("Pass/Fail", "score", "choices")


class ServerError(Exception):
    """The request makes the real server answer 500."""


@dataclass
class EvalConfig:
    id: str
    name: str


@dataclass
class EvalTemplate:
    id: str
    name: str
    output_type: str
    configs: list[EvalConfig]


@dataclass
class Call:
    call_execution_id: str
    scenario_name: str
    status: str
    eval_outputs: dict[str, dict[str, Any]]
    updated_at: datetime
    duration_seconds: int | None = 60
    scenario_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def summary(self) -> dict[str, Any]:
        return {
            "call_execution_id": self.call_execution_id,
            "scenario_id": self.scenario_id,
            "scenario_name": self.scenario_name,
            "status": self.status,
            "duration_seconds": self.duration_seconds,
            "eval_outputs": self.eval_outputs or {},
        }


@dataclass
class Execution:
    execution_id: str
    status: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    calls: list[Call]
    fma: Any = None
    fma_status: str = "completed"
    # Counts as the server stores them; default: derived from the calls.
    counts: dict[str, int] | None = None
    # An execution started through the API progresses over time (Store.advance).
    timeline: Timeline | None = None
    version: int = 0  # bumped whenever its calls change (the server's caches key on it)


@dataclass
class Timeline:
    """How a started execution moves: pending, then running (calls finish one by one), then
    evaluating (calls done, evals running), then its final status."""

    start: float  # time.monotonic() at the start request
    planned: list[Call]  # the calls it will have, finished (status and outputs as at the end)
    pending: float = 0.2
    running: float = 1.0
    evaluating: float = 0.2
    final: str = "completed"  # or "failed"
    started_at: datetime | None = None


@dataclass
class RunTest:
    id: str
    name: str
    templates: list[EvalTemplate]
    executions: list[Execution]
    scenarios: list[dict[str, str]] = field(default_factory=list)  # {id, name}
    deleted: bool = False
    created_at: datetime = datetime(2026, 1, 1, tzinfo=timezone.utc)
    agent_name: str = ""
    # What an execution started through the API does: {calls, failed, rates, final, pending,
    # running, evaluating} (see Store.start); `batches`: the rates of each start in turn (the
    # last one repeats), for a run test whose executions come out at given rates.
    run: dict[str, Any] = field(default_factory=dict)
    started: int = 0  # executions started through the API


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _round(x: float) -> float:
    return round(x, 2)


def _is_pass(output: Any) -> bool | None:
    if output in ("Passed", True):
        return True
    if output in ("Failed", False):
        return False
    return None


def _choices_of(output: Any) -> list[str]:
    if isinstance(output, str):
        return [output]
    if isinstance(output, list):
        return [str(o) for o in output]
    if isinstance(output, Mapping) and "choice" in output:
        return [str(output["choice"])]
    return []


def _percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    k = max(0, math.ceil(p / 100 * len(ordered)) - 1)
    return ordered[k]


class Store:
    """All run tests of one workspace."""

    def __init__(self, run_tests: Iterable[RunTest] = ()) -> None:
        self.run_tests: list[RunTest] = list(run_tests)

    # --- lookups -------------------------------------------------------------------------

    def executions_named(self, name: str) -> list[tuple[RunTest, Execution]] | None:
        tests = [rt for rt in self.run_tests if rt.name == name and not rt.deleted]
        if not tests:
            return None
        pairs = [(rt, ex) for rt in tests for ex in rt.executions]
        pairs.sort(key=lambda p: p[1].created_at, reverse=True)
        return pairs

    def execution(self, execution_id: str) -> tuple[RunTest, Execution] | None:
        for rt in self.run_tests:
            for ex in rt.executions:
                if ex.execution_id == execution_id:
                    return rt, ex
        return None

    def call(self, call_id: str) -> tuple[RunTest, Execution, Call] | None:
        for rt in self.run_tests:
            for ex in rt.executions:
                for c in ex.calls:
                    if c.call_execution_id == call_id:
                        return rt, ex, c
        return None

    def run_test(self, run_test_id: str) -> RunTest | None:
        return next((rt for rt in self.run_tests if rt.id == run_test_id and not rt.deleted), None)

    # --- starting, progressing and cancelling executions --------------------------------

    def start(
        self, rt: RunTest, scenario_ids: list[str], now: float, speed: float = 1.0
    ) -> Execution:
        """A new execution of `rt`, pending; it progresses as `advance` is called."""
        rng = random.Random(len(rt.executions) + 1000)
        spec = rt.run
        batches = spec.get("batches") or [spec.get("rates", {})]
        batch = batches[min(rt.started, len(batches) - 1)]
        rt.started += 1
        # A batch is its rates, or {rates, and any of the timings} for that start only.
        spec = {**spec, **batch} if "rates" in batch else spec
        rates = spec.get("rates", {}) if "rates" in batch else batch
        created = datetime.now(timezone.utc)
        chosen = [s for s in rt.scenarios if not scenario_ids or s["id"] in scenario_ids]
        gen = {
            "calls": spec.get("calls", 10),
            "failed": spec.get("failed", 0),
            "rates": rates,
            "scenarios": [s["name"] for s in chosen] or None,
            "scenario_ids": {s["name"]: s["id"] for s in rt.scenarios},
        }
        planned = generate_calls(gen, rt.templates, rng, created)
        timeline = Timeline(
            start=now,
            planned=planned,
            pending=spec.get("pending", 0.2) * speed,
            running=spec.get("running", 1.0) * speed,
            evaluating=spec.get("evaluating", 0.2) * speed,
            final=spec.get("final", "completed"),
        )
        ex = Execution(
            execution_id=_uid(rng),
            status="pending",
            created_at=created,
            started_at=created,  # the server sets it at the start request
            completed_at=None,
            calls=[],
            fma=None,
            fma_status="pending",
            counts={"total_calls": len(planned), "completed_calls": 0, "failed_calls": 0},
            timeline=timeline,
        )
        rt.executions.append(ex)
        return ex

    @staticmethod
    def advance(ex: Execution, now: float) -> None:
        """Bring a started execution to where it is at `now` (monotonic seconds)."""
        t = ex.timeline
        if t is None or ex.status in ("completed", "failed", "cancelled"):
            return
        if ex.status == "cancelling":
            ex.status = "cancelled"
            ex.completed_at = datetime.now(timezone.utc)
            ex.version += 1
            return
        elapsed = now - t.start
        n = len(t.planned)
        if elapsed < t.pending:
            return
        if t.started_at is None:
            t.started_at = ex.started_at = datetime.now(timezone.utc)
        running_for = elapsed - t.pending
        done = n if running_for >= t.running else int(n * running_for / t.running)
        calls = []
        evaluated = elapsed >= t.pending + t.running + t.evaluating
        for i, planned in enumerate(t.planned):
            if i < done and (planned.status != "completed" or evaluated):
                calls.append(planned)
            else:  # the call still going, or done with its evals still running
                state = "completed" if i < done else "ongoing"
                calls.append(
                    Call(
                        planned.call_execution_id,
                        planned.scenario_name,
                        state,
                        {},
                        planned.updated_at,
                    )
                )
        status = "running" if done < n else "evaluating"
        if elapsed >= t.pending + t.running + t.evaluating:
            completed = sum(1 for c in t.planned if c.status == "completed")
            # The server ends an execution `failed` only when no call completed.
            status = "failed" if t.final == "failed" or completed == 0 else "completed"
            ex.completed_at = datetime.now(timezone.utc)
            ex.fma_status = "completed"
        counts = {
            "total_calls": n,
            "completed_calls": sum(1 for c in calls if c.status == "completed"),
            "failed_calls": sum(1 for c in calls if c.status == "failed"),
        }
        if (status, counts) != (ex.status, ex.counts):
            ex.version += 1
        ex.status, ex.calls, ex.counts = status, calls, counts

    # --- the server's aggregation --------------------------------------------------------

    @staticmethod
    def counts(ex: Execution) -> dict[str, int]:
        if ex.counts is not None:
            return dict(ex.counts)
        return {
            "total_calls": len(ex.calls),
            "completed_calls": sum(1 for c in ex.calls if c.status == "completed"),
            "failed_calls": sum(1 for c in ex.calls if c.status == "failed"),
        }

    @staticmethod
    def eval_results(
        rt: RunTest, ex: Execution, eval_names: set[str] | None = None
    ) -> list[dict[str, Any]]:
        counted = [c for c in ex.calls if c.status == "completed" and c.eval_outputs]
        for c in counted:
            for out in c.eval_outputs.values():
                if out.get("output_type") not in KNOWN_TYPES:
                    raise ServerError("unsupported call-level output_type")
        results = []
        for t in rt.templates:
            configs = [c for c in t.configs if eval_names is None or c.name in eval_names]
            if not configs:
                continue
            inner = []
            for cfg in configs:
                outputs = [
                    c.eval_outputs[cfg.id]["output"]
                    for c in counted
                    if cfg.id in c.eval_outputs and c.eval_outputs[cfg.id].get("output") is not None
                ]
                inner.append(Store._config_result(t, cfg, outputs))
            entry: dict[str, Any] = {
                "name": t.name,
                "id": t.id,
                "output_type": t.output_type,
                "result": inner,
            }
            cells = sum(r["total_cells"] for r in inner)
            if t.output_type == "Pass/Fail":
                passes = sum(r["output"].get("pass_count", 0) for r in inner)
                entry["total_pass_rate"] = _round(100 * passes / cells) if cells else 0
            elif t.output_type == "score":
                total = sum(r.get("avg_score", 0) * r["total_cells"] for r in inner)
                entry["total_avg"] = _round(total / cells) if cells else 0
            elif t.output_type == "choices":
                first = inner[0]["output"] if inner else {}
                avg = {}
                for choice in first:
                    weighted = sum(r["output"].get(choice, 0) * r["total_cells"] for r in inner)
                    avg[choice] = _round(weighted / cells) if cells else 0
                entry["total_choices_avg"] = avg
            results.append(entry)
        return results

    @staticmethod
    def _config_result(t: EvalTemplate, cfg: EvalConfig, outputs: list[Any]) -> dict[str, Any]:
        n = len(outputs)
        base: dict[str, Any] = {"name": cfg.name, "id": cfg.id, "total_cells": n}
        if n == 0:
            base["output"] = {}
            return base
        if t.output_type == "Pass/Fail":
            verdicts = [_is_pass(o) for o in outputs]
            p = sum(1 for v in verdicts if v is True)
            f = sum(1 for v in verdicts if v is False)
            base["output"] = {
                "pass": _round(100 * p / n),
                "fail": _round(100 * f / n),
                "pass_count": p,
                "fail_count": f,
            }
        elif t.output_type == "score":
            values = [100 * float(o) for o in outputs]
            base["output"] = {f"p{p}": _round(_percentile(values, p)) for p in PERCENTILES}
            base["avg_score"] = _round(sum(values) / n)
        elif t.output_type == "choices":
            counts: dict[str, int] = {}
            for o in outputs:
                for choice in _choices_of(o):
                    counts[choice] = counts.get(choice, 0) + 1
            base["output"] = {k: _round(100 * v / n) for k, v in counts.items()}
        else:
            base["output"] = {}
        return base


# --- building data -----------------------------------------------------------------------


def build_run_test(spec: Mapping[str, Any], *, seed: int = 7) -> RunTest:
    """A run test from a compact spec (the DATA_DIR format; see tests/fakeapi/data/)."""
    rng = random.Random(seed)
    templates = []
    for t in spec.get("evals", []):
        configs = [EvalConfig(id=c.get("id") or _uid(rng), name=c["name"]) for c in t["configs"]]
        templates.append(
            EvalTemplate(
                id=t.get("id") or _uid(rng),
                name=t["name"],
                output_type=t.get("output_type", "Pass/Fail"),
                configs=configs,
            )
        )
    scenarios = [
        {"id": sc.get("id") or _uid(rng), "name": sc["name"]} for sc in spec.get("scenarios", [])
    ]
    ids = {sc["name"]: sc["id"] for sc in scenarios}
    executions = [_build_execution(e, templates, rng, ids) for e in spec.get("executions", [])]
    for ex in executions:
        _own_clusters(ex, templates)
    return RunTest(
        id=spec.get("id") or _uid(rng),
        name=spec["name"],
        templates=templates,
        executions=executions,
        scenarios=scenarios,
        deleted=bool(spec.get("deleted", False)),
        created_at=_time(spec.get("created_at"), None) or datetime(2026, 1, 1, tzinfo=timezone.utc),
        agent_name=spec.get("agent_name", ""),
        run=dict(spec.get("run", {})),
    )


def _own_clusters(ex: Execution, templates: list[EvalTemplate]) -> None:
    """FMA clusters name their eval config and template by id, as the server writes them."""
    if not isinstance(ex.fma, dict):
        return
    owners = {cfg.name: (cfg.id, t.id) for t in templates for cfg in t.configs}
    for config_name, clusters in ex.fma.items():
        for cluster in clusters if isinstance(clusters, list) else ():
            if isinstance(cluster, dict) and config_name in owners:
                config_id, template_id = owners[config_name]
                cluster.setdefault("eval_config_id", config_id)
                cluster.setdefault("eval_template_id", template_id)


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _time(value: Any, default: datetime | None) -> datetime | None:
    if value is None:
        return default
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _build_execution(
    e: Mapping[str, Any],
    templates: list[EvalTemplate],
    rng: random.Random,
    scenario_ids: Mapping[str, str] | None = None,
) -> Execution:
    scenario_ids = dict(scenario_ids or {})
    started = _time(e.get("started_at"), None)
    created = _time(e.get("created_at"), started) or datetime(2026, 1, 1, tzinfo=timezone.utc)
    completed = _time(e.get("completed_at"), None)
    calls: list[Call] = []
    if "calls" in e:
        for c in e["calls"]:
            calls.append(
                Call(
                    call_execution_id=c.get("call_execution_id") or _uid(rng),
                    scenario_name=c.get("scenario_name", "Scenario"),
                    status=c.get("status", "completed"),
                    eval_outputs=c.get("eval_outputs", {}),
                    updated_at=_time(c.get("updated_at"), created) or created,
                    scenario_id=c.get("scenario_id")
                    or scenario_ids.get(c.get("scenario_name", "Scenario"))
                    or _scenario_id(c.get("scenario_name", "Scenario")),
                )
            )
    else:
        gen = {"scenario_ids": scenario_ids, **e.get("generate", {})}
        calls = generate_calls(gen, templates, rng, created)
    return Execution(
        execution_id=e.get("execution_id") or _uid(rng),
        status=e.get("status", "completed"),
        created_at=created,
        started_at=started,
        completed_at=completed,
        calls=calls,
        fma=e.get("eval_explanation_summary"),
        fma_status=e.get("eval_explanation_summary_status", "completed"),
    )


def generate_calls(
    gen: Mapping[str, Any],
    templates: list[EvalTemplate],
    rng: random.Random,
    start: datetime,
) -> list[Call]:
    """Calls with outputs drawn to hit the given rates exactly (not just on average).

    gen: {calls: N, failed: F, scenarios: [...], rates: {config name: value}} where the value is a
    pass percent (Pass/Fail), a mean score 0-100 (score) or {choice: percent} (choices).
    """
    total = int(gen.get("calls", 10))
    failed = int(gen.get("failed", 0))
    scenarios = gen.get("scenarios") or ["Billing inquiry", "Cancel subscription", "Angry caller"]
    rates = gen.get("rates", {})
    completed = total - failed
    per_config: dict[str, list[Any]] = {}
    for t in templates:
        for cfg in t.configs:
            rate = rates.get(cfg.name, rates.get(t.name))
            per_config[cfg.id] = _outputs(t.output_type, rate, completed, rng)
    calls = []
    ids = dict(gen.get("scenario_ids") or {})  # scenario name -> id (the run test's)
    for i in range(total):
        ok = i < completed
        outputs: dict[str, dict[str, Any]] = {}
        if ok:
            for t in templates:
                for k, cfg in enumerate(t.configs):
                    value = per_config[cfg.id][i]
                    if value is _SKIP:
                        continue
                    if t.output_type == "Pass/Fail" and k % 2:  # the server sends both forms
                        value = value == "Passed"
                    outputs[cfg.id] = {
                        "name": cfg.name,
                        "output": value,
                        "output_type": t.output_type,
                        "reason": "generated",
                        "status": "completed",
                    }
        name = scenarios[i % len(scenarios)]
        calls.append(
            Call(
                call_execution_id=_uid(rng),
                scenario_name=name,
                status="completed" if ok else "failed",
                eval_outputs=outputs,
                updated_at=start + timedelta(seconds=i),
                scenario_id=ids.setdefault(name, _scenario_id(name)),
            )
        )
    rng.shuffle(calls)
    return calls


_SKIP = object()


def _scenario_id(name: str) -> str:
    """A scenario's id when the data names only the scenario: the same for every call of it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"scenario:{name}"))


def _outputs(output_type: str, rate: Any, n: int, rng: random.Random) -> list[Any]:
    if rate is None:
        return [_SKIP] * n
    if output_type == "Pass/Fail":
        passes = round(float(rate) / 100 * n)
        values: list[Any] = ["Passed"] * passes + ["Failed"] * (n - passes)
    elif output_type == "score":
        mean = float(rate) / 100
        values = [min(1.0, max(0.0, mean + (0.1 if i % 2 else -0.1))) for i in range(n)]
        if n % 2:
            values[-1] = mean
        drift = mean - sum(values) / n if n else 0
        values = [round(min(1.0, max(0.0, v + drift)), 4) for v in values]
    elif output_type == "choices":
        values = []
        for choice, pct in dict(rate).items():
            values += [choice] * round(float(pct) / 100 * n)
        values = (values + [_SKIP] * n)[:n]
    else:
        values = ["?"] * n
    rng.shuffle(values)
    return values


def load_dir(path: str | Path) -> Store:
    """Every *.json file in `path` is one run test spec."""
    files = sorted(Path(path).glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no *.json run test specs in {path}")
    return Store(build_run_test(json.loads(f.read_text()), seed=i) for i, f in enumerate(files))
