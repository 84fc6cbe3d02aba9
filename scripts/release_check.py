"""Check that a release tag, the package version, the changelog and every published reference
agree; print the release notes (the changelog's section for the version).

    python scripts/release_check.py v0.2.0          # before tagging, and in the release workflow
    python scripts/release_check.py --references    # only the references (the test suite runs it)

The references are what users copy: the action (`future-agi/fi-gate@vX.Y.Z`), the GitLab
component (`.../fi-gate/fi-gate@X.Y.Z`) and the image (`ghcr.io/future-agi/fi-gate:X.Y.Z`), in
the README, `examples/` and `templates/`. A release whose snippets name another version sends
users to an image or a tag that does not exist.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What a published reference looks like, each with the version it names (group "v").
REFERENCES = {
    "action": re.compile(r"future-agi/fi-gate@v(?P<v>[0-9][^\s#\"']*)"),
    "component": re.compile(r"/future-agi/fi-gate/fi-gate@(?P<v>[0-9][^\s#\"']*)"),
    "image": re.compile(r"ghcr\.io/future-agi/fi-gate:(?P<v>[0-9][^\s#\"']*)"),
}
SECTION = re.compile(r"^## \[(?P<v>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?\s*$", re.M)


def version(root: Path) -> str:
    init = (root / "gate" / "__init__.py").read_text()
    found = re.search(r'^__version__ = "([^"]+)"$', init, re.M)
    if not found:
        raise SystemExit("release check: gate/__init__.py has no __version__ line")
    return found.group(1)


def published_files(root: Path) -> list[Path]:
    files = [root / "README.md"]
    for folder in ("examples", "templates"):
        files += sorted(p for p in (root / folder).rglob("*") if p.is_file())
    return files


def reference_problems(root: Path, expected: str) -> list[str]:
    """Every published reference that names another version than `expected`."""
    problems = []
    seen = dict.fromkeys(REFERENCES, 0)
    for path in published_files(root):
        text = path.read_text(errors="replace")
        for kind, pattern in REFERENCES.items():
            for match in pattern.finditer(text):
                seen[kind] += 1
                if match.group("v") != expected:
                    line = text.count("\n", 0, match.start()) + 1
                    problems.append(
                        f"{path.relative_to(root)}:{line}: the {kind} reference names "
                        f"{match.group('v')}, not {expected}"
                    )
    problems += [f"no {kind} reference found (expected one)" for kind, n in seen.items() if not n]
    return problems


def release_notes(root: Path, expected: str) -> tuple[str | None, list[str]]:
    """The changelog's section for `expected` (without its heading), or why there is none."""
    text = (root / "CHANGELOG.md").read_text()
    sections = list(SECTION.finditer(text))
    for i, heading in enumerate(sections):
        if heading.group("v") != expected:
            continue
        if not heading.group("date"):
            why = f"the [{expected}] heading has no date (## [X.Y.Z] - YYYY-MM-DD)"
            return None, [f"CHANGELOG.md: {why}"]
        end = sections[i + 1].start() if i + 1 < len(sections) else len(text)
        body = text[heading.end() : end]
        body = re.sub(r"^\[[^\]]+\]: \S+\s*$", "", body, flags=re.M).strip()  # link lines
        if not body:
            return None, [f"CHANGELOG.md: the [{expected}] section is empty"]
        return body + "\n", []
    return None, [
        f"CHANGELOG.md has no ## [{expected}] section: move what [Unreleased] lists under it"
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tag", nargs="?", help="the release tag, vX.Y.Z")
    parser.add_argument("--references", action="store_true", help="check only the references")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.references and not args.tag:
        parser.error("give the tag (vX.Y.Z), or --references")
    expected = version(args.root)
    problems = reference_problems(args.root, expected)
    notes = None
    if not args.references:
        if args.tag != f"v{expected}":
            problems.insert(0, f"the tag {args.tag} is not v{expected} (gate/__init__.py)")
        notes, missing = release_notes(args.root, expected)
        problems += missing
    for problem in problems:
        print(f"release check: {problem}", file=sys.stderr)
    if problems:
        return 1
    if notes is not None:
        sys.stdout.write(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
