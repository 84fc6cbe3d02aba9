"""First contact, second pass (issue #22): the Fix My Agent clusters wherever the verdict is
read (the terminal too), the demo at the terminal's width, and a shipped example whose failing
eval has clusters in the platform's own shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run

AT_80 = """\
execution aabfa5b5-... (completed): 26/30 calls completed, 4 failed
eval              metric        observed   interval      threshold    n   status
----------------  ------------  ---------  ------------  -----------  --  ------
is_helpful        pass rate     80.77%     62.12–91.49%  ≥ 81%        26  fail
    ↳ 80.77% over 26 cells; needs at least 81% (0.23 points short)
  ◆ Refund requests: the agent answers without checking the refund po… (4 calls)
  ◆ Billing dates: the agent does not state when the charge happens (2 calls)
failed calls      failed calls  4                                     30  warn
    ↳ 4 of 30 calls failed and are not counted in any pass rate; set
      execution.max_failed_calls to gate on them
execution status  status        completed                = completed      pass
FAIL: 1 check(s) failed: is_helpful (exit 1)
"""

AT_160 = """\
execution aabfa5b5-... (completed): 26/30 calls completed, 4 failed
eval              config  metric        observed   interval      threshold    n   status
----------------  ------  ------------  ---------  ------------  -----------  --  ------
is_helpful                pass rate     80.77%     62.12–91.49%  ≥ 81%        26  fail
    ↳ 80.77% over 26 cells; needs at least 81% (0.23 points short)
  ◆ Refund requests: the agent answers without checking the refund policy (4 calls)
  ◆ Billing dates: the agent does not state when the charge happens (2 calls)
failed calls              failed calls  4                                     30  warn
    ↳ 4 of 30 calls failed and are not counted in any pass rate; set execution.max_failed_calls {GATE}
execution status          status        completed                = completed      pass
FAIL: 1 check(s) failed: is_helpful (exit 1)
""".replace("{GATE}", "to gate on them")  # noqa: E501


@pytest.mark.parametrize(("columns", "expected"), [(80, AT_80), (160, AT_160)])
def test_the_demo_fits_the_terminal_and_shows_the_clusters(
    monkeypatch: pytest.MonkeyPatch, columns: int, expected: str
) -> None:
    """At 80 columns the empty config column goes first, no line is wider than the terminal,
    and the failing eval's clusters (largest first, the success cluster never) are under it."""
    monkeypatch.setattr("gate.outputs.terminal_width", lambda: columns)
    result = run(["demo", "--fail", "--no-color"])
    assert result.code == 1
    assert result.out == expected
    assert max(len(line) for line in result.out.splitlines()) <= columns
    assert "Warm, clear greetings" not in result.out


def test_the_demo_summary_has_the_clusters() -> None:
    result = run(["demo", "--fail", "--markdown"])
    assert "### Why: Fix My Agent failure clusters" in result.out
    assert "Refund requests" in result.out


def test_init_suggests_the_run_test_name_in_its_case(tmp_path: Path) -> None:
    from tests.conftest import DEMO_DATA
    from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, load_dir

    with FakeApi(load_dir(DEMO_DATA)) as api:
        env = {"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}
        result = run(["init", "--run-test", "support agent regression", "--output",
                      str(tmp_path / "p.yml")], env)  # fmt: skip
    assert result.code == 2
    assert "did you mean 'Support Agent Regression'?" in result.err


def test_the_gitlab_component_survives_interpolation_of_hostile_values(tmp_path: Path) -> None:
    """GitLab interpolates `$[[ inputs.x ]]` as text: unquoted, an empty value became YAML null
    and a run test named `Agent: v2 #beta` broke the document. Every text input is quoted; the
    interpolated job validates against GitLab's CI schema and keeps every value as given."""
    import json
    import re
    import subprocess
    import sys

    import yaml

    from tests.conftest import ROOT

    spec_text, job_text = (ROOT / "templates" / "fi-gate.yml").read_text().split("\n---\n")
    spec = yaml.safe_load(spec_text)["spec"]["inputs"]
    hostile = {
        "run_test": "Agent: v2 #beta",
        "run_test_id": "",
        "execution_id": "",
        "timeout": "",
        "scenarios": "Refund: angry, *Billing & co {x} [y] @z",
        "policy": "policies/a #b.yml",
    }

    def value(name: str) -> str:
        given = hostile.get(name, spec[name].get("default", ""))
        return str(given).lower() if isinstance(given, bool) else str(given)

    values = {name: value(name) for name in spec}
    text = re.sub(r"\$\[\[ inputs\.([a-z_]+) \]\]", lambda m: str(values[m.group(1)]), job_text)
    job = yaml.safe_load(text)
    (variables,) = [j["variables"] for j in job.values()]
    assert variables["FI_GATE_RUN_TEST"] == "Agent: v2 #beta"
    assert variables["FI_GATE_SCENARIOS"] == hostile["scenarios"]
    assert variables["FI_GATE_POLICY"] == hostile["policy"]
    for name in ("FI_GATE_RUN_TEST_ID", "FI_GATE_EXECUTION_ID", "FI_GATE_TIMEOUT"):
        assert variables[name] == "", name  # an empty string, never null
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job))
    checked = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.gitlab-ci",
         str(path)], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("schema", ["junit.xsd", "jenkins-junit-10.xsd"])
def test_junit_is_valid_for_both_schemas(tmp_path: Path, schema: str) -> None:
    """The JUnit report (a failing check, a skipped one, a regressed scenario's case) against
    the common JUnit schema and Jenkins' xunit one, which rejects `skipped` on <testsuites>."""
    import xmlschema

    from tests.conftest import ROOT, SEED, write_policy

    policy = "version: 1\nevals:\n  is_helpful: {min_pass_rate: 81}\n  other: {level: off}\n"
    junit = tmp_path / "j.xml"
    result = run(["check", "--policy", write_policy(tmp_path, policy), "--from-file", str(SEED),
                  "--junit", str(junit)])  # fmt: skip
    assert result.code == 1
    xmlschema.XMLSchema(str(ROOT / "tests" / "schemas" / schema)).validate(str(junit))


def test_a_failing_check_is_annotated_on_its_rule_in_the_policy(tmp_path: Path) -> None:
    """GitHub shows the annotation on the policy file, on the line of the rule that failed (in
    the pull request's diff), as it does for a policy error."""
    from tests.conftest import SEED, write_policy

    policy = write_policy(tmp_path, "version: 1\n\nevals:\n  is_helpful:\n    min_pass_rate: 81\n")
    result = run(["check", "--policy", policy, "--from-file", str(SEED)],
                 {"GITHUB_ACTIONS": "true"})  # fmt: skip
    assert result.code == 1
    (annotation,) = [x for x in result.err.splitlines() if x.startswith("::error ")]
    assert annotation.startswith(f"::error file={policy},line=4,title=fi-gate%3A is_helpful")
