"""Faults of the API and the network: each ends with the right exit code and one clear line,
within the deadline; retries only where safe; the keys never leak, on any path."""

from __future__ import annotations

import email.utils
import functools
import gzip
import json
import re
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.api import Client
from gate.errors import ApiError, OutageError
from gate.network import Network
from gate.transport import Deadline, RetryPolicy, _retry_after
from tests.conftest import NEWEST, ROOT, SUPPORT, Result, run
from tests.fakeapi import FakeApi, Fault, load_dir
from tests.fakeapi.server import RUNS_PATH
from tests.figures import attack, record

STARTER = str(ROOT / "policies" / "starter.yml")
KEY = "fk-canary-7d1e93b0a4c2"
SECRET = "fs-canary-5b8f2e6a9d31"
DEMO = ROOT / "tests" / "fakeapi" / "data"


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi(load_dir(DEMO), api_key=KEY, secret_key=SECRET) as fake:
        yield fake


def gate(
    api_url: str,
    *extra: str,
    timeout: float = 10,
    env: dict[str, str] | None = None,
    tmp: Path | None = None,
) -> tuple[Result, float, dict[str, str]]:
    """Run `fi-gate check` with every output file; return the result, seconds and the files."""
    files: dict[str, str] = {}
    argv = ["check", "--policy", STARTER, "--timeout", str(timeout), "--verbose", *extra]
    if tmp is not None:
        for flag, name in (
            ("--report", "r.json"),
            ("--summary", "s.md"),
            ("--junit", "j.xml"),
            ("--dotenv", "d.env"),
        ):
            argv += [flag, str(tmp / name)]
    full_env = {
        "FI_BASE_URL": api_url,
        "FI_API_KEY": KEY,
        "FI_SECRET_KEY": SECRET,
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp / "out") if tmp else "",
        "GITHUB_STEP_SUMMARY": str(tmp / "step.md") if tmp else "",
        **(env or {}),
    }
    start = time.monotonic()
    result = run(argv, env=full_env)
    took = time.monotonic() - start
    if tmp is not None:
        files = {p.name: p.read_text(errors="replace") for p in tmp.iterdir() if p.is_file()}
    return result, took, files


def assert_no_leak(result: Result, files: dict[str, str], case: str) -> None:
    for where, text in [("stdout", result.out), ("stderr", result.err), *files.items()]:
        for line in text.splitlines():
            if line.startswith("::add-mask::"):
                continue
            assert KEY not in line and SECRET not in line, f"{case}: key in {where}: {line}"
    record("secrets", case, "no key in stdout, stderr, report, summary, JUnit, dotenv, outputs")


def assert_no_piece(texts: dict[str, str], case: str) -> None:
    """No 8-character piece of either key anywhere, even with markdown escapes taken out."""
    attack("masking", case, "no 8-character piece of a key in any output")
    for where, text in texts.items():
        flat = text.replace("\\", "")
        for key in (KEY, SECRET):
            for i in range(len(key) - 7):
                piece = key[i : i + 8]
                assert piece not in text and piece not in flat, f"{case}: {piece!r} in {where}"
    record("secrets", case, "no 8-character piece of a key in any output, escaped or not")


def test_a_key_in_a_server_message_is_masked_before_it_is_clipped(
    api: FakeApi, tmp_path: Path
) -> None:
    # The key starts at character 135: a clip at 160 would keep 25 of its characters.
    message = "x" * 135 + KEY + " " + SECRET
    api.fail(Fault(status=400, body={"status": False, "message": message}))
    result, _, files = gate(api.url, tmp=tmp_path)
    assert result.code == 3
    err = "\n".join(x for x in result.err.splitlines() if not x.startswith("::add-mask::"))
    assert_no_piece({"stdout": result.out, "stderr": err, **files}, "a key clipped in a message")


def test_a_key_in_api_text_is_masked_before_it_is_escaped(tmp_path: Path) -> None:
    data = json.loads((ROOT / "examples" / "seed-execution.json").read_text())
    evals = data["result"]["eval_results"]
    evals[0]["name"] = f"leak-{KEY}-here"
    evals[0]["result"][0]["name"] = SECRET[3:]  # a part of the secret key
    data["result"]["eval_explanation_summary"] = {
        evals[0]["name"]: [{"theme": f"t {KEY[2:]}", "kind": "failure", "guidance": SECRET}]
    }
    saved = tmp_path / "e.json"
    saved.write_text(json.dumps(data))
    policy = tmp_path / "p.yml"
    policy.write_text("version: 1\ndefaults: {min_pass_rate: 99}\n")
    out = tmp_path / "out"
    files = {n: tmp_path / n for n in ("r.json", "s.md", "j.xml", "d.env")}
    result = run(
        [
            "check", "--policy", str(policy), "--from-file", str(saved),
            "--report", str(files["r.json"]), "--summary", str(files["s.md"]),
            "--junit", str(files["j.xml"]), "--dotenv", str(files["d.env"]),
        ],
        env={
            "FI_API_KEY": KEY, "FI_SECRET_KEY": SECRET, "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(tmp_path / "step.md"),
        },
    )  # fmt: skip
    assert result.code == 1, result.err
    texts = {n: p.read_text() for n, p in files.items()}
    texts["step.md"] = (tmp_path / "step.md").read_text()
    texts["outputs"] = out.read_text()
    # The add-mask commands are the only place the keys may be (GitHub reads them, hides them).
    err = "\n".join(x for x in result.err.splitlines() if not x.startswith("::add-mask::"))
    assert_no_piece(
        {"stdout": result.out, "stderr": err, **texts},
        "keys in eval names, config names and FMA text (markdown-escaped, annotations)",
    )


