"""The threshold kinds, in one table, and how their values are written.

A `Metric` says everything fi-gate knows of one policy key: which eval output type it judges,
the check's metric name, the comparison, the unit, where its observed value is read from, and
how its interval is computed. Adding a threshold kind is a schema property and a row of
`METRICS` (docs/architecture.md). Imports nothing of fi-gate: the renderers read it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PASS_FAIL, SCORE, CHOICES = "Pass/Fail", "score", "choices"


@dataclass(frozen=True)
class Measured:
    """What one eval's totals, or one of its configs, measured (in the API's units)."""

    cells: int
    pass_rate: float | None
    avg: float | None
    choices: Mapping[str, float | None]


@dataclass(frozen=True)
class Metric:
    key: str  # the policy key (a property of `Thresholds` of the same name)
    output_type: str  # the eval output type it judges
    name: str  # the check's metric
    op: str  # ">=": a floor; "<=": a ceiling
    unit: str  # "%" for rates and shares (0-100); "" for scores
    interval: str  # "proportion": Wilson on the success count; "mean": from the scores
    read: str  # the `Measured` field the observed value comes from
    per_choice: bool = False  # the threshold names a choice: {choice: value}
    # The floor a policy suggests for an eval of its type (init, hints): one row a type.
    suggested: bool = False
    # The value that stands for an eval of its type in a baseline or a trend: one a type.
    headline: bool = False
    # A rate or mean in [0, 100] that `evidence:` decides with a confidence sequence.
    sequential: bool = False

    def metric_name(self, choice: str = "") -> str:
        return f"{self.name}[{choice}]" if self.per_choice else self.name

    def observed(self, measured: Measured, choice: str = "") -> float | None:
        value: Any = getattr(measured, self.read)
        found: float | None = value.get(choice) if self.per_choice else value
        return found

    def thresholds(self, thresholds: Any) -> list[tuple[str, float]]:
        """(choice, value) pairs this kind sets in a `Thresholds` ("" for no choice)."""
        value = thresholds.limit(self.key)
        if self.per_choice:
            return list(value or ())
        return [] if value is None else [("", value)]


# fmt: off
METRICS: tuple[Metric, ...] = (
    Metric("min_pass_rate", PASS_FAIL, "pass_rate", ">=", "%", "proportion", "pass_rate",
           suggested=True, headline=True, sequential=True),
    Metric("min_avg_score", SCORE, "avg_score", ">=", "", "mean", "avg",
           suggested=True, headline=True, sequential=True),
    Metric("max_avg_score", SCORE, "avg_score", "<=", "", "mean", "avg", sequential=True),
    Metric("min_choice_rate", CHOICES, "choice_rate", ">=", "%", "proportion", "choices", True,
           suggested=True),
    Metric("max_choice_rate", CHOICES, "choice_rate", "<=", "%", "proportion", "choices", True),
)
# fmt: on
BY_KEY = {m.key: m for m in METRICS}
# The check metrics (with their comparison) that `evidence:` decides sequentially.
SEQUENTIAL = frozenset((m.name, m.op) for m in METRICS if m.sequential)
# The floor to suggest for an eval of each output type (the row marked `suggested`).
FLOOR_FOR_TYPE = {m.output_type: m for m in METRICS if m.suggested}
# The value that stands for an eval of each type in a baseline or a trend (`headline`).
HEADLINE = {m.output_type: m for m in METRICS if m.headline}
assert len(FLOOR_FOR_TYPE) == sum(m.suggested for m in METRICS), "one suggested row a type"
assert len(HEADLINE) == sum(m.headline for m in METRICS), "one headline row a type"


def level_text(confidence: float) -> str:
    """A confidence as people read it: 95%, 97.5%, 99.9% (never rounded up to 100%)."""
    return f"{round(confidence * 100, 4):g}%"


def format_duration(seconds: float) -> str:
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h" + (f" {s % 3600 // 60}m" if s % 3600 >= 60 else "")
    return f"{s // 86400}d" + (f" {s % 86400 // 3600}h" if s % 86400 >= 3600 else "")
