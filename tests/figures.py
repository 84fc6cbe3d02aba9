"""Figures the test suite records for docs/reliability.md (written by conftest at session end)."""

from __future__ import annotations

import re
from collections import defaultdict

# section -> {case: outcome}
RECORDS: dict[str, dict[str, str]] = defaultdict(dict)


def record(section: str, case: str, outcome: str) -> None:
    """Keep the figures stable from run to run: no ports, no timings."""
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
}


def render() -> str:
    lines = [
        "# Reliability figures",
        "",
        "Produced by the test suite (`.venv/bin/python -m pytest`); every row is an assertion",
        "that passed in the run that wrote this file. CI fails if this file is out of date.",
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
