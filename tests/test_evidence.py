"""`evidence:` (issue #24): `fi-gate run` pools executions until each check is decided.

The statistics (gate/sequential.py) are cross-checked with scipy and simulated; the loop runs
end to end against the fake, whose run test's started executions come out at given rates, so
the number of executions pooled is known in advance.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gate.evidence import judge_check, pool
from gate.model import ConfigResult, EvalResult, Execution
from gate.sequential import bounds, decide, log_evidence_above, more_needed, state
from gate.stats import wilson
from gate.verdict import Check
from tests.conftest import (
    DEMO_DATA,
    QUICK_POLLS,
    Result,
    run,
    spawn,
    terminate_when,
    write_policy,
)
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, Fault, build_run_test, load_dir
from tests.figures import record

NAME = "Evidence Bot"
RULE = "evals:\n  is_helpful: {min_pass_rate: 80}\n"


# --- the statistics -------------------------------------------------------------------------


def test_the_incomplete_beta_and_the_evidence_match_scipy() -> None:
    special = pytest.importorskip("scipy.special")  # a dev dependency: always there
    integrate = pytest.importorskip("scipy.integrate")
    from gate.sequential import betainc

    rng = random.Random(3)
    for _ in range(300):
        a, b, x = rng.uniform(0.5, 400), rng.uniform(0.5, 400), rng.random()
        assert betainc(a, b, x) == pytest.approx(special.betainc(a, b, x), abs=1e-10)
    for n, total, m in [(30, 27, 0.8), (90, 75.6, 0.8), (120, 108, 0.8), (60, 12.5, 0.3)]:
        # The mixture, integrated numerically (scaled by the likelihood at m).
        def ratio(q: float, total: float = total, n: int = n, m: float = m) -> float:
            return float((q / m) ** total * ((1 - q) / (1 - m)) ** (n - total))

        integral, _ = integrate.quad(ratio, m, 1, limit=200, points=[total / n])
        assert log_evidence_above(total, n, m) == pytest.approx(
            math.log(integral / (1 - m)), rel=1e-6
        )


def test_the_bounds_are_where_the_tests_turn() -> None:
    """The confidence sequence's lower bound is the largest rate still rejected: a threshold
    just under it passes, one just over it does not."""
    for total, n in [(27, 30), (54, 60), (108, 120), (250, 300)]:
        lower, upper = bounds(total, n, 0.95)
        assert lower < total / n < upper
        assert state(total, n, lower - 0.002, 0.95, floor=True) == "pass"
        assert state(total, n, lower + 0.002, 0.95, floor=True) != "pass"
        assert state(total, n, upper + 0.002, 0.95, floor=True) == "fail"
        # A ceiling is the mirror of a floor.
        assert state(n - total, n, 1 - (lower - 0.002), 0.95, floor=False) == "pass"


def test_more_calls_are_expected_to_decide_and_none_on_the_threshold() -> None:
    more = more_needed(0.9, 30, 0.8, 0.95, floor=True)
    assert more is not None and more > 0
    total = 30 + more
    assert state(0.9 * total, total, 0.8, 0.95, floor=True) == "pass"
    assert state(0.9 * (total - 2), total - 2, 0.8, 0.95, floor=True) == "undecided"
    assert more_needed(0.801, 90, 0.8, 0.95, floor=True) is None


def _gate(rng: random.Random, p: float, budget: int, batch: int = 30) -> tuple[str, int]:
    """One simulated gate: 30-call executions at true rate p, threshold 80 %, looked at
    after each one, until decided or the budget cannot hold another."""
    total = n = 0
    while n + batch <= budget:
        total += sum(rng.random() < p for _ in range(batch))
        n += batch
        at = state(total, n, 0.8, 0.95, floor=True)
        if at != "undecided":
            return at, n
    return "undecided", n


def _naive(rng: random.Random, p: float, budget: int, batch: int = 30) -> str:
    """Re-checking the fixed-sample 95 % Wilson interval after every re-run, until green."""
    total = n = 0
    while n + batch <= budget:
        total += sum(rng.random() < p for _ in range(batch))
        n += batch
        if wilson(total, n, 0.95)[0] >= 80:
            return "pass"
    return "fail"


@pytest.mark.slow
def test_false_passes_stay_within_one_minus_confidence_however_often_it_looks() -> None:
    """True rate exactly at the threshold: the gate passes in at most 5 % of 2,000 simulated
    gates (allowing 1.5 points of simulation error), whatever the budget, while re-checking a
    fixed-sample interval after every re-run passes far more often."""
    rng = random.Random(24)
    rates = {}
    for budget in (300, 600):
        outcomes = [_gate(rng, 0.8, budget)[0] for _ in range(2000)]
        rates[budget] = outcomes.count("pass") / len(outcomes)
        assert rates[budget] <= 0.05 + 0.015
    naive = sum(_naive(rng, 0.8, 300) == "pass" for _ in range(2000)) / 2000
    assert naive >= 0.06 and naive > 3 * rates[300]
    record(
        "evidence",
        "true rate at the threshold, 2,000 simulated gates, 30-call executions",
        f"false pass {rates[300]:.1%} (budget 300), {rates[600]:.1%} (600); "
        f"re-checking a fixed-sample interval after every re-run: {naive:.1%}",
    )


@pytest.mark.slow
@pytest.mark.parametrize(("p", "least_at_600"), [(0.85, 0.5), (0.9, 0.97)])
def test_a_good_agent_passes_within_a_budget(p: float, least_at_600: float) -> None:
    """5 and 10 points above the threshold: the mean number of calls to a pass, and the share
    of gates decided pass within 300 and 600 calls (500 simulated gates)."""
    rng = random.Random(int(p * 100))
    outcomes = [_gate(rng, p, 600) for _ in range(500)]
    passed = [n for at, n in outcomes if at == "pass"]
    within_300 = sum(1 for n in passed if n <= 300) / len(outcomes)
    within_600 = len(passed) / len(outcomes)
    assert within_600 >= least_at_600
    fails = sum(1 for at, _ in outcomes if at == "fail")
    assert fails <= 0.05 * len(outcomes)  # a false fail, at most 1 - confidence
    mean = sum(passed) / len(passed)
    record(
        "evidence",
        f"true rate {p:.0%}, threshold 80 %, 500 simulated gates",
        f"mean {mean:.0f} calls to a pass; decided pass within 300 calls {within_300:.0%}, "
        f"within 600 {within_600:.0%}; {fails} decided fail",
    )


# --- pooling and judging, pure --------------------------------------------------------------


def _execution(passes: int, cells: int, score: float | None = None) -> Execution:
    config = ConfigResult(
        "is_helpful",
        cells,
        {"pass": round(100 * passes / cells, 2), "pass_count": passes, "p10": 10.0, "p90": 90.0},
        avg_score=score,
        id="c1",
    )
    ev = EvalResult("is_helpful", "Pass/Fail", (config,), round(100 * passes / cells, 2), id="e1")
    return Execution("x", "completed", None, None, cells, cells, 0, (ev,))


def test_pooling_sums_counts_and_weights_rates_by_cells() -> None:
    pooled = pool([_execution(27, 30), _execution(45, 60, score=50.0), _execution(9, 10)])
    (ev,) = pooled.evals
    (config,) = ev.configs
    assert (pooled.total_calls, config.total_cells) == (100, 100)
    assert config.output["pass_count"] == 81
    assert config.output["pass"] == pytest.approx(81.0)
    assert ev.total_pass_rate == pytest.approx(81.0)
    assert config.avg_score == pytest.approx(50.0)  # only the execution that reported one
    assert (config.output["p10"], config.output["p90"]) == (10.0, 90.0)


def _check(observed: float, n: int, **more: Any) -> Check:
    base: dict[str, Any] = {
        "name": "is_helpful", "kind": "eval", "metric": "pass_rate", "level": "error",
        "status": "pass", "message": "", "observed": observed, "threshold": 80.0, "op": ">=",
        "unit": "%", "n": n, "passes": round(observed * n / 100),
    }  # fmt: skip
    return Check(**{**base, **more})


def test_the_documented_undecided_message_is_what_fi_gate_writes() -> None:
    from tests.test_readme import PAGES

    said = judge_check(_check(84, 90)).message
    assert said == (
        "undecided after 90 calls: 84% (bound 71.64%, needs at least 80%); about 639 more "
        "calls expected"
    )
    page = " ".join(PAGES["docs/policy.md"].split())
    assert f"{said}; another execution (30 calls) would exceed evidence.max_calls 90" in page


def test_a_check_is_decided_only_by_the_sequence() -> None:
    assert judge_check(_check(90, 120)).status == "pass"
    assert judge_check(_check(50, 30)).status == "fail"
    open_ = judge_check(_check(84, 90))
    assert open_.status == "undecided"
    assert open_.interval_source == "sequence" and open_.interval is not None
    assert open_.message.startswith("undecided after 90 calls: 84% (bound ")
    assert "needs at least 80%); about " in open_.message and "more calls expected" in open_.message
    on_it = judge_check(_check(80, 300))
    assert "more calls are unlikely to decide it" in on_it.message
    # Warn level, choice rates and unmeasured checks are judged as before.
    for other in (_check(84, 90, level="warn"), _check(84, 90, metric="choice_rate[x]")):
        assert judge_check(other) == other
    # min_cells still holds: a decided pass on fewer cells is undecided.
    assert judge_check(_check(90, 120, min_cells=200)).status == "undecided"
    # A ceiling (max_avg_score): decided when the upper bound is under it.
    low = _check(10, 200, metric="avg_score", op="<=", threshold=30.0, unit="", passes=None)
    assert judge_check(low).status == "pass"
    assert decide(20, 200, 0.3, 0.95, floor=False).state == "pass"


# --- against the fake -----------------------------------------------------------------------


def _api(*batches: Any, calls: int = 30, also: str | None = None, **timing: float) -> FakeApi:
    """The fake with the run test NAME whose starts come out at `batches`' rates in turn (and
    `also`, a second one like it)."""
    store = load_dir(DEMO_DATA)
    for name in (NAME, also) if also else (NAME,):
        store.run_tests.append(_run_test(name, batches, calls, timing))
    return FakeApi(store)


def _run_test(name: str, batches: Any, calls: int, timing: dict[str, float]) -> Any:
    spec = {
        "name": name,
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        "evals": [{"name": "is_helpful", "output_type": "Pass/Fail",
                   "configs": [{"name": "is_helpful"}]}],
        "scenarios": [{"name": "Refund"}, {"name": "Billing"}],
        "executions": [{"execution_id": str(uuid.uuid5(uuid.NAMESPACE_URL, name + "/old")),
                        "started_at": "2026-11-28T09:00:00Z",
                        "completed_at": "2026-11-28T09:10:00Z",
                        "generate": {"calls": 30, "rates": {"is_helpful": 85}}}],
        "run": {"calls": calls, "pending": 0.02, "running": 0.05, "evaluating": 0.02,
                "batches": list(batches), **timing},
    }  # fmt: skip
    return build_run_test(spec)


def _run(
    api: FakeApi, tmp_path: Path, policy: str, *argv: str, env: dict[str, str] | None = None
) -> tuple[Result, Any]:
    report, summary = tmp_path / "r.json", tmp_path / "s.md"
    result = run(
        ["run", "--run-test", NAME, "--policy", write_policy(tmp_path, policy),
         "--report", str(report), "--summary", str(summary), *argv],
        env={"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY,
             **(env or {})},
    )  # fmt: skip
    data = json.loads(report.read_text()) if report.exists() else None
    return result, data


def _valid(report: Any) -> None:
    """The report holds to its published schema."""
    import jsonschema

    from tests.conftest import ROOT

    schema = json.loads((ROOT / "gate" / "schemas" / "report.schema.json").read_text())
    jsonschema.validate(report, schema)


def _helpful(report: Any) -> Any:
    """The report's one is_helpful check."""
    (check,) = [c for c in report["checks"] if c["name"] == "is_helpful"]
    return check


