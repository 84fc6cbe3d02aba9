"""The fake, held to the real server: the captured requests (../shared/real-responses/), replayed
against `tests/fakeapi` loaded with the same data, answer with the same status codes, envelope,
keys and JSON types (not values).

The data is rebuilt from the captures themselves: the seeded run tests, their eval templates and
configs, execution B's twelve calls (three call pages), and the other executions' counts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fakeapi import FakeApi, Store
from tests.fakeapi.store import Call, EvalConfig, EvalTemplate, Execution, RunTest
from tests.figures import record

# shared/ lies beside the project's checkout, for a session and for CI alike.
REAL = Path(__file__).resolve().parents[2] / "shared" / "real-responses"
IDS = json.loads((REAL / "_seeded_ids.json").read_text()) if REAL.is_dir() else {}
KEY, SECRET = "realapi-api-key", "realapi-secret-key"
RUNS = "/sdk/api/v1/simulation/runs/"
# Objects keyed by data (config names, choices, call ids, field names): one key, `*`.
MAPS = {
    "eval_explanation_summary",
    "output",
    "total_choices_avg",
    "eval_outputs",
    "details",
    "errors",
}


def _load(name: str) -> Any:
    return json.loads((REAL / f"{name}.json").read_text())


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def _calls(items: list[dict[str, Any]], now: datetime) -> list[Call]:
    return [
        Call(
            call_execution_id=c["call_execution_id"],
            scenario_name=c["scenario_name"],
            status=c["status"],
            eval_outputs=c["eval_outputs"] or {},
            updated_at=now - timedelta(seconds=i),
            duration_seconds=c["duration_seconds"],
            scenario_id=c["scenario_id"],
        )
        for i, c in enumerate(items)
    ]


def _copies(calls: list[Call], n: int) -> list[Call]:
    """n calls like `calls` (cycled), each with an id of its own."""
    return [
        Call(
            str(uuid.uuid4()),
            c.scenario_name,
            c.status,
            c.eval_outputs,
            c.updated_at,
            c.duration_seconds,
            c.scenario_id,
        )
        for c in (calls[i % len(calls)] for i in range(n))
    ]


def _execution(item: dict[str, Any], calls: list[Call], created: datetime, **kw: Any) -> Execution:
    return Execution(
        execution_id=item["execution_id"],
        status=item["status"],
        created_at=created,
        started_at=_time(item["started_at"]),
        completed_at=_time(item["completed_at"]),
        calls=calls,
        counts={k: item[k] for k in ("total_calls", "completed_calls", "failed_calls")},
        **kw,
    )


def _templates(eval_results: list[dict[str, Any]]) -> list[EvalTemplate]:
    return [
        EvalTemplate(
            e["id"],
            e["name"],
            e["output_type"],
            [EvalConfig(c["id"], c["name"]) for c in e["result"]],
        )
        for e in eval_results
    ]


def real_store() -> Store:
    now = datetime.now(timezone.utc)
    detail_b = _load("detail_B_summary_l1")["result"]
    templates = _templates(detail_b["eval_results"])
    pages = [
        _load(n)["result"]["call_results"]["results"]
        for n in ("detail_B_l5", "calls_B_p2_l5", "calls_B_p3_l5")
    ]
    b_calls = _calls([c for p in pages for c in p], now)
    done = [c for c in b_calls if c.status == "completed"]
    listing = {r["execution_id"]: r for r in _load("list_default")["result"]["results"]}
    s = IDS["support"]
    c_calls = _calls(_load("detail_C_failed")["result"]["call_results"]["results"], now)
    support = RunTest(
        s["run_test"] and "59d8bb53-f60e-463a-8978-cbbf9afa67f0",
        s["run_test"],
        templates,
        [
            _execution(listing[s["A_completed_26h"]], _copies(done, 6), now - timedelta(hours=27)),
            _execution(
                listing[s["B_completed_3h"]],
                b_calls,
                now - timedelta(hours=4),
                fma=detail_b["eval_explanation_summary"],
                fma_status=detail_b["eval_explanation_summary_status"],
            ),
            _execution(listing[s["C_failed_2h"]], c_calls, now - timedelta(hours=2)),
            _execution(listing[s["D_pending"]], [], now - timedelta(minutes=1)),
        ],
        scenarios=[],
    )
    running = _load("list_checkout_running")["result"]["results"][0]
    pending = [
        Call(str(uuid.uuid4()), "Refund request", "pending", {}, now, None) for _ in range(2)
    ]
    checkout = RunTest(
        str(uuid.uuid4()),
        IDS["checkout"]["run_test"],
        templates,
        [_execution(running, _copies(done, 3) + pending, now - timedelta(minutes=10))],
    )
    empty = RunTest(str(uuid.uuid4()), IDS["empty"]["run_test"], templates, [])
    nodata_item = _load("list_nodata")["result"]["results"][0]
    nodata_call = _calls(_load("detail_nodata")["result"]["call_results"]["results"], now)
    nodata = RunTest(
        str(uuid.uuid4()),
        IDS["nodata"]["run_test"],
        _templates(nodata_item["eval_results"]),
        [_execution(nodata_item, _copies(nodata_call, 4), now - timedelta(hours=1))],
    )
    numeric_template = EvalTemplate(
        str(uuid.uuid4()), "numeric_eval", "numeric", [EvalConfig(str(uuid.uuid4()), "num")]
    )
    numeric_output = {
        numeric_template.configs[0].id: {
            "name": "num",
            "output": 3,
            "output_type": "numeric",
            "reason": "",
        }
    }
    numeric_item = {
        "execution_id": IDS["numeric"]["completed"],
        "status": "completed",
        "started_at": nodata_item["started_at"],
        "completed_at": nodata_item["completed_at"],
        "total_calls": 1,
        "completed_calls": 1,
        "failed_calls": 0,
    }
    numeric = RunTest(
        str(uuid.uuid4()),
        IDS["numeric"]["run_test"],
        [*templates, numeric_template],
        [
            _execution(
                numeric_item, [Call(str(uuid.uuid4()), "x", "completed", numeric_output, now)], now
            )
        ],
    )
    return Store(
        [support, checkout, empty, nodata, numeric, *_more_run_tests(templates, done, now)]
    )


def _clean(calls: list[Call]) -> list[Call]:
    """The calls without their errored eval outputs (only execution B has one)."""
    return [
        replace(c, eval_outputs={k: v for k, v in c.eval_outputs.items() if "error" not in v})
        for c in calls
    ]


# Captures compared on less than their shape, each with its reason.
DELIBERATE = {
    "gzip_detail": "an execution outside the seed data (its own clusters and calls): compared on "
    "the status and on the answer being uncompressed (the server ignores Accept-Encoding)",
    "burst_120": "120 requests in a row, all 200 (no rate limit at that pace): "
    "test_a_burst_is_not_rate_limited",
    "other_org_list": "keys of another organisation: the fake serves one organisation (its "
    "listing by the same name is empty there, as here for an unknown key's workspace)",
    "other_org_detail_B": "keys of another organisation: the fake serves one organisation",
    "search_other_org": "keys of another organisation: the fake serves one organisation",
    "member_removed_403": "a member removed from the workspace: the fake has no members",
    "runtests_get_id_by_name": "an endpoint fi-gate never calls (it skips no deleted run test and "
    "picks one of several)",
    "detail_started_pending": "the detail of an execution the fake started: "
    "test_a_started_execution_answers_like_the_real_one",
    "detail_after_cancel": "the same, after its cancel: "
    "test_a_started_execution_answers_like_the_real_one",
    "cancel_started": "a cancel of a started execution: "
    "test_a_started_execution_answers_like_the_real_one",
    "cancel_again": "the same cancel again: test_a_started_execution_answers_like_the_real_one",
    "cancel_no_body": "a cancel without a body: test_a_started_execution_answers_like_the_real_one",
    "cancel_completed": "a cancel of a completed execution (overwritten to cancelled): "
    "test_a_started_execution_answers_like_the_real_one",
    "cancel_unknown_field": "a cancel with a body: "
    "test_a_started_execution_answers_like_the_real_one",
    "execute_temporal_enabled": "a start while the workflow engine is down (a 400 that leaves a "
    "pending row): test_a_started_execution_answers_like_the_real_one",
}


def _listed(
    name: str,
    listing: str,
    templates: list[EvalTemplate],
    calls: list[Call],
    now: datetime,
    run_test_id: str | None = None,
) -> RunTest:
    """A run test whose executions are a listing capture's items, each with copies of `calls`
    (as many as its total_calls), newest first as the capture lists them."""
    items = _load(listing)["result"]["results"]
    executions = [
        _execution(
            item, _copies(_clean(calls), item["total_calls"]), now - timedelta(minutes=i + 1)
        )
        for i, item in enumerate(items)
    ]
    return RunTest(run_test_id or str(uuid.uuid4()), name, templates, executions)


def _more_run_tests(
    templates: list[EvalTemplate], done: list[Call], now: datetime
) -> list[RunTest]:
    """Paged (13 executions), Cancelled Latest, Dup Name, the unicode name, Two Configs, and
    the startable run tests of the run-test endpoints' captures."""
    two = _load("detail_two_configs")["result"]
    two_calls = _calls(two["call_results"]["results"], now)
    run = IDS["run"]
    startable = _load("search_startable")["results"]
    started = [
        RunTest(
            item["id"],
            item["name"],
            _templates(_load("detail_started_pending")["result"]["eval_results"])
            if item["id"] == run["startable"]
            else [],
            [],
            scenarios=[
                {"id": sc["id"], "name": sc["name"]}
                for sc in sorted(item["scenarios_detail"], key=lambda sc: sc["name"])
            ],
            created_at=now - timedelta(minutes=2 - i),
            agent_name=item["agent_definition_detail"]["agent_name"],
        )
        for i, item in enumerate(reversed(startable))
    ]
    incomplete = RunTest(
        run["incomplete"],
        "Incomplete Scenarios",
        templates,
        [],
        scenarios=[
            {
                "id": str(uuid.uuid4()),
                "name": "Incomplete Scenarios scenario 0",
                "status": "Running",
            }
        ],
    )
    return [
        _listed(IDS["paged"]["run_test"], "list_limit_1000", templates, done, now),
        _listed(IDS["cancelled"]["run_test"], "list_cancelled_latest", templates, done, now),
        _listed(IDS["dup"]["run_test"], "list_dup_name", templates, done, now),
        _listed(IDS["unicode"]["run_test"], "list_unicode_name", templates, done, now),
        RunTest(
            str(uuid.uuid4()),
            IDS["twoconfigs"]["run_test"],
            _templates(two["eval_results"]),
            [_execution(two, _copies(two_calls, two["total_calls"]), now - timedelta(hours=1))],
        ),
        *started,
        incomplete,
        RunTest(run["no_scenarios"], "No Scenarios", templates, []),
    ]


