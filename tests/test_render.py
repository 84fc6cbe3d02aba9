"""Renderers: exact output where stable, and hostile API content made harmless everywhere."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import cmarkgfm
import pytest
import xmlschema
from cmarkgfm.cmark import Options

from gate.evaluate import evaluate
from gate.model import parse_execution
from gate.policy import parse_policy
from gate.render import dotenv, github, junit, markdown, report, text
from gate.verdict import Check, GateResult, Verdict
from tests.conftest import ROOT, SEED, run, write_policy
from tests.figures import attack, record
from tests.hostile import HOSTILE_NAMES, HOSTILE_POLICY, INVISIBLE, hostile_result

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
JUNIT_XSD = xmlschema.XMLSchema(str(ROOT / "tests" / "schemas" / "junit.xsd"))
GFM_EXTENSIONS = ["table", "autolink", "strikethrough", "tagfilter", "tasklist"]


def github_html(md: str) -> str:
    """Markdown to HTML as GitHub renders it: cmark-gfm with its extensions, raw HTML escaped."""
    html: str = cmarkgfm.github_flavored_markdown_to_html(md, options=Options.CMARK_OPT_UNSAFE)
    return html


def seed_verdict(threshold: int = 81) -> Verdict:
    ex = parse_execution(json.loads(SEED.read_text())["result"])
    policy = parse_policy(f"version: 1\nevals:\n  is_helpful: {{min_pass_rate: {threshold}}}\n")
    return evaluate(policy, ex, NOW)


def hostile_verdict() -> Verdict:
    return evaluate(parse_policy(HOSTILE_POLICY), parse_execution(hostile_result()), NOW)


# --- markdown --------------------------------------------------------------------------------


def test_markdown_exact_for_the_seed() -> None:
    """Readable raw: only what markdown would act on is escaped (`is_helpful` stays as it is);
    the execution's own checks have a table of their own, with no eval or repeated label."""
    assert markdown.render(GateResult((seed_verdict(),))) == (
        "## ❌ fi-gate: FAIL\n"
        "\n"
        "1 check(s) failed: is_helpful\n"
        "\n"
        "| **Execution** | aabfa5b5-... |\n"
        "|---|---|\n"
        "| **Status** | completed |\n"
        "| **Started** | 2026-01-19 07:42 UTC |\n"
        "| **Completed** | 2026-01-19 08:15 UTC |\n"
        "| **Calls** | 30 total · 26 completed · 4 failed |\n"
        "\n"
        "### Checks\n"
        "\n"
        "| Status | Eval | Config | Metric | Observed | Interval | Threshold | n | Why |\n"
        "|---|---|---|---|---|---|---|--:|---|\n"
        "| ❌\u00a0fail | is_helpful |  | pass rate | 80.77% "
        "| 62.12–91.49% `············━━━━●━━·` | ≥ 81% | 26 "
        "| 80.77% over 26 cells; needs at least 81% (0.23 points short) |\n"
        "\n"
        "<sub>Intervals: 95 % unless the policy sets `confidence` (then the bound is what is "
        "judged); Wilson for rates, the spread of scores for averages. Bar on 0–100: ━ interval, "
        "● observed, ┃ threshold.</sub>\n"
        "\n"
        "### Execution checks\n"
        "\n"
        "| Status | Check | Observed | Threshold | Why |\n"
        "|---|---|---|---|---|\n"
        "| ⚠️\u00a0warn | failed calls | 4 |  | 4 of 30 calls failed and are not counted in any "
        "pass rate; set execution.max_failed_calls to gate on them |\n"
        "| ✅\u00a0pass | execution status | completed | = completed |  |\n"
        "\n"
        "<sub>fi-gate 0.1.0 · 2026-11-28 12:00 UTC</sub>\n"
    )


def test_markdown_renders_as_a_table_on_github() -> None:
    html = github_html(markdown.render(GateResult((seed_verdict(),))))
    assert html.count("<table>") == 3
    rows = re.findall(r"<tr>", html)
    assert len(rows) == 5 + (1 + 1) + (1 + 2)  # facts; eval checks; the execution's checks
    assert "<code>············━━━━●━━·</code>" in html  # the interval bar, monospaced
    assert "<h2>❌ fi-gate: FAIL</h2>" in html
    assert "is_helpful" in html  # escapes render as the plain text


