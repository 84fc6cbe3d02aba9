"""Starting a run test: find it by its exact name, start exactly one execution, cancel it.

The platform's endpoints (../shared/API-NOTES.md, backend `simulate/views/run_test.py`), with the
same keys as the SDK endpoint:

- `GET /simulate/run-tests/?search=&limit=&page=`: a case-insensitive substring search over the
  organisation's run tests (and their agents' names), newest first; the exact name is picked here.
  (`get-id-by-name` is not used: it does not skip deleted run tests and picks one of several.)
- `POST /simulate/run-tests/{id}/execute/` starts an execution; `POST
  /simulate/test-executions/{id}/cancel/` cancels one.

At most once: a start request is sent once, never again and never redirected. When its answer
is lost (a timeout, a broken connection, a 5xx), fi-gate cannot tell an execution it started
from one another pipeline started at the same moment: it lists the run test's executions again
to say which appeared, judges none as this change's result, cancels none, and stops (exit 3).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gate.errors import ApiError, GateError, NotFoundError, OutageError, UsageError
from gate.hints import did_you_mean
from gate.redact import clip
from gate.wire import as_uuid

if TYPE_CHECKING:  # the client (and requests) load only when a request is made
    from gate.api import Client

RUN_TESTS_PATH = "/simulate/run-tests/"
SEARCH_PAGE_SIZE = 50
MAX_SEARCH_PAGES = 10


@dataclass(frozen=True)
class RunTestRef:
    id: str
    name: str
    # Its scenarios as the search lists them: (id, name); None when the answer had none.
    scenarios: tuple[tuple[str, str], ...] | None = None

    def scenario_ids(self, wanted: Sequence[str]) -> list[str]:
        """The ids of the scenarios named by id or by exact name. The server starts any UUID
        it is given, even one of another run test's scenarios (a pending execution that never
        moves), so an unknown one is refused here, before anything starts (exit 2)."""
        if not wanted or self.scenarios is None:
            return list(wanted)
        by_id = {sid: sid for sid, _ in self.scenarios}
        by_name: dict[str, list[str]] = {}
        for sid, name in self.scenarios:
            by_name.setdefault(name, []).append(sid)
        ids, unknown = [], []
        for w in wanted:
            as_id = as_uuid(w)
            if as_id is not None and as_id in by_id:
                ids.append(as_id)
            elif len(by_name.get(w, [])) == 1:
                ids.append(by_name[w][0])
            elif len(by_name.get(w, [])) > 1:
                raise UsageError(
                    f"--scenario '{clip(w, 80)}': {len(by_name[w])} scenarios of run test "
                    f"'{clip(self.name, 80)}' have that name; give its id "
                    f"({', '.join(by_name[w])})"
                )
            else:
                unknown.append(w)
        if unknown:
            names = [name for _, name in self.scenarios]
            hint = did_you_mean(unknown[0], names)
            known = ", ".join(f"'{clip(n, 60)}'" for n in names[:10]) or "none"
            raise UsageError(
                f"--scenario {', '.join(repr(clip(u, 80)) for u in unknown)}: not a scenario of "
                f"run test '{clip(self.name, 80)}'{hint} (its scenarios: {known}); give a "
                "scenario's id or exact name"
            )
        return list(dict.fromkeys(ids))


def _scenarios_of(item: dict[str, Any]) -> tuple[tuple[str, str], ...] | None:
    """A search result's scenarios: `scenarios_detail` (ids and names), else `scenarios`."""
    detail = item.get("scenarios_detail")
    if isinstance(detail, list) and all(isinstance(d, dict) for d in detail) and detail:
        return tuple(
            (sid, str(d.get("name") or sid))
            for d in detail
            if (sid := as_uuid(d.get("id"))) is not None
        )
    ids = item.get("scenarios")
    if isinstance(ids, list):
        return tuple((sid, sid) for i in ids if (sid := as_uuid(i)) is not None)
    return None


def app_link(app_url: str, run_test_id: str | None, execution_id: str | None) -> str | None:
    """The execution's page in the web app, when both ids are known."""
    if not run_test_id or not execution_id:
        return None
    test, execution = quote(run_test_id, safe=""), quote(execution_id, safe="")
    return f"{app_url.rstrip('/')}/dashboard/simulate/test/{test}/{execution}"


