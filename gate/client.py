"""The Future AGI API client: one session, an explicit deadline, careful retries.

- Only GETs, and only retried on 429, 5xx and connection failures, with exponential backoff and
  jitter; `Retry-After` (seconds or an HTTP date) is honoured but capped.
- One deadline bounds the whole run, retries and slow bodies included. Closing the client cuts
  off the reads still in flight in other threads, so an error is never held back by them.
- The keys go only to the base URL's origin: redirects are followed only within it, and no
  `Authorization` header is ever sent (a `~/.netrc` entry cannot add one).
- Nothing the server says reaches a message unclipped; the keys never appear in one.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
import queue
import random
import re
import socket
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from gate import __version__
from gate.calls import (
    CallDigest,
    CallsResult,
    Detail,
    PageHeader,
    PagePlan,
)
from gate.errors import (
    ApiError,
    ConfigError,
    GateError,
    NotReadyError,
    OutageError,
    UsageError,
)
from gate.model import Execution, ExecutionRef, parse_execution, parse_execution_list
from gate.redact import clip as _clip
from gate.verdict import CallsSummary
from gate.wire import decode_result
from gate.wire import server_message as _server_message

RUNS_PATH = "/sdk/api/v1/simulation/runs/"
USER_AGENT = f"fi-gate/{__version__} (+https://github.com/future-agi/fi-gate)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BODY_BYTES = 64 * 1024 * 1024
LIST_PAGE_SIZE = 5
MAX_LIST_PAGES = 20
MAX_RETRY_AFTER = 60.0
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
MAX_REDIRECTS = 3
# Time for the page readers to send their requests (about 1 ms of Python each) before page 1
# is decoded; measured: all four are on the wire within 5 ms.
SEND_GRACE = 0.005


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 20.0


def check_base_url(url: str, *, allow_insecure_http: bool = False) -> str:
    """Validate a base URL; plain http only for loopback hosts unless explicitly allowed."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(
            f"base URL {url!r} is not an http(s) URL; use e.g. https://api.futureagi.com"
        )
    if parts.username or parts.password:
        raise UsageError(
            "the base URL must not carry credentials; use FI_API_KEY and FI_SECRET_KEY"
        )
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise UsageError(
            f"refusing to send the API keys over plain http to {parts.hostname}; use https, "
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


def _origin(url: str) -> tuple[str, str, int | None]:
    p = urlsplit(url)
    port = p.port or {"http": 80, "https": 443}.get(p.scheme)
    return p.scheme, (p.hostname or "").lower(), port


def _transport_origin(url: str) -> tuple[str, str, int | None]:
    """The origin as the HTTP library will connect to it (urllib3's own parser)."""
    p = urllib3.util.parse_url(url)
    scheme = (p.scheme or "").lower()
    return (
        scheme,
        (p.host or "").lower().strip("[]"),
        p.port or {"http": 80, "https": 443}.get(scheme),
    )


_UNSAFE_LOCATION = re.compile(r"[\\@\x00-\x20\x7f-\x9f]")


def _same_origin_target(current: str, location: str) -> str | None:
    """Where a redirect leads, if fi-gate may follow it with the keys; else None.

    The API never needs a redirect but its own trailing-slash 301. A target is followed only
    when it keeps the scheme, host and port, as both the standard parser and the HTTP
    library's own parser read it (they disagree on `http://a:1\\@b:2/`), and has no backslash,
    userinfo, whitespace or control character at all.
    """
    if not location or _UNSAFE_LOCATION.search(location):
        return None
    target = urljoin(current, location)
    if _UNSAFE_LOCATION.search(target):
        return None
    try:
        same = _origin(target) == _origin(current) == _transport_origin(target)
    except (ValueError, urllib3.exceptions.LocationParseError):
        return None
    return target if same else None


class _NoAuth(requests.auth.AuthBase):
    """Set as the session's auth so requests never consults ~/.netrc; drops any Authorization."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers.pop("Authorization", None)
        return r


@dataclass
class FirstPage:
    """Page 1 of an execution's calls, as it came with the execution: its header, decoded, and
    the answer's body, from which `read_calls` decodes its calls."""

    header: PageHeader
    body: bytes


class Deadline:
    """The time left for the whole run."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.seconds = seconds
        self.end = clock() + seconds

    def remaining(self) -> float:
        return self.end - self.clock()


class Client:
    """The few GETs fi-gate needs, with the behaviour described at the top of this module."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        secret_key: str,
        *,
        deadline: Deadline,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
        on_retry: Callable[[str], None] | None = None,
        verify: bool | str = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + RUNS_PATH
        self.host = urlsplit(self.base_url).netloc
        self.deadline = deadline
        self.retry = retry or RetryPolicy()
        # Waits (backoff, Retry-After, polling) end early when the client closes.
        self.sleep = sleep or self._nap
        self.rng = rng or random.Random()
        self.on_retry = on_retry
        self.requests_made = 0
        self.verify = verify  # True, or a CA bundle path (REQUESTS_CA_BUNDLE)
        self._headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "X-Api-Key": api_key,
            "X-Secret-Key": secret_key,
            # Only what fi-gate decodes itself, with a cap (no br or zstd).
            "Accept-Encoding": "gzip, deflate",
        }
        self._lock = threading.Lock()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        # Every socket the sessions open, so that `close` can end a read that another thread is
        # blocked in (a page that never answers) instead of waiting for it.
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._closing = threading.Event()
        # The deadline covers everything: connecting, sending, response heads (a server that
        # sends one header byte at a time, or endless `100 Continue`), bodies. When it passes,
        # every request in flight is cut off (`cancel`) and ends as a deadline error.
        self._expired = threading.Event()
        self._deadline_timer = threading.Timer(max(0.0, deadline.remaining()), self._expire)
        self._deadline_timer.daemon = True
        self._deadline_timer.start()
        # urllib3 pool classes whose connections report their socket to this client (_track).
        self._pool_classes = _tracking_pools(self._track)
        with _OPEN_LOCK:
            _OPEN.add(self)
        self._resume_at = 0.0  # a 429 pauses every worker until then (monotonic clock)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_size = 0
        # HTTPS_PROXY / NO_PROXY, as requests would read them for this URL; for https only:
        # the keys never go through a proxy in cleartext (a plain http base URL is reached
        # directly, whatever HTTP_PROXY says).
        self._proxies = (
            requests.utils.get_environ_proxies(self.url)
            if urlsplit(self.url).scheme == "https"
            else {}
        )

    @property
    def session(self) -> requests.Session:
        """This thread's session: pages are read from a pool of threads."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = _TrackingAdapter(self._pool_classes)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.auth = _NoAuth()
            session.headers.update(self._headers)
            # The environment is read once (proxies here, the CA bundle by the CLI), not on
            # every request: requests scans os.environ twice a request, about 1 ms each time.
            session.trust_env = False
            session.proxies.update(self._proxies)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def start_workers(self, workers: int) -> None:
        """Start the call-page readers now, before the first request.

        A thread started later, while other threads are busy reading and decoding pages, waits
        up to a GIL switch interval (5 ms) before it runs, on the critical path each time.
        Started first, before any request, when nothing else is running, they cost about 0.1 ms
        each.
        """
        if self._pool is not None:
            return
        workers = max(1, workers)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fi-gate")
        self._pool_size = workers
        ready = threading.Barrier(workers)  # each start meets a busy thread, so spawns anew
        for _ in range(workers):
            self._pool.submit(ready.wait, 10.0)

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _nap(self, seconds: float) -> None:
        self._closing.wait(seconds)

    def _expire(self) -> None:
        self._expired.set()
        self.cancel()

    def _late(self, what: str, last: str | None = None) -> OutageError:
        """The deadline passed; `last`: the failure that was being retried, if one was."""
        if last is not None:
            return OutageError(
                f"{last} from {self.host} for {what}, and the {self.deadline.seconds:g}s "
                "deadline passed before a retry got through; retry later or raise --timeout"
            )
        return OutageError(
            f"no complete answer from {self.host} for {what} within the "
            f"{self.deadline.seconds:g}s deadline; retry later or raise --timeout"
        )

    def close(self) -> None:
        """End the run's requests and free its connections.

        Reads still in flight (the other page readers, after one page failed) are cut off, not
        waited for: a page that never answers would otherwise hold the error message back until
        its read timed out, and readers stop retrying and sleeping at once.
        """
        self._deadline_timer.cancel()
        self.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        with _OPEN_LOCK:
            _OPEN.discard(self)

    def cancel(self) -> None:
        """Cut off this client's requests and waits, from any thread: each ends with a quiet
        error in the thread that made it, which then unwinds and closes the client."""
        self._closing.set()
        with self._lock:
            live = list(self._sockets)
        for sock in live:
            _shut(sock)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the endpoints -------------------------------------------------------------------

    def list_executions(
        self, run_test: str, page: int = 1, limit: int = LIST_PAGE_SIZE
    ) -> tuple[list[ExecutionRef], int, list[Any]]:
        """A listing page: its executions, total_pages, and the raw items (with eval results)."""
        result = self.get(
            {"run_test_name": run_test, "page": str(page), "limit": str(limit)},
            what=f"the execution list of run test '{_clip(run_test, 80)}'",
        )
        refs, total_pages = parse_execution_list(result)
        return refs, total_pages, list(result["results"])

    def execution(
        self, execution_id: str, *, summary: bool = True, run_test: str | None = None
    ) -> Execution:
        return self.execution_and_calls(execution_id, summary=summary, run_test=run_test)[0]

    def execution_and_calls(
        self,
        execution_id: str,
        *,
        summary: bool = True,
        run_test: str | None = None,
        page_size: int = 1,
    ) -> tuple[Execution, FirstPage | None]:
        """The execution and its first call page (of `page_size` calls) in one request.

        The page's calls are not decoded here, only its header: `read_calls` decodes them from
        the body while it has the other pages read.
        """
        params = {"execution_id": execution_id, "limit": str(page_size)}
        if summary:
            params["summary"] = "true"
        what = f"execution {_clip(execution_id, 64)}"
        body: bytes = self.get(params, what=what, shape=bytes)
        detail: Detail = self._decode(body, what, Detail)
        execution = parse_execution(detail.fields(), run_test=run_test)
        if detail.call_results is None:
            return execution, None
        if page_size == 1:  # no calls wanted: the one call's shape is checked all the same
            self._decode(body, what, CallsResult)
        return execution, FirstPage(detail.call_results, body)

    def read_calls(
        self,
        execution_id: str,
        first: FirstPage | None,
        *,
        plan: PagePlan,
        workers: int,
        total_calls: int | None = None,
    ) -> CallsSummary:
        """Every call of the execution: page 1 is given; the later pages are read concurrently.

        `workers` threads read the later pages, and this thread decodes and digests every page,
        one at a time, as it arrives: page 1 first, while the others are in flight. A reader
        hands a body over and goes on to the next page; at most `workers` pages are in flight
        or waiting, and only one is decoded at a time, so memory does not grow with the number
        of pages. One decoding thread also means no hand-over of the GIL between decoders: on
        a busy machine each such hand-over cost 5 to 30 ms.
        """
        what = f"the calls of execution {_clip(execution_id, 64)}"
        if first is None:
            raise ApiError(f"the API answered {what} with no call_results page")
        digest = CallDigest()
        if total_calls is not None:
            # Whatever the pagination says, an execution of n calls is read in the pages that
            # n calls fill (with a margin), and no more than that many calls are kept.
            digest.limit = total_calls + max(10, total_calls // 10)
            header = first.header
            if (header.count or 0) > digest.limit:
                raise ApiError(
                    f"the API's pages for {what} claim {header.count:,} calls, but the "
                    f"execution has {total_calls:,}; is --base-url pointing at the Future AGI API?"
                )
            most = -(-digest.limit // min(plan.first, plan.rest)) + 1
            if header.total_pages > most:
                raise ApiError(
                    f"the API's pages for {what} claim {header.total_pages:,} pages, but the "
                    f"execution's {total_calls:,} calls fill at most {most}; is --base-url "
                    "pointing at the Future AGI API?"
                )
        later = plan.later_pages(first.header)
        following = next(later, None)
        if following is None:  # all the calls came with the execution
            self._digest(first.body, what, 1, digest)
            first.body = b""
            return digest.summary()
        later = itertools.chain([following], later)
        self.start_workers(workers)
        pool = self._pool
        assert pool is not None
        workers = min(max(1, workers), self._pool_size)
        take = threading.Lock()  # hands out the later pages
        slots = threading.Semaphore(workers)  # pages in flight or waiting
        arrived: queue.SimpleQueue[tuple[int, str, bytes | BaseException | None]]
        arrived = queue.SimpleQueue()
        started = threading.Semaphore(0)
        stop = threading.Event()

        def reader() -> None:
            """Read later pages until there are none; always ends with a marker or an error,
            so the decoding thread never waits for a reader that is gone."""
            started.release()
            try:
                while not stop.is_set():
                    slots.acquire()
                    with take:
                        page_limit = next(later, None)
                    if page_limit is None or stop.is_set():
                        slots.release()
                        break
                    page, limit = page_limit
                    where = f"page {page} of {what}"
                    body: bytes = self.get(
                        {"execution_id": execution_id, "page": str(page), "limit": str(limit)},
                        what=where,
                        shape=bytes,
                    )
                    arrived.put((page, where, body))
            except BaseException as exc:  # handed to the decoding thread, raised there
                arrived.put((0, what, exc))
            else:
                arrived.put((0, "", None))  # this reader is done

        readers = [pool.submit(reader) for _ in range(workers)]
        try:
            # Page 1 is digested while the other pages are on their way, but only once their
            # requests are sent: msgspec holds the GIL for a whole decode (tens of ms), and a
            # reader that has not sent its request by then would send it that much later.
            for _ in readers:
                started.acquire(timeout=1.0)
            time.sleep(SEND_GRACE)
            self._digest(first.body, what, 1, digest)
            first.body = b""
            running = len(readers)
            while running:
                page, where, got = arrived.get()
                if got is None:
                    running -= 1
                elif isinstance(got, BaseException):
                    raise got
                else:
                    slots.release()
                    self._digest(got, where, page, digest)
                    del got
        finally:
            stop.set()  # after an error: pages not yet asked for never are
            for _ in readers:
                slots.release()
        return digest.summary()

    def _digest(self, body: bytes, where: str, page: int, digest: CallDigest) -> None:
        result: CallsResult = self._decode(body, where, CallsResult)
        del body
        if result.call_results is None:
            raise ApiError(f"the API answered {where} with no call_results page")
        digest.add(result.call_results.results, where, page)

    # --- transport -----------------------------------------------------------------------

    def get(self, params: Mapping[str, str], *, what: str, shape: Any = Any) -> Any:
        """GET the runs endpoint; the envelope's `result` (decoded as `shape`: plain JSON by
        default; `bytes`: the raw body of a 2xx answer), or an error that says what to do."""
        return self.request("GET", RUNS_PATH, params, what=what, shape=shape)

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
        `envelope`: the answer is `{status, result}` (the SDK endpoints); else plain JSON."""
        try:
            result = self._get(
                params or {},
                what=what,
                shape=shape,
                method=method,
                url=self.base_url + path,
                body=body,
                envelope=envelope,
            )
        except (ApiError, _Retryable) as exc:
            if self._expired.is_set():  # cut off by the deadline, whatever broke then
                raise self._late(what) from exc
            raise
        if self._expired.is_set() or self.deadline.remaining() < 0:  # decoding included
            raise self._late(what)
        return result

    def _get(
        self,
        params: Mapping[str, str],
        *,
        what: str,
        shape: Any = Any,
        method: str = "GET",
        url: str | None = None,
        body: Any = None,
        envelope: bool = True,
    ) -> Any:
        params = {k: v for k, v in params.items() if v not in ("", None)}
        url = url or self.url
        answers: list[tuple[int, bytes]] = []  # the 5xx answers, to tell a pattern from bad luck
        trail: list[str] = []  # the failures retried: the last is named if the deadline passes
        try:
            return self._attempts(params, what, method, url, body, envelope, shape, answers, trail)
        except (ApiError, _Retryable) as exc:
            if self._expired.is_set() or isinstance(exc, _Deadline):
                raise self._late(what, trail[-1] if trail else None) from exc
            raise

    def _attempts(
        self,
        params: Mapping[str, str],
        what: str,
        method: str,
        url: str,
        body: Any,
        envelope: bool,
        shape: Any,
        answers: list[tuple[int, bytes]],
        trail: list[str],
    ) -> Any:
        attempt = 0
        paused_here = False  # this thread already slept out the 429 that paused everyone
        while True:
            attempt += 1
            if not paused_here:
                self._hold()
            paused_here = False
            if self._closing.is_set():
                raise _Closed(what)
            try:
                status, headers, answer = self._send(params, method=method, url=url, body=body)
            except ApiError:
                if self._closing.is_set():  # cut off by cancel(): not the server's fault
                    raise _Closed(what) from None
                raise
            except _Retryable as exc:
                if method != "GET":  # it may have been received: never sent twice blindly
                    raise MaybeSent(f"{exc.reason} from {self.host} for {what}") from exc
                trail.append(exc.reason)
                self._pause(attempt, None, exc.reason, what)  # _Closed when cut off
                continue
            if status in RETRY_STATUSES:
                retry_after = _retry_after(headers.get("Retry-After"))
                reason = (
                    f"HTTP {status} ({_server_message(answer)})" if answer else f"HTTP {status}"
                )
                if method != "GET" and status != 429:
                    raise MaybeSent(f"{reason} from {self.host} for {what}")
                trail.append(reason)
                if status == 429:
                    self._pause_all(retry_after)
                    paused_here = True
                else:
                    answers.append((status, answer))
                    self._same_failure(answers, attempt, what, url)
                self._pause(attempt, retry_after, reason, what)
                continue
            return self._result(status, answer, what, shape, envelope=envelope, url=url)

    def _same_failure(
        self, answers: list[tuple[int, bytes]], attempt: int, what: str, url: str
    ) -> None:
        """The same 500 for the same request on every attempt is the server failing on this
        data (an eval type its summary code cannot handle), not an outage: no retry or wait
        fixes it, so it is said plainly and `--on-api-error pass` does not soften it."""
        if attempt < self.retry.attempts or len(answers) < 2:
            return
        statuses = {s for s, _ in answers}
        bodies = {b for _, b in answers}
        if statuses == {500} and len(bodies) == 1:
            raise ApiError(
                f"HTTP 500 ({_server_message(answers[0][1])}) from {self.host} for {what}, the "
                f"same answer {len(answers)} times: the server fails on this run test's data, "
                "it is not a network problem; check the run test's evals in the app (an eval "
                "type the API cannot summarise?) or contact Future AGI support"
            )

    def _hold(self) -> None:
        """Wait while a 429 has paused every worker."""
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
            raise _Closed(what)
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
        left = self.deadline.remaining()
        if delay >= left:
            raise OutageError(
                f"{where}, and the next retry would pass the {self.deadline.seconds:g}s "
                "deadline; retry later or raise --timeout"
            )
        if self.on_retry:
            self.on_retry(f"{where}; retrying in {delay:.1f}s (attempt {attempt + 1})")
        self.sleep(delay)

    def _send(
        self,
        params: Mapping[str, str],
        *,
        method: str = "GET",
        url: str | None = None,
        body: Any = None,
    ) -> tuple[int, Mapping[str, str], bytes]:
        url = url or self.url
        for _ in range(MAX_REDIRECTS + 1):
            left = self.deadline.remaining()
            if left <= 0:
                raise _Deadline(
                    f"no answer from {self.host} within the {self.deadline.seconds:g}s deadline; "
                    "check the network or raise --timeout"
                )
            timeout = (min(CONNECT_TIMEOUT, left), min(READ_TIMEOUT, left))
            with self._lock:
                self.requests_made += 1
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    json=body if method != "GET" else None,
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                    verify=self.verify,
                )
            except requests.exceptions.SSLError as exc:
                raise ApiError(
                    f"TLS verification failed for {self.host}: {_tls_reason(exc)}; if a proxy "
                    "re-signs traffic, point REQUESTS_CA_BUNDLE at its CA bundle"
                ) from None
            except requests.exceptions.ConnectionError as exc:
                if _is_dns_failure(exc):
                    raise ApiError(
                        f"cannot resolve the host {urlsplit(url).hostname}: check --base-url "
                        "or FI_BASE_URL and the runner's DNS"
                    ) from None
                reason = "timed out" if isinstance(exc, requests.ConnectTimeout) else "refused"
                raise _Retryable(f"connection {reason}") from None
            except requests.exceptions.Timeout:
                raise _Retryable("no answer (read timed out)") from None
            except requests.exceptions.RequestException as exc:
                raise ApiError(
                    f"the request to {self.host} failed: {type(exc).__name__}; check --base-url"
                ) from None
            with response:
                if response.is_redirect:
                    target = _same_origin_target(url, response.headers.get("Location", ""))
                    if target is None:
                        raise ApiError(
                            f"{self.host} redirected elsewhere "
                            f"({_clip(response.headers.get('Location', ''), 80)}); not "
                            "following it with the API keys: set --base-url to the API's real "
                            "address"
                        )
                    # Keep the query unless the new location carries its own.
                    url, params = target, ({} if urlsplit(target).query else params)
                    continue
                body = self._read(response)
                return response.status_code, response.headers, body
        raise ApiError(f"{self.host} redirected more than {MAX_REDIRECTS} times; check --base-url")

    def _read(self, response: requests.Response) -> bytes:
        """The body, at most MAX_BODY_BYTES of it whatever the framing (a Content-Length beside
        `Transfer-Encoding: chunked`, no length at all) and, compressed, once decoded."""
        declared = response.headers.get("Content-Length", "")
        length = int(declared) if declared.isdigit() else None
        if length is not None and length > MAX_BODY_BYTES:
            raise ApiError(
                f"{self.host} sent a {length:,}-byte answer; fi-gate reads at most "
                f"{MAX_BODY_BYTES:,}: check --base-url"
            )
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        chunked = "chunked" in response.headers.get("Transfer-Encoding", "").lower()
        try:
            if length is not None and not chunked and encoding in ("", "identity"):
                # A plain body of known size (the usual answer) is read in one call: in
                # chunks it costs three times the CPU (about 2 ms a megabyte).
                body = response.raw.read(length, decode_content=False)
                if len(body) != length:
                    raise _Retryable("the connection broke while reading the answer")
            else:  # chunked or compressed: counted as it arrives and as it is decoded
                body = self._read_capped(response, encoding)
        except (ApiError, _Retryable):
            raise
        except Exception as exc:
            if self._expired.is_set():
                raise self._late("the answer") from None
            if isinstance(exc, (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError)):
                raise _Retryable("the answer stalled (read timed out)") from None
            if isinstance(
                exc,
                (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError),
            ):
                raise _Retryable("the connection broke while reading the answer") from None
            raise
        return body

    def _read_capped(self, response: requests.Response, encoding: str) -> bytes:
        """Read in pieces; decompress here (never urllib3, which inflates a whole piece at
        once: a 2 MB gzip bomb reached 2 GB), stopping at the cap."""
        too_big = ApiError(
            f"{self.host} sent more than {MAX_BODY_BYTES:,} bytes; fi-gate stopped reading: "
            "check --base-url"
        )
        if encoding in ("", "identity"):
            inflate = None
        elif encoding in ("gzip", "x-gzip"):
            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            inflate = zlib.decompressobj()
        else:
            raise ApiError(
                f"{self.host} answered in an encoding fi-gate does not read "
                f"({_clip(encoding, 40)}); check --base-url and any proxy in between"
            )
        out = bytearray()
        received = 0
        try:
            for piece in response.raw.stream(256 * 1024, decode_content=False):
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
        except zlib.error:
            raise ApiError(
                f"{self.host} sent a {encoding} answer that does not decompress; check --base-url"
            ) from None
        if len(out) > MAX_BODY_BYTES:
            raise too_big
        return bytes(out)

    def _result(
        self,
        status: int,
        body: bytes,
        what: str,
        shape: Any = Any,
        *,
        envelope: bool = True,
        url: str | None = None,
    ) -> Any:
        try:
            return self._outcome(status, body, what, shape, envelope=envelope, url=url)
        except GateError as exc:
            exc.status = status
            raise

    def _outcome(
        self,
        status: int,
        body: bytes,
        what: str,
        shape: Any = Any,
        *,
        envelope: bool = True,
        url: str | None = None,
    ) -> Any:
        if 200 <= status < 300:
            if shape is bytes:
                return body
            if not envelope:
                return _plain_json(body, what, self.host)
            return self._decode(body, what, shape)
        message = _server_message(body)
        if status == 404 and not _is_api_json(body):
            # Not the API's own "not found": the path is wrong (a base URL with a path).
            path = urlsplit(url or self.url).path
            raise ConfigError(
                f"404 from {self.host}: {path} is not an endpoint of the Future AGI API "
                f"({message}); check --base-url or FI_BASE_URL: it is the host alone, like "
                "https://api.futureagi.com"
            )
        if status == 401:
            raise ApiError(
                f"401 from {self.host}: the API key or secret key was rejected ({message}); "
                "check FI_API_KEY and FI_SECRET_KEY"
            )
        if status == 402:
            raise ApiError(
                f"402 from {self.host}: the workspace's usage limit is reached ({message}); "
                "check the plan"
            )
        if status == 403:
            raise ApiError(
                f"403 from {self.host}: these keys may not read {what} ({message}); "
                "use keys of the workspace that owns the run test"
            )
        if status == 404:
            # A wrong name or id is the caller's mistake, not an outage: exit 2, never
            # softened by --on-api-error pass.
            raise ConfigError(
                f"404 from {self.host}: {what} was not found ({message}); check the name or id "
                "(names are exact and case-sensitive) and that the keys belong to its workspace"
            )
        if status == 400:
            raise ApiError(
                f"400 from {self.host}: the API refused the request for {what}: {message}"
            )
        if 300 <= status < 400:
            raise ApiError(f"{status} from {self.host} without a usable Location; check --base-url")
        if status >= 500:
            raise OutageError(f"{status} from {self.host} for {what}: {message}; retry later")
        raise ApiError(f"{status} from {self.host} for {what}: {message}; check --base-url")

    def _decode(self, body: bytes, what: str, shape: Any) -> Any:
        return decode_result(body, what, shape, self.host)


