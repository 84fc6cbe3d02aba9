"""'Did you mean' hints, one way everywhere: a name that differs only in case first, then
(where asked) a close spelling. Names come from the API or the policy, so they are clipped."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from gate.redact import clip


def did_you_mean(name: str, candidates: Sequence[str], *, close: bool = True) -> str:
    """`"; did you mean 'X'?"`, or "" when no candidate fits."""
    same = [c for c in candidates if c.lower() == name.lower() and c != name]
    near = same or (
        difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75) if close else []
    )
    return f"; did you mean '{clip(near[0], 80)}'?" if near else ""
