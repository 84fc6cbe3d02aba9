"""The verdict: plain, immutable data that every renderer reads.

It imports nothing of fi-gate but the exit codes, so the renderers load no parser, no policy
loader and no decoder (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from gate.errors import EXIT_API, EXIT_FAIL, EXIT_NOT_READY, EXIT_PASS, EXIT_USAGE

Status = Literal["pass", "fail", "warn", "missing", "no_data", "skipped", "undecided"]
VerdictName = Literal["pass", "warn", "fail", "error", "not_ready"]
# "undecided": `evidence:` ran out of budget before the check was decided (fails at its level).
VIOLATIONS = frozenset({"fail", "missing", "no_data", "undecided"})


@dataclass(frozen=True)
class Cluster:
    """One FMA ("Fix My Agent") cluster, from either the documented or the server's shape."""

    eval_name: str
    name: str
    kind: str = "failure"
    size: int | None = None
    description: str = ""
    issues: tuple[str, ...] = ()
    guidance: str = ""
    confidence: str | None = None
    call_ids: tuple[str, ...] = ()
    template: str | None = None  # the eval (template) its key belongs to, once resolved


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
    # By eval config id (the key of a call's eval_outputs): two configs of one name, in one
    # eval or in two, are never pooled.
    failing_examples: Mapping[str, tuple[CallExample, ...]]
    scores: Mapping[str, tuple[float, ...]] = field(default_factory=dict)  # 0-1
    duplicates: int = 0
    config_names: Mapping[str, str] = field(default_factory=dict)  # config id -> its name
    # Pass/Fail config id -> scenario id -> (passed, counted): a call counts when it completed
    # and its output for the config is not null, as the API counts cells.
    by_scenario: Mapping[str, Mapping[str, tuple[int, int]]] = field(default_factory=dict)
    scenario_names: Mapping[str, str] = field(default_factory=dict)  # scenario id -> name


@dataclass(frozen=True)
class ScenarioChange:
    """One scenario of one Pass/Fail eval config, the baseline's calls against the current
    ones (docs/statistics.md): regressed (significant after Holm), worse, same, better, or new
    and gone (in one execution only: listed, not tested)."""

    eval: str
    config: str | None
    config_id: str
    scenario_id: str
    scenario_name: str
    baseline: tuple[int, int] | None  # (passed, n)
    current: tuple[int, int] | None
    p_value: float | None
    adjusted_p_value: float | None
    status: Literal["regressed", "worse", "same", "better", "new", "gone"]


@dataclass(frozen=True)
class Check:
    name: str
    kind: Literal["eval", "execution"]
    metric: str
    level: Literal["error", "warn", "off"]
    status: Status
    message: str
    observed: float | str | None = None
    threshold: float | str | None = None
    op: str = ""
    # How observed and threshold are written: "%" (0-100), "" (a score or a count), "s" (a
    # duration in seconds), "pts" (a signed difference of points).
    unit: str = ""
    config: str | None = None
    n: int | None = None
    output_type: str | None = None
    interval: tuple[float, float] | None = None  # in the API's units (percent, 0-100)
    interval_source: str | None = None  # wilson, percentiles or calls
    passes: int | None = None
    confidence: float | None = None  # set when the policy judges the interval's bound
    cells_needed: int | None = None
    min_cells: int | None = None  # the rule's min_cells (a sample this small is not judged)
    baseline_value: float | None = None
    baseline_execution: str | None = None
    line: int | None = None  # the policy line of the rule that made it (annotations)
    # The eval configs whose data the check measured, by position in the eval's `result` list
    # and by id: two configs of one name are two checks, never one.
    config_index: int | None = None
    config_ids: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """How the check is named to people: the eval, and its config when it has one."""
        return f"{self.name} / {self.config}" if self.config else self.name

    @property
    def blocks(self) -> bool:
        """A violation at level error: this check fails the gate."""
        return self.level == "error" and self.status in VIOLATIONS

    @property
    def warns(self) -> bool:
        return self.status == "warn" or (self.level == "warn" and self.status in VIOLATIONS)


@dataclass(frozen=True)
class ExecutionFacts:
    execution_id: str
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    total_calls: int
    completed_calls: int
    failed_calls: int
    summary_status: str | None = None


@dataclass(frozen=True)
class Pooled:
    """One execution `fi-gate run` started and pooled with the others (`evidence:`)."""

    execution_id: str
    status: str
    total_calls: int
    link: str | None = None


