"""Fail closed (issue #12): exit 0 only when the policy was met on data that makes sense.

Impossible data is a response error (exit 3) that names the field, never judged; the
property test at the end holds the whole CLI to the promise on generated data.
"""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.errors import ConfigError
from gate.policy import parse_policy
from tests.conftest import SEED, run, write_policy
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, Fault
from tests.figures import attack, counter, record
from tests.test_properties import executions

POLICY = "version: 1\ndefaults: {min_pass_rate: 50, min_avg_score: 50}\n"
GOOD = json.loads(SEED.read_text())


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        node: Any = data["result"]
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        last = keys[-1]
        node[int(last) if last.isdigit() else last] = value

    return apply


IMPOSSIBLE = {
    "a pass rate of 150": (_set("eval_results.0.total_pass_rate", 150), "total_pass_rate"),
    "a negative pass rate": (_set("eval_results.0.result.0.output.pass", -1), "output['pass']"),
    "a pass rate of 1e300": (_set("eval_results.0.total_pass_rate", 1e300), "outside 0-100"),
    "Infinity in --from-file": (_set("eval_results.0.total_pass_rate", float("inf")), "inf"),
    "NaN in --from-file": (_set("eval_results.0.result.0.output.pass", float("nan")), "nan"),
    "failed calls above total": (_set("failed_calls", 31), "failed_calls 31 is more than"),
    "completed calls above total": (_set("completed_calls", 40), "completed_calls 40 is more"),
    "completed + failed above total": (_set("completed_calls", 29), "completed_calls 29 +"),
    "cells above calls": (_set("eval_results.0.result.0.total_cells", 31), "total_cells 31"),
    "a negative count": (_set("failed_calls", -4), "result.failed_calls"),
    "pass_count above cells": (_set("eval_results.0.result.0.output.pass_count", 27), "pass_count"),
    "completed before started": (_set("completed_at", "2026-01-19T07:00:00Z"), "is before"),
    "completed far in the future": (_set("completed_at", "2099-01-01T00:00:00Z"), "future"),
    "a choice share of 101": (
        _set(
            "eval_results",
            [
                {
                    "name": "Mood",
                    "output_type": "choices",
                    "total_choices_avg": {"Positive": 101},
                    "result": [{"name": "m", "total_cells": 20, "output": {"Positive": 101}}],
                }
            ],
        ),
        "total_choices_avg['Positive']",
    ),
    "an average score of -5": (
        _set(
            "eval_results",
            [
                {
                    "name": "CSAT",
                    "output_type": "score",
                    "total_avg": -5,
                    "result": [{"name": "c", "total_cells": 20, "avg_score": -5, "output": {}}],
                }
            ],
        ),
        "total_avg is -5",
    ),
}


@pytest.mark.parametrize("case", sorted(IMPOSSIBLE))
def test_impossible_data_is_exit_3_naming_the_field(tmp_path: Path, case: str) -> None:
    mutate, field = IMPOSSIBLE[case]
    data = copy.deepcopy(GOOD)
    mutate(data)
    saved = tmp_path / "execution.json"
    saved.write_text(json.dumps(data))  # Infinity and NaN as Python writes them
    policy = write_policy(tmp_path, POLICY)
    report = tmp_path / "r.json"
    result = run(
        ["check", "--policy", policy, "--from-file", str(saved), "--report", str(report)],
        env={},
    )
    assert result.code == 3, result
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err  # one clear line
    assert field in lines[0], result.err
    assert json.loads(report.read_text())["checks"] == []  # never judged
    record("hostile", f"impossible data: {case}", "exit 3, the field named, nothing judged")
    attack("impossible data", case, "exit 3 naming the field; nothing judged")


def test_a_sane_copy_of_the_same_file_is_judged(tmp_path: Path) -> None:
    saved = tmp_path / "execution.json"
    saved.write_text(json.dumps(GOOD))
    result = run(["check", "--policy", write_policy(tmp_path, POLICY), "--from-file", str(saved)])
    assert result.code == 0, result.err


def test_deeply_nested_json_is_a_response_error(tmp_path: Path) -> None:
    saved = tmp_path / "deep.json"
    saved.write_text("[" * 100_000 + "]" * 100_000)
    result = run(["check", "--policy", write_policy(tmp_path, POLICY), "--from-file", str(saved)])
    assert result.code == 3, result
    assert "nested too deeply" in result.err


