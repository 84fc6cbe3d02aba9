"""The command line: parse, build the parts, run, and turn the outcome into an exit code."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from gate import __version__, environment, redact
from gate.errors import (
    EXIT_PASS,
    EXIT_USAGE,
    ApiError,
    ConfigError,
    GateError,
    NotReadyError,
    OutageError,
    UsageError,
)
from gate.runs import Started

if TYPE_CHECKING:
    from gate.calls import CallsSummary, PagePlan
    from gate.client import Client, Deadline
    from gate.model import Execution
    from gate.policy import Policy
    from gate.verdict import GateResult, Verdict

PROG = "fi-gate"
MIN_SECRET_LENGTH = redact.MIN_SECRET_LENGTH
SECRET_VARIABLES = environment.CREDENTIALS
_env = environment.text
_flag = environment.flag
SELECT_CHOICES = ("latest", "latest-completed")
ON_API_ERROR_CHOICES = ("fail", "pass")
DEFAULT_POLICY = "fi-gate.yml"
DEFAULT_TIMEOUT = 120.0
DEFAULT_WAIT_TIMEOUT = 1800.0
DEFAULT_WORKERS = 4
# Call pages (plan_pages): the later pages hold at least 2,000 calls, and enough that they are
# all in flight at once (one round trip), up to 5,000; page 1, which comes with the execution,
# holds two later pages' worth. Chosen by measurement: see docs/performance.md.
CALL_PAGE_SIZE = 2000
MAX_CALL_PAGE_SIZE = 5000
FIRST_PAGE_SPAN = 2
EPILOG = """exit codes: 0 pass (warnings allowed), 1 gate failed, 2 usage or configuration error,
3 API, network or response error, 4 not ready (no execution in a final state);
130 interrupted, 143 terminated (no verdict)

environment: FI_API_KEY, FI_SECRET_KEY (credentials, never flags), FI_BASE_URL,
FI_GATE_POLICY, FI_GATE_RUN_TEST, FI_GATE_EXECUTION_ID, NO_COLOR"""


def _judging_options(c: argparse.ArgumentParser, *, wait_default: float | None) -> None:
    """The options `check` and `run` share: where the API is, what to write, how long."""
    c.add_argument(
        "--base-url", metavar="URL", help="API base URL (default https://api.futureagi.com)"
    )
    c.add_argument("--format", choices=("text", "json"), default="text", help="stdout format")
    c.add_argument("--report", metavar="PATH", help="write the JSON report here")
    c.add_argument("--summary", metavar="PATH", help="write the markdown summary here")
    c.add_argument("--junit", metavar="PATH", help="write a JUnit XML report here")
    c.add_argument(
        "--dotenv", metavar="PATH", help="write FI_GATE_* variables here (GitLab dotenv)"
    )
    default = DEFAULT_TIMEOUT if wait_default is None else wait_default
    c.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=None,
        help=f"deadline for the whole run, retries included (default {default:g})",
    )
    c.add_argument(
        "--on-api-error",
        choices=ON_API_ERROR_CHOICES,
        default=None,
        help="on an outage (connection errors, timeouts, 5xx or 429 after retries): fail (exit "
        "3, default) or pass (exit 0, verdict error, not gated); never for a rejected key, a "
        "wrong URL or a malformed answer",
    )
    c.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow a plain http:// base URL that is not a loopback address",
    )
    c.add_argument(
        "--wait-for-summary",
        action="store_true",
        help="also wait (within the deadline) for the Fix My Agent summary",
    )
    c.add_argument(
        "--calls",
        action="store_true",
        help="also read every call: failing examples per eval and failed calls by scenario",
    )
    c.add_argument(
        "--workers",
        metavar="N",
        type=int,
        default=None,
        help=f"with --calls: call pages read at once (default {DEFAULT_WORKERS})",
    )
    c.add_argument("--verbose", action="store_true", help="show tracebacks and request details")
    c.add_argument("--no-color", action="store_true", help="never colour the output")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Promotion gate for Future AGI simulation run tests.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser(
        "run",
        help="start a run test's simulation, wait for it, and judge that execution",
        description="Start an execution of each run test, wait for it (cancelling it if the "
        "job is cancelled or the deadline passes), and judge it: the race-free way to gate "
        "the change being deployed.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("--policy", metavar="PATH", help=f"policy file (default {DEFAULT_POLICY})")
    r.add_argument(
        "--run-test",
        metavar="NAME",
        action="append",
        help="run test to start (repeat to start several at once; default: the policy's)",
    )
    r.add_argument(
        "--scenario",
        metavar="ID",
        action="append",
        help="run only this scenario (repeat for several; default: all of the run test's)",
    )
    r.add_argument(
        "--no-cancel",
        action="store_true",
        help="leave the execution running when the job is cancelled or the deadline passes",
    )
    _judging_options(r, wait_default=DEFAULT_WAIT_TIMEOUT)

    c = sub.add_parser(
        "check",
        help="judge the latest execution of a run test against a policy",
        description="Judge an execution against a policy; the exit code is the verdict.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    c.add_argument("--policy", metavar="PATH", help=f"policy file (default {DEFAULT_POLICY})")
    what = c.add_argument_group("what to judge (one of)")
    what.add_argument(
        "--run-test",
        metavar="NAME",
        action="append",
        help="run test name: judge its latest execution (repeat to judge several together)",
    )
    what.add_argument("--execution-id", metavar="UUID", help="judge this execution")
    what.add_argument(
        "--from-file",
        metavar="PATH",
        help="judge a saved execution-detail response (no network, no keys)",
    )
    c.add_argument(
        "--select",
        choices=SELECT_CHOICES,
        default=None,
        help="with a run test: judge the newest execution (default) or the newest completed one",
    )
    c.add_argument(
        "--wait",
        action="store_true",
        help="poll a running execution until it is final (bounded by --timeout, default 1800 then)",
    )
    _judging_options(c, wait_default=None)

    v = sub.add_parser(
        "validate",
        help="validate policy files (exit 0 or 2)",
        description="Validate policy files; prints one line per problem. Exit 0 or 2.",
    )
    v.add_argument("paths", nargs="+", metavar="PATH")

    sub.add_parser(
        "schema", help="print the policy JSON Schema", description="Print the policy JSON Schema."
    )

    i = sub.add_parser(
        "init",
        help="write a starter policy from a run test's recent executions",
        description="Write a commented starter policy from the last completed executions.",
    )
    i.add_argument("--run-test", metavar="NAME", required=True)
    i.add_argument(
        "--from-last",
        metavar="N",
        type=int,
        default=5,
        help="completed executions to learn from (default 5, at most 20)",
    )
    i.add_argument(
        "--output",
        metavar="PATH",
        default=DEFAULT_POLICY,
        help=f"where to write it (default {DEFAULT_POLICY}; - for stdout)",
    )
    i.add_argument("--force", action="store_true", help="overwrite an existing file")
    i.add_argument("--base-url", metavar="URL")
    return p


@dataclass(frozen=True)
class Outputs:
    """Where the verdict goes: resolved first, so it is written even when everything else fails."""

    report: str | None
    summary: str | None
    junit: str | None
    dotenv: str | None
    step_summary: str | None


def resolve_outputs(args: argparse.Namespace, environ: Mapping[str, str]) -> Outputs:
    step = _env(environ, "GITHUB_STEP_SUMMARY")
    if not environment.flag(environ, "FI_GATE_STEP_SUMMARY", default=True):
        step = None
    return Outputs(
        report=args.report or _env(environ, "FI_GATE_REPORT"),
        summary=args.summary or _env(environ, "FI_GATE_SUMMARY"),
        junit=args.junit or _env(environ, "FI_GATE_JUNIT"),
        dotenv=args.dotenv or _env(environ, "FI_GATE_DOTENV"),
        step_summary=step,
    )


@dataclass(frozen=True)
class Settings:
    """Everything a check needs, resolved from flags > environment > policy."""

    policy_path: str
    run_test: str | None
    execution_id: str | None
    from_file: str | None
    base_url: str
    select: str
    timeout: float
    on_api_error: str
    api_key: str | None = None
    secret_key: str | None = None
    ca_bundle: str | None = None
    run_tests: tuple[str, ...] = ()
    calls: bool = False
    wait: bool = False
    wait_for_summary: bool = False
    workers: int = DEFAULT_WORKERS
    page_size: int | None = None  # None: chosen from the execution's size (call_page_size)
    mode: str = "check"  # or "run": start the execution, then judge it
    scenarios: tuple[str, ...] = ()
    cancel: bool = True  # run: cancel what it started on SIGTERM/SIGINT and at the deadline
    app_url: str = "https://app.futureagi.com"
    commit: str | None = None  # of the pipeline (GITHUB_SHA, CI_COMMIT_SHA)
    ref: str | None = None  # GITHUB_REF, CI_COMMIT_REF_NAME
    commit_time: datetime | None = None  # CI_COMMIT_TIMESTAMP, or the GitHub event's


def _ci_commit(environ: Mapping[str, str]) -> tuple[str | None, str | None, datetime | None]:
    """The commit and ref this pipeline deploys, and the commit's time, when the CI says so."""
    commit = _env(environ, "GITHUB_SHA") or _env(environ, "CI_COMMIT_SHA")
    ref = _env(environ, "GITHUB_REF") or _env(environ, "CI_COMMIT_REF_NAME")
    when = _env(environ, "CI_COMMIT_TIMESTAMP")
    event = _env(environ, "GITHUB_EVENT_PATH")
    if when is None and event:  # a push event names its head commit's time
        with contextlib.suppress(Exception):
            from gate.files import read_regular

            data = json.loads(read_regular(event, 4 * 1024 * 1024))
            when = (data.get("head_commit") or {}).get("timestamp")
    stamp = None
    if when:
        with contextlib.suppress(ValueError):
            stamp = datetime.fromisoformat(when.replace("Z", "+00:00"))
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=timezone.utc)
    clean = re.compile(r"[^A-Za-z0-9._/+-]")
    return (
        clean.sub("", commit)[:64] if commit else None,
        clean.sub("", ref)[:200] if ref else None,
        stamp,
    )


