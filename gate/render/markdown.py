"""The markdown job summary: verdict first, then the execution, the checks and the FMA clusters.

Everything that came from the API goes through `md()`: it cannot open HTML, break a table, make
a link or a heading, or mention anyone. GitHub renders this with cmark-gfm.
"""

from __future__ import annotations

import re

from gate import __version__
from gate.metrics import level_text
from gate.render.common import (
    VERDICT_WORD,
    bar,
    interval,
    metric,
    number,
    observed,
    ordered,
    plain,
    sparkline,
    status_label,
    threshold,
    when,
)
from gate.verdict import Check, Cluster, GateResult, ScenarioChange, Verdict

GITHUB_SUMMARY_LIMIT = 1024 * 1024  # GitHub refuses a step summary over 1 MiB
ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "🛑", "not_ready": "⏳"}
STATUS_ICON = {
    "pass": "✅",
    "fail": "❌",
    "undecided": "⏳",
    "warn": "⚠️",
    "missing": "❓",
    "no_data": "∅",
    "skipped": "➖",
}
SELECTION = {
    "started": "started by this run (`fi-gate run`)",
    "execution-id": "by its id",
    "latest": "the run test's newest execution",
    "latest-completed": "the run test's newest completed execution",
    "file": "a saved response (`--from-file`)",
}
MAX_CLUSTERS_PER_EVAL = 3
MAX_EXAMPLE_IDS = 3


def md(text: object, limit: int = 200) -> str:
    """Untrusted text as inert markdown, still readable raw: one line, with a backslash before
    only what markdown would act on (emphasis, code, links, HTML, entities, tables, math, a
    block marker at the start) and before what GitHub would turn into a link (`http:`,
    `www.`); `@` is written as the full-width `＠` (cmark-gfm makes an e-mail link of
    `x@evil.example` whatever escapes surround it). `is_helpful` and `80.77%` stay as they
    are."""
    safe = plain(text, limit).replace("@", "\uff20")
    out = []
    for i, ch in enumerate(safe):
        inside = 0 < i < len(safe) - 1 and safe[i - 1].isalnum() and safe[i + 1].isalnum()
        if (
            ch in _ALWAYS
            or (ch == "_" and not inside)  # `a_b` is no emphasis; `_a_` is
            or (ch == "." and safe[max(0, i - 3) : i].lower() == "www")
            or (ch == ":" and safe[i + 1 : i + 2] == "/")  # `http://` would become a link
        ):
            out.append("\\" + ch)
        else:
            out.append(ch)
    line = "".join(out)
    if re.match(r"[-+](\s|$)|=+\s*$", line):  # a list item, or a heading's underline
        line = "\\" + line
    numbered = re.match(r"\d{1,9}[.)](?=\s|$)", line)  # an ordered list item
    if numbered:
        line = f"{line[: numbered.end() - 1]}\\{line[numbered.end() - 1 :]}"
    return line


_ALWAYS = frozenset("\\`*[]<>|!~&#$")


def _check_row(c: Check) -> str:
    icon = STATUS_ICON["warn"] if c.warns and c.status != "warn" else STATUS_ICON.get(c.status, "")
    cells = [
        f"{icon}\u00a0{md(status_label(c))}",
        md(c.name, 80),
        md(c.config, 60) if c.config else "",
        md(metric(c)),
        md(observed(c)),
        (f"{md(interval(c))}{_at(c)} `{bar(c)}`" if c.interval else ""),
        md(threshold(c)),
        "" if c.n is None else str(c.n),
        md(c.message, 240) if c.status not in ("pass", "skipped") or c.baseline_execution else "",
    ]
    return "| " + " | ".join(cells) + " |"


def _run_row(c: Check) -> str:
    """A check of the execution as a whole (status, failed and completed calls, age)."""
    icon = STATUS_ICON["warn"] if c.warns and c.status != "warn" else STATUS_ICON.get(c.status, "")
    cells = [
        f"{icon}\u00a0{md(status_label(c))}",
        md(c.name, 80),
        md(observed(c)),
        md(threshold(c)),
        md(c.message, 240) if c.status not in ("pass", "skipped") else "",
    ]
    return "| " + " | ".join(cells) + " |"


RUN_HEADER = "| Status | Check | Observed | Threshold | Why |\n|---|---|---|---|---|"

