"""`--comment`: the job summary as one sticky comment on the pull or merge request.

One comment per run test (or set of run tests), found again on the next run by a hidden marker
and updated in place, so a pull request carries the latest verdict, not one comment a push.

- GitHub: the REST API with `GITHUB_TOKEN` (the action passes `github.token`; the job needs
  `pull-requests: write`), on the pull request of a `pull_request` event.
- GitLab: a merge-request note, with `FI_GATE_GITLAB_TOKEN` (a project or personal token with
  `api` scope) or else `CI_JOB_TOKEN`, in a merge-request pipeline.

Only fi-gate's own comment is edited: one that carries the marker **and** was written by the
identity the token acts as (GitHub: the login `GET /user` gives for a personal token, and
`github-actions[bot]` for the workflow's `GITHUB_TOKEN`, which may not call `GET /user`; GitLab:
`GET /user`). Anyone can paste the marker into a comment of their own: such a comment is left
alone, and fi-gate posts its own. A write is sent once and never redirected (transport.py).

A comment is a courtesy, never part of the verdict: a refused token (a pull request from a fork
gets a read-only one), a missing pull request, an unreachable API or any other failure of this
path is one warning line (a `::warning::` annotation in a GitHub job), the exit code stays the
gate's, and no token appears anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gate.console import Console
from gate.errors import ApiError, GateError, UsageError
from gate.network import Network
from gate.redact import clip
from gate.transport import Deadline, Refusal, Transport, check_url
from gate.verdict import GateResult

if TYPE_CHECKING:
    from gate.settings import Ci

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
    token_name: str = ""  # the variable the token came from, for messages

    def explain(self, refusal: Refusal) -> GateError | None:
        """What the forge's refusal means (the transport's `explain` hook), as the API's
        refusals are said by `api.explain`."""
        if refusal.status == 403:
            return ApiError(
                f"{self.platform} refused the token (403): a pull request from a fork gets a "
                "read-only token, and the job needs `pull-requests: write`"
                if self.platform == "GitHub"
                else "GitLab refused the token (403): give FI_GATE_GITLAB_TOKEN the api scope"
            )
        if refusal.status in (401, 404):
            return ApiError(
                f"{self.platform} answered {refusal.status}: check the token and its access"
            )
        return None

    @property
    def example(self) -> str:
        """What its API URL looks like, for a message about a bad one."""
        return (
            "https://api.github.com" if self.platform == "GitHub" else "https://gitlab.com/api/v4"
        )

    def author(self, item: Mapping[str, Any]) -> str | None:
        """Who wrote a comment, as `whoami` names the token's identity."""
        if self.platform == "GitHub":
            user = item.get("user")
            login = user.get("login") if isinstance(user, dict) else None
            return login.lower() if isinstance(login, str) else None
        author = item.get("author")
        uid = author.get("id") if isinstance(author, dict) else None
        return str(uid) if isinstance(uid, int) and not isinstance(uid, bool) else None


# The identity of the workflow's GITHUB_TOKEN (an installation token: `GET /user` refuses it).
ACTIONS_BOT = "github-actions[bot]"


def target(ci: Ci) -> Target | str:
    """The pull or merge request this job runs for, or why there is none."""
    if ci.github_actions:
        return _github(ci)
    if ci.gitlab_ci:
        return _gitlab(ci)
    return "not in a GitHub Actions or GitLab CI job"


