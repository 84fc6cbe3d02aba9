"""The gate's judgement: a pure function from (policy, execution, now) to a Verdict.

No I/O, no clock, no network: everything it needs is passed in, so it is tested directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from gate import history as history_mod
from gate import sanity
from gate import scenarios as scenarios_mod
from gate.evidence import judge_check
from gate.hints import did_you_mean
from gate.metrics import (
    FLOOR_FOR_TYPE,
    METRICS,
    PASS_FAIL,
    SCORE,
    Measured,
    Metric,
    format_duration,
    level_text,
)
from gate.model import ConfigResult, EvalResult, Execution
from gate.redact import clip
from gate.rules import (
    Baseline,
    ConfigRule,
    EvalRule,
    ExecutionRules,
    Level,
    Policy,
    Thresholds,
)
from gate.stats import (
    DEFAULT_CONFIDENCE,
    cells_needed,
    mean_interval_from_percentiles,
    mean_interval_from_values,
    wilson,
)
from gate.verdict import (
    EXIT_API,
    EXIT_BY_VERDICT,
    CallsSummary,
    Check,
    Cluster,
    ExecutionFacts,
    ScenarioChange,
    Status,
    Verdict,
    VerdictName,
)


def facts(execution: Execution) -> ExecutionFacts:
    return ExecutionFacts(
        execution_id=execution.execution_id,
        status=execution.status,
        started_at=execution.started_at,
        completed_at=execution.completed_at,
        total_calls=execution.total_calls,
        completed_calls=execution.completed_calls,
        failed_calls=execution.failed_calls,
        summary_status=execution.summary_status,
    )


def evaluate(
    policy: Policy,
    execution: Execution,
    now: datetime,
    *,
    run_test: str | None = None,
    source: str | None = None,
    calls: CallsSummary | None = None,
    history: Sequence[Execution] = (),
    baseline_calls: Mapping[str, CallsSummary] | None = None,
    sequential: bool = False,
    subject: str | None = None,
) -> Verdict:
    """Judge `execution` against `policy` as of `now` (`calls`: what was read of its calls;
    `baseline_calls`: those of baseline executions, by id, for `baseline.scenarios`;
    `sequential`: the error-level rate checks decided anytime-valid, for `evidence:`;
    `subject`: how the headline names what was judged, when not "execution <id>")."""
    run_test = run_test or execution.run_test or policy.run_test
    unjudged = _unjudged(execution, now, run_test, source)
    if unjudged is not None:
        return unjudged
    history, dropped = _sane(history, now)
    checks = [_status_check(execution), *_execution_checks(policy, execution, now)]
    eval_checks, not_gated = _eval_checks(policy, execution, calls)
    if sequential:
        eval_checks = [judge_check(c) for c in eval_checks]
    checks += eval_checks
    checks.extend(_nothing_judged(execution, checks, not_gated))
    warnings = [
        f"earlier execution {h.execution_id} has impossible data; left out of the baseline "
        "and trend"
        for h in dropped
    ]
    scenarios: list[ScenarioChange] = []
    checks.extend(
        _baseline_checks(
            policy, execution, checks, history, warnings, Paired(calls, baseline_calls, scenarios)
        )
    )
    series: tuple[tuple[str, tuple[float | None, ...]], ...] = ()
    if policy.trend:
        gated = list(dict.fromkeys(c.name for c in checks if c.kind == "eval" and c.n))
        series = history_mod.trend(gated, execution, history, policy.trend)
    verdict = _overall(checks, warnings)
    return Verdict(
        verdict=verdict,
        exit_code=EXIT_BY_VERDICT[verdict],
        run_test=run_test,
        execution=facts(execution),
        checks=tuple(checks),
        clusters=_resolve_clusters(execution),
        generated_at=now,
        not_gated=tuple(not_gated),
        warnings=tuple(warnings),
        message=_headline(verdict, checks, subject or f"execution {execution.execution_id}"),
        source=source,
        calls=calls,
        trend=series,
        scenarios=tuple(scenarios),
    )


def _unjudged(
    execution: Execution, now: datetime, run_test: str | None, source: str | None
) -> Verdict | None:
    """The verdict of an execution that cannot be judged: impossible data (an error, exit 3)
    or not final yet (not ready, exit 4); None when it can be."""
    impossible = sanity.problems(execution, now)
    clusters: tuple[Cluster, ...] = ()
    if impossible:
        verdict: VerdictName = "error"
        exit_code = EXIT_API
        message = sanity.message(execution, impossible)
    elif not execution.is_final:
        verdict = "not_ready"
        exit_code, clusters = EXIT_BY_VERDICT["not_ready"], execution.clusters
        message = (
            f"execution {execution.execution_id} is still {execution.status}: "
            "nothing to judge yet; add --wait to wait for it, re-run when it has finished"
            + (", or use --select latest-completed" if run_test else "")
        )
    else:
        return None
    return Verdict(
        verdict=verdict,
        exit_code=exit_code,
        run_test=run_test,
        execution=facts(execution),
        checks=(),
        clusters=clusters,
        generated_at=now,
        message=message,
        source=source,
    )


def _eval_checks(
    policy: Policy, execution: Execution, calls: CallsSummary | None
) -> tuple[list[Check], list[str]]:
    """Each eval by its rule, else by `defaults`, else not gated; then each rule that matched
    no eval, as missing. The checks, and the evals not gated."""
    checks: list[Check] = []
    not_gated: list[str] = []
    used_rules: set[str] = set()
    for ev in execution.evals:
        rule = policy.rule_for(ev.name)
        if rule is not None:
            used_rules.add(rule.pattern)
            checks.extend(_rule_checks(rule, ev, calls, policy))
        elif (default := _default_for(policy.defaults, ev)) is not None:
            checks.extend(_total_checks(ev, default, policy.default_level, calls))
        else:
            not_gated.append(ev.name)
    present = sorted({ev.name for ev in execution.evals})
    for rule in policy.evals:
        if rule.pattern in used_rules:
            continue
        missing = Check(
            name=rule.pattern,
            kind="eval",
            metric="present",
            level=rule.level,
            status="missing",
            message=_unused(policy, rule, present),
            line=rule.line,
        )
        checks.append(_at_level(missing))
    return checks, not_gated


def _unused(policy: Policy, rule: EvalRule, present: Sequence[str]) -> str:
    """Why a rule judged nothing: no eval it matches, or every eval it matches taken by an
    earlier rule (an exact name, or a glob before it: the first rule that matches wins)."""
    matched = [name for name in present if rule.matches(name)]
    names = list(present)
    if matched:
        takers = sorted({taker.pattern for n in matched if (taker := policy.rule_for(n))})
        return (
            f"every eval this pattern matches ({_names(matched)}) is judged by an earlier rule "
            f"({', '.join(repr(clip(t, 60)) for t in takers)}): an exact name, else the first "
            "glob that matches, takes an eval; remove this rule, or move it above the other"
        )
    what = "eval matches this pattern" if rule.is_glob else "eval of this name"
    return (
        f"no {what} in the execution{did_you_mean(rule.pattern, present)}; names are "
        f"case-sensitive (evals: {_names(names)})"
    )


def _sane(history: Sequence[Execution], now: datetime) -> tuple[list[Execution], list[Execution]]:
    """Earlier executions split into those that make sense and those that do not."""
    good: list[Execution] = []
    bad: list[Execution] = []
    for h in history:
        (bad if sanity.problems(h, now) else good).append(h)
    return good, bad


def _measured(c: Check) -> bool:
    """An eval check that compared a value with a threshold (met, not met, or undecided)."""
    return (
        c.kind == "eval"
        and c.status in ("pass", "fail", "warn", "undecided")
        and isinstance(c.observed, (int, float))
    )


def _nothing_judged(
    execution: Execution, checks: Sequence[Check], not_gated: Sequence[str]
) -> Iterator[Check]:
    """A gate that judged nothing never passes: no eval results, or none that a rule judged."""
    if any(_measured(c) for c in checks):
        return
    if not execution.evals:
        message = (
            "the execution has no eval results, so nothing was judged; check that the run test "
            "has evals attached"
        )
    elif not_gated and len(not_gated) == len(execution.evals):
        message = (
            f"no rule or default of the policy applies to any eval of this execution "
            f"({_names(sorted(not_gated))}); add rules for them or defaults"
        )
    else:
        message = (
            "no eval of this execution was measured against a threshold (every one is off, "
            "missing or without data); a gate that judged nothing does not pass"
        )
    yield _execution_check("eval results", "judged", 0, 1, ">=", "no_data", message)


def _without_history(policy: Policy) -> Policy:
    """The policy's absolute thresholds only: what "last-passing" means."""
    return replace(
        policy,
        baseline=None,
        trend=None,
        evals=tuple(replace(r, baseline=None) for r in policy.evals),
        execution=replace(policy.execution, max_age_seconds=None),
    )


