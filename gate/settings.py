"""What a command is asked to do: flags, then the environment, then defaults. The one reader of
the environment (`cli.main` captures it, `capture()`); every other module receives what is
resolved here: `Session` (what every command knows at start), `Settings` (a check or run),
the output paths, `Access` (init).

Each option's precedence is declared once, in `OPTIONS`, output paths included: its flag (the
argparse dest of the same name) wins, then each of its environment variables in order, then
its default. An empty variable counts as unset (the GitHub action passes every input, set or
not).
"""

from __future__ import annotations

import argparse
import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# uuid, json and datetime load when a check is resolved, not for the parser or --version.
if TYPE_CHECKING:
    from datetime import datetime

    from gate.network import Network

from gate import outputs
from gate.environment import Environment
from gate.errors import UsageError

DEFAULT_POLICY = "fi-gate.yml"
DEFAULT_BASE_URL = "https://api.futureagi.com"
DEFAULT_APP_URL = "https://app.futureagi.com"
DEFAULT_TIMEOUT = 120.0
DEFAULT_WAIT_TIMEOUT = 1800.0
DEFAULT_WORKERS = 4  # the page readers of --calls (pages.py)
SELECT_CHOICES = ("latest", "latest-completed")
ON_API_ERROR_CHOICES = ("fail", "pass")

Reader = Callable[[Environment, str], Any]  # one variable's value, None when unset


def _text(env: Environment, name: str) -> str | None:
    return env.text(name)


def _flag(env: Environment, name: str) -> bool | None:
    return None if env.text(name) is None else env.flag(name)


def _choice(options: tuple[str, ...]) -> Reader:
    return lambda env, name: env.choice(name, options)


def _parsed(convert: Callable[[str], Any], what: str) -> Reader:
    """A reader of numbers: `convert` the value, or say the variable is not `what`."""

    def read(env: Environment, name: str) -> Any:
        raw = env.text(name)
        try:
            return None if raw is None else convert(raw)
        except ValueError as exc:
            raise UsageError(f"{name}={raw!r} is not {what}") from exc

    return read


_seconds = _parsed(float, "a number of seconds")
_whole = _parsed(int, "a whole number")


def _page_size(env: Environment, name: str) -> int | None:
    raw = env.text(name)
    if raw is not None and (not raw.isdigit() or not 10 <= int(raw) <= 10_000):
        raise UsageError(f"{name}={raw!r}: give a whole number from 10 to 10000")
    return None if raw is None else int(raw)


@dataclass(frozen=True)
class Option:
    dest: str  # the flag's argparse dest (if it has a flag) and the Settings field
    env: tuple[str, ...]  # read in this order when the flag is not given
    read: Reader = _text
    default: Any = None


OPTIONS = {
    o.dest: o
    for o in (
        Option("policy", ("FI_GATE_POLICY",), default=DEFAULT_POLICY),
        # FI_GATE_INPUT_* come from the action's inputs: an empty input must not hide a key or
        # URL given in the workflow's env, so they have names of their own.
        Option("base_url", ("FI_GATE_INPUT_BASE_URL", "FI_BASE_URL"), default=DEFAULT_BASE_URL),
        Option("api_key", ("FI_GATE_INPUT_API_KEY", "FI_API_KEY")),  # never a flag
        Option("secret_key", ("FI_GATE_INPUT_SECRET_KEY", "FI_SECRET_KEY")),  # never a flag
        Option("allow_insecure_http", ("FI_GATE_ALLOW_INSECURE_HTTP",), _flag, False),
        Option("select", ("FI_GATE_SELECT",), _choice(SELECT_CHOICES), "latest"),
        Option("on_api_error", ("FI_GATE_ON_API_ERROR",), _choice(ON_API_ERROR_CHOICES), "fail"),
        Option("timeout", ("FI_GATE_TIMEOUT",), _seconds),
        Option("wait", ("FI_GATE_WAIT",), _flag, False),
        Option("wait_for_summary", ("FI_GATE_WAIT_FOR_SUMMARY",), _flag, False),
        Option("calls", ("FI_GATE_CALLS",), _flag, False),
        Option("workers", ("FI_GATE_WORKERS",), _whole, DEFAULT_WORKERS),
        Option("page_size", ("FI_GATE_CALL_PAGE_SIZE",), _page_size),
        Option("mode", ("FI_GATE_MODE",), _choice(("check", "run")), "check"),
        Option("cancel", ("FI_GATE_CANCEL",), _flag, True),
        Option("app_url", ("FI_APP_URL",), default=DEFAULT_APP_URL),
        Option("comment", ("FI_GATE_COMMENT",), _flag, False),
        Option("run_test_id", ("FI_GATE_RUN_TEST_ID",)),
        Option("execution_id", ("FI_GATE_EXECUTION_ID",)),
        Option("run_tests", ("FI_GATE_RUN_TEST",)),  # one name a line
        Option("scenarios", ("FI_GATE_SCENARIOS",)),  # one a line, or separated by commas
    )
}

