"""Two baselines for fi-gate's full report, run in the same process as fi-gate itself.

- `network_only`: the same requests in the same order and concurrency as fi-gate (the listing,
  the detail with page 1, then the later pages at once on `workers` threads), with every body
  read and thrown away. Nothing is decoded: this is what the network and the server cost, the
  floor for any client that reads these pages.
- `parse_cpu`: the CPU seconds of the standard library's `json.loads` over the same call
  pages: what any Python client pays just to parse them.
"""

from __future__ import annotations

import json
import threading
import time

import requests

from gate.pages import PagePlan

RUNS = "/sdk/api/v1/simulation/runs/"


def network_only(
    base_url: str, run_test: str, key: str, secret: str, plan: PagePlan, calls: int, workers: int
) -> tuple[float, list[bytes]]:
    """Wall seconds to fetch what fi-gate fetches, and the call-page bodies."""
    headers = {"X-Api-Key": key, "X-Secret-Key": secret}
    url = base_url + RUNS
    local = threading.local()

    def get(params: dict[str, str]) -> bytes:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.trust_env = False
        # The fastest read there is: the whole body in one call (`.content` goes 10 kB a chunk).
        with session.get(url, headers=headers, params=params, timeout=60, stream=True) as r:
            body: bytes = r.raw.read()
        return body

    later = plan.later_pages_of(calls)
    bodies: list[bytes] = [b""] * len(later)

    def read(index: int) -> None:
        page, limit = later[index]
        bodies[index] = get({"execution_id": execution_id, "page": str(page), "limit": str(limit)})

    start = time.perf_counter()
    listing = json.loads(get({"run_test_name": run_test, "page": "1", "limit": "5"}))
    execution_id = listing["result"]["results"][0]["execution_id"]
    first = get({"execution_id": execution_id, "limit": str(plan.first), "summary": "true"})

    def reader(first_index: int) -> None:
        for index in range(first_index, len(later), workers):
            read(index)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(min(workers, len(later)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return wall, [first, *bodies]


def parse_cpu(bodies: list[bytes]) -> float:
    """CPU seconds of `json.loads` over the bodies (median of 3)."""
    times = []
    for _ in range(3):
        start = time.process_time()
        for body in bodies:
            json.loads(body)
        times.append(time.process_time() - start)
    return sorted(times)[1]