# --- files: read and write only what was meant (section 3) --------------------------------------

SECRET_TEXT = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA-canary\n"


def _check_policy(tmp_path: Path, policy: str, *extra: str) -> Any:
    report = tmp_path / "r.json"
    result = run(
        ["check", "--policy", policy, "--from-file", str(SEED), "--report", str(report), *extra],
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "step.md")},
    )
    return result, report


def test_a_policy_symlink_out_of_the_working_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "home" / "id_ed25519"
    secret.parent.mkdir()
    secret.write_text(SECRET_TEXT)
    work = tmp_path / "checkout"
    work.mkdir()
    (work / "fi-gate.yml").symlink_to(secret)
    monkeypatch.chdir(work)
    result, report = _check_policy(tmp_path, "fi-gate.yml")
    assert result.code == 2
    assert "symbolic link that leads out of the working directory" in result.err
    everything = result.out + result.err + report.read_text() + (tmp_path / "step.md").read_text()
    assert "canary" not in everything and "PRIVATE" not in everything
    record("hostile", "policy: a symlink to ~/.ssh/id_ed25519", "exit 2; the file is never read")
    attack("policy file", "a symlink to ~/.ssh/id_ed25519", "exit 2; never read, never quoted")


def test_a_policy_symlink_inside_the_working_directory_is_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "real.yml").write_text(POLICY)
    (tmp_path / "fi-gate.yml").symlink_to(tmp_path / "policies" / "real.yml")
    monkeypatch.chdir(tmp_path)
    result, _ = _check_policy(tmp_path, "fi-gate.yml")
    assert result.code == 0, result.err


def test_a_secret_file_given_as_the_policy_is_never_quoted(tmp_path: Path) -> None:
    secret = tmp_path / "id_ed25519"
    secret.write_text(SECRET_TEXT)
    env_file = tmp_path / "prod.env"
    env_file.write_text("DB_PASSWORD: hunter2-canary\nAPI_TOKEN: tok-canary\n")
    for path in (secret, env_file):
        result, report = _check_policy(tmp_path, str(path))
        assert result.code == 2
        everything = result.out + result.err + report.read_text()
        assert "canary" not in everything, everything
    attack("policy file", "a private key or a .env given as --policy", "exit 2; never quoted")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "fifo"])
def test_a_device_or_fifo_is_not_a_policy(tmp_path: Path, device: str) -> None:
    import os

    if device == "fifo":
        device = str(tmp_path / "pipe.yml")
        os.mkfifo(device)  # nobody writes: a plain open would block forever
    result, _ = _check_policy(tmp_path, device)
    assert result.code == 2
    assert "not a regular file" in result.err
    record("hostile", f"policy: {Path(device).name}", "exit 2 at once: not a regular file")
    attack("policy file", f"{Path(device).name} as --policy", "exit 2 at once: not a regular file")


def test_reports_replace_a_planted_symlink_and_never_write_through_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    outputs = {}
    for flag in ("--report", "--summary", "--junit", "--dotenv"):
        path = tmp_path / f"out{flag}"
        path.symlink_to(victim)  # planted by a pull request in its checkout
        outputs[flag] = path
    argv = [a for flag, path in outputs.items() for a in (flag, str(path))]
    result = run(
        ["check", "--policy", write_policy(tmp_path, POLICY), "--from-file", str(SEED), *argv]
    )
    assert result.code == 0, result.err
    assert victim.read_text() == "precious\n"
    for path in outputs.values():
        assert not path.is_symlink() and path.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []
    record(
        "hostile", "report paths planted as symlinks", "replaced by a rename, never written through"
    )
    attack(
        "report files",
        "report, summary, JUnit, dotenv planted as symlinks",
        "replaced by a rename, never written through",
    )


def test_a_report_that_cannot_be_written_ends_the_log_with_the_real_exit_code(
    tmp_path: Path,
) -> None:
    result = run(
        [
            "check", "--policy", write_policy(tmp_path, POLICY), "--from-file", str(SEED),
            "--report", str(tmp_path / "missing-folder" / "r.json"),
        ]
    )  # fmt: skip
    assert result.code == 2
    last = result.err.strip().splitlines()[-1]
    assert last.startswith("fi-gate: error: exit 2: could not write"), last
    assert "the verdict was warn, exit 0" in last
    attack(
        "report files", "a report into a missing folder", "exit 2, stated on the log's last line"
    )


# --- the promise, as a property (definition of done) -------------------------------------------

