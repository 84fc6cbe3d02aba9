"""The environment fi-gate reads: every name in one list, each value checked like its flag.

Outputs never become inputs: the names here are what a later gate would read, so no output
(dotenv, GitHub outputs) may define one of them (a test holds the renderers to this list).
An empty value is the same as an unset one: the GitHub action passes every input, set or not.
"""

from __future__ import annotations

from collections.abc import Mapping

from gate.errors import UsageError

# Credentials and where to send them.
CREDENTIALS = (
    "FI_API_KEY",
    "FI_SECRET_KEY",
    "FI_GATE_INPUT_API_KEY",
    "FI_GATE_INPUT_SECRET_KEY",
    # --comment's tokens (gate/comment.py): masked like the keys.
    "FI_GATE_GITHUB_TOKEN",
    "GITHUB_TOKEN",
    "FI_GATE_GITLAB_TOKEN",
    "CI_JOB_TOKEN",
)
READS = frozenset(
    {
        *CREDENTIALS,
        "FI_BASE_URL",
        "FI_GATE_INPUT_BASE_URL",
        "FI_GATE_ALLOW_INSECURE_HTTP",
        # What to judge and how.
        "FI_GATE_POLICY",
        "FI_GATE_RUN_TEST",
        "FI_GATE_RUN_TEST_ID",
        "FI_GATE_EXECUTION_ID",
        "FI_GATE_SELECT",
        "FI_GATE_TIMEOUT",
        "FI_GATE_ON_API_ERROR",
        "FI_GATE_WAIT",
        "FI_GATE_WAIT_FOR_SUMMARY",
        "FI_GATE_CALLS",
        "FI_GATE_WORKERS",
        "FI_GATE_CALL_PAGE_SIZE",
        "FI_GATE_SCENARIOS",
        "FI_GATE_MODE",
        "FI_GATE_CANCEL",
        "FI_APP_URL",
        "FI_GATE_COMMENT",
        "FI_GATE_INTERFACE",
        # Where the verdict goes: the variables of gate.outputs.OUTPUTS are read too (reads()).
        # The CI around it, and the terminal.
        "GITHUB_ACTIONS",
        "GITHUB_REPOSITORY",
        "GITHUB_API_URL",
        "GITLAB_CI",
        "CI_MERGE_REQUEST_IID",
        "CI_PROJECT_ID",
        "CI_API_V4_URL",
        "GITHUB_SHA",
        "GITHUB_REF",
        "GITHUB_EVENT_PATH",
        "CI_COMMIT_SHA",
        "CI_COMMIT_REF_NAME",
        "CI_COMMIT_TIMESTAMP",
        "NO_COLOR",
        "FORCE_COLOR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        # The proxy rules of gate/network.py (an https base URL only; HTTP_PROXY is never
        # used: the keys would cross it in cleartext). Listed so that no output defines them.
        "HTTPS_PROXY",
        "https_proxy",
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
    }
)

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def reads() -> frozenset[str]:
    """Every variable fi-gate reads: READS, and each output's path variable and switch."""
    from gate.outputs import OUTPUTS  # a table of data; loaded by then wherever text() runs

    return READS | {o.env for o in OUTPUTS} | {o.switch for o in OUTPUTS if o.switch}


def text(environ: Mapping[str, str], name: str) -> str | None:
    """The variable's value, stripped; None when unset or empty."""
    if name not in READS and name not in reads():  # read here: no output may define it
        raise AssertionError(f"{name} is read but not listed in gate.environment.READS")
    value = environ.get(name, "").strip()
    return value or None


def flag(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    """A boolean variable: true/false, 1/0, yes/no, on/off (any case); anything else is exit 2."""
    value = text(environ, name)
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


def choice(environ: Mapping[str, str], name: str, options: tuple[str, ...]) -> str | None:
    """An enum variable, checked against the same options as its flag; exit 2 otherwise."""
    value = text(environ, name)
    if value is None or value in options:
        return value
    raise UsageError(f"{name}={value[:40]!r} is not one of {', '.join(options)}")
