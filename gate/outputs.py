"""Every place a verdict goes, in one table: the parser's flags, the environment variables, the
renderers and the writing all come from `OUTPUTS` and `FORMATS`.

Adding an output format is a renderer module with `render(result: GateResult) -> str` and one
row here (docs/architecture.md).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.errors import UsageError

if TYPE_CHECKING:
    from gate.console import Console
    from gate.verdict import GateResult

Paths = Mapping[str, str]  # output name -> the path it is written to, for this run


@dataclass(frozen=True)
class Output:
    """One report file: its name, the flag and environment variable that give its path, and
    the renderer (`module:function`, imported only when the file is written)."""

    name: str
    flag: str | None
    env: str
    help: str
    renderer: str
    append: bool = False  # the runner's own files are appended to; ours are replaced whole
    switch: str | None = None  # a boolean variable that turns it off (default on)
    actions_only: bool = False  # read only inside a GitHub Actions job
    with_paths: bool = False  # the renderer also names the other outputs' paths

    def render(self, result: GateResult, paths: Paths) -> str:
        make = _load(self.renderer)
        return make(result, paths) if self.with_paths else make(result)


def _load(renderer: str) -> Callable[..., str]:
    module, _, function = renderer.partition(":")
    make: Callable[..., str] = getattr(importlib.import_module(module), function)
    return make


OUTPUTS: tuple[Output, ...] = (
    Output("report", "--report", "FI_GATE_REPORT", "write the JSON report here",
           "gate.render.report:render"),
    Output("summary", "--summary", "FI_GATE_SUMMARY", "write the markdown summary here",
           "gate.render.markdown:render"),
    Output("junit", "--junit", "FI_GATE_JUNIT", "write a JUnit XML report here",
           "gate.render.junit:render"),
    Output("dotenv", "--dotenv", "FI_GATE_DOTENV",
           "write FI_GATE_* variables here (GitLab dotenv)", "gate.render.dotenv:render"),
    Output("step_summary", None, "GITHUB_STEP_SUMMARY", "the job summary (GitHub sets it)",
           "gate.render.markdown:render", append=True, switch="FI_GATE_STEP_SUMMARY"),
    Output("github_output", None, "GITHUB_OUTPUT", "the step's outputs (GitHub sets it)",
           "gate.render.github:outputs", append=True, actions_only=True, with_paths=True),
)  # fmt: skip

# What `--format` prints on standard output.
FORMATS: dict[str, str] = {"text": "gate.render.text:render", "json": "gate.render.report:render"}


def add_flags(parser: argparse.ArgumentParser) -> None:
    """`--format` and a flag for each report file."""
    parser.add_argument("--format", choices=tuple(FORMATS), default="text", help="stdout format")
    for output in OUTPUTS:
        if output.flag:
            parser.add_argument(output.flag, metavar="PATH", help=output.help)


class PartialOutputs(Exception):
    """Resolved (settings.output_paths), but a switch was wrong: the paths to write anyway,
    and the error to report."""

    def __init__(self, paths: dict[str, str], error: UsageError) -> None:
        super().__init__(str(error))
        self.paths = paths
        self.error = error


def write(result: GateResult, paths: Paths, console: Console) -> list[str]:
    """Write every output that has a path; the paths that could not be written."""
    from gate.files import write_atomic

    failed: list[str] = []
    for output in OUTPUTS:
        path = paths.get(output.name)
        if not path:
            continue
        try:
            content = console.scrub(output.render(result, paths))
            if output.append:
                with open(path, "a", encoding="utf-8") as f:
                    f.write(content)
            else:
                write_atomic(path, content)  # never through a link planted at the path
        except OSError as exc:
            console.error(f"cannot write {path}: {exc.strerror}; check the path and permissions")
            failed.append(path)
    return failed


def stdout_body(result: GateResult, fmt: str, *, colour: bool) -> str:
    """What `--format` prints: the terminal report (nothing when no execution was read: the
    error line says it), as wide as the terminal when it is one, or exactly one JSON
    document."""
    make = _load(FORMATS[fmt])
    if fmt == "text":
        if len(result.verdicts) == 1 and result.verdicts[0].execution is None:
            return ""
        return make(result, colour=colour, width=terminal_width())
    return make(result)


def terminal_width() -> int | None:
    """The terminal's columns; None when standard output is piped or a file (the full table,
    as CI logs keep it)."""
    import shutil
    import sys

    try:
        if sys.stdout is None or not sys.stdout.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return shutil.get_terminal_size().columns


def emit(
    result: GateResult,
    paths: Paths,
    console: Console,
    *,
    fmt: str,
    colour: bool,
    in_actions: bool,
) -> int:
    """Write every report, then standard output; the exit code, which a report that could not
    be written turns into 2 (said on the log's last line)."""
    from gate.console import stdout
    from gate.errors import EXIT_USAGE

    failed = write(result, paths, console)
    code = EXIT_USAGE if failed else result.exit_code
    body = console.scrub(stdout_body(result, fmt, colour=colour))
    if in_actions:
        from gate.render import github

        # JSON: the old `##[command]` syntax is read anywhere in a line; text: quarantined.
        body = body.replace("##[", "#\\u0023[") if fmt == "json" else github.quarantine(body)
        # Workflow commands go to standard error, which the runner reads too.
        console.command(console.scrub(github.annotation_commands(result)))
    stdout(body)
    if failed:
        console.error(
            f"exit {code}: could not write {', '.join(failed)} (the verdict was "
            f"{result.verdict}, exit {result.exit_code})"
        )
    return code