# Keys, tokens and passwords: masked everywhere from the start (console.for_run).
CREDENTIALS = (
    "FI_API_KEY",
    "FI_SECRET_KEY",
    "FI_GATE_INPUT_API_KEY",
    "FI_GATE_INPUT_SECRET_KEY",
    "FI_GATE_GITHUB_TOKEN",
    "GITHUB_TOKEN",
    "FI_GATE_GITLAB_TOKEN",
    "CI_JOB_TOKEN",
)
# The CI around the run (Ci), and the terminal (Session).
CI_READS = (
    "GITHUB_ACTIONS",
    "GITHUB_REPOSITORY",
    "GITHUB_API_URL",
    "GITHUB_EVENT_PATH",
    "GITHUB_SHA",
    "GITHUB_REF",
    "GITLAB_CI",
    "CI_MERGE_REQUEST_IID",
    "CI_PROJECT_ID",
    "CI_API_V4_URL",
    "CI_COMMIT_SHA",
    "CI_COMMIT_REF_NAME",
    "CI_COMMIT_TIMESTAMP",
)
TERMINAL_READS = ("FI_GATE_INTERFACE", "NO_COLOR", "FORCE_COLOR")


def _options() -> dict[str, Option]:
    """`OPTIONS`, and where each report goes (outputs.OUTPUTS, read now: a row added there is
    an option here): its flag, else its variable; and its switch."""
    found = dict(OPTIONS)
    for o in outputs.OUTPUTS:
        found[o.name] = Option(o.name, (o.env,))
        if o.switch:
            found[f"{o.name}_switch"] = Option(f"{o.name}_switch", (o.switch,), _flag, True)
    return found


def reads() -> frozenset[str]:
    """Every variable fi-gate reads, from the tables that declare them."""
    from gate.network import READS as NETWORK  # ssl and friends: not for --version

    options = (name for option in _options().values() for name in option.env)
    return frozenset((*options, *CREDENTIALS, *CI_READS, *TERMINAL_READS, *NETWORK))


def capture(variables: Mapping[str, str]) -> Environment:
    """The snapshot `cli.main` takes of the process's environment, once."""
    return Environment(variables, reads())


def value(args: argparse.Namespace | None, env: Environment, dest: str) -> Any:
    """The option's value: its flag if given, else its first variable that is set, else its
    default."""
    option = OPTIONS[dest] if dest in OPTIONS else _options()[dest]
    given = getattr(args, dest, None)
    if given is not None and given is not False and given != []:
        return given
    for name in option.env:
        found = option.read(env, name)
        if found is not None:
            return found
    return option.default


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
    network: Network | None = None  # trust and proxies (gate/network.py); None: the defaults
    run_tests: tuple[str, ...] = ()
    calls: bool = False
    wait: bool = False
    wait_for_summary: bool = False
    workers: int = DEFAULT_WORKERS
    page_size: int | None = None  # None: pages.CALL_PAGE_SIZE
    mode: str = "check"  # or "run": start the execution, then judge it
    scenarios: tuple[str, ...] = ()
    cancel: bool = True  # run: cancel what it started on SIGTERM/SIGINT and at the deadline
    app_url: str = DEFAULT_APP_URL
    commit: str | None = None  # of the pipeline (GITHUB_SHA, CI_COMMIT_SHA)
    ref: str | None = None  # GITHUB_REF, CI_COMMIT_REF_NAME
    commit_time: datetime | None = None  # CI_COMMIT_TIMESTAMP, or the GitHub event's
    comment: bool = False  # the summary as a sticky pull/merge-request comment (comment.py)
    run_test_id: str | None = None  # the run test by id (--run-test-id): its name is looked up


