"""Typed, immutable views of what the Future AGI API returns, and the decoders that make them.

Every answer is decoded into typed records (msgspec) that check its shape in the same pass, so a
malformed answer becomes an ApiError that names the field (exit 3), never a traceback or a wrong
verdict. The records accept exactly what the shipped response schema
(`schemas/api-responses.schema.json`) accepts: the tests hold the two in step, the schema being
the reference. FMA clusters are read leniently: they are late, model-written and never decide
the verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any

import msgspec

from gate.errors import ApiError
from gate.metrics import CHOICES, PASS_FAIL, SCORE, Measured
from gate.redact import clip
from gate.verdict import Cluster
from gate.wire import shape_error, shape_failure

__all__ = ["CHOICES", "PASS_FAIL", "SCORE"]

FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
NOT_READY_STATUSES = frozenset({"pending", "running", "evaluating", "cancelling"})


@dataclass(frozen=True)
class ConfigResult:
    name: str
    total_cells: int
    output: Mapping[str, float | None]
    avg_score: float | None = None
    id: str | None = None

    def measured(self) -> Measured:
        return Measured(self.total_cells, self.output.get("pass"), self.avg_score, self.output)


@dataclass(frozen=True)
class EvalResult:
    name: str
    output_type: str
    configs: tuple[ConfigResult, ...]
    total_pass_rate: float | None = None
    total_avg: float | None = None
    total_choices_avg: Mapping[str, float | None] = field(default_factory=dict)
    id: str | None = None

    @property
    def cells(self) -> int:
        return sum(c.total_cells for c in self.configs)

    def measured(self) -> Measured:
        return Measured(self.cells, self.total_pass_rate, self.total_avg, self.choice_totals())

    def choice_totals(self) -> dict[str, float | None]:
        """Choice shares over all configs, weighted by cells.

        The API's total_choices_avg covers only the choices seen in the first config; where a
        choice is missing from it, it is computed here from the configs (a config that never
        saw a choice counts 0 % for it).
        """
        out: dict[str, float | None] = dict(self.total_choices_avg)
        cells = self.cells
        if not cells:
            return out
        seen = {k for c in self.configs for k in c.output}
        for choice in seen - set(out):
            total = sum((c.output.get(choice) or 0.0) * c.total_cells for c in self.configs)
            out[choice] = round(total / cells, 2)
        return out


@dataclass(frozen=True)
class Execution:
    execution_id: str
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    total_calls: int
    completed_calls: int
    failed_calls: int
    evals: tuple[EvalResult, ...]
    summary_status: str | None = None
    clusters: tuple[Cluster, ...] = ()
    run_test: str | None = None

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class ExecutionRef:
    """An entry of a run test's execution list: enough to choose one."""

    execution_id: str
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    total_calls: int = 0  # 0 when the listing leaves it out


# The response shapes fi-gate reads (the `$defs` of schemas/api-responses.schema.json).
Count = Annotated[int, msgspec.Meta(ge=0)]
Text = Annotated[str, msgspec.Meta(max_length=100_000)]
Id = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._-]{1,100}$")]
Status = Annotated[str, msgspec.Meta(max_length=64)]
Stamp = Annotated[str, msgspec.Meta(max_length=64)]
Shares = dict[str, float | None]


class ConfigShape(msgspec.Struct, kw_only=True):
    """`config_result`: one eval config's totals."""

    name: Text
    total_cells: Count
    output: Shares | None
    id: str | None = None
    avg_score: float | None = None


class EvalShape(msgspec.Struct, kw_only=True):
    """`eval_result`: one eval (template) of an execution."""

    name: Text
    output_type: Text
    result: list[ConfigShape]
    id: str | None = None
    total_pass_rate: float | None = None
    total_avg: float | None = None
    total_choices_avg: Shares | None = None


class SummaryShape(msgspec.Struct, kw_only=True):
    """`execution_summary`: a listing's entry (its counts may be left out, never null)."""

    execution_id: Id
    status: Status
    started_at: Stamp | None = None
    completed_at: Stamp | None = None
    total_calls: Count | msgspec.UnsetType = msgspec.UNSET
    completed_calls: Count | msgspec.UnsetType = msgspec.UNSET
    failed_calls: Count | msgspec.UnsetType = msgspec.UNSET
    eval_results: list[EvalShape] | None = None


class DetailShape(msgspec.Struct, kw_only=True):
    """`execution_detail`: an execution with its counts and its eval results."""

    execution_id: Id
    status: Status
    started_at: Stamp | None = None
    completed_at: Stamp | None = None
    total_calls: Count
    completed_calls: Count
    failed_calls: Count
    eval_results: list[EvalShape] | None
    eval_explanation_summary: dict[str, Any] | None = None
    eval_explanation_summary_status: str | None = None


class ListingShape(msgspec.Struct, kw_only=True):
    """`execution_list`: a listing page; its entries stay raw until each is read."""

    total_pages: Count
    current_page: Count
    results: list[msgspec.Raw]
    count: Count | msgspec.UnsetType = msgspec.UNSET


def _typed(data: Any, shape: type[Any], what: str, root: str = "result") -> Any:
    """`data` (raw JSON bytes, decoded JSON, or already a record) as a `shape` record."""
    if isinstance(data, shape):
        return data
    try:
        if isinstance(data, (bytes, msgspec.Raw)):
            return msgspec.json.decode(data, type=shape)
        return msgspec.convert(data, shape)
    except msgspec.ValidationError as exc:
        raise shape_failure(what, shape_error(exc, root)) from exc
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ApiError(
            f"the API answered {what} with JSON that cannot be read ({type(exc).__name__}); is "
            "--base-url pointing at the Future AGI API?"
        ) from exc