@dataclass
class Paired:
    """What the per-scenario comparison reads (the calls of both executions) and the rows it
    adds to the verdict."""

    calls: CallsSummary | None
    baseline_calls: Mapping[str, CallsSummary] | None
    rows: list[ScenarioChange]

    def of(self, base: Execution) -> CallsSummary | None:
        return (self.baseline_calls or {}).get(base.execution_id)


def baseline_executions(
    policy: Policy, execution: Execution, history: Sequence[Execution], now: datetime
) -> dict[str, Execution | None]:
    """The baseline execution of each `compare_to` the policy uses, chosen as the baseline
    checks choose it (judge.py reads the calls of those `baseline.scenarios` compares)."""
    absolute = _without_history(policy)

    def passes(ex: Execution) -> bool:
        when = ex.completed_at or ex.started_at or datetime.min
        return evaluate(absolute, ex, when).exit_code == 0

    wanted = {b.compare_to for b in (policy.baseline, *(r.baseline for r in policy.evals)) if b}
    good, _ = _sane(history, now)
    return {c: history_mod.choose(c, execution, good, passes) for c in sorted(wanted)}


def _baseline_checks(
    policy: Policy,
    execution: Execution,
    checks: list[Check],
    history: Sequence[Execution],
    warnings: list[str],
    paired: Paired,
) -> list[Check]:
    absolute = _without_history(policy)

    def passes(ex: Execution) -> bool:
        when = ex.completed_at or ex.started_at or datetime.min
        return evaluate(absolute, ex, when).exit_code == 0

    chosen: dict[str, Execution | None] = {}

    def base_for(baseline: Baseline) -> Execution | None:
        if baseline.compare_to not in chosen:
            chosen[baseline.compare_to] = history_mod.choose(
                baseline.compare_to, execution, history, passes
            )
            if chosen[baseline.compare_to] is None:
                warnings.append(
                    f"no baseline execution ({baseline.compare_to}) among the "
                    f"{len(history)} read: drops are not checked"
                )
        return chosen[baseline.compare_to]

    out = [c for ev in execution.evals for c in _scenarios_of(policy, ev, base_for, paired)]
    for check in checks:
        if check.kind != "eval":
            continue
        rule = policy.rule_for(check.name)
        baseline = rule.baseline if rule is not None else policy.baseline
        if baseline is None or baseline.max_drop is None:
            continue
        base = base_for(baseline)
        if base is not None:
            strata = _strata(check, execution, base, paired)
            drop = history_mod.drop_check(check, baseline, base, check.confidence, strata)
            if drop is not None:
                out.append(replace(drop, line=check.line))
    return out