def resolve(args: argparse.Namespace, env: Environment) -> Settings:
    """The settings of `check` or `run`; a UsageError names the flag or variable that is wrong."""
    from gate.api import check_base_url

    def get(dest: str) -> Any:
        return value(args, env, dest)

    mode = "run" if args.command == "run" else "check"
    names, execution_id = _targets(args, env)
    wait_for_summary = bool(get("wait_for_summary"))
    wait = mode == "run" or bool(get("wait")) or wait_for_summary  # `run` waits for its own
    timeout = get("timeout")
    if timeout is None:
        timeout = DEFAULT_WAIT_TIMEOUT if wait else DEFAULT_TIMEOUT
    if not 0 < timeout <= 6 * 3600:
        raise UsageError(f"--timeout {timeout:g} is out of range; give 1 to 21600 seconds")
    workers = get("workers")
    if not 1 <= workers <= 32:
        raise UsageError(f"--workers {workers} is out of range; give 1 to 32")
    commit, ref, commit_time = ci_commit(env)
    return Settings(
        policy_path=get("policy"),
        run_test=names[0] if len(names) == 1 else None,
        execution_id=execution_id,
        from_file=getattr(args, "from_file", None),
        base_url=check_base_url(get("base_url"), allow_insecure_http=get("allow_insecure_http")),
        select=get("select"),
        run_tests=tuple(names) if len(names) > 1 else (),
        timeout=timeout,
        on_api_error=get("on_api_error"),
        api_key=get("api_key"),
        secret_key=get("secret_key"),
        network=network(env),
        calls=bool(get("calls")),
        wait=wait,
        wait_for_summary=wait_for_summary,
        workers=workers,
        page_size=get("page_size"),
        mode=mode,
        scenarios=_scenarios(getattr(args, "scenario", None), env),
        cancel=not getattr(args, "no_cancel", False) and get("cancel"),
        app_url=_app_url(get("app_url")),
        commit=commit,
        ref=ref,
        commit_time=commit_time,
        comment=bool(get("comment")),
        run_test_id=_run_test_id(args, env, names),
    )


def network(env: Environment) -> Network:
    """Trust and proxies (gate/network.py); a variable that cannot work is exit 2."""
    from gate.network import READS, Network

    return Network.from_variables(env.values(READS))


def _run_test_id(args: argparse.Namespace, env: Environment, names: list[str]) -> str | None:
    """--run-test-id (or FI_GATE_RUN_TEST_ID): a run test by its id, instead of by name."""
    given = getattr(args, "run_test_id", None)
    raw = given if given is not None else value(None, env, "run_test_id")
    if raw is None:
        return None
    run_test_id = _as_uuid(
        raw,
        "run test id",
        "copy it from the run test's page in the app (…/simulate/test/<run test id>/…), or "
        "name the run test with --run-test",
    )
    if names:
        raise UsageError("--run-test-id and --run-test both name the run test; give one of them")
    return run_test_id