# Every client not yet closed: a signal that ends the run cancels them all (`cancel_all`), in
# whichever thread they work.
_OPEN: weakref.WeakSet[Client] = weakref.WeakSet()
_OPEN_LOCK = threading.Lock()


def cancel_all() -> None:
    """Cut off the requests and waits of every open client (the run was interrupted)."""
    with _OPEN_LOCK:
        clients = list(_OPEN)
    for client in clients:
        client.cancel()


def _shut(sock: socket.socket) -> None:
    """Shut a connection down under a read blocked in another thread, which then fails at once.

    The plain socket's shutdown, also for TLS: `SSLSocket.shutdown` first drops the TLS state,
    which the blocked read may be about to use. A socket already closed is left alone.
    """
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _TrackingAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, with connections that report their socket once connected."""

    def __init__(self, pools: dict[str, type]) -> None:
        self._pools = pools  # from _tracking_pools
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> urllib3.PoolManager:
        manager: urllib3.PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is urllib3.ProxyManager:  # SOCKS proxies keep their own pools
            manager.pool_classes_by_scheme = self._pools
        return manager


def _tracking_pools(track: Callable[[socket.socket], None]) -> dict[str, type]:
    """urllib3's HTTP and HTTPS pools, whose connections call `track` with their socket."""

    def tracked(base: type[urllib3.connection.HTTPConnection]) -> type:
        def connect(self: urllib3.connection.HTTPConnection) -> None:
            base.connect(self)
            sock = getattr(self, "sock", None)
            if sock is not None:
                track(sock)

        return type(f"Tracked{base.__name__}", (base,), {"connect": connect})

    return {
        "http": type(
            "TrackedHTTPConnectionPool",
            (urllib3.HTTPConnectionPool,),
            {"ConnectionCls": tracked(urllib3.connection.HTTPConnection)},
        ),
        "https": type(
            "TrackedHTTPSConnectionPool",
            (urllib3.HTTPSConnectionPool,),
            {"ConnectionCls": tracked(urllib3.connection.HTTPSConnection)},
        ),
    }


