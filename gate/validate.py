"""`fi-gate validate`: each policy file checked, one line per problem, exit 0 or 2."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gate.errors import ConfigError
from gate.policy import load_policy

if TYPE_CHECKING:
    from gate.console import Console


def command(paths: Sequence[str], console: Console, *, annotate: bool = False) -> int:
    """`fi-gate validate`: a line per problem (file:line: path: what), exit 0 or 2; with
    `annotate` (a GitHub job), each problem is also an annotation on its file and line."""
    from gate.console import stdout
    from gate.render.github import located_error

    code = 0
    for path in paths:
        try:
            policy = load_policy(path)
        except ConfigError as exc:
            for line in str(exc).splitlines():
                console.write_line(line)
                if annotate:
                    console.command(located_error(line))
            code = 2
        else:
            rules = len(policy.evals)
            stdout(f"{path}: ok (version 1, {rules} eval rule{'s' if rules != 1 else ''})\n")
    return code