def _targets(args: argparse.Namespace, env: Environment) -> tuple[list[str], str | None]:
    """The run tests named and the execution id: flags beat the environment, and --run-test
    also beats FI_GATE_EXECUTION_ID."""
    names: list[str] = list(args.run_test or [])
    execution_id = getattr(args, "execution_id", None)
    from_file = getattr(args, "from_file", None)
    if len(names) > 1 and execution_id is not None:
        raise UsageError(
            "--execution-id judges one execution; give at most one --run-test with it (the run "
            "test it belongs to, for that run test's rules and history)"
        )
    if from_file and (names or execution_id):
        raise UsageError(
            "--from-file judges a saved execution; do not combine it with "
            "--run-test or --execution-id"
        )
    for flag, given in (
        *(("--run-test", name) for name in names),
        ("--execution-id", execution_id),
        ("--policy", args.policy),
        ("--from-file", from_file),
    ):
        if given is not None and not given.strip():
            raise UsageError(f"{flag} is empty; give a value or leave the flag out")
    execution_id = execution_id or None
    if not names:
        if execution_id is None:
            execution_id = value(None, env, "execution_id")
        # Several run tests: one name per line (names may hold commas).
        lines = (value(None, env, "run_tests") or "").splitlines()
        names = [n.strip() for n in lines if n.strip()]
        if execution_id is not None and len(names) > 1:
            raise UsageError(
                "an execution id judges one execution, and FI_GATE_RUN_TEST names several run "
                "tests: name only the run test it belongs to"
            )
    if execution_id is not None:
        execution_id = _as_uuid(execution_id, "execution id", "copy it from the run test's "
                                "execution page")  # fmt: skip
    return names, execution_id


def _as_uuid(raw: str, what: str, where: str) -> str:
    """A UUID given by the user, in its canonical form; exit 2 saying where to find one."""
    import uuid

    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError as exc:
        raise UsageError(f"{what} {raw.strip()[:60]!r} is not a UUID; {where}") from exc


def ci_commit(env: Environment) -> tuple[str | None, str | None, datetime | None]:
    """The commit and ref this pipeline deploys, and the commit's time, when the CI says so."""
    from datetime import datetime, timezone

    text = env.text
    commit = text("GITHUB_SHA") or text("CI_COMMIT_SHA")
    ref = text("GITHUB_REF") or text("CI_COMMIT_REF_NAME")
    when = text("CI_COMMIT_TIMESTAMP")
    if when is None:  # a push event names its head commit's time
        from gate.files import github_event

        head = github_event(text("GITHUB_EVENT_PATH")).get("head_commit")
        stamp_text = head.get("timestamp") if isinstance(head, dict) else None
        when = stamp_text if isinstance(stamp_text, str) else None
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


def _scenarios(flags: list[str] | None, env: Environment) -> tuple[str, ...]:
    """Scenarios by id or by exact name: repeated --scenario, else FI_GATE_SCENARIOS (one a
    line; on a single line, separated by commas). Checked against the run test's own
    scenarios when it is found (runs.RunTestRef.scenario_ids)."""
    import uuid

    text = value(None, env, "scenarios") or ""
    lines = text.splitlines() if "\n" in text.strip() else text.split(",")
    raw = list(flags or []) or lines
    given: list[str] = []
    for one in (v.strip() for v in raw):
        if not one:
            continue
        if len(one) > 200:
            raise UsageError(f"scenario {one[:60]!r}...: too long for a scenario id or name")
        try:
            given.append(str(uuid.UUID(one)))
        except ValueError:
            given.append(one)  # a name, looked up in the run test's scenarios
    return tuple(dict.fromkeys(given))


