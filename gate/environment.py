"""The environment, read once: `cli.main` takes a snapshot of the variables fi-gate reads and
hands it to `settings.py`, the only reader; every other module receives resolved values.

The names are not listed here: each table declares its own (`settings.OPTIONS`, the outputs of
`outputs.OUTPUTS`, `network.READS`, the CI and console names in settings.py), and
`settings.reads()` is their union. Outputs never become inputs: no output (dotenv, GitHub
outputs) may define one of those names (a test holds the renderers to the list). An empty value
is the same as an unset one: the GitHub action passes every input, set or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gate.errors import UsageError

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class Environment:
    """The declared variables' values at start-up; nothing else of the process's environment
    is kept. Reading a name that was not declared is a bug (an AssertionError), so that every
    variable fi-gate reads is in the list that outputs are held to."""

    def __init__(self, variables: Mapping[str, str], names: Iterable[str]) -> None:
        self.names = frozenset(names)
        self._values = {n: variables[n] for n in self.names if n in variables}

    def _declared(self, name: str) -> None:
        if name not in self.names:
            raise AssertionError(f"{name} is read but not declared (settings.reads())")

    def present(self, name: str) -> bool:
        """Set at all, even empty (NO_COLOR's convention)."""
        self._declared(name)
        return name in self._values

    def text(self, name: str) -> str | None:
        """The variable's value, stripped; None when unset or empty."""
        self._declared(name)
        return self._values.get(name, "").strip() or None

    def values(self, names: Iterable[str]) -> dict[str, str]:
        """The given variables that are set, as they are (for a table that parses its own)."""
        wanted = tuple(names)
        for name in wanted:
            self._declared(name)
        return {n: self._values[n] for n in wanted if n in self._values}

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean variable: true/false, 1/0, yes/no, on/off (any case); else exit 2."""
        value = self.text(name)
        if value is None:
            return default
        word = value.lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise UsageError(
            f"{name}={value[:40]!r} is not a boolean; use true or false (also 1/0, yes/no, on/off)"
        )

    def choice(self, name: str, options: tuple[str, ...]) -> str | None:
        """An enum variable, checked against the same options as its flag; exit 2 otherwise."""
        value = self.text(name)
        if value is None or value in options:
            return value
        raise UsageError(f"{name}={value[:40]!r} is not one of {', '.join(options)}")
