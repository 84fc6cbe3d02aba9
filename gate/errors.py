"""The error hierarchy: one base class, a few meaningful kinds, each with its exit code.

Every message says what happened and what to do; the CLI prints it as one line and turns it into
the exit code in one place.
"""

from __future__ import annotations

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_NOT_READY = 4


class GateError(Exception):
    """Base class of every error fi-gate reports to the user."""

    exit_code = EXIT_USAGE
    verdict = "error"
    status: int | None = None  # the HTTP status that caused it, when an answer did


class UsageError(GateError):
    """The command line or the environment is wrong (exit 2)."""


class ConfigError(GateError):
    """The policy file is missing, unreadable or invalid (exit 2)."""


class NotFoundError(GateError):
    """What was named is not there (exit 2): a run test or execution the keys' workspace does
    not have, or a base URL whose path is not the API's. The caller's mistake, never an
    outage: `--on-api-error pass` does not soften it."""


class WrongEndpointError(NotFoundError):
    """A 404 that is not the API's own answer (the web server's page): the base URL is wrong,
    not the name that was asked for."""


class RejectedKeyError(UsageError):
    """The API rejected the keys (401) or refused them this run test's workspace (403): a
    mistake to fix, never an outage (exit 2; `--on-api-error pass` does not soften it)."""


class ApiError(GateError):
    """The API could not be reached, refused the request or answered something unusable (exit 3)."""

    exit_code = EXIT_API


class OutageError(ApiError):
    """The API or the network is failing in a way that waiting may fix: connections refused or
    timed out, 5xx and 429 answers after every retry, the deadline spent waiting for them
    (exit 3). The only errors that `--on-api-error pass` softens: a rejected key, a wrong URL,
    a malformed answer or impossible data are never an outage."""


class NotReadyError(GateError):
    """No execution is in a final state yet (exit 4). `execution`: the one waited for, as last
    seen, when there is one (the report then says which, and its status)."""

    exit_code = EXIT_NOT_READY
    verdict = "not_ready"

    def __init__(self, message: str, execution: object | None = None) -> None:
        super().__init__(message)
        self.execution = execution
