"""Fetching and judging: from settings and a policy to verdicts, through an API client.

The client is a parameter (`Connect`: settings and a deadline in, a client out), as pip-audit's
`Auditor` takes its service: these functions are tested with any client, without argparse.
`evaluate` stays the pure judgement; this module decides what to read for it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from gate import evidence
from gate.api import LIST_PAGE_SIZE, MAX_LIST_PAGES, Client, select_execution, wait_for
from gate.console import Console
from gate.errors import (
    EXIT_PASS,
    ApiError,
    GateError,
    NotFoundError,
    NotReadyError,
    OutageError,
    UsageError,
    WrongEndpointError,
)
from gate.evaluate import baseline_executions, evaluate, facts
from gate.files import MAX_FILE_BYTES, Refused, read_regular
from gate.hints import did_you_mean
from gate.metrics import PASS_FAIL
from gate.model import Execution, parse_execution
from gate.pages import PagePlan, plan_pages
from gate.policy import load_policy
from gate.redact import clip
from gate.rules import Policy
from gate.runs import (
    RunTestRef,
    Started,
    app_link,
    cancel_execution,
    find_run_test,
    find_run_test_by_id,
    start_execution,
)
from gate.settings import Settings
from gate.transport import Deadline, DeadlineError, cancel_all
from gate.verdict import CallsSummary, GateResult, Pooled, Verdict
from gate.wire import same_execution

Connect = Callable[[Settings, Deadline | None], Client]

CANCEL_SECONDS = 5.0  # the time a cancel may take, beyond --timeout
LOOK_SECONDS = 2.0  # the look at its status just before (a slow answer: cancelled all the same)
BELONGS_PAGE = 50  # executions a listing page holds when looking for an execution's run test


def now() -> datetime:
    return datetime.now(timezone.utc)


def connect(console: Console) -> Connect:
    """The real client, for these settings: the keys checked, retries said on the console,
    the trust and proxies of `settings.network`."""

    def open_client(settings: Settings, deadline: Deadline | None = None) -> Client:

        missing = [
            n
            for n, v in (("FI_API_KEY", settings.api_key), ("FI_SECRET_KEY", settings.secret_key))
            if not v
        ]
        if missing or settings.api_key is None or settings.secret_key is None:
            raise UsageError(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; export "
                "the Future AGI API key and secret key (in CI, from the secret store), or use "
                "--from-file"
            )
        return Client(
            settings.base_url,
            settings.api_key,
            settings.secret_key,
            deadline=deadline or Deadline(settings.timeout),
            on_retry=console.info,
            network=settings.network,
        )

    return open_client


@dataclass(frozen=True)
class Ran:
    """One execution `fi-gate run` started and waited for, with what was read of it."""

    ref: RunTestRef
    link: str | None
    execution: Execution
    calls: CallsSummary | None
    history: list[Execution]
    paired: dict[str, CallsSummary]


@dataclass
class Known:
    """What one judgement learnt on its way, kept when it cannot finish (a --wait that runs out
    of time is reported with the same provenance and link as any other not-ready outcome)."""

    selection: str | None = None
    run_test_id: str | None = None
    link: str | None = None
    link_asked: bool = False  # the run test's id is looked up once, whatever the answer


@dataclass
class Judge:
    """Judges run tests for one invocation: `settings`, through clients made by `connect`."""

    settings: Settings
    console: Console
    connect: Connect
    # Every run test the policy names: where an execution that is not the named run test's
    # may be found, to say whose it is.
    known_run_tests: tuple[str, ...] = ()
    run_test_ref: RunTestRef | None = None  # the run test named by id, once found
    # The executions this invocation started and has not seen end: what a signal or the
    # deadline cancels. One object for the run's lifetime (cli.py makes it, and reads it on a
    # signal); copies of the Judge share it.
    started: Started = field(default_factory=Started)

    def scoped(self, **settings: Any) -> Judge:
        """The same invocation (its console, connections and the executions it started, shared
        by reference) judging with other settings: one run test of several, say."""
        return replace(self, settings=replace(self.settings, **settings))

    def by_id(self) -> Judge:
        """--run-test-id: the run test's name looked up (a run test is named by its name
        everywhere else: the runs endpoint, the policy's run_tests, the report)."""

        s = self.settings
        assert s.run_test_id is not None
        with self.connect(s, Deadline(min(s.timeout, 60.0))) as client:
            ref, namesakes = find_run_test_by_id(client, s.run_test_id)
        if namesakes and s.mode != "run" and s.execution_id is None:
            raise UsageError(
                f"run test {ref.id} is named '{clip(ref.name, 80)}', like {namesakes} other run "
                "test(s) of the workspace, and the API lists executions by name (it would mix "
                "theirs): judge one with --execution-id, or rename the others in the app"
            )
        self.console.debug(f"run test {ref.id} is '{ref.name}'")
        return replace(self.scoped(run_test=ref.name), run_test_ref=ref)

    def named(self) -> tuple[GateResult, str | None]:
        """The policy loaded, the run tests it or the settings name, each judged by its own
        rules: the result, and the run test when there is one."""

        policy = load_policy(self.settings.policy_path)
        if self.settings.run_test_id is not None:
            return self.by_id().named_by(policy)
        return self.named_by(policy)

    def named_by(self, policy: Policy) -> tuple[GateResult, str | None]:
        """`named`, once the policy is loaded (and a run test named by id has its name)."""

        s = self.settings
        names = s.run_tests or ((s.run_test,) if s.run_test else ())
        if not (names or s.execution_id or s.from_file):
            names = policy.run_test_names
        elif not names and s.execution_id and policy.has_own_rules and policy.run_test_names:
            # The execution would be judged by one run test's own rules: it must be that one's.
            names = policy.run_test_names[:1] if len(policy.run_test_names) == 1 else ()
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:  # one start (or one judgement) per run test, as `run_tests` requires
            raise UsageError(
                f"run test '{clip(twice[0], 80)}' is named more than once (--run-test); "
                "name each run test once"
            )
        for name in names:
            rules_for(policy, name)  # every name is checked before any request
        if policy.max_calls is not None and s.mode != "run":
            self.console.info(
                "evidence: is ignored here: fi-gate check judges the executions it is given; "
                "fi-gate run starts and pools more of them until each check is decided"
            )
        me = replace(self, known_run_tests=policy.run_test_names)
        if len(names) > 1:
            return me.many(policy, names), None
        j = me.scoped(run_test=names[0]) if names else me
        verdict = j.soften(j.one(rules_for(policy, j.settings.run_test or policy.run_test)))
        if verdict.verdict == "error":  # impossible data: one line, as for any error
            self.console.error(verdict.message)
        return GateResult((verdict,)), j.settings.run_test

    def many(self, policy: Policy, names: Sequence[str]) -> GateResult:
        """Several run tests, judged concurrently; each with its own rules and its own errors."""

        interrupted = threading.Event()

        def one(name: str) -> Verdict:
            mine = self.scoped(run_test=name, run_tests=())
            try:
                verdict = mine.soften(mine.one(policy.for_run_test(name)))
                if verdict.verdict == "error":
                    self.console.error(f"{name}: {verdict.message}")
                return verdict
            except GateError as exc:
                if interrupted.is_set():  # cut off: the main thread says why, once
                    raise
                self.console.error(f"{name}: {exc}")
                return mine.soften(error_verdict(exc, name, mine.settings))

        with ThreadPoolExecutor(max_workers=min(4, len(names))) as pool:
            try:
                return GateResult(tuple(pool.map(one, names)))
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM, in this thread: stop the others
                interrupted.set()
                cancel_all()
                raise

    def one(self, policy: Policy) -> Verdict:
        """One run test (or execution id, or saved file), as the settings name it."""

        s = self.settings
        if s.mode == "run":
            return self.run(policy)
        if s.from_file:
            execution = read_execution_file(s.from_file)
            run_test = s.run_test or policy.run_test
            verdict = evaluate(policy, execution, now(), run_test=run_test, source=s.from_file)
            return self.provenance(verdict, "file", None, None)
        run_test = s.run_test or (None if s.execution_id else policy.run_test)
        if s.execution_id is None and run_test is None:
            raise UsageError(
                "nothing to judge: give --run-test NAME, --execution-id UUID or --from-file "
                f"PATH, set FI_GATE_RUN_TEST, or add `run_test:` to {s.policy_path}"
            )
        known = Known(selection="execution-id" if s.execution_id else s.select)
        try:
            execution, calls, history, paired = Fetch(self, s, policy, run_test, known=known).run()
        except NotReadyError as exc:
            return self.not_ready(exc, run_test, known)
        verdict = evaluate(
            policy, execution, now(), run_test=run_test, source=s.base_url, calls=calls,
            history=history, baseline_calls=paired,
        )  # fmt: skip
        verdict = self.provenance(verdict, known.selection or s.select, known.run_test_id, None)
        return stale(verdict, s, policy)

    def not_ready(self, exc: NotReadyError, run_test: str | None, known: Known) -> Verdict:
        """A --wait that ran out of time: said as an error line, reported like any not-ready
        outcome (the execution, its provenance and link)."""
        if known.selection is None:
            raise exc
        self.console.error(str(exc))
        verdict = error_verdict(exc, run_test, self.settings)
        return self.provenance(verdict, known.selection or "", known.run_test_id, known.link)

    def run(self, policy: Policy) -> Verdict:
        """`fi-gate run` for one run test: start an execution, wait for it, judge that one;
        with `evidence:`, more of them until each check is decided (`gather`)."""

        s = self.settings
        run_test = s.run_test or policy.run_test
        if run_test is None:
            raise UsageError(
                "nothing to run: give --run-test NAME, set FI_GATE_RUN_TEST, or add `run_test:` "
                f"to {s.policy_path}"
            )
        deadline = Deadline(s.timeout)
        first = self.start(policy, run_test, deadline, self.run_test_ref)
        if not isinstance(first, Ran):  # not ready: the deadline passed
            return first
        if policy.max_calls is not None:
            return self.gather(policy, run_test, deadline, first)
        verdict = evaluate(
            policy, first.execution, now(), run_test=run_test, source=s.base_url,
            calls=first.calls, history=first.history, baseline_calls=first.paired,
        )  # fmt: skip
        return self.provenance(verdict, "started", first.ref.id, first.link)

    def start(
        self, policy: Policy, run_test: str, deadline: Deadline, ref: RunTestRef | None
    ) -> Ran | Verdict:
        """Start one execution of `run_test` and wait for it: what it read, or the not-ready
        verdict of a deadline (the execution cancelled)."""

        s = self.settings
        with self.connect(s, deadline) as client:
            if ref is None or ref.name != run_test:
                ref = find_run_test(client, run_test)

            def existing() -> set[str]:
                # Also after the deadline (a start cut off by it): a short one of its own.
                if client.deadline.remaining() > CANCEL_SECONDS:
                    return {r.execution_id for r in client.list_executions(run_test, 1, 10)[0]}
                with self.connect(s, Deadline(CANCEL_SECONDS)) as late:
                    return {r.execution_id for r in late.list_executions(run_test, 1, 10)[0]}

            scenarios = ref.scenario_ids(s.scenarios)  # before anything starts
            execution_id = start_execution(
                client, ref, scenarios, existing=existing, on_info=self.console.info
            )
        link = app_link(s.app_url, ref.id, execution_id)
        self.started.add(execution_id, link or s.app_url, s)
        self.console.info(
            f"started execution {execution_id} of run test '{run_test}'"
            + (f": {link}" if link else "")
        )
        mine = replace(s, execution_id=execution_id, wait=True)
        known = Known(selection="started", run_test_id=ref.id, link=link, link_asked=True)
        try:
            execution, calls, history, paired = Fetch(
                self, mine, policy, run_test, deadline=deadline, known=known
            ).run()
        except NotReadyError as exc:
            self.cancel(only=execution_id, why="the deadline passed")
            return self.not_ready(exc, run_test, known)
        except GateError as exc:  # nothing judged it: it is not left running for nobody
            why = f"fi-gate could not judge it: {type(exc).__name__}"
            self.cancel(only=execution_id, why=why)
            raise
        if execution.is_final:
            self.started.done(execution_id)
        return Ran(ref, link, execution, calls, history, paired)

    def gather(self, policy: Policy, run_test: str, deadline: Deadline, first: Ran) -> Verdict:
        """`evidence:`: judge the pooled executions with the anytime-valid tests; while an
        error-level check is undecided, none has decided to fail, and one more execution fits
        in `max_calls`, start one more and judge again."""

        assert policy.max_calls is not None
        runs, why = [first], ""
        while True:
            verdict = self.pooled_verdict(policy, run_test, runs)
            undecided = evidence.undecided(verdict)
            if not undecided or evidence.decided_fail(verdict):
                return verdict
            why = evidence.no_more(runs[-1].execution.total_calls, verdict, policy.max_calls)
            if why:
                break
            self.console.info(
                f"{len(undecided)} check(s) undecided after {len(runs)} execution(s), "
                f"{verdict.pooled_calls} calls ({', '.join(c.label for c in undecided[:3])}): "
                f"starting another (evidence.max_calls {policy.max_calls})"
            )
            more = self.start(policy, run_test, deadline, first.ref)
            if not isinstance(more, Ran):  # the deadline, while it ran: cancelled
                why = f"the {self.settings.timeout:g}s deadline passed while another ran"
                break
            runs.append(more)
        return evidence.with_reason(verdict, why)

    def pooled_verdict(self, policy: Policy, run_test: str, runs: list[Ran]) -> Verdict:
        """The executions judged as one, every started one named in the verdict."""

        last, at = runs[-1], now()
        executions = [r.execution for r in runs]
        # An execution with impossible data is judged alone (an error), never pooled away.
        judged = evidence.impossible(executions, at) or evidence.pool(executions)
        calls = sum(e.total_calls for e in executions)
        pooled = (
            f"{len(runs)} pooled executions ({calls} calls)"
            if judged is not last.execution
            else None
        )
        verdict = evaluate(
            policy, judged, at, run_test=run_test, source=self.settings.base_url,
            calls=last.calls, history=last.history, baseline_calls=last.paired, sequential=True,
            subject=pooled,
        )  # fmt: skip
        verdict = replace(
            verdict,
            pooled=tuple(
                Pooled(
                    r.execution.execution_id, r.execution.status, r.execution.total_calls, r.link
                )
                for r in runs
            ),
            max_calls=policy.max_calls,
        )
        return self.provenance(verdict, "started", last.ref.id, last.link)

    def cancel(self, *, only: str | None = None, why: str) -> None:
        """Cancel what this run started (cancel_started), with its own console and client."""
        cancel_started(self.console, self.connect, self.started, only=only, why=why)

    def provenance(
        self, verdict: Verdict, selection: str, run_test_id: str | None, link: str | None
    ) -> Verdict:
        """How the execution was chosen, the commit and ref being deployed, and its link."""

        s = self.settings
        if link is None and verdict.execution is not None:
            link = app_link(s.app_url, run_test_id, verdict.execution.execution_id)
        return replace(
            verdict,
            selection=selection,
            commit=s.commit,
            ref=s.ref,
            link=link,
            run_test_id=run_test_id,
            policy_file=s.policy_path,
        )

    def soften(self, verdict: Verdict) -> Verdict:
        """--on-api-error pass: an API or network error lets the deploy go on, loudly."""
        return soften(verdict, self.settings, self.console)