def one_error_line(result: Result) -> str:
    lines = [line for line in result.err.splitlines() if line.startswith("fi-gate: error:")]
    assert len(lines) == 1, result.err
    return lines[0]


# --- recovered faults: the normal verdict --------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_a_few_times_then_success(api: FakeApi, tmp_path: Path, status: int) -> None:
    body = b"<html><body>Bad gateway</body></html>" if status == 502 else {"status": False}
    api.fail(Fault(status=status, body=body), Fault(status=status, body=body))
    result, _took, files = gate(api.url, tmp=tmp_path)
    assert result.code == 0, result.err
    assert result.err.count("retrying in") == 2
    assert len(api.runs_requests) == 4  # 2 failures, then list and detail
    assert_no_leak(result, files, f"HTTP {status} twice, then success")
    record("faults", f"HTTP {status} twice, then success", "retried with backoff; normal verdict")


@pytest.mark.slow  # bounded by its deadline or backoff: seconds of waiting
@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_429_retry_after_is_honoured(api: FakeApi, tmp_path: Path, form: str) -> None:
    value = "1" if form == "seconds" else email.utils.formatdate(time.time() + 2, usegmt=True)
    api.fail(
        Fault(
            status=429,
            headers={"Retry-After": value},
            body={"status": False, "result": {"code": "RATE_LIMITED", "retry_after": 1}},
        )
    )
    result, _took, files = gate(api.url, tmp=tmp_path)
    assert result.code == 0, result.err
    first, second = api.runs_requests[0].at, api.runs_requests[1].at
    assert second - first >= 0.4  # waited as told (an HTTP date has 1 s resolution)
    assert_no_leak(result, files, f"429 with Retry-After ({form})")
    record("faults", f"429 with Retry-After as {form}", "waited as told (capped); normal verdict")


def test_reset_mid_body_then_success(api: FakeApi, tmp_path: Path) -> None:
    api.fail(Fault(mode="reset"))
    result, _, files = gate(api.url, tmp=tmp_path)
    assert result.code == 0, result.err
    assert "connection broke while reading" in result.err
    assert_no_leak(result, files, "connection reset mid-body, then success")
    record("faults", "connection reset mid-body, then success", "retried; normal verdict")


# --- unrecovered faults: exit 3, one line, within the deadline -----------------------------------


