"""Formatting shared by the renderers, and the one place untrusted text is made safe."""

from __future__ import annotations

import re
from datetime import datetime

from gate import redact
from gate.metrics import format_duration
from gate.redact import _NOT_ASCII, hidden
from gate.verdict import Check


def json_safe(text: str) -> str:
    """A JSON document with those characters written as \\u escapes (a JSON reader gets them
    back; a terminal, a log or a diff never shows them raw)."""

    def escape(m: re.Match[str]) -> str:
        ch = m.group()
        if not hidden(ch):
            return ch
        code = ord(ch)
        if code > 0xFFFF:  # as a surrogate pair, as JSON writes it
            code -= 0x10000
            return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
        return f"\\u{code:04x}"

    return _NOT_ASCII.sub(escape, text.replace("\x7f", "\\u007f"))


OP_SYMBOL = {">=": "≥", "<=": "≤", "==": "="}
STATUS_ORDER = {
    "fail": 0,
    "undecided": 1,
    "missing": 2,
    "no_data": 3,
    "warn": 4,
    "pass": 5,
    "skipped": 6,
}
VERDICT_WORD = {
    "pass": "PASS",
    "warn": "PASS with warnings",
    "fail": "FAIL",
    "error": "ERROR",
    "not_ready": "NOT READY",
}


# One line of printable text: the keys masked (before any cut or escape), control, bidi and
# invisible characters removed, whitespace folded, cut at `limit` (redact.clip, the one
# clipping helper).
plain = redact.clip


def number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def observed(c: Check) -> str:
    return _value(c, c.observed)


def threshold(c: Check) -> str:
    if c.threshold is None:
        return ""
    return f"{OP_SYMBOL.get(c.op, c.op)} {_value(c, c.threshold)}".strip()


def _value(c: Check, value: float | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return plain(value, 40)
    if c.unit == "s":
        return format_duration(value)
    if c.unit == "pts":
        return f"{value:+.2f}".rstrip("0").rstrip(".") + " pts"
    return f"{number(value)}{c.unit}"


METRIC_LABEL = {
    "pass_rate_drop": "drop from baseline",
    "avg_score_drop": "drop from baseline",
    "age_seconds": "age",
    "failed_calls_percent": "failed calls",
    "failed_calls": "failed calls",
    "completed_calls": "completed calls",
}


def interval(c: Check) -> str:
    if c.interval is None:
        return ""
    lo, hi = c.interval
    return f"{number(lo)}–{number(hi)}{c.unit}"


def bar(c: Check, width: int = 20) -> str:
    """The interval as a small bar on 0-100: ━ the interval, ● the estimate, ┃ the threshold."""
    if c.interval is None or not isinstance(c.observed, (int, float)):
        return ""
    cells = ["·"] * width

    def at(value: float) -> int:
        return min(width - 1, max(0, int(value / 100 * width)))

    for i in range(at(c.interval[0]), at(c.interval[1]) + 1):
        cells[i] = "━"
    if isinstance(c.threshold, (int, float)):
        cells[at(c.threshold)] = "┃"
    cells[at(c.observed)] = "●"
    return "".join(cells)


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: tuple[float | None, ...]) -> str:
    """Values as a sparkline scaled to their own range; a gap for a missing value."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = high - low
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        else:
            out.append(SPARKS[round((v - low) / span * (len(SPARKS) - 1))] if span else SPARKS[3])
    return "".join(out)


def metric(c: Check) -> str:
    label = METRIC_LABEL.get(c.metric) or c.metric.replace("_", " ")
    return plain(label, 60)


def ordered(checks: tuple[Check, ...]) -> list[Check]:
    """Failures first (blocking before warnings), then the rest in policy order."""

    def rank(c: Check) -> int:
        if c.blocks:
            return 0
        if c.warns:
            return 1
        return 2 + STATUS_ORDER.get(c.status, 9)

    return sorted(checks, key=rank)


def when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC") if dt else "—"


def status_label(c: Check) -> str:
    if c.status in ("missing", "no_data") and c.level == "warn":
        return f"{c.status} (warn)"
    return c.status
