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
    return Store([support, checkout, empty, nodata, numeric])


def _replay_table() -> list[tuple[str, str, str, dict[str, str], str, Any]]:
    """(capture, method, path, query, keys, body): keys is ok, none, wrong, only, bearer."""
    s = IDS.get("support", {})
    sar = s.get("run_test", "")
    b, c, d = s.get("B_completed_3h"), s.get("C_failed_2h"), s.get("D_pending")
    run_test_id = "59d8bb53-f60e-463a-8978-cbbf9afa67f0"
    unknown = "00000000-0000-4000-8000-000000000000"
    get = "GET"
    return [
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
        ("no_trailing_slash", get, RUNS.rstrip("/"), {"run_test_name": sar}, "ok", None),
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
    real_text = (REAL / f"{name}.json").read_text() if (REAL / f"{name}.json").exists() else ""
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