@dataclass
class Fetch:
    """What one judgement reads: the execution (selected, waited for), its calls, its history."""

    judge: Judge  # the invocation: its console, its connections, what it started
    settings: Settings  # this judgement's (the execution started, waited for: `run`)
    policy: Policy
    run_test: str | None
    deadline: Deadline | None = None
    known: Known | None = None  # what is learnt on the way (the run test's id, the link)

    def run(
        self,
    ) -> tuple[Execution, CallsSummary | None, list[Execution], dict[str, CallsSummary]]:
        """The execution, its calls (with --calls, or for `baseline.scenarios`), its history,
        and the calls of the baseline executions that `baseline.scenarios` compares it with."""

        s = self.settings
        reads_calls = self.reads_calls
        with self.judge.connect(s, self.deadline) as client:
            if reads_calls:
                client.start_workers(s.workers)
            execution_id, items = self.select(client)
            plan = plan_pages(s.page_size)
            page_size = plan.first if reads_calls else 1
            try:
                execution, first = client.execution_and_calls(
                    execution_id, run_test=self.run_test, page_size=page_size
                )
            except DeadlineError as exc:
                if not s.wait:
                    raise
                raise NotReadyError(  # waiting, and not one answer: not known to be final
                    f"execution {execution_id} did not answer within the {s.timeout:g}s "
                    "deadline, so it is not known to be final; re-run later or raise --timeout"
                ) from exc
            if s.wait:
                execution, first = self.wait(client, execution, first, page_size)
            calls = None
            if reads_calls and execution.is_final:
                calls = self.calls(client, execution, first, plan)
            history = self.history(client, items)
            paired = self.baseline_calls(client, execution, history, plan) if calls else {}
            if self.known is not None and self.run_test and not self.known.link_asked:
                self.resolve_link(client, execution_id)
            self.judge.console.debug(f"{client.requests_made} request(s) to {client.host}")
            return execution, calls, history, paired

    def baseline_calls(
        self, client: Client, execution: Execution, history: list[Execution], plan: PagePlan
    ) -> dict[str, CallsSummary]:
        """The calls of each baseline execution `baseline.scenarios` compares with (chosen as
        the baseline checks choose it; never this gate's own execution)."""

        if not self.policy.compares_scenarios:
            return {}

        # Only the Pass/Fail configs' outputs are compared: the pages are asked for with the
        # `eval_name` filter (config names), smaller when an execution has several evals.
        names = tuple(sorted({c.name for e in execution.evals if e.output_type == PASS_FAIL
                              for c in e.configs}))  # fmt: skip
        out: dict[str, CallsSummary] = {}
        for base in baseline_executions(self.policy, execution, history, now()).values():
            if base is None or base.execution_id in out or not names:
                continue
            _, first = client.execution_and_calls(
                base.execution_id, summary=False, page_size=plan.first, eval_names=names
            )
            out[base.execution_id] = self.calls(client, base, first, plan, eval_names=names)
        return out

    @property
    def reads_calls(self) -> bool:
        """Every call is read with --calls, and for `baseline.scenarios`."""
        return self.settings.calls or self.policy.compares_scenarios

    def select(self, client: Client) -> tuple[str, list[Any]]:
        """The execution's id, and the listing's items (the history a baseline or trend needs,
        at no extra request)."""

        s, console = self.settings, self.judge.console
        needed = self.policy.history_needed
        if s.execution_id is None:
            assert self.run_test is not None
            try:
                ref, items = select_execution(
                    client, self.run_test, s.select, page_size=max(LIST_PAGE_SIZE, needed + 1)
                )
            except NotFoundError as exc:
                raise unknown_run_test(client, self.run_test, exc) from exc
            console.debug(f"selected execution {ref.execution_id} ({ref.status})")
            return ref.execution_id, items
        if self.run_test is not None:
            refs, pages, items = client.list_executions(self.run_test, 1, max(needed + 1, 10))
            self.belongs(client, s.execution_id, (refs, pages))
            return s.execution_id, items if needed else []
        if needed:
            console.info("baseline and trend need the run test's name (--run-test or run_test:)")
        return s.execution_id, []

    def belongs(self, client: Client, execution_id: str, first: tuple[list[Any], int]) -> None:
        """An execution named beside a run test must be that run test's: else its rules (and
        its baseline) would judge another run test's execution. Its listing holds the id (page
        as needed); if not, say whose it is when another run test of the policy has it."""
        assert self.run_test is not None
        if self.listed(client, self.run_test, execution_id, first):
            return
        owner = None
        for other in self.judge.known_run_tests:
            if other == self.run_test:
                continue
            try:
                if self.listed(client, other, execution_id, None):
                    owner = other
                    break
            except NotFoundError:
                continue
        whose = (
            f"it belongs to run test '{clip(owner, 80)}'"
            if owner
            else "fi-gate could not tell which run test it belongs to"
        )
        raise UsageError(
            f"execution {clip(execution_id, 64)} is not an execution of run test "
            f"'{clip(self.run_test, 80)}' ({whose}); name the run test it belongs to with "
            "--run-test, or leave --run-test out to judge it by the policy's general rules"
        )

    @staticmethod
    def listed(
        client: Client, name: str, execution_id: str, first: tuple[list[Any], int] | None
    ) -> bool:
        """Whether run test `name`'s listing holds the execution: `first` (its first page and
        total_pages, when already read), then pages of BELONGS_PAGE, at most MAX_LIST_PAGES."""

        if first is not None:
            refs, pages = first
            found = any(same_execution(r.execution_id, execution_id) for r in refs)
            if found or pages <= 1:
                return found
        page = 0
        while page < MAX_LIST_PAGES:
            page += 1
            refs, pages, _ = client.list_executions(name, page, BELONGS_PAGE)
            if any(same_execution(r.execution_id, execution_id) for r in refs):
                return True
            if page >= pages:
                return False
        return False

    def wait(
        self, client: Client, execution: Execution, first: Any, page_size: int
    ) -> tuple[Execution, Any]:

        s = self.settings
        execution_id = execution.execution_id
        polled = False

        def fetch() -> Execution:
            # Polls ask for one call: a running execution's page 1 would be downloaded (and
            # built by the server) again at every poll, for nothing.
            nonlocal polled
            polled = True
            return client.execution(execution_id, run_test=self.run_test)

        known = self.known
        if known is not None and not known.link_asked and self.run_test is not None:
            self.resolve_link(client, execution_id)
        execution = wait_for(
            client,
            execution,
            for_summary=s.wait_for_summary,
            on_progress=self.judge.console.info,
            fetch=fetch,
            link=known.link if known else None,
        )
        if polled and self.reads_calls and execution.is_final:
            return client.execution_and_calls(
                execution_id, run_test=self.run_test, page_size=page_size
            )
        return execution, first

    def calls(
        self,
        client: Client,
        execution: Execution,
        first: Any,
        plan: PagePlan,
        eval_names: tuple[str, ...] = (),
    ) -> Any:
        s = self.settings
        start = time.monotonic()
        calls = client.read_calls(
            execution.execution_id,
            first,
            plan=plan,
            workers=s.workers,
            total_calls=execution.total_calls,
            eval_names=eval_names,
        )
        pages = (
            f"page 1 of {plan.first:,}, then pages of {plan.rest:,} with {s.workers} worker(s)"
            if calls.calls + calls.duplicates > plan.first
            else f"one page (of up to {plan.first:,})"
        )
        self.judge.console.debug(
            f"read {calls.calls:,} call(s) in {pages} in {time.monotonic() - start:.2f}s"
        )
        return calls

    def history(self, client: Client, items: list[Any]) -> list[Execution]:
        """The listing's executions, and any baseline named by id that it did not hold."""

        ours = self.judge.started.ever()  # what this gate started is never its own baseline
        history = [h for h in map(parse_execution, items) if h.execution_id not in ours]
        for compare_to in explicit_baselines(self.policy):
            if all(h.execution_id != compare_to for h in history):
                history.append(client.execution(compare_to, summary=False))
        return history

    def resolve_link(self, client: Client, execution_id: str) -> str | None:
        """The app's link needs the run test's id, which the runs endpoint does not give: one
        search, best effort (a verdict never waits on a link beyond the deadline)."""

        known = self.known if self.known is not None else Known()
        known.link_asked = True  # asked once, whatever the answer
        if client.deadline.remaining() <= 1 or self.run_test is None:
            return None
        try:
            known.run_test_id = find_run_test(client, self.run_test).id
        except GateError as exc:
            self.judge.console.debug(f"no link to the app: {exc}")
            return None
        known.link = app_link(self.settings.app_url, known.run_test_id, execution_id)
        return known.link


