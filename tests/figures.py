"""Figures the tests record for docs/reliability.md, and the command that writes it.

    .venv/bin/python -m tests.figures           # run the recording tests, write the file
    .venv/bin/python -m tests.figures --check   # the same run; exit 1 if the file's cases differ

Every row is an assertion that passed in the run that wrote it. The file is written only after
a green run of every test file that records (FILES), so the figures are never partial. CI runs
`--check`: the cases (first column) must be what is committed; outcome wording may vary.
"""

from __future__ import annotations

import re
from collections import defaultdict

# section -> {case: outcome}
RECORDS: dict[str, dict[str, str]] = defaultdict(dict)


def record(section: str, case: str, outcome: str) -> None:
    """Keep the figures stable from run to run: no ports, no timings."""
    assert section in SECTIONS, f"no section {section!r} in tests/figures.py: it would be lost"
    outcome = re.sub(r"127\.0\.0\.1:\d+", "the API host", outcome)
    outcome = re.sub(
        r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "…", outcome
    )
    RECORDS[section][case] = outcome.replace("|", "\\|")


# attack class -> {example tried: outcome}
ATTACKS: dict[str, dict[str, str]] = defaultdict(dict)


def attack(cls: str, example: str, outcome: str) -> None:
    """One attack tried (issue #12's classes): the table groups the examples by class."""
    ATTACKS[cls][example.replace("|", "\\|")] = outcome.replace("|", "\\|")


def counter(section: str, case: str, n: int, outcome: str) -> None:
    assert section in SECTIONS, f"no section {section!r} in tests/figures.py: it would be lost"
    RECORDS[section][case] = f"{n} examples: {outcome}"


SECTIONS = {
    "faults": ("Fault modes of the API and the network", "fault", "outcome"),
    "fuzz": ("Inputs fuzzed (hypothesis, fixed seed)", "property", "outcome"),
    "secrets": ("Secret-leak checks (canary keys, every output, --verbose)", "path", "outcome"),
    "hostile": ("Hostile API content", "sink", "outcome"),
    "fidelity": ("The fake against the real server's captured answers", "capture", "outcome"),
    "run": (
        "`fi-gate run` end to end (the fake's executions progress over time)",
        "case",
        "outcome",
    ),
    "evidence": (
        "`evidence:` (fi-gate run until decided): simulated gates and end-to-end cases",
        "case",
        "outcome",
    ),
}


def export() -> dict[str, dict[str, dict[str, str]]]:
    """What this process recorded, for the process that writes the file (an xdist worker's)."""
    return {"records": {k: dict(v) for k, v in RECORDS.items()},
            "attacks": {k: dict(v) for k, v in ATTACKS.items()}}  # fmt: skip


def merge(data: dict[str, dict[str, dict[str, str]]]) -> None:
    for section, rows in data.get("records", {}).items():
        RECORDS[section].update(rows)
    for cls, rows in data.get("attacks", {}).items():
        ATTACKS[cls].update(rows)


class Gather:
    """A pytest plugin for `main`: each xdist worker's figures, merged as it goes down."""

    def pytest_testnodedown(self, node: object, error: object) -> None:
        output = getattr(node, "workeroutput", {})
        merge(output.get("figures", {}))


def render() -> str:
    lines = [
        "# Reliability figures",
        "",
        "Written by `.venv/bin/python -m tests.figures` (a run of the tests that record); every",
        "row is an assertion that passed in the run that wrote this file. CI runs it with",
        "`--check` and fails if the cases listed here are not the ones the tests ran.",
        "",
    ]
    lines += [
        "## Attacks: what a careless user or an attacker tried, and what fi-gate did",
        "",
        "| class | examples tried | outcome |",
        "|---|---|---|",
    ]
    for cls in sorted(ATTACKS):
        tried = ATTACKS[cls]
        outcomes = "; ".join(dict.fromkeys(tried.values()))
        lines.append(f"| {cls} | {'; '.join(sorted(tried))} | {outcomes} |")
    lines += ["", f"{len(ATTACKS)} class(es), {sum(map(len, ATTACKS.values()))} example(s).", ""]
    for key, (title, col, outcome) in SECTIONS.items():
        rows = RECORDS.get(key, {})
        lines += [f"## {title}", "", f"| {col} | {outcome} |", "|---|---|"]
        lines += [f"| {case} | {result} |" for case, result in sorted(rows.items())]
        lines += ["", f"{len(rows)} case(s).", ""]
    return "\n".join(lines)


def files() -> list[str]:
    """The test files that record figures."""
    from pathlib import Path

    here = Path(__file__).parent
    return sorted(
        str(p)
        for p in here.glob("test_*.py")
        if re.search(r"\b(record|attack|counter)\(", p.read_text())
    )


def cases(text: str) -> list[str]:
    """The first column of every table row: what the check compares."""
    return sorted(
        line.split("|")[1].strip()
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| class |")
    )


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys
    from pathlib import Path

    import pytest

    parser = argparse.ArgumentParser(prog="python -m tests.figures", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    target = Path(__file__).parent.parent / "docs" / "reliability.md"
    # The tests run in xdist's workers: each hands its figures over when it ends (conftest.py),
    # and Gather merges them here.
    code = pytest.main(["-q", "-p", "no:cacheprovider", *files()], plugins=[Gather()])
    if code != 0 or not RECORDS:
        print("figures: the recording tests did not all pass; nothing written", file=sys.stderr)
        return 1
    text = render()
    if args.check:
        committed = target.read_text() if target.exists() else ""
        if cases(committed) != cases(text):
            missing = sorted(set(cases(text)) - set(cases(committed)))
            extra = sorted(set(cases(committed)) - set(cases(text)))
            print(
                "figures: docs/reliability.md is out of date: run `python -m tests.figures` and "
                f"commit it (new: {missing[:5]}; gone: {extra[:5]})",
                file=sys.stderr,
            )
            return 1
        print(f"figures: docs/reliability.md lists the {len(cases(text))} cases the tests ran")
        return 0
    target.parent.mkdir(exist_ok=True)
    target.write_text(text)
    print(f"figures: wrote {target} ({len(cases(text))} cases)")
    return 0


if __name__ == "__main__":
    # The tests record into the module `tests.figures`, not into this `__main__` copy of it.
    from tests import figures

    raise SystemExit(figures.main())
