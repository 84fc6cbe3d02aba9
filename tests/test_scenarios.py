"""Per-scenario paired regression against the baseline (issue #21), end to end against the fake
serving two executions whose calls carry scenario ids, and the statistics under it.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from gate.policy import parse_policy
from gate.stats import fisher_lower, holm, min_fisher_p, stratified_lower
from tests.conftest import NOW, Result, run, write_policy
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, Fault, Store
from tests.fakeapi.store import Call, EvalConfig, EvalTemplate, Execution, RunTest
from tests.figures import record

NAME = "Refunds Bot"
HELPFUL = EvalConfig("11111111-1111-4111-8111-111111111111", "helpful")
STRICT = EvalConfig("22222222-2222-4222-8222-222222222222", "helpful")  # same name, other id
CSAT = EvalConfig("33333333-3333-4333-8333-333333333333", "csat")
SCENARIOS = ["Refund request", "Billing date", "Cancel plan", "Angry caller", "Upgrade"]
POLICY = """version: 1
evals:
  is_helpful: {min_pass_rate: 0}
baseline:
  compare_to: previous
  scenarios: {max_regressed: 0}
"""


def _sid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"scenario:{name}"))


def _calls(counts: Mapping[str, tuple[int, int]], configs: list[EvalConfig]) -> list[Call]:
    """Calls of each scenario: (passed, n) of every config's Pass/Fail output."""
    calls = []
    for name, (passed, n) in counts.items():
        for i in range(n):
            outputs = {
                cfg.id: {
                    "name": cfg.name,
                    "output": "Passed" if i < passed else "Failed",
                    "output_type": "Pass/Fail",
                    "reason": "",
                    "status": "completed",
                }
                for cfg in configs
            }
            calls.append(Call(str(uuid.uuid4()), name, "completed", outputs, NOW, 30, _sid(name)))
    return calls


def _execution(calls: list[Call], hours_ago: float) -> Execution:
    started = NOW - timedelta(hours=hours_ago)
    return Execution(
        str(uuid.uuid4()), "completed", started, started, started + timedelta(minutes=20), calls
    )


def store(
    baseline: Mapping[str, tuple[int, int]],
    current: Mapping[str, tuple[int, int]],
    configs: list[EvalConfig] | None = None,
) -> Store:
    configs = configs or [HELPFUL]
    template = EvalTemplate("44444444-4444-4444-8444-444444444444", "is_helpful", "Pass/Fail",
                            configs)  # fmt: skip
    score = EvalTemplate("55555555-5555-4555-8555-555555555555", "csat_score", "score", [CSAT])
    executions = [
        _execution(_calls(current, configs), 2),
        _execution(_calls(baseline, configs), 26),
    ]
    for ex in executions:
        for call in ex.calls:
            call.eval_outputs[CSAT.id] = {"name": "csat", "output": 0.8, "output_type": "score",
                                          "reason": "", "status": "completed"}  # fmt: skip
    scenarios = [{"id": _sid(s), "name": s} for s in SCENARIOS]
    return Store([RunTest(str(uuid.uuid4()), NAME, [template, score], executions, scenarios)])