PROPERTY = settings(
    derandomize=True,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
EVAL_NAMES = ["Coherence", "Tone", "CSAT", "Mood"]
level = st.sampled_from(["error", "error", "warn", "off"])
# Low thresholds are common, so that passing gates (the case the promise is about) are too.
rate = st.one_of(st.sampled_from([0, 0, 0, 5, 20]), st.integers(0, 100))


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    policy: dict[str, Any] = {"version": 1}
    defaults = draw(
        st.fixed_dictionaries(
            {}, optional={"min_pass_rate": rate, "min_avg_score": rate, "level": level}
        )
    )
    if defaults:
        policy["defaults"] = defaults
    rules: dict[str, Any] = {}
    names = st.sampled_from([*EVAL_NAMES, *EVAL_NAMES, "Co*", "Missing"])
    for name in draw(st.lists(names, unique=True, max_size=3)):
        rule = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "min_pass_rate": rate,
                    "min_avg_score": rate,
                    "min_choice_rate": st.fixed_dictionaries({"Positive": rate}),
                    "max_choice_rate": st.fixed_dictionaries({"Negative": rate}),
                    "min_cells": st.integers(1, 30),
                    "level": level,
                },
            )
        )
        rules[name] = rule
    if rules:
        policy["evals"] = rules
    return policy


def impossible(ex: dict[str, Any], now: datetime) -> bool:
    """An oracle written apart from gate/sanity.py: is anything out of its range?"""
    total, done, failed = ex["total_calls"], ex["completed_calls"], ex["failed_calls"]
    assert isinstance(total, int) and isinstance(done, int) and isinstance(failed, int)
    if min(total, done, failed) < 0 or done + failed > total:
        return True
    for ev in ex["eval_results"] or []:
        values = [ev.get("total_pass_rate"), ev.get("total_avg")]
        values += list((ev.get("total_choices_avg") or {}).values())
        for cfg in ev["result"]:
            if cfg["total_cells"] > total:
                return True
            values.append(cfg.get("avg_score"))
            values += [v for k, v in cfg["output"].items() if not k.endswith("_count")]
        for v in values:
            if v is not None and not (math.isfinite(v) and 0 <= v <= 100):
                return True
    return False


