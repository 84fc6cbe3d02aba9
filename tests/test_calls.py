"""--calls: every call page read concurrently, in bounded memory, counted once."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.calls import (
    Call,
    CallDigest,
    EvalOutput,
    PageHeader,
)
from gate.errors import ApiError
from gate.pages import PagePlan
from gate.verdict import CallExample, CallsSummary
from tests.conftest import ROOT, Result, run, write_policy
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, Fault, Store, build_run_test
from tests.figures import attack, record

POLICY = "version: 1\nevals:\n  is_helpful: {min_pass_rate: 90}\n"


def big_store(calls: int) -> Store:
    return Store(
        [
            build_run_test(
                {
                    "name": "Big",
                    "evals": [
                        {"name": "is_helpful", "configs": [{"name": "helpful"}]},
                        {"name": "CSAT", "output_type": "score", "configs": [{"name": "csat"}]},
                    ],
                    "executions": [
                        {
                            "execution_id": "6f1c2a8e-3b7d-4e59-9a41-2c8d5e7f9b10",
                            "status": "completed",
                            "started_at": "2026-11-28T08:00:00Z",
                            "generate": {
                                "calls": calls,
                                "failed": 7,
                                "scenarios": ["Refund", "Upgrade", "Angry caller"],
                                "rates": {"helpful": 80, "csat": 70},
                            },
                        }
                    ],
                }
            )
        ]
    )


def run_calls(
    api: FakeApi, tmp_path: Path, *extra: str, env: dict[str, str] | None = None
) -> Result:
    """`fi-gate check --calls` on the fake's run test "Big"."""
    policy = write_policy(tmp_path, POLICY)
    return run(
        ["check", "--policy", policy, "--run-test", "Big", "--calls", *extra],
        env={
            "FI_BASE_URL": api.url,
            "FI_API_KEY": API_KEY,
            "FI_SECRET_KEY": SECRET_KEY,
            **(env or {}),
        },
    )


