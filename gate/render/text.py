"""The terminal report: a table of checks and a verdict line. Colour only when asked."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

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
from gate.verdict import Check, Cluster, GateResult, ScenarioChange, Verdict

_COLOURS = {
    "fail": "31",
    "undecided": "33",
    "missing": "31",
    "no_data": "31",
    "warn": "33",
    "pass": "32",
    "skipped": "2",
    "not_ready": "33",
    "error": "31",
}
HEADERS = ("eval", "config", "metric", "observed", "interval", "threshold", "n", "status")


def pooled_lines(v: Verdict) -> list[str]:
    """`evidence:`: every execution the gate started, and the budget it had."""
    if not v.pooled:
        return []
    budget = f" of evidence.max_calls {v.max_calls}" if v.max_calls is not None else ""
    lines = [
        f"  evidence: pooled over {len(v.pooled)} execution(s), {v.pooled_calls} calls{budget}"
    ]
    if len(v.pooled) > 1:
        for p in v.pooled:
            link = f" {plain(p.link, 300)}" if p.link else ""
            what = f"{plain(p.execution_id, 64)} ({plain(p.status, 20)}, {p.total_calls} calls)"
            lines.append(f"    {what}{link}")
        if v.clusters_for_failures():
            lines.append("  the Fix My Agent clusters (◆) are the last execution's")
    return lines


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


def render(result: GateResult, *, colour: bool = False, width: int | None = None) -> str:
    """The terminal report: one run test's, or each run test's and an overview. `width`: the
    terminal's columns, when it is one."""
    if len(result.verdicts) == 1:
        return render_verdict(result.verdicts[0], colour=colour, width=width)
    return _render_many(result, colour=colour, width=width)


def render_verdict(v: Verdict, *, colour: bool = False, width: int | None = None) -> str:
    """One run test's terminal report as one string, ending with a newline. `width`: the
    terminal's columns (None: piped, the full table)."""
    lines: list[str] = []
    if v.execution:
        e = v.execution
        run = f"run test {plain(v.run_test, 80)!r}, " if v.run_test else ""
        what = f"execution {plain(e.execution_id, 64)}"
        if len(v.pooled) > 1:
            what = f"{len(v.pooled)} executions pooled (the last: {plain(e.execution_id, 64)})"
        lines.append(
            f"{run}{what} ({plain(e.status, 20)}): "
            f"{e.completed_calls}/{e.total_calls} calls completed, {e.failed_calls} failed"
        )
        if v.link:
            lines.append(f"  {plain(v.link, 300)}")
        lines += pooled_lines(v)
    checks = ordered(v.checks)
    if checks:
        lines += _table(checks, colour, width, v.scenarios, v.clusters_for_failures())
    for w in v.warnings:
        lines.append(f"warning: {plain(w, 300)}")
    if v.not_gated:
        names = ", ".join(plain(n, 48) for n in v.not_gated[:10])
        more = f" and {len(v.not_gated) - 10} more" if len(v.not_gated) > 10 else ""
        lines.append(f"not gated (no rule, no default): {names}{more}")
    word = _paint(VERDICT_WORD[v.verdict], v.verdict, colour)
    tail = f": {plain(v.message, 400)}" if v.message else ""
    lines.append(f"{word}{tail} (exit {v.exit_code})")
    if width is not None:  # the free text wraps at the terminal's edge, the table fits it
        lines = [part for line in lines for part in _fold(line, width)]
    return "\n".join(lines) + "\n"


def _fold(line: str, width: int) -> list[str]:
    if _width(line) <= width or line.startswith(" ") or "  " in line:
        return [line]  # a table row (or an already wrapped message) stays as it is
    import textwrap

    return textwrap.wrap(line, width, subsequent_indent="  ") or [line]


# Below the terminal's width, these columns go first, in this order; then the eval column is
# cut. A row never wraps (its status stays on its line); the messages under it do.
DROP_ORDER = ("interval", "config", "n", "metric")
MIN_EVAL = 10