INTERVAL_NOTE = (
    "<sub>Intervals: 95 % unless the policy sets `confidence` (then the bound is what is "
    "judged); Wilson for rates, the spread of scores for averages. Bar on 0–100: ━ interval, "
    "● observed, ┃ threshold.</sub>"
)
SEQUENCE_NOTE = (
    "<sub>`evidence:` decided the error-level rates and averages with anytime-valid "
    "confidence sequences over the pooled executions (their intervals here): a pass, or a "
    "fail, is wrong with probability at most 1 − `confidence` (5 % by default) however many "
    "executions were pooled.</sub>"
)


def _at(c: Check) -> str:
    """The interval's confidence, when the policy set one other than the default 95 %."""
    return f" at {level_text(c.confidence)}" if c.confidence and c.confidence != 0.95 else ""


CHECKS_HEADER = (
    "| Status | Eval | Config | Metric | Observed | Interval | Threshold | n | Why |\n"
    "|---|---|---|---|---|---|---|--:|---|"
)


def _facts(v: Verdict) -> list[str]:
    e = v.execution
    if e is None:
        return []
    execution = md(e.execution_id, 64)
    if v.link:  # built from two UUIDs the API gave, checked as such: safe as a link target
        execution = f"[{execution}]({v.link})"
    pooled = " (pooled)" if len(v.pooled) > 1 else ""
    rows = [
        ("Execution", execution + (f" (the last of {len(v.pooled)})" if pooled else "")),
        ("Status", md(e.status, 20)),
        ("Started", when(e.started_at)),
        ("Completed", when(e.completed_at)),
        (
            "Calls",
            f"{e.total_calls} total{pooled} · {e.completed_calls} completed · "
            f"{e.failed_calls} failed",
        ),
    ]
    if v.pooled:
        rows.append(("Evidence", _evidence(v)))
    if e.summary_status:
        rows.append(("Fix My Agent summary", md(e.summary_status, 20)))
    if v.selection:
        chosen = SELECTION.get(v.selection, md(v.selection, 40))
        if len(v.pooled) > 1:
            chosen += f", {len(v.pooled)} executions pooled (`evidence:`)"
        rows.append(("Chosen", chosen))
    if v.commit or v.ref:
        deployed = " · ".join(f"`{plain(x, 64)}`" for x in (v.commit, v.ref) if x)
        rows.append(("Deploying", deployed))
    (k0, v0), rest = rows[0], rows[1:]
    return [f"| **{k0}** | {v0} |", "|---|---|", *(f"| **{k}** | {val} |" for k, val in rest)]


def _interval_notes(evals: list[Check]) -> list[str]:
    """What the intervals are: the fixed-sample ones, and `evidence:`'s sequences."""
    notes = [INTERVAL_NOTE, ""] if any(c.interval for c in evals) else []
    if any(c.interval_source == "sequence" for c in evals):
        notes += [SEQUENCE_NOTE, ""]
    return notes


def _evidence(v: Verdict) -> str:
    """`evidence:`: every execution the gate started (linked), the calls, the budget."""
    budget = f" (evidence.max_calls {v.max_calls})" if v.max_calls is not None else ""
    runs = ", ".join(
        f"[{md(p.execution_id[:8], 8)}]({p.link})" if p.link else md(p.execution_id, 64)
        for p in v.pooled[:50]
    )
    return f"pooled over {len(v.pooled)} executions, {v.pooled_calls} calls{budget}: {runs}"


def _cluster_block(cl: Cluster) -> list[str]:
    size = f" · {cl.size} call{'s' if cl.size != 1 else ''}" if cl.size is not None else ""
    conf = f" · confidence {md(cl.confidence, 10)}" if cl.confidence else ""
    out = [f"- **{md(cl.name, 120)}**{size}{conf}"]
    if cl.description:
        out[0] += "\\"  # a hard line break: the description goes on its own line
        out.append(f"  {md(cl.description, 500)}")
    for issue in cl.issues[:3]:
        out.append(f"  - {md(issue, 240)}")
    if cl.guidance:
        out.append(f"  - *Guidance:* {md(cl.guidance, 400)}")
    if cl.call_ids:
        ids = ", ".join(md(i, 64) for i in cl.call_ids[:MAX_EXAMPLE_IDS])
        out.append(f"  - *Example calls:* {ids}")
    return out


