"""Build the action's image and run it as a GitHub runner would, against the fake API.

Uses ../shared/tools/action-container (podman; a Debian stand-in replaces the pinned base image).
Checks, for a passing and a failing policy: the exit code, the step summary, the outputs, the
JSON report in the workspace, the annotations, and that the keys never appear unmasked.

    .venv/bin/python scripts/container_smoke.py [--no-build]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gate import __version__
from scripts.pin_image import pin
from tests.fakeapi import FakeApi, load_dir

TOOL = Path(
    os.environ.get("ACTION_CONTAINER", ROOT.parent / "shared" / "tools" / "action-container")
)
IMAGE = "localhost/action-under-test:latest"
KEY = "fk-canary-key-7f3a9c1e5b"
SECRET = "fs-canary-secret-2d8e4b6a0c"
NEWEST = "6f1c2a8e-3b7d-4e59-9a41-2c8d5e7f9b10"


def outputs(text: str) -> dict[str, str]:
    """Parse GITHUB_OUTPUT's heredoc form, as the runner does."""
    found: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.fullmatch(r"([A-Za-z0-9_-]+)<<(\S+)", lines[i])
        if not m:
            i += 1
            continue
        name, delimiter = m.groups()
        end = lines.index(delimiter, i + 1)
        found[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return found


def run_action(
    workspace: Path, inputs: dict[str, str], env: dict[str, str], repo: Path = ROOT
) -> tuple[int, str, Path]:
    keep = Path(tempfile.mkdtemp(prefix="file-commands-"))
    cmd = [sys.executable, str(TOOL), "run", "--repo", str(repo), "--workspace", str(workspace)]
    for k, v in env.items():
        cmd += ["--env", f"{k}={v}"]
    cmd += [f"{k}={v}" for k, v in inputs.items()]
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ACTION_CONTAINER_KEEP": str(keep)},
    )
    return done.returncode, done.stdout + done.stderr, keep


