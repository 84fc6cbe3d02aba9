"""The paired per-scenario comparison with a baseline execution (`baseline.scenarios`).

Two executions of one run test replay the same scenarios, so their calls pair by scenario.
Pure functions over the call digests of both executions (calls.CallDigest tallies, per Pass/Fail
eval config id, each scenario's passes and counted calls); the statistics are stats.py's and
docs/statistics.md explains them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gate.stats import fisher_lower, holm
from gate.verdict import CallsSummary, ScenarioChange

Tally = Mapping[str, tuple[int, int]]  # scenario id -> (passed, counted)


def compare(
    eval_name: str,
    config: str | None,
    config_id: str,
    baseline: CallsSummary,
    current: CallsSummary,
    confidence: float,
) -> list[ScenarioChange]:
    """Every scenario of one eval config: tested when both executions have it (one-sided Fisher
    exact test, Holm-adjusted over those), listed as new or gone when only one has it."""
    base: Tally = baseline.by_scenario.get(config_id, {})
    now: Tally = current.by_scenario.get(config_id, {})
    common = sorted(s for s in base.keys() & now.keys() if base[s][1] and now[s][1])
    p_values = [fisher_lower(*base[s], *now[s]) for s in common]
    adjusted = holm(p_values)
    alpha = 1 - confidence
    names = {**baseline.scenario_names, **current.scenario_names}

    def change(
        sid: str,
        b: tuple[int, int] | None,
        c: tuple[int, int] | None,
        p: float | None,
        adj: float | None,
        status: str,
    ) -> ScenarioChange:
        return ScenarioChange(
            eval=eval_name,
            config=config,
            config_id=config_id,
            scenario_id=sid,
            scenario_name=names.get(sid) or sid or "(no scenario)",
            baseline=b,
            current=c,
            p_value=p,
            adjusted_p_value=adj,
            status=status,  # type: ignore[arg-type]
        )

    rows = []
    for sid, p, adj in zip(common, p_values, adjusted, strict=True):
        b, c = base[sid], now[sid]
        before, after = b[0] * c[1], c[0] * b[1]  # the rates compared without division
        status = (
            "regressed"
            if adj <= alpha
            else "worse"
            if after < before
            else "same"
            if after == before
            else "better"
        )
        rows.append(change(sid, b, c, p, adj, status))
    rows += [change(s, None, now[s], None, None, "new") for s in sorted(now.keys() - base.keys())]
    rows += [change(s, base[s], None, None, None, "gone") for s in sorted(base.keys() - now.keys())]
    return rows


def tables(rows: Sequence[ScenarioChange]) -> list[tuple[int, int, int, int]]:
    """The 2x2 tables of the scenarios in both executions, for the stratified drop test."""
    return [
        (r.baseline[0], r.baseline[1], r.current[0], r.current[1])
        for r in rows
        if r.baseline is not None and r.current is not None
    ]


def story(rows: Sequence[ScenarioChange]) -> str:
    """The regressed scenarios with their counts: "Refund request 9/10 → 2/10"."""
    regressed = [r for r in rows if r.status == "regressed"]
    return "; ".join(
        f"{r.scenario_name[:60]} {r.baseline[0]}/{r.baseline[1]} → {r.current[0]}/{r.current[1]}"
        for r in regressed[:5]
        if r.baseline is not None and r.current is not None
    ) + (f"; and {len(regressed) - 5} more" if len(regressed) > 5 else "")