def _search(client: Client, search: str, what: str) -> list[RunTestRef]:
    """Every run test the platform's search lists for `search` ("" for all), page by page."""
    found: list[RunTestRef] = []
    page = 1
    while page <= MAX_SEARCH_PAGES:
        answer = client.request(
            "GET",
            RUN_TESTS_PATH,
            {"search": search, "limit": str(SEARCH_PAGE_SIZE), "page": str(page)},
            what=what,
            envelope=False,
        )
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list):
            raise ApiError(
                f"the API answered {what} without a `results` list; is --base-url pointing at "
                "the Future AGI API?"
            )
        for item in results:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                run_test_id = as_uuid(item.get("id"))
                if run_test_id is None:
                    raise ApiError(f"the API answered {what} with a run test id that is not a UUID")
                found.append(RunTestRef(run_test_id, item["name"], _scenarios_of(item)))
        total_pages = answer.get("total_pages")
        if not isinstance(total_pages, int) or page >= total_pages:
            break
        page += 1
    return found


def find_run_test(client: Client, name: str) -> RunTestRef:
    """The run test of exactly this name; a clear error for none, a case-only match, or two."""
    found = _search(client, name, f"the run tests matching '{clip(name, 80)}'")
    exact = [r for r in found if r.name == name]
    if len(exact) > 1:
        raise UsageError(
            f"{len(exact)} run tests are named '{clip(name, 80)}' "
            f"({', '.join(r.id for r in exact)}); fi-gate does not guess: rename one in the app, "
            "or name it by id with --run-test-id"
        )
    if exact:
        return exact[0]
    hint = did_you_mean(name, [r.name for r in found], close=False)
    raise NotFoundError(
        f"no run test is named '{clip(name, 80)}'{hint or id_hint(name)} (names are exact and "
        "case-sensitive; check that the keys belong to its workspace)"
    )


def id_hint(name: str) -> str:
    """For a run test "name" that is a UUID: the flag that takes an id."""
    return "; it looks like a run test id: give it with --run-test-id" if as_uuid(name) else ""


def find_run_test_by_id(client: Client, run_test_id: str) -> tuple[RunTestRef, int]:
    """The run test of this id (the platform's listing of every run test, paged), and how
    many other run tests share its name (the runs endpoint lists executions by name)."""
    found = _search(client, "", "the workspace's run tests")
    mine = [r for r in found if r.id == as_uuid(run_test_id)]
    if not mine:
        raise NotFoundError(
            f"no run test has the id {clip(run_test_id, 64)} in the keys' workspace (among its "
            f"{len(found)} run tests); check the id (the run test's page in the app: "
            "…/simulate/test/<run test id>/…) and that the keys belong to its workspace"
        )
    namesakes = sum(1 for r in found if r.name == mine[0].name) - 1
    return mine[0], namesakes


def start_execution(
    client: Client,
    run_test: RunTestRef,
    scenario_ids: Sequence[str],
    *,
    existing: Callable[[], set[str]],
    on_info: Callable[[str], None],
) -> str:
    """Start one execution of `run_test`; its id, from the start's own answer. `existing`
    lists the run test's execution ids (taken before the start, and again if its answer is
    lost, to say what appeared)."""
    from gate.transport import MaybeSent

    path = f"{RUN_TESTS_PATH}{quote(run_test.id, safe='')}/execute/"
    what = f"the start of run test '{clip(run_test.name, 80)}'"
    body: dict[str, Any] = {"scenario_ids": list(scenario_ids)} if scenario_ids else {}
    before = existing()
    try:
        answer = client.request("POST", path, what=what, body=body, envelope=False)
    except MaybeSent as exc:
        raise _lost(exc, run_test, before, existing) from exc
    except GateError as exc:
        if exc.status == 400 and not VALIDATION.search(str(exc)):
            raise _failed_start(exc, run_test, before, existing) from exc
        raise _refused(exc, run_test) from exc
    _about_start(answer, run_test, what)
    execution_id = as_uuid(answer.get("execution_id")) if isinstance(answer, dict) else None
    if execution_id is None:
        raise ApiError(
            f"the API answered {what} without an execution id; is --base-url pointing at "
            "the Future AGI API?"
        )
    return execution_id


# The refusals of a start the server is known to give for the request itself (execute's
# validation: no scenarios, incomplete scenarios, unknown fields, a scenario id that is not a
# UUID, a body that is not JSON). Any other 400 is the platform failing (its workflow engine
# down: "Failed to start test execution: Failed client connect: ...").
VALIDATION = re.compile(
    r"At least one scenario is required|scenario\(s\) are not completed|Unknown field\.|"
    r"Must be a valid UUID|JSON parse error|Invalid data\."
)


def _about_start(answer: Any, run_test: RunTestRef, what: str) -> None:
    """The start's answer must be about the run test started (a swapped answer never is)."""
    answered = as_uuid(answer.get("run_test_id")) if isinstance(answer, dict) else None
    if answered is not None and answered != as_uuid(run_test.id):
        raise ApiError(
            f"the API answered {what} about another run test ({answered}); check --base-url "
            "and any proxy in between"
        )