def test_hostile_content_is_inert_in_markdown() -> None:
    md = markdown.render(GateResult((hostile_verdict(),)))
    html = github_html(md)
    assert "<script" not in html
    assert "<img" not in html
    assert "<a " not in html  # no links, not even autolinks
    headings = re.findall(r"<h(\d)>(.*?)</h\1>", html)
    assert [h for _, h in headings] == [
        "❌ fi-gate: FAIL",
        "Checks",
        "Execution checks",
        "Why: Fix My Agent failure clusters",
    ]
    table = html.split("<h3>Checks</h3>")[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    assert len(rows) == 1 + len(HOSTILE_NAMES)  # the header, one per eval
    for row in rows:
        assert row.count("<td") in (0, 9)  # no cell split by a '|'
    assert not set(INVISIBLE) & set(md)
    attack("markdown links", "x@evil.example, mailto:, https://, www. in eval names", "no link")
    # the names are still there, readable
    assert "a | b | c" in html.replace("&lt;", "<")
    record(
        "hostile",
        "markdown summary (rendered with cmark-gfm)",
        f"{len(HOSTILE_NAMES)} hostile names: no HTML, link, heading or broken table",
    )


def test_hostile_content_carries_no_invisible_character_into_any_output() -> None:
    v = hostile_verdict()
    outputs = {
        "markdown": markdown.render(GateResult((v,))),
        "text": text.render(GateResult((v,)), colour=False),
        "junit": junit.render(GateResult((v,))),
        "annotations": github.annotation_commands(GateResult((v,))),
    }
    for name, out in outputs.items():
        assert not set(INVISIBLE) & set(out), name
    raw = report.render(GateResult((v,)))
    assert not set(INVISIBLE) & set(raw)  # escaped as \u sequences in the JSON text ...
    attack("invisible characters", "bidi, zero-width, tags, C1, separators", "none raw anywhere")
    names = {c["name"] for c in json.loads(raw)["checks"]}
    assert set(HOSTILE_NAMES) <= names  # ... which a JSON reader reads back as they were
    record(
        "hostile",
        "invisible characters (bidi, zero-width, tags, C1, separators)",
        "none raw in any output; escaped as \\u in JSON, which reads them back",
    )


@pytest.mark.slow  # large inputs: seconds of work, kept out of the inner loop
def test_summary_stays_under_the_github_limit_and_says_what_was_cut() -> None:
    v = seed_verdict()
    checks = tuple(
        replace(v.checks[0], name=f"eval {i} " + "x" * 150, message="m" * 200) for i in range(9000)
    )
    big = replace(v, checks=checks + v.checks)
    full = markdown.render(GateResult((big,)), limit=10**9)
    assert len(full.encode()) > markdown.GITHUB_SUMMARY_LIMIT
    cut = markdown.render(GateResult((big,)))
    assert len(cut.encode()) <= markdown.GITHUB_SUMMARY_LIMIT
    assert cut.startswith("## ❌ fi-gate: FAIL")
    assert "| **Calls** | 30 total" in cut  # the execution facts stay
    assert "step-summary limit" in cut
    small = markdown.render(GateResult((big,)), limit=5000)
    assert len(small.encode()) <= 5000
    assert "check(s)" in small


# --- terminal ----------------------------------------------------------------------------------


def test_terminal_table_exact() -> None:
    assert text.render(GateResult((seed_verdict(),))) == (
        "execution aabfa5b5-... (completed): 26/30 calls completed, 4 failed\n"
        "eval              config  metric        observed   interval      threshold    n   status\n"
        "----------------  ------  ------------  ---------  ------------  -----------  --  ------\n"
        "is_helpful                pass rate     80.77%     62.12–91.49%  ≥ 81%        26  fail\n"
        "    ↳ 80.77% over 26 cells; needs at least 81% (0.23 points short)\n"
        "failed calls              failed calls  4                                     30  warn\n"
        "    ↳ 4 of 30 calls failed and are not counted in any pass rate; set "
        "execution.max_failed_calls to gate on them\n"
        "execution status          status        completed                = completed      pass\n"
        "FAIL: 1 check(s) failed: is_helpful (exit 1)\n"
    )


def test_terminal_output_has_no_control_characters_from_the_api() -> None:
    out = text.render(GateResult((hostile_verdict(),)))
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out
    record("hostile", "terminal table", "no escape, bidi or control characters from the API")
    assert all(line.count("\n") == 0 for line in out.splitlines())


# --- GitHub Actions ------------------------------------------------------------------------


def _commands(log: str) -> list[str]:
    """Workflow commands the runner would act on: skip what is inside ::stop-commands::."""
    active: list[str] = []
    stop_token = None
    for line in log.splitlines():
        stripped = line.lstrip()
        if stop_token is not None:
            if stripped == f"::{stop_token}::":
                stop_token = None
            continue
        if stripped.startswith("::stop-commands::"):
            stop_token = stripped.removeprefix("::stop-commands::")
            continue
        if stripped.startswith("::") or "##[" in line:
            active.append(stripped)
    return active


def test_hostile_names_cannot_issue_workflow_commands(tmp_path: Path) -> None:
    saved = tmp_path / "hostile.json"
    saved.write_text(json.dumps(hostile_result()))
    policy = write_policy(tmp_path, HOSTILE_POLICY)
    out_file = tmp_path / "out"
    out_file.write_text("")
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(out_file),
        "FI_API_KEY": "key-canary-123456",
        "FI_SECRET_KEY": "secret-canary-654321",
    }
    result = run(["check", "--policy", policy, "--from-file", str(saved)], env=env)
    assert result.code == 1
    assert _commands(result.out) == []  # fi-gate's own commands go to standard error
    commands = _commands(result.err)  # the runner reads both streams
    kinds = [re.match(r"::([a-z-]+)", c).group(1) for c in commands]  # type: ignore[union-attr]
    assert set(kinds) <= {"add-mask", "error", "warning", "notice"}
    assert kinds.count("add-mask") == 2
    for c in commands:
        if c.startswith("::error") or c.startswith("::warning"):
            _title, _, message = c.partition("::")[2].partition("::")
            assert "\n" not in message and "\r" not in message
    assert kinds.count("error") == 10  # capped, then one notice counts the rest
    assert any("more failing check(s)" in c for c in commands if c.startswith("::notice"))
    outputs = github_outputs(out_file.read_text())
    assert outputs["verdict"] == "fail"
    assert outputs["passed"] == "false"
    record(
        "hostile",
        "GitHub log (workflow commands)",
        "only fi-gate's own add-mask, error, warning and notice commands are active, on stderr",
    )
    as_json = run(
        ["check", "--policy", policy, "--from-file", str(saved), "--format", "json"], env=env
    )
    assert json.loads(as_json.out)["verdict"] == "fail"  # stdout: exactly one JSON document
    assert _commands(as_json.out) == []  # `##[` in API text is escaped there
    assert [c for c in _commands(as_json.err) if c.startswith("::add-mask")]
    attack("log commands", "--format json | jq inside a GitHub job", "stdout is one JSON document")
    record(
        "hostile",
        "--format json inside a GitHub job",
        "stdout is exactly one JSON document with no live command; commands on stderr",
    )
    record("hostile", "GitHub outputs", "random heredoc delimiters; no value forges another")