def check(api: FakeApi, tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> Any:
    """The JSON report of a `check --calls` that fails (the store's evals are below 80 %)."""
    report = tmp_path / "r.json"
    summary = tmp_path / "s.md"
    outputs = ("--report", str(report), "--summary", str(summary))
    result = run_calls(api, tmp_path, *outputs, *extra, env=env)
    assert result.code == 1, result.err
    return json.loads(report.read_text())


@pytest.mark.parametrize(("calls", "page_size", "workers"), [(2500, 1000, 4), (730, 100, 3)])
def test_every_page_read_once_with_bounded_concurrency(
    tmp_path: Path, calls: int, page_size: int, workers: int
) -> None:
    with FakeApi(big_store(calls), latency=0.02) as api:
        report = check(
            api, tmp_path, "--workers", str(workers), env={"FI_GATE_CALL_PAGE_SIZE": str(page_size)}
        )
        pages = math.ceil(calls / page_size)
        assert len(api.runs_requests) == 1 + pages  # list; detail with page 1; other pages
        asked = sorted(int(s.query.get("page", "1")) for s in api.runs_requests[1:])
        assert asked == list(range(1, pages + 1))
        assert api.max_in_flight <= workers
    c = report["calls"]
    assert c["read"] == calls
    assert c["by_status"] == {"completed": calls - 7, "failed": 7}
    assert sum(s["calls"] for s in c["failed_by_scenario"]) == 7
    assert len(c["failing_examples"]["helpful"]) == 3
    summary = (tmp_path / "s.md").read_text()
    assert "### Failing calls" in summary
    assert "**Failed calls by scenario:**" in summary


def test_compressed_and_chunked_answers_read_like_plain_ones(tmp_path: Path) -> None:
    """A plain body of known length is read in one call; compressed and chunked bodies go
    through the counted path. Both give the same report."""
    env = {"FI_GATE_CALL_PAGE_SIZE": "1000"}
    with FakeApi(big_store(2500)) as api:
        plain = check(api, tmp_path, env=env)
        api.fail(
            Fault(mode="gzip", match=lambda q: "execution_id" in q and "page" not in q),
            Fault(mode="chunked", match=lambda q: q.get("page") == "2"),
            Fault(mode="gzip", match=lambda q: q.get("page") == "3"),
        )
        encoded = check(api, tmp_path, env=env)
        assert not api.faults  # every encoded answer was served
    assert encoded["calls"] == plain["calls"]
    assert plain["calls"]["read"] == 2500


def test_without_calls_no_call_page_is_read(tmp_path: Path) -> None:
    with FakeApi(big_store(3000)) as api:
        policy = write_policy(tmp_path, POLICY)
        result = run(
            ["check", "--policy", policy, "--run-test", "Big", "--format", "json"],
            env={"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY},
        )
        assert len(api.runs_requests) == 2
        assert api.runs_requests[1].query["limit"] == "1"
    assert json.loads(result.out)["calls"] is None


def test_shifting_pages_are_counted_once(tmp_path: Path) -> None:
    """While an execution runs, calls move between pages (ordered by -updated_at)."""
    store = big_store(300)
    ex = store.run_tests[0].executions[0]
    with FakeApi(store) as api:

        def shift(query: dict[str, str]) -> bool:
            if query.get("page") == "2":  # before page 2: the 50 oldest calls were just updated
                for call in sorted(ex.calls, key=lambda c: c.updated_at)[:50]:
                    call.updated_at += timedelta(days=1)
                api._cache.clear()
            return False

        api.fail(Fault(match=shift))
        report = check(api, tmp_path, "--workers", "1", env={"FI_GATE_CALL_PAGE_SIZE": "100"})
    c = report["calls"]
    assert c["duplicates_skipped"] > 0
    assert c["read"] + c["duplicates_skipped"] == 300
    assert c["read"] < 300  # the shifted calls that moved up were missed, never double-counted


def test_a_429_while_reading_pages_pauses_and_recovers(tmp_path: Path) -> None:
    with FakeApi(big_store(2500)) as api:
        api.fail(
            Fault(status=429, headers={"Retry-After": "1"}, match=lambda q: q.get("page") == "2")
        )
        report = check(api, tmp_path, env={"FI_GATE_CALL_PAGE_SIZE": "1000"})
        assert not api.faults  # page 2 was answered 429 once, then read
    assert report["calls"]["read"] == 2500


@pytest.mark.slow  # bounded by its deadline or backoff: seconds of waiting
def test_a_later_page_that_keeps_failing_stops_the_gate_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gate.transport.BACKOFF_BASE", 0.5)  # the deadline ends it, not attempts
    with FakeApi(big_store(2500)) as api:
        api.fail(*[Fault(status=503, match=lambda q: q.get("page") == "3")] * 10)
        result = run_calls(api, tmp_path, "--timeout", "3", env={"FI_GATE_CALL_PAGE_SIZE": "1000"})
    assert result.code == 3, result.err
    *retries, error = result.err.strip().splitlines()
    assert all("retrying in" in line for line in retries)  # each retry is said, then given up
    assert error.startswith("fi-gate: error: HTTP 503")
    assert "page 3 of the calls of execution" in error and "deadline" in error


@pytest.mark.parametrize(
    "stuck",
    [
        Fault(mode="hang", delay=30, match=lambda q: q.get("page") == "3"),
        Fault(status=429, headers={"Retry-After": "30"}, match=lambda q: q.get("page") == "3"),
    ],
    ids=["a page that never answers", "a page told to retry in 30 s"],
)
def test_a_failed_page_ends_the_run_without_waiting_for_the_others(
    tmp_path: Path, stuck: Fault
) -> None:
    """Page 2 fails while page 3 is stuck: the error comes at once (the stuck read is cut off,
    the backoff cut short), and the cut-off reader says nothing after it."""
    with FakeApi(big_store(2500), latency=0.2) as api:  # page 3 is asked for before 2 answers
        api.fail(stuck, Fault(status=404, match=lambda q: q.get("page") == "2"))
        start = time.monotonic()
        result = run_calls(api, tmp_path, "--timeout", "60", env={"FI_GATE_CALL_PAGE_SIZE": "1000"})
        took = time.monotonic() - start
        # Page 3 was asked for, and is stuck: its answer (the fault) cannot come before the
        # latency has passed, which is also when page 2's 404 comes. (Whether the fake has
        # taken the fault yet, when the run is over, is a race: not asserted.)
        assert any(s.query.get("page") == "3" for s in api.runs_requests)
    assert result.code == 2, result.err
    *before, error = result.err.strip().splitlines()
    assert error.startswith("fi-gate: error: 404") and "page 2 of the calls" in error
    # A 429 that came before the 404 is said (it was news then); nothing after the error.
    assert all("page 3" in line and "retrying in 30.0s" in line for line in before), before
    assert len(before) <= 1, before
    assert took < 10, took  # the stuck page would hold it 30 s
    how = "is told to retry in 30 s" if stuck.mode == "status" else "never answers"
    record(
        "faults",
        f"a call page fails while another {how}",
        "the error at once (exit 2 for a 404); the stuck read is cut off, quietly",
    )


def test_digest_merges_by_call_id_and_keeps_little() -> None:
    digest = CallDigest()
    page = [
        {
            "call_execution_id": f"c{i}",
            "status": "completed",
            "scenario_name": "S",
            "eval_outputs": {
                "x": {
                    "name": "helpful",
                    "output": "Failed",
                    "output_type": "Pass/Fail",
                    "reason": "r" * 1000,
                }
            },
        }
        for i in range(10)
    ]
    calls = msgspec.json.decode(json.dumps(page), type=list[Call])
    digest.add(calls)
    digest.add(calls[:4])
    s = digest.summary()
    assert (s.calls, s.duplicates) == (10, 4)
    assert len(s.failing_examples["x"]) == 3  # by config id
    assert len(s.failing_examples["x"][0].reason) == 300
    assert s.config_names == {"x": "helpful"}


def test_version_and_validate_do_not_import_what_they_do_not_use() -> None:
    code = (
        "import sys\n"
        "from gate.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "heavy = {'requests', 'jsonschema', 'yaml', 'gate.transport', 'gate.render.markdown'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
        f"main(['validate', {str(ROOT / 'policies' / 'starter.yml')!r}])\n"
        "print(sorted({'requests', 'gate.transport', 'gate.render.markdown'} & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "fi-gate 0.1.0"  # --version printed, then what it imported
    assert lines[1] == "[]"
    assert lines[2].endswith("starter.yml: ok (version 1, 0 eval rules)")
    assert lines[3] == "[]"


@pytest.mark.parametrize("bad_id", ["<b>x</b>", "a\nb", "x" * 101, ""])
def test_a_call_id_that_is_not_an_id_stops_the_gate(tmp_path: Path, bad_id: str) -> None:
    page = {
        "status": True,
        "result": {
            "call_results": {
                "total_pages": 3,
                "current_page": 2,
                "results": [
                    {"call_execution_id": "fine-1", "status": "completed"},
                    {"call_execution_id": bad_id, "status": "completed"},
                ],
            }
        },
    }
    with FakeApi(big_store(2500)) as api:
        api.fail(Fault(status=200, body=page, match=lambda q: q.get("page") == "2"))
        result = run_calls(api, tmp_path, env={"FI_GATE_CALL_PAGE_SIZE": "1000"})
    assert result.code == 3, result.err
    assert "page 2 of the calls of execution" in result.err
    assert "call_execution_id" in result.err
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1  # one line, even for an id with a newline


# Values of every JSON type, for fields of call objects.
_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(0, 1),
    st.sampled_from(["completed", "Passed", "c-1", "<b>", "a b", "a\nb", "x" * 101, ""]),
    st.just([1, "a"]),
    st.just({"k": 1}),
)
_VALID_OUTPUT = {"name": "helpful", "output": "Failed", "output_type": "Pass/Fail", "reason": "r"}
_VALID_CALL = {
    "call_execution_id": "c-1",
    "scenario_id": "s-1",
    "scenario_name": "Refund",
    "status": "completed",
    "duration_seconds": 12.5,
    "eval_outputs": {"a": _VALID_OUTPUT},
}


@st.composite
def _calls(draw: st.DrawFn) -> Any:
    """A valid call with a few of its fields (or its eval output's) replaced or removed."""
    if draw(st.integers(0, 20)) == 0:
        return draw(_ANY)
    call: dict[str, Any] = json.loads(json.dumps(_VALID_CALL))
    output = call["eval_outputs"]["a"]
    for target in draw(st.lists(st.sampled_from([call, output]), max_size=3)):
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.booleans()):
            target[key] = draw(_ANY)
        else:
            del target[key]
    return call


@settings(max_examples=600, derandomize=True, deadline=None)
@given(_calls())
def test_typed_call_decoding_accepts_exactly_what_the_schema_accepts(call: Any) -> None:
    schemas = json.loads((ROOT / "gate" / "schemas" / "api-responses.schema.json").read_text())
    schema = {"$ref": "#/$defs/call", "$defs": schemas["$defs"]}
    by_schema = jsonschema.Draft202012Validator(schema).is_valid(call)
    try:
        CallDigest().add(msgspec.json.decode(json.dumps([call]), type=list[Call]))
        by_decoder = True
    except (msgspec.ValidationError, ApiError):
        by_decoder = False
    assert by_decoder == by_schema


@pytest.mark.parametrize("calls", [0, 100, 10_000, 20_000, 90_000])
def test_every_page_holds_10000_calls_and_none_is_past_the_end(calls: int) -> None:
    from gate.pages import CALL_PAGE_SIZE, plan_pages

    plan = plan_pages()
    assert (plan.first, plan.rest) == (CALL_PAGE_SIZE, CALL_PAGE_SIZE) == (10_000, 10_000)
    later = plan.later_pages_of(calls)
    assert all((page - 1) * limit < calls for page, limit in later)  # none past the end
    assert max([page * limit for page, limit in later], default=plan.first) >= calls  # all read
    assert plan_pages(fixed=700) == PagePlan(700, 700)


def test_later_pages_start_where_page_1_ends() -> None:
    plan = PagePlan(6000, 2000)
    assert list(plan.later_pages(PageHeader(2, 1, 11_000))) == [(4, 2000), (5, 2000), (6, 2000)]
    assert list(plan.later_pages(PageHeader(1, 1, 6000))) == []
    assert list(plan.later_pages(PageHeader(1, 1, 0))) == []


@pytest.mark.parametrize(
    "header",
    [PageHeader(3, 1, None), PageHeader(3, 1, 11_000)],  # no count; a count that disagrees
    ids=["no count", "count disagrees with total_pages"],
)
def test_later_pages_without_a_usable_count_keep_page_1s_size(header: PageHeader) -> None:
    assert list(PagePlan(6000, 2000).later_pages(header)) == [(2, 6000), (3, 6000)]


@pytest.mark.slow  # large inputs: seconds of work, kept out of the inner loop
def test_pages_of_10000_calls_and_the_later_ones_read_at_once(tmp_path: Path) -> None:
    later_pages = (2, lambda q: q.get("page") in ("2", "3"))  # both held until both are here
    with FakeApi(big_store(25_000), together=later_pages) as api:
        report = check(api, tmp_path, "--workers", "4")
        detail, *later = api.runs_requests[1:]
        assert detail.query["limit"] == "10000"  # page 1 comes with the execution
        assert sorted((s.query["page"], s.query["limit"]) for s in later) == [
            ("2", "10000"),
            ("3", "10000"),
        ]
        assert api.max_in_flight == 2  # both later pages in flight at once
    assert report["calls"]["read"] == 25_000


# --- the digest against a plain, one-call-at-a-time count ----------------------------------------

_outputs = st.one_of(
    st.none(),
    st.builds(
        EvalOutput,
        name=st.sampled_from([None, "", "helpful", "csat", "x" * 250]),
        output=st.sampled_from([None, True, False, "Passed", "Failed", 0, 1, 0.5, "Positive"]),
        output_type=st.sampled_from([None, "Pass/Fail", "score", "choices"]),
        reason=st.sampled_from([msgspec.Raw(b'"why"'), msgspec.Raw(b"null"), msgspec.Raw(b"3")]),
    ),
)
_digest_calls = st.builds(
    Call,
    call_execution_id=st.sampled_from([f"call-{i}" for i in range(12)]),  # repeats: duplicates
    status=st.sampled_from([None, "", "completed", "completed", "failed", "running", "s" * 60]),
    scenario_name=st.sampled_from([None, "Billing", "Refund", "r" * 150]),
    scenario_id=st.sampled_from([None, "s-1", "s-2", "s" * 150]),
    eval_outputs=st.one_of(st.none(), st.dictionaries(st.sampled_from("abcde"), _outputs)),
)


def _reference(pages: list[list[Call]]) -> CallsSummary:
    """What the digest must equal: every call looked at once, in order, the plain way."""
    seen: set[str] = set()
    duplicates = 0
    status: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    examples: dict[str, list[CallExample]] = {}
    scores: dict[str, list[float]] = {}
    names: dict[str, str] = {}
    tally: dict[str, dict[str, tuple[int, int]]] = {}
    scenario_names: dict[str, str] = {}
    for page in pages:
        for call in page:
            if call.call_execution_id in seen:
                duplicates += 1
                continue
            seen.add(call.call_execution_id)
            state = (call.status or "unknown")[:40]
            status[state] += 1
            scenario = (call.scenario_name or "(no scenario)")[:120]
            if state == "failed":
                failed[scenario] += 1
            if state != "completed" or not call.eval_outputs:
                continue
            for key, value in call.eval_outputs.items():
                if value is None:
                    continue
                name = key[:100]  # by config id: same-named configs are never pooled
                if value.name:
                    names[name] = min(names.get(name, value.name[:200]), value.name[:200])
                failing = value.output is False or value.output == "Failed"
                if value.output_type == "Pass/Fail" and value.output is not None:
                    sid = (call.scenario_id or "")[:100]
                    shown = (call.scenario_name or "")[:120]
                    scenario_names[sid] = min(scenario_names.get(sid, shown), shown)
                    passed, n = tally.setdefault(name, {}).get(sid, (0, 0))
                    passing = value.output is True or value.output == "Passed"
                    tally[name][sid] = (passed + passing, n + 1)
                if value.output_type == "Pass/Fail" and failing:
                    bucket = examples.setdefault(name, [])
                    if len(bucket) < 3:
                        reason = msgspec.json.decode(value.reason)
                        text = reason if isinstance(reason, str) else ""
                        bucket.append(CallExample(call.call_execution_id, scenario, text))
                elif value.output_type == "score" and type(value.output) in (int, float):
                    scores.setdefault(name, []).append(float(value.output))
    return CallsSummary(
        calls=len(seen),
        by_status=tuple(sorted(status.items())),
        failed_by_scenario=tuple(sorted(failed.items(), key=lambda kv: (-kv[1], kv[0]))[:10]),
        failing_examples={k: tuple(examples[k]) for k in sorted(examples)},
        scores={k: tuple(scores[k]) for k in sorted(scores)},
        duplicates=duplicates,
        config_names=dict(sorted(names.items())),
        by_scenario={k: dict(sorted(v.items())) for k, v in sorted(tally.items())},
        scenario_names=dict(sorted(scenario_names.items())),
    )


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.lists(st.lists(_digest_calls, max_size=8), max_size=4))
def test_the_digest_counts_like_a_plain_loop(pages: list[list[Call]]) -> None:
    digest = CallDigest()
    for number, page in enumerate(pages, 1):
        digest.add(page, page=number)
    assert digest.summary() == _reference(pages)


# Mostly completed calls failing a Pass/Fail eval: buckets of examples fill up.
_failing_calls = st.builds(
    Call,
    call_execution_id=st.sampled_from([f"call-{i}" for i in range(12)]),
    status=st.sampled_from(["completed", "completed", "completed", "failed"]),
    scenario_name=st.sampled_from(["Billing", "Refund", "Upgrade"]),
    eval_outputs=st.dictionaries(
        st.sampled_from("ab"),
        st.builds(
            EvalOutput,
            name=st.sampled_from(["helpful", "tone"]),
            output=st.sampled_from([False, "Failed", "Passed"]),
            output_type=st.just("Pass/Fail"),
            reason=st.sampled_from([msgspec.Raw(b'"one"'), msgspec.Raw(b'"two"')]),
        ),
    ),
)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    st.lists(st.lists(st.one_of(_digest_calls, _failing_calls), max_size=8), max_size=5),
    st.randoms(),
)
def test_the_examples_do_not_depend_on_the_order_pages_arrive_in(
    pages: list[list[Call]], rng: random.Random
) -> None:
    """Pages are digested as they arrive; the report must not change with that order. (For
    pages without shared calls: when calls move between pages, which copy counts does.)"""
    pages = [
        [msgspec.structs.replace(c, call_execution_id=f"p{n}-{c.call_execution_id}") for c in page]
        for n, page in enumerate(pages)
    ]
    arrival = list(enumerate(pages, 1))
    rng.shuffle(arrival)
    digest = CallDigest()
    for number, page in arrival:
        digest.add(page, page=number)
    assert digest.summary() == _reference(pages)


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({}, "read 2,500 call(s) in one page (of up to 10,000) in "),
        (
            {"FI_GATE_CALL_PAGE_SIZE": "1000"},
            "read 2,500 call(s) in page 1 of 1,000, then pages of 1,000 with 4 worker(s) in ",
        ),
    ],
    ids=["all in page 1", "later pages"],
)
def test_verbose_says_how_the_calls_were_read(
    tmp_path: Path, env: dict[str, str], said: str
) -> None:
    with FakeApi(big_store(2500)) as api:
        result = run_calls(api, tmp_path, "--verbose", env=env)
    assert result.code == 1, result.err
    assert f"fi-gate: debug: {said}" in result.err