@functools.cache
def _gzip_bomb(megabytes: int = 256) -> bytes:
    """About 250 KB of gzip that inflates to `megabytes` MB of zeros (4x the cap)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(16 * 1024 * 1024)
    parts = [packer.compress(zeros) for _ in range(megabytes // 16)]
    return b"".join(parts) + packer.flush()


def _huge_listing(evals: int) -> bytes:
    item = {
        "execution_id": NEWEST,
        "status": "completed",
        "started_at": "2026-11-28T08:00:00Z",
        "completed_at": "2026-11-28T08:20:00Z",
        "total_calls": 10,
        "completed_calls": 10,
        "failed_calls": 0,
        "eval_results": [
            {"name": f"e{i}", "output_type": "Pass/Fail", "total_pass_rate": 90.0, "result": []}
            for i in range(evals)
        ],
    }
    page = {"total_pages": 1, "current_page": 1, "count": 1, "results": [item]}
    return json.dumps({"status": True, "result": page}).encode()


FAULTS: dict[str, tuple[Callable[[], list[Fault]], str]] = {
    "HTTP 500 on every attempt": (
        lambda: [Fault(status=500, body={"status": False, "message": "Unable to fetch."})] * 10,
        "HTTP 500 (Unable to fetch.) from",
    ),
    "502 HTML page from a proxy": (
        lambda: [Fault(status=502, body=b"<!DOCTYPE html><html>nginx</html>")] * 10,
        "HTTP 502 (an HTML page, not the API's JSON (a proxy or load balancer answered)) from",
    ),
    "invalid JSON with 200": (lambda: [Fault(status=200, body=b"{not json")], "not JSON"),
    "200 with status false": (
        lambda: [Fault(status=200, body={"status": False, "message": "nope"})],
        "reported a failure",
    ),
    "200 without the envelope": (
        lambda: [Fault(status=200, body=[1, 2])],
        "without the API's envelope",
    ),
    "400 validation error": (
        lambda: [Fault(status=400, body={"status": False, "message": "Unknown field."})],
        "400 from",
    ),
    "402 usage limit": (lambda: [Fault(status=402, body={})], "usage limit"),
    "429 with Retry-After beyond the deadline": (
        lambda: [Fault(status=429, headers={"Retry-After": "3600"})],
        "would pass the",
    ),
    "a read that never finishes": (lambda: [Fault(mode="hang", delay=30)] * 5, "deadline"),
    "a body that trickles past the deadline": (
        lambda: [Fault(mode="trickle", delay=0.05)],
        "deadline",
    ),
    "a 70 MB body": (lambda: [Fault(mode="huge", size=70 * 1024 * 1024)], "fi-gate reads at most"),
    "a gzip answer that inflates past 64 MB": (
        lambda: [
            Fault(
                status=200,
                body=gzip.compress(b" " * (70 * 1024 * 1024)),
                headers={"Content-Encoding": "gzip"},
            )
        ],
        "fi-gate stopped reading",
    ),
    "a 40 MB body that is not JSON": (
        lambda: [Fault(mode="huge", size=40 * 1024 * 1024)],
        "not JSON",
    ),
    "response headers one byte every 0.5 s": (
        lambda: [Fault(mode="slowhead", delay=0.5)] * 5,
        "deadline",
    ),
    "endless 100 Continue": (lambda: [Fault(mode="continue", delay=0.2)] * 5, "deadline"),
    "Content-Length beside chunked framing, 80 MB": (
        lambda: [Fault(mode="chunkbomb", size=80 * 1024 * 1024)],
        "fi-gate stopped reading",
    ),
    "a 250 KB gzip bomb (256 MB inflated)": (
        lambda: [Fault(status=200, body=_gzip_bomb(), headers={"Content-Encoding": "gzip"})],
        "fi-gate stopped reading",
    ),
    "JSON nested 5,000 levels deep": (
        lambda: [
            Fault(status=200, body=b'{"status":true,"result":' + b"[" * 5000 + b"]" * 5000 + b"}")
        ],
        "nested too deeply",
    ),
    "a listing of 200,000 evals": (
        lambda: [Fault(status=200, body=_huge_listing(200_000))],
        "fi-gate reads at most",
    ),
    "redirect to another origin": (
        lambda: [Fault(status=302, headers={"Location": "https://evil.example/steal"}, body={})],
        "not following it with the API keys",
    ),
    "redirect loop": (
        lambda: [Fault(status=301, headers={"Location": RUNS_PATH}, body={})] * 10,
        "redirected more than",
    ),
}


# Faults that the deadline (or backoff against it) ends: their test takes the deadline's time.
TIMED = {
    "HTTP 500 on every attempt",
    "502 HTML page from a proxy",
    "a read that never finishes",
    "a body that trickles past the deadline",
    "response headers one byte every 0.5 s",
    "endless 100 Continue",
}


BOUNDS = {
    "response headers one byte every 0.5 s": "deadline",
    "endless 100 Continue": "deadline",
    "a body that trickles past the deadline": "deadline",
    "Content-Length beside chunked framing, 80 MB": "body cap",
    "a 250 KB gzip bomb (256 MB inflated)": "body cap",
    "a listing of 200,000 evals": "body cap",
    "JSON nested 5,000 levels deep": "nesting",
}


@pytest.mark.slow  # bounded by its deadline or backoff: seconds of waiting
@pytest.mark.parametrize("name", list(FAULTS))
def test_unrecovered_faults_end_with_exit_3(
    api: FakeApi, tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make, words = FAULTS[name]
    monkeypatch.setattr("gate.transport.BACKOFF_BASE", 0.5)  # the real backoff against it
    api.fail(*make())
    # What only the deadline ends gets a short one (the run takes that long); the others end
    # on their own, long before the deadline that a slow machine needs for their bodies.
    deadline = 1.5 if name in TIMED else 3
    result, took, files = gate(api.url, timeout=deadline, tmp=tmp_path)
    assert result.code == 3, (result.code, result.err)
    line = one_error_line(result)
    assert words in line, line
    assert took < deadline + 2.5, took  # within the deadline (and a last short wait)
    report = json.loads(files["r.json"])
    assert (report["verdict"], report["exit_code"]) == ("error", 3)
    if name in BOUNDS:
        attack(BOUNDS[name], name, "exit 3 within the deadline")
    assert "Traceback" in result.err  # --verbose shows it ...
    assert_no_leak(result, files, f"{name} (--verbose)")  # ... with the keys masked
    record(
        "faults",
        name,
        f"exit 3 within the {deadline:g} s deadline: “{line.removeprefix('fi-gate: error: ')}”",
    )


REDIRECT_TRICKS = {
    "backslash before userinfo": "http://127.0.0.1:{other}\\@127.0.0.1:{port}{path}",
    "userinfo naming the origin": "http://127.0.0.1:{port}@127.0.0.1:{other}{path}",
    "scheme-relative": "//127.0.0.1:{other}{path}",
    "another port": "http://127.0.0.1:{other}{path}",
    "slash-backslash": "http:/\\127.0.0.1:{other}{path}",
    "tab in the authority": "http://127.0.0.1:{port}\t@127.0.0.1:{other}{path}",
    "encoded at sign": "http://127.0.0.1:{port}%40127.0.0.1:{other}{path}",
    "another scheme": "https://127.0.0.1:{port}{path}",
}


@pytest.mark.parametrize("trick", sorted(REDIRECT_TRICKS))
def test_a_redirect_never_takes_the_keys_elsewhere(
    api: FakeApi, tmp_path: Path, trick: str
) -> None:
    """The origin check and the connection read a Location with the same parser, and anything
    odd in it is refused: the keys reach the API's origin only."""
    with FakeApi(load_dir(DEMO), api_key=KEY, secret_key=SECRET) as other:
        port = api.url.rsplit(":", 1)[1]
        other_port = other.url.rsplit(":", 1)[1]
        location = REDIRECT_TRICKS[trick].format(port=port, other=other_port, path=RUNS_PATH)
        api.fail(Fault(status=302, headers={"Location": location}, body={}))
        result, _, files = gate(api.url, timeout=3, tmp=tmp_path)
        assert result.code == 3, result.err
        assert "not following it with the API keys" in one_error_line(result)
        assert other.seen == []
        assert_no_leak(result, files, f"redirect: {trick}")
    attack("redirects", trick, "refused; no request reaches another origin")
    record(
        "secrets", f"redirect: {trick}", "refused; no request, so no key, reaches another origin"
    )


