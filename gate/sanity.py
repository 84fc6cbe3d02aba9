"""Data that cannot be true is never judged: the gate says which field is impossible (exit 3).

The server's numbers have known ranges (../shared/API-NOTES.md): rates, shares, scores and
percentiles are percents from 0 to 100, counts are whole and not negative, a config counts at
most one cell a call, and an execution cannot end before it started or in the future. A value
outside them is a broken server, a proxy rewriting answers, or a hand-edited `--from-file`:
judging it could pass a deploy on nonsense. Pure: the clock is passed in.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from gate.model import EvalResult, Execution
from gate.redact import clip

# Clocks differ between the server and the runner: a little future is skew, more is nonsense.
CLOCK_SKEW = timedelta(minutes=5)
COUNT_KEYS = frozenset({"pass_count", "fail_count"})


def problems(ex: Execution, now: datetime) -> list[str]:
    """What is impossible in `ex`, one line a field (empty when the data makes sense)."""
    out: list[str] = []
    counts = {
        "total_calls": ex.total_calls,
        "completed_calls": ex.completed_calls,
        "failed_calls": ex.failed_calls,
    }
    for name, value in counts.items():
        if value < 0:
            out.append(f"{name} is {value}, a negative count")
    for name in ("completed_calls", "failed_calls"):
        if counts[name] > ex.total_calls:
            out.append(f"{name} {counts[name]} is more than total_calls {ex.total_calls}")
    if ex.completed_calls + ex.failed_calls > ex.total_calls >= 0:
        out.append(
            f"completed_calls {ex.completed_calls} + failed_calls {ex.failed_calls} is more "
            f"than total_calls {ex.total_calls}"
        )
    for name, stamp in (("started_at", ex.started_at), ("completed_at", ex.completed_at)):
        if stamp is not None and stamp > now + CLOCK_SKEW:
            out.append(f"{name} {stamp:%Y-%m-%dT%H:%M:%SZ} is in the future")
    if ex.started_at and ex.completed_at and ex.completed_at < ex.started_at:
        out.append(
            f"completed_at {ex.completed_at:%Y-%m-%dT%H:%M:%SZ} is before started_at "
            f"{ex.started_at:%Y-%m-%dT%H:%M:%SZ}"
        )
    for i, ev in enumerate(ex.evals):
        out.extend(_eval_problems(f"eval_results[{i}] ('{clip(ev.name, 60)}')", ev, ex))
    return out


def _percent(where: str, value: float | None) -> str | None:
    if value is None:
        return None
    if not math.isfinite(value):
        return f"{where} is {value}, not a number"
    if not 0 <= value <= 100:
        return f"{where} is {value:g}, outside 0-100"
    return None


def _eval_problems(where: str, ev: EvalResult, ex: Execution) -> list[str]:
    out = [
        _percent(f"{where}.total_pass_rate", ev.total_pass_rate),
        _percent(f"{where}.total_avg", ev.total_avg),
        *(
            _percent(f"{where}.total_choices_avg['{clip(k, 40)}']", v)
            for k, v in ev.total_choices_avg.items()
        ),
    ]
    for j, cfg in enumerate(ev.configs):
        at = f"{where}.result[{j}] ('{clip(cfg.name, 60)}')"
        cells = cfg.total_cells
        if cells < 0:
            out.append(f"{at}.total_cells is {cells}, a negative count")
        elif cells > max(ex.total_calls, 0):
            out.append(
                f"{at}.total_cells {cells} is more than the execution's {ex.total_calls} calls"
            )
        out.append(_percent(f"{at}.avg_score", cfg.avg_score))
        for key, value in cfg.output.items():
            if key not in COUNT_KEYS:
                out.append(_percent(f"{at}.output['{clip(key, 40)}']", value))
            elif value is not None and (
                not math.isfinite(value) or value < 0 or value != int(value) or value > cells
            ):
                out.append(f"{at}.output.{key} is {value:g}, not a count of its {cells} cells")
        passed, failed = cfg.output.get("pass_count"), cfg.output.get("fail_count")
        if passed is not None and failed is not None and passed + failed > cells >= 0:
            out.append(f"{at}: pass_count + fail_count is more than its {cells} cells")
    return [p for p in out if p]


def message(ex: Execution, found: list[str]) -> str:
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return (
        f"impossible data in execution {clip(ex.execution_id, 64)}: {found[0]}{more}; not "
        "judged. Check --base-url (a proxy rewriting answers?) or the file given to --from-file"
    )