def _github(ci: Ci) -> Target | str:
    repo, token = ci.github_repository, ci.github_token
    number = _pull_number(ci.github_event_path)
    if number is None or not repo:
        return "this job is not for a pull request (run it on the pull_request event)"
    if not token:
        return "no token: pass `github-token` to the action (or set GITHUB_TOKEN)"
    issue = f"/repos/{quote(repo)}/issues"
    return Target(
        "GitHub",
        ci.github_api_url,
        f"{issue}/{number}/comments",
        f"{issue}/comments/{{id}}",
        {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
        "PATCH",
        ci.github_token_name,
    )


def _gitlab(ci: Ci) -> Target | str:
    iid, project = ci.merge_request_iid, ci.project_id
    if not iid or not project:
        return "this pipeline is not for a merge request (use merge-request pipelines)"
    token, job = ci.gitlab_token, ci.job_token
    if not token and not job:
        return "no token: set FI_GATE_GITLAB_TOKEN (a token with the api scope)"
    notes = f"/projects/{quote(project, safe='')}/merge_requests/{quote(iid)}/notes"
    return Target(
        "GitLab",
        ci.gitlab_api_url,
        notes,
        f"{notes}/{{id}}",
        {"PRIVATE-TOKEN": token} if token else {"JOB-TOKEN": job or ""},
        "PUT",
        "FI_GATE_GITLAB_TOKEN" if token else "CI_JOB_TOKEN",
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


def post(result: GateResult, ci: Ci, network: Network | None, console: Console) -> None:
    """Create or update the sticky comment, through the API's own trust and proxies. Whatever
    goes wrong here is one warning line and never changes the exit code: any exception, not
    only fi-gate's own errors."""
    where = target(ci)
    if isinstance(where, str):
        _warn(console, ci, where)
        return
    try:
        _post(result, where, network or Network(), console)
    except GateError as exc:
        _warn(console, ci, f"{clip(str(exc), 200)}; the verdict stands")
    except Exception as exc:  # a URL or a token that no request can carry, a bug: said, once
        _warn(
            console,
            ci,
            f"the {where.platform} comment could not be written ({type(exc).__name__}); check "
            f"the API URL and {where.token_name}; the verdict stands",
        )


def _warn(console: Console, ci: Ci, why: str) -> None:
    """One warning line; in a GitHub job a `::warning::` annotation, which the annotations
    panel shows (a plain log line is never seen there)."""
    text = f"no pull-request comment: {why}"
    if ci.github_actions:
        from gate.render.github import warning_annotation

        console.command(warning_annotation("fi-gate: comment", console.scrub(text)))
    else:
        console.info(f"WARNING: {text}")


def _post(result: GateResult, where: Target, network: Network, console: Console) -> None:
    for value in where.headers.values():
        if any(c in value for c in "\r\n\x00") or not value.isascii():
            raise UsageError(
                f"{where.token_name} holds a line break or a character that an HTTP header "
                "cannot carry; set the token again"
            )
    marker = marker_of(result)
    text = body(result, marker)
    url = check_url(where.api, example=where.example, credentials=f"set {where.token_name}")
    with Transport(
        url, where.headers, deadline=Deadline(SECONDS), network=network, explain=where.explain
    ) as api:
        me = whoami(api, where)
        found = _find(api, where, marker, me)
        if found is None:
            api.request("POST", where.thread, what="the comment", body={"body": text},
                        envelope=False)  # fmt: skip
            console.info(f"posted the verdict as a {where.platform} comment")
        else:
            path = where.one.format(id=quote(str(found)))
            api.request(where.update, path, what="the comment", body={"body": text},
                        envelope=False)  # fmt: skip
            console.info(f"updated the verdict's {where.platform} comment")


def whoami(api: Transport, where: Target) -> str | None:
    """The identity the token acts as (see the module's doc); None when it cannot be told
    (GitLab's job token): then no comment is fi-gate's, and a new one is posted."""
    try:
        me = api.request("GET", "/user", what="the token's user", envelope=False)
    except GateError as exc:
        if where.platform == "GitHub" and exc.status == 403:  # the workflow's GITHUB_TOKEN
            return ACTIONS_BOT
        if where.platform == "GitLab" and exc.status in (401, 403):
            return None
        raise
    if not isinstance(me, dict):
        return None
    return where.author({"user": me} if where.platform == "GitHub" else {"author": me})


def _find(api: Transport, where: Target, marker: str, me: str | None) -> Any:
    """The id of fi-gate's own comment: the marker, written by the token's identity; looked
    for page by page. A comment someone else wrote with the marker is never fi-gate's."""
    if me is None:
        return None
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
            if (
                isinstance(item, dict)
                and f"<!-- {marker} -->" in str(item.get("body", ""))
                and where.author(item) == me
            ):
                return item.get("id")
        if len(items) < PER_PAGE:
            return None
    return None
