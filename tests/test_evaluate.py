"""The evaluation is pure: policy + execution + clock in, verdict out. No server, file or clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from gate.errors import ConfigError
from gate.evaluate import evaluate
from gate.model import parse_clusters, parse_execution
from gate.policy import parse_policy
from gate.verdict import Check, Verdict
from tests.conftest import SEED
from tests.figures import attack

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def pf(
    name: str, rate: float, cells: int = 20, configs: list[tuple[str, float, int]] | None = None
) -> dict[str, Any]:
    configs = configs or [(name.lower(), rate, cells)]
    return {
        "name": name,
        "output_type": "Pass/Fail",
        "total_pass_rate": rate,
        "result": [
            {
                "name": c,
                "total_cells": n,
                "output": {
                    "pass": r,
                    "fail": 100 - r,
                    "pass_count": round(r * n / 100),
                    "fail_count": n - round(r * n / 100),
                }
                if n
                else {},
            }
            for c, r, n in configs
        ],
    }


def score(name: str, avg: float, cells: int = 20) -> dict[str, Any]:
    return {
        "name": name,
        "output_type": "score",
        "total_avg": avg,
        "result": [
            {"name": name.lower(), "total_cells": cells, "avg_score": avg, "output": {"p50": avg}}
        ],
    }


def choices(
    name: str, configs: list[tuple[str, dict[str, float], int]], total: dict[str, float]
) -> dict[str, Any]:
    return {
        "name": name,
        "output_type": "choices",
        "total_choices_avg": total,
        "result": [{"name": c, "total_cells": n, "output": out} for c, out, n in configs],
    }


def execution(*evals: dict[str, Any], **fields: Any) -> Any:
    data = {
        "execution_id": "6f1c2a8e-3b7d-4e59-9a41-2c8d5e7f9b10",
        "status": "completed",
        "started_at": "2026-11-28T08:00:00Z",
        "completed_at": "2026-11-28T08:30:00Z",
        "total_calls": 20,
        "completed_calls": 20,
        "failed_calls": 0,
        "eval_results": list(evals),
    }
    data.update(fields)
    return parse_execution(data)


def judge(policy: str, ex: Any, now: datetime = NOW) -> Verdict:
    return evaluate(parse_policy("version: 1\n" + policy), ex, now)


def only(v: Verdict, name: str, metric: str | None = None) -> Check:
    found = [c for c in v.checks if c.name == name and (metric is None or c.metric == metric)]
    assert len(found) == 1, found
    return found[0]


def seed() -> Any:
    return parse_execution(json.loads(SEED.read_text())["result"])


@pytest.mark.parametrize(("threshold", "verdict", "code"), [(80, "warn", 0), (81, "fail", 1)])
def test_seed_example(threshold: int, verdict: str, code: int) -> None:
    v = judge(f"evals:\n  is_helpful: {{min_pass_rate: {threshold}}}\n", seed())
    assert (v.verdict, v.exit_code) == (verdict, code)
    check = only(v, "is_helpful")
    assert check.observed == 80.77
    assert check.n == 26
    # the seed has 4 failed calls and no execution rule: a warning, never silence
    assert only(v, "failed calls").status == "warn"


def test_exact_name_beats_glob_beats_defaults() -> None:
    ex = execution(pf("Tone", 70), pf("Tone of voice", 70), pf("Coherence", 70))
    v = judge(
        "defaults: {min_pass_rate: 60}\n"
        "evals:\n  'Tone*': {min_pass_rate: 75}\n  Tone: {min_pass_rate: 65}\n",
        ex,
    )
    assert only(v, "Tone").threshold == 65
    assert only(v, "Tone of voice").threshold == 75
    assert only(v, "Coherence").threshold == 60
    assert v.verdict == "fail"
    assert [c.name for c in v.failed_checks] == ["Tone of voice"]


def test_warn_level_reports_but_never_fails() -> None:
    v = judge("evals:\n  Tone: {min_pass_rate: 90, level: warn}\n", execution(pf("Tone", 70)))
    assert only(v, "Tone").status == "warn"
    assert (v.verdict, v.exit_code) == ("warn", 0)


@pytest.mark.parametrize("rule", ["off", "{level: off, min_pass_rate: 99}", "{level: 'off'}"])
def test_off_is_skipped(rule: str) -> None:
    ex = execution(pf("Tone", 10), pf("Coherence", 95))
    v = judge(f"evals:\n  Tone: {rule}\n  Coherence: {{min_pass_rate: 90}}\n", ex)
    assert only(v, "Tone").status == "skipped"
    assert v.verdict == "pass"


def test_default_level_off_skips_defaults() -> None:
    ex = execution(pf("Tone", 10), pf("Coherence", 95))
    v = judge(
        "defaults: {min_pass_rate: 99, level: off}\n"
        "evals: {Coherence: {min_pass_rate: 90, level: error}}\n",
        ex,
    )
    assert only(v, "Tone").status == "skipped"
    assert v.exit_code == 0


@pytest.mark.parametrize(
    "policy",
    [
        "evals:\n  Tone: off\n",
        "defaults: {min_pass_rate: 99, level: off}\n",
        "evals:\n  Tone: {min_pass_rate: 90, level: off}\n",
        "execution: {max_failed_calls: 0}\n",
    ],
)
def test_a_policy_that_gates_no_eval_is_refused(policy: str) -> None:
    with pytest.raises(ConfigError, match="the policy gates no eval"):
        parse_policy("version: 1\n" + policy)


def test_every_eval_off_in_the_execution_is_not_a_pass() -> None:
    # The policy gates Coherence, but this execution has only Tone, which is off.
    v = judge(
        "evals:\n  Tone: off\n  'Coh*': {min_pass_rate: 1, level: warn}\n",
        execution(pf("Tone", 10)),
    )
    assert (v.verdict, v.exit_code) == ("fail", 1)
    assert only(v, "eval results").status == "no_data"


def test_missing_exact_eval_is_a_violation_at_its_level() -> None:
    v = judge("evals:\n  Coherense: {min_pass_rate: 90}\n", execution(pf("Coherence", 95)))
    check = only(v, "Coherense")
    assert check.status == "missing"
    assert v.verdict == "fail"
    assert "did you mean 'Coherence'?" in check.message
    warned = judge(
        "defaults: {min_pass_rate: 90}\nevals:\n  Coherense: {min_pass_rate: 90, level: warn}\n",
        execution(pf("Coherence", 95)),
    )
    assert (warned.verdict, warned.exit_code) == ("warn", 0)
    # Alone, the misspelt rule judged nothing: that is never a pass, even at level warn.
    alone = judge(
        "evals:\n  Coherense: {min_pass_rate: 90, level: warn}\n", execution(pf("Coherence", 95))
    )
    assert (alone.verdict, alone.exit_code) == ("fail", 1)


def test_glob_matching_nothing_is_a_violation_at_its_level() -> None:
    ex = execution(pf("Coherence", 95))
    v = judge("evals:\n  'Tox*': {min_pass_rate: 90}\n  Coherence: {min_pass_rate: 90}\n", ex)
    assert only(v, "Tox*").status == "missing"
    assert (v.verdict, v.exit_code) == ("fail", 1)
    warned = judge(
        "evals:\n  'Tox*': {min_pass_rate: 90, level: warn}\n  Coherence: {min_pass_rate: 90}\n",
        ex,
    )
    assert (warned.verdict, warned.exit_code) == ("warn", 0)


def test_zero_cells_is_no_data_never_zero_or_full() -> None:
    ex = execution(
        {
            "name": "Coherence",
            "output_type": "Pass/Fail",
            "total_pass_rate": 0,
            "result": [{"name": "c", "total_cells": 0, "output": {}}],
        }
    )
    v = judge("evals:\n  Coherence: {min_pass_rate: 0}\n", ex)
    check = only(v, "Coherence")
    assert check.status == "no_data"
    assert check.observed is None
    assert v.verdict == "fail"  # even a 0 % threshold does not pass on no data


def test_threshold_of_the_wrong_type_is_a_failed_check_that_says_so() -> None:
    v = judge("evals:\n  CSAT: {min_pass_rate: 80}\n", execution(score("CSAT", 90)))
    check = only(v, "CSAT")
    assert check.status == "fail"
    assert "min_pass_rate does not apply to a score eval; use min_avg_score" in check.message


def test_max_avg_score_caps_a_score_where_lower_is_better() -> None:
    """The threshold kind added by following docs/architecture.md's recipe: a schema property
    and one row of gate.metrics.METRICS, nothing else."""
    ex = execution(score("Toxicity", 35), pf("Coherence", 90))
    high = only(judge("evals:\n  Toxicity: {max_avg_score: 30}\n", ex), "Toxicity")
    assert (high.status, high.op, high.observed, high.threshold) == ("fail", "<=", 35, 30)
    assert high.message == "35 over 20 cells; needs at most 30 (5 points over)"
    low = only(judge("evals:\n  Toxicity: {max_avg_score: 40}\n", ex), "Toxicity")
    assert low.status == "pass"
    both = judge("evals:\n  Toxicity: {min_avg_score: 20, max_avg_score: 30}\n", ex)
    assert [(c.op, c.status) for c in both.checks if c.name == "Toxicity"] == [
        (">=", "pass"),
        ("<=", "fail"),
    ]
    wrong = only(judge("evals:\n  Coherence: {max_avg_score: 30}\n", ex), "Coherence")
    assert wrong.status == "fail"
    assert "max_avg_score does not apply to a Pass/Fail eval; use min_pass_rate" in wrong.message


def test_max_avg_score_has_no_drop_from_baseline() -> None:
    """A drop is measured for floors only: a ceiling on a score has no "drop" to gate."""
    earlier = execution(
        score("Toxicity", 10),
        execution_id="0b9d3c1e-5f2a-4c6b-8e7d-1a2b3c4d5e6f",
        started_at="2026-11-27T08:00:00Z",
        completed_at="2026-11-27T08:30:00Z",
    )
    ex = execution(score("Toxicity", 5))

    def metrics(rule: str) -> list[str]:
        policy = parse_policy(
            "version: 1\nbaseline: {max_drop: 1, compare_to: previous}\n"
            f"evals:\n  Toxicity: {{{rule}}}\n"
        )
        v = evaluate(policy, ex, NOW, history=[earlier])
        return [c.metric for c in v.checks if c.name == "Toxicity"]

    assert metrics("min_avg_score: 1") == ["avg_score", "avg_score_drop"]  # a floor: checked
    assert metrics("max_avg_score: 30") == ["avg_score"]


def test_unknown_output_type_cannot_pass() -> None:
    ex = execution(
        {
            "name": "Odd",
            "output_type": "unknown",
            "result": [{"name": "o", "total_cells": 5, "output": {}}],
        }
    )
    check = only(judge("evals:\n  Odd: {min_pass_rate: 1}\n", ex), "Odd")
    assert check.status == "fail"
    assert "'unknown'" in check.message


def test_defaults_apply_only_to_matching_output_types() -> None:
    ex = execution(
        pf("Coherence", 85),
        score("CSAT", 65),
        choices("Mood", [("m", {"Happy": 100}, 20)], {"Happy": 100}),
    )
    v = judge("defaults: {min_pass_rate: 80}\n", ex)
    assert only(v, "Coherence").status == "pass"
    assert v.not_gated == ("CSAT", "Mood")
    both = judge("defaults: {min_pass_rate: 80, min_avg_score: 70}\n", ex)
    assert only(both, "CSAT").status == "fail"
    assert both.not_gated == ("Mood",)


def test_score_and_choices() -> None:
    ex = execution(
        score("CSAT", 72.5),
        choices(
            "Sentiment",
            [("a", {"Positive": 70, "Negative": 5}, 10), ("b", {"Negative": 25}, 10)],
            {"Positive": 35.0},
        ),
    )
    v = judge(
        "evals:\n  CSAT: {min_avg_score: 70}\n"
        "  Sentiment:\n    min_choice_rate: {Positive: 30, Neutral: 5}\n"
        "    max_choice_rate: {Negative: 10}\n",
        ex,
    )
    assert only(v, "CSAT").status == "pass"
    assert only(v, "Sentiment", "choice_rate[Positive]").observed == 35.0
    # Negative is not in total_choices_avg (the API covers only the first config's choices):
    # computed from the configs, weighted by cells: (5*10 + 25*10) / 20 = 15
    negative = only(v, "Sentiment", "choice_rate[Negative]")
    assert (negative.observed, negative.status) == (15.0, "fail")
    # Neutral never occurred (the server lists only the choices that did): 0 %, under 5 %
    neutral = only(v, "Sentiment", "choice_rate[Neutral]")
    assert (neutral.observed, neutral.status) == (0.0, "fail")
    assert "the choice 'Neutral' never occurred" in neutral.message
    # a label that differs from a reported one only by case is the policy's mistake
    typo = judge("evals:\n  Sentiment: {max_choice_rate: {NEGATIVE: 10}}\n", ex)
    wrong = only(typo, "Sentiment", "choice_rate[NEGATIVE]")
    assert wrong.status == "missing" and "did you mean 'Negative'?" in wrong.message


def test_config_rules_judge_configs() -> None:
    ex = execution(
        pf("is_helpful", 80, configs=[("helpful_or_no", 90.0, 10), ("strict", 70.0, 10)])
    )
    v = judge(
        "evals:\n  is_helpful:\n    configs:\n      helpful_or_no: {min_pass_rate: 85}\n"
        "      strict: {min_pass_rate: 75, level: warn}\n      gone: {min_pass_rate: 1}\n",
        ex,
    )
    by_config = {c.config: c for c in v.checks if c.name == "is_helpful"}
    assert set(by_config) == {"helpful_or_no", "strict", "gone"}  # no total check: no threshold
    assert by_config["helpful_or_no"].status == "pass"
    assert by_config["helpful_or_no"].n == 10
    assert by_config["strict"].status == "warn"
    assert by_config["gone"].status == "missing"
    assert v.verdict == "fail"


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_failed_or_cancelled_execution_fails(status: str) -> None:
    v = judge("evals:\n  Tone: {min_pass_rate: 1}\n", execution(pf("Tone", 100), status=status))
    assert (v.verdict, v.exit_code) == ("fail", 1)
    assert only(v, "execution status").status == "fail"


@pytest.mark.parametrize("status", ["pending", "running", "evaluating", "cancelling"])
def test_unfinished_execution_is_not_ready(status: str) -> None:
    v = judge("evals:\n  Tone: {min_pass_rate: 1}\n", execution(pf("Tone", 100), status=status))
    assert (v.verdict, v.exit_code) == ("not_ready", 4)
    assert status in v.message
    assert "6f1c2a8e-3b7d-4e59-9a41-2c8d5e7f9b10" in v.message


def test_half_failed_execution_cannot_pass_silently() -> None:
    # Failed calls never lower a pass rate: 100 % over the 10 calls that completed.
    ex = execution(pf("Tone", 100, cells=10), total_calls=20, completed_calls=10, failed_calls=10)
    plain = judge("evals:\n  Tone: {min_pass_rate: 90}\n", ex)
    assert only(plain, "failed calls").status == "warn"
    gated = judge("execution: {max_failed_calls: 10%}\nevals:\n  Tone: {min_pass_rate: 90}\n", ex)
    check = only(gated, "failed calls")
    assert (check.observed, check.status) == (50.0, "fail")
    counted = judge(
        "execution: {max_failed_calls: 10, min_completed_calls: 11}\n"
        "evals:\n  Tone: {min_pass_rate: 90}\n",
        ex,
    )
    assert only(counted, "failed calls").status == "pass"
    assert only(counted, "completed calls").status == "fail"


def test_max_age_from_completed_else_started() -> None:
    policy = "execution: {max_age: 24h}\ndefaults: {min_pass_rate: 0}\n"
    fresh = judge(policy, execution(), now=NOW)
    assert only(fresh, "age").status == "pass"
    stale = judge(policy, execution(), now=NOW + timedelta(days=2))
    assert only(stale, "age").status == "fail"
    started_only = execution(completed_at=None, started_at="2026-11-20T00:00:00Z")
    assert "started" in only(judge(policy, started_only), "age").message
    unknown = execution(completed_at=None, started_at=None)
    assert only(judge(policy, unknown), "age").status == "fail"


def test_clusters_of_failing_evals_in_both_shapes() -> None:
    server_shape = {
        "helpful_or_no": [
            {
                "theme": "Refunds",
                "kind": "failure",
                "size": 4,
                "issues": ["wrong window"],
                "guidance": "use the tool",
                "member_ids": ["a", "b"],
                "representative_ids": ["b"],
            },
            {"theme": "Greeting", "kind": "success", "size": 30},
        ]
    }
    docs_shape = {
        "Coherence": [
            {"cluster_name": "Loops", "call_execution_ids": ["c"], "description": "repeats itself"}
        ]
    }
    ex = execution(
        pf("is_helpful", 70, configs=[("helpful_or_no", 70.0, 20)]),
        pf("Coherence", 95),
        eval_explanation_summary={**server_shape, **docs_shape},
    )
    v = judge("evals:\n  is_helpful: {min_pass_rate: 80}\n  Coherence: {min_pass_rate: 90}\n", ex)
    # is_helpful fails: its failure cluster (keyed by its config's name, as the server does) is
    # shown; the success cluster is not, and Coherence passed, so its cluster is not either.
    shown = v.clusters_for_failures()
    assert [(c.name, c.size, c.call_ids) for c in shown] == [("Refunds", 4, ("b", "a"))]
    assert shown[0].template == "is_helpful"
    v2 = judge("evals:\n  is_helpful:\n    configs: {helpful_or_no: {min_pass_rate: 80}}\n", ex)
    shown = v2.clusters_for_failures()
    assert [(c.name, c.size, c.call_ids) for c in shown] == [("Refunds", 4, ("b", "a"))]
    docs = parse_clusters(docs_shape)
    assert (docs[0].name, docs[0].description, docs[0].call_ids) == (
        "Loops",
        "repeats itself",
        ("c",),
    )


def test_clusters_never_decide_the_verdict() -> None:
    ex = execution(
        pf("Tone", 95), eval_explanation_summary={"Tone": [{"theme": "bad", "size": 99}]}
    )
    assert judge("evals:\n  Tone: {min_pass_rate: 90}\n", ex).verdict == "pass"


def test_malformed_clusters_are_skipped_not_fatal() -> None:
    assert parse_clusters({"a": "nope", "b": [1, None, {"theme": 3}], 5: None}) == (
        parse_clusters({"b": [{}]})[0].__class__(eval_name="b", name="(unnamed)", size=0),
    )


# --- fail closed: nothing passes that was not judged (issue #12, section 1) -------------------


@pytest.mark.parametrize("eval_results", [[], None], ids=["empty", "null"])
def test_an_execution_without_eval_results_fails(eval_results: Any) -> None:
    v = judge("defaults: {min_pass_rate: 80}\n", execution(eval_results=eval_results))
    assert (v.verdict, v.exit_code) == ("fail", 1)
    assert "no eval results" in only(v, "eval results").message
    attack("judged nothing", f"eval_results: {eval_results!r}", "exit 1: nothing was judged")


def test_evals_no_rule_or_default_speaks_to_are_not_a_pass() -> None:
    # Only a Pass/Fail default; the execution has a score eval only: nothing judged.
    v = judge("defaults: {min_pass_rate: 80}\n", execution(score("CSAT", 90)))
    assert (v.verdict, v.exit_code) == ("fail", 1)
    assert v.not_gated == ("CSAT",)
    assert "no rule or default of the policy applies" in only(v, "eval results").message
    attack("judged nothing", "every eval not gated", "exit 1: nothing was judged")


@pytest.mark.parametrize("rule", ["{min_cells: 5}", "{level: error}", "{}", "{confidence: 0.9}"])
def test_a_rule_without_a_threshold_takes_the_defaults(rule: str) -> None:
    ex = execution(pf("Toxicity", 60), score("CSAT", 50))
    v = judge(
        f"defaults: {{min_pass_rate: 80, min_avg_score: 70}}\nevals:\n  Toxicity: {rule}\n", ex
    )
    toxicity = only(v, "Toxicity")
    assert (toxicity.threshold, toxicity.status) == (80.0, "fail")
    assert only(v, "CSAT").status == "fail"  # the defaults still judge the others
    assert v.exit_code == 1
    attack("rules without a threshold", f"Toxicity: {rule}", "judged by the defaults")


def test_a_rule_without_a_threshold_for_its_type_is_a_violation() -> None:
    ex = execution(choices("Mood", [("mood", {"Positive": 90.0}, 20)], {"Positive": 90.0}))
    v = judge("defaults: {min_pass_rate: 80}\nevals:\n  Mood: {min_cells: 5}\n", ex)
    check = only(v, "Mood")
    assert (check.metric, check.status) == ("threshold", "fail")
    assert "add min_choice_rate" in check.message
    assert v.exit_code == 1


def test_a_config_rule_without_thresholds_takes_its_evals() -> None:
    ex = execution(pf("is_helpful", 70, configs=[("strict", 70.0, 20)]))
    v = judge("evals:\n  is_helpful:\n    min_pass_rate: 80\n    configs: {strict: {}}\n", ex)
    strict = next(c for c in v.checks if c.config == "strict")
    assert (strict.threshold, strict.status) == (80.0, "fail")


@pytest.mark.parametrize(
    ("rule", "observed"), [("max_choice_rate", 95.0), ("min_choice_rate", 95.0)]
)
def test_a_choice_the_eval_never_reports_is_missing_not_zero(rule: str, observed: float) -> None:
    ex = execution(choices("Mood", [("mood", {"NEGATIVE": observed}, 20)], {"NEGATIVE": observed}))
    v = judge(f"evals:\n  Mood: {{{rule}: {{Negative: 10}}}}\n", ex)
    check = only(v, "Mood")
    assert check.status == "missing"
    assert "did you mean 'NEGATIVE'?" in check.message
    assert (v.verdict, v.exit_code) == ("fail", 1)
    attack("choices and configs", f"{rule}: {{Negative: 10}} against NEGATIVE", "missing: exit 1")


def test_two_configs_of_one_name_are_both_judged() -> None:
    ex = execution(pf("is_helpful", 70, configs=[("same", 95.0, 10), ("same", 40.0, 10)]))
    v = judge("evals:\n  is_helpful:\n    configs: {same: {min_pass_rate: 80}}\n", ex)
    by_config = {c.config: c for c in v.checks if c.name == "is_helpful"}
    assert {k: (c.observed, c.status) for k, c in by_config.items()} == {
        "same #1": (95.0, "pass"),
        "same #2": (40.0, "fail"),
    }
    assert [c.config_index for c in by_config.values()] == [0, 1]
    assert v.exit_code == 1
    attack("choices and configs", "two configs of one name", "both judged: exit 1")


def test_call_level_scores_stay_with_their_own_eval() -> None:
    """Two evals with a config of one name: each interval is made of its own calls' scores."""
    from gate.verdict import CallsSummary

    def scored(name: str, config_id: str, avg: float, cells: int) -> dict[str, Any]:
        return {
            "name": name,
            "output_type": "score",
            "total_avg": avg,
            "result": [
                {
                    "name": "csat",
                    "id": config_id,
                    "total_cells": cells,
                    "avg_score": avg,
                    "output": {"p10": avg - 5, "p90": avg + 5},
                }
            ],
        }

    ex = execution(
        scored("A", "cfg-a", 90.0, 10),
        scored("B", "cfg-b", 20.0, 510),
        total_calls=600,
        completed_calls=600,
    )
    calls = CallsSummary(
        calls=520,
        by_status=(),
        failed_by_scenario=(),
        failing_examples={},
        scores={"cfg-a": (0.9,) * 5 + (0.89, 0.91) * 2 + (0.9,), "cfg-b": (0.2,) * 510},
    )
    v = evaluate(parse_policy("version: 1\ndefaults: {min_avg_score: 50}\n"), ex, NOW, calls=calls)
    a, b = only(v, "A"), only(v, "B")
    assert a.interval is not None and b.interval is not None
    assert a.interval[0] <= 90.0 <= a.interval[1]  # its own mean lies in its own interval
    assert b.interval[1] < 50
    assert a.config_ids == ("cfg-a",)
    attack("choices and configs", "--calls: a config name shared by two evals", "never pooled")


