"""`baseline.scenarios` against `--calls`: the time of a gate that reads and compares the calls
of two executions, as a ratio to the time of `--calls` on one, side by side in one process.

    .venv/bin/python -m bench.scenarios [--calls 20000] [--rounds 7]

Target (issue #21): at most 2.2x with 20,000 calls in each execution. Both are measured in
turns against the same fake (pages cached, so the client is what is timed), the median of
`--rounds` each, after a warm-up of both; the ratio is what is reported, never a time.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gate.cli import main as gate_main
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, Store
from tests.fakeapi.store import EvalConfig, EvalTemplate, Execution, RunTest, generate_calls

TARGET = 2.2
PLAIN = "version: 1\nevals:\n  is_helpful: {min_pass_rate: 0}\n"
PAIRED = PLAIN + "baseline:\n  compare_to: previous\n  scenarios: {max_regressed: 0}\n"


def _store(calls: int) -> Store:
    now = datetime.now(timezone.utc)
    config = EvalConfig("11111111-1111-4111-8111-111111111111", "helpful")
    template = EvalTemplate("44444444-4444-4444-8444-444444444444", "is_helpful", "Pass/Fail",
                            [config])  # fmt: skip
    names = [f"Scenario {i}" for i in range(100)]
    ids = {n: str(uuid.uuid5(uuid.NAMESPACE_URL, n)) for n in names}

    def execution(hours: int, seed: int) -> Execution:
        start = now - timedelta(hours=hours)
        gen = {"calls": calls, "rates": {"helpful": 85}, "scenarios": names, "scenario_ids": ids}
        made = generate_calls(gen, [template], random.Random(seed), start)
        return Execution(str(uuid.uuid4()), "completed", start, start, start, made)

    return Store(
        [RunTest(str(uuid.uuid4()), "Bench", [template], [execution(1, 1), execution(9, 2)])]
    )


def _time(argv: list[str], env: dict[str, str]) -> float:
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = gate_main(["check", "--run-test", "Bench", *argv], env)
    took = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"bench: fi-gate exited {code}: {err.getvalue()[-300:]}")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scenarios", description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp())
    plain, paired = folder / "plain.yml", folder / "paired.yml"
    plain.write_text(PLAIN)
    paired.write_text(PAIRED)
    with FakeApi(_store(args.calls), cache_pages=True) as api:
        env = {"FI_BASE_URL": api.url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY}
        one = ["--calls", "--policy", str(plain)]
        two = ["--policy", str(paired)]
        _time(one, env), _time(two, env)  # warm-up: the fake's caches, the imports
        ones, twos = [], []
        for _ in range(args.rounds):
            ones.append(_time(one, env))
            twos.append(_time(two, env))
    ratio = statistics.median(twos) / statistics.median(ones)
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"scenarios vs --calls at {args.calls:,} calls each: {ratio:.2f}x (target <= "
          f"{TARGET}x: {verdict})")  # fmt: skip
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
