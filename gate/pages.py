"""Reading an execution's calls: how they are paged, and the pages read at once.

Page 1 comes with the execution (api.Client.execution_and_calls). The later pages are asked for
together as soon as it is here, by a few reader threads, and decoded one at a time in the
calling thread as they arrive: page 1 first, while the others are in flight. Why these sizes
and this many readers: docs/performance.md ("The page planner and the readers").
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.calls import CallDigest, CallsResult, PageHeader
from gate.errors import ApiError
from gate.redact import clip
from gate.verdict import CallsSummary
from gate.wire import about, decode_result

if TYPE_CHECKING:
    from gate.api import Client

__all__ = ["CallsSummary", "FirstPage", "PagePlan", "Readers", "plan_pages", "read_calls"]

# Every page holds 10,000 calls (the API has no maximum): measured against the size-based
# planner it replaced, as fast at 20,000 calls and 20 % faster at 50,000 (docs/performance.md,
# "The page planner and the readers").
CALL_PAGE_SIZE = 10_000
# Time for the page readers to send their requests (about 1 ms of Python each) before page 1
# is decoded; measured: all four are on the wire within 5 ms.
SEND_GRACE = 0.005


@dataclass(frozen=True)
class PagePlan:
    """How an execution's calls are read: page 1, which comes with the execution, holds `first`
    calls; every later page holds `rest`. `first` is a multiple of `rest`, because page k of
    `rest` calls starts at call (k - 1) * rest: page 1 spans the first `first // rest` of them.
    """

    first: int
    rest: int

    def later_pages(self, header: PageHeader) -> Iterator[tuple[int, int]]:
        """(page, limit) of every page after page 1, from page 1's header.

        Pages of `rest` calls need page 1's `count`, and a header that agrees with it; without
        them, the later pages are asked for with page 1's own size, up to its `total_pages`.
        """
        first, rest, count = self.first, self.rest, header.count
        if count is not None and first % rest == 0 and header.total_pages == -(-count // first):
            return ((page, rest) for page in range(first // rest + 1, -(-count // rest) + 1))
        return ((page, first) for page in range(2, header.total_pages + 1))

    def later_pages_of(self, calls: int) -> list[tuple[int, int]]:
        """The later pages of an execution of `calls` calls, with page 1's header as the server
        sends it (the bench and the tests plan with it)."""
        return list(self.later_pages(PageHeader(max(1, -(-calls // self.first)), 1, calls)))


def plan_pages(fixed: int | None = None) -> PagePlan:
    """How to page an execution's calls: CALL_PAGE_SIZE calls a page, or `fixed`
    (FI_GATE_CALL_PAGE_SIZE). Page 1 comes with the execution; the readers fetch the others."""
    size = fixed or CALL_PAGE_SIZE
    return PagePlan(size, size)


@dataclass
class FirstPage:
    """Page 1 of an execution's calls, as it came with the execution: its header, decoded, and
    the answer's body, from which `read_calls` decodes its calls."""

    header: PageHeader
    body: bytes


class Readers:
    """The threads that read the later pages, started before the first request.

    A thread started later, while other threads are busy reading and decoding pages, waits up
    to a GIL switch interval (5 ms) before it runs, on the critical path each time. Started
    first, when nothing else is running, they cost about 0.1 ms each.
    """

    def __init__(self, workers: int) -> None:
        self.size = max(1, workers)
        self.pool = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="fi-gate")
        ready = threading.Barrier(self.size)  # each start meets a busy thread, so spawns anew
        for _ in range(self.size):
            self.pool.submit(ready.wait, 10.0)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def read_calls(
    client: Client,
    readers: Readers,
    execution_id: str,
    first: FirstPage | None,
    *,
    plan: PagePlan,
    total_calls: int | None = None,
    eval_names: tuple[str, ...] = (),
) -> CallsSummary:
    """Every call of the execution: page 1 is given; the later pages are read concurrently.

    The readers read the later pages, and this thread decodes and digests every page, one at a
    time, as it arrives. A reader hands a body over and goes on to the next page; at most
    `readers.size` pages are in flight or waiting, and only one is decoded at a time, so memory
    does not grow with the number of pages. One decoding thread also means no hand-over of the
    GIL between decoders: on a busy machine each such hand-over cost 5 to 30 ms.
    """
    what = f"the calls of execution {clip(execution_id, 64)}"
    if first is None:
        raise ApiError(f"the API answered {what} with no call_results page")
    digest = CallDigest()
    if total_calls is not None:
        _bound(digest, first.header, plan, total_calls, what)
    later = plan.later_pages(first.header)
    following = next(later, None)
    if following is None:  # all the calls came with the execution
        _digest(first.body, what, 1, digest, client.host, execution_id)
        first.body = b""
        return digest.summary()
    round_ = _Round(client, readers, execution_id, what, itertools.chain([following], later))
    round_.eval_names = eval_names
    return round_.run(first, digest)


