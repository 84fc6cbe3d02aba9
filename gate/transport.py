"""The HTTP transport: one deadline, careful retries, and the keys kept to the API's origin.

Built on the standard library's `http.client` through its public interface: fi-gate opens each
connection itself (`connect`), so it knows every socket and can cut a read off from another
thread, with nothing borrowed from an HTTP library's internals.

- Only GETs are retried, on 429, 5xx and connection failures, with exponential backoff and
  jitter; `Retry-After` (seconds or an HTTP date) is honoured but capped. A POST is sent once.
- One deadline bounds the whole run, retries and slow bodies included. Closing the transport
  cuts off the reads still in flight in other threads, so an error is never held back by them.
- The keys go only to the base URL's origin: redirects are followed only within it; no
  `Authorization` header is ever sent and `~/.netrc` is never read; an https base URL goes
  through HTTPS_PROXY as a CONNECT tunnel, a plain http one never through a proxy.
- Bodies are read up to a cap, compressed ones inflated here up to the same cap.
- Nothing the server says reaches a message unclipped; the keys never appear in one.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import random
import re
import select
import socket
import ssl
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from gate import __version__
from gate.errors import ApiError, GateError, NotFoundError, OutageError, UsageError
from gate.network import Network, Proxy, without_userinfo
from gate.redact import clip
from gate.wire import decode_result, server_message

USER_AGENT = f"fi-gate/{__version__} (+https://github.com/future-agi/fi-gate)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_RETRY_AFTER = 60.0
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
MAX_REDIRECTS = 3
MAX_INTERIM = 10
PIECE = 256 * 1024


BACKOFF_BASE = 0.5  # seconds before the first retry, doubling (the tests shorten it)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff_base: float = field(default_factory=lambda: BACKOFF_BASE)
    backoff_max: float = 20.0


class Deadline:
    """The time left for the whole run."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.seconds = seconds
        self.end = clock() + seconds

    def remaining(self) -> float:
        return self.end - self.clock()


@dataclass(frozen=True)
class Refusal:
    """A final answer that is not a 2xx, for the API layer to say what it means."""

    status: int
    message: str  # what the server said, clipped
    what: str  # what was asked for ("the execution list of run test 'X'")
    path: str
    host: str
    json: bool  # a JSON object (the API's own answer), not a web server's page


Explain = Callable[[Refusal], "GateError | None"]


class MaybeSent(OutageError):
    """A POST whose answer was lost or was a 5xx: it may have been received and acted on."""


class Closed(ApiError):
    """A request cut off because the transport closed (the run is over: nobody reads this)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"stopped reading {what}: fi-gate was finishing")


class _Retryable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Deadline(OutageError):
    """The deadline passed before a request could be sent (again)."""


class DeadlineError(OutageError):
    """The run's deadline passed during a request: fi-gate cut it off itself. While waiting
    for an execution this is "not ready" (api.wait_for), never the server's fault."""


class MaybeSentDeadline(DeadlineError, MaybeSent):
    """The deadline cut off a write: it may have been received and acted on."""


def check_url(
    url: str,
    *,
    allow_insecure_http: bool = False,
    example: str = "https://api.example.com",
    credentials: str = "send them in headers",
) -> str:
    """Validate a service's base URL (the client says what an example is, and where its
    credentials go instead of the URL); plain http only for loopback hosts unless allowed."""
    form = f"give it as https://host[:port][/path], e.g. {example}"
    shown = clip(without_userinfo(url.strip()), 100)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:  # a port that is not a number in range, an unclosed bracket
        raise UsageError(f"base URL {shown!r} has no valid host and port; {form}") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(f"base URL {shown!r} is not an http(s) URL; {form}")
    if parts.username is not None or parts.password is not None:
        raise UsageError(f"the base URL must not carry credentials; {credentials}")
    if parts.query or parts.fragment or "?" in url or "#" in url or ";" in parts.netloc:
        raise UsageError(
            f"base URL {shown!r} carries a query, a fragment or parameters, which would end up "
            f"in every request's path; {form}"
        )
    if port == 0:
        raise UsageError(f"base URL {shown!r}: port 0 cannot be reached; {form}")
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise UsageError(
            f"refusing to send the keys over plain http to {parts.hostname}; use https, "
            "or pass --allow-insecure-http if this really is a trusted network"
        )
    return url.strip().rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        p = urlsplit(url)
        port = p.port or (443 if p.scheme == "https" else 80)
        return cls(p.scheme, (p.hostname or "").lower(), port)