def _scenarios_of(
    policy: Policy,
    ev: EvalResult,
    base_for: Callable[[Baseline], Execution | None],
    paired: Paired,
) -> list[Check]:
    """The `regressed_scenarios` checks of one eval, when its baseline compares scenarios."""
    rule = policy.rule_for(ev.name)
    own = rule.baseline if rule is not None else None
    baseline = own or policy.baseline
    if baseline is None or baseline.scenarios is None:
        return []
    if ev.output_type != PASS_FAIL:  # inherited, it does not apply; its own rule's is wrong
        written = own is not None and own.scenarios is not None and own != policy.baseline
        return [_scenarios_not_applicable(ev, rule, policy)] if written else []
    level = baseline.scenarios.level or (rule.level if rule else policy.default_level)
    confidence = (
        (rule.thresholds.confidence if rule else None)
        or policy.defaults.confidence
        or DEFAULT_CONFIDENCE
    )
    # A config rule's own `confidence` (inherited from its eval rule when it has none) wins.
    by_config = {c.name: c.thresholds.confidence for c in (rule.configs if rule else ())}
    checks = _scenario_checks(
        ev, baseline, base_for(baseline), level, confidence, paired, by_config
    )
    return [replace(c, line=rule.line if rule else None) for c in checks]


def _strata(
    check: Check, execution: Execution, base: Execution, paired: Paired
) -> list[tuple[int, int, int, int]] | None:
    """The per-scenario tables of a drop check's eval (or config), when the calls of both
    executions were read: the stratified exact test replaces the unpaired one."""
    base_calls = paired.of(base)
    if paired.calls is None or base_calls is None or check.output_type != PASS_FAIL:
        return None
    ev = next((e for e in execution.evals if e.name == check.name), None)
    if ev is None:
        return None
    strata: list[tuple[int, int, int, int]] = []
    for cfg in ev.configs:
        if cfg.id and (check.config is None or cfg.name == check.config):
            rows = scenarios_mod.compare(ev.name, cfg.name, cfg.id, base_calls, paired.calls, 0.95)
            strata += scenarios_mod.tables(rows)
    return strata or None


