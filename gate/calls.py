"""What the report keeps of an execution's calls, built page by page in bounded memory.

Call pages are the big answers (about 850 bytes a call: 17 MB at 20,000 calls), so they are
decoded straight into typed records with msgspec: only the fields the report reads are built,
everything else is skipped by the decoder, and the shape is checked in the same pass (the types
below mirror `call` and `page` in the shipped response schema; a test keeps the two in step).

Pages are merged by `call_execution_id`: the server orders calls by `-updated_at`, so pages shift
while an execution is still running and a call can appear twice; it is counted once. Only what
the report shows is kept: counts, the failed calls by scenario, a few failing examples per eval
config, and the score values (one float per call and config, for score intervals).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any

import msgspec

from gate.errors import ApiError
from gate.model import DetailShape
from gate.redact import clip
from gate.verdict import CallExample, CallsSummary

MAX_EXAMPLES = 3
MAX_SCENARIOS = 10
# `id` in the response schema is ^[A-Za-z0-9._-]{1,100}$. The length is checked while decoding;
# the characters once a page, on all its ids joined (a regex a call would cost a quarter of the
# page's decoding time).
ID_CHARACTERS = re.compile(r"[A-Za-z0-9._\n-]*\Z")
ID = re.compile(r"[A-Za-z0-9._-]+\Z")

Count = Annotated[int, msgspec.Meta(ge=0)]


class EvalOutput(msgspec.Struct, gc=False):
    """One call-level eval output. `reason` stays raw JSON until an example needs it."""

    name: str | None = None
    output: Any = None
    output_type: str | None = None
    reason: msgspec.Raw = msgspec.Raw(b"null")


class Call(msgspec.Struct, gc=False):
    call_execution_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    status: str | None = None
    scenario_name: str | None = None
    scenario_id: str | None = None
    duration_seconds: float | None = None
    eval_outputs: dict[str, EvalOutput | None] | None = None


class CallPage(msgspec.Struct):
    total_pages: Count
    current_page: Count
    results: list[Call]
    count: Count | None = None


class PageHeader(msgspec.Struct):
    """A call page without its calls (the decoder skips them): enough to plan the other pages."""

    total_pages: Count
    current_page: Count
    count: Count | None = None


class Detail(DetailShape, kw_only=True):
    """An execution-detail `result`: the execution (model.DetailShape) and its call page's
    header. The calls of page 1 are skipped here (a fast scan), so that the other pages can be
    asked for at once; pages.read_calls decodes them later from the same body, while those
    pages are in flight."""

    call_results: PageHeader | None = None


class CallsResult(msgspec.Struct):
    """A call page's `result`: its call page, and the execution it is about."""

    call_results: CallPage | None = None
    execution_id: str | None = None


def _reason(raw: msgspec.Raw) -> str:
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:  # pragma: no cover - the page decoded, so its parts do
        return ""
    return value[:300] if isinstance(value, str) else ""


def _order(entry: tuple[int, int, CallExample]) -> tuple[int, int]:
    return entry[0], entry[1]