def _policy(max_calls: int | None, rule: str = RULE) -> str:
    evidence = f"evidence: {{max_calls: {max_calls}}}\n" if max_calls else ""
    return f"version: 1\n{evidence}{rule}"


pytestmark_run = pytest.mark.usefixtures("quick_polls")


@pytestmark_run
def test_a_good_agent_is_decided_pass_after_pooling(tmp_path: Path) -> None:
    with _api({"is_helpful": 90}) as api:
        result, report = _run(api, tmp_path, _policy(300))
    assert result.code == 0, result.err
    assert len(api.started) == 4  # 30, 60, 90 calls undecided; 120 decided
    assert [e["execution_id"] for e in report["evidence"]["executions"]] == api.started
    assert report["evidence"] == {**report["evidence"], "max_calls": 300, "calls": 120}
    assert report["execution"]["execution_id"] == api.started[-1]
    assert report["provenance"]["executions"] == api.started
    check = _helpful(report)
    assert (check["status"], check["n"], check["interval_source"]) == ("pass", 120, "sequence")
    assert api.cancelled == []
    assert "starting another (evidence.max_calls 300)" in result.err
    assert "4 executions pooled" in result.out and "pooled over 4 execution(s), 120 calls" in (
        result.out
    )
    summary = (tmp_path / "s.md").read_text()
    assert "pooled over 4 executions, 120 calls (evidence.max_calls 300)" in summary
    assert "on 4 pooled executions (120 calls)" in report["message"]
    _valid(report)
    record("evidence", "90 % against 80 %, 30-call executions, max_calls 300",
           "decided pass after 4 executions (120 calls), exit 0")  # fmt: skip