_UNSAFE_LOCATION = re.compile(r"[\\@\x00-\x20\x7f-\x9f]")


def same_origin_target(current: str, location: str) -> str | None:
    """Where a redirect leads, if fi-gate may follow it with the keys; else None.

    The API never needs a redirect but its own trailing-slash 301. A target is followed only
    when it keeps the scheme, host and port, and has no backslash, userinfo, whitespace or
    control character at all (parsers disagree on `http://a:1\\@b:2/`; such a target is
    refused rather than read one way).
    """
    if not location or _UNSAFE_LOCATION.search(location):
        return None
    target = urljoin(current, location)
    if _UNSAFE_LOCATION.search(target):
        return None
    try:
        same = Origin.of(target) == Origin.of(current)
    except ValueError:
        return None
    return target if same else None


class _Connection(http.client.HTTPConnection):
    """A plain connection whose socket the transport opens (under its deadline, tracked)."""

    def __init__(self, host: str, port: int, open_socket: Callable[[], socket.socket]) -> None:
        super().__init__(host, port)
        self.open_socket = open_socket

    def connect(self) -> None:
        self.sock = self.open_socket()


class _TLSConnection(http.client.HTTPSConnection):
    """A TLS connection (through a CONNECT tunnel when there is a proxy) whose socket the
    transport opens, tunnels and wraps itself (transport.Transport._open)."""

    def __init__(self, host: str, port: int, open_socket: Callable[[], socket.socket]) -> None:
        super().__init__(host, port)
        self.open_socket = open_socket

    def connect(self) -> None:
        self.sock = self.open_socket()


