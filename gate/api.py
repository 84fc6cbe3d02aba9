"""The Future AGI API as fi-gate uses it: the runs endpoint (executions and their calls), which
execution to judge, and waiting for one to finish. The run-test endpoints of `fi-gate run`
(search, start, cancel) are in runs.py; how requests travel is transport.py; how an
execution's call pages are read at once is pages.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gate import pages
from gate.calls import CallsResult, Detail
from gate.errors import (
    ApiError,
    GateError,
    NotFoundError,
    NotReadyError,
    RejectedKeyError,
    WrongEndpointError,
)
from gate.model import (
    Execution,
    ExecutionRef,
    ListingShape,
    parse_execution,
    parse_execution_list,
)
from gate.redact import clip
from gate.transport import Deadline, DeadlineError, Refusal, Transport, check_url
from gate.wire import about, decode_result

RUNS_PATH = "/sdk/api/v1/simulation/runs/"
LIST_PAGE_SIZE = 5
MAX_LIST_PAGES = 20
WAIT_FIRST = 5.0
WAIT_MAX = 30.0
LAST_LOOK = 2.0  # seconds kept after the last look at the deadline, to read and judge it
SUMMARY_PENDING = frozenset({"pending", "running"})


class Client:
    """The endpoints fi-gate reads, over one transport (deadline, retries, trust, proxies),
    which knows nothing of Future AGI: what the API's refusals mean is `explain`, here."""

    def __init__(self, base_url: str, api_key: str, secret_key: str, **options: Any) -> None:
        self.transport = Transport(
            base_url,
            {"X-Api-Key": api_key, "X-Secret-Key": secret_key},
            explain=explain,
            same_failure_hint=SAME_FAILURE_HINT,
            **options,
        )
        self.readers: pages.Readers | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def deadline(self) -> Deadline:
        return self.transport.deadline

    @property
    def host(self) -> str:
        return self.transport.host

    @property
    def requests_made(self) -> int:
        return self.transport.requests_made

    def request(self, *args: Any, **kwargs: Any) -> Any:
        return self.transport.request(*args, **kwargs)

    def sleep(self, seconds: float) -> None:
        self.transport.sleep(seconds)

    def cancel(self) -> None:
        self.transport.cancel()

    def start_workers(self, workers: int) -> None:
        """Start the call-page readers now, before the first request (pages.Readers)."""
        if self.readers is None:
            self.readers = pages.Readers(workers)

    def close(self) -> None:
        self.transport.cancel()  # the readers' requests end at once, then the readers
        if self.readers is not None:
            self.readers.shutdown()
            self.readers = None
        self.transport.close()

    def get(self, params: dict[str, str], *, what: str, shape: Any = Any) -> Any:
        """GET the runs endpoint: the envelope's `result`, decoded as `shape`."""
        return self.request("GET", RUNS_PATH, params, what=what, shape=shape)

    def list_executions(
        self, run_test: str, page: int = 1, limit: int = LIST_PAGE_SIZE
    ) -> tuple[list[ExecutionRef], int, list[Any]]:
        """A listing page: its executions, total_pages, and the raw items (with eval results)."""
        page_shape: ListingShape = self.get(
            {"run_test_name": run_test, "page": str(page), "limit": str(limit)},
            what=f"the execution list of run test '{clip(run_test, 80)}'",
            shape=ListingShape,
        )
        return parse_execution_list(page_shape)

    def execution(
        self, execution_id: str, *, summary: bool = True, run_test: str | None = None
    ) -> Execution:
        return self.execution_and_calls(execution_id, summary=summary, run_test=run_test)[0]

    def execution_and_calls(
        self,
        execution_id: str,
        *,
        summary: bool = True,
        run_test: str | None = None,
        page_size: int = 1,
        eval_names: tuple[str, ...] = (),
    ) -> tuple[Execution, pages.FirstPage | None]:
        """The execution and its first call page (of `page_size` calls) in one request.

        The page's calls are not decoded here, only its header: `read_calls` decodes them from
        the body while it has the other pages read.
        """
        params = {"execution_id": execution_id, "limit": str(page_size)}
        if eval_names:  # only these configs' outputs (and results): smaller pages
            params["eval_name"] = ",".join(eval_names)
        if summary:
            params["summary"] = "true"
        what = f"execution {clip(execution_id, 64)}"
        body: bytes = self.get(params, what=what, shape=bytes)
        detail: Detail = decode_result(body, what, Detail, self.host)
        execution = parse_execution(detail, run_test=run_test)
        about(execution.execution_id, execution_id, what, self.host)
        if detail.call_results is None:
            return execution, None
        if page_size == 1:  # no calls wanted: the one call's shape is checked all the same
            decode_result(body, what, CallsResult, self.host)
        return execution, pages.FirstPage(detail.call_results, body)

    def read_calls(
        self,
        execution_id: str,
        first: pages.FirstPage | None,
        *,
        plan: pages.PagePlan,
        workers: int,
        total_calls: int | None = None,
        eval_names: tuple[str, ...] = (),
    ) -> pages.CallsSummary:
        """Every call of the execution (pages.read_calls); `eval_names`: only the outputs of
        these configs, as page 1 was asked for."""
        self.start_workers(workers)
        assert self.readers is not None
        return pages.read_calls(
            self,
            self.readers,
            execution_id,
            first,
            plan=plan,
            total_calls=total_calls,
            eval_names=eval_names,
        )


