"""A fake Future AGI API on 127.0.0.1 that behaves like the real server (../shared/API-NOTES.md).

Used by the tests (started and stopped per test) and runnable by hand:
``python -m tests.fakeapi tests/fakeapi/data``.

Fault modes (for the hardening tests) are queued with `FakeApi.fail(...)`: each entry answers one
request in a chosen wrong way before normal service resumes.
"""

from __future__ import annotations

import gzip
import json
import math
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from tests.fakeapi.store import ServerError, Store, _iso

RUNS_PATH = "/sdk/api/v1/simulation/runs/"
# DRF's BooleanField: what `summary=` accepts.
BOOLEANS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "y": True,
    "t": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
    "n": False,
    "f": False,
}
RUN_TESTS_PATH = "/simulate/run-tests/"
RUN_TEST_PARAMS = frozenset({"search", "limit", "page", "simulation_type", "prompt_template_id"})
ALLOWED_PARAMS = frozenset(
    {"run_test_name", "execution_id", "call_execution_id", "eval_name", "summary", "page", "limit"}
)
API_KEY = "fake-api-key"
SECRET_KEY = "fake-secret-key"


@dataclass
class Seen:
    """One request as the fake received it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float
    method: str = "GET"
    body: bytes = b""


@dataclass
class Fault:
    """One scripted misbehaviour. `mode` is one of:

    status   answer `status` with `body` (bytes or JSON-able) and `headers`
    reset    close the connection mid-body
    hang     accept the request and never answer (until the server stops)
    trickle  send a valid head, then the body one byte every `delay` seconds
    huge     a 200 whose body is `size` bytes
    gzip     the real answer, gzip-compressed (Content-Encoding: gzip)
    chunked  the real answer in chunks (Transfer-Encoding: chunked, no Content-Length)
    slowhead the status line and headers one byte every `delay` seconds
    continue `100 Continue` heads every `delay` seconds, and never a final answer
    chunkbomb a 200 with `Content-Length: 100` and chunked framing, `size` bytes in chunks
    lost     the request is carried out, then the connection closes with no answer
    slow     the real answer, after `delay` seconds
    swap     the real answer for execution `body` instead of the one asked for (a cache or a
             proxy that mixes answers up)
    badchunk a 200 with `Transfer-Encoding: chunked` whose framing is `body` (bytes), then the
             connection held open until the server stops
    early    `103 Early Hints` first, then the real answer
    """

    mode: str = "status"
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.5
    size: int = 0
    match: Callable[[dict[str, str]], bool] | None = None
    path: str | None = RUNS_PATH  # the endpoint it answers for (None: any; "*/x/": ends so)
    # Done when the fault answers (another pipeline's start landing at that moment, say).
    meanwhile: Callable[[], object] | None = None


def _error(status: int, code: str, message: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    """An error as the real server shapes it: the message in `detail`, `message`, `error` and
    `result` (a string, not null); field errors under `details` and `errors`."""
    kind = {
        400: "validation_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found",
        405: "api_error",
    }.get(status, "server_error")
    body = {
        "status": False,
        "type": kind,
        "code": code,
        "detail": message,
        "message": message,
        "error": message,
        "result": message,
        **extra,
    }
    return status, body


def _invalid(field_errors: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
    """A 400 as DRF validation answers it: "Validation failed", the field errors beside."""
    extra: dict[str, Any] = {"details": field_errors}
    named = [k for k in field_errors if k != "non_field_errors"]
    if named:
        extra["attr"] = named[0]
    return _error(400, "invalid", "Validation failed", **extra, errors=field_errors)


def _incomplete(scenarios: list[dict[str, str]]) -> tuple[int, dict[str, Any]]:
    """A start refused because scenarios are still being generated: `result` is an object."""
    detail = (
        f"{len(scenarios)} scenario(s) are not completed. Wait for them to finish or remove "
        "them from the selection."
    )
    listed = [{"id": sc["id"], "name": sc["name"], "status": sc["status"]} for sc in scenarios]
    status, body = _error(
        400,
        "invalid",
        detail,
        attr="scenarios",
        details={
            "error": ["Scenarios incomplete"],
            "detail": [detail],
            "scenarios": [
                f"id: {s['id']}; name: {s['name']}; status: {s['status']}" for s in listed
            ],
        },
    )
    body["result"] = {"error": "Scenarios incomplete", "detail": detail, "scenarios": listed}
    return status, body


def _unknown_fields(unknown: list[str]) -> tuple[int, dict[str, Any]]:
    """A 400 as the platform's own views answer unknown fields: the first one in the message."""
    return _error(
        400,
        "invalid",
        f"{unknown[0]}: Unknown field.",
        attr=unknown[0],
        details={k: ["Unknown field."] for k in unknown},
    )


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (fi-gate cuts off the other page reads when one
        fails) is not the server's error: like a real front end, say nothing. Anything else is
        printed, as the standard library does."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class FakeApi:
    """The fake server: start(), .url, stop(); or use it as a context manager."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        api_key: str = API_KEY,
        secret_key: str = SECRET_KEY,
        latency: float = 0.0,
        cache_pages: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        run_speed: float = 1.0,
        idle_close: float | None = None,
        together: tuple[int, Callable[[dict[str, str]], bool]] | None = None,
    ) -> None:
        self.store = store or Store()
        # Like the real server, close a kept-alive connection idle this long (None: never).
        self.idle_close = idle_close
        self.api_key = api_key
        self.secret_key = secret_key
        self.latency = latency
        self.cache_pages = cache_pages
        self.faults: deque[Fault] = deque()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.in_flight = 0
        self.max_in_flight = 0
        # (n, which): hold each request `which` matches until n of them have arrived (or 10 s
        # pass), so that "in flight at once" is measured, not left to the scheduler's luck.
        self.together = together
        self._arrived = 0
        self._all_here = threading.Condition(self._lock)
        self._cache: dict[Any, Any] = {}
        self.plan_limit: int | None = None  # 402 or 403 on a start: the plan has no simulation
        self.run_speed = run_speed  # multiplies a started execution's phase durations
        self.started: list[str] = []  # execution ids started through the API
        self.cancelled: list[str] = []
        # The platform's workflow engine is down: a start is a 400 that leaves a pending row.
        self.executor_down = False

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeApi:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail(self, *faults: Fault) -> None:
        """Queue faults; each answers one (matching) request."""
        self.faults.extend(faults)

    @property
    def runs_requests(self) -> list[Seen]:
        return [s for s in self.seen if s.path == RUNS_PATH]

    # --- request handling ----------------------------------------------------------------

    def _take_fault(self, query: dict[str, str], path: str = RUNS_PATH) -> Fault | None:
        with self._lock:
            for i, f in enumerate(self.faults):
                suffix = f.path is not None and f.path.startswith("*")
                if f.path is not None and f.path != path and not suffix:
                    continue
                if suffix and not path.endswith(str(f.path)[1:]):
                    continue
                if f.match is None or f.match(query):
                    del self.faults[i]
                    return f
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "fake-futureagi/1"
            timeout = api.idle_close  # the wait for a kept-alive connection's next request
            # Headers and body go out in two writes; with Nagle on, the body waits for the
            # client's delayed ACK (about 40 ms a request). Real front ends (nginx) set
            # TCP_NODELAY, and so does the fake.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                with api._lock:
                    api.in_flight += 1
                    api.max_in_flight = max(api.max_in_flight, api.in_flight)
                self._in_flight = True
                try:
                    self._serve()
                finally:
                    self._answered()

            def _answered(self) -> None:
                """The request stops counting as in flight once its answer is about to go out:
                the client may have the whole answer, and send its next request, before this
                thread runs again (counted after the write, a bound of 3 was once seen as 4)."""
                if getattr(self, "_in_flight", False):
                    self._in_flight = False
                    with api._lock:
                        api.in_flight -= 1

            def do_HEAD(self) -> None:
                self._head = True
                self.do_GET()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._body = self.rfile.read(min(length, 1 << 20)) if length else b""
                self.do_GET()

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                multi = parse_qs(parts.query, keep_blank_values=True)
                query = {k: v[-1] for k, v in multi.items()}
                with api._lock:
                    api.seen.append(
                        Seen(
                            parts.path,
                            query,
                            {k.lower(): v for k, v in self.headers.items()},
                            time.monotonic(),
                            self.command,
                            getattr(self, "_body", b""),
                        )
                    )
                if api.latency:
                    time.sleep(api.latency)
                if api.together is not None and api.together[1](query):
                    need = api.together[0]
                    with api._all_here:
                        api._arrived += 1
                        api._all_here.notify_all()
                        api._all_here.wait_for(lambda: api._arrived >= need, 10)
                fault = api._take_fault(query, parts.path)
                if fault is not None and fault.meanwhile is not None:
                    fault.meanwhile()
                if fault is not None and fault.mode == "lost":  # acted on, never answered
                    api.respond(
                        parts.path, query, self.headers, self.command, getattr(self, "_body", b"")
                    )
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault is not None and fault.mode == "slow":
                    api._stopping.wait(fault.delay)
                    fault = None
                if fault is not None and fault.mode == "swap":
                    query = {**query, "execution_id": str(fault.body)}
                    fault = None
                if fault is not None and fault.mode == "early":
                    self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n")
                    self.wfile.flush()
                    fault = None
                if fault is not None and fault.mode not in ("gzip", "chunked"):
                    self._fault(fault)
                    return
                status, body, headers = api.respond_cached(
                    parts.path, query, self.headers, self.command, getattr(self, "_body", b"")
                )
                if fault is not None:
                    self._send_encoded(fault.mode, status, body, headers)
                    return
                self._send(status, body, headers)

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                if isinstance(body, _Json):
                    raw = body.raw
                    ctype = "application/json"
                elif isinstance(body, bytes):
                    raw = body
                    ctype = "text/html; charset=utf-8"
                else:
                    raw = json.dumps(body).encode()
                    ctype = "application/json"
                self.send_response(status)
                headers = dict(headers or {})
                headers.setdefault("Content-Type", ctype)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self._answered()
                self.end_headers()
                if not getattr(self, "_head", False):
                    self.wfile.write(raw)

            def _send_encoded(
                self, mode: str, status: int, body: Any, headers: dict[str, str]
            ) -> None:
                """The real answer, gzip-compressed or in chunks without a Content-Length."""
                raw = body.raw if isinstance(body, _Json) else json.dumps(body).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                if mode == "gzip":
                    raw = gzip.compress(raw)
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for at in range(0, len(raw), 70_000):
                    piece = raw[at : at + 70_000]
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")

            def _fault(self, f: Fault) -> None:
                if f.mode == "status":
                    self._send(f.status, f.body if f.body is not None else {}, f.headers)
                elif f.mode == "reset":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "100000")
                    self.end_headers()
                    self.wfile.write(b'{"status": true, "result": {"execu')
                    self.wfile.flush()
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.close_connection = True
                    self.connection.close()
                elif f.mode == "hang":
                    api._stopping.wait(f.delay if f.delay > 1 else 120)
                    self.close_connection = True
                elif f.mode == "trickle":
                    body = json.dumps({"status": True, "result": {}}).encode() + b" " * 10000
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for byte in body:
                        if api._stopping.wait(f.delay):
                            break
                        try:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                        except OSError:
                            break
                    self.close_connection = True
                elif f.mode in ("slowhead", "continue"):
                    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    try:
                        while not api._stopping.is_set():
                            if f.mode == "continue":
                                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                                self.wfile.flush()
                                api._stopping.wait(f.delay)
                                continue
                            for byte in head * 1000:
                                if api._stopping.wait(f.delay):
                                    break
                                self.wfile.write(bytes([byte]))
                                self.wfile.flush()
                            break
                    except OSError:
                        pass
                    self.close_connection = True
                elif f.mode == "badchunk":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.write(f.body)
                    self.wfile.flush()
                    api._stopping.wait(30)
                    self.close_connection = True
                elif f.mode == "chunkbomb":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "100")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    piece = b" " * 65536
                    sent = 0
                    try:
                        while sent < f.size:
                            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                            sent += len(piece)
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        pass
                    self.close_connection = True
                elif f.mode == "huge":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(f.size))
                    self.end_headers()
                    chunk = b" " * 65536
                    sent = 0
                    try:
                        while sent < f.size:
                            n = min(len(chunk), f.size - sent)
                            self.wfile.write(chunk[:n])
                            sent += n
                    except OSError:
                        pass
                    self.close_connection = True

        return Handler

    def respond_cached(
        self, path: str, query: dict[str, str], headers: Any, method: str = "GET", body: bytes = b""
    ) -> tuple[int, Any, dict[str, str]]:
        """`respond`, with successful listing and execution pages served from a cache of encoded
        bodies (the data is fixed once built), so benchmarks measure the client and not the
        fake."""
        if not self.cache_pages or "call_execution_id" in query or method != "GET":
            return self.respond(path, query, headers, method, body)
        key = (
            path,
            tuple(sorted(query.items())),
            headers.get("X-Api-Key"),
            headers.get("X-Secret-Key"),
            headers.get("Authorization"),
        )
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        status, body, extra = self.respond(path, query, headers)
        if status == 200:
            hit = (status, _Json(json.dumps(body).encode()), extra)
            with self._lock:
                self._cache[key] = hit
            return hit
        return status, body, extra

    def respond(
        self,
        path: str,
        query: dict[str, str],
        headers: Any,
        method: str = "GET",
        body: bytes = b"",
    ) -> tuple[int, Any, dict[str, str]]:
        """The real server's answer: (status, body, headers)."""
        self.store_advance()
        routes = (RUNS_PATH, RUN_TESTS_PATH, "/simulate/test-executions/")
        if not path.endswith("/") and any((path + "/").startswith(r) for r in routes):
            kept = f"?{urlencode(query, quote_via=quote)}" if query else ""
            return 301, b"", {"Location": path + "/" + kept}  # Django's APPEND_SLASH, relative
        denied = self._authenticate(headers)
        if path in (RUNS_PATH, RUN_TESTS_PATH):
            if method not in ("GET", "HEAD"):
                message = f'Method "{method}" not allowed.'
                status, err = _error(
                    405, "method_not_allowed", message, details={"detail": [message]}
                )
                return status, err, {}
            if denied:
                return denied
            try:
                status, out = self._runs(query) if path == RUNS_PATH else self._run_tests(query)
            except ServerError:
                message = (
                    "Unable to fetch simulation runs."
                    if path == RUNS_PATH
                    else "Failed to retrieve run tests: Invalid page."
                )
                status, out = _error(500, "server_error", message)
            return status, out, {}
        parts = path.strip("/").split("/")
        action = (*parts[:2], parts[3]) if len(parts) == 4 else ()
        if action in (
            ("simulate", "run-tests", "execute"),
            ("simulate", "test-executions", "cancel"),
        ):
            if method != "POST":  # the views allow POST only: 405, as JSON
                message = f'Method "{method}" not allowed.'
                status, err = _error(
                    405, "method_not_allowed", message, details={"detail": [message]}
                )
                return status, err, {"Allow": "POST, OPTIONS"}
            if denied:
                return denied
            if action[1] == "run-tests":
                return (*self._execute(parts[2], body), {})
            return (*self._cancel(parts[2], body), {})
        return 404, b"<html><body><h1>Not Found</h1></body></html>", {}

    def _authenticate(self, headers: Any) -> tuple[int, Any, dict[str, str]] | None:
        """None when the keys are right; else the server's 401 (with WWW-Authenticate)."""
        challenge = {"WWW-Authenticate": "ApiKey"}
        if headers.get("Authorization"):
            # The server tries a bearer token first and answers 401 when it is not valid.
            message = "Invalid Token parsed: Invalid token encryption"
            status, body = _error(
                401, "authentication_failed", message, details={"detail": [message]}
            )
            return status, body, challenge
        key, secret = headers.get("X-Api-Key"), headers.get("X-Secret-Key")
        if not key or not secret:
            status, body = _error(
                401,
                "not_authenticated",
                "Authentication credentials were not provided.",
                details={"detail": ["Authentication credentials were not provided."]},
            )
            return status, body, challenge
        if key != self.api_key or secret != self.secret_key:
            status, body = _error(
                401,
                "authentication_failed",
                "Invalid API key or secret key",
                details={"detail": ["Invalid API key or secret key"]},
            )
            return status, body, challenge
        return None

    def store_advance(self) -> None:
        """Started executions move on with the clock."""
        now = time.monotonic()
        with self._lock:
            for rt in self.store.run_tests:
                for ex in rt.executions:
                    if ex.timeline is not None:
                        self.store.advance(ex, now)

    # --- the run-test endpoints (simulate/urls.py) ---------------------------------------

    def _run_tests(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        unknown = sorted(set(query) - RUN_TEST_PARAMS)
        if unknown:
            return _unknown_fields(unknown)
        needle = query.get("search", "").lower()
        found = [
            rt
            for rt in self.store.run_tests
            if not rt.deleted
            and (needle in rt.name.lower() or (rt.agent_name and needle in rt.agent_name.lower()))
        ]
        found.sort(key=lambda rt: rt.created_at, reverse=True)
        limit = _limit(query.get("limit"))
        items, total_pages, current = _paginate(found, query.get("page", "1"), limit)

        def link(page: int) -> str | None:  # DRF's links: absolute, page 1 without `page`
            if page < 1 or page > total_pages:
                return None
            others = {k: v for k, v in sorted(query.items()) if k != "page"}
            if page > 1:
                others["page"] = str(page)
            return f"{self.url}{RUN_TESTS_PATH}" + (f"?{urlencode(others)}" if others else "")

        return 200, {  # a DRF page, not wrapped in {status, result}
            "count": len(found),
            "next": link(current + 1),
            "previous": link(current - 1),
            "results": [_run_test_item(rt) for rt in items],
            "total_pages": total_pages,
            "current_page": current,
        }

    def _execute(self, run_test_id: str, raw: bytes) -> tuple[int, Any]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return _error(400, "parse_error", "JSON parse error")
        if not isinstance(body, dict):
            return _invalid({"non_field_errors": ["Invalid data."]})
        unknown = sorted(set(body) - {"scenario_ids", "simulator_id", "select_all"})
        if unknown:
            return _unknown_fields(unknown)
        wanted = body.get("scenario_ids") or []
        for i, sid in enumerate(wanted):
            try:
                uuid.UUID(str(sid))
            except ValueError:
                return _error(
                    400,
                    "invalid",
                    f"scenario_ids: {i}: Must be a valid UUID.",
                    attr="scenario_ids",
                    details={"scenario_ids": [f"{i}: Must be a valid UUID."]},
                )
        rt = self.store.run_test(run_test_id)
        if rt is None:
            return _error(404, "not_found", "Run test not found")
        if self.plan_limit == 402:
            return _error(402, "upgrade_required", "Voice simulation requires an upgrade.")
        if self.plan_limit == 403:
            return _error(403, "permission_denied", "Your plan does not include simulation.")
        if not rt.scenarios:
            return _error(400, "invalid", "At least one scenario is required to execute the test.")
        known = {sc["id"] for sc in rt.scenarios}
        chosen = [sc for sc in rt.scenarios if not wanted or sc["id"] in wanted]
        running = [sc for sc in chosen if sc.get("status", "Completed") != "Completed"]
        if running:
            return _incomplete(running)
        with self._lock:
            if self.executor_down:  # the workflow engine is down: a row is left, never started
                ex = self.store.start(rt, wanted, time.monotonic(), speed=self.run_speed)
                ex.timeline = None
                self.started.append(ex.execution_id)
                message = (
                    "Failed to start test execution: Failed client connect: Server connection "
                    'error: tonic::transport::Error(Transport, ConnectError(ConnectError("tcp '
                    'connect error", 127.0.0.1:7233, Os { code: 111, kind: ConnectionRefused, '
                    'message: "Connection refused" })))'
                )
                return _error(400, "invalid", message)
            ex = self.store.start(rt, wanted, time.monotonic(), speed=self.run_speed)
            if wanted and not set(wanted) <= known:
                # The server does not check that the scenarios are the run test's: a pending
                # execution with no call, that never moves.
                ex.timeline = None
                ex.counts = {"total_calls": 0, "completed_calls": 0, "failed_calls": 0}
            self.started.append(ex.execution_id)
        return 200, {
            "message": "Test execution started successfully",
            "execution_id": ex.execution_id,
            "run_test_id": rt.id,
            "status": "started",
            "total_scenarios": len(wanted or known),
            "total_calls": 0,  # the calls are made by the workers, later
            "scenario_ids": [str(x) for x in wanted] or sorted(known),
        }

    def _cancel(self, execution_id: str, raw: bytes = b"") -> tuple[int, Any]:
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body = {"": None}
        if body:  # any field at all
            fields = sorted(str(k) for k in body) if isinstance(body, dict) else []
            message = "This endpoint does not accept a request body."
            details: dict[str, list[str]] = {"non_field_errors": [message]}
            details |= {k: ["Unknown field."] for k in fields}
            extra: dict[str, Any] = {"details": details}
            if fields:
                extra["attr"] = fields[0]
            return _error(400, "invalid", message, **extra)
        found = self.store.execution(execution_id)
        if found is None or found[0].deleted:
            return _error(404, "not_found", "Test execution not found")
        _, ex = found
        with self._lock:
            self.cancelled.append(execution_id)
            if ex.status in ("pending", "running", "evaluating") and ex.timeline is None:
                ex.status = "cancelled"  # no worker holds it: cancelled at once
                ex.completed_at = datetime.now(timezone.utc)
                ex.version += 1
            elif ex.status in ("pending", "running", "evaluating"):
                ex.status = "cancelling"
                ex.version += 1
            elif ex.status == "completed":  # the real server overwrites a finished execution
                ex.status = "cancelled"
                ex.version += 1
        return 200, {
            "success": True,
            "message": "Test execution cancellation initiated",
            "test_execution_id": execution_id,
        }

    def _runs(self, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        unknown = sorted(set(query) - ALLOWED_PARAMS)
        if unknown:
            return _invalid({k: ["Unknown field."] for k in unknown})
        summary_raw = query.get("summary", "")
        if summary_raw and summary_raw.lower() not in BOOLEANS:
            return _invalid({"summary": ["Must be a valid boolean."]})
        q = {
            k: v for k, v in query.items() if not (k in ("run_test_name", "eval_name") and v == "")
        }
        for key in ("execution_id", "call_execution_id"):
            if key in q:
                try:
                    uuid.UUID(q[key])
                except ValueError:
                    return _invalid({key: ["Must be a valid UUID."]})
        eval_names = set(q["eval_name"].split(",")) if q.get("eval_name") else None
        page, limit = q.get("page", "1"), _limit(q.get("limit"))
        if "call_execution_id" in q:
            return self._call(q["call_execution_id"], eval_names)
        if "execution_id" in q:
            return self._execution(
                q["execution_id"], page, limit, eval_names, BOOLEANS.get(summary_raw.lower(), False)
            )
        if "run_test_name" in q:
            return self._listing(q["run_test_name"], page, limit, eval_names)
        return _invalid(
            {
                "non_field_errors": [
                    "At least one of 'run_test_name', 'execution_id', or 'call_execution_id' "
                    "is required."
                ]
            }
        )

    def _summary(self, rt: Any, ex: Any, eval_names: set[str] | None) -> dict[str, Any]:
        return {
            "execution_id": ex.execution_id,
            "status": ex.status,
            "started_at": _iso(ex.started_at),
            "completed_at": _iso(ex.completed_at),
            **Store.counts(ex),
            "eval_results": self._eval_results(rt, ex, eval_names),
        }

    def _eval_results(self, rt: Any, ex: Any, eval_names: set[str] | None) -> Any:
        """The server recomputes this on every request; the fake caches it (calls are fixed
        once a test has built them) so that benchmarks measure the client, not the fake."""
        key = (
            ex.execution_id,
            len(ex.calls),
            ex.version,
            frozenset(eval_names or ()),
            eval_names is None,
        )
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            cached = Store.eval_results(rt, ex, eval_names)
            with self._lock:
                self._cache[key] = cached
        return cached

    def _sorted_calls(self, ex: Any) -> list[Any]:
        key = ("calls", ex.execution_id, len(ex.calls), ex.version)
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            cached = [
                c.summary() for c in sorted(ex.calls, key=lambda c: c.updated_at, reverse=True)
            ]
            with self._lock:
                self._cache[key] = cached
        return list(cached)

    def _listing(
        self, name: str, page: str, limit: int, eval_names: set[str] | None
    ) -> tuple[int, dict[str, Any]]:
        pairs = self.store.executions_named(name)
        if pairs is None:
            return _error(404, "not_found", "Run test not found.")
        items, total_pages, current = _paginate(pairs, page, limit)
        return 200, {
            "status": True,
            "result": {
                "total_pages": total_pages,
                "current_page": current,
                "count": len(pairs),
                "results": [self._summary(rt, ex, eval_names) for rt, ex in items],
            },
        }

    def _execution(
        self, execution_id: str, page: str, limit: int, eval_names: set[str] | None, summary: bool
    ) -> tuple[int, dict[str, Any]]:
        found = self.store.execution(execution_id)
        if found is None:
            return _error(404, "not_found", "Test execution not found.")
        rt, ex = found
        calls = self._sorted_calls(ex)
        if eval_names is not None:  # the call outputs are filtered by config name too
            calls = [
                {
                    **c,
                    "eval_outputs": {
                        k: v for k, v in c["eval_outputs"].items() if v.get("name") in eval_names
                    },
                }
                for c in calls
            ]
        items, total_pages, current = _paginate(calls, page, limit)
        result = self._summary(rt, ex, eval_names)
        result["call_results"] = {
            "total_pages": total_pages,
            "current_page": current,
            "count": len(calls),
            "results": items,
        }
        if summary:
            result["eval_explanation_summary"] = ex.fma
            result["eval_explanation_summary_status"] = ex.fma_status
        return 200, {"status": True, "result": result}

    def _call(self, call_id: str, eval_names: set[str] | None) -> tuple[int, dict[str, Any]]:
        found = self.store.call(call_id)
        if found is None:
            return _error(404, "not_found", "Call execution not found.")
        _, ex, call = found
        outputs = {
            k: v
            for k, v in call.eval_outputs.items()
            if eval_names is None or v["name"] in eval_names
        }
        return 200, {
            "status": True,
            "result": {
                **call.summary(),
                "eval_outputs": outputs,
                "execution_id": ex.execution_id,
                "started_at": _iso(ex.started_at),
                "completed_at": _iso(call.updated_at),
                "ended_reason": "customer-ended-call",
                "call_summary": f"Call {call.call_execution_id[:8]}",
                "latency": {"avg_agent_latency_ms": 200, "response_time_ms": 300},
                "cost": {
                    "total_cost_cents": None,
                    "stt_cost_cents": None,
                    "llm_cost_cents": None,
                    "tts_cost_cents": None,
                },
            },
        }


ORGANIZATION = "00000000-0000-4000-8000-00000000000a"
WORKSPACE = "00000000-0000-4000-8000-00000000000b"


def _run_test_item(rt: Any) -> dict[str, Any]:
    """A run test as the backend's RunTestSerializer writes it (fi-gate reads `id`, `name` and
    the scenarios; the rest is there so that the shape is the real one)."""
    configs = [
        {
            "id": cfg.id,
            "name": cfg.name,
            "config": {},
            "mapping": {},
            "filters": {},
            "error_localizer": False,
            "model": None,
            "status": "Completed",
            "eval_group": None,
            "template_id": t.id,
        }
        for t in rt.templates
        for cfg in t.configs
    ]
    created = _iso(rt.created_at)
    last_run = max((ex.created_at for ex in rt.executions), default=None)
    agent = _agent(rt, created) if rt.agent_name else None
    return {
        "id": rt.id,
        "name": rt.name,
        "description": "",
        "agent_definition": agent["id"] if agent else None,
        "agent_version": _agent_version(rt) if agent else None,
        "agent_definition_detail": agent,
        "source_type": "agent_definition",
        "source_type_display": "Agent Definition",
        "prompt_template": None,
        "prompt_template_detail": None,
        "prompt_version": None,
        "prompt_version_detail": None,
        "scenarios": [sc["id"] for sc in rt.scenarios],
        "scenarios_detail": [_scenario(sc, created) for sc in rt.scenarios],
        "dataset_row_ids": [],
        "simulator_agent": None,
        "simulator_agent_detail": None,
        "simulate_eval_configs": [c["id"] for c in configs],
        "simulate_eval_configs_detail": configs,
        "evals_detail": configs,
        "organization": ORGANIZATION,
        "enable_tool_evaluation": False,
        "created_at": created,
        "updated_at": created,
        "last_run_at": _iso(last_run),
        "deleted": False,
        "deleted_at": None,
        "evals": configs,
    }


def _scenario(sc: dict[str, str], created: str | None) -> dict[str, Any]:
    return {
        "id": sc["id"],
        "name": sc["name"],
        "description": "",
        "source": "fake",
        "scenario_type": "dataset",
        "scenario_type_display": "Dataset",
        "source_type": "agent_definition",
        "source_type_display": "Agent Definition",
        "organization": ORGANIZATION,
        "dataset": None,
        "dataset_rows": 0,
        "dataset_column_config": [],
        "graph": {},
        "agent": None,
        "prompt_template": None,
        "prompt_template_detail": None,
        "prompt_version": None,
        "prompt_version_detail": None,
        "created_at": created,
        "updated_at": created,
        "deleted": False,
        "status": sc.get("status", "Completed"),
        "deleted_at": None,
        "agent_type": None,
    }


def _agent(rt: Any, created: str | None) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"agent:{rt.id}")),
        "agent_name": rt.agent_name,
        "agent_type": "text",
        "contact_number": None,
        "inbound": True,
        "target_speaks_first": None,
        "description": "",
        "assistant_id": None,
        "provider": None,
        "language": None,
        "languages": None,
        "authentication_method": "api_key",
        "websocket_url": None,
        "websocket_headers": {},
        "workspace": WORKSPACE,
        "knowledge_base": None,
        "organization": ORGANIZATION,
        "api_key": "",
        "observability_provider": None,
        "created_at": created,
        "updated_at": created,
        "model": None,
        "model_details": {},
        "livekit_url": "",
        "livekit_api_key": "",
        "livekit_agent_name": "",
        "livekit_config_json": None,
        "livekit_max_concurrency": 2,
    }


def _agent_version(rt: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"agent-version:{rt.id}")),
        "name": "v1",
        "configuration_snapshot": {
            "inbound": True,
            "languages": [],
            "agent_name": rt.agent_name,
            "agent_type": "text",
            "description": "",
            "livekit_url": "",
            "model_details": {},
            "commit_message": "",
            "livekit_agent_name": "",
            "authentication_method": "api_key",
            "observability_enabled": False,
            "livekit_max_concurrency": 2,
        },
    }


@dataclass(frozen=True)
class _Json:
    """A JSON body already encoded."""

    raw: bytes


def _limit(raw: str | None) -> int:
    try:
        value = int(raw) if raw is not None else 10
    except ValueError:
        return 10
    return value if value > 0 else 10


def _paginate(items: list[Any], page: str, limit: int) -> tuple[list[Any], int, int]:
    total_pages = max(1, math.ceil(len(items) / limit))
    try:
        number = total_pages if page == "last" else int(page)  # Django's paginator: "last"
    except ValueError:
        raise ServerError("non-numeric page") from None
    if number < 1 or number > total_pages:
        raise ServerError("page out of range")
    start = (number - 1) * limit
    return items[start : start + limit], total_pages, number
