"""On PYTHONPATH for the tests' fi-gate subprocesses (tests/test_readme.py): a started or
waited-for execution of the fake is polled every 0.1 s instead of 5 s, as `quick_polls` does
in-process. Python imports `sitecustomize` at start-up; nothing else changes."""

import gate.api

gate.api.WAIT_FIRST = 0.1
gate.api.WAIT_MAX = 0.2