def _failing_calls(v: Verdict) -> list[str]:
    """With --calls: example failing calls per failing check, and failed calls by scenario."""
    if v.calls is None:
        return []
    out: list[str] = []
    for c in ordered(v.checks):
        if not (c.blocks or c.warns):
            continue
        examples = v.examples_for(c)
        if not examples:
            continue
        label = c.label
        out.append(f"**{md(label, 120)}**")
        out.append("")
        for e in examples:
            reason = f": {md(e.reason, 240)}" if e.reason else ""
            out.append(f"- {md(e.scenario, 80)} ({md(e.call_id, 64)}){reason}")
        out.append("")
    if v.calls.failed_by_scenario:
        scenarios = ", ".join(f"{md(s, 60)} ({n})" for s, n in v.calls.failed_by_scenario)
        out += [f"**Failed calls by scenario:** {scenarios}", ""]
    return ["### Failing calls", "", *out] if out else []


def _trend(v: Verdict) -> list[str]:
    if not v.trend:
        return []
    runs = max(len(values) for _, values in v.trend)
    out = [
        f"### Trend (last {runs} completed executions, oldest first)",
        "",
        "| Eval | Trend | First | Now |",
        "|---|---|--:|--:|",
    ]
    for name, values in v.trend:
        known = [x for x in values if x is not None]
        first = number(known[0]) if known else "—"
        now = number(values[-1]) if values and values[-1] is not None else "—"
        out.append(f"| {md(name, 80)} | `{sparkline(values)}` | {first} | {now} |")
    return [*out, ""]


def _scenarios(v: Verdict) -> list[str]:
    """The scenarios that regressed against the baseline (a table), then the worse ones that are
    not significant (collapsed); nothing when there are none."""
    regressed = [r for r in v.scenarios if r.status == "regressed"]
    worse = [r for r in v.scenarios if r.status == "worse"]

    def row(r: ScenarioChange) -> str:
        eval_name = f"{r.eval} / {r.config}" if r.config else r.eval
        assert r.baseline is not None and r.current is not None
        adjusted = f"{r.adjusted_p_value:.3g}" if r.adjusted_p_value is not None else "—"
        return (
            f"| {md(r.scenario_name, 80)} | {md(eval_name, 80)} | {r.baseline[0]}/{r.baseline[1]}"
            f" | {r.current[0]}/{r.current[1]} | {adjusted} |"
        )

    header = ["| Scenario | Eval | Baseline | Now | Adjusted p |", "|---|---|--:|--:|--:|"]
    out: list[str] = []
    if regressed:
        out += ["### Scenarios that regressed", "", *header, *map(row, regressed[:50]), ""]
    if worse:
        out += [
            "<details><summary>Worse, but not significantly "
            f"({len(worse)} scenario{'s' if len(worse) != 1 else ''})</summary>",
            "",
            *header,
            *map(row, worse[:50]),
            "",
            "</details>",
            "",
        ]
    return out


def _clusters(v: Verdict) -> list[str]:
    clusters = v.clusters_for_failures()
    if not clusters:
        return []
    out = ["### Why: Fix My Agent failure clusters", ""]
    if len(v.pooled) > 1 and v.execution is not None:
        out += [
            f"Of the last execution ({md(v.execution.execution_id, 64)}) of the pooled ones.",
            "",
        ]
    by_eval: dict[str, list[Cluster]] = {}
    for cl in clusters:
        by_eval.setdefault(cl.eval_name, []).append(cl)
    for name, items in by_eval.items():
        items.sort(key=lambda c: -(c.size or 0))
        template = items[0].template
        title = f"{template} / {name}" if template and template != name else name
        out.append(f"**{md(title, 120)}**")
        out.append("")
        for cl in items[:MAX_CLUSTERS_PER_EVAL]:
            out.extend(_cluster_block(cl))
        if len(items) > MAX_CLUSTERS_PER_EVAL:
            out.append(f"- …and {len(items) - MAX_CLUSTERS_PER_EVAL} more cluster(s)")
        out.append("")
    return out


def render(result: GateResult, *, limit: int = GITHUB_SUMMARY_LIMIT) -> str:
    """The job summary: one run test's, or an overview and each run test's."""
    if len(result.verdicts) == 1:
        return render_verdict(result.verdicts[0], limit=limit)
    return _render_many(result, limit=limit)