def unknown_run_test(client: Client, name: str, exc: NotFoundError) -> GateError:
    """No run test of this exact name: the platform's search (case-insensitive) may know the
    name meant (`support agent regression` for `Support Agent Regression`)."""

    if isinstance(exc, WrongEndpointError):  # the URL is wrong, not the name
        return exc
    try:
        find_run_test(client, name)
    except WrongEndpointError:
        return exc
    except NotFoundError as better:  # it says "did you mean", when the search found one
        return better
    except GateError:  # the search itself failed: the listing's own answer stands
        return exc
    return exc


def explicit_baselines(policy: Policy) -> set[str]:
    """Baselines named by execution id, which the listing page may not hold."""
    named = {policy.baseline.compare_to} if policy.baseline else set()
    named |= {r.baseline.compare_to for r in policy.evals if r.baseline}
    return {n for n in named if n not in ("previous", "last-passing")}


def rules_for(policy: Policy, name: str | None) -> Policy:
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
        hint = did_you_mean(name, listed, close=False)
        raise UsageError(
            f"run test '{name}' is not in the run_tests of {policy.source} "
            f"({', '.join(listed)}){hint}; add it there, or judge one of those"
        )
    return policy.for_run_test(name)


def soften(verdict: Verdict, settings: Settings | None, console: Console) -> Verdict:
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