class _Stream:
    """Stands for a socket whose buffered stream is already open (an interim answer read
    from it): the final answer is read from the same stream, nothing buffered is lost."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def makefile(self, mode: str) -> Any:
        return self.stream


# Every transport not yet closed: a signal that ends the run cancels them all (`cancel_all`),
# in whichever thread they work.
_OPEN: weakref.WeakSet[Transport] = weakref.WeakSet()
_OPEN_LOCK = threading.Lock()


def cancel_all() -> None:
    """Cut off the requests and waits of every open transport (the run was interrupted)."""
    with _OPEN_LOCK:
        transports = list(_OPEN)
    for transport in transports:
        transport.cancel()


class Transport:
    """Requests to one API origin, under one deadline, from any number of threads."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        *,
        deadline: Deadline,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        on_retry: Callable[[str], None] | None = None,
        network: Network | None = None,
        resolve: Callable[..., Any] = socket.getaddrinfo,
        explain: Explain | None = None,
        same_failure_hint: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.origin = Origin.of(self.base_url)
        self.host = urlsplit(self.base_url).netloc
        self.deadline = deadline
        self.retry = retry or RetryPolicy()
        self.sleep = sleep or self._nap  # waits end early when the transport closes
        self.rng = rng or random.Random()
        self.on_retry = on_retry
        self.requests_made = 0
        self.network = network or Network()  # trust and proxies (gate/network.py)
        self.resolve = resolve  # name resolution, run under the deadline (a thread of its own)
        self.explain = explain  # what a refusal means for the service spoken to (api.explain)
        self.same_failure_hint = same_failure_hint
        self.headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            # Only what fi-gate decodes itself, with a cap (no br or zstd).
            "Accept-Encoding": "gzip, deflate",
            **headers,
        }
        self.proxy = self.network.proxy_for(self.origin.scheme, self.origin.host, self.origin.port)
        self._lock = threading.Lock()
        self._local = threading.local()  # each thread's connection
        self._connections: list[http.client.HTTPConnection] = []
        # Every socket opened, so that `cancel` can end a read that another thread is blocked
        # in (a page that never answers) instead of waiting for it.
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._closing = threading.Event()
        # The deadline covers everything: connecting, sending, response heads (a server that
        # sends one header byte at a time, or endless `100 Continue`), bodies. When it passes,
        # every request in flight is cut off and ends as a deadline error.
        self._expired = threading.Event()
        self._timer = threading.Timer(max(0.0, deadline.remaining()), self._expire)
        self._timer.daemon = True
        self._timer.start()
        self._resume_at = 0.0  # a 429 pauses every thread until then (monotonic clock)
        with _OPEN_LOCK:
            _OPEN.add(self)

    # --- life ------------------------------------------------------------------------------

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the requests in flight (cut off, not waited for) and free the connections."""
        self._timer.cancel()
        self.cancel()
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        with _OPEN_LOCK:
            _OPEN.discard(self)

    def cancel(self) -> None:
        """Cut off this transport's requests and waits, from any thread: each ends with a quiet
        error in the thread that made it, which then unwinds and closes the transport."""
        self._closing.set()
        with self._lock:
            live = list(self._sockets)
        for sock in live:
            _shut(sock)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
        if self._closing.is_set():  # connected just as the run ended
            _shut(sock)

    def _nap(self, seconds: float) -> None:
        self._closing.wait(seconds)

    def _expire(self) -> None:
        self._expired.set()
        self.cancel()

    def late(self, what: str, last: str | None = None, *, write: bool = False) -> DeadlineError:
        """The deadline passed; `last`: the failure that was being retried, if one was; `write`:
        the request cut off was a write, which the server may have received."""
        kind = MaybeSentDeadline if write else DeadlineError
        if last is not None:
            return kind(
                f"{last} from {self.host} for {what}, and the {self.deadline.seconds:g}s "
                "deadline passed before a retry got through; retry later or raise --timeout"
            )
        return kind(
            f"no complete answer from {self.host} for {what} within the "
            f"{self.deadline.seconds:g}s deadline (slow: {self._phase()}); retry later or raise "
            "--timeout"
        )

    # --- requests --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        what: str,
        shape: Any = Any,
        body: Any = None,
        envelope: bool = True,
    ) -> Any:
        """One request to the API. GETs are retried (429, 5xx, connection errors); a POST is
        sent once: a POST that may have been received raises `MaybeSent`, never a retry (only
        a 429, which the server answers before doing anything, is waited out and sent again).
        The answer: the envelope's `result` decoded as `shape` (plain JSON by default;
        `bytes`: the raw body of a 2xx answer); without `envelope`, plain JSON."""
        query = {k: v for k, v in (params or {}).items() if v not in ("", None)}
        url = self.base_url + path + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if method != "GET" and body is not None else None
        trail: list[str] = []  # the failures retried: the last is named if the deadline passes
        try:
            status, answer = self._attempts(method, url, data, what, trail)
            result = self._result(status, answer, what, shape, envelope=envelope, url=url)
        except (ApiError, _Retryable) as exc:
            if isinstance(exc, DeadlineError):
                raise
            if self._expired.is_set() or isinstance(exc, _Deadline):
                last = trail[-1] if trail else None
                raise self.late(what, last, write=method != "GET") from exc
            raise
        if self._expired.is_set() or self.deadline.remaining() < 0:  # decoding included
            raise self.late(what)
        return result

    def _attempts(
        self, method: str, url: str, data: bytes | None, what: str, trail: list[str]
    ) -> tuple[int, bytes]:
        attempt = 0
        paused_here = False  # this thread already slept out the 429 that paused everyone
        answers: list[tuple[int, bytes]] = []  # the 5xx answers, to tell a pattern from bad luck
        while True:
            attempt += 1
            if not paused_here:
                self._hold()
            paused_here = False
            if self._closing.is_set():
                raise Closed(what)
            try:
                status, headers, answer = self._send(method, url, data)
            except ApiError as exc:
                if self._closing.is_set():  # cut off by cancel(): not the server's fault
                    raise Closed(what) from exc
                raise
            except _Retryable as exc:
                if self._expired.is_set():  # fi-gate cut it off at the deadline, not the server
                    last = trail[-1] if trail else None
                    raise self.late(what, last, write=method != "GET") from exc
                if method != "GET":  # it may have been received: never sent twice blindly
                    raise MaybeSent(f"{exc.reason} from {self.host} for {what}") from exc
                trail.append(exc.reason)
                self._pause(attempt, None, exc.reason, what)  # Closed when cut off
                continue
            if status not in RETRY_STATUSES:
                return status, answer
            retry_after = _retry_after(headers.get("Retry-After"))
            reason = f"HTTP {status} ({server_message(answer)})" if answer else f"HTTP {status}"
            if method != "GET" and status != 429:
                raise MaybeSent(f"{reason} from {self.host} for {what}")
            trail.append(reason)
            if status == 429:
                self._pause_all(retry_after)
                paused_here = True
            else:
                answers.append((status, answer))
                self._same_failure(answers, attempt, what)
            self._pause(attempt, retry_after, reason, what)

    def _same_failure(self, answers: list[tuple[int, bytes]], attempt: int, what: str) -> None:
        """The same 500 for the same request on every attempt is the server failing on this
        request, not an outage: no retry or wait fixes it, so it is said plainly and
        `--on-api-error pass` does not soften it."""
        if attempt < self.retry.attempts or len(answers) < 2:
            return
        if {s for s, _ in answers} == {500} and len({b for _, b in answers}) == 1:
            raise ApiError(
                f"HTTP 500 ({server_message(answers[0][1])}) from {self.host} for {what}, the "
                f"same answer {len(answers)} times: it is not a network problem"
                f"{self.same_failure_hint or '; the server fails on this request'}"
            )

    def _hold(self) -> None:
        """Wait while a 429 has paused every thread."""
        wait_for = self._resume_at - time.monotonic()
        if wait_for > 0:
            if wait_for >= self.deadline.remaining():
                raise OutageError(
                    f"{self.host} is rate-limiting this run beyond the "
                    f"{self.deadline.seconds:g}s deadline; retry later or raise --timeout"
                )
            self.sleep(wait_for)

    def _pause_all(self, retry_after: float | None) -> None:
        delay = min(retry_after if retry_after is not None else 1.0, MAX_RETRY_AFTER)
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + delay)

    def _pause(self, attempt: int, retry_after: float | None, reason: str, what: str) -> None:
        if self._closing.is_set():
            raise Closed(what)
        where = f"{reason} from {self.host} for {what}"
        if attempt >= self.retry.attempts:
            raise OutageError(
                f"{where}, {attempt} attempts in a row; the API or the network is failing: "
                "check the base URL and the service status, then retry"
            )
        if retry_after is not None:
            delay = min(retry_after, MAX_RETRY_AFTER)
        else:
            ceiling = min(self.retry.backoff_max, self.retry.backoff_base * 2 ** (attempt - 1))
            delay = self.rng.uniform(ceiling / 2, ceiling)
        if delay >= self.deadline.remaining():
            raise DeadlineError(  # the time ran out, whatever was being retried
                f"{where}, and the next retry would pass the {self.deadline.seconds:g}s "
                "deadline; retry later or raise --timeout"
            )
        if self.on_retry:
            self.on_retry(f"{where}; retrying in {delay:.1f}s (attempt {attempt + 1})")
        self.sleep(delay)

    # --- one exchange ----------------------------------------------------------------------

    def _send(
        self, method: str, url: str, data: bytes | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send once, following same-origin redirects for GETs: (status, headers, body).

        A write (POST, PATCH, PUT) is never redirected: following a 303 or a 308 would send it
        again, somewhere else (a second start, a second comment). It stops with the status and
        where it pointed."""
        for _ in range(MAX_REDIRECTS + 1):
            status, headers, body = self._exchange(method, url, data)
            if status in REDIRECT_STATUSES and method != "GET":
                where = clip(headers.get("Location") or "nowhere", 80)
                raise ApiError(
                    f"{self.host} answered the {method} with a redirect ({status} to {where}); "
                    "fi-gate never sends a write twice or elsewhere, so it stopped: check "
                    "--base-url (the API's own address, not a front end that redirects)"
                )
            if status in REDIRECT_STATUSES and "Location" in headers:
                target = same_origin_target(url, headers["Location"])
                if target is None:
                    raise ApiError(
                        f"{self.host} redirected elsewhere ({clip(headers['Location'], 80)}); "
                        "not following it with the API keys: set --base-url to the API's real "
                        "address"
                    )
                # Keep the query unless the new location carries its own.
                query = urlsplit(url).query
                url = target if urlsplit(target).query or not query else f"{target}?{query}"
                continue
            return status, headers, body
        raise ApiError(f"{self.host} redirected more than {MAX_REDIRECTS} times; check --base-url")

    def _exchange(
        self, method: str, url: str, data: bytes | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        left = self.deadline.remaining()
        if left <= 0:
            raise _Deadline(
                f"no answer from {self.host} within the {self.deadline.seconds:g}s deadline; "
                "check the network or raise --timeout"
            )
        with self._lock:
            self.requests_made += 1
        connection = self._connection()
        if connection.sock is not None and (method != "GET" or _stale(connection.sock)):
            # A kept-alive connection the server has closed meanwhile (it closes idle ones
            # after about 30 s) is replaced quietly; a write always gets a fresh connection,
            # so that it is never lost to a stale one and left "maybe sent".
            connection.close()
        reused = connection.sock is not None
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            if connection.sock is None:
                self._connect(connection)
            self._set_phase(f"the answer from {self.host}")
            connection.sock.settimeout(min(READ_TIMEOUT, left))
            connection.request(method, target, body=data, headers=headers)
            response = connection.getresponse()
            response, interim = self._final(response, method)
            answer = self._read(response)
            if interim:  # the connection's own state followed the interim answer: not reused
                self._drop(connection)
        except BaseException as exc:
            self._drop(connection)
            if (
                reused
                and method == "GET"
                and _closed_before_answer(exc)
                and not self._closing.is_set()
            ):
                # The server closed the kept-alive connection as the GET went out (no byte of
                # an answer came): the GET was not received. Sent again on a fresh one, quietly.
                return self._exchange(method, url, data)
            if isinstance(exc, (ApiError, _Retryable)) or not isinstance(exc, Exception):
                raise
            raise self._fault(exc) from exc
        # A connection the server closes is reopened by the next request (http.client).
        return response.status, _Headers(response.headers), answer

    def _final(
        self, response: http.client.HTTPResponse, method: str
    ) -> tuple[http.client.HTTPResponse, bool]:
        """The final answer after any interim ones (`103 Early Hints`; http.client skips only
        `100 Continue`), read from the same stream; whether there was an interim answer."""
        interim = 0
        while 100 <= response.status < 200 and response.status != 101:
            interim += 1
            if interim > MAX_INTERIM:
                raise ApiError(f"{self.host} sent more than {MAX_INTERIM} interim answers")
            stream, response.fp = response.fp, None  # type: ignore[assignment]  # the final answer owns it
            response = http.client.HTTPResponse(_Stream(stream), method=method)  # type: ignore[arg-type]
            response.begin()
        return response, interim > 0

    def _fault(self, exc: Exception) -> Exception:
        """What a failure while sending or reading the response head means."""
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return _Retryable("no answer (read timed out)")
        if isinstance(exc, (ConnectionError, http.client.RemoteDisconnected, OSError)):
            return _Retryable("the connection broke before the answer")
        if isinstance(exc, http.client.HTTPException):  # a status line or headers not HTTP's
            return ApiError(
                f"{self.host} answered with something that is not HTTP "
                f"({type(exc).__name__}); check --base-url"
            )
        return exc

    def _connect(self, connection: http.client.HTTPConnection) -> None:
        try:
            connection.connect()
        except ssl.SSLCertVerificationError as exc:
            raise ApiError(
                f"TLS verification failed for {self.host}: {_tls_reason(exc)} (verified against "
                f"{self.network.trust}); if a proxy re-signs traffic, install its CA in the "
                "system's store or point REQUESTS_CA_BUNDLE at it"
            ) from exc
        except socket.gaierror as exc:
            host = self.proxy.host if self.proxy else self.origin.host
            raise ApiError(
                f"cannot resolve the host {host}: check --base-url or FI_BASE_URL (or "
                "HTTPS_PROXY) and the runner's DNS"
            ) from exc
        except TimeoutError as exc:
            if self._expired.is_set():
                raise self.late("the connection") from exc
            raise _Retryable(f"connection timed out ({self._phase()})") from exc
        except ssl.SSLError as exc:
            if self._expired.is_set() or self._closing.is_set():
                raise Closed("the answer") from exc
            raise ApiError(
                f"the TLS handshake with {self.host} failed ({clip(str(exc.reason or exc), 80)}); "
                "check --base-url"
            ) from exc
        except OSError as exc:
            if self._closing.is_set():
                raise Closed("the answer") from exc
            raise _Retryable("connection refused") from exc

    def _phase(self) -> str:
        return str(getattr(self._local, "phase", "") or "the request")

    def _set_phase(self, phase: str) -> None:
        self._local.phase = phase

    def _open(self) -> socket.socket:
        """This thread's socket to the origin: resolved, connected, tunnelled through the proxy
        (CONNECT) and wrapped in TLS, every phase under the deadline (the socket is tracked from
        its creation, so the deadline and a signal cut any phase off) and named for messages."""
        o = self.origin
        host, port = (self.proxy.host, self.proxy.port) if self.proxy else (o.host, o.port)
        sock = self._connect_to(host, port)
        opened = [sock]
        try:
            if self.proxy is not None:
                self._tunnel(sock, self.proxy)
            if o.scheme == "https":
                context = self.network.tls_context()
                tls = context.wrap_socket(
                    sock, server_hostname=o.host, do_handshake_on_connect=False
                )
                opened.append(tls)
                self._track(tls)
                self._set_phase(f"the TLS handshake with {o.host}")
                tls.do_handshake()
                sock = tls
        except BaseException:
            for each in opened:
                each.close()
            raise
        self._set_phase(f"the answer from {self.host}")
        return sock

    def _connect_to(self, host: str, port: int) -> socket.socket:
        """Resolve (in a thread of its own: a resolver that never answers is not waited for
        past the deadline, and a signal is honoured at once) and connect, tracked."""
        self._set_phase(f"resolving {host}")
        addresses = self._resolved(host, port)
        last: OSError | None = None
        for family, kind, proto, _, address in addresses:
            self._set_phase(f"connecting to {host}:{port}")
            sock = socket.socket(family, kind, proto)
            self._track(sock)
            sock.settimeout(max(0.01, min(CONNECT_TIMEOUT, self.deadline.remaining())))
            try:
                sock.connect(address)
            except OSError as exc:
                sock.close()
                last = exc
                if self._expired.is_set() or self._closing.is_set():
                    break
                continue
            sock.settimeout(max(0.01, min(READ_TIMEOUT, self.deadline.remaining())))
            return sock
        assert last is not None
        raise last

    def _resolved(self, host: str, port: int) -> list[Any]:
        done = threading.Event()
        box: list[Any] = []

        def work() -> None:
            try:
                box.append(self.resolve(host, port, type=socket.SOCK_STREAM))
            except BaseException as exc:  # handed to the waiting thread
                box.append(exc)
            done.set()

        threading.Thread(target=work, daemon=True, name="fi-gate-resolve").start()
        while not done.wait(0.05):
            if self._closing.is_set():
                raise Closed("the answer")
            if self.deadline.remaining() <= 0:
                raise self.late("the answer")
        if isinstance(box[0], BaseException):
            raise box[0]
        return list(box[0])

    def _tunnel(self, sock: socket.socket, proxy: Proxy) -> None:
        """CONNECT through the proxy, with its credentials; its answer read under the deadline."""
        o = self.origin
        target = f"[{o.host}]:{o.port}" if ":" in o.host else f"{o.host}:{o.port}"
        lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}", f"User-Agent: {USER_AGENT}"]
        authorization = proxy.authorization()
        if authorization:
            lines.append(f"Proxy-Authorization: {authorization}")
        self._set_phase(f"the proxy {proxy.shown}'s answer to CONNECT")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        head = b""
        while b"\r\n\r\n" not in head:
            piece = sock.recv(1)  # one byte at a time: nothing past the head is consumed
            if not piece:
                raise _Retryable(f"the proxy {proxy.shown} closed the connection on CONNECT")
            head += piece
            if len(head) > 65536:
                raise ApiError(f"the proxy {proxy.shown} answered CONNECT with an endless head")
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1", "replace")
        parts = status_line.split(" ", 2)
        code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if 200 <= code < 300:
            return
        if code == 407:
            needs = "refused the credentials" if authorization else "needs credentials"
            raise ApiError(
                f"the proxy {proxy.shown} {needs} (407 Proxy Authentication Required); put "
                f"them in {proxy.variable} as http://user:password@host:port (percent-encoded)"
            )
        raise ApiError(
            f"the proxy {proxy.shown} refused to reach {self.host} "
            f"({clip(status_line, 80)}); check {proxy.variable} and NO_PROXY"
        )

    def _connection(self) -> http.client.HTTPConnection:
        """This thread's connection (pages are read from a pool of threads)."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        o = self.origin
        kind = _TLSConnection if o.scheme == "https" else _Connection
        connection = kind(o.host, o.port, self._open)
        self._local.connection = connection
        with self._lock:
            self._connections.append(connection)
        return connection

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        """Forget a connection that cannot be used again (broken, or closed by the server)."""
        connection.close()
        self._local.connection = None
        with self._lock, contextlib.suppress(ValueError):
            self._connections.remove(connection)

    def _read(self, response: http.client.HTTPResponse) -> bytes:
        """The body, at most MAX_BODY_BYTES of it whatever the framing (a Content-Length beside
        `Transfer-Encoding: chunked`, no length at all) and, compressed, once inflated."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise ApiError(
                f"{self.host} sent a {int(declared):,}-byte answer; fi-gate reads at most "
                f"{MAX_BODY_BYTES:,}: check --base-url"
            )
        encoding = (response.headers.get("Content-Encoding") or "").strip().lower()
        chunked = "chunked" in (response.headers.get("Transfer-Encoding") or "").lower()
        whole = declared.isdigit() and not chunked and encoding in ("", "identity")
        try:
            if whole:
                # A plain body of known size (the usual answer) is read in one call: in pieces
                # it costs three times the CPU (about 2 ms a megabyte).
                body = response.read()
                if len(body) != int(declared):
                    raise _Retryable("the connection broke while reading the answer")
                return body
            if chunked:
                return _capped(_dechunked(response, self.host), encoding, self.host)
            return _capped(_pieces(response), encoding, self.host)
        except ApiError:
            raise
        except TimeoutError as exc:
            if self._expired.is_set():
                raise self.late("the answer") from exc
            raise _Retryable("the answer stalled (read timed out)") from exc
        except (http.client.HTTPException, OSError, ValueError) as exc:
            if self._expired.is_set():
                raise self.late("the answer") from exc
            raise _Retryable("the connection broke while reading the answer") from exc

    # --- answers ---------------------------------------------------------------------------

    def _result(
        self, status: int, body: bytes, what: str, shape: Any, *, envelope: bool, url: str
    ) -> Any:
        try:
            return self._outcome(status, body, what, shape, envelope=envelope, url=url)
        except GateError as exc:
            exc.status = status
            raise

    def _outcome(
        self, status: int, body: bytes, what: str, shape: Any, *, envelope: bool, url: str
    ) -> Any:
        if 200 <= status < 300:
            if shape is bytes:
                return body
            if not envelope:
                return _plain_json(body, what, self.host)
            return decode_result(body, what, shape, self.host)
        raise self._refusal(status, body, what, url)

    def _refusal(self, status: int, body: bytes, what: str, url: str) -> GateError:
        """The error for a final answer that is not a 2xx: the service's own meaning when the
        client gave one (`explain`), else what HTTP says."""
        message = server_message(body)
        refusal = Refusal(status, message, what, urlsplit(url).path, self.host, _is_api_json(body))
        explained = self.explain(refusal) if self.explain else None
        if explained is not None:
            return explained
        if status == 404:
            return NotFoundError(f"404 from {self.host}: {what} was not found ({message})")
        if 300 <= status < 400:
            return ApiError(f"{status} from {self.host} without a usable Location")
        if status >= 500:
            return OutageError(f"{status} from {self.host} for {what}: {message}; retry later")
        return ApiError(f"{status} from {self.host} for {what}: {message}")