def _scenarios_not_applicable(ev: EvalResult, rule: EvalRule | None, policy: Policy) -> Check:
    return Check(
        name=ev.name,
        kind="eval",
        metric="regressed_scenarios",
        level=rule.level if rule else policy.default_level,
        status="fail",
        message=f"baseline.scenarios applies to Pass/Fail evals; {ev.name} is a "
        f"{ev.output_type} eval: remove scenarios from its rule",
        output_type=ev.output_type,
    )


def _scenario_checks(
    ev: EvalResult,
    baseline: Baseline,
    base: Execution | None,
    level: Level,
    confidence: float,
    paired: Paired,
    config_confidence: Mapping[str, float | None],
) -> list[Check]:
    """One `regressed_scenarios` check per config of a Pass/Fail eval (one per eval when it has
    one config): the scenarios whose one-sided Fisher test, Holm-adjusted over the config's
    scenarios, is significant at the config rule's confidence, else the rule's."""
    assert baseline.scenarios is not None
    rule = baseline.scenarios
    base_calls = paired.of(base) if base is not None else None
    out = []
    configs = [c for c in ev.configs if c.id]
    for cfg in configs:
        config = cfg.name if len(ev.configs) > 1 else None
        plain = Check(
            name=ev.name,
            kind="eval",
            metric="regressed_scenarios",
            level=level,
            status="no_data",
            message="",
            threshold=rule.max_regressed,
            op="<=",
            config=config,
            output_type=ev.output_type,
            confidence=config_confidence.get(cfg.name) or confidence,
        )
        if base is None or base_calls is None or paired.calls is None:
            why = "no baseline execution" if base is None else "the calls were not read"
            out.append(_at_level(replace(plain, message=f"{why}: scenarios not compared")))
            continue
        assert cfg.id is not None
        out.append(_scenario_check(plain, base, base_calls, cfg.id, paired))
    return out


def _scenario_check(
    plain: Check, base: Execution, base_calls: CallsSummary, config_id: str, paired: Paired
) -> Check:
    """One config's comparison: the rows it adds to the verdict, and its check."""
    assert paired.calls is not None and plain.confidence is not None
    confidence, limit = plain.confidence, int(plain.threshold or 0)
    rows = scenarios_mod.compare(
        plain.name, plain.config, config_id, base_calls, paired.calls, confidence
    )
    paired.rows += rows
    compared = [r for r in rows if r.p_value is not None]
    if not compared:
        message = (
            f"the baseline {base.execution_id} has no calls for it"
            if not base_calls.by_scenario.get(config_id)
            else f"no scenario in common with the baseline {base.execution_id}"
        )
        return _at_level(replace(plain, message=f"{message}: not compared, no data"))
    regressed = [r for r in compared if r.status == "regressed"]
    worse = sum(1 for r in compared if r.status == "worse")
    head = (
        f"{len(regressed)} of {len(compared)} scenarios regressed significantly at "
        f"{level_text(confidence)} (paired by scenario, Holm-adjusted; baseline "
        f"{base.execution_id})"
    )
    tail = f": {scenarios_mod.story(rows)}" if regressed else (
        f"; {worse} worse but not significantly" if worse else ""
    )  # fmt: skip
    status: Status = "pass"
    if len(regressed) > limit:
        status = "warn" if plain.level == "warn" else "fail"
    return replace(
        plain,
        status=status,
        observed=len(regressed),
        n=len(compared),
        message=head + tail,
        baseline_execution=base.execution_id,
    )


