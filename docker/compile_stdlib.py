"""Compile the standard-library modules fi-gate loads, in the image.

The official `python:*-slim` images delete the standard library's bytecode; without it every
job compiles them again at start-up (measured in the container: `import gate.cli` 207 ms against
50 ms, a whole `check` 553 ms against 244 ms). fi-gate's entry points are imported here, and
each standard-library module they load gets its `.pyc` (unchecked hashes, as for fi-gate's).
"""

from __future__ import annotations

import importlib
import py_compile
import sys
import sysconfig

ENTRY_POINTS = (
    "gate.cli",
    "gate.judge",
    "gate.api",
    "gate.runs",
    "gate.transport",
    "gate.network",
    "gate.evaluate",
    "gate.policy",
    "gate.comment",
    "gate.render.markdown",
    "gate.render.text",
    "gate.render.junit",
    "gate.render.report",
    "gate.render.github",
    "gate.render.dotenv",
    "truststore",
    "certifi",
)


def main() -> int:
    for name in ENTRY_POINTS:
        importlib.import_module(name)
    stdlib = sysconfig.get_paths()["stdlib"]
    compiled = 0
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None) or ""
        if path.startswith(stdlib) and path.endswith(".py"):
            py_compile.compile(
                path,
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
            )
            compiled += 1
    print(f"compiled {compiled} standard-library modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
