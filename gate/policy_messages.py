"""jsonschema's errors in the words of a policy: one line each, at the file's line, naming the
path, with a did-you-mean where one helps (`_describe`). Used by policy.py."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from gate import yamldoc
from gate.hints import did_you_mean


def leaves(error: Any) -> Iterator[Any]:
    """The errors that say something: for anyOf, those of the branch that fits the value's type."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        kinds = _json_types(error.instance)
        fitting = {i for i, b in enumerate(error.validator_value) if _branch_types(b) & kinds}
        chosen = [e for e in error.context if e.relative_schema_path[0] in fitting]
        if chosen:
            for e in chosen:
                yield from leaves(e)
            return
    yield error


def _json_types(value: Any) -> set[str]:
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int):
        return {"integer", "number"}
    if isinstance(value, float):
        return {"number", "integer"} if value.is_integer() else {"number"}
    if isinstance(value, str):
        return {"string"}
    if isinstance(value, dict):
        return {"object"}
    if isinstance(value, list):
        return {"array"}
    return {"null"}


def _branch_types(branch: Mapping[str, Any]) -> set[str]:
    if "type" in branch:
        t = branch["type"]
        return set(t) if isinstance(t, list) else {t}
    values = branch.get("enum", [branch["const"]] if "const" in branch else [])
    return set().union(*(_json_types(v) for v in values)) if values else set()


def dotted(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def describe(error: Any, path: tuple[Any, ...], doc: yamldoc.Document) -> tuple[int | None, str]:
    where = dotted(path)
    line = doc.line_of(path)
    v = error.validator
    if v == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
        key = extra[0] if extra else "?"
        line = doc.line_of((*path, key), key=True)
        hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        tail = f"; did you mean '{hint[0]}'?" if hint else f" (allowed: {', '.join(allowed)})"
        return line, f"{dotted((*path, key))}: unknown key '{key}'{tail}"
    if v == "required":
        missing = re.findall(r"'([^']+)' is a required property", error.message)
        name = missing[0] if missing else "?"
        fix = " (add `version: 1` at the top)" if name == "version" else ""
        return line or 1, f"{dotted((*path, name))}: required key is missing{fix}"
    if v == "const" and path == ("version",):
        return line, f"version: {error.instance!r} is not supported; this fi-gate reads version 1"
    if v == "enum":
        names = [str(o) for o in error.validator_value if isinstance(o, str)]
        close = did_you_mean(str(error.instance), names, cutoff=0.6)
        return line, f"{where}: {error.instance!r} is not one of {', '.join(names)}{close}"
    if v in ("maximum", "exclusiveMaximum") and path and path[-1] == "confidence":
        value = error.instance
        guess = f"; did you mean {value / 100:g}?" if 1 < value < 100 else ""
        return line, f"{where}: {value!r} is not a confidence level above 0.5 and below 1{guess}"
    if v == "pattern" and path and path[-1] == "max_age":
        return line, f"{where}: {error.instance!r} is not a duration like 90s, 30m, 24h or 7d"
    if v == "pattern" and path and path[-1] == "max_failed_calls":
        return line, f'{where}: {error.instance!r} is not a count (3) or a percent ("10%")'
    if v == "type":
        expected = error.validator_value
        return line, f"{where}: expected {_an(expected)}, got {type_name(error.instance)}" + (
            _percent_hint(error.instance)
        )
    if v == "minProperties":
        return line, f"{where}: must name at least one choice, e.g. {{Positive: 60}}"
    if v in ("anyOf", "oneOf") and path and path[-1] == "max_failed_calls":
        return line, f'{where}: {error.instance!r} is not a count (3) or a percent ("10%")'
    if v in ("anyOf", "oneOf"):
        words = []
        for branch in error.validator_value:
            if branch.get("type") == "object":
                words.append("a mapping of thresholds")
            elif "enum" in branch:
                words.append(" or ".join(repr(o) for o in branch["enum"] if isinstance(o, str)))
            elif "type" in branch:
                words.append(_an(branch["type"]))
        return line, f"{where}: expected {' or '.join(words)}, got {type_name(error.instance)}"
    return line, f"{where}: {error.message}"


def _percent_hint(value: Any) -> str:
    """`"80%"` where a number was expected: say to drop the sign."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*%\s*", value) if isinstance(value, str) else None
    return f"; write {m.group(1)} (rates are percentages, without the % sign)" if m else ""


def _an(expected: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    words = {
        "object": "a mapping",
        "array": "a list",
        "string": "text",
        "number": "a number",
        "integer": "a whole number",
        "boolean": "true or false",
        "null": "nothing",
    }
    return " or ".join(words.get(str(n), str(n)) for n in names)


def type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    return f"text ({value!r})"