def stale(verdict: Verdict, settings: Settings, policy: Policy) -> Verdict:
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


def read_execution_file(path: str) -> Execution:
    """A saved execution-detail answer (`--from-file`): the envelope or its `result`."""

    try:
        raw = read_regular(path, MAX_FILE_BYTES)
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: file not found (--from-file)") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"{path}: is a directory, not a saved response (--from-file)") from exc
    except Refused as exc:
        raise UsageError(f"{path}: {exc} (--from-file)") from exc
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
    except RecursionError as exc:
        raise ApiError(f"{path}: the JSON is nested too deeply to be an execution") from exc
    except ValueError as exc:
        raise UsageError(
            f"{path}: not JSON ({exc.__class__.__name__} at byte {getattr(exc, 'pos', '?')}); "
            "save the API's response body as it is"
        ) from exc
    if isinstance(data, dict) and "result" in data and "status" in data:
        if data["status"] is not True:
            raise UsageError(f"{path}: the saved response is an API error, not an execution")
        data = data["result"]
    try:
        return parse_execution(data)
    except ApiError as exc:  # the answer's content is wrong: a response error (exit 3)
        raise ApiError(f"{path}: {exc}") from exc


def error_verdict(exc: GateError, run_test: str | None, settings: Settings | None) -> Verdict:
    """The verdict of a run that could not judge: error (or not ready), with the exit code."""

    waited = getattr(exc, "execution", None)  # a --wait that ran out: what it waited for
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return Verdict(
        verdict="not_ready" if exc.verdict == "not_ready" else "error",
        exit_code=exc.exit_code,
        run_test=run_test,
        execution=facts(waited) if waited is not None else None,
        checks=(),
        clusters=(),
        generated_at=now(),
        message=lines[0] if lines else type(exc).__name__,
        problems=tuple(lines) if len(lines) > 1 else (),
        source=settings.from_file or settings.base_url if settings else None,
        outage=isinstance(exc, OutageError),
    )