def _bound(
    digest: CallDigest, header: PageHeader, plan: PagePlan, total_calls: int, what: str
) -> None:
    """Whatever the pagination says, an execution of n calls is read in the pages that n calls
    fill (with a margin), and no more than that many calls are kept."""
    digest.limit = total_calls + max(10, total_calls // 10)
    if (header.count or 0) > digest.limit:
        raise ApiError(
            f"the API's pages for {what} claim {header.count:,} calls, but the execution has "
            f"{total_calls:,}; is --base-url pointing at the Future AGI API?"
        )
    most = -(-digest.limit // min(plan.first, plan.rest)) + 1
    if header.total_pages > most:
        raise ApiError(
            f"the API's pages for {what} claim {header.total_pages:,} pages, but the "
            f"execution's {total_calls:,} calls fill at most {most}; is --base-url pointing "
            "at the Future AGI API?"
        )


def _digest(
    body: bytes, where: str, page: int, digest: CallDigest, host: str, execution_id: str
) -> None:
    """Decode one call page into the digest, once it is shown to be the page asked for: of
    this execution, and this page number (a swapped or cached answer is never counted)."""
    result: CallsResult = decode_result(body, where, CallsResult, host)
    del body
    if result.call_results is None:
        raise ApiError(f"the API answered {where} with no call_results page")
    digest.add(result.call_results.results, where, page)
    # After its calls' own checks (an error either way: the digest is then dropped whole).
    about(result.execution_id, execution_id, where, host)
    if result.call_results.current_page != page:
        raise ApiError(
            f"{host} answered {where} with page {result.call_results.current_page}: an answer "
            "about another page is never counted; check --base-url and any proxy or cache in "
            "between"
        )


class _Round:
    """One execution's later pages, read by the readers and handed to the decoding thread."""

    def __init__(
        self,
        client: Client,
        readers: Readers,
        execution_id: str,
        what: str,
        later: Iterator[tuple[int, int]],
    ) -> None:
        self.client, self.execution_id, self.what, self.later = client, execution_id, what, later
        self.readers = readers
        self.eval_names: tuple[str, ...] = ()  # only these configs' outputs, as page 1
        self.workers = readers.size
        self.take = threading.Lock()  # hands out the later pages
        self.slots = threading.Semaphore(self.workers)  # pages in flight or waiting
        self.arrived: queue.SimpleQueue[tuple[int, str, bytes | BaseException | None]]
        self.arrived = queue.SimpleQueue()
        self.started = threading.Semaphore(0)
        self.stop = threading.Event()

    def read(self) -> None:
        """Read later pages until there are none; always ends with a marker or an error, so
        the decoding thread never waits for a reader that is gone."""
        self.started.release()
        try:
            while not self.stop.is_set():
                self.slots.acquire()
                with self.take:
                    page_limit = next(self.later, None)
                if page_limit is None or self.stop.is_set():
                    self.slots.release()
                    break
                page, limit = page_limit
                where = f"page {page} of {self.what}"
                params = {"execution_id": self.execution_id, "page": str(page), "limit": str(limit)}
                if self.eval_names:
                    params["eval_name"] = ",".join(self.eval_names)
                body: bytes = self.client.get(params, what=where, shape=bytes)
                self.arrived.put((page, where, body))
        except BaseException as exc:  # handed to the decoding thread, raised there
            self.arrived.put((0, self.what, exc))
        else:
            self.arrived.put((0, "", None))  # this reader is done

    def run(self, first: FirstPage, digest: CallDigest) -> CallsSummary:
        readers = [self.readers.pool.submit(self.read) for _ in range(self.workers)]
        try:
            # Page 1 is digested while the other pages are on their way, but only once their
            # requests are sent: msgspec holds the GIL for a whole decode (tens of ms), and a
            # reader that has not sent its request by then would send it that much later.
            for _ in readers:
                self.started.acquire(timeout=1.0)
            time.sleep(SEND_GRACE)
            _digest(first.body, self.what, 1, digest, self.client.host, self.execution_id)
            first.body = b""
            running = len(readers)
            while running:
                page, where, got = self.arrived.get()
                if got is None:
                    running -= 1
                elif isinstance(got, BaseException):
                    raise got
                else:
                    self.slots.release()
                    _digest(got, where, page, digest, self.client.host, self.execution_id)
                    del got
        finally:
            self.stop.set()  # after an error: pages not yet asked for never are
            for _ in readers:
                self.slots.release()
        return digest.summary()