def test_an_observed_value_always_lies_within_its_interval() -> None:
    """The real server counts a config's cells whose score it cannot average (a string "0.8"):
    its total is 45 while the only config with percentiles, or the call-level scores, say 90."""
    from gate.verdict import CallsSummary

    ex = execution(
        {
            "name": "conversation_resolution",
            "output_type": "score",
            "total_avg": 45.0,
            "result": [
                {"name": "csat_b", "id": "b", "total_cells": 4, "output": {}},
                {
                    "name": "csat_a",
                    "id": "a",
                    "total_cells": 4,
                    "avg_score": 90.0,
                    "output": {"p10": 90.0, "p90": 90.0},
                },
            ],
        }
    )
    policy = parse_policy("version: 1\ndefaults: {min_avg_score: 40}\n")
    calls = CallsSummary(calls=8, by_status=(), failed_by_scenario=(), failing_examples={},
                         scores={"a": (0.9, 0.9, 0.9, 0.9)})  # fmt: skip
    from_api = only(evaluate(policy, ex, NOW), "conversation_resolution")
    assert from_api.interval is None  # no false precision (it was 45-45)
    check = only(evaluate(policy, ex, NOW, calls=calls), "conversation_resolution")
    assert check.interval is not None
    assert check.interval[0] <= 45.0 <= check.interval[1]  # it was 90-90
    assert "do not agree with the server's total 45: the total is judged" in check.message