class _Headers(dict[str, str]):
    """Response headers, looked up without regard to case (as HTTP names them)."""

    def __init__(self, message: Any) -> None:
        super().__init__((k.lower(), v) for k, v in message.items())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


def _pieces(response: http.client.HTTPResponse) -> Iterator[bytes]:
    """A body framed by its length or by the end of the connection, in pieces."""
    while piece := response.read(PIECE):
        yield piece


_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
MAX_CHUNK_LINE = 4096


def _dechunked(response: http.client.HTTPResponse, host: str) -> Iterator[bytes]:
    """A chunked body, decoded here (RFC 9112, section 7.1) rather than by http.client, which
    cannot tell a broken connection from a broken framing: a chunk size that is not hex
    (`zz`, `-1`) is a malformed answer (ApiError), never a retry or an outage; the end of the
    connection before the last chunk is a broken connection (retried for a GET)."""
    fp = response.fp  # the response's public stream, the framing not yet read
    broken = _Retryable("the connection broke while reading the answer")

    def line() -> bytes:
        raw = fp.readline(MAX_CHUNK_LINE + 1)
        if len(raw) > MAX_CHUNK_LINE:
            raise ApiError(
                f"{host} sent a chunked answer with a framing line over {MAX_CHUNK_LINE} "
                "bytes: a malformed answer; check --base-url"
            )
        if not raw.endswith(b"\n"):
            raise broken
        return raw.rstrip(b"\r\n")

    try:
        while True:
            head = line()
            size_text = head.split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size_text):
                raise ApiError(
                    f"{host} sent a chunked answer whose chunk size is not a hex number "
                    f"({clip(head.decode('latin-1'), 20)!r}): a malformed answer, not a network "
                    "fault; check --base-url and any proxy in between"
                )
            left = int(size_text, 16)
            if left == 0:
                while line():  # trailer fields, up to the empty line
                    pass
                return
            while left:
                piece = fp.read(min(left, PIECE))
                if not piece:
                    raise broken
                left -= len(piece)
                yield piece
            if line():
                raise ApiError(
                    f"{host} sent a chunk longer than its declared size: a malformed answer; "
                    "check --base-url and any proxy in between"
                )
    finally:
        response.close()  # done with the stream: the connection may be used again