def test_a_base_url_with_a_wrong_path_is_a_wrong_url(api: FakeApi, tmp_path: Path) -> None:
    """The web server's HTML 404 for a path the API does not have is not "run test unknown"."""
    result, _, _ = gate(api.url + "/api", tmp=tmp_path)
    assert result.code == 2, result.err
    line = one_error_line(result)
    assert "/api/sdk/api/v1/simulation/runs/ is not an endpoint of the Future AGI API" in line
    assert "check --base-url or FI_BASE_URL" in line
    assert "run test" not in line.split("(")[0]
    record("faults", "a base URL with a path (HTML 404)", "exit 2: a wrong URL, the path named")


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result, took, files = gate(f"http://127.0.0.1:{port}", timeout=1.5, tmp=tmp_path)
    assert result.code == 3
    assert "connection refused" in one_error_line(result)
    assert "retrying in" in result.err  # retried with backoff first
    assert took < 4
    assert_no_leak(result, files, "connection refused (--verbose)")
    record(
        "faults",
        "connection refused",
        "retried with backoff, then exit 3 within the 1.5 s deadline",
    )


def test_dns_failure_is_immediate(tmp_path: Path) -> None:
    result, took, files = gate("https://fi-gate-test.invalid", timeout=10, tmp=tmp_path)
    assert result.code == 3
    assert "cannot resolve the host fi-gate-test.invalid" in one_error_line(result)
    assert took < 5
    assert_no_leak(result, files, "DNS failure (--verbose)")
    record("faults", "DNS failure", "no retry; exit 3 at once, naming the host")


