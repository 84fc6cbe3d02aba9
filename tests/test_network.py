"""Users' networks (issue #20): the system's trust store, the CA-bundle variables, proxies with
credentials, NO_PROXY as curl reads it, deadlines and signals in every phase, interim answers,
base URLs, and one trust for every host fi-gate talks to.

Real parts on loopback: a TLS server whose certificate a private CA made by `trustme` signed, a
CONNECT proxy that wants Basic credentials (or trickles, or never answers), a resolver that
never answers, a server that sends `103 Early Hints` first.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from gate.errors import GateError
from gate.network import Network, parse_no_proxy
from gate.transport import Deadline, DeadlineError, Transport
from tests.conftest import DEMO_DATA, SUPPORT, Result, run, spawn, write_policy
from tests.fakeapi import API_KEY, SECRET_KEY, FakeApi, Fault, load_dir
from tests.fakeforge import Forge
from tests.figures import attack, record

POLICY = "version: 1\ndefaults: {min_pass_rate: 0, min_avg_score: 0}\n"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_pem(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "corporate-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _tls(server: Any, ca: trustme.CA) -> None:
    """Serve `server` (a socketserver) over TLS with a certificate the private CA signed."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    context.set_alpn_protocols(["http/1.1"])
    server.socket = context.wrap_socket(server.socket, server_side=True)


@pytest.fixture
def tls_api(ca: trustme.CA) -> Iterator[FakeApi]:
    with FakeApi(load_dir(DEMO_DATA)) as fake:
        _tls(fake._server, ca)
        yield fake


def https(fake: FakeApi) -> str:
    return fake.url.replace("http://", "https://")