def github_outputs(text_: str) -> dict[str, str]:
    from scripts.container_smoke import outputs

    return outputs(text_)


def test_outputs_use_random_delimiters_so_values_cannot_forge_others() -> None:
    v = replace(seed_verdict(), execution=None)
    first, second = (
        github.outputs(GateResult((v,)), {"report": "a\nverdict<<EOF\npass\nEOF"}),
        github.outputs(GateResult((v,)), {"report": "r"}),
    )
    d1 = re.findall(r"<<(ghadelimiter_[0-9a-f]{32})", first)
    d2 = re.findall(r"<<(ghadelimiter_[0-9a-f]{32})", second)
    assert len(set(d1)) == len(d1) == 11
    assert not set(d1) & set(d2)
    parsed = github_outputs(first)
    assert parsed["verdict"] == "fail"
    assert parsed["report"] == "a\nverdict<<EOF\npass\nEOF"


def test_annotation_escaping() -> None:
    line = github._annotation("error", "a:b,c", "50% done\nnext")
    assert line == "::error title=a%3Ab%2Cc::50%25 done next\n"
    assert github.escape_data("a%\r\nb") == "a%25%0D%0Ab"


def test_masks_cover_each_line_of_a_secret() -> None:
    assert github.mask_commands(["abc\ndef", ""]) == "::add-mask::abc\n::add-mask::def\n"