def _resolve_clusters(execution: Execution) -> tuple[Cluster, ...]:
    """Tie each FMA cluster to its eval template: the server keys them by config name."""
    owner: dict[str, str] = {}
    for ev in execution.evals:
        for cfg in ev.configs:
            owner.setdefault(cfg.name, ev.name)
        owner[ev.name] = ev.name
    return tuple(replace(cl, template=owner.get(cl.eval_name)) for cl in execution.clusters)


def _overall(checks: list[Check], warnings: list[str]) -> VerdictName:
    if any(c.blocks for c in checks):
        return "fail"
    if warnings or any(c.warns for c in checks):
        return "warn"
    return "pass"


def _headline(verdict: str, checks: list[Check], subject: str) -> str:
    failing = [c for c in checks if c.blocks]
    if verdict == "fail":
        names = ", ".join(c.label for c in failing[:3])
        more = f" and {len(failing) - 3} more" if len(failing) > 3 else ""
        open_ = sum(1 for c in failing if c.status == "undecided")
        if open_ == len(failing):
            return f"{open_} check(s) undecided within the evidence budget: {names}{more}"
        among = f" ({open_} undecided)" if open_ else ""
        return f"{len(failing)} check(s) failed{among}: {names}{more}"
    warned = [c for c in checks if c.warns]
    gated = sum(1 for c in checks if c.kind == "eval" and c.status != "skipped")
    if verdict == "warn":
        return f"passed with {len(warned)} warning(s); {gated} eval check(s) met"
    return f"all {gated} eval check(s) met on {subject}"


def _at_level(check: Check) -> Check:
    """A check as its level makes it: skipped at level off, a warning for a failure at level
    warn."""
    if check.level == "off":
        return replace(check, status="skipped", message="level: off")
    if check.status == "fail" and check.level == "warn":
        return replace(check, status="warn")
    return check


def _status_check(ex: Execution) -> Check:
    if ex.status == "completed":
        status: Status = "pass"
        message = "the execution completed"
    elif ex.is_final:
        status = "fail"
        message = f"the execution ended {ex.status}"
        if ex.status == "failed":
            done = f"{ex.completed_calls} completed" if ex.completed_calls else "none completed"
            message += f" ({ex.failed_calls} of {ex.total_calls} calls failed, {done})"
    else:
        status = "fail"
        message = f"the execution is still {ex.status}"
    return _execution_check(
        "execution status", "status", ex.status, "completed", "==", status, message
    )


def _execution_check(
    name: str,
    metric: str,
    observed: float | str | None,
    threshold: float | str | None,
    op: str,
    ok: bool | Status,
    message: str,
    n: int | None = None,
    unit: str = "",
    level: Level = "error",
) -> Check:
    """A check on the execution as a whole (level error unless said): `ok` is met or not,
    or the status itself."""
    status: Status = ok if isinstance(ok, str) else "pass" if ok else "fail"
    return Check(
        name=name,
        kind="execution",
        metric=metric,
        observed=observed,
        threshold=threshold,
        op=op,
        level=level,
        status=status,
        n=n,
        message=message,
        unit=unit,
    )


def _execution_checks(policy: Policy, ex: Execution, now: datetime) -> Iterator[Check]:
    rules = policy.execution
    yield from _failed_calls_checks(rules, ex)
    if rules.min_completed_calls is not None:
        limit = rules.min_completed_calls
        yield _execution_check(
            "completed calls",
            "completed_calls",
            ex.completed_calls,
            limit,
            ">=",
            ex.completed_calls >= limit,
            f"{ex.completed_calls} of {ex.total_calls} calls completed",
            ex.total_calls,
        )
    if rules.max_age_seconds is not None:
        yield _age_check(rules, ex, now)


def _failed_calls_checks(rules: ExecutionRules, ex: Execution) -> Iterator[Check]:
    total = ex.total_calls
    failed = f"{ex.failed_calls} of {total} calls failed"
    if rules.max_failed_calls_percent is not None:
        pct = 100.0 * ex.failed_calls / total if total else 0.0
        limit = rules.max_failed_calls_percent
        yield _execution_check(
            "failed calls",
            "failed_calls_percent",
            round(pct, 2),
            limit,
            "<=",
            pct <= limit,
            f"{failed} ({pct:.1f}%)",
            total,
            unit="%",
        )
    elif rules.max_failed_calls is not None:
        limit = rules.max_failed_calls
        yield _execution_check(
            "failed calls",
            "failed_calls",
            ex.failed_calls,
            limit,
            "<=",
            ex.failed_calls <= limit,
            failed,
            total,
        )
    elif ex.failed_calls:
        # Failed calls never lower a pass rate: never let them pass silently.
        yield _execution_check(
            "failed calls",
            "failed_calls",
            ex.failed_calls,
            None,
            "",
            "warn",
            f"{failed} and are not counted in any pass rate; set "
            "execution.max_failed_calls to gate on them",
            total,
            level="warn",
        )


