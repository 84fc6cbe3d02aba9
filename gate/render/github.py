"""GitHub Actions: annotations, outputs and masks, written so that API text cannot forge any.

Workflow commands are parsed from the start of a log line (`::cmd::`) and, in the old syntax,
from `##[` anywhere; the report printed to the log is wrapped in `::stop-commands::` with a
random token so nothing inside it is read as a command. Outputs use a random heredoc delimiter.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence

from gate.render.common import plain
from gate.verdict import Check, GateResult, Verdict

MAX_ANNOTATIONS_PER_LEVEL = 10


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def mask_commands(values: Sequence[str]) -> str:
    """`::add-mask::` for each secret value (each line of a multi-line one)."""
    out = []
    for value in values:
        for line in value.splitlines():
            if line.strip():
                out.append(f"::add-mask::{escape_data(line)}\n")
    return "".join(out)


def quarantine(body: str) -> str:
    """`body` with workflow commands switched off around it."""
    if not body:
        return ""
    token = secrets.token_hex(16)
    if not body.endswith("\n"):
        body += "\n"
    return f"::stop-commands::{token}\n{body}::{token}::\n"


def _defang(text: str) -> str:
    """No `##[` (the old command syntax, read anywhere in a line) inside a command's text."""
    return text.replace("##[", "# #[")


# A policy error names its place: `fi-gate.yml:12: evals.X.min_pass_rate: ...`.
_LOCATED = re.compile(r"(?P<file>[^\s:]+\.(?:ya?ml|json)):(?P<line>\d+): (?P<text>.+)")


def _annotation(
    level: str, title: str, message: str, file: str | None = None, line: int | None = None
) -> str:
    """One annotation; on the file and line a located message names (a policy error), or the
    ones given (the rule a failing check comes from), so that GitHub shows it on the policy file
    itself, in the pull request's diff."""
    place = ""
    located = _LOCATED.fullmatch(message)
    if located:
        file, line = located["file"], int(located["line"])
    if file and line:
        place = f"file={escape_property(_defang(plain(file, 300)))},line={line},"
    title_text = escape_property(_defang(plain(title, 120)))
    return f"::{level} {place}title={title_text}::{escape_data(_defang(plain(message, 600)))}\n"


def located_error(line: str) -> str:
    """A policy problem (`file:line: path: what`) as an error annotation on that file and line;
    "" for a line that names no place."""
    return _annotation("error", "fi-gate: policy", line) if _LOCATED.fullmatch(line) else ""


def warning_annotation(title: str, message: str) -> str:
    """A warning annotation of fi-gate's own (the comment path's)."""
    return _annotation("warning", title, message)


def annotation_commands(result: GateResult) -> str:
    """Annotations for every verdict; with several run tests, each title names its own."""
    many = len(result.verdicts) > 1
    return "".join(_annotations(v, name_run_test=many) for v in result.verdicts)


def _annotations(v: Verdict, *, name_run_test: bool = False) -> str:
    """Annotations for one verdict; `name_run_test` puts its run test in every title."""
    out: list[str] = []

    def _label(c: Check) -> str:
        return f"{v.run_test}: {c.label}" if name_run_test and v.run_test else c.label

    if v.verdict in ("error", "not_ready"):
        level = "error" if v.exit_code else "warning"
        which = f" ({v.run_test})" if name_run_test and v.run_test else ""
        title = f"fi-gate: {v.verdict.replace('_', ' ')}{which}"
        for problem in v.problems[:MAX_ANNOTATIONS_PER_LEVEL] or (v.message,):
            out.append(_annotation(level, title, problem))
    for w in v.warnings:
        if "NOT gated" in w:
            out.append(_annotation("warning", "fi-gate: deploy not gated", w))
    for level, checks in (("error", v.failed_checks), ("warning", v.warning_checks)):
        for c in checks[:MAX_ANNOTATIONS_PER_LEVEL]:
            text = f"{c.status}: {c.message}"
            out.append(_annotation(level, f"fi-gate: {_label(c)}", text, v.policy_file, c.line))
        extra = len(checks) - MAX_ANNOTATIONS_PER_LEVEL
        if extra > 0:
            word = "failing" if level == "error" else "warning"
            out.append(
                f"::notice title=fi-gate::{extra} more {word} check(s); see the job summary\n"
            )
    return "".join(out)


def _heredoc(name: str, value: str) -> str:
    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    while delimiter in value:  # pragma: no cover - 128 random bits
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def outputs(result: GateResult, paths: Mapping[str, str]) -> str:
    """The step's outputs; `report`: where the JSON report was written, if it was."""
    values = {
        "verdict": result.verdict,
        "passed": "true" if result.passed else "false",
        "gated": "true" if result.gated else "false",
        "execution-id": ",".join(x.execution.execution_id for x in result.verdicts if x.execution),
        "report": paths.get("report", ""),
        "link": ",".join(x.link for x in result.verdicts if x.link),
        "selection": ",".join(x.selection for x in result.verdicts if x.selection),
        "failed-checks": str(result.failed_checks),
        "undecided-checks": str(result.undecided_checks),
        "pooled-executions": ",".join(p.execution_id for x in result.verdicts for p in x.pooled),
        "exit-code": str(result.exit_code),
    }
    return "".join(_heredoc(k, val) for k, val in values.items())
