"""Render a markdown summary as GitHub does (cmark-gfm) and screenshot it with headless Chromium.

    .venv/bin/python scripts/preview_summary.py summary.md preview.png

Needs Debian's chromium (`apt-get install chromium`); writes the HTML beside the PNG.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cmarkgfm
from cmarkgfm.cmark import Options

STYLE = """body{font-family:-apple-system,"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif;
font-size:14px;line-height:1.5;max-width:1012px;margin:24px;color:#1f2328}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d0d7de;padding:6px 13px}
tr:nth-child(2n){background:#f6f8fa}h2{border-bottom:1px solid #d1d9e0;padding-bottom:.3em}
blockquote{border-left:4px solid #0969da;margin:0;padding:0 1em;color:#59636e}"""


def html(markdown: str) -> str:
    # GitHub escapes raw HTML it does not allow; cmark-gfm's tagfilter does the same for the
    # dangerous tags, and our renderer escapes everything that came from the API anyway.
    body = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    return (
        f"<html><head><meta charset=utf-8><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    page = target.with_suffix(".html")
    page.write_text(html(source.read_text()))
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print(f"wrote {page}; install chromium for the screenshot", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--window-size=1100,1200",
                f"--screenshot={target.resolve()}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
        )
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