class _LyingPages(FakeApi):
    """A server whose call pages lie about their number, their count, or keep inventing
    calls: fi-gate reads no more than the execution's total_calls can fill."""

    lie = "pages"

    def _execution(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        status, body = super()._execution(*args, **kwargs)
        if status != 200:
            return status, body
        page = body["result"]["call_results"]
        if self.lie == "pages":
            page["total_pages"] = 1_000_000
        else:
            page["count"], page["total_pages"] = 10_000_000, 10_000_000 // len(page["results"])
        return status, body


@pytest.mark.parametrize("lie", ["pages", "count"])
def test_lying_pagination_is_bounded_by_total_calls(tmp_path: Path, lie: str) -> None:
    api = _LyingPages(big_store(300))
    api.lie = lie
    with api:
        result = run_calls(api, tmp_path, env={"FI_GATE_CALL_PAGE_SIZE": "10"})
        assert result.code == 3, result.err
        assert len(api.runs_requests) < 60  # 300 calls in pages of 10, with the margin
    assert "is --base-url pointing at the Future AGI API?" in result.err
    attack("pagination", f"--calls with a lying {lie}", "exit 3; reads bounded by total_calls")
    record(
        "hostile",
        f"--calls with lying pagination ({lie})",
        "exit 3; pages read bounded by total_calls",
    )


def test_the_digest_keeps_no_more_calls_than_the_execution_can_have() -> None:
    """Pages that keep inventing calls (fresh ids) end the read once past total_calls."""
    digest = CallDigest()
    digest.limit = 25
    page = msgspec.json.decode(
        json.dumps([{"call_execution_id": f"c{i}", "status": "completed"} for i in range(20)]),
        type=list[Call],
    )
    digest.add(page)
    invented = [msgspec.structs.replace(c, call_execution_id=f"n{i}") for i, c in enumerate(page)]
    with pytest.raises(ApiError, match="more calls than the execution has"):
        digest.add(invented, "page 2")