@pytest.fixture
def tls_api(tmp_path: Path) -> Iterator[tuple[FakeApi, Path]]:
    """The fake behind TLS, with a fresh self-signed certificate for 127.0.0.1 (its path)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    import ssl

    with FakeApi(load_dir(DEMO), api_key=KEY, secret_key=SECRET) as fake:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        fake._server.socket = context.wrap_socket(fake._server.socket, server_side=True)
        yield fake, cert


def test_tls_verification_and_ca_bundle(tmp_path: Path, tls_api: tuple[FakeApi, Path]) -> None:
    fake, cert = tls_api
    url = fake.url.replace("http://", "https://")
    untrusted, _, files = gate(url, tmp=tmp_path)
    assert untrusted.code == 3
    assert "TLS verification failed" in one_error_line(untrusted)
    assert "REQUESTS_CA_BUNDLE" in one_error_line(untrusted)
    trusted, _, _ = gate(url, env={"REQUESTS_CA_BUNDLE": str(cert)})
    assert trusted.code == 0, trusted.err
    assert_no_leak(untrusted, files, "TLS verification failure (--verbose)")
    record(
        "faults",
        "self-signed TLS certificate",
        "exit 3 naming REQUESTS_CA_BUNDLE; with it: verdict",
    )


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_closing_the_client_cuts_off_a_read_blocked_in_another_thread(
    api: FakeApi, request: pytest.FixtureRequest, tls: bool
) -> None:
    """What ends the other page reads when one page fails: `close` shuts their connections
    down under them, and they give up quietly (no retry, no TLS error for a cut-off read)."""
    fake, cert = request.getfixturevalue("tls_api") if tls else (api, None)
    fake.fail(Fault(mode="hang", delay=30))
    retries: list[str] = []
    client = Client(
        fake.url.replace("http://", "https://") if tls else fake.url,
        KEY,
        SECRET,
        deadline=Deadline(60),
        on_retry=retries.append,
        network=Network(str(cert), "REQUESTS_CA_BUNDLE") if cert else None,
    )
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            client.get({"execution_id": "e"}, what="a page")
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    while fake.in_flight == 0:  # the request is in, and will never be answered
        time.sleep(0.01)
    start = time.monotonic()
    client.close()
    reader.join(timeout=20)
    assert not reader.is_alive()
    assert time.monotonic() - start < 10  # the hang lasts 30 s
    assert [type(e).__name__ for e in outcome] == ["Closed"], outcome
    assert retries == []


# --- what the keys may reach -------------------------------------------------------------------


def test_cross_origin_redirect_never_carries_the_keys(api: FakeApi, tmp_path: Path) -> None:
    with FakeApi(load_dir(DEMO)) as other:
        api.fail(Fault(status=307, headers={"Location": other.url + RUNS_PATH}, body={}))
        result, _, _ = gate(api.url)
        assert result.code == 3
        assert other.seen == []  # not even a request
    record("secrets", "redirect to another origin", "not followed; the other host saw no request")


def test_same_origin_redirect_is_followed_with_the_query(api: FakeApi) -> None:
    api.fail(Fault(status=301, headers={"Location": RUNS_PATH}, body={}))
    result, _, _ = gate(api.url)
    assert result.code == 0, result.err
    assert api.runs_requests[1].query == api.runs_requests[0].query


def test_netrc_never_becomes_an_authorization_header(
    api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
    netrc.chmod(0o600)
    # requests reads ~/.netrc through the process environment
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    import requests

    assert requests.utils.get_netrc_auth(api.url) == ("someone", "hunter2")
    result, _, _ = gate(api.url)
    # the fake (like the server) answers 401 to any Authorization header
    assert result.code == 0, result.err
    assert all("authorization" not in s.headers for s in api.seen)
    record("secrets", "~/.netrc entry for the API host", "no Authorization header sent")


def test_keys_never_go_through_a_proxy_in_cleartext(api: FakeApi) -> None:
    """A plain-http base URL (loopback, or --allow-insecure-http) is reached directly:
    HTTP_PROXY would see both keys in cleartext. The fake serves absolute-form request lines,
    as a forward proxy receives them, so a request sent to it would be answered."""
    with FakeApi(load_dir(DEMO), api_key=KEY, secret_key=SECRET) as proxy:
        env = dict.fromkeys(("HTTP_PROXY", "http_proxy", "ALL_PROXY"), proxy.url)
        result, _, _ = gate(api.url, env={**env, "NO_PROXY": ""})
        assert result.code == 0, result.err
        assert proxy.seen == []  # not one request, so not one key
        assert len(api.runs_requests) == 2
    attack("proxies", "HTTP_PROXY with a plain-http base URL", "ignored: reached directly")
    record("secrets", "HTTP_PROXY with a plain-http base URL", "ignored: the keys never cross it")


def test_https_proxy_and_no_proxy_are_honoured_for_https(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Behind a corporate proxy, an https base URL goes through HTTPS_PROXY (a CONNECT tunnel:
    the keys stay inside TLS), unless NO_PROXY names the host."""
    from gate.network import Network

    env = {"HTTPS_PROXY": "http://proxy.internal:3128", "NO_PROXY": ""}
    network = Network.from_variables(env)
    seen = network.proxy_for("https", "api.futureagi.com", 443)
    assert seen is not None and (seen.host, seen.port) == ("proxy.internal", 3128)
    network = Network.from_variables({**env, "NO_PROXY": "api.futureagi.com"})
    assert network.proxy_for("https", "api.futureagi.com", 443) is None
    record("faults", "HTTPS_PROXY and NO_PROXY with an https base URL", "honoured")


