"""Small helpers to build verdicts from files, for the renderer and output tests."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from gate.evaluate import evaluate
from gate.model import parse_execution
from gate.policy import parse_policy
from gate.verdict import Verdict


def verdict_of(policy: str, execution_file: Path, now: datetime) -> Verdict:
    data = json.loads(execution_file.read_text())
    return evaluate(parse_policy(policy), parse_execution(data.get("result", data)), now)
