"""'Did you mean' hints, one way everywhere: a name that differs only in case first, then
(where asked) a close spelling. Names come from the API or the policy, so they are clipped."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from gate.redact import clip


def did_you_mean(
    name: str, candidates: Sequence[str], *, close: bool = True, cutoff: float = 0.75
) -> str:
    """`"; did you mean 'X'?"`, or "" when no candidate fits."""
    same = [c for c in candidates if c.lower() == name.lower() and c != name]
    near = same or (
        difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff) if close else []
    )
    return f"; did you mean '{clip(near[0], 80)}'?" if near else ""


def unknown_command(word: str, commands: Sequence[str]) -> str:
    """The message for `fi-gate chek`: what was typed, the likely command, and the list."""
    hint = did_you_mean(word, commands, cutoff=0.6)
    return f"unknown command '{clip(word, 40)}'{hint}; the commands are {', '.join(commands)}"
