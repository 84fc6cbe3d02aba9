"""What the report keeps of an execution's calls, built page by page in bounded memory.

Pages are merged by `call_execution_id`: the server orders calls by `-updated_at`, so pages shift
while an execution is still running and a call can appear twice; it is counted once. Only what
the report shows is kept: counts, the failed calls by scenario, a few failing examples per eval
config, and the score values (one float per call and config, for score intervals).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.errors import ApiError

MAX_EXAMPLES = 3
MAX_SCENARIOS = 10


@dataclass(frozen=True)
class CallExample:
    call_id: str
    scenario: str
    reason: str


@dataclass(frozen=True)
class CallsSummary:
    """The calls of one execution as the report shows them (immutable)."""

    calls: int
    by_status: tuple[tuple[str, int], ...]
    failed_by_scenario: tuple[tuple[str, int], ...]
    failing_examples: Mapping[str, tuple[CallExample, ...]]  # by eval config name
    scores: Mapping[str, tuple[float, ...]] = field(default_factory=dict)  # 0-1, by config name
    duplicates: int = 0


def _text(value: Any, limit: int = 300) -> str:
    return value[:limit] if isinstance(value, str) else ""


class CallDigest:
    """Accumulates call pages; `summary()` freezes what was seen."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.duplicates = 0
        self.status: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.examples: dict[str, list[CallExample]] = {}
        self.scores: dict[str, list[float]] = {}

    def add(self, calls: Iterable[Any]) -> None:
        for call in calls:
            self._one(call)

    def _one(self, call: Any) -> None:
        if not isinstance(call, Mapping) or not isinstance(call.get("call_execution_id"), str):
            raise ApiError("the API answered a call page with a call that has no call_execution_id")
        call_id = call["call_execution_id"]
        if call_id in self.seen:
            self.duplicates += 1
            return
        self.seen.add(call_id)
        status = _text(call.get("status"), 40) or "unknown"
        scenario = _text(call.get("scenario_name"), 120) or "(no scenario)"
        self.status[status] += 1
        if status == "failed":
            self.failed[scenario] += 1
        outputs = call.get("eval_outputs")
        if status != "completed" or not isinstance(outputs, Mapping):
            return
        for value in outputs.values():
            if not isinstance(value, Mapping):
                continue
            name = _text(value.get("name"), 200)
            output = value.get("output")
            kind = value.get("output_type")
            if not name or output is None:
                continue
            if kind == "Pass/Fail" and output in (False, "Failed"):
                bucket = self.examples.setdefault(name, [])
                if len(bucket) < MAX_EXAMPLES:
                    reason = _text(value.get("reason"), 300)
                    bucket.append(CallExample(call_id[:100], scenario, reason))
            elif (
                kind == "score"
                and isinstance(output, (int, float))
                and not isinstance(output, bool)
            ):
                self.scores.setdefault(name, []).append(float(output))

    def summary(self) -> CallsSummary:
        return CallsSummary(
            calls=len(self.seen),
            by_status=tuple(sorted(self.status.items())),
            failed_by_scenario=tuple(self.failed.most_common(MAX_SCENARIOS)),
            failing_examples={k: tuple(v) for k, v in self.examples.items()},
            scores={k: tuple(v) for k, v in self.scores.items()},
            duplicates=self.duplicates,
        )


def check_page(page: Any, what: str) -> tuple[list[Any], int]:
    """A call page's results and total_pages, checked by hand (fast: pages can be large)."""
    if not isinstance(page, Mapping):
        raise ApiError(f"the API answered {what} with no call_results page")
    results, total = page.get("results"), page.get("total_pages")
    if not isinstance(results, list) or not isinstance(total, int) or isinstance(total, bool):
        raise ApiError(
            f"the API answered {what} with an unexpected shape at result.call_results "
            "(results must be a list, total_pages a whole number)"
        )
    return results, total
