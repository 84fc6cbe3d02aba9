"""JUnit XML: one test case per check, for GitLab's and others' test report views."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from gate import redact
from gate.render.common import observed, threshold
from gate.verdict import Check, GateResult, Verdict

# Characters XML 1.0 cannot carry at all.
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: object, limit: int = 2000) -> str:
    return redact.clip(_INVALID_XML.sub("", redact.scrub(str(text))), limit, fold=False)


def _name(c: Check) -> str:
    extra = f" {c.metric}" if c.metric not in ("present", "level", "status") else ""
    return xml_text(c.label + extra, 300)


def render(result: GateResult) -> str:
    """One testsuite per run test."""
    root = ET.Element("testsuites", name="fi-gate")
    for v in result.verdicts:
        root.append(_suite(v))
    # No `skipped` here: Jenkins' xunit schema rejects it on <testsuites> (each suite has it).
    for attr in ("tests", "failures", "errors"):
        root.set(attr, str(sum(int(s.get(attr, "0")) for s in root)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _scenario_cases(suite: ET.Element, classname: str, v: Verdict) -> int:
    """One failing test case a regressed scenario; how many."""
    count = 0
    for r in v.scenarios:
        if r.status != "regressed" or r.baseline is None or r.current is None:
            continue
        eval_name = f"{r.eval} / {r.config}" if r.config else r.eval
        name = xml_text(f"{eval_name} scenario {r.scenario_name}", 300)
        case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
        count += 1
        text = (
            f"regressed: {r.baseline[0]}/{r.baseline[1]} → {r.current[0]}/{r.current[1]} "
            f"passed (adjusted p {r.adjusted_p_value:.3g})"
        )
        node = ET.SubElement(case, "failure", message=xml_text(text, 500), type="regressed")
        node.text = xml_text(f"{text}\nscenario {r.scenario_id}")
    return count


def _suite(v: Verdict) -> ET.Element:
    classname = xml_text(v.run_test or "fi-gate", 200)
    suite = ET.Element("testsuite", name=xml_text(f"fi-gate: {v.run_test or 'gate'}", 300))
    failures = errors = skipped = 0
    facts = {
        "execution_id": v.execution.execution_id if v.execution else None,
        "selection": v.selection,
        "commit": v.commit,
        "ref": v.ref,
        "link": v.link,
        "pooled_executions": ",".join(p.execution_id for p in v.pooled) or None,
    }
    if any(facts.values()):
        props = ET.SubElement(suite, "properties")
        for key, value in facts.items():
            if value:
                ET.SubElement(props, "property", name=f"fi-gate.{key}", value=xml_text(value, 300))
    cases = list(v.checks)
    for c in cases:
        case = ET.SubElement(suite, "testcase", classname=classname, name=_name(c), time="0")
        detail = f"observed {observed(c)}, threshold {threshold(c) or '—'}" + (
            f", n={c.n}" if c.n is not None else ""
        )
        if c.status == "skipped":
            skipped += 1
            ET.SubElement(case, "skipped", message=xml_text(c.message or "level: off", 500))
        elif c.blocks:
            failures += 1
            node = ET.SubElement(case, "failure", message=xml_text(c.message, 500), type=c.status)
            node.text = xml_text(f"{c.message}\n{detail}")
        elif c.warns:
            out = ET.SubElement(case, "system-out")
            out.text = xml_text(f"warning ({c.status}): {c.message}\n{detail}")
    failures += _scenario_cases(suite, classname, v)
    if not v.gated:
        # No verdict on this run test (an error, not ready; also with --on-api-error pass and
        # exit 0): an error case saying so, never a green one.
        case = ET.SubElement(suite, "testcase", classname=classname, name="fi-gate", time="0")
        errors += 1
        why = f"not gated: {v.message}" if v.exit_code == 0 else v.message
        node = ET.SubElement(case, "error", message=xml_text(why, 500), type=v.verdict)
        node.text = xml_text(why)
    elif not cases:
        ET.SubElement(suite, "testcase", classname=classname, name="fi-gate", time="0")
    suite.set("tests", str(sum(1 for child in suite if child.tag == "testcase")))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    suite.set("time", "0")
    suite.set("timestamp", v.generated_at.strftime("%Y-%m-%dT%H:%M:%S"))
    return suite
