"""'Did you mean' hints, one way everywhere: a name that differs only in case first, then
(where asked) a close spelling. Names come from the API or the policy, so they are clipped."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

from gate.redact import clip


def did_you_mean(
    name: str, candidates: Sequence[str], *, close: bool = True, cutoff: float = 0.75
) -> str:
    """`"; did you mean 'X'?"`, or "" when no candidate fits."""
    same = [c for c in candidates if c.lower() == name.lower() and c != name]
    near = same or (
        difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff) if close else []
    )
    return f"; did you mean '{clip(near[0], 80)}'?" if near else ""


def unknown_command(word: str, commands: Sequence[str]) -> str:
    """The message for `fi-gate chek`: what was typed, the likely command, and the list."""
    hint = did_you_mean(word, commands, cutoff=0.6)
    return f"unknown command '{clip(word, 40)}'{hint} (commands: {', '.join(commands)})"


# Where a setting comes from in each interface: (flags, variables) -> the action's input name.
# The component's inputs are the same names with underscores.
INPUTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("--policy", "FI_GATE_POLICY"), "policy"),
    (("--run-test-id", "FI_GATE_RUN_TEST_ID"), "run-test-id"),
    (("--run-test", "FI_GATE_RUN_TEST"), "run-test"),
    (("--execution-id", "FI_GATE_EXECUTION_ID"), "execution-id"),
    (("--select", "FI_GATE_SELECT"), "select"),
    (("--timeout", "FI_GATE_TIMEOUT"), "timeout"),
    (("--on-api-error", "FI_GATE_ON_API_ERROR"), "on-api-error"),
    (("--wait", "FI_GATE_WAIT"), "wait"),
    (("--calls", "FI_GATE_CALLS"), "calls"),
    (("--scenario", "FI_GATE_SCENARIOS"), "scenarios"),
    (("--no-cancel", "FI_GATE_CANCEL"), "cancel"),
    (("--comment", "FI_GATE_COMMENT"), "comment"),
    (("--base-url", "FI_GATE_INPUT_BASE_URL", "FI_BASE_URL"), "base-url"),
    (("FI_GATE_MODE",), "mode"),
    (("FI_APP_URL",), "app-url"),
    (("--report", "FI_GATE_REPORT"), "report"),
    (("--junit", "FI_GATE_JUNIT"), "junit"),
    (("FI_GATE_STEP_SUMMARY",), "summary"),
)
KEYS = {"FI_API_KEY": "api-key", "FI_SECRET_KEY": "secret-key"}


def for_interface(text: str, interface: str | None) -> str:
    """`text` with the flags and variables it names written as the inputs of the interface the
    user is in: inside the GitHub action, "set the `select` input" rather than "--select".
    Commands quoted in backticks (`fi-gate init --run-test NAME`) are left as they are."""
    if interface not in ("github-action", "gitlab-component"):
        return text
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # outside backticks only
        parts[i] = _inputs(parts[i], gitlab=interface == "gitlab-component")
    return "`".join(parts)


def _inputs(text: str, *, gitlab: bool) -> str:
    for names, name in INPUTS:
        label = f"the {name.replace('-', '_') if gitlab else name} input"
        for old in names:
            text = re.sub(rf"(?<![\w-]){re.escape(old)}=('[^']*'|\S+)", rf"{label} (\1)", text)
            text = re.sub(rf"(?<![\w-]){re.escape(old)}(?![\w-])", label, text)
        text = text.replace(f"{label} or {label}", label)
    if not gitlab:  # the action's keys are inputs too (or the workflow's env)
        for variable, name in KEYS.items():
            text = re.sub(rf"\b{variable}\b", f"the {name} input ({variable})", text)
    return text