def _app_url(url: str) -> str:
    """The web app links point into: FI_APP_URL (self-hosted), else app.futureagi.com."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise UsageError(f"FI_APP_URL={url[:80]!r} is not an http(s) URL of the web app")
    return url.rstrip("/")


@dataclass(frozen=True)
class Ci:
    """The CI job around the run, as its variables say (the comment path's target)."""

    github_actions: bool = False
    gitlab_ci: bool = False
    github_token: str | None = None
    github_token_name: str = "GITHUB_TOKEN"  # noqa: S105 (a name) or FI_GATE_GITHUB_TOKEN
    github_repository: str | None = None
    github_api_url: str = "https://api.github.com"
    github_event_path: str | None = None
    gitlab_token: str | None = None  # FI_GATE_GITLAB_TOKEN
    job_token: str | None = None  # CI_JOB_TOKEN
    merge_request_iid: str | None = None
    project_id: str | None = None
    gitlab_api_url: str = "https://gitlab.com/api/v4"


@dataclass(frozen=True)
class Session:
    """What every command knows from the environment at start, before anything can fail:
    the secrets to mask, the interface that names the inputs, the CI, the terminal."""

    secrets: tuple[str, ...] = ()
    interface: str | None = None  # FI_GATE_INTERFACE: how the inputs are named in messages
    ci: Ci = Ci()
    no_color: bool = False  # NO_COLOR is set (even empty)
    force_color: bool = False

    @property
    def in_actions(self) -> bool:
        return self.ci.github_actions


def session(env: Environment) -> Session:
    """Never fails: a bad variable is found when it is resolved, and said on this console."""
    from gate.network import PROXY_VARIABLES, proxy_secrets

    text = env.text
    token_name = "FI_GATE_GITHUB_TOKEN" if text("FI_GATE_GITHUB_TOKEN") else "GITHUB_TOKEN"
    ci = Ci(
        github_actions=text("GITHUB_ACTIONS") == "true",
        gitlab_ci=text("GITLAB_CI") == "true",
        github_token=text(token_name),
        github_token_name=token_name,
        github_repository=text("GITHUB_REPOSITORY"),
        github_api_url=text("GITHUB_API_URL") or Ci.github_api_url,
        github_event_path=text("GITHUB_EVENT_PATH"),
        gitlab_token=text("FI_GATE_GITLAB_TOKEN"),
        job_token=text("CI_JOB_TOKEN"),
        merge_request_iid=text("CI_MERGE_REQUEST_IID"),
        project_id=text("CI_PROJECT_ID"),
        gitlab_api_url=text("CI_API_V4_URL") or Ci.gitlab_api_url,
    )
    secrets = [env.values(CREDENTIALS).get(n, "") for n in CREDENTIALS]
    secrets += proxy_secrets(env.values(PROXY_VARIABLES))
    return Session(
        secrets=tuple(s for s in secrets if s),
        interface=text("FI_GATE_INTERFACE"),
        ci=ci,
        no_color=env.present("NO_COLOR"),
        force_color=text("FORCE_COLOR") is not None,
    )


def output_paths(args: argparse.Namespace, env: Environment, *, in_actions: bool) -> dict[str, str]:
    """Where each output goes, by the options' one precedence. A bad switch value is raised
    after the others are known (`outputs.PartialOutputs`: the verdict still goes everywhere)."""
    paths: dict[str, str] = {}
    bad: UsageError | None = None
    for output in outputs.OUTPUTS:
        if output.actions_only and not in_actions:
            continue
        if output.switch:  # checked even when there is nothing to switch off
            try:
                if not value(None, env, f"{output.name}_switch"):
                    continue
            except UsageError as exc:
                bad = exc
        path = value(args if output.flag else None, env, output.name)
        if path:
            paths[output.name] = path
    if bad is not None:
        raise outputs.PartialOutputs(paths, bad)
    return paths


def mode(args: argparse.Namespace, env: Environment) -> UsageError | None:
    """The action's `mode` input: `fi-gate check` with FI_GATE_MODE=run is `fi-gate run`
    (`args` becomes run's); the error to report when that cannot be."""
    try:
        if args.command != "check" or value(None, env, "mode") != "run":
            return None
    except UsageError as exc:
        return exc
    if args.execution_id or args.from_file:
        return UsageError(
            "mode run starts its own execution: --execution-id and --from-file do not apply "
            "(use mode check to judge one)"
        )
    args.command = "run"
    del args.execution_id, args.from_file, args.select, args.wait
    return None


@dataclass(frozen=True)
class Access:
    """Where the API is and the keys to it (`init`, which reads before a policy exists)."""

    base_url: str
    api_key: str
    secret_key: str
    network: Network


def access(args: argparse.Namespace, env: Environment) -> Access:
    from gate.api import check_base_url

    key, secret = value(None, env, "api_key"), value(None, env, "secret_key")
    if not key or not secret:
        raise UsageError("FI_API_KEY and FI_SECRET_KEY must be set to read the run test")
    base = check_base_url(value(args, env, "base_url"))
    return Access(base, key, secret, network(env))
