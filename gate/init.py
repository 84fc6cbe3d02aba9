"""`fi-gate init`: a commented starter policy drawn from a run test's recent executions.

`starter_policy` is pure: takes the executions, returns the YAML text. Each eval's threshold sits
a little under the lowest value observed, with the figures it was drawn from in a comment.
`command` is the command: it reads the executions through the API and writes the file.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gate.errors import (
    EXIT_PASS,
    EXIT_USAGE,
    ConfigError,
    GateError,
    NotFoundError,
    UsageError,
)
from gate.metrics import CHOICES, HEADLINE
from gate.model import Execution

if TYPE_CHECKING:
    from gate.console import Console
    from gate.settings import Access

MARGIN = 3.0  # points under the lowest observed value


def _quote(name: str) -> str:
    """A YAML key that stays the literal name (and is not read as a glob by accident)."""
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _comment(text: str) -> str:
    return " ".join(text.split()).replace("\n", " ")


def starter_policy(run_test: str, executions: Sequence[Execution]) -> str:
    """The policy text; `executions` are completed ones, newest first."""
    names: list[str] = []
    for ex in executions:
        for ev in ex.evals:
            if ev.name not in names:
                names.append(ev.name)
    failed_share = [100 * ex.failed_calls / ex.total_calls for ex in executions if ex.total_calls]
    worst_failed = max(failed_share, default=0.0)
    allowed_failed = min(100, max(5, math.ceil(worst_failed + 5)))
    ids = ", ".join(ex.execution_id[:8] for ex in executions)
    lines = [
        f"# fi-gate policy drawn from the last {len(executions)} completed execution(s) of",
        f"# {_comment(run_test)!r} ({ids}).",
        f"# Thresholds sit {MARGIN:g} points under the lowest value observed: review them, then",
        "# raise them as the agent improves. Reference: https://github.com/future-agi/fi-gate",
        "version: 1",
        f"run_test: {_quote(run_test)}",
        "",
        "execution:",
        f"  max_failed_calls: {allowed_failed}%   # worst seen: {worst_failed:.1f}% failed",
        "",
        "defaults:",
        "  level: error",
        "  # confidence: 0.95   # judge the interval's lower bound instead of the point estimate,",
        "  #                    # once runs have enough calls for it (docs/statistics.md)",
        "",
        "# baseline:             # compare with an earlier execution of this run test",
        "#   compare_to: last-passing",
        "#   max_drop: 5         # percentage points a pass rate may drop",
        "#   scenarios:          # which scenarios broke: paired by scenario, Pass/Fail evals",
        "#     max_regressed: 0  # (reads every call of both executions; docs/statistics.md)",
        "",
    ]
    body: list[str] = []
    for name in names:
        body += _rule(name, executions)
    if body:
        lines += ["evals:", *body]
    return "\n".join(lines) + "\n"


def _rule(name: str, executions: Sequence[Execution]) -> list[str]:
    """One eval's rule: its output type's floor, a little under the lowest value seen."""
    values: list[float] = []
    kind = None
    for ex in executions:
        ev = next((e for e in ex.evals if e.name == name), None)
        if ev is None or not ev.cells:
            continue
        kind = ev.output_type
        metric = HEADLINE.get(kind)
        value = metric.observed(ev.measured()) if metric else None
        if value is not None:
            values.append(value)
    if kind == CHOICES:
        return _choices_rule(name, executions)
    metric = HEADLINE.get(kind or "")
    if not values or metric is None:
        return [f"  # {_comment(name)}: no data in these executions; not gated"]
    threshold = max(0, math.floor(min(values) - MARGIN))
    seen = ", ".join(f"{v:g}" for v in values)
    return [
        f"  {_quote(name)}:",
        f"    {metric.key}: {threshold}   # observed {min(values):g}-{max(values):g} ({seen})",
    ]


def _choices_rule(name: str, executions: Sequence[Execution]) -> list[str]:
    """A choices eval: a floor under the choice that was the most common in every execution."""
    shares: dict[str, list[float]] = {}
    runs = 0
    for ex in executions:
        found = next((e for e in ex.evals if e.name == name and e.cells), None)
        if found is None:
            continue
        runs += 1
        for choice, value in found.total_choices_avg.items():
            if value is not None:
                shares.setdefault(choice, []).append(value)
    steady = {c: v for c, v in shares.items() if len(v) == runs and runs}
    if not steady:
        return [f"  # {_comment(name)}: a choices eval; add min_choice_rate / max_choice_rate"]
    choice, values = max(steady.items(), key=lambda cv: min(cv[1]))
    threshold = max(0, math.floor(min(values) - MARGIN))
    return [
        f"  {_quote(name)}:",
        f"    min_choice_rate: {{{_quote(choice)}: {threshold}}}   # observed "
        f"{min(values):g}-{max(values):g}; add max_choice_rate for unwanted choices",
    ]


def command(args: argparse.Namespace, access: Callable[[], Access], console: Console) -> int:
    """`fi-gate init`: the exit code; errors are said on the console. `access` resolves the
    API's address and keys (settings.access), once the flags are known to be sound."""
    from gate.console import stdout
    from gate.files import write_atomic

    try:
        text, learnt = _draft(args, access)
    except GateError as exc:
        console.error(str(exc))
        return exc.exit_code
    if args.output == "-":
        stdout(text)
        return EXIT_PASS
    try:
        write_atomic(args.output, text)  # never through a link planted at the path
    except OSError as exc:
        console.error(f"cannot write {args.output}: {exc.strerror}; check the path and permissions")
        return EXIT_USAGE
    console.info(f"wrote {args.output} from {learnt} execution(s); review it, commit it")
    return EXIT_PASS


def _draft(args: argparse.Namespace, access: Callable[[], Access]) -> tuple[str, int]:
    """The starter policy's text, and the number of executions it was drawn from."""
    from gate.api import Client
    from gate.model import parse_execution
    from gate.policy import parse_policy
    from gate.settings import DEFAULT_TIMEOUT
    from gate.transport import Deadline

    if not 1 <= args.from_last <= 20:
        raise UsageError("--from-last takes 1 to 20 executions")
    if args.output != "-" and Path(args.output).exists() and not args.force:
        raise UsageError(f"{args.output} exists; pass --force to overwrite it")
    where = access()
    with Client(
        where.base_url,
        where.api_key,
        where.secret_key,
        deadline=Deadline(DEFAULT_TIMEOUT),
        network=where.network,
    ) as client:
        # One listing page: it carries every execution's eval results.
        try:
            _, _, items = client.list_executions(args.run_test, 1, min(50, args.from_last * 3))
        except NotFoundError as exc:  # the platform's search may know the name meant
            from gate.judge import unknown_run_test

            raise unknown_run_test(client, args.run_test, exc) from exc
    done = [parse_execution(item) for item in items]
    done = [e for e in done if e.status == "completed"][: args.from_last]
    if not done:
        raise UsageError(
            f"run test {args.run_test!r} has no completed execution among its newest; run it first"
        )
    text = starter_policy(args.run_test, done)
    try:
        parse_policy(text, "<generated>")  # never write a policy that does not validate
    except ConfigError as exc:
        raise UsageError(
            f"no eval of run test {args.run_test!r} has data in its last {len(done)} "
            "completed execution(s), so there is nothing to draw thresholds from; attach "
            "evals to the run test and run it"
        ) from exc
    return text, len(done)