def inspect(field: str) -> str:
    """One field of the built image (podman's Go template, e.g. `{{.Digest}}`)."""
    done = subprocess.run(
        ["podman", "image", "inspect", IMAGE, "--format", field],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"container smoke: FAILED: {message}")
    print(f"  ok: {message}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-build", action="store_true", help="reuse the image already built")
    args = parser.parse_args()
    if not args.no_build:
        start = time.monotonic()
        subprocess.run(
            [sys.executable, str(TOOL), "build", "--repo", str(ROOT)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"built {IMAGE} in {time.monotonic() - start:.0f}s")
    size = inspect("{{.Size}}")
    print(f"image size: {int(size) / 1e6:.1f} MB (stand-in Debian base; see docs)")
    # The image ships bytecode: every module fi-gate imports is read from a .pyc built in the
    # image, none compiled at job time (PYTHONDONTWRITEBYTECODE: nothing could be kept).
    # The standard library's too: the official slim images delete its bytecode
    # (docker/compile_stdlib.py puts back that of the modules fi-gate loads).
    probe = (
        "import importlib.util, os, sys, sysconfig, gate.cli, gate.api, gate.judge, "
        "gate.transport, gate.network, gate.evaluate, gate.render.markdown, msgspec, yaml;"
        "lib = sysconfig.get_paths()['stdlib'];"
        "mods = [m for m in sys.modules.values() if getattr(m, '__file__', '') and "
        "m.__file__.endswith('.py') and ('/opt/fi-gate/' in m.__file__ or "
        "m.__file__.startswith(lib))];"
        "missing = [m.__name__ for m in mods if not os.path.exists("
        "importlib.util.cache_from_source(m.__file__))];"
        "print(len(mods), missing)"
    )
    done = subprocess.run(
        ["podman", "run", "--rm", "--entrypoint", "/opt/fi-gate/bin/python", IMAGE, "-c", probe],
        capture_output=True,
        text=True,
        check=False,
    )
    check(
        done.returncode == 0 and done.stdout.strip().endswith("[]"),
        "every module fi-gate imports, its own and the standard library's, has its bytecode in "
        f"the image ({done.stdout.strip()})",
    )

    with FakeApi(
        load_dir(ROOT / "tests" / "fakeapi" / "data"), api_key=KEY, secret_key=SECRET
    ) as api:
        workspace = Path(tempfile.mkdtemp(prefix="workspace-"))
        shutil.copy(ROOT / "policies" / "starter.yml", workspace / "fi-gate.yml")
        shutil.copy(ROOT / "policies" / "strict.yml", workspace / "strict.yml")
        base = {"base-url": api.url, "api-key": KEY, "secret-key": SECRET}

        print("passing policy, keys as inputs:")
        code, log, files = run_action(workspace, {**base, "junit": "junit.xml"}, {})
        out = outputs((files / "set_output").read_text())
        check(code == 0, f"exit 0 (got {code})")
        check(out.get("verdict") == "pass" and out.get("passed") == "true", f"outputs {out}")
        check(out.get("execution-id") == NEWEST, "execution-id output")
        check(out.get("failed-checks") == "0", "failed-checks output is 0")
        report = json.loads((workspace / out["report"]).read_text())
        check(report["verdict"] == "pass", "JSON report written into the workspace")
        check((workspace / "junit.xml").exists(), "JUnit written into the workspace")
        summary = (files / "step_summary").read_text()
        check(summary.startswith("## ✅ fi-gate: PASS"), "step summary starts with the verdict")

        print("failing policy, keys from the workflow env:")
        code, log2, files = run_action(
            workspace,
            {"policy": "strict.yml", "base-url": api.url},
            {"FI_API_KEY": KEY, "FI_SECRET_KEY": SECRET},
        )
        out = outputs((files / "set_output").read_text())
        check(code == 1, f"exit 1 (got {code})")
        check(out.get("verdict") == "fail" and out.get("passed") == "false", f"outputs {out}")
        check(int(out.get("failed-checks", "0")) >= 1, "failed-checks counts the failures")
        summary = (files / "step_summary").read_text()
        check(
            "fi-gate: FAIL" in summary and "Refund policy" in summary,
            "summary has the verdict and the failure cluster",
        )
        check(
            "::error file=strict.yml,line=" in log2 and "title=fi-gate%3A is_helpful::" in log2,
            "an ::error annotation per failure, on its rule's line of the policy",
        )
        check(f"::add-mask::{KEY}" in log2, "the keys are masked in the log")

        print("mode run: start the run test, wait, judge that execution:")
        code, log4, files = run_action(workspace, {**base, "mode": "run"}, {})
        out = outputs((files / "set_output").read_text())
        check(code == 0, f"exit 0 (got {code}): {log4[-400:]}")
        check(len(api.started) == 1, "exactly one execution started")
        check(out.get("execution-id") == api.started[0], "the started execution was judged")
        check(out.get("selection") == "started", "selection output is started")
        check(api.started[0] in out.get("link", ""), "link output names the execution")

        print("no keys at all:")
        code, log3, _ = run_action(workspace, {"base-url": api.url}, {})
        check(
            code == 2 and "FI_API_KEY and FI_SECRET_KEY are not set" in log3,
            "exit 2 naming the variables",
        )

        print("the released action: the prebuilt image, pinned by digest (scripts/pin_image.py):")
        released = Path(tempfile.mkdtemp(prefix="release-"))
        shutil.copy(ROOT / "action.yml", released / "action.yml")
        (released / "templates").mkdir()
        shutil.copy(ROOT / "templates" / "fi-gate.yml", released / "templates" / "fi-gate.yml")
        digest = inspect("{{.Digest}}")
        pin(released, f"ghcr.io/future-agi/fi-gate:{__version__}@{digest}")
        check(
            "image: docker://ghcr.io/future-agi/fi-gate:" in (released / "action.yml").read_text(),
            f"action.yml runs the image by digest ({digest[:19]}…), builds nothing",
        )
        code, log5, files = run_action(workspace, base, {}, repo=released)
        out = outputs((files / "set_output").read_text())
        check(code == 0 and out.get("verdict") == "pass", "the released action gives the verdict")

        for text in (log, log2, log3, log4, log5):
            leaked = [
                line
                for line in text.splitlines()
                if (KEY in line or SECRET in line)
                and not line.startswith("::add-mask::")
                and not line.startswith("+ ")
            ]
            check(not leaked, "no key outside ::add-mask:: in the container's output")
        shutil.rmtree(workspace)
    print("container smoke: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