def _table(
    checks: list[Check],
    colour: bool,
    width: int | None,
    scenarios: Sequence[ScenarioChange] = (),
    clusters: Sequence[Cluster] = (),
) -> list[str]:
    rows = [HEADERS, *(_row(c) for c in checks)]
    widths = [max(_width(r[i]) for r in rows) for i in range(len(HEADERS))]
    keep = list(range(len(HEADERS)))

    def total() -> int:
        return sum(widths[i] for i in keep) + 2 * (len(keep) - 1)

    if width is not None:
        for i in range(1, len(HEADERS) - 1):  # an empty column goes first (config, often)
            if total() > width and i in keep and all(not r[i].strip() for r in rows[1:]):
                keep.remove(i)
        for name in DROP_ORDER:
            if total() <= width:
                break
            if HEADERS.index(name) in keep:
                keep.remove(HEADERS.index(name))
        widths[0] = max(MIN_EVAL, widths[0] - max(0, total() - width))
    lines: list[str] = []
    shown: set[str] = set()  # the evals whose clusters are already under a check
    for index, row in enumerate(rows):
        cells = [_pad(_fit(row[i], widths[i]), widths[i]) for i in keep]
        if index == 0:
            lines.append("  ".join(cells).rstrip())
            lines.append("  ".join("-" * widths[i] for i in keep))
            continue
        c = checks[index - 1]
        cells[-1] = _paint(cells[-1], "warn" if c.warns else c.status, colour)
        lines.append("  ".join(cells).rstrip())
        if c.status not in ("pass", "skipped") or c.baseline_execution:
            lines += _wrapped(f"↳ {plain(c.message, 300)}", width)
        if c.kind == "eval" and (c.blocks or c.warns) and c.name not in shown:
            shown.add(c.name)
            lines += _cluster_lines(c.name, clusters, width)
        if c.metric == "regressed_scenarios" and (c.blocks or c.warns):
            lines += [
                part
                for r in scenarios
                if r.status == "regressed" and (r.eval, r.config) == (c.name, c.config)
                for part in _wrapped(_regressed_line(r), width)
            ]
    return lines


MAX_CLUSTERS = 3


def _cluster_lines(name: str, clusters: Sequence[Cluster], width: int | None) -> list[str]:
    """The eval's Fix My Agent failure clusters, largest first, at most three, one line each
    (cut at the terminal's width): where a log has only the terminal, the reason is there too."""
    mine = [cl for cl in clusters if name in (cl.template, cl.eval_name)]
    mine.sort(key=lambda cl: -(cl.size or 0))
    lines = []
    for cl in mine[:MAX_CLUSTERS]:
        size = f" ({cl.size} calls)" if cl.size else ""
        theme = plain(cl.name, 200)
        if width is not None:  # the theme is cut, never the size
            theme = _fit(theme, max(10, width - _width(f"  ◆ {size}")))
        lines.append(f"  ◆ {theme}{size}")
    if len(mine) > MAX_CLUSTERS:
        lines.append(f"  ◆ and {len(mine) - MAX_CLUSTERS} more cluster(s): see the job summary")
    return lines


def _regressed_line(r: ScenarioChange) -> str:
    assert r.baseline is not None and r.current is not None
    return (
        f"  ✗ {plain(r.scenario_name, 80)}: {r.baseline[0]}/{r.baseline[1]} → "
        f"{r.current[0]}/{r.current[1]} (adjusted p {r.adjusted_p_value:.3g})"
    )


def _fit(cell: str, width: int) -> str:
    if _width(cell) <= width:
        return cell
    out = ""
    for ch in cell:
        if _width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def _wrapped(text: str, width: int | None) -> list[str]:
    if width is None:
        return [f"    {text}"]
    import textwrap

    return textwrap.wrap(
        text, max(20, width - 4), initial_indent="    ", subsequent_indent="      "
    )


def _render_many(result: GateResult, *, colour: bool = False, width: int | None = None) -> str:
    """Each run test's report, then an overview line per run test and the overall verdict."""
    parts = []
    for v in result.verdicts:
        parts.append(f"== {plain(v.run_test, 80)} ==\n")
        parts.append(
            render_verdict(v, colour=colour, width=width) if v.execution else f"{v.message}\n"
        )
    parts.append("overview:\n")
    for v in result.verdicts:
        word = _paint(VERDICT_WORD[v.verdict], v.verdict, colour)
        parts.append(f"  {plain(v.run_test, 80)}: {word} (exit {v.exit_code})\n")
    word = _paint(VERDICT_WORD[result.verdict], result.verdict, colour)
    parts.append(
        f"{word}: {len(result.verdicts)} run tests{_which(result)} (exit {result.exit_code})\n"
    )
    return "".join(parts)


def _which(result: GateResult) -> str:
    """Which run tests did not pass, by verdict: `; fail: A; not ready: B`."""
    out = ""
    for name in ("error", "fail", "not_ready"):
        tests = [plain(v.run_test, 80) for v in result.verdicts if v.verdict == name]
        if tests:
            out += f"; {VERDICT_WORD[name].lower()}: {', '.join(tests)}"
    return out