class CallDigest:
    """Accumulates call pages; `summary()` freezes what was seen."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.duplicates = 0
        self.status: Counter[str | None] = Counter()  # raw: see _statuses
        self.failed: Counter[str] = Counter()
        # (page, position, example), the earliest first: pages are digested as they arrive, and
        # the report shows the same examples whatever that order was.
        self.examples: dict[str, list[tuple[int, int, CallExample]]] = {}
        self.scores: dict[str, list[float]] = {}
        self.names: dict[str, str] = {}  # config id -> name, for the report
        # Pass/Fail config id -> scenario id -> [passed, counted]: the per-scenario comparison
        self.tally: dict[str, dict[str, list[int]]] = {}
        self.scenario_names: dict[str, str] = {}
        self.limit: int | None = None  # most calls an execution can have (read_calls sets it)

    def add(self, calls: list[Call], what: str = "a call page", page: int = 1) -> None:
        """Digest one page (`page`: its number, which orders the failing examples)."""
        ids = [c.call_execution_id for c in calls]
        joined = "\n".join(ids)
        if not ID_CHARACTERS.match(joined) or joined.count("\n") != max(0, len(calls) - 1):
            bad = next(c for c in calls if not ID.match(c.call_execution_id))
            raise ApiError(
                f"the API answered {what} with a call_execution_id that is not an id "
                f"({clip(repr(bad.call_execution_id), 60)}); is --base-url pointing at the Future "
                "AGI API?"
            )
        new = set(ids)
        if len(new) == len(ids) and self.seen.isdisjoint(new):  # the usual page: all new
            self.seen |= new
            self._check_limit(what)
            self._count(calls, page)
            return
        fresh = []  # a call seen before, or twice in this page: pages shift while calls update
        for call in calls:
            if call.call_execution_id in self.seen:
                self.duplicates += 1
            else:
                self.seen.add(call.call_execution_id)
                fresh.append(call)
        self._check_limit(what)
        self._count(fresh, page)

    def _check_limit(self, what: str) -> None:
        if self.limit is not None and len(self.seen) > self.limit:
            raise ApiError(
                f"the API answered {what} with more calls than the execution has "
                f"({len(self.seen):,} against at most {self.limit:,}); is --base-url pointing "
                "at the Future AGI API?"
            )

    def _count(self, calls: list[Call], page: int) -> None:
        """Count calls not seen before. This runs once per call and eval (100,000 times at
        20,000 calls with five evals): statuses are counted in C, raw (`summary` tidies them),
        and the loop binds what it reads to locals."""
        states = [c.status for c in calls]
        self.status.update(states)
        failed, examples, scores, names = self.failed, self.examples, self.scores, self.names
        tally, scenario_names = self.tally, self.scenario_names
        for position, call in enumerate(calls):
            state = call.status
            if state != "completed":
                if state == "failed":
                    failed[(call.scenario_name or "(no scenario)")[:120]] += 1
                continue
            outputs = call.eval_outputs
            if not outputs:
                continue
            for key, value in outputs.items():
                if value is None:
                    continue
                config_id = key[:100]
                name = value.name
                if name:  # one name an id; should two differ, the least, whatever the order
                    known = names.get(config_id)
                    if known is None or name[:200] < known:
                        names[config_id] = name[:200]
                kind = value.output_type
                if kind == "Pass/Fail":
                    output = value.output
                    if output is not None:  # counted as the API counts cells
                        scenario_id = (call.scenario_id or "")[:100]
                        counts = tally.setdefault(config_id, {}).get(scenario_id)
                        if counts is None:
                            counts = tally[config_id][scenario_id] = [0, 0]
                        # one name a scenario: the least, whatever the order pages arrive in
                        shown = (call.scenario_name or "")[:120]
                        known = scenario_names.get(scenario_id)
                        if known is None or shown < known:
                            scenario_names[scenario_id] = shown
                        counts[1] += 1
                        if output is True or output == "Passed":
                            counts[0] += 1
                    if output is False or output == "Failed":
                        bucket = examples.setdefault(config_id, [])
                        if len(bucket) < MAX_EXAMPLES or page < bucket[-1][0]:
                            scenario = (call.scenario_name or "(no scenario)")[:120]
                            reason = _reason(value.reason)
                            example = CallExample(call.call_execution_id, scenario, reason)
                            bucket.append((page, position, example))
                            bucket.sort(key=_order)
                            del bucket[MAX_EXAMPLES:]
                elif kind == "score":
                    output = value.output
                    if type(output) in (float, int):
                        scores.setdefault(config_id, []).append(float(output))

    def _statuses(self) -> Counter[str]:
        """Status counts with missing statuses as "unknown" and long ones clipped."""
        tidy: Counter[str] = Counter()
        for state, n in self.status.items():
            tidy[(state or "unknown")[:40]] += n
        return tidy

    def summary(self) -> CallsSummary:
        return CallsSummary(
            calls=len(self.seen),
            by_status=tuple(sorted(self._statuses().items())),
            failed_by_scenario=tuple(
                sorted(self.failed.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_SCENARIOS]
            ),
            failing_examples={
                k: tuple(e for _, _, e in self.examples[k]) for k in sorted(self.examples)
            },
            scores={k: tuple(self.scores[k]) for k in sorted(self.scores)},
            duplicates=self.duplicates,
            config_names=dict(sorted(self.names.items())),
            by_scenario={
                k: {sid: (c[0], c[1]) for sid, c in sorted(v.items())}
                for k, v in sorted(self.tally.items())
            },
            scenario_names=dict(sorted(self.scenario_names.items())),
        )
