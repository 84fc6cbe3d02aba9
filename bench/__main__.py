"""Benchmark fi-gate against the naive sequential client and the network's critical path.

    .venv/bin/python -m bench [--sizes 100,2000,20000] [--latency 0.05] [--check]
                              [--write docs/performance.md]
    .venv/bin/python -m bench --grid [--page-sizes 1000,2000,4000,5000] [--workers 4,8,16]

The fake API runs in its own process with a fixed latency per request. In this process, for each
execution size, the bench runs `fi-gate check --calls` (the full report: every call page read),
a network-only client (the same requests, bodies thrown away) and the naive client, and reports
wall time, request count, the ratio to the critical path (the least number of dependent round
trips times the latency) and to the network-only client, and fi-gate's CPU beside `json.loads`
of the same pages. Peak RSS is measured on a separate `fi-gate` process. Start-up is
`fi-gate --version` and `fi-gate validate` beside `python -c pass` and `import requests`.
The figures are ratios to baselines measured in the same run, so a busy machine scales both.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.floor import network_only, parse_cpu
from bench.naive import naive_gate
from gate import cli, pages, settings

KEY, SECRET = "bench-api-key", "bench-secret-key"
POLICY = ROOT / "bench" / "policy.yml"
TARGETS = {
    "critical_path": 2.0,  # full report within 2x the critical path (20,000 calls)
    "vs_naive": 20.0,  # at least 20x faster than the naive client (20,000 calls)
    "requests_over_minimum": 1.10,  # request count within 10 % of the minimum
    "rss_mb": 100.0,  # peak RSS at 20,000 calls
    "startup": 2.0,  # fi-gate --version under 2x python -c "import requests"
}


@dataclass
class Row:
    calls: int
    first_page: int
    later_pages: int | None  # calls in each later page; None: all in page 1
    wall: float
    requests: int
    minimum_requests: int
    critical_path: float
    network_wall: float  # the same requests, bodies read and thrown away (bench.floor)
    cpu: float  # CPU seconds of fi-gate's run, every thread
    parse_cpu: float  # CPU seconds of json.loads over the same call pages
    naive_wall: float | None
    naive_requests: int | None
    rss_mb: float


def spec(calls: int) -> dict[str, object]:
    return {
        "name": f"Bench {calls}",
        "evals": [
            {"name": "is_helpful", "output_type": "Pass/Fail", "configs": [{"name": "helpful"}]},
            {"name": "Coherence", "output_type": "Pass/Fail", "configs": [{"name": "coherence"}]},
            {"name": "Tone", "output_type": "Pass/Fail", "configs": [{"name": "tone"}]},
            {"name": "CSAT", "output_type": "score", "configs": [{"name": "csat"}]},
            {"name": "Sentiment", "output_type": "choices", "configs": [{"name": "sentiment"}]},
        ],
        "executions": [
            {
                "status": "completed",
                "started_at": "2026-11-28T08:00:00Z",
                "completed_at": "2026-11-28T09:00:00Z",
                "generate": {
                    "calls": calls,
                    "failed": calls // 50,
                    "rates": {
                        "helpful": 86,
                        "coherence": 93,
                        "tone": 84,
                        "csat": 78,
                        "sentiment": {"Positive": 70, "Neutral": 25, "Negative": 5},
                    },
                },
            }
        ],
    }


@contextlib.contextmanager
def fake_api(sizes: list[int], latency: float) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as data:
        for n in sizes:
            (Path(data) / f"bench-{n}.json").write_text(json.dumps(spec(n)))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.fakeapi",
                data,
                "--port",
                "0",
                "--latency",
                str(latency),
                "--api-key",
                KEY,
                "--secret-key",
                SECRET,
                "--cache-pages",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if not match:
            proc.kill()
            raise SystemExit(f"bench: the fake API did not start: {line!r}")
        try:
            yield match.group(0)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            proc.stdout.close()


def run_gate(
    url: str, run_test: str, *extra: str, page_size: int | None = None
) -> tuple[float, int, dict[str, object], float]:
    """fi-gate in this process (imports warm): wall seconds, requests, the JSON report, and the
    CPU seconds of this process (every thread) during the run."""
    env = {"FI_BASE_URL": url, "FI_API_KEY": KEY, "FI_SECRET_KEY": SECRET}
    if page_size is not None:
        env["FI_GATE_CALL_PAGE_SIZE"] = str(page_size)
    argv = [
        "check",
        "--policy",
        str(POLICY),
        "--run-test",
        run_test,
        "--calls",
        "--format",
        "json",
        "--verbose",
        *extra,
    ]
    out, err = io.StringIO(), io.StringIO()
    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv, env)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    if code not in (0, 1):
        raise SystemExit(f"bench: fi-gate exited {code}: {err.getvalue()}")
    found = re.search(r"(\d+) request\(s\)", err.getvalue())
    return wall, int(found.group(1)) if found else -1, json.loads(out.getvalue()), cpu


# A small, fresh process starts fi-gate and reports its children's peak RSS. Forking fi-gate from
# this (large) process directly would count this process's pages: Linux keeps the pre-exec
# high-water mark in ru_maxrss.
LAUNCHER = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def peak_rss_mb(url: str, run_test: str, *extra: str) -> float:
    """Peak RSS of a separate fi-gate process doing the same work."""
    env = {**os.environ, "FI_BASE_URL": url, "FI_API_KEY": KEY, "FI_SECRET_KEY": SECRET}
    exe = Path(sys.executable).with_name("fi-gate")
    argv = [str(exe), "check", "--policy", str(POLICY), "--run-test", run_test, "--calls", *extra]
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *argv],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip()) / 1024


@dataclass
class Startup:
    """Median wall seconds of short commands, each a fresh process."""

    python: float  # python -c pass
    version: float  # fi-gate --version
    validate: float  # fi-gate validate (the bench policy)
    requests: float  # python -c "import requests"


def startup() -> Startup:
    exe = str(Path(sys.executable).with_name("fi-gate"))

    def median(cmd: list[str]) -> float:
        times = []
        for _ in range(7):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    return Startup(
        python=median([sys.executable, "-c", "pass"]),
        version=median([exe, "--version"]),
        validate=median([exe, "validate", str(POLICY)]),
        requests=median([sys.executable, "-c", "import requests"]),
    )


def measure(url: str, n: int, latency: float, naive: bool) -> Row:
    run_test = f"Bench {n}"
    extra = ["--workers", str(settings.DEFAULT_WORKERS)]
    plan = pages.plan_pages()  # what fi-gate chooses
    run_gate(url, run_test, *extra)  # warm the fake's caches for this execution
    walls, cpus, network, requests = [], [], [], 0
    for _ in range(3):  # fi-gate and the network-only client take turns
        wall, requests, report, cpu = run_gate(url, run_test, *extra)
        walls.append(wall)
        cpus.append(cpu)
        alone, bodies = network_only(url, run_test, KEY, SECRET, plan, n, settings.DEFAULT_WORKERS)
        network.append(alone)
    calls_read = report["calls"]["read"]  # type: ignore[index]
    assert calls_read == n, (calls_read, n)
    later = plan.later_pages_of(n)
    # The listing, the detail with page 1, every later call page, and the run-test search that
    # gives the app link its run test id (issue #13; after the verdict's data is read).
    minimum = 3 + len(later)
    round_trips = 3 + (1 if later else 0)  # list -> detail -> later pages at once -> search
    naive_wall = naive_requests = None
    if naive:
        start = time.perf_counter()
        result = naive_gate(url, run_test, KEY, SECRET)
        naive_wall = time.perf_counter() - start
        naive_requests = int(result["requests"])
        assert result["calls"] == n
    return Row(
        n,
        plan.first,
        plan.rest if later else None,
        statistics.median(walls),
        requests,
        minimum,
        round_trips * latency,
        statistics.median(network),
        statistics.median(cpus),
        parse_cpu(bodies),
        naive_wall,
        naive_requests,
        peak_rss_mb(url, run_test, *extra),
    )


def grid(url: str, n: int, page_sizes: list[int | None], workers: list[int], runs: int = 7) -> str:
    """Median wall seconds of the full report at `n` calls, by page size (None: fi-gate's own
    plan) and workers."""
    head = "| page size | " + " | ".join(f"{w} workers" for w in workers) + " |"
    lines = [head, "|--:|" + "--:|" * len(workers)]
    for size in page_sizes:
        cells = []
        for w in workers:
            extra = ("--workers", str(w))
            run_gate(url, f"Bench {n}", *extra, page_size=size)  # warm the fake's caches
            walls = [run_gate(url, f"Bench {n}", *extra, page_size=size)[0] for _ in range(runs)]
            cells.append(f"{statistics.median(walls):.3f}")
        label = f"{size:,}" if size is not None else "planned"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
        print(f"measured page size {size}", file=sys.stderr)
    return "\n".join(lines)


def table(rows: list[Row], start: Startup, latency: float) -> str:
    lines = [
        f"Latency {latency * 1000:.0f} ms per request; {settings.DEFAULT_WORKERS} workers; "
        "call pages of 10,000 calls: page 1 with the execution, the later pages read at once.",
        "",
        "| calls | call pages | requests (minimum) | fi-gate wall | × critical path "
        "| × network only | CPU | CPU ÷ json.loads | naive wall | naive ÷ fi-gate | peak RSS |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        pages = f"{r.first_page:,}" + (f" + {r.later_pages:,}…" if r.later_pages else "")
        naive = f"{r.naive_wall:.2f} s" if r.naive_wall is not None else "—"
        speedup = f"{r.naive_wall / r.wall:.0f}×" if r.naive_wall is not None else "—"
        naive_requests = f" ({r.naive_requests} requests)" if r.naive_requests else ""
        lines.append(
            f"| {r.calls:,} | {pages} | {r.requests} ({r.minimum_requests}) | {r.wall:.3f} s | "
            f"{r.wall / r.critical_path:.2f} | {r.wall / r.network_wall:.2f} | "
            f"{r.cpu:.3f} s | {r.cpu / r.parse_cpu:.2f} | {naive}{naive_requests} | {speedup} | "
            f"{r.rss_mb:.0f} MB |"
        )
    lines += [
        "",
        "| start-up | wall | ÷ `python -c pass` | ÷ `import requests` |",
        "|---|--:|--:|--:|",
    ]
    for name, seconds in (
        ("`python -c pass`", start.python),
        ("`fi-gate --version`", start.version),
        ("`fi-gate validate`", start.validate),
        ('`python -c "import requests"`', start.requests),
    ):
        lines.append(
            f"| {name} | {seconds * 1000:.0f} ms | {seconds / start.python:.1f} | "
            f"{seconds / start.requests:.2f} |"
        )
    return "\n".join(lines)


def check(rows: list[Row], start: Startup) -> list[str]:
    problems = []
    big = max(rows, key=lambda r: r.calls)
    if big.wall / big.critical_path > TARGETS["critical_path"]:
        problems.append(f"{big.calls} calls: {big.wall / big.critical_path:.2f}× the critical path")
    if big.naive_wall is not None and big.naive_wall / big.wall < TARGETS["vs_naive"]:
        problems.append(
            f"{big.calls} calls: only {big.naive_wall / big.wall:.1f}× the naive client"
        )
    for r in rows:
        if r.requests > r.minimum_requests * TARGETS["requests_over_minimum"]:
            problems.append(f"{r.calls} calls: {r.requests} requests, minimum {r.minimum_requests}")
    if big.rss_mb > TARGETS["rss_mb"]:
        problems.append(f"{big.calls} calls: peak RSS {big.rss_mb:.0f} MB")
    if start.version / start.requests > TARGETS["startup"]:
        problems.append(f"start-up {start.version / start.requests:.2f}× import requests")
    return problems


def replace_between(path: Path, mark: str, text: str) -> None:
    """Put `text` between `<!-- mark:begin -->` and `<!-- mark:end -->` in a markdown file."""
    doc = path.read_text()
    begin, end = f"<!-- {mark}:begin -->", f"<!-- {mark}:end -->"
    if begin not in doc or end not in doc:
        raise SystemExit(f"bench: {path} has no {begin} ... {end} section to write into")
    head, _, rest = doc.partition(begin)
    _, _, tail = rest.partition(end)
    path.write_text(f"{head}{begin}\n{text}\n{end}{tail}")


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", default="100,2000,20000")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive client")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--write", metavar="PATH", help="write the table into this markdown file")
    parser.add_argument(
        "--grid", action="store_true", help="time page sizes by workers at the largest size"
    )
    parser.add_argument("--page-sizes", default="1000,2000,4000,5000")
    parser.add_argument("--workers", default="4,8,16")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.grid:
        page_sizes: list[int | None] = [None, *(int(s) for s in args.page_sizes.split(","))]
        workers = [int(w) for w in args.workers.split(",")]
        with fake_api(sizes[-1:], args.latency) as url:
            text = grid(url, sizes[-1], page_sizes, workers)
        print(f"{sizes[-1]:,} calls, latency {args.latency * 1000:.0f} ms; median wall seconds\n")
        print(text)
        if args.write:
            replace_between(Path(args.write), f"grid-{args.latency * 1000:.0f}ms", text)
        return 0
    with fake_api(sizes, args.latency) as url:
        rows = []
        for n in sizes:
            rows.append(measure(url, n, args.latency, not args.no_naive))
            print(f"measured {n} calls", file=sys.stderr)
    start = startup()
    text = table(rows, start, args.latency)
    print(text)
    if args.write:
        replace_between(Path(args.write), "bench", text)
    problems = check(rows, start)
    for p in problems:
        print(f"target missed: {p}", file=sys.stderr)
    return 1 if args.check and problems else 0


if __name__ == "__main__":
    sys.exit(main())