@pytestmark_run
def test_a_bad_agent_is_decided_fail_without_more_executions(tmp_path: Path) -> None:
    with _api({"is_helpful": 40}) as api:
        result, report = _run(api, tmp_path, _policy(300))
    assert result.code == 1
    assert len(api.started) == 1
    check = _helpful(report)
    assert check["status"] == "fail" and "anytime upper bound" in check["message"]
    assert report["undecided_checks"] == 0


@pytestmark_run
def test_a_spent_budget_leaves_the_check_undecided_and_fails(tmp_path: Path) -> None:
    outputs = tmp_path / "github_output"
    with _api({"is_helpful": 90}) as api:
        result, report = _run(
            api, tmp_path, _policy(60), "--junit", str(tmp_path / "j.xml"),
            "--dotenv", str(tmp_path / "d.env"),
            env={"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs)},
        )  # fmt: skip
    dotenv = (tmp_path / "d.env").read_text()
    assert "FI_GATE_UNDECIDED_CHECKS=1\n" in dotenv
    assert f"FI_GATE_POOLED_EXECUTION_IDS={','.join(api.started)}\n" in dotenv
    github = outputs.read_text()
    assert "undecided-checks<<" in github and "\n1\n" in github.split("undecided-checks<<")[1]
    assert ",".join(api.started) in github.split("pooled-executions<<")[1]
    assert "::error" in result.err and "undecided after 60 calls" in result.err
    assert result.code == 1
    assert len(api.started) == 2
    check = _helpful(report)
    assert check["status"] == "undecided"
    assert check["message"].startswith("undecided after 60 calls: 90% (bound ")
    assert (
        "more calls expected; another execution (30 calls) would exceed evidence.max_calls 60"
        in (check["message"])
    )
    assert (report["verdict"], report["failed_checks"], report["undecided_checks"]) == (
        "fail",
        1,
        1,
    )
    assert "1 check(s) undecided within the evidence budget" in report["message"]
    _valid(report)
    assert "undecided" in next(line for line in result.out.splitlines() if "is_helpful" in line)
    assert 'type="undecided"' in (tmp_path / "j.xml").read_text()
    summary = (tmp_path / "s.md").read_text()
    assert "⏳\xa0undecided" in summary and "anytime-valid confidence sequences" in summary
    record(
        "evidence",
        "budget spent while undecided (max_calls 60)",
        "status undecided, exit 1, the estimate, the bound and the calls expected said",
    )


@pytestmark_run
def test_a_budget_smaller_than_one_execution_says_so(tmp_path: Path) -> None:
    with _api({"is_helpful": 90}) as api:
        result, report = _run(api, tmp_path, _policy(20))
    assert result.code == 1
    assert len(api.started) == 1
    check = _helpful(report)
    assert (
        "evidence.max_calls 20 does not hold more than one execution (30 calls)"
        in (check["message"])
    )


@pytestmark_run
def test_the_documented_example_gathers_evidence(tmp_path: Path) -> None:
    from tests.test_readme import EXAMPLES

    with _api({"is_helpful": 90}) as api:
        result, report = _run(api, tmp_path, EXAMPLES["evidence-policy"])
    assert result.code == 0, result.err
    assert report["evidence"]["max_calls"] == 300 and len(api.started) == 4


@pytestmark_run
def test_without_evidence_exactly_one_execution_is_started(tmp_path: Path) -> None:
    with _api({"is_helpful": 90}) as api:
        result, report = _run(api, tmp_path, _policy(None))
    assert result.code == 0, result.err
    assert len(api.started) == 1 and report["evidence"] is None
    check = _helpful(report)
    assert check["interval_source"] == "wilson"


@pytestmark_run
def test_check_ignores_evidence_and_says_so(tmp_path: Path) -> None:
    with _api({"is_helpful": 90}) as api:
        result = run(
            ["check", "--run-test", NAME, "--policy", write_policy(tmp_path, _policy(300))],
            env={"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY},
        )
    assert result.code == 0, result.err
    assert api.started == []
    assert "evidence: is ignored here: fi-gate check judges the executions it is given" in (
        result.err
    )


@pytestmark_run
def test_the_baseline_is_never_an_execution_the_gate_started(tmp_path: Path) -> None:
    rule = "baseline: {compare_to: previous, max_drop: 50}\n" + RULE
    with _api({"is_helpful": 90}) as api:
        result, report = _run(api, tmp_path, _policy(300, rule))
    assert result.code == 0, result.err
    assert len(api.started) == 4
    chosen = {c["baseline_execution"] for c in report["checks"] if c["baseline_execution"]}
    assert chosen == {str(uuid.uuid5(uuid.NAMESPACE_URL, NAME + "/old"))}  # before the gate


@pytestmark_run
@pytest.mark.parametrize("on_api_error", ["fail", "pass"])
def test_an_outage_on_a_later_start_is_an_outage_as_without_evidence(
    tmp_path: Path, on_api_error: str
) -> None:
    with _api({"is_helpful": 90}) as api:
        seen = len(api.started)
        api.fail(
            Fault(
                status=503,
                body={"detail": "down"},
                path="*/execute/",
                match=lambda q: len(api.started) > seen,
            )
        )
        result, report = _run(api, tmp_path, _policy(300), "--on-api-error", on_api_error)
    assert result.code == (3 if on_api_error == "fail" else 0), result.err
    assert report["verdict"] == "error"
    assert len(api.started) == 1 and api.cancelled == []


@pytestmark_run
def test_the_deadline_while_another_runs_cancels_it_and_judges_what_was_pooled(
    tmp_path: Path,
) -> None:
    with _api({"is_helpful": 90}, {"rates": {"is_helpful": 90}, "running": 600}) as api:
        result, report = _run(api, tmp_path, _policy(300), "--timeout", "3")
    assert result.code == 1, result.err
    assert len(api.started) == 2
    assert api.cancelled == [api.started[1]]
    check = _helpful(report)
    assert check["status"] == "undecided"
    assert "the 3s deadline passed while another ran" in check["message"]
    assert [e["execution_id"] for e in report["evidence"]["executions"]] == api.started[:1]


@pytest.mark.slow  # a subprocess
def test_sigterm_while_the_second_execution_runs_cancels_it(tmp_path: Path) -> None:
    """A cancelled CI job during the second execution: that one is cancelled, the first
    (completed) is left alone, exit 143, the report says terminated."""
    with _api({"is_helpful": 90}, {"rates": {"is_helpful": 90}, "running": 600}) as api:
        argv = [str(Path(sys.executable).with_name("fi-gate")), "run", "--run-test", NAME,
                "--policy", write_policy(tmp_path, _policy(300)),
                "--report", str(tmp_path / "r.json")]  # fmt: skip
        env = {"PATH": os.environ["PATH"], "FI_BASE_URL": api.url, "FI_API_KEY": API_KEY,
               "FI_SECRET_KEY": SECRET_KEY, "PYTHONPATH": str(QUICK_POLLS)}  # fmt: skip
        with spawn(argv, env) as proc:
            # Once fi-gate knows the second execution (it asks about it), not while its start
            # is in flight: a start whose answer is lost is never cancelled (#18).
            err = terminate_when(
                proc,
                lambda: (
                    len(api.started) >= 2
                    and any(api.started[1] in s.path + str(s.query) for s in api.seen)
                ),
            )
    assert proc.returncode == 143, err
    assert api.cancelled == [api.started[1]]
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["verdict"], report["exit_code"]) == ("error", 143)
    record("evidence", "SIGTERM while the second execution runs",
           "exit 143; that one cancelled, the completed first left alone")  # fmt: skip


def test_impossible_data_in_one_execution_is_never_pooled_away() -> None:
    """A pass rate of 150 % over 10 cells, pooled with 90 sane cells, averages to a plausible
    rate: each execution is held to the sanity checks before it is pooled."""
    from gate.evidence import impossible
    from gate.sanity import problems
    from tests.conftest import NOW

    bad = replace(_execution(9, 10), evals=(replace(_execution(9, 10).evals[0],
                  total_pass_rate=150.0),))  # fmt: skip
    good = _execution(45, 90)
    assert problems(bad, NOW) and not problems(pool([bad, good]), NOW)  # what pooling hides
    assert impossible([good, bad], NOW) is bad
    assert impossible([good, good], NOW) is None


@pytestmark_run
def test_another_check_that_decides_fail_stops_the_gathering(tmp_path: Path) -> None:
    """Failed calls over the limit fail the gate whatever the rate: with the rate still
    undecided, no other execution is started."""
    policy = _policy(300) + "execution: {max_failed_calls: 0}\n"
    with _api({"is_helpful": 90}, failed=2) as api:
        result, report = _run(api, tmp_path, policy)
    assert result.code == 1
    assert len(api.started) == 1
    assert _helpful(report)["status"] == "undecided"
    failed = next(c for c in report["checks"] if c["name"] == "failed calls")
    assert failed["status"] == "fail"


def test_the_clusters_are_said_to_be_the_last_executions() -> None:
    from gate.render import markdown, text
    from gate.verdict import Cluster, GateResult, Pooled
    from tests.test_render import seed_verdict

    v = seed_verdict()
    assert v.execution is not None
    last = v.execution.execution_id
    v = replace(
        v,
        clusters=(Cluster("is_helpful", "Refunds refused", size=4),),
        pooled=(Pooled("a" * 8, "completed", 30), Pooled(last, "completed", 30)),
        max_calls=90,
    )
    shown = markdown.render(GateResult((v,)))
    assert f"Of the last execution ({last}) of the pooled ones." in shown
    assert "pooled over 2 executions, 60 calls (evidence.max_calls 90)" in shown
    terminal = text.render(GateResult((v,)))
    assert "pooled over 2 execution(s), 60 calls of evidence.max_calls 90" in terminal
    assert "the Fix My Agent clusters (◆) are the last execution's" in terminal


@pytestmark_run
def test_the_budget_is_per_run_test(tmp_path: Path) -> None:
    """Two run tests in one gate: each may start max_calls' worth of executions of its own."""
    policy = _policy(60) + f"run_tests: [{NAME}, Second Bot]\n"
    with _api({"is_helpful": 90}, also="Second Bot") as api:
        result = run(
            ["run", "--policy", write_policy(tmp_path, policy), "--report",
             str(tmp_path / "r.json")],
            env={"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY},
        )  # fmt: skip
    assert result.code == 1, result.err
    assert len(api.started) == 4  # two each: 60 calls a run test
    report = json.loads((tmp_path / "r.json").read_text())
    assert [r["evidence"]["calls"] for r in report["run_tests"]] == [60, 60]