@dataclass(frozen=True)
class Verdict:
    verdict: VerdictName
    exit_code: int
    run_test: str | None
    execution: ExecutionFacts | None
    checks: tuple[Check, ...]
    clusters: tuple[Cluster, ...]
    generated_at: datetime
    not_gated: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    message: str = ""
    # Every problem of an error that has several (each of a policy's problems, located):
    # the message is the first; the summary lists them all, each one an annotation.
    problems: tuple[str, ...] = ()
    source: str | None = None
    policy_file: str | None = None  # where the rules are, for annotations on their lines
    calls: CallsSummary | None = None
    trend: tuple[tuple[str, tuple[float | None, ...]], ...] = ()
    scenarios: tuple[ScenarioChange, ...] = ()  # per-scenario comparison with the baseline
    # An error that waiting may fix (OutageError): the only kind `--on-api-error pass` softens.
    outage: bool = False
    # Provenance: how the execution was chosen (started by this run, execution-id, latest,
    # latest-completed, file), the commit and ref being deployed, the execution's app page.
    selection: str | None = None
    commit: str | None = None
    ref: str | None = None
    link: str | None = None
    run_test_id: str | None = None
    # `evidence:` (fi-gate run): every execution this gate started, pooled in this verdict
    # (the last one is `execution`), and the budget of calls it had.
    pooled: tuple[Pooled, ...] = ()
    max_calls: int | None = None

    @property
    def pooled_calls(self) -> int:
        return sum(p.total_calls for p in self.pooled)

    @property
    def undecided_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.status == "undecided")

    @property
    def passed(self) -> bool:
        """The deploy may go on because the policy was met (never for a softened error)."""
        return self.exit_code == EXIT_PASS and self.gated

    @property
    def gated(self) -> bool:
        """An execution was judged (pass, warn or fail); false for an error or not ready, also
        when `--on-api-error pass` turned the error into exit 0."""
        return self.verdict in ("pass", "warn", "fail")

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.blocks)

    @property
    def warning_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.warns)

    def examples_for(self, check: Check) -> tuple[CallExample, ...]:
        """Failing calls of the check's config (or of its eval's configs), when calls were read."""
        if self.calls is None or check.kind != "eval":
            return ()
        found: list[CallExample] = []
        for config_id in check.config_ids:
            found.extend(self.calls.failing_examples.get(config_id, ()))
        return tuple(found[:3])

    def clusters_for_failures(self) -> tuple[Cluster, ...]:
        """Failure clusters of the evals (or configs) whose checks failed or warned."""
        names: set[str] = set()
        for c in self.checks:
            if c.kind == "eval" and (c.blocks or c.warns):
                names.add(c.name)
                if c.config:
                    names.add(c.config)
        return tuple(
            cl
            for cl in self.clusters
            if cl.kind != "success" and (cl.eval_name in names or cl.template in names)
        )


# Which exit code wins when several run tests are judged together: a broken set-up first, then an
# unreadable API, then a failed gate, then not ready.
SEVERITY = {EXIT_USAGE: 4, EXIT_API: 3, EXIT_FAIL: 2, EXIT_NOT_READY: 1, EXIT_PASS: 0}
# Within one exit code (0 also holds an error softened by --on-api-error pass): the least gated.
VERDICT_RANK = {"pass": 0, "warn": 1, "fail": 2, "not_ready": 3, "error": 4}


@dataclass(frozen=True)
class GateResult:
    """Several run tests judged in one gate: one verdict each, and the worst of them."""

    verdicts: tuple[Verdict, ...]

    @property
    def worst(self) -> Verdict:
        return max(
            self.verdicts,
            key=lambda v: (SEVERITY.get(v.exit_code, 5), VERDICT_RANK.get(v.verdict, 5)),
        )

    @property
    def exit_code(self) -> int:
        return self.worst.exit_code

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    @property
    def gated(self) -> bool:
        return all(v.gated for v in self.verdicts)

    @property
    def verdict(self) -> VerdictName:
        return self.worst.verdict

    @property
    def failed_checks(self) -> int:
        return sum(len(v.failed_checks) for v in self.verdicts)

    @property
    def undecided_checks(self) -> int:
        return sum(len(v.undecided_checks) for v in self.verdicts)


EXIT_BY_VERDICT: dict[str, int] = {
    "pass": EXIT_PASS,
    "warn": EXIT_PASS,
    "fail": EXIT_FAIL,
    "not_ready": EXIT_NOT_READY,
    "error": EXIT_API,
}

__all__ = [
    "EXIT_API",
    "EXIT_BY_VERDICT",
    "EXIT_USAGE",
    "Check",
    "ExecutionFacts",
    "Verdict",
]
