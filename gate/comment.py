"""`--comment`: the job summary as one sticky comment on the pull or merge request.

One comment per run test (or set of run tests), found again on the next run by a hidden marker
and updated in place, so a pull request carries the latest verdict, not one comment a push.

- GitHub: the REST API with `GITHUB_TOKEN` (the action passes `github.token`; the job needs
  `pull-requests: write`), on the pull request of a `pull_request` event.
- GitLab: a merge-request note, with `FI_GATE_GITLAB_TOKEN` (a project or personal token with
  `api` scope) or else `CI_JOB_TOKEN`, in a merge-request pipeline.

A comment is a courtesy, never part of the verdict: a refused token (a pull request from a fork
gets a read-only one), a missing pull request or an unreachable API is one warning line, and
the exit code stays the gate's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from gate import environment
from gate.console import Console
from gate.errors import GateError
from gate.redact import clip
from gate.transport import Deadline, Transport, check_base_url
from gate.verdict import GateResult

MAX_CHARS = 65_536  # GitHub's limit for a comment body (GitLab's is larger)
PER_PAGE = 100
MAX_PAGES = 30  # 3,000 comments: beyond that a new one is posted rather than searched for
SECONDS = 15.0  # the time a comment may take, beyond the gate's own


@dataclass(frozen=True)
class Target:
    """Where the comment goes: the API, the thread's comments path, and how to authenticate."""

    platform: str  # "GitHub" or "GitLab"
    api: str
    thread: str  # the path of the thread's comments (list and create)
    one: str  # the path of one comment, with {id}
    headers: Mapping[str, str]
    update: str  # PATCH (GitHub) or PUT (GitLab)


def target(environ: Mapping[str, str]) -> Target | str:
    """The pull or merge request this job runs for, or why there is none."""
    text = environment.text
    if text(environ, "GITHUB_ACTIONS") == "true":
        return _github(environ)
    if text(environ, "GITLAB_CI") == "true":
        return _gitlab(environ)
    return "not in a GitHub Actions or GitLab CI job"


def _github(environ: Mapping[str, str]) -> Target | str:
    text = environment.text
    token = text(environ, "FI_GATE_GITHUB_TOKEN") or text(environ, "GITHUB_TOKEN")
    repo = text(environ, "GITHUB_REPOSITORY")
    number = _pull_number(text(environ, "GITHUB_EVENT_PATH"))
    if number is None or not repo:
        return "this job is not for a pull request (run it on the pull_request event)"
    if not token:
        return "no token: pass `github-token` to the action (or set GITHUB_TOKEN)"
    issue = f"/repos/{quote(repo)}/issues"
    return Target(
        "GitHub",
        text(environ, "GITHUB_API_URL") or "https://api.github.com",
        f"{issue}/{number}/comments",
        f"{issue}/comments/{{id}}",
        {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
        "PATCH",
    )


def _gitlab(environ: Mapping[str, str]) -> Target | str:
    text = environment.text
    iid, project = text(environ, "CI_MERGE_REQUEST_IID"), text(environ, "CI_PROJECT_ID")
    if not iid or not project:
        return "this pipeline is not for a merge request (use merge-request pipelines)"
    token = text(environ, "FI_GATE_GITLAB_TOKEN")
    job = text(environ, "CI_JOB_TOKEN")
    if not token and not job:
        return "no token: set FI_GATE_GITLAB_TOKEN (a token with the api scope)"
    notes = f"/projects/{quote(project, safe='')}/merge_requests/{quote(iid)}/notes"
    return Target(
        "GitLab",
        text(environ, "CI_API_V4_URL") or "https://gitlab.com/api/v4",
        notes,
        f"{notes}/{{id}}",
        {"PRIVATE-TOKEN": token} if token else {"JOB-TOKEN": job or ""},
        "PUT",
    )


def _pull_number(event_path: str | None) -> int | None:
    """The pull request's number, from the event GitHub wrote for this job."""
    from gate.files import github_event

    pull = github_event(event_path).get("pull_request")
    number = pull.get("number") if isinstance(pull, dict) else None
    return number if isinstance(number, int) and not isinstance(number, bool) else None


def body(result: GateResult, marker: str) -> str:
    """The summary under its marker, within the API's limit."""
    from gate.render import markdown

    head = f"<!-- {marker} -->\n"
    return head + markdown.render(result, limit=MAX_CHARS - len(head.encode()) - 64)


def marker_of(result: GateResult) -> str:
    """One comment per run test (or set of them): the marker names them."""
    names = sorted({v.run_test or "" for v in result.verdicts})
    return "fi-gate: " + clip(", ".join(names) or "gate", 300).replace("--", "- -")


def post(result: GateResult, environ: Mapping[str, str], console: Console) -> None:
    """Create or update the sticky comment; a problem is one warning line, never an error."""
    where = target(environ)
    if isinstance(where, str):
        console.info(f"WARNING: no pull-request comment: {where}")
        return
    marker = marker_of(result)
    text = body(result, marker)
    try:
        url = check_base_url(where.api)
        with Transport(url, where.headers, deadline=Deadline(SECONDS), environ=environ) as api:
            found = _find(api, where, marker)
            if found is None:
                api.request("POST", where.thread, what="the comment", body={"body": text},
                            envelope=False)  # fmt: skip
                console.info(f"posted the verdict as a {where.platform} comment")
            else:
                path = where.one.format(id=quote(str(found)))
                api.request(where.update, path, what="the comment", body={"body": text},
                            envelope=False)  # fmt: skip
                console.info(f"updated the verdict's {where.platform} comment")
    except GateError as exc:
        console.info(f"WARNING: no pull-request comment: {_why(exc, where)}; the verdict stands")


def _find(api: Transport, where: Target, marker: str) -> Any:
    """The id of the comment that carries the marker, looked for page by page."""
    for page in range(1, MAX_PAGES + 1):
        items = api.request(
            "GET",
            where.thread,
            {"per_page": str(PER_PAGE), "page": str(page)},
            what="the comments",
            envelope=False,
        )
        if not isinstance(items, list):
            return None
        for item in items:
            if isinstance(item, dict) and f"<!-- {marker} -->" in str(item.get("body", "")):
                return item.get("id")
        if len(items) < PER_PAGE:
            return None
    return None


def _why(exc: GateError, where: Target) -> str:
    if exc.status == 403:
        return (
            f"{where.platform} refused the token (403): a pull request from a fork gets a "
            "read-only token, and the job needs `pull-requests: write`"
            if where.platform == "GitHub"
            else "GitLab refused the token (403): give FI_GATE_GITLAB_TOKEN the api scope"
        )
    if exc.status in (401, 404):
        return f"{where.platform} answered {exc.status}: check the token and its access"
    return clip(str(exc), 200)
