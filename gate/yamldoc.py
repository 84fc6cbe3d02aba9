"""Load a YAML document into plain data while remembering the line of every value.

PyYAML's own constructors lose positions, silently keep the last of duplicate keys and expand
aliases without limit. Policies are small, so we compose the node tree and build the data
ourselves: duplicate keys are errors, anchors may be reused but the expanded size is bounded, and
nesting depth is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

try:  # the C parser is faster where libyaml is present; same node tree either way
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Path = tuple[str | int, ...]

MAX_BYTES = 1024 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 64
DEEP = f"the document is nested more than {MAX_DEPTH} levels deep"


class YamlError(Exception):
    """A problem with the document, at a line (1-based) when one is known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass
class Document:
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    key_lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path, *, key: bool = False) -> int | None:
        """The line of the value at `path` (or of its key), else of the nearest ancestor."""
        p = tuple(path)
        if key and p in self.key_lines:
            return self.key_lines[p]
        while True:
            if p in self.lines:
                return self.lines[p]
            if not p:
                return None
            p = p[:-1]


def decode(raw: bytes) -> str:
    """Policy bytes to text, refusing binary and non-UTF-8 files with a precise reason."""
    if len(raw) > MAX_BYTES:
        raise YamlError(f"the file is {len(raw):,} bytes; a policy is at most {MAX_BYTES:,}")
    if b"\x00" in raw:
        raise YamlError("the file is binary (it contains NUL bytes), not a YAML policy")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlError(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8", line
        ) from exc
    return text.removeprefix("\ufeff")


def load(text: str) -> Document:
    """Parse one YAML document; raise YamlError with a line for every problem."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # PyYAML 6.0.4 and newer stop at their own depth
            raise YamlError(DEEP, mark.line + 1 if mark else None) from exc
        ctx = exc.context_mark
        if exc.context and ctx and exc.problem_mark and ctx.line != exc.problem_mark.line:
            problem += f" ({exc.context} that starts on line {ctx.line + 1})"
        raise YamlError(
            f"YAML syntax error: {problem}",
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
        ) from exc
    except yaml.YAMLError as exc:  # never its text: it may quote the file
        raise YamlError(f"YAML error ({type(exc).__name__})") from exc
    except RecursionError as exc:
        raise YamlError(DEEP) from exc
    finally:
        loader.dispose()
    doc = Document(data=None)
    if node is None:
        return doc
    builder = _Builder(doc)
    doc.data = builder.build(node, (), 0)
    return doc


class _Builder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.count = 0
        self.scalars = _Loader("")  # used only for its scalar resolvers and constructors

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.count += 1
        line = node.start_mark.line + 1
        if self.count > MAX_NODES:
            raise YamlError(
                f"the document expands to more than {MAX_NODES:,} values "
                "(an alias bomb?); a policy is far smaller",
                line,
            )
        if depth > MAX_DEPTH:
            raise YamlError(DEEP, line)
        self.doc.lines.setdefault(path, line)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        try:
            return self.scalars.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:  # its text quotes the line: say only the problem
            raise YamlError(f"cannot read the value: {exc.problem or 'invalid'}", line) from exc
        except yaml.YAMLError as exc:
            raise YamlError(f"cannot read the value ({type(exc).__name__})", line) from exc

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        pairs = list(node.value)
        # `<<: *anchor` merges: expand them first, explicit keys win.
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in pairs:
            if key_node.tag == "tag:yaml.org,2002:merge":
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for src in sources:
                    if not isinstance(src, yaml.MappingNode):
                        raise YamlError(
                            "a merge key (<<) needs a mapping", key_node.start_mark.line + 1
                        )
                    merged.extend(src.value)
        for key_node, value_node in pairs:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError("a key must be plain text, not a list or mapping", key_line)
            key = str(key_node.value)
            if key in first_line:
                where = ".".join(str(p) for p in (*path, key))
                raise YamlError(
                    f"{where}: duplicate key (first defined on line {first_line[key]})", key_line
                )
            first_line[key] = key_line
            child = (*path, key)
            self.doc.key_lines[child] = key_line
            out[key] = self.build(value_node, child, depth + 1)
        for key_node, value_node in merged:
            key = str(key_node.value)
            if key not in out and isinstance(key_node, yaml.ScalarNode):
                out[key] = self.build(value_node, (*path, key), depth + 1)
        return out
