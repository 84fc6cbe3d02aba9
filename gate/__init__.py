"""fi-gate: a promotion gate for Future AGI simulation run tests."""

__version__ = "0.1.0"