class TunnelProxy:
    """A forward proxy on loopback that serves CONNECT only, as corporate proxies do for
    https, and keeps every byte the client sent through it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.heads: list[bytes] = []
        self.sent = bytearray()
        self.threads: list[threading.Thread] = []
        self.accepting = threading.Thread(target=self._accept, daemon=True)
        self.accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed: the test is over
                return
            t = threading.Thread(target=self._tunnel, args=(client,), daemon=True)
            t.start()
            self.threads.append(t)

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            piece = client.recv(4096)
            if not piece:
                client.close()
                return
            head += piece
        self.heads.append(head)
        host, port = head.split()[1].decode().rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with client, upstream:
            self._pipe(client, upstream)

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(client, selectors.EVENT_READ, upstream)
            sel.register(upstream, selectors.EVENT_READ, client)
            while True:
                for key, _ in sel.select(timeout=10):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    if key.fileobj is client:
                        self.sent += data
                    key.data.sendall(data)

    def close(self) -> None:
        self.listener.close()
        for t in self.threads:
            t.join(timeout=5)


def test_an_https_base_url_goes_through_the_proxy_in_a_tls_tunnel(
    tmp_path: Path, tls_api: tuple[FakeApi, Path]
) -> None:
    """HTTPS_PROXY, for real: the proxy is asked to CONNECT to the API's host and port, and
    sees nothing else in cleartext (the keys travel inside the TLS the tunnel carries)."""
    fake, cert = tls_api
    url = fake.url.replace("http://", "https://")
    proxy = TunnelProxy()
    try:
        env = {"HTTPS_PROXY": proxy.url, "NO_PROXY": "", "REQUESTS_CA_BUNDLE": str(cert)}
        result, _, _ = gate(url, env=env)
    finally:
        proxy.close()
    assert result.code == 0, result.err
    port = url.rsplit(":", 1)[1]
    assert [h.split(b" ")[:2] for h in proxy.heads] == [[b"CONNECT", f"127.0.0.1:{port}".encode()]]
    assert KEY.encode() not in proxy.sent and SECRET.encode() not in proxy.sent
    assert len(fake.runs_requests) >= 2  # the API answered through the tunnel
    attack("proxies", "HTTPS_PROXY with an https base URL", "a CONNECT tunnel: keys inside TLS")


def test_plain_http_only_for_loopback_unless_allowed(api: FakeApi) -> None:
    remote = "http://api.example.com"
    refused = run(
        ["check", "--policy", STARTER, "--base-url", remote],
        env={"FI_API_KEY": KEY, "FI_SECRET_KEY": SECRET},
    )
    assert refused.code == 2
    assert "plain http" in refused.err
    localhost = api.url.replace("127.0.0.1", "localhost")
    assert gate(localhost)[0].code == 0
    from gate.api import check_base_url

    assert check_base_url(remote, allow_insecure_http=True) == remote


# --- --on-api-error pass -----------------------------------------------------------------------


def test_on_api_error_pass_is_exit_0_and_loud(api: FakeApi, tmp_path: Path) -> None:
    api.fail(*[Fault(status=503)] * 10)
    result, _, files = gate(api.url, "--on-api-error", "pass", timeout=2, tmp=tmp_path)
    assert result.code == 0
    assert "this deploy is NOT gated" in result.err
    assert "::warning title=fi-gate%3A deploy not gated::" in result.err
    assert "NOT gated" in files["s.md"]
    report = json.loads(files["r.json"])
    assert (report["verdict"], report["exit_code"]) == ("error", 0)
    # Every machine-readable output says the deploy was not gated, as the exit code does.
    assert "FI_GATE_PASSED=false\n" in files["d.env"]
    assert "FI_GATE_GATED=false\n" in files["d.env"]
    assert "\nfalse\n" in files["out"].split("passed<<", 1)[1][:80]
    assert "\nfalse\n" in files["out"].split("gated<<", 1)[1][:80]
    junit = ET.fromstring(files["j.xml"])
    errors = junit.findall(".//testcase/error")
    assert len(errors) == 1
    assert (errors[0].get("message") or "").startswith("not gated: ")
    assert "n=None" not in files["j.xml"]
    attack("outputs agree", "--on-api-error pass on a 503", "passed, gated false; JUnit error")
    record(
        "faults",
        "HTTP 503 with --on-api-error pass",
        "exit 0, verdict error, warning in log, annotation, summary; passed=false and gated=false "
        "in outputs and dotenv, a JUnit error case",
    )


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault(status=401, body={"status": False, "message": "Invalid API key or secret key"}), 2),
        (Fault(status=403, body={"status": False, "message": "no access"}), 2),
        (Fault(status=400, body={"status": False, "message": "Validation failed"}), 3),
        (Fault(status=402, body={"status": False, "message": "usage limit"}), 3),
        (Fault(status=200, body={"status": True, "result": {"total_pages": "x"}}), 3),
        (Fault(status=200, body=b"<html>not json</html>"), 3),
        (Fault(status=404, body={"status": False, "message": "Run test not found."}), 2),
    ],
    ids=["401 revoked key", "403", "400", "402", "malformed", "not JSON", "404"],
)
def test_on_api_error_pass_softens_outages_only(
    api: FakeApi, tmp_path: Path, fault: Fault, code: int
) -> None:
    """No retry or wait fixes a rejected key or a wrong answer: never let the deploy through."""
    api.fail(fault)
    result, _, files = gate(api.url, "--on-api-error", "pass", timeout=5, tmp=tmp_path)
    assert result.code == code, result.err
    assert "NOT gated" not in result.err
    assert "FI_GATE_PASSED=false\n" in files["d.env"]
    record(
        "faults",
        f"HTTP {fault.status} ({'not JSON' if isinstance(fault.body, bytes) else 'answer'}) "
        "with --on-api-error pass",
        f"exit {code}: not an outage, never softened",
    )
    kind = "not JSON" if isinstance(fault.body, bytes) else "answer"
    attack("--on-api-error pass scope", f"HTTP {fault.status} {kind}", f"exit {code}, not softened")


def test_on_api_error_pass_softens_a_refused_connection(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result, _, files = gate(
        f"http://127.0.0.1:{port}", "--on-api-error", "pass", timeout=2, tmp=tmp_path
    )
    assert result.code == 0, result.err
    assert "FI_GATE_GATED=false\n" in files["d.env"]


def test_on_api_error_pass_never_softens_a_wrong_name(api: FakeApi) -> None:
    result, _, _ = gate(api.url, "--on-api-error", "pass", "--run-test", "No Such Test")
    assert result.code == 2


# --- the retry policy itself (real HTTP, a recorded clock) ------------------------------------


def client_for(url: str, sleeps: list[float], attempts: int = 5, seconds: float = 60) -> Client:
    import random

    return Client(
        url,
        KEY,
        SECRET,
        deadline=Deadline(seconds),
        retry=RetryPolicy(attempts=attempts, backoff_base=0.5),
        sleep=sleeps.append,
        rng=random.Random(1),
    )


def test_backoff_is_exponential_with_jitter(api: FakeApi) -> None:
    api.fail(*[Fault(status=503)] * 4)
    sleeps: list[float] = []
    client_for(api.url, sleeps).execution(NEWEST)
    assert len(sleeps) == 4
    for attempt, delay in enumerate(sleeps, start=1):
        ceiling = 0.5 * 2 ** (attempt - 1)
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(sleeps)) == 4


def test_retry_after_is_capped(api: FakeApi) -> None:
    api.fail(Fault(status=429, headers={"Retry-After": "300"}))
    sleeps: list[float] = []
    client_for(api.url, sleeps, seconds=1000).execution(NEWEST)
    assert sleeps == [60.0]


def test_attempts_are_bounded(api: FakeApi) -> None:
    api.fail(*[Fault(status=s) for s in (500, 502, 503, 500, 502)])
    sleeps: list[float] = []
    with pytest.raises(OutageError, match="3 attempts in a row"):
        client_for(api.url, sleeps, attempts=3).execution(NEWEST)
    assert len(api.runs_requests) == 3


def test_the_same_500_every_time_is_the_server_failing_on_the_data(api: FakeApi) -> None:
    """The real server answers 500 "Unable to fetch simulation runs." for every request on a
    run test with an eval type its summary code cannot handle: not an outage (so never
    softened by --on-api-error pass, which softens only an OutageError), and said so."""
    body = {"status": False, "message": "Unable to fetch simulation runs."}
    api.fail(*[Fault(status=500, body=body)] * 10)
    sleeps: list[float] = []
    with pytest.raises(ApiError) as caught:
        client_for(api.url, sleeps).execution(NEWEST)
    assert not isinstance(caught.value, OutageError)
    assert "it is not a network problem; the server fails on this run test's data" in str(
        caught.value
    )
    assert len(api.runs_requests) == 5 and len(sleeps) == 4  # retried, then recognised
    attack(
        "--on-api-error pass scope", "the same HTTP 500 on every attempt", "exit 3, not softened"
    )


def test_a_deadline_that_passes_while_retrying_names_what_was_failing(api: FakeApi) -> None:
    """On a slow machine the deadline may pass during a backoff: the error still names the
    503 that was being retried, not a silent "no answer" (a recorded clock: no real wait)."""
    now = [0.0]
    api.fail(*[Fault(status=503)] * 5)

    def oversleep(seconds: float) -> None:  # every nap lasts 10 s longer than asked
        now[0] += seconds + 10

    client = Client(
        api.url, KEY, SECRET, deadline=Deadline(3, clock=lambda: now[0]), sleep=oversleep
    )
    with pytest.raises(OutageError) as caught:
        client.execution(NEWEST)
    message = str(caught.value)
    assert message.startswith("HTTP 503"), message
    assert "the 3s deadline passed before a retry got through" in message
    assert len(api.runs_requests) == 1  # the retry was never sent: the deadline had passed


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_not_retried(api: FakeApi, status: int) -> None:
    api.fail(Fault(status=status, body={}))
    with pytest.raises(Exception):  # noqa: B017,PT011 - ApiError or ConfigError, both final
        client_for(api.url, []).execution(NEWEST)
    assert len(api.runs_requests) == 1


def test_retry_after_parsing() -> None:
    assert _retry_after("7") == 7.0
    assert _retry_after(None) is None
    assert _retry_after("soon") is None
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    parsed = _retry_after(future)
    assert parsed is not None and 25 <= parsed <= 31


def test_pages_past_the_end_are_never_requested(api: FakeApi) -> None:
    # Checkout Bot has 2 executions: page size 5 means one page; with no completed execution
    # among them the client must stop at total_pages instead of asking for page 2 (a 500).
    store = api.store
    for rt in store.run_tests:
        for ex in rt.executions:
            ex.status = "running"
    from gate.api import select_execution
    from gate.errors import NotReadyError

    with pytest.raises(NotReadyError, match="no completed execution"):
        select_execution(client_for(api.url, []), SUPPORT, "latest-completed")
    assert [s.query["page"] for s in api.runs_requests] == ["1"]
    record("faults", "no completed execution (latest-completed)", "stops at total_pages; exit 4")


# --- wrong shapes ----------------------------------------------------------------------------


def _detail(**changes: Any) -> dict[str, Any]:
    body = json.loads((ROOT / "examples" / "seed-execution.json").read_text())
    result = body["result"]
    result["execution_id"] = NEWEST
    for path, value in changes.items():
        target = result
        keys = path.split("__")
        for k in keys[:-1]:
            target = target[int(k)] if k.isdigit() else target[k]
        last = keys[-1]
        if value is ...:
            del target[last]
        else:
            target[last] = value
    return {"status": True, "result": result}


SHAPES: dict[str, tuple[dict[str, Any], str]] = {
    "eval_results not a list": ({"eval_results": {"a": 1}}, "result.eval_results"),
    "total_calls as a string": ({"total_calls": "30"}, "result.total_calls"),
    "pass rate as a string": ({"eval_results__0__total_pass_rate": "80.77"}, "total_pass_rate"),
    "total_cells missing": ({"eval_results__0__result__0__total_cells": ...}, "total_cells"),
    "status missing": ({"status": ...}, "result: object missing required field status"),
    "eval name null": ({"eval_results__0__name": None}, "result.eval_results[0].name"),
    "negative cells": ({"eval_results__0__result__0__total_cells": -1}, "total_cells"),
    "unreadable timestamp": ({"started_at": "yesterday"}, "unreadable timestamp"),
    "execution id with markup": ({"execution_id": "<b>x</b>"}, "result.execution_id"),
    "call without call_execution_id": (
        {"call_results__results__0__call_execution_id": ...},
        "result.call_results.results[0]: object missing required field call_execution_id",
    ),
    "call status as a number": (
        {"call_results__results__0__status": 3},
        "result.call_results.results[0].status: expected str | null, got int",
    ),
    "call eval output not an object": (
        {"call_results__results__0__eval_outputs__eval-config-1": "Passed"},
        "results[0].eval_outputs[...]: expected object | null, got str",
    ),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_wrong_shapes_are_exit_3_naming_the_field(api: FakeApi, tmp_path: Path, name: str) -> None:
    changes, words = SHAPES[name]
    api.fail(Fault(status=200, body=_detail(**changes)))
    result, _, files = gate(api.url, "--execution-id", NEWEST, tmp=tmp_path)
    assert result.code == 3, result.err
    line = one_error_line(result)
    assert words in line, line
    assert_no_leak(result, files, f"wrong shape: {name} (--verbose)")
    record("faults", f"wrong shape: {name}", "exit 3 naming the field")


def test_nulls_where_the_server_sends_them_are_fine(api: FakeApi) -> None:
    body = _detail(
        completed_at=None,
        eval_explanation_summary=None,
        eval_explanation_summary_status=None,
        call_results=None,
    )
    api.fail(Fault(status=200, body=body))
    result, _, _ = gate(api.url, "--execution-id", NEWEST)
    assert result.code == 1, result.err  # judged: the seed's 4 failed calls exceed 10 %
    assert "4 of 30 calls failed (13.3%)" in result.out
    record("faults", "nulls in optional fields", "accepted; normal verdict")


def test_api_text_in_errors_cannot_issue_commands_even_verbose(
    api: FakeApi, tmp_path: Path
) -> None:
    message = "##[error]forged ::add-mask::x"
    api.fail(Fault(status=400, body={"status": False, "message": message}))
    result, _, _ = gate(api.url, tmp=tmp_path)
    assert result.code == 3
    assert "Traceback" in result.err
    own = re.compile(r"::(add-mask|error title=fi-gate[^:]*|warning title=fi-gate[^:]*)::")
    for line in result.err.splitlines():
        assert "##[" not in line, line
        # fi-gate's own commands (its masks, its annotations) are the only live ones
        assert not line.lstrip().startswith("::") or own.match(line), line
    assert not any(line.startswith("::add-mask::x") for line in result.err.splitlines())
    assert "forged" in result.err  # still readable
    record("hostile", "stderr, tracebacks included (--verbose)", "API text cannot issue commands")


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, "check FI_API_KEY and FI_SECRET_KEY"), (403, "use keys of the workspace")],
)
def test_a_rejected_key_is_exit_2_a_mistake_to_fix(
    api: FakeApi, tmp_path: Path, status: int, words: str
) -> None:
    """A rejected key is the user's mistake like an unknown name: exit 2 (scripts retry exit 3
    forever), never softened, never retried."""
    api.fail(Fault(status=status, body={"status": False, "message": "Invalid API key"}))
    result, _, _ = gate(api.url, "--on-api-error", "pass", timeout=5, tmp=tmp_path)
    assert result.code == 2, result.err
    assert words in one_error_line(result)
    assert len(api.runs_requests) == 1
    record("faults", f"HTTP {status} (a rejected key)", "exit 2: a mistake to fix; not retried")