def _capped(pieces: Iterator[bytes], encoding: str, host: str) -> bytes:
    """Read in pieces; inflate here (gzip, deflate), stopping at the cap: a 2 MB gzip bomb
    would otherwise reach gigabytes."""
    too_big = ApiError(
        f"{host} sent more than {MAX_BODY_BYTES:,} bytes; fi-gate stopped reading: check --base-url"
    )
    if encoding in ("", "identity"):
        inflate = None
    elif encoding in ("gzip", "x-gzip"):
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflate = zlib.decompressobj()
    else:
        raise ApiError(
            f"{host} answered in an encoding fi-gate does not read ({clip(encoding, 40)}); "
            "check --base-url and any proxy in between"
        )
    out = bytearray()
    received = 0
    try:
        for piece in pieces:
            received += len(piece)
            if received > MAX_BODY_BYTES:
                raise too_big
            if inflate is None:
                out += piece
            else:
                out += inflate.decompress(piece, MAX_BODY_BYTES + 1 - len(out))
                if inflate.unconsumed_tail:
                    raise too_big
            if len(out) > MAX_BODY_BYTES:
                raise too_big
        if inflate is not None:
            out += inflate.flush()
    except zlib.error as exc:
        raise ApiError(
            f"{host} sent a {encoding} answer that does not decompress; check --base-url"
        ) from exc
    if len(out) > MAX_BODY_BYTES:
        raise too_big
    return bytes(out)


