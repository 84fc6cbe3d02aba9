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
