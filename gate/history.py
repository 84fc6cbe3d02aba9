"""Baselines and trends: the current execution against earlier ones of the same run test.

Pure functions over executions already fetched (the listing page carries every execution's
eval results, so a baseline or a trend costs no extra request).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from statistics import NormalDist

from gate.metrics import HEADLINE, Metric, level_text
from gate.model import EvalResult, Execution
from gate.rules import Baseline
from gate.stats import stratified_lower
from gate.verdict import Check, Status

Judge = Callable[[Execution], bool]  # does this execution pass the policy's absolute thresholds?


def earlier_completed(current: Execution, history: Sequence[Execution]) -> list[Execution]:
    """Completed executions started before `current`, newest first."""
    start = current.started_at or current.completed_at
    out = []
    for ex in history:
        if ex.execution_id == current.execution_id or ex.status != "completed":
            continue
        when = ex.started_at or ex.completed_at
        if start is not None and when is not None and when >= start:
            continue
        out.append(ex)
    out.sort(key=lambda e: e.started_at or e.completed_at or datetime.min, reverse=True)
    return out


def choose(
    compare_to: str, current: Execution, history: Sequence[Execution], passes: Judge
) -> Execution | None:
    candidates = earlier_completed(current, history)
    if compare_to == "previous":
        return candidates[0] if candidates else None
    if compare_to == "last-passing":
        return next((ex for ex in candidates if passes(ex)), None)
    return next((ex for ex in history if ex.execution_id == compare_to), None)


def value_of(ev: EvalResult, config: str | None, metric: Metric) -> tuple[float | None, int]:
    """(value, cells) of an eval's total or of one config, in the API's units."""
    if config is None:
        cells = ev.cells
        return (metric.observed(ev.measured()) if cells else None), cells
    cfg = next((c for c in ev.configs if c.name == config), None)
    if cfg is None or not cfg.total_cells:
        return None, 0
    return metric.observed(cfg.measured()), cfg.total_cells


def drop_is_significant(
    base: float, base_n: int, now: float, now_n: int, confidence: float
) -> bool:
    """One-sided two-proportion z-test: is the current rate lower than the baseline's?"""
    p1, p2 = base / 100, now / 100
    pooled = (p1 * base_n + p2 * now_n) / (base_n + now_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / base_n + 1 / now_n))
    if se == 0:
        return p2 < p1
    return (p1 - p2) / se > NormalDist().inv_cdf(confidence)


def _significant(
    metric: Metric,
    confidence: float | None,
    strata: Sequence[tuple[int, int, int, int]] | None,
    base: float,
    base_n: int,
    now: float,
    now_n: int,
) -> bool:
    """Whether a pass-rate drop is significant: exact and stratified by scenario when the calls
    were read, else the unpaired z-test; no test (every drop counts) without `confidence`."""
    if confidence is None or metric.interval != "proportion":
        return True
    if strata:
        return stratified_lower(strata) <= 1 - confidence
    return drop_is_significant(base, base_n, now, now_n, confidence)


def drop_check(
    check: Check,
    baseline: Baseline,
    base_ex: Execution,
    confidence: float | None,
    strata: Sequence[tuple[int, int, int, int]] | None = None,
) -> Check | None:
    """The drop-from-baseline check that goes with one rate or score check, if it applies.
    `strata`: both executions' per-scenario tables, when read (the exact stratified test)."""
    # Only a floor has a drop: the headline value of its eval type, compared the same way.
    metric = next(
        (m for m in HEADLINE.values() if (m.name, m.op) == (check.metric, check.op)), None
    )
    if check.kind != "eval" or metric is None:
        return None
    if baseline.max_drop is None or not isinstance(check.observed, (int, float)):
        return None
    base_ev = next((e for e in base_ex.evals if e.name == check.name), None)
    if base_ev is None or base_ev.output_type not in HEADLINE:
        return None
    base_value, base_cells = value_of(base_ev, check.config, metric)
    if base_value is None or not check.n:
        return None
    delta = round(check.observed - base_value, 2)
    unit = metric.unit
    violated = delta < -baseline.max_drop
    significant = _significant(
        metric, confidence, strata, base_value, base_cells, check.observed, check.n
    )
    story = (
        f"{delta:+g} points ({base_value:g}{unit} → {check.observed:g}{unit}) against baseline "
        f"{base_ex.execution_id} ({baseline.compare_to}); a drop of at most "
        f"{baseline.max_drop:g} allowed"
    )
    if strata and confidence is not None and metric.interval == "proportion":
        story += "; tested paired by scenario (exact, stratified)"
    if violated and not significant and confidence is not None:
        violated = False
        story += f"; this one is not significant at {level_text(confidence)}, so it passes"
    status: Status = "skipped" if check.status == "skipped" else "pass"
    if violated and status != "skipped":
        status = "warn" if check.level == "warn" else "fail"
    return Check(
        name=check.name,
        kind="eval",
        metric=f"{check.metric}_drop",
        observed=delta,
        threshold=-baseline.max_drop,
        op=">=",
        unit="pts",
        level=check.level,
        status=status,
        message=story,
        config=check.config,
        n=check.n,
        output_type=check.output_type,
        baseline_value=base_value,
        baseline_execution=base_ex.execution_id,
    )


def trend(
    names: Sequence[str], current: Execution, history: Sequence[Execution], last: int
) -> tuple[tuple[str, tuple[float | None, ...]], ...]:
    """Each eval's total over the last `last` completed executions, oldest first, then now."""
    earlier = earlier_completed(current, history)[: max(0, last - 1)]
    runs = [*reversed(earlier), current]
    series = []
    for name in names:
        values: list[float | None] = []
        for ex in runs:
            ev = next((e for e in ex.evals if e.name == name), None)
            metric = HEADLINE.get(ev.output_type) if ev is not None else None
            values.append(None if ev is None or metric is None else value_of(ev, None, metric)[0])
        series.append((name, tuple(values)))
    return tuple(series)