def render_verdict(v: Verdict, *, limit: int = GITHUB_SUMMARY_LIMIT) -> str:
    """One run test's summary; past `limit` bytes, the least important parts are cut, and said."""
    title = f"## {ICON[v.verdict]} fi-gate: {VERDICT_WORD[v.verdict]}"
    if v.run_test:
        title += f" · {md(v.run_test, 120)}"
    head = [title, ""]
    if v.problems:
        head += [*(f"- {md(problem, 300)}" for problem in v.problems[:50]), ""]
    elif v.message:
        head += [md(v.message, 600), ""]
    facts = _facts(v)
    if facts:
        head += [*facts, ""]
    checks = ordered(v.checks)
    important = [c for c in checks if c.blocks or c.warns]
    rest = [c for c in checks if not (c.blocks or c.warns)]
    tail: list[str] = []
    if v.warnings:
        tail += ["### Warnings", "", *(f"- {md(w, 300)}" for w in v.warnings), ""]
    if v.not_gated:
        names = ", ".join(md(n, 60) for n in v.not_gated)
        tail += [f"**Not gated** (no rule and no default applies): {names}", ""]
    footer = [f"<sub>fi-gate {__version__} · {when(v.generated_at)}</sub>", ""]

    def assemble(rows: list[Check], with_clusters: bool, with_tail: bool, note: str) -> str:
        parts = list(head)
        evals = [c for c in rows if c.kind == "eval"]
        if evals:
            parts += ["### Checks", "", CHECKS_HEADER, *(_check_row(c) for c in evals), ""]
            parts += _interval_notes(evals)
        run = [c for c in rows if c.kind != "eval"]
        if run:  # the execution's own checks: no eval, config or interval to show
            parts += ["### Execution checks", "", RUN_HEADER, *(_run_row(c) for c in run), ""]
        if note:
            parts += [f"> [!NOTE]\n> {note}", ""]
        if with_clusters:
            parts += _trend(v)
            parts += _failing_calls(v)
            parts += _scenarios(v)
            parts += _clusters(v)
        if with_tail:
            parts += tail
        return "\n".join(parts + footer)

    text = assemble(checks, True, True, "")
    if len(text.encode()) <= limit:
        return text
    # Too big: keep the verdict, the execution facts and the failing checks; say what was cut.
    text = assemble(important, True, False, _cut_note(len(rest), clusters=False))
    if len(text.encode()) <= limit:
        return text
    shown = list(important)
    while shown:
        note = _cut_note(len(checks) - len(shown), clusters=True)
        text = assemble(shown, False, False, note)
        if len(text.encode()) <= limit:
            return text
        shown = shown[: max(0, len(shown) * 3 // 4)]
    return assemble([], False, False, _cut_note(len(checks), clusters=True))


def _cut_note(checks_cut: int, *, clusters: bool) -> str:
    parts = []
    if checks_cut:
        parts.append(f"{checks_cut} check(s)")
    if clusters:
        parts.append("the failure clusters")
    parts.append("warnings and not-gated evals")
    return (
        "This summary was cut to stay under GitHub's 1 MiB step-summary limit: "
        + ", ".join(parts)
        + " are left out. The JSON report (--report) has everything."
    )


def _render_many(result: GateResult, *, limit: int = GITHUB_SUMMARY_LIMIT) -> str:
    """An overview table, then each run test's summary one heading level down."""
    head = [
        f"## {ICON[result.verdict]} fi-gate: {VERDICT_WORD[result.verdict]} · "
        f"{len(result.verdicts)} run tests",
        "",
        "| Run test | Verdict | Failed checks | Execution |",
        "|---|---|--:|---|",
    ]
    for v in result.verdicts:
        execution = md(v.execution.execution_id, 64) if v.execution else "—"
        head.append(
            f"| {md(v.run_test, 80)} | {ICON[v.verdict]} {VERDICT_WORD[v.verdict]} | "
            f"{len(v.failed_checks)} | {execution} |"
        )
    text = "\n".join([*head, ""]) + "\n"
    share = max(4096, (limit - len(text.encode())) // max(1, len(result.verdicts)))
    for v in result.verdicts:
        section = render_verdict(v, limit=share)
        # One level down: our own headings start lines with '#'; API text never does (escaped).
        text += "\n".join(
            "#" + line if line.startswith("#") else line for line in section.split("\n")
        )
    return text