def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 to an aware UTC datetime; None stays None. Raises ValueError on nonsense."""
    if value is None:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _time(value: str | None, key: str, what: str) -> datetime | None:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise ApiError(
            f"the API answered {what} with an unreadable timestamp at result.{key}: "
            f"{clip(repr(value), 160)}"
        ) from exc


# Far beyond any real run test, and small enough that judging stays quick.
MAX_EVALS = 500
MAX_CONFIGS = 100
MAX_LISTED = 100


def _bounded(evals: list[EvalShape] | None, what: str) -> None:
    """Refuse an answer far larger than the API gives."""
    if evals is None:
        return
    if len(evals) > MAX_EVALS:
        raise ApiError(
            f"the API answered {what} with {len(evals):,} evals; fi-gate reads at most "
            f"{MAX_EVALS}: is --base-url pointing at the Future AGI API?"
        )
    for e in evals:
        if len(e.result) > MAX_CONFIGS:
            raise ApiError(
                f"the API answered {what} with an eval of {len(e.result):,} configs; fi-gate "
                f"reads at most {MAX_CONFIGS}: is --base-url pointing at the Future AGI API?"
            )


def _eval(e: EvalShape) -> EvalResult:
    return EvalResult(
        name=e.name,
        id=e.id,
        output_type=e.output_type,
        total_pass_rate=e.total_pass_rate,
        total_avg=e.total_avg,
        total_choices_avg=dict(e.total_choices_avg or {}),
        configs=tuple(
            ConfigResult(
                name=c.name,
                id=c.id,
                total_cells=c.total_cells,
                output=dict(c.output or {}),
                avg_score=c.avg_score,
            )
            for c in e.result
        ),
    )


def parse_execution(result: Any, *, run_test: str | None = None) -> Execution:
    """The execution-detail `result` (raw, decoded JSON, or a DetailShape) as an Execution;
    also a listing's entry, when it carries the detail's fields."""
    what = "the execution detail"
    d: DetailShape = _typed(result, DetailShape, what)
    _bounded(d.eval_results, what)
    return Execution(
        execution_id=d.execution_id,
        status=d.status,
        started_at=_time(d.started_at, "started_at", what),
        completed_at=_time(d.completed_at, "completed_at", what),
        total_calls=d.total_calls,
        completed_calls=d.completed_calls,
        failed_calls=d.failed_calls,
        evals=tuple(_eval(e) for e in d.eval_results or ()),
        summary_status=d.eval_explanation_summary_status,
        clusters=parse_clusters(d.eval_explanation_summary),
        run_test=run_test,
    )


def parse_execution_list(result: Any) -> tuple[list[ExecutionRef], int, list[msgspec.Raw]]:
    """A listing page: its executions, `total_pages`, and the raw entries (the history a
    baseline or a trend reads, with parse_execution)."""
    what = "the execution list"
    page: ListingShape = _typed(result, ListingShape, what)
    if len(page.results) > MAX_LISTED:
        raise ApiError(
            f"the API answered {what} with {len(page.results):,} executions on one page; "
            f"fi-gate asks for at most {MAX_LISTED}: is --base-url pointing at the Future AGI "
            "API?"
        )
    refs = []
    for index, raw in enumerate(page.results):
        r: SummaryShape = _typed(raw, SummaryShape, what, f"result.results[{index}]")
        _bounded(r.eval_results, what)
        refs.append(
            ExecutionRef(
                execution_id=r.execution_id,
                status=r.status,
                started_at=_time(r.started_at, "started_at", what),
                completed_at=_time(r.completed_at, "completed_at", what),
                total_calls=r.total_calls or 0,
            )
        )
    return refs, page.total_pages, page.results


def _texts(value: Any, limit: int = 20) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    out = []
    for item in value[:limit]:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Mapping):  # issues may be objects; keep their readable part
            text = item.get("title") or item.get("description") or item.get("text")
            if isinstance(text, str):
                out.append(text)
    return tuple(out)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_clusters(summary: Any) -> tuple[Cluster, ...]:
    """Both FMA shapes, leniently: malformed entries are skipped, never fatal.

    Documented: ``{eval: [{cluster_name, call_execution_ids, description}]}``.
    Server: ``{config name: [{theme, kind, issues, guidance, size, member_ids, ...}]}``.
    """
    if not isinstance(summary, Mapping):
        return ()
    clusters: list[Cluster] = []
    for key, items in summary.items():
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, Mapping):
                continue
            ids = item.get("member_ids") or item.get("call_execution_ids") or []
            ids = [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []
            reps = item.get("representative_ids")
            if isinstance(reps, list):  # representatives first: the best examples
                reps = [i for i in reps if isinstance(i, str)]
                ids = reps + [i for i in ids if i not in reps]
            size = item.get("size")
            clusters.append(
                Cluster(
                    eval_name=str(key),
                    name=_str(item.get("theme")) or _str(item.get("cluster_name")) or "(unnamed)",
                    kind=_str(item.get("kind")) or "failure",
                    size=size if isinstance(size, int) and not isinstance(size, bool) else len(ids),
                    description=_str(item.get("description")) or _str(item.get("evidence_summary")),
                    issues=_texts(item.get("issues")),
                    guidance=_str(item.get("guidance")),
                    confidence=_str(item.get("confidence")) or None,
                    call_ids=tuple(ids[:50]),
                )
            )
    return tuple(clusters)
