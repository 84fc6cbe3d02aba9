"""Typed, immutable views of what the Future AGI API returns.

Every response is checked against the shipped response schemas before it is read, so a malformed
answer becomes an ApiError that names the field (exit 3), never a traceback or a wrong verdict.
FMA clusters are read leniently: they are late, model-written and never decide the verdict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from importlib import resources
from typing import Any

from gate.errors import ApiError
from gate.metrics import CHOICES, PASS_FAIL, SCORE, Measured
from gate.redact import clip
from gate.verdict import Cluster

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


@cache
def _schemas() -> dict[str, Any]:
    text = resources.files("gate.schemas").joinpath("api-responses.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _validator(shape: str) -> Any:
    import jsonschema

    schema = {"$ref": f"#/$defs/{shape}", "$defs": _schemas()["$defs"]}
    return jsonschema.Draft202012Validator(schema)


def validate(data: Any, shape: str, what: str) -> None:
    """Check `data` against the response shape `shape`; ApiError naming the field if it fails."""
    import jsonschema

    validator = _validator(shape)
    try:
        if validator.is_valid(data):
            return
    except RecursionError as exc:
        raise ApiError(
            f"the API answered {what} with JSON nested too deeply to be the API's; is "
            "--base-url pointing at the Future AGI API?"
        ) from exc
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    assert error is not None
    path = "result" + "".join(
        f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
    )
    if error.validator == "required":
        detail = error.message.split(" is a required")[0] + " is missing"
    elif error.validator == "type":
        detail = f"expected {error.validator_value}, got {type(error.instance).__name__}"
    else:
        detail = error.message
    raise ApiError(
        f"the API answered {what} with an unexpected shape at {clip(path, 160)}: "
        f"{clip(detail, 160)}; is --base-url pointing at the Future AGI API? (re-run with "
        "--verbose for details)"
    )


def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 to an aware UTC datetime; None stays None. Raises ValueError on nonsense."""
    if value is None:
        return None
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _time(data: Mapping[str, Any], key: str, what: str) -> datetime | None:
    try:
        return parse_time(data.get(key))
    except ValueError as exc:
        raise ApiError(
            f"the API answered {what} with an unreadable timestamp at result.{key}: "
            f"{clip(repr(data.get(key)), 160)}"
        ) from exc


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# Far beyond any real run test, and small enough that checking and judging stay quick: a
# listing of 200,000 evals took two minutes to validate under a 10 s deadline.
MAX_EVALS = 500
MAX_CONFIGS = 100
MAX_LISTED = 100


def _bounded(result: Any, what: str) -> None:
    """Refuse an answer far larger than the API gives, before its shape is checked."""
    if not isinstance(result, Mapping):
        return
    evals = result.get("eval_results")
    if isinstance(evals, list):
        if len(evals) > MAX_EVALS:
            raise ApiError(
                f"the API answered {what} with {len(evals):,} evals; fi-gate reads at most "
                f"{MAX_EVALS}: is --base-url pointing at the Future AGI API?"
            )
        for e in evals:
            configs = e.get("result") if isinstance(e, Mapping) else None
            if isinstance(configs, list) and len(configs) > MAX_CONFIGS:
                raise ApiError(
                    f"the API answered {what} with an eval of {len(configs):,} configs; "
                    f"fi-gate reads at most {MAX_CONFIGS}: is --base-url pointing at the "
                    "Future AGI API?"
                )


def parse_execution(result: Any, *, run_test: str | None = None) -> Execution:
    """The execution-detail `result` (or a list entry with its fields) as an Execution."""
    what = "the execution detail"
    _bounded(result, what)
    validate(result, "execution_detail", what)
    evals = tuple(
        EvalResult(
            name=e["name"],
            id=e.get("id"),
            output_type=e["output_type"],
            total_pass_rate=_number(e.get("total_pass_rate")),
            total_avg=_number(e.get("total_avg")),
            total_choices_avg={
                str(k): _number(v) for k, v in (e.get("total_choices_avg") or {}).items()
            },
            configs=tuple(
                ConfigResult(
                    name=c["name"],
                    id=c.get("id"),
                    total_cells=c["total_cells"],
                    output={str(k): _number(v) for k, v in (c.get("output") or {}).items()},
                    avg_score=_number(c.get("avg_score")),
                )
                for c in e["result"]
            ),
        )
        for e in result["eval_results"] or ()
    )
    return Execution(
        execution_id=result["execution_id"],
        status=result["status"],
        started_at=_time(result, "started_at", what),
        completed_at=_time(result, "completed_at", what),
        total_calls=result["total_calls"],
        completed_calls=result["completed_calls"],
        failed_calls=result["failed_calls"],
        evals=evals,
        summary_status=result.get("eval_explanation_summary_status"),
        clusters=parse_clusters(result.get("eval_explanation_summary")),
        run_test=run_test,
    )


def parse_execution_list(result: Any) -> tuple[list[ExecutionRef], int]:
    """A listing page: its executions and `total_pages`."""
    what = "the execution list"
    items = result.get("results") if isinstance(result, Mapping) else None
    if isinstance(items, list):
        if len(items) > MAX_LISTED:
            raise ApiError(
                f"the API answered {what} with {len(items):,} executions on one page; fi-gate "
                f"asks for at most {MAX_LISTED}: is --base-url pointing at the Future AGI API?"
            )
        for item in items:
            _bounded(item, what)
    validate(result, "execution_list", what)
    refs = [
        ExecutionRef(
            execution_id=r["execution_id"],
            status=r["status"],
            started_at=_time(r, "started_at", what),
            completed_at=_time(r, "completed_at", what),
            total_calls=r.get("total_calls") or 0,
        )
        for r in result["results"]
    ]
    return refs, result["total_pages"]


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
