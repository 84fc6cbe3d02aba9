"""A fake of the GitHub and GitLab endpoints that `--comment` uses, on 127.0.0.1.

GitHub: `GET|POST /repos/{owner}/{repo}/issues/{n}/comments` (paged by `per_page` and `page`),
`PATCH /repos/{owner}/{repo}/issues/comments/{id}`, with `Authorization: Bearer TOKEN`.
GitLab: `GET|POST /projects/{id}/merge_requests/{iid}/notes`, `PUT .../notes/{id}`, with
`PRIVATE-TOKEN` or `JOB-TOKEN`. A wrong token is 401; `read_only` answers writes with 403, as
GitHub does for the read-only token of a pull request from a fork.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghs_fake-forge-token-0123456789"
ME = {"login": "fi-gate-bot", "id": 77, "username": "fi-gate-bot"}  # the token's identity
SOMEONE = {"login": "mallory", "id": 666, "username": "mallory"}
ACTIONS_BOT = {"login": "github-actions[bot]", "id": 41898282, "username": "github-actions[bot]"}


@dataclass
class Forge:
    token: str = TOKEN
    read_only: bool = False
    # The workflow's GITHUB_TOKEN: `GET /user` is refused (403), comments are the Actions bot's.
    installation: bool = False
    redirect_writes: bool = False  # every write answered 307 to another path
    comments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # thread -> list
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query)
    next_id: int = 1000

    def __enter__(self) -> Forge:
        forge = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                forge.handle(self, "GET")

            def do_POST(self) -> None:
                forge.handle(self, "POST")

            def do_PATCH(self) -> None:
                forge.handle(self, "PATCH")

            def do_PUT(self) -> None:
                forge.handle(self, "PUT")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(  # a short poll: stopping it takes 0.05 s, not 0.5 s
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    @property
    def me(self) -> dict[str, Any]:
        return ACTIONS_BOT if self.installation else ME

    def seed(self, thread: str, bodies: list[str], author: dict[str, Any] | None = None) -> None:
        """Comments as GitHub (`user.login`) and GitLab (`author.id`) say who wrote them."""
        who = author or self.me
        for text in bodies:
            self.comments.setdefault(thread, []).append(
                {
                    "id": self.next_id,
                    "body": text,
                    "user": {"login": who["login"]},
                    "author": {"id": who["id"], "username": who["username"]},
                }
            )
            self.next_id += 1

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        self.requests.append((method, h.path))
        parts = urlsplit(h.path)
        bearer = h.headers.get("Authorization", "")
        given = bearer.removeprefix("Bearer ") or h.headers.get("PRIVATE-TOKEN")
        given = given or h.headers.get("JOB-TOKEN")
        if given != self.token:
            return self.answer(h, 401, {"message": "Bad credentials"})
        length = int(h.headers.get("Content-Length") or 0)
        sent: dict[str, Any] = json.loads(h.rfile.read(length)) if length else {}
        if parts.path == "/user" and method == "GET":
            if self.installation:
                return self.answer(h, 403, {"message": "Resource not accessible by integration"})
            return self.answer(h, 200, self.me)
        thread = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/(\d+)/comments", parts.path) or (
            re.fullmatch(r"/projects/[^/]+/merge_requests/(\d+)/notes", parts.path)
        )
        one = re.fullmatch(r"/repos/[^/]+/[^/]+/issues/comments/(\d+)", parts.path) or (
            re.fullmatch(r"/projects/[^/]+/merge_requests/\d+/notes/(\d+)", parts.path)
        )
        if thread and method == "GET":
            query = parse_qs(parts.query)
            per_page = int(query.get("per_page", ["30"])[0])
            page = int(query.get("page", ["1"])[0])
            items = self.comments.get(parts.path, [])
            return self.answer(h, 200, items[(page - 1) * per_page : page * per_page])
        if method != "GET" and self.redirect_writes:
            h.send_response(307)
            h.send_header("Location", "/elsewhere" + parts.path)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return None
        if method != "GET" and self.read_only:
            return self.answer(h, 403, {"message": "Resource not accessible by integration"})
        if thread and method == "POST":
            self.seed(parts.path, [sent["body"]])
            return self.answer(h, 201, self.comments[parts.path][-1])
        if one and method in ("PATCH", "PUT"):
            for items in self.comments.values():
                for item in items:
                    if str(item["id"]) == one.group(1):
                        if method == "PUT" and item["author"]["id"] != self.me["id"]:
                            # GitLab: only a note's author may edit it (GitHub lets a token
                            # with write access edit anyone's: the harm #18 is about).
                            return self.answer(h, 403, {"message": "403 Forbidden"})
                        item["body"] = sent["body"]
                        return self.answer(h, 200, item)
        return self.answer(h, 404, {"message": "Not Found"})

    @staticmethod
    def answer(h: BaseHTTPRequestHandler, status: int, data: Any) -> None:
        raw = json.dumps(data).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(raw)))
        h.end_headers()
        h.wfile.write(raw)

    def bodies(self) -> list[str]:
        return [c["body"] for items in self.comments.values() for c in items]
