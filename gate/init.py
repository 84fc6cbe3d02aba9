"""`fi-gate init`: a commented starter policy drawn from a run test's recent executions.

Pure: takes the executions, returns the YAML text. Each eval's threshold sits a little under the
lowest value observed, with the figures it was drawn from in a comment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gate.model import CHOICES, PASS_FAIL, SCORE, Execution

MARGIN = 3.0  # points under the lowest observed value


def _quote(name: str) -> str:
    """A YAML key that stays the literal name (and is not read as a glob by accident)."""
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _comment(text: str) -> str:
    return " ".join(text.split()).replace("\n", " ")


def starter_policy(run_test: str, executions: Sequence[Execution]) -> str:
    """The policy text; `executions` are completed ones, newest first."""
    names: list[str] = []
    for ex in executions:
        for ev in ex.evals:
            if ev.name not in names:
                names.append(ev.name)
    failed_share = [100 * ex.failed_calls / ex.total_calls for ex in executions if ex.total_calls]
    worst_failed = max(failed_share, default=0.0)
    allowed_failed = min(100, max(5, math.ceil(worst_failed + 5)))
    ids = ", ".join(ex.execution_id[:8] for ex in executions)
    lines = [
        f"# fi-gate policy drawn from the last {len(executions)} completed execution(s) of",
        f"# {_comment(run_test)!r} ({ids}).",
        f"# Thresholds sit {MARGIN:g} points under the lowest value observed: review them, then",
        "# raise them as the agent improves. Reference: https://github.com/future-agi/fi-gate",
        "version: 1",
        f"run_test: {_quote(run_test)}",
        "",
        "execution:",
        f"  max_failed_calls: {allowed_failed}%   # worst seen: {worst_failed:.1f}% failed",
        "",
        "defaults:",
        "  level: error",
        "  # confidence: 0.95   # judge the interval's lower bound instead of the point estimate,",
        "  #                    # once runs have enough calls for it (see the README)",
        "",
    ]
    body: list[str] = []
    for name in names:
        values: list[float] = []
        kind = None
        for ex in executions:
            found = next((e for e in ex.evals if e.name == name), None)
            if found is None or not found.cells:
                continue
            ev = found
            kind = ev.output_type
            value = ev.total_pass_rate if kind == PASS_FAIL else ev.total_avg
            if value is not None and kind in (PASS_FAIL, SCORE):
                values.append(value)
        if kind == CHOICES:
            body += _choices_rule(name, executions)
            continue
        if not values or kind not in (PASS_FAIL, SCORE):
            body += [f"  # {_comment(name)}: no data in these executions; not gated"]
            continue
        key = "min_pass_rate" if kind == PASS_FAIL else "min_avg_score"
        threshold = max(0, math.floor(min(values) - MARGIN))
        seen = ", ".join(f"{v:g}" for v in values)
        body += [
            f"  {_quote(name)}:",
            f"    {key}: {threshold}   # observed {min(values):g}-{max(values):g} ({seen})",
        ]
    if body:
        lines += ["evals:", *body]
    return "\n".join(lines) + "\n"


def _choices_rule(name: str, executions: Sequence[Execution]) -> list[str]:
    """A choices eval: a floor under the choice that was the most common in every execution."""
    shares: dict[str, list[float]] = {}
    runs = 0
    for ex in executions:
        found = next((e for e in ex.evals if e.name == name and e.cells), None)
        if found is None:
            continue
        runs += 1
        for choice, value in found.total_choices_avg.items():
            if value is not None:
                shares.setdefault(choice, []).append(value)
    steady = {c: v for c, v in shares.items() if len(v) == runs and runs}
    if not steady:
        return [f"  # {_comment(name)}: a choices eval; add min_choice_rate / max_choice_rate"]
    choice, values = max(steady.items(), key=lambda cv: min(cv[1]))
    threshold = max(0, math.floor(min(values) - MARGIN))
    return [
        f"  {_quote(name)}:",
        f"    min_choice_rate: {{{_quote(choice)}: {threshold}}}   # observed "
        f"{min(values):g}-{max(values):g}; add max_choice_rate for unwanted choices",
    ]
