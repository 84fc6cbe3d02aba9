"""The command line: the parser, `main`, dispatch to the commands, and the signals.

What each part does lives elsewhere: settings.py resolves flags and the environment,
judge.py fetches and judges, outputs.py writes every report, console.py talks to people.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gate import __version__, outputs, settings
from gate.args import Parser
from gate.console import PROG, Console, StdoutError, colour, detach_stdout, for_run, stdout
from gate.environment import Environment
from gate.errors import EXIT_PASS, EXIT_USAGE, ApiError, GateError, UsageError
from gate.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_POLICY,
    DEFAULT_TIMEOUT,
    DEFAULT_WAIT_TIMEOUT,
    DEFAULT_WORKERS,
    ON_API_ERROR_CHOICES,
    SELECT_CHOICES,
    Session,
    Settings,
)

EPILOG = """exit codes: 0 pass (warnings allowed), 1 gate failed, 2 usage or configuration error,
3 API, network or response error, 4 not ready (no execution in a final state);
130 interrupted, 143 terminated (no verdict)

environment: FI_API_KEY, FI_SECRET_KEY (credentials, never flags), FI_BASE_URL,
FI_GATE_POLICY, FI_GATE_RUN_TEST, FI_GATE_EXECUTION_ID, NO_COLOR"""
COMMANDS = ("check", "run", "validate", "init", "schema", "demo")


# fmt: off
def _judging_options(c: argparse.ArgumentParser, *, wait_default: float | None) -> None:
    """The options `check` and `run` share: where the API is, what to write, how long."""
    c.add_argument("--base-url", metavar="URL", help=f"API base URL (default {DEFAULT_BASE_URL})")
    outputs.add_flags(c)
    default = DEFAULT_TIMEOUT if wait_default is None else wait_default
    c.add_argument("--timeout", metavar="SECONDS", type=float,
                   help=f"deadline for the whole run, retries included (default {default:g})")
    c.add_argument("--on-api-error", choices=ON_API_ERROR_CHOICES,
                   help="on an outage (connection errors, timeouts, 5xx or 429 after retries): "
                   "fail (exit 3, default) or pass (exit 0, verdict error, not gated); never for "
                   "a rejected key, a wrong URL or a malformed answer")
    c.add_argument("--allow-insecure-http", action="store_true",
                   help="allow a plain http:// base URL that is not a loopback address")
    c.add_argument("--wait-for-summary", action="store_true",
                   help="also wait (within the deadline) for the Fix My Agent summary")
    c.add_argument("--calls", action="store_true",
                   help="also read every call: failing examples per eval and failed calls by "
                   "scenario")
    c.add_argument("--workers", metavar="N", type=int,
                   help=f"with --calls: call pages read at once (default {DEFAULT_WORKERS})")
    c.add_argument("--comment", action="store_true",
                   help="post the summary as a sticky pull/merge-request comment (GitHub, GitLab)")
    c.add_argument("--verbose", action="store_true", help="show tracebacks and request details")
    c.add_argument("--no-color", action="store_true", help="never colour the output")


def _sub(sub: Any, name: str, help: str, description: str, epilog: bool = True) -> Any:
    import textwrap  # the description wraps; the epilog's layout (a table) is kept

    parser = sub.add_parser(
        name,
        help=help,
        description=textwrap.fill(description, 79),
        epilog=EPILOG if epilog else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _TOP[-1].commands[name] = parser
    return parser


_TOP: list[Parser] = []  # the parser being built, for _sub


def _parser() -> Parser:
    p = Parser(
        prog=PROG,
        description="Promotion gate for Future AGI simulation run tests.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _TOP.append(p)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    policy_help = f"policy file (default {DEFAULT_POLICY})"

    _run_parser(sub, policy_help)
    _check_parser(sub, policy_help)

    v = _sub(sub, "validate", "validate policy files (exit 0 or 2)",
             "Validate policy files; prints one line per problem. Exit 0 or 2.", epilog=False)
    v.add_argument("paths", nargs="*", metavar="PATH", default=[DEFAULT_POLICY],
                   help=f"policy files (default {DEFAULT_POLICY})")
    _sub(sub, "schema", "print the policy JSON Schema", "Print the policy JSON Schema.",
         epilog=False)

    d = _sub(sub, "demo", "judge the bundled example execution (no account, no network)",
             "Judge the example execution of the API documentation against a one-rule policy "
             "and print the report: a first verdict with no account.", epilog=False)
    d.add_argument("--fail", action="store_true", help="raise the threshold to show a failure")
    d.add_argument("--markdown", action="store_true",
                   help="print the job summary a CI run shows, not the terminal report")
    d.add_argument("--no-color", action="store_true", help="never colour the output")

    i = _sub(sub, "init", "write a starter policy from a run test's recent executions",
             "Write a commented starter policy from the last completed executions.", epilog=False)
    i.add_argument("--run-test", metavar="NAME", required=True,
                   help="the run test whose recent completed executions set the thresholds")
    i.add_argument("--from-last", metavar="N", type=int, default=5,
                   help="completed executions to learn from (default 5, at most 20)")
    i.add_argument("--output", metavar="PATH", default=DEFAULT_POLICY,
                   help=f"where to write it (default {DEFAULT_POLICY}; - for stdout)")
    i.add_argument("--force", action="store_true", help="overwrite an existing file")
    i.add_argument("--base-url", metavar="URL", help=f"API base URL (default {DEFAULT_BASE_URL})")
    _TOP.pop()
    return p


def _what_options(c: Any, group: Any, policy_help: str, *, verb: str, repeat: str) -> None:
    """The options `run` and `check` share for what they act on: the policy and the run test."""
    c.add_argument("--policy", metavar="PATH", help=policy_help)
    group.add_argument("--run-test", metavar="NAME", action="append",
                       help=f"the run test to {verb}, by name (repeat to {repeat}; default: "
                       "the policy's)")
    group.add_argument("--run-test-id", metavar="UUID",
                       help=f"the run test to {verb}, by its id (instead of --run-test)")


def _run_parser(sub: Any, policy_help: str) -> None:
    r = _sub(sub, "run", "start a run test's simulation, wait for it, and judge that execution",
             "Start an execution of each run test, wait for it (cancelling it if the job is "
             "cancelled or the deadline passes), and judge it: the race-free way to gate the "
             "change being deployed.")
    _what_options(r, r, policy_help, verb="start", repeat="start several at once")
    r.add_argument("--scenario", metavar="ID|NAME", action="append",
                   help="run only this scenario, by id or exact name (repeat for several; "
                   "default: all of the run test's)")
    r.add_argument("--no-cancel", action="store_true",
                   help="leave the execution running when the job is cancelled or the deadline "
                   "passes")
    _judging_options(r, wait_default=DEFAULT_WAIT_TIMEOUT)


def _check_parser(sub: Any, policy_help: str) -> None:
    c = _sub(sub, "check", "judge the latest execution of a run test against a policy",
             "Judge an execution against a policy; the exit code is the verdict.")
    what = c.grouped("what to judge (one of)")
    _what_options(c, what, policy_help, verb="judge the latest execution of",
                  repeat="judge several together")
    what.add_argument("--execution-id", metavar="UUID", help="judge this execution")
    what.add_argument("--from-file", metavar="PATH",
                      help="judge a saved execution-detail response (no network, no keys)")
    c.add_argument("--select", choices=SELECT_CHOICES,
                   help="with a run test: judge the newest execution (default) or the newest "
                   "completed one")
    c.add_argument("--wait", action="store_true",
                   help="poll a running execution until it is final (bounded by --timeout, "
                   "default 1800 then)")
    _judging_options(c, wait_default=None)
# fmt: on


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """The command line; `environ` (tests) stands for the process's environment, which is read
    here and nowhere else."""
    parser = _parser()
    words = list(sys.argv[1:] if argv is None else argv)
    if words and not words[0].startswith("-") and words[0] not in COMMANDS:
        from gate.hints import unknown_command

        Console(sys.stderr).error(unknown_command(words[0], COMMANDS))
        return EXIT_USAGE
    unknown = parser.unknown_options(words)
    if unknown:
        Console(sys.stderr).error(unknown)
        return EXIT_USAGE
    args = parser.parse_args(words)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    env = settings.capture(os.environ if environ is None else environ)
    try:
        return _command(args, env, settings.session(env))
    except StdoutError as exc:
        detach_stdout()
        Console(sys.stderr).error(
            f"cannot write to standard output: {exc}; check what reads it (a closed pipe, a "
            "full disk)"
        )
        return EXIT_USAGE


def _command(args: argparse.Namespace, env: Environment, session: Session) -> int:
    if args.command == "schema":
        from gate.policy import schema

        stdout(json.dumps(schema(), indent=2) + "\n")
        return EXIT_PASS
    if args.command == "validate":
        from gate import validate

        return validate.command(args.paths, for_run(session), annotate=session.in_actions)
    if args.command == "demo":
        from gate import demo

        return demo.command(args, session)
    import signal  # not before: --version stays lean

    previous = _on_sigterm(_terminate)
    try:
        if args.command == "init":
            from gate import init

            return init.command(args, lambda: settings.access(args, env), for_run(session))
        return _check(args, env, session)  # check, run
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (a cancelled CI job): no verdict
        term = isinstance(exc, Terminated)
        Console(sys.stderr).error(f"{'terminated' if term else 'interrupted'}; no verdict")
        return 128 + (signal.SIGTERM if term else signal.SIGINT)
    finally:
        _on_sigterm(previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread: the run unwinds as on Ctrl-C, promptly (also as a
    container's PID 1, which the kernel does not stop on SIGTERM unless it handles it)."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def _on_sigterm(handler: Any) -> Any:
    """Install a SIGTERM handler (only the main thread may); the previous one, to restore."""
    import signal
    import threading

    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, handler)


def _check(args: argparse.Namespace, env: Environment, session: Session) -> int:
    """`check` and `run`: judge, write every report, return the exit code."""
    from gate import judge
    from gate.runs import Started
    from gate.verdict import GateResult

    started = Started()  # what `run` starts: cancelled on a signal, read here
    console = for_run(session, args.verbose)
    in_actions = session.in_actions
    early: UsageError | None = None
    try:
        paths = settings.output_paths(args, env, in_actions=in_actions)
    except outputs.PartialOutputs as partial:  # the verdict still goes everywhere
        paths, early = partial.paths, partial.error
    resolved: Settings | None = None
    run_test: str | None = (args.run_test or [None])[0]
    connect = judge.connect(console)
    try:
        early = early or settings.mode(args, env)
        if early is not None:
            raise early
        resolved = settings.resolve(args, env)
        run_test = resolved.run_test
        result, run_test = judge.Judge(resolved, console, connect, started=started).named()
    except GateError as exc:
        if args.verbose:
            console.traceback()
        console.error(str(exc))
        result = GateResult((judge.soften(judge.error_verdict(exc, run_test, resolved), resolved,
                                          console),))  # fmt: skip
    except Exception as exc:  # a bug: say so plainly, never as a pass (nor softened)
        if args.verbose:
            console.traceback()
        console.error(
            f"internal error ({type(exc).__name__}); re-run with --verbose and report it "
            "at https://github.com/future-agi/fi-gate/issues"
        )
        internal = ApiError(f"internal error: {type(exc).__name__}")
        result = GateResult((judge.error_verdict(internal, run_test, resolved),))
    except KeyboardInterrupt as exc:  # a cancelled job: no report of an earlier run may remain
        why = "terminated" if isinstance(exc, Terminated) else "interrupted"
        judge.cancel_started(console, connect, started, why=why)
        _write_stopped(exc, run_test, resolved, paths)
        raise
    code = outputs.emit(
        result, paths, console, fmt=args.format,
        colour=colour(args.no_color, session, sys.stdout), in_actions=in_actions,
    )  # fmt: skip
    if resolved is not None and resolved.comment:  # after the verdict, never changing it
        from gate.comment import post

        post(result, session.ci, resolved.network, console)
    return code


def _write_stopped(
    exc: KeyboardInterrupt, run_test: str | None, settings: Settings | None, paths: outputs.Paths
) -> None:
    """Overwrite the reports with an error verdict: a report left by an earlier run in the
    same place must not claim a verdict for this one. Quietly: `main` says what happened."""
    import signal

    from gate.judge import error_verdict
    from gate.verdict import GateResult

    term = isinstance(exc, Terminated)
    stopped = replace(
        error_verdict(UsageError(f"{'terminated' if term else 'interrupted'}; no verdict"),
                      run_test, settings),
        exit_code=128 + (signal.SIGTERM if term else signal.SIGINT),
    )  # fmt: skip
    with contextlib.suppress(Exception):
        outputs.write(GateResult((stopped,)), paths, Console(None))
