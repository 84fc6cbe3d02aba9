"""`fi-gate demo`: a real verdict in the first minute, with no account and no checkout.

Judges the example execution of the API documentation (shipped in the package: 30 calls,
`is_helpful` at 80.77 %) against a one-rule policy, exactly as `check --from-file` would, and
prints the report. `--fail` raises the threshold to 81 to show a failure; `--markdown` prints
the job summary a CI run would show instead.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from typing import TYPE_CHECKING

from gate.console import Console, colour, stdout

if TYPE_CHECKING:
    from gate.settings import Session

NEXT = """
next: this was `fi-gate check --policy POLICY --from-file EXECUTION` on the example data.
  fi-gate init --run-test NAME     write a policy from your run test's recent executions
  fi-gate check --run-test NAME    judge its latest execution (FI_API_KEY, FI_SECRET_KEY)
  fi-gate run --run-test NAME      start a simulation of it, wait, and judge that one"""


def command(args: argparse.Namespace, session: Session) -> int:
    from gate.evaluate import evaluate
    from gate.judge import now, read_execution_file
    from gate.policy import parse_policy
    from gate.render import markdown, text
    from gate.verdict import GateResult

    data = resources.files("gate.examples")
    policy_text = data.joinpath("policy.yml").read_text("utf-8")
    if args.fail:
        policy_text = policy_text.replace("min_pass_rate: 80", "min_pass_rate: 81")
    policy = parse_policy(policy_text, "demo policy")
    with resources.as_file(data.joinpath("execution.json")) as path:
        execution = read_execution_file(str(path))
    verdict = evaluate(policy, execution, now(), source="the example execution")
    result = GateResult((verdict,))
    console = Console(sys.stderr)
    console.info("judging the example execution (the API documentation's) against this policy:")
    for line in policy_text.splitlines():
        if not line.startswith("#"):
            console.write_line(f"  {line}")
    if args.markdown:
        stdout(markdown.render(result))
    else:
        from gate.outputs import terminal_width

        shown = colour(args.no_color, session, sys.stdout)
        stdout(text.render(result, colour=shown, width=terminal_width()))
    console.write_line(NEXT.strip("\n"))
    return result.exit_code
