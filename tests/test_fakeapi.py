"""The fake behaves like the real server (API-NOTES.md): these are its contract."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import NEWEST, SUPPORT
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi
from tests.fakeapi.server import RUNS_PATH

AUTH = {"X-Api-Key": API_KEY, "X-Secret-Key": SECRET_KEY}


def get(api: FakeApi, params: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    return requests.get(
        api.url + RUNS_PATH,
        params=params,
        headers=AUTH if headers is None else headers,
        timeout=5,
        allow_redirects=False,
    )


def test_auth(fake_api: FakeApi) -> None:
    assert get(fake_api, {"run_test_name": SUPPORT}, headers={}).status_code == 401
    bad = get(fake_api, {"run_test_name": SUPPORT}, headers={**AUTH, "X-Secret-Key": "x"})
    assert bad.status_code == 401
    assert bad.json()["code"] == "authentication_failed"
    bearer = get(
        fake_api, {"run_test_name": SUPPORT}, headers={**AUTH, "Authorization": "Bearer x"}
    )
    assert bearer.status_code == 401  # a bearer token is tried first


def test_unknown_and_blank_parameters(fake_api: FakeApi) -> None:
    r = get(fake_api, {"run_test_name": SUPPORT, "foo": "1"})
    assert r.status_code == 400
    assert (r.json()["message"], r.json()["details"]) == (
        "Validation failed",
        {"foo": ["Unknown field."]},
    )
    blank = get(fake_api, {"run_test_name": ""})
    assert blank.status_code == 400
    assert "non_field_errors" in blank.json()["details"]
    assert get(fake_api, {"execution_id": "not-a-uuid"}).status_code == 400


def test_trailing_slash_is_needed(fake_api: FakeApi) -> None:
    r = requests.get(
        fake_api.url + RUNS_PATH.rstrip("/"), headers=AUTH, timeout=5, allow_redirects=False
    )
    assert r.status_code == 301


def test_listing_is_newest_first_with_pagination(fake_api: FakeApi) -> None:
    first = get(fake_api, {"run_test_name": SUPPORT, "limit": "2"}).json()["result"]
    assert (first["total_pages"], first["current_page"], first["count"]) == (2, 1, 4)
    assert first["results"][0]["execution_id"] == NEWEST
    starts = [r["started_at"] for r in first["results"]]
    assert starts == sorted(starts, reverse=True)
    assert "call_results" not in first["results"][0]
    past = get(fake_api, {"run_test_name": SUPPORT, "limit": "2", "page": "3"})
    assert past.status_code == 500  # not 404, not an empty page
    assert get(fake_api, {"run_test_name": SUPPORT, "page": "0"}).status_code == 500
    assert get(fake_api, {"run_test_name": SUPPORT, "page": "x"}).status_code == 500
    default = get(fake_api, {"run_test_name": SUPPORT, "limit": "0"}).json()["result"]
    assert default["total_pages"] == 1  # limit=0 falls back to 10
    assert get(fake_api, {"run_test_name": "nope"}).json()["message"] == "Run test not found."


def test_detail_summary_only_with_execution_id(fake_api: FakeApi) -> None:
    plain = get(fake_api, {"execution_id": NEWEST}).json()["result"]
    assert "eval_explanation_summary" not in plain
    assert plain["call_results"]["count"] == 40
    full = get(fake_api, {"execution_id": NEWEST, "summary": "true"}).json()["result"]
    assert full["eval_explanation_summary_status"] == "completed"
    listing = get(fake_api, {"run_test_name": SUPPORT, "summary": "true"}).json()["result"]
    assert "eval_explanation_summary" not in listing["results"][0]


def test_precedence_of_ids(fake_api: FakeApi) -> None:
    detail = get(fake_api, {"execution_id": NEWEST}).json()["result"]
    call_id = detail["call_results"]["results"][0]["call_execution_id"]
    r = get(
        fake_api, {"call_execution_id": call_id, "execution_id": NEWEST, "run_test_name": SUPPORT}
    ).json()["result"]
    assert r["call_execution_id"] == call_id
    r2 = get(fake_api, {"execution_id": NEWEST, "run_test_name": "nope"}).json()["result"]
    assert r2["execution_id"] == NEWEST


def test_eval_results_are_computed_from_completed_calls(fake_api: FakeApi) -> None:
    result = get(fake_api, {"execution_id": NEWEST, "limit": "100"}).json()["result"]
    calls = result["call_results"]["results"]
    completed = [c for c in calls if c["status"] == "completed" and c["eval_outputs"]]
    by_name = {e["name"]: e for e in result["eval_results"]}
    helpful = by_name["is_helpful"]
    passes = sum(
        1
        for c in completed
        for o in c["eval_outputs"].values()
        if o["name"] == "helpful_or_no" and o["output"] in ("Passed", True)
    )
    cells = helpful["result"][0]["total_cells"]
    assert cells == len(completed) == 38  # the 2 failed calls do not count
    assert helpful["total_pass_rate"] == round(100 * passes / cells, 2)
    assert by_name["Customer Satisfaction"]["output_type"] == "score"
    assert 0 <= by_name["Customer Satisfaction"]["total_avg"] <= 100
    assert set(by_name["Sentiment"]["total_choices_avg"]) == {"Positive", "Neutral", "Negative"}
    filtered = get(fake_api, {"execution_id": NEWEST, "eval_name": "csat"}).json()["result"]
    assert [e["name"] for e in filtered["eval_results"]] == ["Customer Satisfaction"]


def test_call_pages_are_ordered_by_updated_at(fake_api: FakeApi) -> None:
    pages = []
    for page in (1, 2, 3, 4):
        r = get(fake_api, {"execution_id": NEWEST, "page": str(page), "limit": "10"})
        pages.append(r.json()["result"]["call_results"])
    ids = [c["call_execution_id"] for p in pages for c in p["results"]]
    assert len(ids) == len(set(ids)) == 40
    assert get(fake_api, {"execution_id": NEWEST, "page": "5", "limit": "10"}).status_code == 500