def _replay_table() -> list[tuple[str, str, str, dict[str, str], str, Any]]:
    """(capture, method, path, query, keys, body): keys is ok, none, wrong, only, bearer."""
    s = IDS.get("support", {})
    sar = s.get("run_test", "")
    b, c, d = s.get("B_completed_3h"), s.get("C_failed_2h"), s.get("D_pending")
    run_test_id = "59d8bb53-f60e-463a-8978-cbbf9afa67f0"
    unknown = "00000000-0000-4000-8000-000000000000"
    get = "GET"
    p, paged = IDS.get("paged", {}), IDS.get("paged", {}).get("executions_oldest_first", [""])
    more: list[tuple[str, str, str, dict[str, Any], str, Any]] = [
        ("list_eval_name", get, RUNS,
         {"run_test_name": sar, "limit": "5", "eval_name": "helpful_or_no"}, "ok", None),
        ("list_paged_p1_l5", get, RUNS,
         {"run_test_name": p.get("run_test", ""), "page": "1", "limit": "5"}, "ok", None),
        ("list_paged_p3_l5", get, RUNS,
         {"run_test_name": p.get("run_test", ""), "page": "3", "limit": "5"}, "ok", None),
        ("list_limit_1000", get, RUNS,
         {"run_test_name": p.get("run_test", ""), "page": "1", "limit": "1000"}, "ok", None),
        ("detail_paged_newest_l10", get, RUNS,
         {"execution_id": paged[-1], "limit": "10", "summary": "true"}, "ok", None),
        ("detail_paged_l1000", get, RUNS, {"execution_id": paged[-1], "limit": "1000"}, "ok",
         None),
        ("detail_B_eval_name", get, RUNS,
         {"execution_id": b, "limit": "3", "eval_name": "is_helpful"}, "ok", None),
        ("detail_B_eval_cfg_name", get, RUNS,
         {"execution_id": b, "limit": "3", "eval_name": "sentiment"}, "ok", None),
        ("detail_running", get, RUNS,
         {"execution_id": IDS.get("checkout", {}).get("running"), "limit": "1",
          "summary": "true"}, "ok", None),
        ("call_detail", get, RUNS, {"call_execution_id": (s.get("B_calls") or [""])[0]}, "ok",
         None),
        ("detail_nodata", get, RUNS,
         {"execution_id": IDS.get("nodata", {}).get("completed"), "limit": "1",
          "summary": "true"}, "ok", None),
        ("detail_numeric_eval", get, RUNS,
         {"execution_id": IDS.get("numeric", {}).get("completed"), "limit": "1",
          "summary": "true"}, "ok", None),
        ("list_cancelled_latest", get, RUNS,
         {"run_test_name": "Cancelled Latest", "page": "1", "limit": "5"}, "ok", None),
        ("detail_cancelled", get, RUNS,
         {"execution_id": IDS.get("cancelled", {}).get("cancelled"), "limit": "5",
          "summary": "true"}, "ok", None),
        ("detail_two_configs", get, RUNS,
         {"execution_id": IDS.get("twoconfigs", {}).get("completed"), "limit": "1",
          "summary": "true"}, "ok", None),
        ("list_dup_name", get, RUNS, {"run_test_name": "Dup Name", "page": "1", "limit": "5"},
         "ok", None),
        ("list_unicode_name", get, RUNS,
         {"run_test_name": IDS.get("unicode", {}).get("run_test"), "page": "1", "limit": "5"},
         "ok", None),
        ("auth_disabled_key", get, RUNS, {"run_test_name": sar, "page": "1", "limit": "5"},
         "wrong", None),
        ("ws_header_unknown", get, RUNS, {"run_test_name": sar, "page": "1", "limit": "5"},
         "workspace", None),
        ("head_method", "HEAD", RUNS, {"run_test_name": sar, "page": "1", "limit": "5"}, "ok",
         None),
        ("gzip_detail", get, RUNS, {"execution_id": b, "limit": "1", "summary": "true"}, "gzip",
         None),
    ]  # fmt: skip
    run = IDS.get("run", {})
    startable = f"/simulate/run-tests/{run.get('startable')}/execute/"
    scenario = (run.get("startable_scenarios") or [""])[0]
    runtests = "/simulate/run-tests/"
    more += [
        ("search_startable", get, runtests, {"search": "Startable"}, "ok", None),
        ("search_wrong_case", get, runtests, {"search": "startable bot"}, "ok", None),
        ("search_unknown", get, runtests, {"search": "No Such Run Test"}, "ok", None),
        ("search_dup_two_ws", get, runtests, {"search": "Startable Bot Dup"}, "ok", None),
        ("search_dup_name", get, runtests, {"search": "Dup Name"}, "ok", None),
        ("search_regex_chars", get, runtests, {"search": IDS.get("unicode", {}).get("run_test")},
         "ok", None),
        ("search_page_past", get, runtests, {"search": "Bot", "page": "99"}, "ok", None),
        ("search_limit_2_p2", get, runtests, {"search": "Bot", "limit": "2", "page": "2"}, "ok",
         None),
        ("search_unknown_param", get, runtests, {"search": "Bot", "foo": "1"}, "ok", None),
        ("search_no_auth", get, runtests, {"search": "Bot"}, "none", None),
        ("search_no_slash", get, runtests.rstrip("/"), {"search": "Bot"}, "ok", None),
        ("execute_incomplete", "POST", f"/simulate/run-tests/{run.get('incomplete')}/execute/",
         {}, "ok", {}),
        ("execute_seeded_no_agent", "POST", f"/simulate/run-tests/{run_test_id}/execute/", {},
         "ok", {}),
        ("execute_unknown_uuid", "POST", f"/simulate/run-tests/{unknown}/execute/", {}, "ok", {}),
        ("execute_other_org", "POST", f"/simulate/run-tests/{uuid.uuid4()}/execute/", {}, "ok",
         {}),
        ("execute_no_auth", "POST", startable, {}, "none", {}),
        ("execute_unknown_field", "POST", startable, {}, "ok", {"foo": 1}),
        ("execute_scenario_not_uuid", "POST", startable, {}, "ok",
         {"scenario_ids": ["not-a-uuid"]}),
        ("execute_get", get, startable, {}, "ok", None),
        ("execute_startable", "POST", startable, {}, "ok", {}),
        ("execute_one_scenario", "POST", startable, {}, "ok", {"scenario_ids": [scenario]}),
        ("execute_unknown_scenario", "POST", startable, {}, "ok",
         {"scenario_ids": ["00000000-0000-4000-8000-0000000000aa"]}),
        ("cancel_unknown_uuid", "POST", f"/simulate/test-executions/{unknown}/cancel/", {}, "ok",
         {}),
        ("cancel_other_org", "POST", f"/simulate/test-executions/{uuid.uuid4()}/cancel/", {},
         "ok", {}),
        ("cancel_get", get, f"/simulate/test-executions/{unknown}/cancel/", {}, "ok", None),
    ]  # fmt: skip
    return [
        *more,
        ("list_default", get, RUNS, {"run_test_name": sar}, "ok", None),
        ("list_p1_l5", get, RUNS, {"run_test_name": sar, "page": "1", "limit": "5"}, "ok", None),
        ("list_p2_l2", get, RUNS, {"run_test_name": sar, "page": "2", "limit": "2"}, "ok", None),
        (
            "list_past_last_page",
            get,
            RUNS,
            {"run_test_name": sar, "page": "99", "limit": "5"},
            "ok",
            None,
        ),
        ("list_page_0", get, RUNS, {"run_test_name": sar, "page": "0", "limit": "5"}, "ok", None),
        (
            "list_page_last",
            get,
            RUNS,
            {"run_test_name": sar, "page": "last", "limit": "5"},
            "ok",
            None,
        ),
        ("list_limit_0", get, RUNS, {"run_test_name": sar, "limit": "0"}, "ok", None),
        ("list_limit_neg", get, RUNS, {"run_test_name": sar, "limit": "-1"}, "ok", None),
        (
            "list_unknown_run_test",
            get,
            RUNS,
            {"run_test_name": "No Such Test", "page": "1", "limit": "5"},
            "ok",
            None,
        ),
        (
            "list_case_mismatch",
            get,
            RUNS,
            {"run_test_name": sar.lower(), "page": "1", "limit": "5"},
            "ok",
            None,
        ),
        (
            "list_empty_run_test",
            get,
            RUNS,
            {"run_test_name": "Empty Run Test", "page": "1", "limit": "5"},
            "ok",
            None,
        ),
        (
            "list_checkout_running",
            get,
            RUNS,
            {"run_test_name": "Checkout Bot", "page": "1", "limit": "5"},
            "ok",
            None,
        ),
        (
            "detail_B_summary_l1",
            get,
            RUNS,
            {"execution_id": b, "limit": "1", "summary": "true"},
            "ok",
            None,
        ),
        ("detail_B_nosummary", get, RUNS, {"execution_id": b, "limit": "10"}, "ok", None),
        (
            "detail_B_l5",
            get,
            RUNS,
            {"execution_id": b, "limit": "5", "summary": "true"},
            "ok",
            None,
        ),
        ("calls_B_p2_l5", get, RUNS, {"execution_id": b, "page": "2", "limit": "5"}, "ok", None),
        ("calls_B_p3_l5", get, RUNS, {"execution_id": b, "page": "3", "limit": "5"}, "ok", None),
        (
            "calls_B_p4_l5_past",
            get,
            RUNS,
            {"execution_id": b, "page": "4", "limit": "5"},
            "ok",
            None,
        ),
        (
            "detail_C_failed",
            get,
            RUNS,
            {"execution_id": c, "limit": "5", "summary": "true"},
            "ok",
            None,
        ),
        (
            "detail_D_pending",
            get,
            RUNS,
            {"execution_id": d, "limit": "5", "summary": "true"},
            "ok",
            None,
        ),
        (
            "detail_summary_yes",
            get,
            RUNS,
            {"execution_id": b, "limit": "1", "summary": "yes"},
            "ok",
            None,
        ),
        (
            "detail_summary_bogus",
            get,
            RUNS,
            {"execution_id": b, "limit": "1", "summary": "maybe"},
            "ok",
            None,
        ),
        ("detail_unknown_uuid", get, RUNS, {"execution_id": unknown, "limit": "1"}, "ok", None),
        ("detail_not_uuid", get, RUNS, {"execution_id": "not-a-uuid", "limit": "1"}, "ok", None),
        ("no_params", get, RUNS, {}, "ok", None),
        ("unknown_param", get, RUNS, {"run_test_name": sar, "foo": "1"}, "ok", None),
        (
            "both_name_and_id",
            get,
            RUNS,
            {"run_test_name": "No Such Test", "execution_id": b, "limit": "1"},
            "ok",
            None,
        ),
        ("auth_none", get, RUNS, {"run_test_name": sar, "page": "1", "limit": "5"}, "none", None),
        (
            "auth_wrong_secret",
            get,
            RUNS,
            {"run_test_name": sar, "page": "1", "limit": "5"},
            "wrong",
            None,
        ),
        (
            "auth_only_api_key",
            get,
            RUNS,
            {"run_test_name": sar, "page": "1", "limit": "5"},
            "only",
            None,
        ),
        (
            "auth_bearer_garbage",
            get,
            RUNS,
            {"run_test_name": sar, "page": "1", "limit": "5"},
            "bearer",
            None,
        ),
        (
            "list_nodata",
            get,
            RUNS,
            {"run_test_name": "No Data Evals", "page": "1", "limit": "5"},
            "ok",
            None,
        ),
        (
            "list_numeric_eval",
            get,
            RUNS,
            {"run_test_name": "Numeric Eval Test", "page": "1", "limit": "5"},
            "ok",
            None,
        ),
        (
            "no_trailing_slash",
            get,
            RUNS.rstrip("/"),
            {"run_test_name": sar, "page": "1", "limit": "5"},
            "ok",
            None,
        ),
        ("post_method", "POST", RUNS, {"run_test_name": sar}, "ok", None),
        (
            "runtests_search_support",
            get,
            "/simulate/run-tests/",
            {"search": "Support", "limit": "5"},
            "ok",
            None,
        ),
        (
            "runtests_search_lower",
            get,
            "/simulate/run-tests/",
            {"search": "support agent", "limit": "5"},
            "ok",
            None,
        ),
        (
            "runtests_unknown_param",
            get,
            "/simulate/run-tests/",
            {"search": "Support", "bogus": "1"},
            "ok",
            None,
        ),
        (
            "execute_no_scenarios",
            "POST",
            f"/simulate/run-tests/{run_test_id}/execute/",
            {},
            "ok",
            {},
        ),
        (
            "execute_unknown_field",
            "POST",
            f"/simulate/run-tests/{run_test_id}/execute/",
            {},
            "ok",
            {"bogus": 1},
        ),
        (
            "execute_unknown_run_test",
            "POST",
            f"/simulate/run-tests/{unknown}/execute/",
            {},
            "ok",
            {},
        ),
        (
            "cancel_unknown_execution",
            "POST",
            f"/simulate/test-executions/{unknown}/cancel/",
            {},
            "ok",
            {},
        ),
    ]