def _stale(sock: socket.socket) -> bool:
    """An idle kept-alive connection with something to read: the server closed it (or sent
    what nobody asked for). Either way it is not used again."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _closed_before_answer(exc: BaseException) -> bool:
    """The connection ended before any byte of an answer: the request was not read."""
    return isinstance(
        exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
    ) and not isinstance(exc, TimeoutError)


def _shut(sock: socket.socket) -> None:
    """Shut a connection down under a read blocked in another thread, which then fails at once.

    The plain socket's shutdown, also for TLS: `SSLSocket.shutdown` first drops the TLS state,
    which the blocked read may be about to use. A socket already closed is left alone.
    """
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, from either form (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _is_api_json(body: bytes) -> bool:
    """A JSON object, as the API answers (a wrong path gets the web server's HTML page)."""
    try:
        data = json.loads(body[:65536])
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict)


def _plain_json(body: bytes, what: str, host: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ApiError(
            f"{host} answered {what} with something that is not JSON "
            f"({server_message(body)}); check --base-url"
        ) from exc


def _tls_reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("CERTIFICATE_VERIFY_FAILED", "hostname mismatch", "self-signed", "expired"):
        if marker.lower() in text.lower():
            return marker.lower().replace("_", " ")
    return "the certificate could not be verified"