class _Closed(ApiError):
    """A request cut off because the client closed (the run is over: nobody reads this)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"stopped reading {what}: fi-gate was finishing")


class _Deadline(OutageError):
    """The deadline passed before a request could be sent (again)."""


class _Retryable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def _is_dns_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        name = type(node).__name__
        text = str(node)
        if (
            name == "NameResolutionError"
            or "Name or service not known" in text
            or (
                "getaddrinfo failed" in text
                or "nodename nor servname" in text
                or "Temporary failure in name resolution" in text
            )
        ):
            return True
        node = (
            node.__cause__
            or node.__context__
            or (node.args[0] if node.args and isinstance(node.args[0], BaseException) else None)
        )
    return False


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
    except (ValueError, RecursionError):
        raise ApiError(
            f"{host} answered {what} with something that is not JSON "
            f"({_server_message(body)}); check --base-url"
        ) from None


class MaybeSent(OutageError):
    """A POST whose answer was lost or was a 5xx: it may have been received and acted on."""


def _tls_reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("CERTIFICATE_VERIFY_FAILED", "hostname mismatch", "self-signed", "expired"):
        if marker.lower() in text.lower():
            return marker.lower().replace("_", " ")
    return "the certificate could not be verified"


def select_execution(
    client: Client, run_test: str, select: str, *, page_size: int = LIST_PAGE_SIZE
) -> tuple[ExecutionRef, list[Any]]:
    """The execution to judge: the newest by started_at (latest) or the newest completed one.

    Listing pages are small (the server computes an eval summary for every execution on a
    listing page) and bounded; pages past `total_pages` are never asked for (the server answers
    them with a 500). The first page's raw items are returned too: they are the history that a
    baseline or a trend needs, at no extra request.
    """
    page = 1
    first_items: list[Any] = []
    while page <= MAX_LIST_PAGES:
        refs, total_pages, items = client.list_executions(run_test, page, page_size)
        if page == 1:
            first_items = items
        candidates = refs if select == "latest" else [r for r in refs if r.status == "completed"]
        if candidates:
            return newest(candidates), first_items
        if not refs or page >= total_pages or select == "latest":
            break
        page += 1
    if select == "latest":
        raise NotReadyError(f"run test '{_clip(run_test, 80)}' has no executions yet; run it first")
    raise NotReadyError(
        f"run test '{_clip(run_test, 80)}' has no completed execution among its newest "
        f"{min(page, MAX_LIST_PAGES) * LIST_PAGE_SIZE}; wait for one to finish"
    )


def newest(refs: list[ExecutionRef]) -> ExecutionRef:
    """The newest by started_at; one not started yet counts as newest; ties keep server order."""
    best = refs[0]
    for ref in refs[1:]:
        if best.started_at is not None and (
            ref.started_at is None or ref.started_at > best.started_at
        ):
            best = ref
    return best


WAIT_FIRST = 5.0
WAIT_MAX = 30.0
SUMMARY_PENDING = frozenset({"pending", "running"})


def wait_for(
    client: Client,
    execution: Execution,
    *,
    for_summary: bool,
    on_progress: Callable[[str], None],
    fetch: Callable[[], Execution],
    link: str | None = None,
) -> Execution:
    """Poll until the execution is final (and, with `for_summary`, its FMA summary is done).
    `link`: the execution's page in the app, named in every progress line.

    Backoff from WAIT_FIRST up to WAIT_MAX seconds; one progress line per poll. The client's
    deadline bounds the wait: an execution still not final then is NotReadyError (exit 4); a
    summary still pending then is not an error (the clusters never decide the verdict).
    """
    started = client.deadline.clock()
    delay = WAIT_FIRST
    while True:
        waiting_summary = (
            for_summary and execution.is_final and (execution.summary_status in SUMMARY_PENDING)
        )
        if execution.is_final and not waiting_summary:
            return execution
        elapsed = client.deadline.clock() - started
        what = (
            f"the Fix My Agent summary ({execution.summary_status})"
            if waiting_summary
            else f"{execution.status}, {execution.completed_calls}/{execution.total_calls} calls "
            f"completed, {execution.failed_calls} failed"
        )
        where = f" ({link})" if link else ""
        on_progress(
            f"waiting for execution {execution.execution_id}{where}: {what}; "
            f"{_elapsed(elapsed)} elapsed, next check in {delay:.0f}s"
        )
        if delay + 1 >= client.deadline.remaining():
            if waiting_summary:
                on_progress("the Fix My Agent summary is still pending: judging without it")
                return execution
            raise NotReadyError(
                f"execution {execution.execution_id} is still {execution.status} after "
                f"{_elapsed(elapsed)} (--timeout {client.deadline.seconds:g}s); re-run later "
                "or raise --timeout",
                execution,
            )
        client.sleep(delay)
        delay = min(WAIT_MAX, delay * 1.5)
        execution = fetch()


def _elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"
