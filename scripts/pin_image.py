"""Point the action and the GitLab component at a published image, pinned by digest.

    python scripts/pin_image.py ghcr.io/future-agi/fi-gate:0.2.0@sha256:<64 hex> [--repo DIR]

The release workflow runs it once the image is pushed, on the commit it tags: the released
action then runs the prebuilt image (`runs.image: docker://…@sha256:…`, nothing built or
installed at job time) and the component's default image is the same one. On main, the action
keeps `image: Dockerfile`: `uses: future-agi/fi-gate@main` (or a fork's branch) builds from
source.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

# An image reference as the distribution spec's grammar has it: an optional registry (a host,
# with a port), path components of lower-case letters and digits joined by `.`, `_`, `__` or
# dashes, a tag (any of [A-Za-z0-9_.-], not starting with `.` or `-`, at most 128), a digest.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REGISTRY = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*(?::[0-9]+)?/)?"
PINNED = re.compile(
    rf"{_REGISTRY}{_COMPONENT}(?:/{_COMPONENT})*:[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}"
    r"@sha256:[0-9a-f]{64}"
)


def pin(repo: Path, image: str) -> None:
    if not PINNED.fullmatch(image):
        raise SystemExit(f"pin_image: {image!r} is not NAME:TAG@sha256:<64 hex digits>")
    action = repo / "action.yml"
    text = action.read_text()
    new, n = re.subn(r"(?m)^  image: .*$", f"  image: docker://{image}", text)
    if n != 1:
        raise SystemExit("pin_image: action.yml has no single `runs.image` line")
    action.write_text(new)
    component = repo / "templates" / "fi-gate.yml"
    text = component.read_text()
    new, n = re.subn(
        r"(?m)^(    image:\n      description: .*\n      default: ).*$", rf"\g<1>{image}", text
    )
    if n != 1:
        raise SystemExit("pin_image: the component has no single `image` input default")
    component.write_text(new)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("image")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    pin(args.repo, args.image)
    print(f"action.yml and templates/fi-gate.yml run {args.image}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