def _rules(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rules = policy.get("evals") or {}
    assert isinstance(rules, dict)
    return rules


def _mostly_sane(ex: dict[str, Any]) -> dict[str, Any]:
    """At least 50 calls, so that the generated cells (0-50) fit; corruption is added apart."""
    total = max(50, ex["total_calls"])
    return {**ex, "total_calls": total, "completed_calls": total - ex["failed_calls"]}


@PROPERTY
@given(
    policies(),
    executions().filter(lambda e: e["eval_results"]).map(_mostly_sane),
    st.integers(0, 2**32),
    st.booleans(),
)
def test_exit_0_only_when_every_rule_was_met_on_sane_data(
    tmp_path_factory: pytest.TempPathFactory,
    policy: dict[str, Any],
    execution: dict[str, Any],
    seed: int,
    corrupt: bool,
) -> None:
    counter(
        "fuzz",
        "fail closed: generated policies and executions through the CLI",
        PROPERTY.max_examples or 0,
        "exit 0 only when every error-level rule and default was met on sane data; "
        "impossible data is exit 3",
    )
    rng = random.Random(seed)
    if corrupt and execution["eval_results"]:
        ev = rng.choice(execution["eval_results"])
        key = {"Pass/Fail": "total_pass_rate", "score": "total_avg"}.get(ev["output_type"])
        if key:
            ev[key] = rng.choice([150.0, -1.0, 1e300])
    tmp = tmp_path_factory.mktemp("prop")
    saved = tmp / "e.json"
    saved.write_text(json.dumps({"status": True, "result": execution}))
    text = yaml.safe_dump(policy)
    (tmp / "p.yml").write_text(text)
    result = run(
        ["check", "--policy", str(tmp / "p.yml"), "--from-file", str(saved), "--format", "json"]
    )
    try:
        parse_policy(text)
    except ConfigError:
        assert result.code == 2, result
        return
    report = result.json()
    if impossible(execution, NOW_FOR_PROPERTY):
        assert result.code == 3, result
        assert report["checks"] == []
        return
    assert result.code != 3, result
    if result.code != 0:
        return
    # Exit 0: the judged execution is the one given, it completed, and every rule and
    # default that applies produced a check that was met, on data within range.
    assert report["execution"]["execution_id"] == execution["execution_id"]
    assert report["execution"]["status"] == "completed"
    checks = report["checks"]
    measured = [c for c in checks if isinstance(c["observed"], (int, float))]
    assert any(c["status"] in ("pass", "warn") for c in measured if c["name"] != "execution status")
    present = {ev["name"] for ev in execution["eval_results"] or []}
    for name, rule in _rules(policy).items():
        lvl = rule.get("level", (policy.get("defaults") or {}).get("level", "error"))
        if lvl != "error":
            continue
        matched = [
            n for n in present if n == name or (name.endswith("*") and n.startswith(name[:-1]))
        ]
        mine = [c for c in checks if c["name"] in (matched if matched else [name])]
        assert mine, (name, checks)
        assert all(c["status"] in ("pass", "skipped") for c in mine if c["level"] == "error"), mine
    for c in checks:
        if c["level"] == "error" and c["kind"] == "eval":
            assert c["status"] in ("pass", "skipped"), c
        if isinstance(c["observed"], (int, float)) and c["metric"] in ("pass_rate", "avg_score"):
            assert 0 <= c["observed"] <= 100, c


NOW_FOR_PROPERTY = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


statuses = st.sampled_from(["completed", "completed", "failed", "running", "pending", "cancelled"])


@PROPERTY
@given(
    st.lists(st.tuples(statuses, st.integers(0, 72)), min_size=1, max_size=6),
    st.sampled_from(["latest", "latest-completed"]),
)
def test_the_execution_judged_is_the_one_selected(
    tmp_path_factory: pytest.TempPathFactory,
    shared_api: FakeApi,
    runs: list[tuple[str, int]],
    select: str,
) -> None:
    counter(
        "fuzz",
        "fail closed: the execution judged is the one selected (listing over real HTTP)",
        PROPERTY.max_examples or 0,
        "the newest (completed) execution by started_at, or exit 4",
    )
    items: list[dict[str, Any]] = []
    for i, (status, hours_ago) in enumerate(runs):
        started = NOW_FOR_PROPERTY - timedelta(hours=hours_ago, minutes=i)
        items.append(
            {
                "execution_id": f"00000000-0000-4000-8000-{i:012d}",
                "status": status,
                "started_at": started.isoformat().replace("+00:00", "Z"),
                "completed_at": None,
                "total_calls": 10,
                "completed_calls": 10 if status == "completed" else 0,
                "failed_calls": 0,
                "eval_results": [
                    {
                        "name": "Coherence",
                        "output_type": "Pass/Fail",
                        "total_pass_rate": 90.0,
                        "result": [{"name": "c", "total_cells": 10, "output": {"pass": 90.0}}],
                    }
                ],
            }
        )
    candidates = [x for x in items if select == "latest" or x["status"] == "completed"]
    expected = max(candidates, key=lambda x: x["started_at"]) if candidates else None
    listing = {"total_pages": 1, "current_page": 1, "count": len(items), "results": items}
    api = shared_api  # one server for every example: only its answers change
    api.faults.clear()
    api.fail(Fault(status=200, body={"status": True, "result": listing}, match=_listing))
    for item in items:
        detail = {
            **item,
            "call_results": {"total_pages": 1, "current_page": 1, "count": 0, "results": []},
        }
        api.fail(
            Fault(
                status=200,
                body={"status": True, "result": detail},
                match=_detail_of(item["execution_id"]),
            )
        )
    tmp = tmp_path_factory.mktemp("sel")
    (tmp / "p.yml").write_text("version: 1\ndefaults: {min_pass_rate: 50}\n")
    result = run(
        ["check", "--policy", str(tmp / "p.yml"), "--run-test", "R", "--select", select,
         "--format", "json"],
        env={"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY},
    )  # fmt: skip
    if expected is None:
        assert result.code == 4, result
        return
    report = result.json()
    assert report["execution"]["execution_id"] == expected["execution_id"]
    assert (result.code == 0) == (expected["status"] == "completed"), result


@pytest.fixture(scope="module")
def shared_api() -> Iterator[FakeApi]:
    with FakeApi() as api:
        yield api


def _detail_of(execution_id: str) -> Callable[[dict[str, str]], bool]:
    return lambda query: query.get("execution_id") == execution_id


def _listing(query: dict[str, str]) -> bool:
    return "run_test_name" in query