def final_status(client: Client, execution_id: str) -> str | None:
    """The execution's status if it is final, looked at right before a cancel: the platform's
    cancel answers 200 for a completed execution and overwrites its status to `cancelled`.
    None when it is not final, or when the look fails (the last poll said it was running)."""
    try:
        current = client.execution(execution_id, summary=False)
    except GateError:
        return None
    return current.status if current.is_final else None


def cancel_started(
    console: Console, connect: Connect, started: Started, *, only: str | None = None, why: str
) -> None:
    """POST a cancel for each execution this run started and that is not final yet (bounded:
    CANCEL_SECONDS each, all at once). Never one fi-gate did not start."""

    pending = started.pending()
    if only is not None:
        pending = {k: v for k, v in pending.items() if k == only}

    def cancel(execution_id: str, link: str, settings: Settings) -> None:
        try:
            with connect(settings, Deadline(LOOK_SECONDS)) as client:
                ended = final_status(client, execution_id)
            if ended is not None:  # the platform's cancel would overwrite it: never
                console.info(
                    f"execution {execution_id} had already ended ({ended}) when fi-gate "
                    f"was about to cancel it ({why}); left as it is: {link}"
                )
                return
            with connect(settings, Deadline(CANCEL_SECONDS)) as client:
                cancel_execution(client, execution_id)
            console.info(f"cancelled execution {execution_id} ({why}; fi-gate started it): {link}")
        except (GateError, KeyboardInterrupt) as exc:
            console.info(
                f"could not cancel execution {execution_id} ({exc or 'stopped'}); cancel it in "
                f"the app: {link}"
            )
        except Exception as exc:  # a bug in a thread: said in one line, never a traceback
            console.info(
                f"could not cancel execution {execution_id} (internal error: "
                f"{type(exc).__name__}); cancel it in the app: {link}"
            )
        finally:
            started.done(execution_id)

    threads = []
    for execution_id, (link, settings) in pending.items():
        if not settings.cancel:
            console.info(f"execution {execution_id} keeps running ({why}; --no-cancel): {link}")
            started.done(execution_id)
            continue
        t = threading.Thread(target=cancel, args=(execution_id, link, settings), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(LOOK_SECONDS + CANCEL_SECONDS + 1)