SAME_FAILURE_HINT = (
    "; the server fails on this run test's data: check the run test's evals in the app (an "
    "eval type the API cannot summarise?) or contact Future AGI support"
)


def check_base_url(url: str, *, allow_insecure_http: bool = False) -> str:
    """The Future AGI API's base URL (FI_BASE_URL, --base-url), checked; exit 2 otherwise."""
    return check_url(
        url,
        allow_insecure_http=allow_insecure_http,
        example="https://api.futureagi.com",
        credentials="use FI_API_KEY and FI_SECRET_KEY",
    )


def explain(r: Refusal) -> GateError | None:
    """What a refusal of the Future AGI API means, and what to do about it."""
    if r.status == 404 and not r.json:
        # Not the API's own "not found": the path is wrong (a base URL with a path).
        return WrongEndpointError(
            f"404 from {r.host}: {r.path} is not an endpoint of the Future AGI API "
            f"({r.message}); check --base-url or FI_BASE_URL: it is the host alone, like "
            "https://api.futureagi.com"
        )
    if r.status == 404:
        # A wrong name or id is the caller's mistake, not an outage: exit 2, never softened.
        return NotFoundError(
            f"404 from {r.host}: {r.what} was not found ({r.message}); check the name or id "
            "(names are exact and case-sensitive) and that the keys belong to its workspace"
        )
    if r.status in (401, 403):
        # A rejected key is a mistake to fix, like an unknown name: exit 2, never softened
        # (scripts that retry exit 3 would retry it forever).
        return RejectedKeyError(
            f"{r.status} from {r.host}: "
            + (
                f"the API key or secret key was rejected ({r.message}); check FI_API_KEY and "
                "FI_SECRET_KEY"
                if r.status == 401
                else f"these keys may not read {r.what} ({r.message}); use keys of the "
                "workspace that owns the run test"
            )
        )
    known = {
        402: f"the workspace's usage limit is reached ({r.message}); check the plan",
        400: f"the API refused the request for {r.what}: {r.message}",
    }
    if r.status in known:
        return ApiError(f"{r.status} from {r.host}: {known[r.status]}")
    if 300 <= r.status < 400:
        return ApiError(f"{r.status} from {r.host} without a usable Location; check --base-url")
    if r.status < 500:
        return ApiError(f"{r.status} from {r.host} for {r.what}: {r.message}; check --base-url")
    return None