def shape(
    value: Any, path: str = "$", out: dict[str, set[str]] | None = None
) -> dict[str, set[str]]:
    """Every path of a JSON document with the JSON types seen there (int and float are one)."""
    out = {} if out is None else out
    kind = {bool: "boolean", int: "number", float: "number", str: "string", type(None): "null"}
    if isinstance(value, dict):
        out.setdefault(path, set()).add("object")
        is_map = path.rsplit(".", 1)[-1].rstrip("[]") in MAPS
        for k, v in value.items():
            shape(v, f"{path}.{'*' if is_map else k}", out)
    elif isinstance(value, list):
        out.setdefault(path, set()).add("array")
        for v in value:
            shape(v, f"{path}[]", out)
    else:
        out.setdefault(path, set()).add(kind[type(value)])
    return out


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeApi]:
    with FakeApi(real_store(), api_key=KEY, secret_key=SECRET) as api:
        yield api


def _headers(keys: str) -> dict[str, str]:
    return {
        "ok": {"X-Api-Key": KEY, "X-Secret-Key": SECRET},
        "none": {},
        "wrong": {"X-Api-Key": KEY, "X-Secret-Key": "wrong"},
        "only": {"X-Api-Key": KEY},
        "bearer": {"X-Api-Key": KEY, "X-Secret-Key": SECRET, "Authorization": "Bearer garbage"},
        "workspace": {
            "X-Api-Key": KEY,
            "X-Secret-Key": SECRET,
            "X-Workspace-Id": str(uuid.uuid4()),
        },
        "gzip": {"X-Api-Key": KEY, "X-Secret-Key": SECRET, "Accept-Encoding": "gzip"},
    }[keys]


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-responses is not beside the project")
@pytest.mark.parametrize("case", _replay_table() if REAL.is_dir() else [], ids=lambda c: c[0])
def test_the_fake_answers_like_the_real_server(
    fake: FakeApi, case: tuple[str, str, str, dict[str, str], str, Any]
) -> None:
    name, method, path, query, keys, body = case
    answer = requests.request(
        method,
        fake.url + path,
        params=query,
        headers=_headers(keys),
        json=body,
        timeout=10,
        allow_redirects=False,
    )
    real_status = int((REAL / f"{name}.headers").read_text().split()[1])
    assert answer.status_code == real_status, (name, answer.text[:300])
    assert "Content-Encoding" not in answer.headers  # the server never compresses
    if method == "HEAD":
        assert answer.content == b"" and answer.headers["Content-Type"] == "application/json"
        record("fidelity", name, f"HTTP {real_status}; no body")
        return
    capture = REAL / f"{name}.json"
    if not capture.exists():
        capture = REAL / f"{name}.bin"
    real_text = capture.read_text() if capture.exists() else ""
    if name in DELIBERATE:
        record("fidelity", name, f"HTTP {real_status}; {DELIBERATE[name].split(':')[0]}")
        return
    if real_status == 301:
        location = (REAL / f"{name}.headers").read_text().lower().split("location: ")[1].split()[0]
        assert answer.headers["Location"].lower() == location, name
    if not real_text.strip():
        assert not answer.content.strip() or answer.status_code == 301, name
        return
    real, mine = shape(json.loads(real_text)), shape(answer.json())
    assert set(mine) == set(real), (name, sorted(set(mine) ^ set(real)))
    for p, kinds in real.items():
        assert mine[p] <= kinds, (name, p, mine[p], kinds)  # the fake's data may vary less
    if real_status == 401:
        assert answer.headers.get("WWW-Authenticate") == "ApiKey"
    record(
        "fidelity",
        name,
        f"HTTP {real_status}; same envelope, keys and JSON types as the real server",
    )


