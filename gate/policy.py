"""The policy: load a YAML file, validate it against the shipped JSON Schema, build typed rules.

Every problem becomes a ConfigError whose message names the file, the line and the path, e.g.
``fi-gate.yml:12: evals.Coherence.min_pass_rate: 150 is greater than the maximum of 100``.

The rooms: this module loads (`load_policy`, `parse_policy`, `schema`); policy_messages.py
translates jsonschema's errors; policy_checks.py checks what a schema cannot say; policy_build.py
builds the typed rules of rules.py (import them from there); validate.py is `fi-gate
validate`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from gate import files, yamldoc
from gate.errors import ConfigError
from gate.policy_build import build
from gate.policy_checks import judging_problems, semantic_problems
from gate.policy_messages import describe, leaves, type_name
from gate.rules import Policy

MAX_ERRORS = 20

__all__ = ["MAX_ERRORS", "load_policy", "parse_policy", "schema"]


@cache
def schema() -> dict[str, Any]:
    """The policy JSON Schema shipped with the package."""
    text = resources.files("gate.schemas").joinpath("policy.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_policy(path: str | Path) -> Policy:
    """Read, validate and build the policy at `path`."""
    p = Path(path)
    try:
        raw = files.read_regular(p, yamldoc.MAX_BYTES)
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{p}: policy file not found; write one from your run test's recent executions "
            "with `fi-gate init --run-test NAME` (or see `fi-gate demo`), or point to yours "
            "with --policy or FI_GATE_POLICY"
        ) from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{p}: is a directory, not a policy file") from exc
    except files.Refused as exc:
        raise ConfigError(f"{p}: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read the policy file: {exc.strerror}") from exc
    return parse_policy(raw, str(p))


def parse_policy(raw: bytes | str, source: str = "<policy>") -> Policy:
    """Validate and build a policy from its text; `source` names it in messages."""
    try:
        text = yamldoc.decode(raw) if isinstance(raw, bytes) else raw
        doc = yamldoc.load(text)
    except yamldoc.YamlError as exc:
        where = source if exc.line is None else f"{source}:{exc.line}"
        if exc.column is not None:
            where += f":{exc.column}"
        raise ConfigError(f"{where}: {exc.message}") from exc
    if doc.data is None:
        raise ConfigError(
            f"{source}: the policy is empty; it needs at least `version: 1` "
            "(see policies/starter.yml)"
        )
    if not isinstance(doc.data, dict):
        # Never the value itself: a file that is not a policy may be anyone's secret.
        kind = type_name(doc.data).split(" (")[0]
        raise ConfigError(
            f"{source}:1: the policy must be a mapping of keys (version, evals, ...), not {kind}"
        )
    if not set(doc.data) & set(schema()["properties"]):
        raise ConfigError(
            f"{source}:1: this is not an fi-gate policy (none of its keys is version, evals, "
            "defaults, ...); check --policy or FI_GATE_POLICY (see policies/starter.yml)"
        )
    problems = sorted(_problems(doc), key=lambda lp: (lp[0] or 0, lp[1]))
    if problems:
        lines = [
            f"{source}:{line}: {msg}" if line else f"{source}: {msg}" for line, msg in problems
        ]
        if len(lines) > MAX_ERRORS:
            lines = [*lines[:MAX_ERRORS], f"{source}: ... and {len(lines) - MAX_ERRORS} more"]
        raise ConfigError("\n".join(lines))
    return build(doc, source)


def _problems(doc: yamldoc.Document) -> Iterator[tuple[int | None, str]]:
    import jsonschema  # imported here: `fi-gate --version` should not pay for it

    validator = jsonschema.Draft202012Validator(schema())
    seen: set[tuple[Any, ...]] = set()
    for error in validator.iter_errors(doc.data):
        for leaf in leaves(error):
            path = tuple(leaf.absolute_path)
            line, msg = describe(leaf, path, doc)
            key = (path, msg)
            if key not in seen:
                seen.add(key)
                yield line, msg
    others = list(semantic_problems(doc))
    yield from others
    if not seen and not others:  # what the policy judges, once its values are right
        yield from judging_problems(doc)
