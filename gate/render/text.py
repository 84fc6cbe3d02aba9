"""The terminal report: a table of checks and a verdict line. Colour only when asked."""

from __future__ import annotations

import unicodedata

from gate.render.common import (
    VERDICT_WORD,
    interval,
    metric,
    observed,
    ordered,
    plain,
    status_label,
    threshold,
)
from gate.verdict import Check, GateResult, Verdict

_COLOURS = {
    "fail": "31",
    "missing": "31",
    "no_data": "31",
    "warn": "33",
    "pass": "32",
    "skipped": "2",
    "not_ready": "33",
    "error": "31",
}
HEADERS = ("eval", "config", "metric", "observed", "interval", "threshold", "n", "status")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _paint(text: str, key: str, colour: bool) -> str:
    code = _COLOURS.get(key)
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code else text


def _row(c: Check) -> tuple[str, ...]:
    return (
        plain(c.name, 48),
        plain(c.config, 32) if c.config else "",
        metric(c),
        observed(c),
        interval(c),
        threshold(c),
        "" if c.n is None else str(c.n),
        status_label(c),
    )


def render(result: GateResult, *, colour: bool = False) -> str:
    """The terminal report: one run test's, or each run test's and an overview."""
    if len(result.verdicts) == 1:
        return render_verdict(result.verdicts[0], colour=colour)
    return _render_many(result, colour=colour)


def render_verdict(v: Verdict, *, colour: bool = False) -> str:
    """One run test's terminal report as one string, ending with a newline."""
    lines: list[str] = []
    if v.execution:
        e = v.execution
        run = f"run test {plain(v.run_test, 80)!r}, " if v.run_test else ""
        lines.append(
            f"{run}execution {plain(e.execution_id, 64)} ({plain(e.status, 20)}): "
            f"{e.completed_calls}/{e.total_calls} calls completed, {e.failed_calls} failed"
        )
        if v.link:
            lines.append(f"  {plain(v.link, 300)}")
    checks = ordered(v.checks)
    if checks:
        rows = [HEADERS, *(_row(c) for c in checks)]
        widths = [max(_width(r[i]) for r in rows) for i in range(len(HEADERS))]
        for index, row in enumerate(rows):
            cells = [_pad(cell, widths[i]) for i, cell in enumerate(row)]
            if index == 0:
                lines.append("  ".join(cells).rstrip())
                lines.append("  ".join("-" * w for w in widths))
                continue
            c = checks[index - 1]
            cells[-1] = _paint(cells[-1], "warn" if c.warns else c.status, colour)
            lines.append("  ".join(cells).rstrip())
            if c.status not in ("pass", "skipped") or c.baseline_execution:
                lines.append(f"    ↳ {plain(c.message, 300)}")
    for w in v.warnings:
        lines.append(f"warning: {plain(w, 300)}")
    if v.not_gated:
        names = ", ".join(plain(n, 48) for n in v.not_gated[:10])
        more = f" and {len(v.not_gated) - 10} more" if len(v.not_gated) > 10 else ""
        lines.append(f"not gated (no rule, no default): {names}{more}")
    word = _paint(VERDICT_WORD[v.verdict], v.verdict, colour)
    tail = f": {plain(v.message, 400)}" if v.message else ""
    lines.append(f"{word}{tail} (exit {v.exit_code})")
    return "\n".join(lines) + "\n"


def _render_many(result: GateResult, *, colour: bool = False) -> str:
    """Each run test's report, then an overview line per run test and the overall verdict."""
    parts = []
    for v in result.verdicts:
        parts.append(f"== {plain(v.run_test, 80)} ==\n")
        parts.append(render_verdict(v, colour=colour) if v.execution else f"{v.message}\n")
    parts.append("overview:\n")
    for v in result.verdicts:
        word = _paint(VERDICT_WORD[v.verdict], v.verdict, colour)
        parts.append(f"  {plain(v.run_test, 80)}: {word} (exit {v.exit_code})\n")
    word = _paint(VERDICT_WORD[result.verdict], result.verdict, colour)
    parts.append(f"{word}: {len(result.verdicts)} run tests (exit {result.exit_code})\n")
    return "".join(parts)