def _captures() -> set[str]:
    return {p.stem for p in REAL.glob("*.headers")} | {
        p.stem for p in REAL.glob("*.txt") if not p.stem.startswith("_")
    }


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-responses is not beside the project")
def test_every_capture_is_replayed_or_listed_with_its_reason() -> None:
    """A new capture fails this test until the fake is held to it, or it is listed in
    DELIBERATE with the reason it is compared on less than its shape."""
    replayed = {case[0] for case in _replay_table()}
    missing = sorted(_captures() - replayed - set(DELIBERATE))
    assert missing == [], f"captures neither replayed nor listed as deliberate: {missing}"
    stale = sorted((set(DELIBERATE) | replayed) - _captures())
    assert stale == [], f"listed but not captured: {stale}"
    assert all(len(reason) > 20 for reason in DELIBERATE.values())


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-responses is not beside the project")
def test_a_burst_is_not_rate_limited(fake: FakeApi) -> None:
    expected = (REAL / "burst_120.txt").read_text().split()
    with requests.Session() as session:
        statuses = [
            session.get(
                fake.url + RUNS,
                params={"run_test_name": IDS["support"]["run_test"], "page": "1", "limit": "5"},
                headers=_headers("ok"),
                timeout=10,
            ).status_code
            for _ in range(int(expected[0]))
        ]
    assert statuses == [int(expected[1])] * int(expected[0])
    record("fidelity", "burst_120", "120 requests in a row, all HTTP 200, as the real server")