def _age_check(rules: ExecutionRules, ex: Execution, now: datetime) -> Check:
    assert rules.max_age_seconds is not None
    stamp = ex.completed_at or ex.started_at
    if stamp is None:
        return _execution_check(
            "age",
            "age_seconds",
            None,
            rules.max_age_seconds,
            "<=",
            False,
            "the execution has neither completed_at nor started_at; its age is unknown",
            unit="s",
        )
    age = max(0.0, (now - stamp).total_seconds())
    which = "completed" if ex.completed_at else "started"
    return _execution_check(
        "age",
        "age_seconds",
        round(age),
        rules.max_age_seconds,
        "<=",
        age <= rules.max_age_seconds,
        f"{which} {format_duration(age)} ago (limit {rules.max_age_text})",
        unit="s",
    )


def _default_for(t: Thresholds, ev: EvalResult) -> Thresholds | None:
    """The part of `defaults` that speaks to an eval of this output type, if any."""
    mine = [m for m in METRICS if m.output_type == ev.output_type and m.thresholds(t)]
    if not mine or ev.output_type not in (PASS_FAIL, SCORE):
        return None  # choices are named per eval: a default cannot name them
    return replace(t, limits={m.key: t.limit(m.key) for m in mine})


def _inherited(own: Thresholds, policy: Policy, ev: EvalResult, level: Level) -> Thresholds | Check:
    """A rule's thresholds; a rule without any takes `defaults` for its eval's output type
    (with its own confidence and min_cells), or is a violation when there is none."""
    if not own.empty or level == "off":
        return own
    default = _default_for(policy.defaults, ev)
    if default is not None:
        return replace(default, confidence=own.confidence, min_cells=own.min_cells)
    floor = FLOOR_FOR_TYPE.get(ev.output_type)
    return _at_level(
        Check(
            name=ev.name,
            kind="eval",
            metric="threshold",
            level=level,
            status="fail",
            output_type=ev.output_type,
            message=f"the rule sets no threshold and `defaults` has none for a "
            f"{ev.output_type} eval; add {floor.key if floor else 'a threshold'} to the rule",
        )
    )


@dataclass(frozen=True)
class Target:
    """What one group of checks measures: an eval's totals, or one of its configs."""

    ev: EvalResult
    level: Level
    config: str | None  # the config's label; None for the eval's totals
    measured: Measured
    evidence: Evidence

    def check(self, metric: str, status: Status, message: str = "", **more: object) -> Check:
        return Check(
            name=self.ev.name,
            kind="eval",
            metric=metric,
            level=self.level,
            status=status,
            message=message,
            config=self.config,
            n=self.measured.cells,
            output_type=self.ev.output_type,
            config_index=self.evidence.index,
            config_ids=self.evidence.config_ids,
            **more,  # type: ignore[arg-type]
        )


def _rule_checks(
    rule: EvalRule, ev: EvalResult, calls: CallsSummary | None, policy: Policy
) -> Iterator[Check]:
    """The checks of an eval by its rule, each placed on the policy line of the rule (or the
    config rule) that made it: annotations point there."""
    # The eval's totals: by the rule's thresholds, else (no configs named) by `defaults`.
    if not rule.thresholds.empty or not rule.configs:
        t = _inherited(rule.thresholds, policy, ev, rule.level)
        if isinstance(t, Check):
            yield replace(t, line=t.line or rule.line)
        else:
            yield from (replace(c, line=rule.line) for c in _total_checks(ev, t, rule.level, calls))
    for crule in rule.configs:
        line = crule.line or rule.line
        yield from (replace(c, line=line) for c in _config_checks(crule, ev, calls, policy))


