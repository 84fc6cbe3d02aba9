"""Run the fake Future AGI API by hand: python -m tests.fakeapi [DATA_DIR] [--port N]."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path

from tests.fakeapi.server import API_KEY, SECRET_KEY, FakeApi
from tests.fakeapi.store import load_dir

DEFAULT_DATA = Path(__file__).parent / "data"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fakeapi", description=__doc__)
    p.add_argument(
        "data_dir",
        nargs="?",
        default=str(DEFAULT_DATA),
        help="folder of run test specs (*.json); default: the demo data",
    )
    p.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765)")
    p.add_argument("--api-key", default=API_KEY)
    p.add_argument("--secret-key", default=SECRET_KEY)
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    p.add_argument(
        "--cache-pages",
        action="store_true",
        help="serve execution pages from a cache of encoded bodies (benchmarks)",
    )
    a = p.parse_args(argv)
    try:
        store = load_dir(a.data_dir)
    except (OSError, ValueError, KeyError) as exc:
        print(f"fakeapi: cannot load {a.data_dir}: {exc}", file=sys.stderr)
        return 2
    api = FakeApi(
        store,
        api_key=a.api_key,
        secret_key=a.secret_key,
        latency=a.latency,
        cache_pages=a.cache_pages,
        port=a.port,
    ).start()
    names = sorted({rt.name for rt in store.run_tests})
    print(f"fake Future AGI API on {api.url} (Ctrl-C to stop)")
    print("run tests: " + ", ".join(repr(n) for n in names))
    print("try:")
    print(f"  export FI_BASE_URL={api.url} FI_API_KEY={a.api_key} FI_SECRET_KEY={a.secret_key}")
    for name in names:
        print(f"  fi-gate check --policy policies/starter.yml --run-test {name!r}")
    print(f"  fi-gate run --policy policies/starter.yml --run-test {names[-1]!r}")
    sys.stdout.flush()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
