"""`evidence:` for `fi-gate run`: pool the executions the gate started, and decide each
error-level rate check with an anytime-valid test (gate/sequential.py). Pure: no I/O.

`judge.Judge.run` owns the loop: judge the pooled executions, and while an error-level check is
undecided, none has decided to fail, and another execution fits in `max_calls`, start one more.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from gate import sanity
from gate.metrics import SEQUENTIAL, level_text
from gate.model import ConfigResult, EvalResult, Execution
from gate.sequential import decide, more_needed
from gate.stats import DEFAULT_CONFIDENCE
from gate.verdict import Check, Verdict


def pool(executions: Sequence[Execution]) -> Execution:
    """One execution standing for several of one run test: calls and cells summed, each rate
    and mean weighted by its cells (the calls' own values, not an average of averages), the
    status the worst of theirs, the Fix My Agent summary the last one's."""
    if len(executions) == 1:
        return executions[0]
    last = executions[-1]
    statuses = [e.status for e in executions]
    status = next((s for s in statuses if s != "completed"), "completed")
    evals: dict[str, list[EvalResult]] = {}
    for e in executions:
        for ev in e.evals:
            evals.setdefault(ev.id or ev.name, []).append(ev)
    return replace(
        last,
        status=status,
        started_at=executions[0].started_at,
        total_calls=sum(e.total_calls for e in executions),
        completed_calls=sum(e.completed_calls for e in executions),
        failed_calls=sum(e.failed_calls for e in executions),
        evals=tuple(_pool_eval(group) for group in evals.values()),
    )


def impossible(executions: Sequence[Execution], now: datetime) -> Execution | None:
    """The first execution whose own data is impossible (gate/sanity.py): judged alone, it is
    an error; pooled, its numbers could average into plausible ones. None when all are sane."""
    return next((e for e in executions if sanity.problems(e, now)), None)


def _pool_eval(group: list[EvalResult]) -> EvalResult:
    configs: dict[str, list[ConfigResult]] = {}
    for ev in group:
        for i, c in enumerate(ev.configs):
            configs.setdefault(c.id or f"{c.name}#{i}", []).append(c)
    pooled = tuple(_pool_config(cs) for cs in configs.values())
    cells = [ev.cells for ev in group]
    choices = {k for ev in group for k in ev.choice_totals()}
    return replace(
        group[-1],
        configs=pooled,
        total_pass_rate=_weighted([ev.total_pass_rate for ev in group], cells),
        total_avg=_weighted([ev.total_avg for ev in group], cells),
        total_choices_avg={
            k: _weighted([ev.choice_totals().get(k) or 0.0 for ev in group], cells) for k in choices
        },
    )


def _pool_config(group: list[ConfigResult]) -> ConfigResult:
    cells = [c.total_cells for c in group]
    keys = {k for c in group for k in c.output}
    output = {k: _pooled_output(k, [c.output.get(k) for c in group], cells) for k in keys}
    return replace(
        group[-1],
        total_cells=sum(cells),
        output=output,
        avg_score=_weighted([c.avg_score for c in group], cells),
    )


def _pooled_output(key: str, values: list[float | None], cells: list[int]) -> float | None:
    """One key of a config's `output` over the executions: counts (`pass_count`) summed;
    score percentiles (`p10`) the widest of theirs (the low ones' least, the high ones'
    greatest: a spread that is never narrower than the pooled one's); the rest (`pass`, a
    choice's share) weighted by cells, a choice that did not occur counting 0 %."""
    if key.endswith("_count"):
        return sum(v for v in values if v is not None)
    if re.fullmatch(r"p\d+", key):
        known = [v for v in values if v is not None]
        if not known:
            return None
        return min(known) if int(key[1:]) < 50 else max(known) if int(key[1:]) > 50 else None
    return _weighted(values, cells, absent=key not in ("pass", "fail"))


def _weighted(
    values: Sequence[float | None], cells: Sequence[int], *, absent: bool = False
) -> float | None:
    """The cell-weighted mean of percentages; a value the API did not report is left out
    (`absent`: a choice that did not occur in an execution counts 0 % there)."""
    pairs = [
        (0.0 if v is None else v, n)
        for v, n in zip(values, cells, strict=True)
        if v is not None or absent
    ]
    weight = sum(n for _, n in pairs)
    if not pairs or weight == 0:
        return None
    return round(sum(v * n for v, n in pairs) / weight, 4)


def decides(check: Check) -> bool:
    """A check `evidence:` decides sequentially: an error-level rate or mean that was measured."""
    return (
        check.kind == "eval"
        and check.level == "error"
        and (check.metric, check.op) in SEQUENTIAL
        and isinstance(check.observed, int | float)
        and isinstance(check.threshold, int | float)
        and bool(check.n)
    )


def judge_check(check: Check) -> Check:
    """The check decided by the confidence sequence at its confidence (default 0.95): pass
    when its bound clears the threshold, fail when the other bound is beyond it, else
    undecided. Its interval becomes the sequence's; `cells_needed` about how many more cells
    would be expected to decide it."""
    if not decides(check):
        return check
    assert isinstance(check.observed, int | float) and isinstance(check.threshold, int | float)
    n = check.n or 0
    observed, threshold, unit, floor = check.observed, check.threshold, check.unit, check.op == ">="
    confidence = check.confidence or DEFAULT_CONFIDENCE
    total = check.passes if check.passes is not None else observed / 100 * n
    d = decide(total, n, threshold / 100, confidence, floor=floor)
    interval = (round(d.lower * 100, 2), round(d.upper * 100, 2))
    bound = interval[0] if floor else interval[1]
    word = "at least" if floor else "at most"
    # An eval's totals count a cell per config a call: what is said is in calls.
    calls_per_cell = 1 / max(1, len(check.config_ids)) if check.config is None else 1.0
    calls = math.ceil(n * calls_per_cell)
    needs = f"needs {word} {threshold:g}{unit}"
    small = check.min_cells is not None and n < check.min_cells
    state = "undecided" if small and d.state == "pass" else d.state
    more = None
    if state == "pass":
        message = (
            f"decided after {calls} calls: {observed:g}{unit}; the {level_text(confidence)} "
            f"anytime {_side(floor)} bound {bound:g}{unit} clears the threshold ({needs})"
        )
    elif state == "fail":
        other = interval[1] if floor else interval[0]
        message = (
            f"decided after {calls} calls: {observed:g}{unit}; the {level_text(confidence)} "
            f"anytime {_side(not floor)} bound {other:g}{unit} is "
            f"{'below' if floor else 'above'} the threshold ({needs})"
        )
    else:
        more = more_needed(d.estimate, n, threshold / 100, confidence, floor=floor)
        after = (
            f"about {math.ceil(more * calls_per_cell)} more calls expected"
            if more
            else "the estimate sits on the threshold: more calls are unlikely to decide it"
        )
        if small:
            after = f"fewer than min_cells {check.min_cells}"
        message = (
            f"undecided after {calls} calls: {observed:g}{unit} (bound {bound:g}{unit}, "
            f"{needs}); {after}"
        )
    return replace(
        check,
        status=state,  # type: ignore[arg-type]
        message=message,
        interval=interval,
        interval_source="sequence",
        confidence=confidence,
        cells_needed=more,
    )


def _side(floor: bool) -> str:
    return "lower" if floor else "upper"


def undecided(verdict: Verdict) -> list[Check]:
    return [c for c in verdict.checks if c.status == "undecided" and c.level == "error"]


def decided_fail(verdict: Verdict) -> bool:
    """A blocking check that more calls cannot turn: the verdict is a failure whatever comes."""
    return any(c.blocks and c.status != "undecided" for c in verdict.checks)


def no_more(size: int, verdict: Verdict, max_calls: int) -> str:
    """Why no other execution (of `size` calls, as the last one) is started; "" to start it."""
    used = verdict.pooled_calls
    if len(verdict.pooled) == 1 and used >= max_calls:
        return (
            f"evidence.max_calls {max_calls} does not hold more than one execution ({used} "
            "calls): no more were started; raise it to gather evidence"
        )
    if size <= 0:
        return "the last execution had no calls: no more were started"
    if used + size > max_calls:
        return (
            f"another execution ({size} calls) would exceed evidence.max_calls {max_calls} "
            f"({used} used)"
        )
    return ""


def with_reason(verdict: Verdict, why: str) -> Verdict:
    """The undecided checks' messages completed with why no more executions were started."""
    checks = tuple(
        replace(c, message=f"{c.message}; {why}") if c.status == "undecided" and why else c
        for c in verdict.checks
    )
    return replace(verdict, checks=checks)
