"""A dotenv file for GitLab's `artifacts:reports:dotenv`: three variables, values made safe."""

from __future__ import annotations

import re

from gate.verdict import Verdict

_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]")


def _safe(value: str) -> str:
    return _UNSAFE.sub("", value)[:100]


def render(v: Verdict) -> str:
    values = {
        "FI_GATE_VERDICT": v.verdict,
        "FI_GATE_EXECUTION_ID": v.execution.execution_id if v.execution else "",
        "FI_GATE_FAILED_CHECKS": str(len(v.failed_checks)),
        "FI_GATE_EXIT_CODE": str(v.exit_code),
    }
    return "".join(f"{k}={_safe(val)}\n" for k, val in values.items())