def test_api_error_with_pass_mode_is_loud() -> None:
    v = Verdict(
        verdict="error",
        exit_code=0,
        run_test=None,
        execution=None,
        checks=(),
        clusters=(),
        generated_at=NOW,
        message="503 from api",
        warnings=(
            "the API could not be read and --on-api-error pass is set: this deploy is NOT gated",
        ),
    )
    out = github.annotation_commands(GateResult((v,)))
    assert "::warning title=fi-gate%3A error::503 from api" in out
    assert "::warning title=fi-gate%3A deploy not gated::" in out


# --- JUnit and dotenv ------------------------------------------------------------------------


def test_junit_structure_and_schema() -> None:
    xml = junit.render(GateResult((seed_verdict(),)))
    JUNIT_XSD.validate(xml)
    root = ET.fromstring(xml)
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "0")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    failing = cases["is_helpful pass_rate"]
    failure = failing.find("failure")
    assert failure is not None
    assert failure.get("message") == "80.77% over 26 cells; needs at least 81% (0.23 points short)"
    warned = cases["failed calls failed_calls"].find("system-out")
    assert warned is not None and warned.text is not None and warned.text.startswith("warning")
    assert all(c.get("classname") == "fi-gate" for c in cases.values())


def test_junit_off_is_skipped_and_errors_are_errors() -> None:
    v = evaluate(
        parse_policy("version: 1\ndefaults: {min_pass_rate: 0}\nevals:\n  is_helpful: off\n"),
        parse_execution(json.loads(SEED.read_text())["result"]),
        NOW,
    )
    root = ET.fromstring(junit.render(GateResult((v,))))
    assert len(root.findall(".//skipped")) == 1
    error = Verdict(
        verdict="error",
        exit_code=3,
        run_test="R",
        execution=None,
        checks=(),
        clusters=(),
        generated_at=NOW,
        message="401 from api",
    )
    xml = junit.render(GateResult((error,)))
    JUNIT_XSD.validate(xml)
    assert ET.fromstring(xml).find(".//error") is not None


def test_junit_is_valid_xml_for_hostile_text() -> None:
    xml = junit.render(GateResult((hostile_verdict(),)))
    JUNIT_XSD.validate(xml)
    names = [c.get("name") for c in ET.fromstring(xml).iter("testcase")]
    assert any(n and "<script>" in n for n in names)  # kept as text, escaped by XML
    record("hostile", "JUnit XML", "valid against the JUnit XSD; control characters stripped")


@pytest.mark.parametrize("bad", ["x\nFI_GATE_VERDICT=pass", "a=b", "$(rm -rf /)", "'\""])
def test_dotenv_values_cannot_forge_variables(bad: str) -> None:
    v = seed_verdict()
    assert v.execution is not None
    forged = replace(v, execution=replace(v.execution, execution_id=bad))
    lines = dotenv.render(GateResult((forged,))).splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [
        "FI_GATE_VERDICT",
        "FI_GATE_PASSED",
        "FI_GATE_GATED",
        "FI_GATE_JUDGED_EXECUTION_ID",
        "FI_GATE_EXECUTION_URL",
        "FI_GATE_FAILED_CHECKS",
        "FI_GATE_UNDECIDED_CHECKS",
        "FI_GATE_POOLED_EXECUTION_IDS",
        "FI_GATE_EXIT_CODE",
    ]
    assert lines[0] == "FI_GATE_VERDICT=fail"
    assert all(line.count("=") == 1 for line in lines)
    record("hostile", "dotenv", "values reduced to [A-Za-z0-9._:-]; no forged variable")