def _config_checks(
    crule: ConfigRule, ev: EvalResult, calls: CallsSummary | None, policy: Policy
) -> Iterator[Check]:
    matches = [(i, c) for i, c in enumerate(ev.configs) if c.name == crule.name]
    if not matches:
        names = [c.name for c in ev.configs]
        missing = Check(
            name=ev.name,
            kind="eval",
            config=crule.name,
            metric="present",
            level=crule.level,
            status="missing",
            output_type=ev.output_type,
            message="no eval config of this name in the execution"
            f"{did_you_mean(crule.name, names)}; configs are {_names(names)}",
        )
        yield _at_level(missing)
        return
    t = _inherited(crule.thresholds, policy, ev, crule.level)
    if isinstance(t, Check):
        yield replace(t, config=crule.name)
        return
    for index, config in matches:
        # Two configs of one name: each is judged, told apart by its position.
        label = crule.name if len(matches) == 1 else f"{crule.name} #{index + 1}"
        evidence = Evidence((config,), calls, index)
        yield from _measure(Target(ev, crule.level, label, config.measured(), evidence), t)


@dataclass(frozen=True)
class Evidence:
    """What an interval is computed from: the measured configs, and the calls when read."""

    configs: tuple[ConfigResult, ...]
    calls: CallsSummary | None
    index: int | None = None  # the config's position in its eval, for one config

    @property
    def config_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.configs if c.id)

    def interval(
        self, metric: Metric, observed: float, cells: int, confidence: float
    ) -> tuple[tuple[float, float] | None, str | None, int | None]:
        """(interval in the metric's units, its source, the success count) for one value."""
        if cells <= 0:
            return None, None, None
        if metric.interval == "mean":
            return self._mean_interval(observed, cells, confidence)
        counts = [c.output.get("pass_count") for c in self.configs]
        if metric.key == "min_pass_rate" and all(isinstance(n, (int, float)) for n in counts):
            successes = int(sum(n for n in counts if n is not None))  # the exact count
        else:
            successes = round(observed / 100 * cells)
        successes = max(0, min(cells, successes))
        return wilson(successes, cells, confidence), "wilson", successes

    def _mean_interval(
        self, observed: float, cells: int, confidence: float
    ) -> tuple[tuple[float, float] | None, str | None, None]:
        # Call-level scores by config id: a config without an id has none of its own.
        values = [
            v
            for c in self.configs
            for v in (self.calls.scores.get(c.id, ()) if self.calls and c.id else ())
        ]
        if len(values) >= 2:
            return mean_interval_from_values(values, confidence), "calls", None
        spreads = [
            (c.output.get("p10"), c.output.get("p90")) for c in self.configs if c.total_cells
        ]
        usable = [(lo, hi) for lo, hi in spreads if lo is not None and hi is not None]
        if not usable or len(usable) < len(spreads):
            # A config counted without percentiles (its scores not averaged by the server):
            # the spread of the others says nothing of it. No interval.
            return None, None, None
        lo, hi = max(usable, key=lambda s: s[1] - s[0])  # the widest: conservative
        interval = mean_interval_from_percentiles(observed, lo, hi, cells, confidence)
        return interval, "percentiles", None


def number_range(interval: tuple[float, float]) -> str:
    return f"{interval[0]:g}-{interval[1]:g}"


