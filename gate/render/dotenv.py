"""A dotenv file for GitLab's `artifacts:reports:dotenv`: a few variables, values made safe.

GitLab passes these variables to later jobs, so none of them is a variable fi-gate reads
(`gate.settings.reads()`): a second gate must never take the first one's execution as input.
"""

from __future__ import annotations

import re

from gate.verdict import GateResult

_UNSAFE = re.compile(r"[^A-Za-z0-9._:/-]")


def _safe(value: str) -> str:
    return _UNSAFE.sub("", value)[:400]  # commas too: several ids are joined with them


JOINED = frozenset(
    {"FI_GATE_JUDGED_EXECUTION_ID", "FI_GATE_EXECUTION_URL", "FI_GATE_POOLED_EXECUTION_IDS"}
)


def render(result: GateResult) -> str:
    ids = [_safe(v.execution.execution_id) for v in result.verdicts if v.execution]
    links = [_safe(v.link) for v in result.verdicts if v.link]
    values = {
        "FI_GATE_VERDICT": result.verdict,
        "FI_GATE_PASSED": "true" if result.passed else "false",
        "FI_GATE_GATED": "true" if result.gated else "false",
        "FI_GATE_JUDGED_EXECUTION_ID": ",".join(ids),
        "FI_GATE_EXECUTION_URL": ",".join(links),
        "FI_GATE_FAILED_CHECKS": str(result.failed_checks),
        "FI_GATE_UNDECIDED_CHECKS": str(result.undecided_checks),
        "FI_GATE_POOLED_EXECUTION_IDS": ",".join(
            _safe(p.execution_id) for v in result.verdicts for p in v.pooled
        ),
        "FI_GATE_EXIT_CODE": str(result.exit_code),
    }
    return "".join(f"{k}={_safe(val) if k not in JOINED else val}\n" for k, val in values.items())