def test_check_is_a_plain_value_object() -> None:
    c = seed_verdict().checks[0]
    assert isinstance(c, Check)
    with pytest.raises(AttributeError):
        c.status = "pass"  # type: ignore[misc]


WIDE = (
    "execution aabfa5b5-... (completed): 26/30 calls completed, 4 failed\n"
    "eval              config  metric        observed   interval      threshold    n   status\n"
    "----------------  ------  ------------  ---------  ------------  -----------  --  ------\n"
    "is_helpful                pass rate     80.77%     62.12–91.49%  ≥ 81%        26  fail\n"
    "    ↳ 80.77% over 26 cells; needs at least 81% (0.23 points short)\n"
    "failed calls              failed calls  4                                     30  warn\n"
)


@pytest.mark.parametrize(
    ("width", "expected"),
    [
        (
            60,
            "execution aabfa5b5-... (completed): 26/30 calls completed, 4\n"
            "  failed\n"
            "eval              observed   threshold    status\n"
            "----------------  ---------  -----------  ------\n"
            "is_helpful        80.77%     ≥ 81%        fail\n"
            "    ↳ 80.77% over 26 cells; needs at least 81% (0.23\n"
            "      points short)\n"
            "failed calls      4                       warn\n"
            "    ↳ 4 of 30 calls failed and are not counted in any\n"
            "      pass rate; set execution.max_failed_calls to gate\n"
            "      on them\n"
            "execution status  completed  = completed  pass\n"
            "FAIL: 1 check(s) failed: is_helpful (exit 1)\n",
        ),
        (
            100,
            WIDE + "    ↳ 4 of 30 calls failed and are not counted in any pass rate; set "
            "execution.max_failed_calls\n"
            "      to gate on them\n"
            "execution status          status        completed                = completed      "
            "pass\n"
            "FAIL: 1 check(s) failed: is_helpful (exit 1)\n",
        ),
        (
            160,
            WIDE + "    ↳ 4 of 30 calls failed and are not counted in any pass rate; set "
            "execution.max_failed_calls to gate on them\n"
            "execution status          status        completed                = completed      "
            "pass\n"
            "FAIL: 1 check(s) failed: is_helpful (exit 1)\n",
        ),
    ],
)
def test_the_terminal_table_fits_the_terminal(width: int, expected: str) -> None:
    out = text.render(GateResult((seed_verdict(),)), width=width)
    assert out == expected
    assert all(text._width(line) <= width for line in out.splitlines())
    assert out.splitlines()[-1].startswith("FAIL")  # status never on a line of its own


def test_piped_output_keeps_the_full_table() -> None:
    assert text.render(GateResult((seed_verdict(),))) == text.render(
        GateResult((seed_verdict(),)), width=160
    )


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("is_helpful", "is_helpful"),
        ("80.77% (0.23 points short); x=1, y-2", "80.77% (0.23 points short); x=1, y-2"),
        ("_a_ and *b*", "\\_a\\_ and \\*b\\*"),
        ("- item", "\\- item"),
        ("1. first", "1\\. first"),
        ("===", "\\==="),
        ("www.evil.example", "www\\.evil.example"),
        ("see http://evil.example", "see http\\://evil.example"),
        ("a | b", "a \\| b"),
        (
            "<b>x</b> &amp; `c` [l](u) ~s~ $m$",
            "\\<b\\>x\\</b\\> \\&amp; \\`c\\` \\[l\\](u) \\~s\\~ \\$m\\$",
        ),
    ],
)
def test_markdown_escapes_only_what_markdown_would_act_on(text: str, raw: str) -> None:
    assert markdown.md(text) == raw
    html = github_html(f"| a |\n|---|\n| {raw} |")
    for tag in ("<em>", "<strong>", "<a ", "<li>", "<code>", "<del>", "<b>", "<h"):
        assert tag not in html.split("<tbody>")[1], (text, html)