def _names(names: list[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(f"'{n}'" for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _total_checks(
    ev: EvalResult, t: Thresholds, level: Level, calls: CallsSummary | None
) -> Iterator[Check]:
    yield from _measure(Target(ev, level, None, ev.measured(), Evidence(ev.configs, calls)), t)


def _measure(target: Target, t: Thresholds) -> Iterator[Check]:
    """Every threshold `t` sets, each against what `target` measured."""
    if target.level == "off":
        yield _at_level(target.check("level", "skipped"))
        return
    for metric in METRICS:
        for choice, threshold in metric.thresholds(t):
            yield _at_level(_compare(target, metric, choice, threshold, t))


def _compare(target: Target, metric: Metric, choice: str, threshold: float, t: Thresholds) -> Check:
    """One threshold against one measured value."""
    plain = target.check(
        metric.metric_name(choice), "fail", threshold=threshold, op=metric.op, unit=metric.unit
    )
    unjudgeable = _unjudgeable(target, metric, choice)
    if unjudgeable is not None:
        return replace(plain, status=unjudgeable[0], message=unjudgeable[1])
    observed = metric.observed(target.measured, choice)
    never = ""
    if observed is None and metric.per_choice:  # a choice that never occurred: 0 %
        observed, never = 0.0, f"; the choice '{choice}' never occurred"
    assert observed is not None
    cells = target.measured.cells
    confidence = t.confidence or DEFAULT_CONFIDENCE
    interval, source, successes = target.evidence.interval(metric, observed, cells, confidence)
    disagree = ""
    if interval is not None and not interval[0] - 0.01 <= observed <= interval[1] + 0.01:
        # The server's total and what the interval was made of disagree (a config whose
        # outputs the server counts but does not average): the total is what is judged, and
        # an observed value always lies within its interval.
        made_of = "the call-level scores" if source == "calls" else "the configs' percentiles"
        disagree = (
            f"; {made_of} ({number_range(interval)}) do not agree with the server's total "
            f"{observed:g}: the total is judged"
        )
        interval = (min(interval[0], observed), max(interval[1], observed))
    measured = replace(
        plain,
        observed=observed,
        interval=interval,
        interval_source=source,
        passes=successes,
        confidence=t.confidence,
        min_cells=t.min_cells,
    )
    return _decide(measured, t, never + disagree)


def _unjudgeable(target: Target, metric: Metric, choice: str) -> tuple[Status, str] | None:
    """Why this threshold cannot be compared with anything, if it cannot."""
    ev = target.ev
    if ev.output_type != metric.output_type:
        floor = FLOOR_FOR_TYPE.get(ev.output_type)
        hint = (
            f"use {floor.key} for a {ev.output_type} eval"
            if floor
            else f"the API reports its output type as '{ev.output_type}'; it cannot be gated"
        )
        return "fail", f"{metric.key} does not apply to a {ev.output_type} eval; {hint}"
    if target.measured.cells == 0:
        return "no_data", "no completed call has a result for this eval (0 cells): no data, not 0 %"
    if metric.per_choice and choice not in target.measured.choices:
        # The server lists only the choices that occurred: an absent choice is 0 %, unless
        # the policy's label differs from a reported one only by case or a small misspelling
        # (`NEGATIVE` against `Negative`): then it is the policy's mistake, never 0 %.
        seen = sorted(target.measured.choices)
        hint = did_you_mean(choice, seen)
        if not hint:
            return None
        return (
            "missing",
            f"the eval never reported the choice '{choice}' (choices seen: {_names(seen)}){hint}",
        )
    if metric.observed(target.measured, choice) is None:
        return "no_data", f"the API reported no {metric.metric_name(choice)} for this eval"
    return None


def _decide(c: Check, t: Thresholds, disagree: str) -> Check:
    """Met or not: the value against the threshold, the sample against min_cells, and with
    `confidence` the interval's bound against the threshold."""
    assert isinstance(c.observed, float | int) and isinstance(c.threshold, float | int)
    observed, threshold, cells, unit = c.observed, c.threshold, c.n or 0, c.unit
    word = "at most" if c.op == "<=" else "at least"
    summary = f"{observed:g}{unit} over {cells} cells; needs {word} {threshold:g}{unit}{disagree}"
    if t.min_cells is not None and cells < t.min_cells:
        return replace(
            c,
            message=f"{cells} cells, fewer than min_cells {t.min_cells}: too small a sample to "
            "judge",
        )
    ok = observed <= threshold if c.op == "<=" else observed >= threshold
    if ok and t.confidence is not None and c.interval is not None:
        bound = c.interval[1] if c.op == "<=" else c.interval[0]
        if (bound > threshold) if c.op == "<=" else (bound < threshold):
            needed = None
            if c.interval_source == "wilson":
                needed = cells_needed(observed, threshold, t.confidence, lower=c.op == ">=")
            side = "upper" if c.op == "<=" else "lower"
            more = f"; about {needed} cells at this rate would be enough" if needed else ""
            return replace(
                c,
                cells_needed=needed,
                message=f"{summary}, but the {level_text(t.confidence)} {side} bound "
                f"{bound:g}{unit} is not: not enough evidence yet{more}",
            )
    if not ok:  # by how much: what it takes to pass
        margin = round(abs(observed - threshold), 2)
        summary += f" ({margin:g} points {'over' if c.op == '<=' else 'short'})"
    return replace(c, status="pass" if ok else "fail", message=summary)


__all__ = ["ConfigRule", "evaluate", "facts", "format_duration"]