class FailedStart(OutageError):
    """The platform failed to start the execution (not a refusal of the request)."""


def _failed_start(
    exc: GateError, run_test: RunTestRef, before: set[str], existing: Callable[[], set[str]]
) -> FailedStart:
    """A 400 that is not one of execute's validation answers: the platform failing to start
    (an outage worded as a refusal). It may have left a row behind, which this job's answer
    did not give: named, never cancelled."""
    try:
        new = sorted(existing() - before)
        left = (
            f"the platform may have left execution(s) {', '.join(new)} pending; not started by "
            "this job's answer, so fi-gate did not cancel them"
            if new
            else "no execution appeared in its listing"
        )
    except GateError as again:
        left = f"its executions could not be listed again ({clip(str(again), 120)})"
    reason = str(exc).split(": ", 2)[-1]
    return FailedStart(
        f"the platform failed to start run test '{clip(run_test.name, 80)}' ({clip(reason, 200)}): "
        f"{left}; this is the platform failing, not the run test: retry later"
    )


class LostStart(OutageError):
    """The start's answer never came: fi-gate cannot tell whether it started an execution."""


def _lost(
    exc: GateError, run_test: RunTestRef, before: set[str], existing: Callable[[], set[str]]
) -> LostStart:
    """A start whose answer was lost (a dropped connection, a proxy's 502, the deadline).

    Without the start's own answer fi-gate cannot tell its execution from one another
    pipeline started at the same moment, so it adopts none (never judged as this change's
    result), cancels none, and never sends the start again (a second billed execution)."""
    try:
        new = sorted(existing() - before)
        appeared = (
            f"execution(s) {', '.join(new)} appeared since, which may be this job's or another "
            "pipeline's"
            if new
            else "no new execution appeared in its listing since"
        )
    except GateError as again:
        appeared = f"its executions could not be listed again ({clip(str(again), 120)})"
    return LostStart(
        f"the answer to the start of run test '{clip(run_test.name, 80)}' was lost ({exc}); "
        f"{appeared}. fi-gate judged none and cancelled none, and did not start it again: if "
        "you know which execution is this job's, judge it with `fi-gate check --execution-id "
        "ID`, else check the run test in the app and re-run the job"
    )


def _refused(exc: GateError, run_test: RunTestRef) -> GateError:
    """A start the platform refused: a problem of the run test or the plan (exit 2)."""
    status = exc.status
    name = clip(run_test.name, 80)
    reason = str(exc).split(": ", 1)[-1]
    if status == 400:
        return UsageError(
            f"the platform refused to start run test '{name}': {reason} (fix the run test in the "
            "app, or the --scenario ids)"
        )
    if status in (402, 403):
        return UsageError(
            f"the platform refused to start run test '{name}' (HTTP {status}): {reason}; the "
            "workspace's plan does not include running simulations this way. Start it elsewhere "
            "and judge it with `fi-gate check`"
        )
    if status == 404:
        return NotFoundError(
            f"run test '{name}' ({run_test.id}) was not found when starting it; it may have just "
            "been deleted"
        )
    return exc


def cancel_execution(client: Client, execution_id: str) -> None:
    """Cancel one execution; the answer must be about it (`test_execution_id`)."""
    what = f"the cancel of execution {execution_id}"
    answer = client.request(
        "POST",
        f"/simulate/test-executions/{quote(execution_id, safe='')}/cancel/",
        what=what,
        body={},
        envelope=False,
    )
    answered = answer.get("test_execution_id") if isinstance(answer, dict) else None
    if answered is not None and as_uuid(answered) != as_uuid(execution_id):
        raise ApiError(f"the API answered {what} about execution {clip(str(answered), 64)}")


class Started:
    """The executions this run started and has not seen end: the ones to cancel when the job
    is cancelled or the deadline passes. Never one fi-gate did not start."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # execution id -> (its link, the settings it was started with: where, which keys)
        self._ids: dict[str, tuple[str, Any]] = {}
        self._ever: set[str] = set()  # also those that ended: never a baseline of this gate

    def add(self, execution_id: str, link: str, settings: Any) -> None:
        with self._lock:
            self._ids[execution_id] = (link, settings)
            self._ever.add(execution_id)

    def ever(self) -> frozenset[str]:
        """Every execution this run started, ended or not."""
        with self._lock:
            return frozenset(self._ever)

    def done(self, execution_id: str) -> None:
        with self._lock:
            self._ids.pop(execution_id, None)

    def pending(self) -> dict[str, tuple[str, Any]]:
        with self._lock:
            return dict(self._ids)

    def clear(self) -> None:
        with self._lock:
            self._ids.clear()