def gate(
    s: Store, tmp_path: Path, policy: str = POLICY, *argv: str, faults: list[Fault] | None = None
) -> tuple[Result, Any, dict[str, str]]:
    files = {n: tmp_path / n for n in ("r.json", "s.md", "j.xml")}
    with FakeApi(s) as api:
        if faults:
            api.fail(*faults)
        result = run(
            ["check", "--policy", write_policy(tmp_path, policy), "--run-test", NAME,
             "--report", str(files["r.json"]), "--summary", str(files["s.md"]),
             "--junit", str(files["j.xml"]), *argv],
            {"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY},
        )  # fmt: skip
    report = json.loads(files["r.json"].read_text()) if files["r.json"].exists() else None
    return result, report, {k: p.read_text() for k, p in files.items() if p.exists()}


SAME = dict.fromkeys(SCENARIOS, (8, 10))


def test_one_scenario_regressed_is_named_everywhere(tmp_path: Path) -> None:
    current = {**SAME, "Refund request": (2, 10)}
    result, report, files = gate(store({**SAME, "Refund request": (9, 10)}, current), tmp_path)
    assert result.code == 1, result.err
    (check,) = [c for c in report["checks"] if c["metric"] == "regressed_scenarios"]
    assert (check["status"], check["observed"], check["threshold"]) == ("fail", 1, 0)
    assert "Refund request 9/10 → 2/10" in check["message"]
    rows = {r["scenario_name"]: r for r in report["scenarios"]}
    assert rows["Refund request"]["status"] == "regressed"
    assert rows["Refund request"]["baseline"] == {"passed": 9, "n": 10}
    assert rows["Refund request"]["adjusted_p_value"] <= 0.05
    assert {r["status"] for n, r in rows.items() if n != "Refund request"} == {"same"}
    assert "✗ Refund request: 9/10 → 2/10" in result.out  # the terminal, under the check
    summary = files["s.md"]
    assert "### Scenarios that regressed" in summary
    assert summary.index("### Scenarios that regressed") < summary.index("<sub>fi-gate")
    assert "| Refund request | is_helpful | 9/10 | 2/10 |" in summary
    assert 'name="is_helpful scenario Refund request"' in files["j.xml"]
    assert 'type="regressed"' in files["j.xml"]
    record("run", "baseline.scenarios: one scenario breaks (9/10 → 2/10)",
           "exit 1; the scenario named in the terminal, summary, JUnit and report")  # fmt: skip


def test_no_change_flags_no_scenario(tmp_path: Path) -> None:
    result, report, files = gate(store(SAME, SAME), tmp_path)
    assert result.code == 0, result.err
    (check,) = [c for c in report["checks"] if c["metric"] == "regressed_scenarios"]
    assert (check["status"], check["observed"], check["n"]) == ("pass", 0, 5)
    assert {r["status"] for r in report["scenarios"]} == {"same"}
    assert "Scenarios that regressed" not in files["s.md"]


def test_worse_but_not_significant_is_collapsed(tmp_path: Path) -> None:
    result, report, files = gate(store(SAME, {**SAME, "Upgrade": (6, 10)}), tmp_path)
    assert result.code == 0, result.err
    assert "<details><summary>Worse, but not significantly (1 scenario)</summary>" in files["s.md"]
    assert {r["scenario_name"]: r["status"] for r in report["scenarios"]}["Upgrade"] == "worse"


def test_a_scenario_new_and_one_gone_are_listed_not_tested(tmp_path: Path) -> None:
    baseline = {s: SAME[s] for s in SCENARIOS[:4]}
    current = {s: SAME[s] for s in SCENARIOS[1:]}
    result, report, _ = gate(store(baseline, current), tmp_path)
    assert result.code == 0, result.err
    statuses = {r["scenario_name"]: r["status"] for r in report["scenarios"]}
    assert statuses["Refund request"] == "gone" and statuses["Upgrade"] == "new"
    gone = next(r for r in report["scenarios"] if r["status"] == "gone")
    assert gone["current"] is None and gone["p_value"] is None
    (check,) = [c for c in report["checks"] if c["metric"] == "regressed_scenarios"]
    assert check["n"] == 3  # only the scenarios in both are tested


def test_a_baseline_without_calls_is_no_data_never_a_silent_pass(tmp_path: Path) -> None:
    result, report, _ = gate(store({}, SAME), tmp_path)
    assert result.code == 1, result.err
    (check,) = [c for c in report["checks"] if c["metric"] == "regressed_scenarios"]
    assert check["status"] == "no_data"
    assert "has no calls for it" in check["message"]


def test_two_configs_of_one_name_are_compared_by_id(tmp_path: Path) -> None:
    s = store(SAME, SAME, [HELPFUL, STRICT])
    rt = s.run_tests[0]
    current = rt.executions[0]
    for call in current.calls:  # only the second config breaks, on one scenario
        if call.scenario_name == "Refund request":
            call.eval_outputs[STRICT.id]["output"] = "Failed"
    result, report, _ = gate(s, tmp_path)
    assert result.code == 1, result.err
    checks = [c for c in report["checks"] if c["metric"] == "regressed_scenarios"]
    assert [c["observed"] for c in checks] == [0, 1]
    regressed = [r for r in report["scenarios"] if r["status"] == "regressed"]
    assert [(r["config_id"], r["scenario_name"]) for r in regressed] == [
        (STRICT.id, "Refund request")
    ]


def test_the_drop_check_is_paired_by_scenario_with_calls(tmp_path: Path) -> None:
    plain = POLICY.replace("compare_to: previous\n", "compare_to: previous\n  max_drop: 5\n")
    tested = plain.replace("min_pass_rate: 0}", "min_pass_rate: 0, confidence: 0.95}")
    current = {**SAME, "Refund request": (0, 10), "Billing date": (1, 10)}
    _, report, _ = gate(store(SAME, current), tmp_path, plain)
    drop = next(c for c in report["checks"] if c["metric"] == "pass_rate_drop")
    assert "paired by scenario" not in drop["message"]  # no confidence: no test at all
    _, report, _ = gate(store(SAME, current), tmp_path, tested)
    drop = next(c for c in report["checks"] if c["metric"] == "pass_rate_drop")
    assert "tested paired by scenario (exact, stratified)" in drop["message"]
    assert drop["status"] == "fail"


@pytest.mark.slow  # bounded by its deadline or backoff: seconds of waiting
def test_on_api_error_semantics_are_unchanged(tmp_path: Path) -> None:
    """An outage while reading the baseline's calls is an outage, softened only when asked."""

    def faults() -> list[Fault]:
        def baseline_page(q: dict[str, str]) -> bool:
            return "page" not in q and bool(q.get("execution_id")) and "summary" not in q

        return [Fault(mode="hang", delay=30, match=baseline_page)]

    failed, _, _ = gate(store(SAME, SAME), tmp_path, POLICY, "--timeout", "2", faults=faults())
    assert failed.code == 3, failed.err
    softened, report, _ = gate(
        store(SAME, SAME), tmp_path, POLICY, "--on-api-error", "pass", "--timeout", "2",
        faults=faults(),
    )  # fmt: skip
    assert softened.code == 0 and report["verdict"] == "error"


def test_scenarios_in_a_rule_of_another_type_is_a_validation_error() -> None:
    from gate.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_policy(
            "version: 1\nevals:\n  csat_score:\n    min_avg_score: 70\n"
            "    baseline: {scenarios: {max_regressed: 0}}\n"
        )
    assert "applies to Pass/Fail evals" in str(caught.value)
    assert "a score eval (min_avg_score)" in str(caught.value)


def test_inherited_by_a_score_eval_it_does_not_apply(tmp_path: Path) -> None:
    policy = POLICY.replace(
        "  is_helpful: {min_pass_rate: 0}\n",
        "  is_helpful: {min_pass_rate: 0}\n  csat_score: {min_avg_score: 0}\n",
    )
    result, report, _ = gate(store(SAME, SAME), tmp_path, policy)
    assert result.code == 0, result.err
    covered = {c["name"] for c in report["checks"] if c["metric"] == "regressed_scenarios"}
    assert covered == {"is_helpful"}


# --- the statistics, cross-checked and simulated (docs/statistics.md) -----------------------


@pytest.mark.slow  # large inputs: seconds of work, kept out of the inner loop
def test_fisher_matches_scipy_and_holm_matches_its_definition() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = random.Random(5)
    for _ in range(200):
        n, m = rng.randint(1, 30), rng.randint(1, 30)
        b, c = rng.randint(0, n), rng.randint(0, m)
        expected = scipy_stats.fisher_exact([[b, n - b], [c, m - c]], alternative="greater")
        assert math.isclose(fisher_lower(b, n, c, m), expected.pvalue, rel_tol=1e-9, abs_tol=1e-12)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert min_fisher_p(5, 5) == pytest.approx(1 / 252)


def _simulate(rng: random.Random, rates: list[float], n: int) -> list[tuple[int, int]]:
    return [(sum(rng.random() < p for _ in range(n)), n) for p in rates]


def _flagged(base: list[tuple[int, int]], now: list[tuple[int, int]], alpha: float) -> list[int]:
    ps = [fisher_lower(b, n, c, m) for (b, n), (c, m) in zip(base, now, strict=True)]
    return [i for i, p in enumerate(holm(ps)) if p <= alpha]


def test_no_change_false_alarms_stay_under_alpha() -> None:
    """10 scenarios x 10 calls, rates spread from 0.3 to 0.95, nothing changed: the share of
    simulated pairs with any scenario flagged is at most 1 - confidence (+ 1 point of
    simulation error over 2,000 pairs)."""
    rng = random.Random(2112)
    rates = [0.3 + i * (0.95 - 0.3) / 9 for i in range(10)]
    pairs, alarms = 2000, 0
    for _ in range(pairs):
        alarms += bool(_flagged(_simulate(rng, rates, 10), _simulate(rng, rates, 10), 0.05))
    assert alarms / pairs <= 0.05 + 0.01
    record("fuzz", "per-scenario test, no change (2,000 simulated pairs)",
           f"{alarms / pairs:.1%} with any scenario flagged (at most 5 %)")  # fmt: skip


@pytest.mark.parametrize(("calls", "at_least"), [(10, 0.3), (20, 0.8)])
def test_one_scenario_breaking_is_detected_and_it_is_the_right_one(
    calls: int, at_least: float
) -> None:
    """One scenario of ten breaks, 0.9 → 0.3: with Holm over ten scenarios a scenario needs a
    p-value of 0.005, which 10 calls a side reach in about 4 pairs in 10 and 20 calls in 9 in
    10 (docs/statistics.md). No other scenario is flagged beyond the false-alarm rate."""
    rng = random.Random(77)
    rates = [0.9] * 10
    broken = [0.9] * 9 + [0.3]
    pairs, found, wrong = 500, 0, 0
    for _ in range(pairs):
        flagged = _flagged(_simulate(rng, rates, calls), _simulate(rng, broken, calls), 0.05)
        found += 9 in flagged
        wrong += any(i != 9 for i in flagged)
    assert found / pairs >= at_least and wrong / pairs <= 0.05
    outcome = f"detected in {found / pairs:.0%} of pairs; another flagged in {wrong / pairs:.1%}"
    record("fuzz", f"per-scenario test, one scenario 0.9 → 0.3 ({calls} calls, 500 pairs)",
           outcome)  # fmt: skip


def test_the_stratified_test_finds_what_the_unpaired_one_misses() -> None:
    """40 scenarios x 3 calls, 20 always passing and 20 always failing; two passing scenarios
    turn into failures. The unpaired z-test sees 60/120 against 54/120; the stratified exact
    test sees that only two scenarios moved, each as far as it could."""
    from gate.history import drop_is_significant

    base = [(3, 3)] * 20 + [(0, 3)] * 20
    now = [(3, 3)] * 18 + [(0, 3)] * 2 + [(0, 3)] * 20
    tables = [(b, n, c, m) for (b, n), (c, m) in zip(base, now, strict=True)]
    assert stratified_lower(tables) <= 0.05
    assert not drop_is_significant(50.0, 120, 45.0, 120, 0.95)


@pytest.fixture
def scipy_stats() -> Any:
    return pytest.importorskip("scipy.stats")


def test_stratified_is_the_exact_convolution(scipy_stats: Any) -> None:
    rng = random.Random(9)
    for _ in range(30):
        tables = []
        for _ in range(rng.randint(1, 6)):
            n, m = rng.randint(1, 8), rng.randint(1, 8)
            tables.append((rng.randint(0, n), n, rng.randint(0, m), m))
        # brute force: the convolution of the hypergeometric distributions
        dist = {0: 1.0}
        for b, n, c, m in tables:
            pmf = scipy_stats.hypergeom(n + m, b + c, m)
            step: dict[int, float] = {}
            for total, p in dist.items():
                for x in range(0, m + 1):
                    q = pmf.pmf(x)
                    if q:
                        step[total + x] = step.get(total + x, 0.0) + p * q
            dist = step
        observed = sum(c for _, _, c, _ in tables)
        expected = sum(p for t, p in dist.items() if t <= observed)
        assert math.isclose(
            stratified_lower(tables), min(1.0, expected), rel_tol=1e-9, abs_tol=1e-12
        )


def test_a_run_compares_with_the_previous_execution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fi-gate run` with compare_to: previous: the started execution against the last one."""
    monkeypatch.setattr("gate.api.WAIT_FIRST", 0.1)
    monkeypatch.setattr("gate.api.WAIT_MAX", 0.2)
    monkeypatch.setattr("gate.judge.now", lambda: datetime.now(timezone.utc))
    s = store(SAME, SAME)
    rt = s.run_tests[0]
    rt.run = {"calls": 20, "rates": {"helpful": 80}, "pending": 0.1, "running": 0.2,
              "evaluating": 0.1}  # fmt: skip
    for ex in rt.executions:  # today's, before the start
        ex.started_at = ex.created_at = datetime.now(timezone.utc) - timedelta(hours=1)
        ex.completed_at = ex.started_at + timedelta(minutes=5)
    report_path = tmp_path / "r.json"
    with FakeApi(s) as api:
        result = run(
            ["run", "--policy", write_policy(tmp_path, POLICY), "--run-test", NAME,
             "--report", str(report_path)],
            {"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY},
        )  # fmt: skip
        (started,) = api.started
    assert result.code in (0, 1), result.err
    report = json.loads(report_path.read_text())
    (check,) = [c for c in report["checks"] if c["metric"] == "regressed_scenarios"]
    assert check["baseline_execution"] != started, check["message"]
    assert check["status"] in ("pass", "fail") and check["n"] >= 1, check["message"]


def test_init_template_documents_scenarios_and_uncommented_it_validates() -> None:
    """`fi-gate init` writes the comparison commented out; uncommented, the policy is valid."""
    from gate.init import starter_policy
    from gate.judge import read_execution_file
    from tests.conftest import SEED

    text = starter_policy("Support Agent Regression", [read_execution_file(str(SEED))])
    assert "#   scenarios:" in text and "#     max_regressed: 0" in text
    enabled = "\n".join(
        line[2:] if line.startswith(("# baseline", "#   ", "#     ")) else line
        for line in text.splitlines()
    )
    policy = parse_policy(enabled)
    assert policy.compares_scenarios and policy.baseline is not None


def test_the_baseline_calls_are_read_with_the_eval_name_filter(tmp_path: Path) -> None:
    """Only the Pass/Fail configs' outputs are compared: the baseline's pages are asked for
    with `eval_name` (the configs' names), smaller when an execution has several evals."""
    s = store(SAME, SAME)
    baseline_id = s.run_tests[0].executions[1].execution_id
    with FakeApi(s) as api:
        result = run(
            ["check", "--policy", write_policy(tmp_path, POLICY), "--run-test", NAME],
            {"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY},
        )
        asked = [q.query for q in api.runs_requests if q.query.get("execution_id") == baseline_id]
    assert result.code == 0, result.err
    assert asked and all(q.get("eval_name") == "helpful" for q in asked)


def test_paired_against_unpaired_detection_rates() -> None:
    """The table of docs/statistics.md: 40 scenarios x 3 calls, 20 near-always passing (0.95)
    and 20 near-always failing (0.05); two passing scenarios turn into failures. 500 seeded
    pairs each: the stratified exact test detects the break far more often than the unpaired
    z-test, and neither raises more false alarms than 1 - confidence when nothing changed."""
    from gate.history import drop_is_significant

    def simulate(rng: random.Random, rates: list[float]) -> list[tuple[int, int]]:
        return [(sum(rng.random() < p for _ in range(3)), 3) for p in rates]

    base_rates = [0.95] * 20 + [0.05] * 20
    broken = [0.95] * 18 + [0.05] * 22
    rates: dict[str, tuple[float, float]] = {}
    for label, now_rates in (("no change", base_rates), ("two scenarios break", broken)):
        rng, paired, unpaired, pairs = random.Random(40), 0, 0, 500
        for _ in range(pairs):
            base, now = simulate(rng, base_rates), simulate(rng, now_rates)
            tables = [(b, n, c, m) for (b, n), (c, m) in zip(base, now, strict=True)]
            paired += stratified_lower(tables) <= 0.05
            before, after = (sum(x for x, _ in t) / 120 * 100 for t in (base, now))
            unpaired += drop_is_significant(before, 120, after, 120, 0.95)
        rates[label] = (paired / pairs, unpaired / pairs)
        outcome = f"paired {paired / pairs:.1%}, unpaired {unpaired / pairs:.1%} significant"
        record("fuzz", f"drop test, 40 scenarios x 3 calls, {label} (500 pairs)", outcome)
    assert rates["no change"][0] <= 0.05 + 0.02 and rates["no change"][1] <= 0.05 + 0.02
    assert rates["two scenarios break"][0] >= 5 * max(rates["two scenarios break"][1], 0.01)


def test_the_example_report_is_what_fi_gate_writes(tmp_path: Path) -> None:
    """examples/scenarios-report.json (one scenario regressed) is valid against the report's
    schema and has the shape a run writes today."""
    import jsonschema

    from tests.conftest import ROOT

    example = json.loads((ROOT / "examples" / "scenarios-report.json").read_text())
    schema = json.loads((ROOT / "gate" / "schemas" / "report.schema.json").read_text())
    jsonschema.validate(example, schema)
    _, report, _ = gate(store({**SAME, "Refund request": (9, 10)},
                              {**SAME, "Refund request": (2, 10)}), tmp_path)  # fmt: skip
    assert set(example) == set(report)
    assert [set(r) for r in example["scenarios"]] == [set(r) for r in report["scenarios"]]
    assert [(r["scenario_name"], r["status"]) for r in example["scenarios"]] == [
        (r["scenario_name"], r["status"]) for r in report["scenarios"]
    ]


def test_a_config_rules_own_confidence_decides_its_scenarios(tmp_path: Path) -> None:
    """The same regression in two configs: significant at the eval rule's 0.95, not at the
    config rule's own 0.999 (inherited confidence otherwise)."""
    other = EvalConfig("66666666-6666-4666-8666-666666666666", "strict")
    policy = POLICY.replace(
        "  is_helpful: {min_pass_rate: 0}",
        "  is_helpful:\n    min_pass_rate: 0\n    confidence: 0.95\n"
        "    configs:\n      strict: {confidence: 0.999}",
    )
    current = {**SAME, "Refund request": (3, 10)}
    s = store({**SAME, "Refund request": (10, 10)}, current, [HELPFUL, other])
    result, report, _ = gate(s, tmp_path, policy)
    checks = {c["config"]: c for c in report["checks"] if c["metric"] == "regressed_scenarios"}
    assert (checks["helpful"]["status"], checks["helpful"]["confidence"]) == ("fail", 0.95)
    assert (checks["strict"]["status"], checks["strict"]["confidence"]) == ("pass", 0.999)
    assert "at 99.9% (paired by scenario" in checks["strict"]["message"]
    assert result.code == 1