def check(url: str, tmp_path: Path, **env: str) -> Result:
    return run(
        ["check", "--policy", write_policy(tmp_path, POLICY), "--run-test", SUPPORT,
         "--report", str(tmp_path / "r.json"), "--summary", str(tmp_path / "s.md"),
         "--junit", str(tmp_path / "j.xml")],
        {"FI_BASE_URL": url, "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY, **env},
    )  # fmt: skip


def outputs(tmp_path: Path) -> str:
    return "".join(
        p.read_text() for p in tmp_path.glob("*") if p.suffix in (".json", ".md", ".xml")
    )


# --- trust -------------------------------------------------------------------------------------


def test_the_system_store_is_used_and_honours_ssl_cert_file(
    tls_api: FakeApi, ca_pem: Path, tmp_path: Path
) -> None:
    """A runner whose administrators installed the corporate CA in the system's store (here
    SSL_CERT_FILE, which OpenSSL reads for it): verified through the platform's store (the
    `truststore` package), where certifi's bundle alone would fail."""
    argv = [sys.executable, "-m", "gate", "check", "--policy", write_policy(tmp_path, POLICY),
            "--run-test", SUPPORT]  # fmt: skip
    env = {
        "PATH": os.environ.get("PATH", ""),
        "FI_BASE_URL": https(tls_api),
        "FI_API_KEY": API_KEY,
        "FI_SECRET_KEY": SECRET_KEY,
    }
    trusted = subprocess.run(argv, env={**env, "SSL_CERT_FILE": str(ca_pem)},
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert trusted.returncode == 0, trusted.stderr
    untrusted = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert untrusted.returncode == 3
    assert "TLS verification failed" in untrusted.stderr
    assert "the system's trust store" in untrusted.stderr
    outcome = "verified through the platform's store; without it, exit 3 naming the store"
    record("faults", "a private CA in the system's store (SSL_CERT_FILE)", outcome)


@pytest.mark.parametrize("form", ["bundle", "hashed directory"])
@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_ca_bundle_variable_as_a_file_or_a_hashed_directory(
    tls_api: FakeApi, ca_pem: Path, tmp_path: Path, form: str, variable: str
) -> None:
    where = ca_pem
    if form == "hashed directory":
        where = tmp_path / "certs"
        where.mkdir()
        shutil.copy(ca_pem, where / "corporate.pem")
        subprocess.run(["openssl", "rehash", str(where)], check=True, capture_output=True)
    result = check(https(tls_api), tmp_path, **{variable: str(where)})
    assert result.code == 0, result.err
    record("faults", f"{variable} as a {form}", "verified against it")


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_a_missing_ca_bundle_is_exit_2_naming_the_variable(tmp_path: Path, variable: str) -> None:
    result = check("https://api.futureagi.com", tmp_path, **{variable: str(tmp_path / "nope.pem")})
    assert result.code == 2
    assert f"{variable}=" in result.err and "no such file or directory" in result.err
    assert "internal error" not in result.err


def test_the_bundle_replaces_the_default_roots(ca_pem: Path) -> None:
    """As requests does: with REQUESTS_CA_BUNDLE only its CAs are trusted."""
    network = Network.from_variables({"REQUESTS_CA_BUNDLE": str(ca_pem)})
    context = network.tls_context()
    assert context.cert_store_stats()["x509_ca"] == 1
    assert "instead of the default roots" in network.trust


def test_tls_1_2_at_least_and_alpn_http_1_1(ca: trustme.CA, ca_pem: Path) -> None:
    context = Network.from_variables({"REQUESTS_CA_BUNDLE": str(ca_pem)}).tls_context()
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    server.set_alpn_protocols(["h2", "http/1.1"])
    listener = socket.create_server(("127.0.0.1", 0))
    chosen: list[str | None] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with server.wrap_socket(conn, server_side=True) as tls:
            chosen.append(tls.selected_alpn_protocol())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with (
        socket.create_connection(listener.getsockname()) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1"),
    ):
        pass
    thread.join(5)
    listener.close()
    assert chosen == ["http/1.1"]


def test_the_comment_path_uses_the_same_trust(ca: trustme.CA, ca_pem: Path, tmp_path: Path) -> None:
    """GitHub Enterprise Server behind the corporate CA: the comment is posted with the trust
    the API uses (REQUESTS_CA_BUNDLE), not certifi's."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    with Forge() as forge:
        _tls(forge.server, ca)
        env = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_API_URL": forge.url.replace("http://", "https://"),
            "GITHUB_REPOSITORY": "acme/agent",
            "GITHUB_EVENT_PATH": str(event),
            "FI_GATE_GITHUB_TOKEN": forge.token,
            "REQUESTS_CA_BUNDLE": str(ca_pem),
        }
        from tests.conftest import SEED

        result = run(["check", "--policy", write_policy(tmp_path, POLICY), "--from-file",
                      str(SEED), "--comment"], env)  # fmt: skip
        assert result.code == 0, result.err
        assert "posted the verdict as a GitHub comment" in result.err
        assert len(forge.bodies()) == 1
    record("faults", "--comment to a forge behind a private CA", "the API's trust: posted")


# --- proxies ----------------------------------------------------------------------------------


class Proxy:
    """A CONNECT proxy on loopback. `credentials`: the Basic pair it wants; `trickle`: seconds
    between the bytes of its answer to CONNECT (a proxy that never finishes answering)."""

    def __init__(self, credentials: str | None = None, trickle: float | None = None) -> None:
        self.credentials = credentials
        self.trickle = trickle
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.heads: list[bytes] = []
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                piece = client.recv(4096)
                if not piece:
                    return
                head += piece
            self.heads.append(head)
            if self.trickle is not None:
                for byte in b"HTTP/1.1 200 Connection established\r\n" * 100:
                    if self.stop.wait(self.trickle):
                        return
                    try:
                        client.sendall(bytes([byte]))
                    except OSError:
                        return
                return
            if self.credentials is not None:
                wanted = "Basic " + base64.b64encode(self.credentials.encode()).decode()
                given = [
                    line.split(b":", 1)[1].strip().decode()
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"proxy-authorization:")
                ]
                if given != [wanted]:
                    client.sendall(
                        b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                        b'Proxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\n\r\n'
                    )
                    return
            host, port = head.split()[1].decode().rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with upstream:
                self._pipe(client, upstream)

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(a, selectors.EVENT_READ, b)
            sel.register(b, selectors.EVENT_READ, a)
            while not self.stop.is_set():
                for key, _ in sel.select(timeout=1):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo}127.0.0.1:{self.port}"

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        for t in self.threads:
            t.join(timeout=5)


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    p = Proxy(credentials="corp-user:p@ss w0rd!")
    yield p
    p.close()


def test_proxy_credentials_are_sent_on_the_connect(
    tls_api: FakeApi, ca_pem: Path, proxy: Proxy, tmp_path: Path
) -> None:
    url = proxy.url("corp-user:p%40ss%20w0rd%21@")
    result = check(https(tls_api), tmp_path, HTTPS_PROXY=url, REQUESTS_CA_BUNDLE=str(ca_pem))
    assert result.code == 0, result.err
    assert len(proxy.heads) >= 1 and b"Proxy-Authorization: Basic " in proxy.heads[0]
    assert "p@ss" not in result.err + result.out + outputs(tmp_path)
    attack("proxies", "HTTPS_PROXY with credentials", "sent as Proxy-Authorization: Basic")


@pytest.mark.parametrize("userinfo", ["corp-user:wrong-secret-9@", ""], ids=["wrong", "none"])
def test_a_407_says_the_proxy_refused_or_needs_credentials(
    tls_api: FakeApi, ca_pem: Path, proxy: Proxy, tmp_path: Path, userinfo: str
) -> None:
    result = check(
        https(tls_api), tmp_path, HTTPS_PROXY=proxy.url(userinfo), REQUESTS_CA_BUNDLE=str(ca_pem)
    )
    assert result.code == 3
    words = "refused the credentials" if userinfo else "needs credentials"
    assert f"the proxy http://127.0.0.1:{proxy.port} {words} (407" in result.err
    assert "wrong-secret-9" not in result.err + result.out + outputs(tmp_path)
    attack("proxies", f"a 407 ({'wrong credentials' if userinfo else 'none given'})",
           "exit 3 saying the proxy refused or needs credentials; no password shown")  # fmt: skip


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("socks5://puser:SECRET-pw-1@127.0.0.1:1080", "a socks5 proxy is not supported"),
        ("https://puser:SECRET-pw-1@proxy.corp:3128", "an https:// proxy (TLS to the proxy)"),
    ],
)
def test_an_unsupported_proxy_is_refused_without_its_password(
    tmp_path: Path, url: str, words: str
) -> None:
    result = check("https://api.futureagi.com", tmp_path, HTTPS_PROXY=url)
    assert result.code == 2
    assert words in result.err and "CONNECT" in result.err
    assert "SECRET-pw-1" not in result.err + result.out + outputs(tmp_path)
    assert "puser:" not in result.err
    attack("proxies", url.split(":")[0] + " proxy URL with a password",
           "exit 2 saying what is supported; the password in no output")  # fmt: skip


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "bypassed"),
    [
        ("example.com:8443", "example.com", 8443, True),
        ("example.com:8443", "example.com", 443, False),
        ("10.0.0.0/8", "10.1.2.3", 443, True),
        ("10.0.0.0/8", "11.1.2.3", 443, False),
        ("127.0.0.0/8", "127.0.0.1", 443, True),
        ("[::1]", "::1", 443, True),
        ("::1", "::1", 443, True),
        ("[::1]:8443", "::1", 443, False),
        ("fd00::/8", "fd12::1", 443, True),
        (".corp.example", "api.corp.example", 443, True),
        (".corp.example", "corp.example", 443, True),
        ("corp.example", "evilcorp.example", 443, False),
        ("*", "anything.example", 443, True),
        ("a.example, b.example", "b.example", 443, True),
        ("10.0.0.0/8", "ten.example", 443, False),
    ],
)
def test_no_proxy_as_curl_reads_it(no_proxy: str, host: str, port: int, bypassed: bool) -> None:
    proxied = {"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": no_proxy}
    network = Network.from_variables(proxied)
    assert (network.proxy_for("https", host, port) is None) == bypassed


def test_no_proxy_parses_every_form() -> None:
    entries, every = parse_no_proxy(" .a.example , b.example:81,[::1]:8443 ,10.0.0.0/8")
    assert not every and len(entries) == 4


# --- deadlines and signals in every phase --------------------------------------------------


@pytest.mark.slow  # bounded by its deadline or backoff: seconds of waiting
def test_a_trickling_proxy_is_cut_off_at_the_deadline_naming_the_phase(
    tmp_path: Path,
) -> None:
    """A proxy that sends its answer to CONNECT one byte every 0.5 s forever: the deadline
    holds (it used to run forever) and the message names the phase and the proxy."""
    slow = Proxy(trickle=0.5)
    started = time.monotonic()
    try:
        result = run(
            ["check", "--policy", write_policy(tmp_path, POLICY), "--run-test", SUPPORT,
             "--timeout", "2"],
            {"FI_BASE_URL": "https://api.futureagi.com", "FI_API_KEY": API_KEY,
             "FI_SECRET_KEY": SECRET_KEY, "HTTPS_PROXY": slow.url()},
        )  # fmt: skip
    finally:
        slow.close()
    assert result.code == 3, result.err
    assert f"the proxy http://127.0.0.1:{slow.port}'s answer to CONNECT" in result.err
    assert time.monotonic() - started < 30  # bounded; it never ended before
    record("faults", "a proxy that trickles its answer to CONNECT",
           "cut off at the deadline; the message names the phase and the proxy")  # fmt: skip


def test_a_resolver_that_never_answers_is_cut_off_at_the_deadline() -> None:
    """Name resolution runs in a thread of its own: the deadline does not wait for it."""
    never = threading.Event()

    def hang(*args: Any, **kwargs: Any) -> Any:
        never.wait(60)
        raise OSError("never")

    with (
        Transport(
            "https://api.futureagi.com", {}, deadline=Deadline(1.0), resolve=hang
        ) as transport,
        pytest.raises(DeadlineError) as caught,
    ):
        transport.request("GET", "/x", what="the test")
    never.set()
    assert "slow: resolving api.futureagi.com" in str(caught.value)
    record("faults", "a resolver that never answers", "cut off at the deadline, phase named")


HANGING_RESOLVER = (
    "import os, socket, threading, sys\n"
    "never = threading.Event()\n"
    "def hang(*a, **k):\n"
    "    open(os.environ['RESOLVING'], 'w').close()  # the test's cue: resolution began\n"
    "    never.wait(120)\n"
    "socket.getaddrinfo = hang\n"
    "from gate.cli import main\n"
    "sys.exit(main())\n"
)


def test_sigterm_during_a_slow_name_resolution_is_honoured(tmp_path: Path) -> None:
    """A cancelled CI job (SIGTERM) while the resolver hangs: fi-gate stops at once, 143, and
    writes its reports (it used to be acted on only once the resolver gave up, 59 s later)."""
    report, cue = tmp_path / "r.json", tmp_path / "resolving"
    proc = spawn(
        [sys.executable, "-c", HANGING_RESOLVER, "run", "--policy",
         write_policy(tmp_path, POLICY), "--run-test", SUPPORT, "--report", str(report)],
        {"PATH": os.environ.get("PATH", ""), "FI_BASE_URL": "https://api.futureagi.com",
         "FI_API_KEY": API_KEY, "FI_SECRET_KEY": SECRET_KEY, "RESOLVING": str(cue),
         "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )  # fmt: skip
    try:
        waited = time.monotonic()
        while not cue.exists() and time.monotonic() - waited < 60 and proc.poll() is None:
            time.sleep(0.05)  # however slow the machine: the signal comes once it resolves
        assert cue.exists(), "the resolver was never asked"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert json.loads(report.read_text())["exit_code"] == 143
    record("run", "SIGTERM while the resolver hangs", "exit 143 at once; reports written")


# --- interim answers, base URLs -----------------------------------------------------------


def test_an_interim_103_is_skipped_for_the_real_answer(tmp_path: Path) -> None:
    with FakeApi(load_dir(DEMO_DATA)) as api:
        api.fail(Fault(mode="early"), Fault(mode="early"))
        result = check(api.url, tmp_path)
        again = check(api.url, tmp_path)  # the connection after a 103 is not reused
    assert result.code == 0, result.err
    assert again.code == 0, again.err
    record("faults", "103 Early Hints before the answer", "skipped; the final answer judged")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:9590/?x=1", "carries a query"),
        ("https://api.futureagi.com#frag", "carries a query"),
        ("http://127.0.0.1:9590;x", "has no valid host and port"),
        ("https://api.futureagi.com:99999", "has no valid host and port"),
        ("https://[::1", "has no valid host and port"),
    ],
)
def test_a_base_url_is_a_base_url(tmp_path: Path, url: str, words: str) -> None:
    result = check(url, tmp_path)
    assert result.code == 2, result.err
    assert words in result.err and "https://host[:port][/path]" in result.err
    assert "internal error" not in result.err
    attack("base URLs", url, "exit 2 showing the accepted form")


def test_a_gate_error_from_the_transport_is_never_an_internal_error() -> None:
    with pytest.raises(GateError):
        Network.from_variables({"HTTPS_PROXY": "http://[::1"})
