"""Where fi-gate talks to people: standard error for messages, standard output for the report.

Every message line is scrubbed of the keys and disarmed, so that nothing the API sent can start
a line of the log that a runner would read as a workflow command.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from gate import redact

if TYPE_CHECKING:
    from gate.settings import Session

PROG = "fi-gate"


class Console:
    """Where messages go: stderr for humans, with secrets masked and workflow commands disarmed.

    A message that cannot be written (stderr closed, or a broken pipe) is dropped: there is
    nobody to tell, and the exit code still says what happened.
    """

    def __init__(
        self,
        err: TextIO | None,
        secrets: Sequence[str] = (),
        verbose: bool = False,
        interface: str | None = None,
    ) -> None:
        self.err = err
        self.interface = interface  # github-action, gitlab-component: name its inputs
        # Very short values would mangle every message and cannot be real keys.
        self.secrets = [s for s in secrets if len(s) >= redact.MIN_SECRET_LENGTH]
        self.verbose = verbose

    def scrub(self, text: str) -> str:
        """The keys of this run (`redact.register`), whole, in part or escaped, masked."""
        return redact.scrub(text)

    def write_line(self, line: str) -> None:
        """A line without the prefix (`validate` prints located errors so), disarmed."""
        self._write("".join(f"{disarm(part)}\n" for part in line.splitlines() or [""]))

    def command(self, text: str) -> None:
        """GitHub workflow commands of fi-gate's own (masks, annotations), as they are."""
        if text:
            self._write(text)
            with contextlib.suppress(OSError, ValueError, AttributeError):
                self.err.flush()  # type: ignore[union-attr]

    def _write(self, text: str) -> None:
        try:
            if self.err is not None:
                self.err.write(text)
        except OSError:
            self.err = None

    def _lines(self, prefix: str, text: str) -> None:
        if self.interface:
            from gate.hints import for_interface

            text = for_interface(text, self.interface)
        lines = self.scrub(text).splitlines() or [""]
        self._write("".join(f"{prefix}{disarm(line)}\n" for line in lines))

    def error(self, text: str) -> None:
        self._lines(f"{PROG}: error: ", text)

    def info(self, text: str) -> None:
        """Every line prefixed and disarmed: API text (a status with a newline in it) can never
        start a line of the log, where it would be read as a workflow command."""
        self._lines(f"{PROG}: ", text)

    def traceback(self) -> None:
        """The current exception's traceback (--verbose): keys masked, commands disarmed."""
        self._lines("", traceback.format_exc().rstrip("\n"))

    def debug(self, text: str) -> None:
        if self.verbose:
            self._lines(f"{PROG}: debug: ", text)


def for_run(session: Session, verbose: bool = False) -> Console:
    """Standard error for one run: its keys, tokens and proxy password masked everywhere (and,
    in a GitHub job, in GitHub's log too), its inputs named as the interface names them."""
    redact.register(list(session.secrets))
    console = Console(sys.stderr, list(session.secrets), verbose, session.interface)
    if session.in_actions:
        from gate.render.github import mask_commands

        console.command(mask_commands(console.secrets))
    return console


def disarm(line: str) -> str:
    """A log line that cannot be read as a GitHub workflow command: `::` at its start, or the
    old `##[` syntax anywhere, visibly broken (`: :`, `# #[`), with no invisible character."""
    if line.lstrip().startswith("::") or "##[" in line:
        return line.replace("::", ": :").replace("##[", "# #[")
    return line


class StdoutError(Exception):
    """Standard output could not be written (a closed pipe, a full disk, a closed descriptor)."""


def stdout(text: str) -> None:
    """Write to standard output now; a failure is a `StdoutError`, reported by `main`."""
    out = sys.stdout
    try:
        if out is None:  # started with descriptor 1 closed
            raise OSError(9, "it is closed")
        out.write(text)
        out.flush()
    except OSError as exc:
        raise StdoutError(exc.strerror or str(exc)) from exc


def detach_stdout() -> None:
    """After a failed write, point descriptor 1 at /dev/null, so that the interpreter's own flush
    at exit does not fail again with a second message."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests), or closed
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def colour(no_color: bool, session: Session, stream: TextIO | None) -> bool:
    """Colour on a terminal, unless --no-color or NO_COLOR; FORCE_COLOR forces it."""
    if no_color or session.no_color or stream is None:
        return False
    if session.force_color:
        return True
    return stream.isatty()