def select_execution(
    client: Client, run_test: str, select: str, *, page_size: int = LIST_PAGE_SIZE
) -> tuple[ExecutionRef, list[Any]]:
    """The execution to judge: the newest by started_at (latest) or the newest completed one.

    Listing pages are small (the server computes an eval summary for every execution on a
    listing page) and bounded; pages past `total_pages` are never asked for (the server answers
    them with a 500). The first page's raw items are returned too: they are the history that a
    baseline or a trend needs, at no extra request.
    """
    page = 1
    first_items: list[Any] = []
    while page <= MAX_LIST_PAGES:
        refs, total_pages, items = client.list_executions(run_test, page, page_size)
        if page == 1:
            first_items = items
        candidates = refs if select == "latest" else [r for r in refs if r.status == "completed"]
        if candidates:
            return newest(candidates), first_items
        if not refs or page >= total_pages or select == "latest":
            break
        page += 1
    if select == "latest":
        raise NotReadyError(f"run test '{clip(run_test, 80)}' has no executions yet; run it first")
    raise NotReadyError(
        f"run test '{clip(run_test, 80)}' has no completed execution among its newest "
        f"{min(page, MAX_LIST_PAGES) * LIST_PAGE_SIZE}; wait for one to finish"
    )


def newest(refs: list[ExecutionRef]) -> ExecutionRef:
    """The newest by started_at; one not started yet counts as newest; ties keep server order."""
    best = refs[0]
    for ref in refs[1:]:
        if best.started_at is not None and (
            ref.started_at is None or ref.started_at > best.started_at
        ):
            best = ref
    return best


def wait_for(
    client: Client,
    execution: Execution,
    *,
    for_summary: bool,
    on_progress: Callable[[str], None],
    fetch: Callable[[], Execution],
    link: str | None = None,
) -> Execution:
    """Poll until the execution is final (and, with `for_summary`, its FMA summary is done).
    `link`: the execution's page in the app, named in every progress line.

    Backoff from WAIT_FIRST up to WAIT_MAX seconds; one progress line per poll. The client's
    deadline bounds the wait: an execution still not final then is NotReadyError (exit 4); a
    summary still pending then is not an error (the clusters never decide the verdict).
    """
    deadline: Deadline = client.deadline
    started = deadline.clock()
    delay = WAIT_FIRST
    said_link = False
    while True:
        waiting_summary = (
            for_summary and execution.is_final and (execution.summary_status in SUMMARY_PENDING)
        )
        if execution.is_final and not waiting_summary:
            return execution
        elapsed = deadline.clock() - started
        what = (
            f"the Fix My Agent summary ({execution.summary_status})"
            if waiting_summary
            else f"{execution.status}, {execution.completed_calls}/{execution.total_calls} calls "
            f"completed, {execution.failed_calls} failed"
        )
        where = f" ({link})" if link and not said_link else ""  # the link once is enough
        # The whole deadline is used: the last look comes just before it, whatever the
        # backoff says, with LAST_LOOK seconds left to read and judge what it finds.
        pause = min(delay, deadline.remaining() - LAST_LOOK)
        if pause > 0:
            said_link = said_link or bool(link)
            on_progress(
                f"waiting for execution {execution.execution_id}{where}: {what}; "
                f"{_elapsed(elapsed)} elapsed, next check in {max(1.0, pause):.0f}s"
            )
        else:
            return _out_of_time(execution, waiting_summary, elapsed, deadline, on_progress)
        client.sleep(pause)
        delay = min(WAIT_MAX, delay * 1.5)
        try:
            execution = fetch()
        except DeadlineError:
            # The deadline ended during a poll (a slow API): what was last seen is not final.
            # Not an outage: fi-gate cut the request off itself, and waiting longer is the fix.
            elapsed = deadline.clock() - started
            return _out_of_time(execution, waiting_summary, elapsed, deadline, on_progress)


def _out_of_time(
    execution: Execution,
    waiting_summary: bool,
    elapsed: float,
    deadline: Deadline,
    on_progress: Callable[[str], None],
) -> Execution:
    """The deadline is spent: judge without a pending summary, else not ready (exit 4)."""
    if waiting_summary:
        on_progress("the Fix My Agent summary is still pending: judging without it")
        return execution
    raise NotReadyError(
        f"execution {execution.execution_id} is still {execution.status} after "
        f"{_elapsed(elapsed)} (--timeout {deadline.seconds:g}s); re-run later or raise --timeout",
        execution,
    )


def _elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"