def _workers(flag: int | None, environ: Mapping[str, str]) -> int:
    raw = flag if flag is not None else _env(environ, "FI_GATE_WORKERS")
    try:
        workers = int(raw) if raw is not None else DEFAULT_WORKERS
    except ValueError:
        raise UsageError(f"FI_GATE_WORKERS={raw!r} is not a whole number") from None
    if not 1 <= workers <= 32:
        raise UsageError(f"--workers {workers} is out of range; give 1 to 32")
    return workers


def plan_pages(total_calls: int, workers: int, fixed: int | None = None) -> PagePlan:
    """How to page an execution's calls, from the listing's `total_calls` (0: not known).

    Page 1 comes with the execution. The later pages are asked for together as soon as it is
    here, and page 1's calls are digested while they are in flight; so page 1 holds
    FIRST_PAGE_SPAN later pages' worth of calls, and the later pages are sized to be read in
    one round of `workers` requests: CALL_PAGE_SIZE calls or more, at most MAX_CALL_PAGE_SIZE.
    `fixed` (FI_GATE_CALL_PAGE_SIZE) sizes every page alike.
    """
    from gate.calls import PagePlan

    if fixed:
        return PagePlan(fixed, fixed)
    rest = -(-total_calls // (workers + FIRST_PAGE_SPAN))  # ceiling division
    rest = max(CALL_PAGE_SIZE, min(MAX_CALL_PAGE_SIZE, rest))
    return PagePlan(rest * FIRST_PAGE_SPAN, rest)


def _page_size(environ: Mapping[str, str]) -> int | None:
    raw = _env(environ, "FI_GATE_CALL_PAGE_SIZE")
    if raw is None:
        return None
    if not raw.isdigit() or not 10 <= int(raw) <= 10_000:
        raise UsageError(f"FI_GATE_CALL_PAGE_SIZE={raw!r}: give a whole number from 10 to 10000")
    return int(raw)


def resolve(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    from gate.client import DEFAULT_BASE_URL, check_base_url

    mode = "run" if args.command == "run" else "check"
    for name, default in (("execution_id", None), ("from_file", None), ("select", None)):
        if not hasattr(args, name):
            setattr(args, name, default)
    if not hasattr(args, "wait"):
        args.wait = True  # `run` waits for what it started
    names: list[str] = list(args.run_test or [])
    if len(names) > 1 and args.execution_id is not None:
        raise UsageError(
            "--execution-id judges one execution; give at most one --run-test with it (the run "
            "test it belongs to, for that run test's rules and history)"
        )
    if args.from_file and (names or args.execution_id):
        raise UsageError(
            "--from-file judges a saved execution; do not combine it with "
            "--run-test or --execution-id"
        )
    for flag, value in (
        *(("--run-test", name) for name in names),
        ("--execution-id", args.execution_id),
        ("--policy", args.policy),
        ("--from-file", args.from_file),
    ):
        if value is not None and not value.strip():
            raise UsageError(f"{flag} is empty; give a value or leave the flag out")
    execution_id = args.execution_id or None
    if not names:  # flags beat the environment; --run-test also beats FI_GATE_EXECUTION_ID
        if execution_id is None:
            execution_id = _env(environ, "FI_GATE_EXECUTION_ID")
        # Several run tests: one name per line (names may hold commas).
        names = [n.strip() for n in (_env(environ, "FI_GATE_RUN_TEST") or "").splitlines()]
        names = [n for n in names if n]
        if execution_id is not None and len(names) > 1:
            raise UsageError(
                "an execution id judges one execution, and FI_GATE_RUN_TEST names several run "
                "tests: name only the run test it belongs to"
            )
    run_test = names[0] if len(names) == 1 else None
    if execution_id is not None:
        try:
            execution_id = str(uuid.UUID(execution_id.strip()))
        except ValueError:
            raise UsageError(
                f"execution id {execution_id.strip()[:60]!r} is not a UUID; copy it from the "
                "run test's execution page"
            ) from None
    wait = args.wait or args.wait_for_summary or _flag(environ, "FI_GATE_WAIT")
    wait_for_summary = args.wait_for_summary or _flag(environ, "FI_GATE_WAIT_FOR_SUMMARY")
    wait = wait or wait_for_summary
    timeout = args.timeout
    if timeout is None:
        raw = _env(environ, "FI_GATE_TIMEOUT")
        try:
            timeout = float(raw) if raw else (DEFAULT_WAIT_TIMEOUT if wait else DEFAULT_TIMEOUT)
        except ValueError:
            raise UsageError(f"FI_GATE_TIMEOUT={raw!r} is not a number of seconds") from None
    if not 0 < timeout <= 6 * 3600:
        raise UsageError(f"--timeout {timeout:g} is out of range; give 1 to 21600 seconds")
    on_api_error = (
        args.on_api_error
        or environment.choice(environ, "FI_GATE_ON_API_ERROR", ON_API_ERROR_CHOICES)
        or "fail"
    )
    # FI_GATE_INPUT_* are set by the GitHub action from its inputs; an empty input must not hide
    # a key or URL given in the workflow's env, so they have names of their own.
    base = (
        args.base_url
        or _env(environ, "FI_GATE_INPUT_BASE_URL")
        or _env(environ, "FI_BASE_URL")
        or DEFAULT_BASE_URL
    )
    allow_http = args.allow_insecure_http or _flag(environ, "FI_GATE_ALLOW_INSECURE_HTTP")
    commit, ref, commit_time = _ci_commit(environ)
    return Settings(
        policy_path=args.policy or _env(environ, "FI_GATE_POLICY") or DEFAULT_POLICY,
        run_test=run_test,
        execution_id=execution_id,
        from_file=args.from_file,
        base_url=check_base_url(base, allow_insecure_http=allow_http),
        select=args.select
        or environment.choice(environ, "FI_GATE_SELECT", SELECT_CHOICES)
        or "latest",
        run_tests=tuple(names) if len(names) > 1 else (),
        timeout=timeout,
        on_api_error=on_api_error,
        api_key=_env(environ, "FI_GATE_INPUT_API_KEY") or _env(environ, "FI_API_KEY"),
        secret_key=_env(environ, "FI_GATE_INPUT_SECRET_KEY") or _env(environ, "FI_SECRET_KEY"),
        ca_bundle=_env(environ, "REQUESTS_CA_BUNDLE") or _env(environ, "CURL_CA_BUNDLE"),
        calls=args.calls or _flag(environ, "FI_GATE_CALLS"),
        wait=wait,
        wait_for_summary=wait_for_summary,
        workers=_workers(args.workers, environ),
        page_size=_page_size(environ),
        mode=mode,
        scenarios=_scenarios(getattr(args, "scenario", None), environ),
        cancel=not getattr(args, "no_cancel", False) and _flag(environ, "FI_GATE_CANCEL", True),
        app_url=_app_url(environ),
        commit=commit,
        ref=ref,
        commit_time=commit_time,
    )


def _mode(environ: Mapping[str, str]) -> str:
    return environment.choice(environ, "FI_GATE_MODE", ("check", "run")) or "check"


def _scenarios(flags: list[str] | None, environ: Mapping[str, str]) -> tuple[str, ...]:
    """Scenario ids: repeated --scenario, else FI_GATE_SCENARIOS (one a line, or commas)."""
    raw = list(flags or []) or re.split(r"[\s,]+", _env(environ, "FI_GATE_SCENARIOS") or "")
    ids = []
    for value in (v.strip() for v in raw):
        if not value:
            continue
        try:
            ids.append(str(uuid.UUID(value)))
        except ValueError:
            raise UsageError(
                f"scenario {value[:60]!r} is not a UUID; copy scenario ids from the run test's "
                "page in the app"
            ) from None
    return tuple(dict.fromkeys(ids))


def _app_url(environ: Mapping[str, str]) -> str:
    """The web app links point into: FI_APP_URL (self-hosted), else app.futureagi.com."""
    from gate.runs import DEFAULT_APP_URL

    url = _env(environ, "FI_APP_URL") or DEFAULT_APP_URL
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise UsageError(f"FI_APP_URL={url[:80]!r} is not an http(s) URL of the web app")
    return url.rstrip("/")


class Console:
    """Where messages go: stderr for humans, with secrets masked and workflow commands disarmed.

    A message that cannot be written (stderr closed, or a broken pipe) is dropped: there is
    nobody to tell, and the exit code still says what happened.
    """

    def __init__(
        self, err: TextIO | None, secrets: Sequence[str] = (), verbose: bool = False
    ) -> None:
        self.err = err
        # Very short values would mangle every message and cannot be real keys.
        self.secrets = [s for s in secrets if len(s) >= MIN_SECRET_LENGTH]
        self.verbose = verbose

    def scrub(self, text: str) -> str:
        """The keys of this run (`redact.register`), whole, in part or escaped, masked."""
        return redact.scrub(text)

    def write_line(self, line: str) -> None:
        """A line without the prefix (`validate` prints located errors so), disarmed."""
        self._write("".join(f"{_disarm(part)}\n" for part in line.splitlines() or [""]))

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

    def error(self, text: str) -> None:
        lines = self.scrub(text).splitlines() or [""]
        self._write("".join(f"{PROG}: error: {_disarm(line)}\n" for line in lines))

    def info(self, text: str) -> None:
        """Every line prefixed and disarmed: API text (a status with a newline in it) can never
        start a line of the log, where it would be read as a workflow command."""
        lines = self.scrub(text).splitlines() or [""]
        self._write("".join(f"{PROG}: {_disarm(line)}\n" for line in lines))

    def traceback(self) -> None:
        """The current exception's traceback (--verbose): keys masked, commands disarmed."""
        lines = self.scrub(traceback.format_exc()).splitlines()
        self._write("".join(_disarm(line) + "\n" for line in lines))

    def debug(self, text: str) -> None:
        if self.verbose:
            lines = self.scrub(text).splitlines() or [""]
            self._write("".join(f"{PROG}: debug: {_disarm(line)}\n" for line in lines))


def _disarm(line: str) -> str:
    """A log line that cannot be read as a GitHub workflow command."""
    stripped = line.lstrip()
    if stripped.startswith("::") or "##[" in line:
        # Visibly broken, with no invisible character: `: :` and `# #[`.
        return line.replace("::", ": :").replace("##[", "# #[")
    return line


class _StdoutError(Exception):
    """Standard output could not be written (a closed pipe, a full disk, a closed descriptor)."""


def _stdout(text: str) -> None:
    """Write to standard output now; a failure is a `_StdoutError`, reported by `main`."""
    out = sys.stdout
    try:
        if out is None:  # started with descriptor 1 closed
            raise OSError(9, "it is closed")
        out.write(text)
        out.flush()
    except OSError as exc:
        raise _StdoutError(exc.strerror or str(exc)) from None


def _detach_stdout() -> None:
    """After a failed write, point descriptor 1 at /dev/null, so that the interpreter's own flush
    at exit does not fail again with a second message."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests), or closed
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return _command(args, environ)
    except _StdoutError as exc:
        _detach_stdout()
        Console(sys.stderr).error(
            f"cannot write to standard output: {exc}; check what reads it (a closed pipe, a "
            "full disk)"
        )
        return EXIT_USAGE


def _command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.command == "schema":
        from gate.policy import schema

        _stdout(json.dumps(schema(), indent=2) + "\n")
        return EXIT_PASS
    if args.command == "validate":
        return _validate(args.paths)
    import signal  # not before: --version stays lean

    previous = _on_sigterm(_terminate)
    try:
        if args.command == "init":
            return _init(args, environ)
        return _check(args, environ)  # check, run
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (a cancelled CI job): no verdict
        if isinstance(exc, Terminated):
            Console(sys.stderr).error("terminated; no verdict")
            return 128 + signal.SIGTERM
        Console(sys.stderr).error("interrupted; no verdict")
        return 128 + signal.SIGINT
    finally:
        _on_sigterm(previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is, so that the run unwinds as on Ctrl-C: the
    open requests are cut off, and the exit is prompt (also as a container's PID 1, which
    the kernel does not stop on SIGTERM unless it handles the signal)."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def _on_sigterm(handler: Any) -> Any:
    """Install a SIGTERM handler (only the main thread may); the previous one, to restore."""
    import signal
    import threading

    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


def _validate(paths: Sequence[str]) -> int:
    from gate.policy import load_policy

    code = EXIT_PASS
    console = Console(sys.stderr)
    for path in paths:
        try:
            policy = load_policy(path)
        except ConfigError as exc:
            for line in str(exc).splitlines():
                console.write_line(line)
            code = EXIT_USAGE
        else:
            rules = len(policy.evals)
            _stdout(f"{path}: ok (version 1, {rules} eval rule{'s' if rules != 1 else ''})\n")
    return code


def _init(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from gate.client import DEFAULT_BASE_URL, Client, Deadline, check_base_url
    from gate.init import starter_policy
    from gate.model import parse_execution
    from gate.policy import parse_policy

    redact.register(environ.get(n, "").strip() for n in SECRET_VARIABLES)
    console = Console(sys.stderr, secrets=[environ.get(n, "") for n in SECRET_VARIABLES])
    try:
        if not 1 <= args.from_last <= 20:
            raise UsageError("--from-last takes 1 to 20 executions")
        if args.output != "-" and Path(args.output).exists() and not args.force:
            raise UsageError(f"{args.output} exists; pass --force to overwrite it")
        key, secret = _env(environ, "FI_API_KEY"), _env(environ, "FI_SECRET_KEY")
        if not key or not secret:
            raise UsageError("FI_API_KEY and FI_SECRET_KEY must be set to read the run test")
        base = check_base_url(args.base_url or _env(environ, "FI_BASE_URL") or DEFAULT_BASE_URL)
        with Client(base, key, secret, deadline=Deadline(DEFAULT_TIMEOUT)) as client:
            # One listing page: it carries every execution's eval results.
            _, _, items = client.list_executions(args.run_test, 1, min(50, args.from_last * 3))
        done = [parse_execution(item) for item in items]
        done = [e for e in done if e.status == "completed"][: args.from_last]
        if not done:
            raise UsageError(
                f"run test {args.run_test!r} has no completed execution among its newest; "
                "run it first"
            )
        text = starter_policy(args.run_test, done)
        try:
            parse_policy(text, "<generated>")  # never write a policy that does not validate
        except ConfigError:
            raise UsageError(
                f"no eval of run test {args.run_test!r} has data in its last {len(done)} "
                "completed execution(s), so there is nothing to draw thresholds from; attach "
                "evals to the run test and run it"
            ) from None
    except GateError as exc:
        console.error(str(exc))
        return exc.exit_code
    if args.output == "-":
        _stdout(text)
    else:
        try:
            from gate.files import write_atomic

            write_atomic(args.output, text)  # never through a link planted at the path
        except OSError as exc:
            console.error(
                f"cannot write {args.output}: {exc.strerror}; check the path and permissions"
            )
            return EXIT_USAGE
        console.info(f"wrote {args.output} from {len(done)} execution(s); review it, commit it")
    return EXIT_PASS


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _check(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """`check` and `run`: judge, write every report, return the exit code."""
    redact.register(environ.get(n, "").strip() for n in SECRET_VARIABLES)
    STARTED.clear()
    mode_error: UsageError | None = None
    try:  # the action's `mode` input: `fi-gate check` with FI_GATE_MODE=run is `fi-gate run`
        if args.command == "check" and _mode(environ) == "run":
            if args.execution_id or args.from_file:
                raise UsageError(
                    "mode run starts its own execution: --execution-id and --from-file do not "
                    "apply (use mode check to judge one)"
                )
            args.command = "run"
            del args.execution_id, args.from_file, args.select, args.wait
    except UsageError as exc:
        mode_error = exc
    console = Console(
        sys.stderr,
        secrets=[environ.get(n, "") for n in SECRET_VARIABLES],
        verbose=args.verbose,
    )
    in_actions = _env(environ, "GITHUB_ACTIONS") == "true"
    if in_actions:
        from gate.render import github

        console.command(github.mask_commands(console.secrets))
    early: UsageError | None = None
    try:
        outputs = resolve_outputs(args, environ)
    except UsageError as exc:  # a bad FI_GATE_STEP_SUMMARY: the verdict still goes everywhere
        early = exc
        outputs = resolve_outputs(args, {**environ, "FI_GATE_STEP_SUMMARY": "true"})
    settings: Settings | None = None
    run_test: str | None = (args.run_test or [None])[0]
    result: Verdict | GateResult
    from gate.policy import load_policy

    try:
        if early is not None or mode_error is not None:
            raise early or mode_error  # type: ignore[misc]
        settings = resolve(args, environ)
        run_test = settings.run_test
        policy = load_policy(settings.policy_path)
        names = settings.run_tests or ((settings.run_test,) if settings.run_test else ())
        if not (names or settings.execution_id or settings.from_file):
            names = policy.run_test_names
        for name in names:
            _rules_for(policy, name)  # every name is checked before any request
        if len(names) > 1:
            result = _judge_many(settings, policy, names, console)
        else:
            if names:
                settings = replace(settings, run_test=names[0])
                run_test = names[0]
            policy = _rules_for(policy, settings.run_test or policy.run_test)
            result = _soften(_judge(settings, policy, console), settings, console)
            if result.verdict == "error":  # impossible data: one line, as for any error
                console.error(result.message)
    except GateError as exc:
        if args.verbose:
            console.traceback()
        console.error(str(exc))
        result = _soften(_error_verdict(exc, run_test, settings), settings, console)
    except Exception as exc:  # a bug: say so plainly, never as a pass
        if args.verbose:
            console.traceback()
        console.error(
            f"internal error ({type(exc).__name__}); re-run with --verbose and report it "
            "at https://github.com/future-agi/fi-gate/issues"
        )
        # never softened by --on-api-error pass: a bug is not an outage
        result = _error_verdict(
            ApiError(f"internal error: {type(exc).__name__}"), run_test, settings
        )
    except KeyboardInterrupt as exc:  # a cancelled job: no report of an earlier run may remain
        why = "terminated" if isinstance(exc, Terminated) else "interrupted"
        _cancel_started(console, why=why)
        _write_stopped(exc, run_test, settings, outputs, environ, in_actions)
        raise
    return _emit(result, args, outputs, environ, console, in_actions)


def _write_stopped(
    exc: KeyboardInterrupt,
    run_test: str | None,
    settings: Settings | None,
    outputs: Outputs,
    environ: Mapping[str, str],
    in_actions: bool,
) -> None:
    """Overwrite the reports with an error verdict: a report left by an earlier run in the
    same place must not claim a verdict for this one. Quietly: `main` says what happened."""
    import signal

    from gate.verdict import GateResult

    word = "terminated" if isinstance(exc, Terminated) else "interrupted"
    code = 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
    stopped = replace(
        _error_verdict(UsageError(f"{word}; no verdict"), run_test, settings), exit_code=code
    )
    with contextlib.suppress(Exception):
        _write_reports(GateResult((stopped,)), False, outputs, environ, Console(None), in_actions)


STARTED = Started()  # what `run` started and has not seen end: cancelled when the job is
CANCEL_SECONDS = 5.0  # the time a cancel may take, beyond --timeout


def _cancel_started(console: Console, *, only: str | None = None, why: str) -> None:
    """POST a cancel for each execution this run started and that is not final yet (bounded:
    CANCEL_SECONDS each, all at once). Never one fi-gate did not start."""
    import threading

    from gate.client import Deadline
    from gate.runs import cancel_execution

    pending = STARTED.pending()
    if only is not None:
        pending = {k: v for k, v in pending.items() if k == only}

    def cancel(execution_id: str, link: str, settings: Settings) -> None:
        try:
            with _client(settings, console, Deadline(CANCEL_SECONDS)) as client:
                cancel_execution(client, execution_id)
            console.info(f"cancelled execution {execution_id} ({why}; fi-gate started it): {link}")
        except (GateError, KeyboardInterrupt) as exc:
            console.info(
                f"could not cancel execution {execution_id} ({exc or 'stopped'}); cancel it in "
                f"the app: {link}"
            )
        finally:
            STARTED.done(execution_id)

    threads = []
    for execution_id, (link, settings) in pending.items():
        if not settings.cancel:
            console.info(f"execution {execution_id} keeps running ({why}; --no-cancel): {link}")
            STARTED.done(execution_id)
            continue
        t = threading.Thread(target=cancel, args=(execution_id, link, settings), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(CANCEL_SECONDS + 1)


def _rules_for(policy: Policy, name: str | None) -> Policy:
    """The policy a run test is judged by, its own `run_tests` rules included, however it was
    named (policy, --run-test, FI_GATE_RUN_TEST, the action's input)."""
    if not policy.run_tests:
        return policy
    listed = policy.run_test_names
    if name is None:
        if not policy.has_own_rules:
            return policy
        if len(listed) == 1:
            return policy.for_run_test(listed[0])
        raise UsageError(
            f"{policy.source} has rules for several run tests ({', '.join(listed)}); name the "
            "run test this execution belongs to with --run-test or FI_GATE_RUN_TEST"
        )
    if name not in listed and name != policy.run_test:
        from gate.hints import did_you_mean

        hint = did_you_mean(name, listed, close=False)
        raise UsageError(
            f"run test '{name}' is not in the run_tests of {policy.source} "
            f"({', '.join(listed)}){hint}; add it there, or judge one of those"
        )
    return policy.for_run_test(name)


def _soften(verdict: Verdict, settings: Settings | None, console: Console) -> Verdict:
    """--on-api-error pass: an API or network error lets the deploy go on, loudly."""
    if not (
        verdict.verdict == "error"
        and verdict.outage
        and settings is not None
        and settings.on_api_error == "pass"
    ):
        return verdict
    warning = "the API could not be read and --on-api-error pass is set: this deploy is NOT gated"
    console.info(f"WARNING: {warning}" + (f" ({verdict.run_test})" if verdict.run_test else ""))
    return replace(verdict, exit_code=EXIT_PASS, warnings=(*verdict.warnings, warning))


def _judge_many(
    settings: Settings, policy: Policy, names: Sequence[str], console: Console
) -> GateResult:
    """Several run tests, judged concurrently; each with its own rules and its own errors."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from gate.verdict import GateResult

    interrupted = threading.Event()

    def one(name: str) -> Verdict:
        mine = replace(settings, run_test=name, run_tests=())
        try:
            verdict = _soften(_judge(mine, policy.for_run_test(name), console), mine, console)
            if verdict.verdict == "error":
                console.error(f"{name}: {verdict.message}")
            return verdict
        except GateError as exc:
            if interrupted.is_set():  # cut off: the main thread says why, once
                raise
            console.error(f"{name}: {exc}")
            return _soften(_error_verdict(exc, name, mine), mine, console)

    with ThreadPoolExecutor(max_workers=min(4, len(names))) as pool:
        try:
            return GateResult(tuple(pool.map(one, names)))
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM, in this thread: stop the others now
            from gate.client import cancel_all

            interrupted.set()
            cancel_all()
            raise


def _judge(settings: Settings, policy: Policy, console: Console) -> Verdict:
    from gate.evaluate import evaluate

    if settings.mode == "run":
        return _run_one(settings, policy, console)
    if settings.from_file:
        execution = _read_execution_file(settings.from_file)
        source = settings.from_file
        run_test = settings.run_test or policy.run_test
        verdict = evaluate(policy, execution, _now(), run_test=run_test, source=source)
        return _with_provenance(verdict, settings, "file", None, None)
    run_test = settings.run_test or (None if settings.execution_id else policy.run_test)
    if settings.execution_id is None and run_test is None:
        raise UsageError(
            "nothing to judge: give --run-test NAME, --execution-id UUID or --from-file PATH, "
            f"set FI_GATE_RUN_TEST, or add `run_test:` to {settings.policy_path}"
        )
    found: dict[str, str] = {}
    execution, calls, history = _fetch(settings, run_test, console, policy, found=found)
    verdict = evaluate(
        policy,
        execution,
        _now(),
        run_test=run_test,
        source=settings.base_url,
        calls=calls,
        history=history,
    )
    selection = "execution-id" if settings.execution_id else settings.select
    verdict = _with_provenance(verdict, settings, selection, found.get("run_test_id") or None, None)
    return _stale(verdict, settings, policy)


def _run_one(settings: Settings, policy: Policy, console: Console) -> Verdict:
    """`fi-gate run` for one run test: start an execution, wait for it, judge that one."""
    from gate.client import Deadline
    from gate.evaluate import evaluate
    from gate.runs import app_link, find_run_test, start_execution

    run_test = settings.run_test or policy.run_test
    if run_test is None:
        raise UsageError(
            "nothing to run: give --run-test NAME, set FI_GATE_RUN_TEST, or add `run_test:` to "
            f"{settings.policy_path}"
        )
    deadline = Deadline(settings.timeout)
    with _client(settings, console, deadline) as client:
        ref = find_run_test(client, run_test)

        def existing() -> set[str]:
            return {r.execution_id for r in client.list_executions(run_test, 1, 10)[0]}

        execution_id = start_execution(
            client, ref, settings.scenarios, existing=existing, on_info=console.info
        )
    link = app_link(settings.app_url, ref.id, execution_id)
    STARTED.add(execution_id, link or settings.app_url, settings)
    console.info(
        f"started execution {execution_id} of run test '{run_test}'" + (f": {link}" if link else "")
    )
    mine = replace(settings, execution_id=execution_id, wait=True)
    try:
        execution, calls, history = _fetch(
            mine, run_test, console, policy, deadline=deadline, link=link
        )
    except NotReadyError:
        _cancel_started(console, only=execution_id, why="the deadline passed")
        raise
    if execution.is_final:
        STARTED.done(execution_id)
    verdict = evaluate(
        policy,
        execution,
        _now(),
        run_test=run_test,
        source=settings.base_url,
        calls=calls,
        history=history,
    )
    return _with_provenance(verdict, settings, "started", ref.id, link)


def _with_provenance(
    verdict: Verdict,
    settings: Settings,
    selection: str,
    run_test_id: str | None,
    link: str | None,
) -> Verdict:
    """How the execution was chosen, the commit and ref being deployed, and its link."""
    from gate.runs import app_link

    if link is None and verdict.execution is not None:
        link = app_link(settings.app_url, run_test_id, verdict.execution.execution_id)
    return replace(
        verdict,
        selection=selection,
        commit=settings.commit,
        ref=settings.ref,
        link=link,
        run_test_id=run_test_id,
    )


def _stale(verdict: Verdict, settings: Settings, policy: Policy) -> Verdict:
    """`check` judges what ran last: say so when that predates this pipeline's commit, or when
    it is older than `max_age`, in the verdict line itself."""
    e = verdict.execution
    if e is None or verdict.verdict in ("error", "not_ready"):
        return verdict
    notes = []
    if settings.commit_time and e.started_at and e.started_at < settings.commit_time:
        notes.append(
            "it started before this pipeline's commit was made, so it may not test this "
            "change (`fi-gate run` starts one that does)"
        )
    age = next((c for c in verdict.checks if c.metric == "age_seconds"), None)
    if age is not None and age.status == "fail":
        notes.append(f"it is older than max_age {policy.execution.max_age_text}")
    if not notes:
        return verdict
    return replace(
        verdict,
        message=f"{verdict.message} (note: {'; '.join(notes)})",
        warnings=(*verdict.warnings, *notes),
    )


def _client(settings: Settings, console: Console, deadline: Deadline | None = None) -> Client:
    from gate.client import Client, Deadline

    missing = [
        n
        for n, v in (("FI_API_KEY", settings.api_key), ("FI_SECRET_KEY", settings.secret_key))
        if not v
    ]
    if missing:
        raise UsageError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; export the "
            "Future AGI API key and secret key (in CI, from the secret store), or use --from-file"
        )
    assert settings.api_key is not None
    assert settings.secret_key is not None
    return Client(
        settings.base_url,
        settings.api_key,
        settings.secret_key,
        deadline=deadline or Deadline(settings.timeout),
        on_retry=console.info,
        verify=settings.ca_bundle or True,
    )


def _resolve_link(
    client: Client,
    settings: Settings,
    run_test: str,
    execution_id: str,
    found: dict[str, str],
    console: Console,
) -> str | None:
    """The app's link needs the run test's id, which the runs endpoint does not give: one
    search, best effort (a verdict never waits on a link beyond the deadline)."""
    from gate.runs import app_link, find_run_test

    found.setdefault("run_test_id", "")  # asked once, whatever the answer
    if client.deadline.remaining() <= 1:
        return None
    try:
        found["run_test_id"] = find_run_test(client, run_test).id
    except GateError as exc:
        console.debug(f"no link to the app: {exc}")
        return None
    return app_link(settings.app_url, found["run_test_id"], execution_id)


def _fetch(
    settings: Settings,
    run_test: str | None,
    console: Console,
    policy: Policy,
    *,
    deadline: Deadline | None = None,
    found: dict[str, str] | None = None,
    link: str | None = None,
) -> tuple[Execution, CallsSummary | None, list[Execution]]:
    from gate.client import LIST_PAGE_SIZE, select_execution, wait_for
    from gate.model import parse_execution

    with _client(settings, console, deadline) as client:
        if settings.calls:
            client.start_workers(settings.workers)
        execution_id = settings.execution_id
        needed = policy.history_needed
        items: list[Any] = []
        total_calls = 0  # from the listing; not known with --execution-id
        if execution_id is None:
            assert run_test is not None
            ref, items = select_execution(
                client, run_test, settings.select, page_size=max(LIST_PAGE_SIZE, needed + 1)
            )
            console.debug(f"selected execution {ref.execution_id} ({ref.status})")
            execution_id, total_calls = ref.execution_id, ref.total_calls
        elif needed and run_test is not None:
            items = client.list_executions(run_test, 1, needed + 1)[2]
        elif needed:
            console.info("baseline and trend need the run test's name (--run-test or run_test:)")
        plan = plan_pages(total_calls, settings.workers, settings.page_size)
        page_size = plan.first if settings.calls else 1
        execution, first = client.execution_and_calls(
            execution_id, run_test=run_test, page_size=page_size
        )
        if settings.wait:
            final_id = execution_id
            polled = False

            def fetch() -> Execution:
                # Polls ask for one call: a running execution's page 1 would be downloaded
                # (and built by the server) again at every poll, for nothing.
                nonlocal polled
                polled = True
                return client.execution(final_id, run_test=run_test)

            if link is None and found is not None and run_test is not None:
                link = _resolve_link(client, settings, run_test, execution_id, found, console)
            execution = wait_for(
                client,
                execution,
                for_summary=settings.wait_for_summary,
                on_progress=console.info,
                fetch=fetch,
                link=link,
            )
            if polled and settings.calls and execution.is_final:
                execution, first = client.execution_and_calls(
                    final_id, run_test=run_test, page_size=page_size
                )
        calls = None
        if settings.calls and execution.is_final:
            start = time.monotonic()
            calls = client.read_calls(
                execution_id,
                first,
                plan=plan,
                workers=settings.workers,
                total_calls=execution.total_calls,
            )
            pages = (
                f"page 1 of {plan.first:,}, then pages of {plan.rest:,} with "
                f"{settings.workers} worker(s)"
                if calls.calls + calls.duplicates > plan.first
                else f"one page (of up to {plan.first:,})"
            )
            console.debug(
                f"read {calls.calls:,} call(s) in {pages} in {time.monotonic() - start:.2f}s"
            )
        history = [parse_execution(item) for item in items]
        for compare_to in _explicit_baselines(policy):
            if all(h.execution_id != compare_to for h in history):
                history.append(client.execution(compare_to, summary=False))
        if found is not None and run_test is not None and "run_test_id" not in found:
            _resolve_link(client, settings, run_test, execution_id, found, console)
        console.debug(f"{client.requests_made} request(s) to {client.host}")
        return execution, calls, history


def _explicit_baselines(policy: Policy) -> set[str]:
    """Baselines named by execution id, which the listing page may not hold."""
    named = {policy.baseline.compare_to} if policy.baseline else set()
    named |= {r.baseline.compare_to for r in policy.evals if r.baseline}
    return {n for n in named if n not in ("previous", "last-passing")}


def _read_execution_file(path: str) -> Execution:
    from gate.files import MAX_FILE_BYTES, Refused, read_regular
    from gate.model import parse_execution

    try:
        raw = read_regular(path, MAX_FILE_BYTES)
    except FileNotFoundError:
        raise UsageError(f"{path}: file not found (--from-file)") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a saved response (--from-file)") from None
    except Refused as exc:
        raise UsageError(f"{path}: {exc} (--from-file)") from exc
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
    except RecursionError:
        raise ApiError(f"{path}: the JSON is nested too deeply to be an execution") from None
    except ValueError as exc:
        raise UsageError(
            f"{path}: not JSON ({exc.__class__.__name__} at byte {getattr(exc, 'pos', '?')}); "
            "save the API's response body as it is"
        ) from None
    if isinstance(data, dict) and "result" in data and "status" in data:
        if data["status"] is not True:
            raise UsageError(f"{path}: the saved response is an API error, not an execution")
        data = data["result"]
    try:
        return parse_execution(data)
    except ApiError as exc:  # the answer's content is wrong: a response error (exit 3)
        raise ApiError(f"{path}: {exc}") from exc


def _error_verdict(exc: GateError, run_test: str | None, settings: Settings | None) -> Verdict:
    from gate.evaluate import facts
    from gate.verdict import Verdict

    waited = getattr(exc, "execution", None)  # a --wait that ran out: what it waited for
    return Verdict(
        verdict="not_ready" if exc.verdict == "not_ready" else "error",
        exit_code=exc.exit_code,
        run_test=run_test,
        execution=facts(waited) if waited is not None else None,
        checks=(),
        clusters=(),
        generated_at=_now(),
        message=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        source=settings.from_file or settings.base_url if settings else None,
        outage=isinstance(exc, OutageError),
    )


def _colour(args: argparse.Namespace, environ: Mapping[str, str], stream: TextIO | None) -> bool:
    if args.no_color or "NO_COLOR" in environ or stream is None:
        return False
    if _env(environ, "FORCE_COLOR"):
        return True
    return stream.isatty()


def _emit(
    result: Verdict | GateResult,
    args: argparse.Namespace,
    outputs: Outputs,
    environ: Mapping[str, str],
    console: Console,
    in_actions: bool,
) -> int:
    """Write every report, then standard output; the exit code, which a report that could not
    be written turns into 2 (said on the log's last line)."""
    from gate.render import report, text
    from gate.verdict import GateResult

    many = isinstance(result, GateResult)
    group = result if isinstance(result, GateResult) else GateResult((result,))
    failed = _write_reports(group, many, outputs, environ, console, in_actions)
    code = EXIT_USAGE if failed else group.exit_code
    if args.format == "json":
        # Exactly one JSON document on standard output, in every mode (`| jq` in a job).
        body = report.render_many(group) if many else report.render(group.verdicts[0])
        body = console.scrub(body)
        if in_actions:  # the old `##[command]` syntax is read anywhere in a line
            body = body.replace("##[", "#\\u0023[")
    else:
        colour = _colour(args, environ, sys.stdout)
        if many:
            body = text.render_many(group, colour=colour)
        elif group.verdicts[0].execution is not None:
            body = text.render(group.verdicts[0], colour=colour)
        else:  # an error or not-ready before any execution was read: the stderr line says it
            body = ""
        body = console.scrub(body)
        if in_actions:
            from gate.render import github

            body = github.quarantine(body)
    if in_actions:  # workflow commands go to standard error, which the runner reads too
        from gate.render import github

        console.command(
            console.scrub(
                "".join(github.annotation_commands(v, name_run_test=many) for v in group.verdicts)
            )
        )
    _stdout(body)
    if failed:
        console.error(
            f"exit {code}: could not write {', '.join(failed)} (the verdict was "
            f"{group.verdict}, exit {group.exit_code})"
        )
    return code


def _write_reports(
    group: GateResult,
    many: bool,
    outputs: Outputs,
    environ: Mapping[str, str],
    console: Console,
    in_actions: bool,
) -> list[str]:
    """Every report file and the GitHub outputs; the paths that could not be written."""
    from gate.files import write_atomic
    from gate.render import dotenv, junit, markdown, report

    def summary() -> str:
        return markdown.render_many(group) if many else markdown.render(group.verdicts[0])

    def json_report() -> str:
        return report.render_many(group) if many else report.render(group.verdicts[0])

    writes: list[tuple[str, Callable[[], str], bool]] = []  # (path, text, append)
    if outputs.report:
        writes.append((outputs.report, json_report, False))
    if outputs.summary:
        writes.append((outputs.summary, summary, False))
    if outputs.step_summary:  # the runner's file: appended to, as GitHub asks
        writes.append((outputs.step_summary, summary, True))
    if outputs.junit:
        writes.append((outputs.junit, lambda: junit.render_many(group), False))
    if outputs.dotenv:
        writes.append((outputs.dotenv, lambda: dotenv.render_many(group), False))
    output_file = _env(environ, "GITHUB_OUTPUT") if in_actions else None
    if output_file:
        from gate.render import github

        writes.append(
            (output_file, lambda: github.outputs(group, report_path=outputs.report), True)
        )
    failed: list[str] = []
    for path, make, append in writes:
        try:
            content = console.scrub(make())
            if append:
                with open(path, "a", encoding="utf-8") as f:
                    f.write(content)
            else:
                write_atomic(path, content)
        except OSError as exc:
            console.error(f"cannot write {path}: {exc.strerror}; check the path and permissions")
            failed.append(path)
    return failed