def executed(fake: FakeApi, execution_id: str) -> Execution:
    found = fake.store.execution(execution_id)
    assert found is not None
    return found[1]


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-responses is not beside the project")
def test_a_started_execution_answers_like_the_real_one(fake: FakeApi) -> None:
    """execute, then its detail (pending, no calls), cancel, cancel again, the detail after;
    a cancel without a body, with a field, and of a completed execution (which the real
    server overwrites to cancelled)."""
    run = IDS["run"]
    execute = f"{fake.url}/simulate/run-tests/{run['startable']}/execute/"

    def cancel(execution_id: str, body: Any = None) -> requests.Response:
        return requests.post(
            f"{fake.url}/simulate/test-executions/{execution_id}/cancel/",
            headers=_headers("ok"),
            json=body,
            timeout=10,
        )

    def same(name: str, answer: requests.Response) -> None:
        real_status = int((REAL / f"{name}.headers").read_text().split()[1])
        assert answer.status_code == real_status, (name, answer.text[:300])
        real, mine = shape(_load(name)), shape(answer.json())
        assert set(mine) == set(real), (name, sorted(set(mine) ^ set(real)))
        for p, kinds in real.items():
            assert mine[p] <= kinds, (name, p, mine[p], kinds)
        record("fidelity", name, f"HTTP {real_status}; same envelope, keys and JSON types")

    started = requests.post(execute, headers=_headers("ok"), json={}, timeout=10).json()
    execution_id = started["execution_id"]
    executed(fake, execution_id).timeline = None  # no worker: it stays pending
    detail = {"execution_id": execution_id, "limit": "1", "summary": "true"}

    def get_detail() -> requests.Response:
        return requests.get(fake.url + RUNS, params=detail, headers=_headers("ok"), timeout=10)

    same("detail_started_pending", get_detail())
    same("cancel_started", cancel(execution_id))
    same("cancel_again", cancel(execution_id))
    fake.store_advance()
    same("detail_after_cancel", get_detail())
    assert get_detail().json()["result"]["status"] == "cancelled"
    other = requests.post(execute, headers=_headers("ok"), json={}, timeout=10).json()
    same("cancel_unknown_field", cancel(other["execution_id"], {"foo": 1}))
    same("cancel_no_body", cancel(other["execution_id"]))
    done = requests.post(execute, headers=_headers("ok"), json={}, timeout=10).json()
    finished = executed(fake, done["execution_id"])
    finished.timeline, finished.status = None, "completed"
    same("cancel_completed", cancel(done["execution_id"]))
    assert executed(fake, done["execution_id"]).status == "cancelled"
    fake.executor_down = True
    try:
        before = len(fake.started)
        same("execute_temporal_enabled", requests.post(execute, headers=_headers("ok"), json={},
                                                       timeout=10))  # fmt: skip
        assert len(fake.started) == before + 1  # the row is left behind, pending
    finally:
        fake.executor_down = False
