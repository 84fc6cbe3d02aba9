"""`--comment`: one sticky pull/merge-request comment, against fakes of GitHub and GitLab."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from gate import comment
from gate.settings import capture, session
from gate.verdict import Check, GateResult, Verdict
from tests.conftest import SEED, run, write_policy
from tests.fakeforge import ACTIONS_BOT, SOMEONE, TOKEN, Forge
from tests.figures import attack

PASSING = "version: 1\nevals:\n  is_helpful: {min_pass_rate: 80}\n"
FAILING = "version: 1\nevals:\n  is_helpful: {min_pass_rate: 81}\n"
THREAD = "/repos/acme/agent/issues/7/comments"
NOTES = "/projects/42/merge_requests/5/notes"


def github_env(forge: Forge, tmp_path: Path, token: str = TOKEN) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": forge.url,
        "GITHUB_REPOSITORY": "acme/agent",
        "GITHUB_EVENT_PATH": str(event),
        "FI_GATE_GITHUB_TOKEN": token,
    }


def gitlab_env(forge: Forge, **tokens: str) -> dict[str, str]:
    return {
        "GITLAB_CI": "true",
        "CI_API_V4_URL": forge.url,
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "5",
        **tokens,
    }


def gate(tmp_path: Path, policy: str, env: dict[str, str]) -> tuple[int, str]:
    path = write_policy(tmp_path, policy)
    result = run(["check", "--policy", path, "--from-file", str(SEED), "--comment"], env)
    return result.code, result.err


def test_github_comment_is_posted_then_updated_in_place(tmp_path: Path) -> None:
    with Forge() as forge:
        env = github_env(forge, tmp_path)
        code, err = gate(tmp_path, PASSING, env)
        assert code == 0, err
        assert "posted the verdict as a GitHub comment" in err
        (first,) = forge.bodies()
        assert first.startswith("<!-- fi-gate: ") and "PASS" in first
        code, err = gate(tmp_path, FAILING, env)
        assert code == 1  # the gate's own exit code, whatever the comment did
        assert "updated the verdict's GitHub comment" in err
        (second,) = forge.bodies()  # still one comment, now the failure
        assert "FAIL" in second
        assert ("PATCH", "/repos/acme/agent/issues/comments/1000") in forge.requests
        assert all(TOKEN not in x for x in err.splitlines() if not x.startswith("::add-mask::"))


def test_the_marker_is_found_past_the_first_page(tmp_path: Path) -> None:
    with Forge() as forge:
        env = github_env(forge, tmp_path)
        gate(tmp_path, PASSING, env)  # the fi-gate comment, then 150 others after it
        marked = forge.comments[THREAD].pop()
        forge.seed(THREAD, [f"comment {i}" for i in range(120)])
        forge.comments[THREAD].append(marked)
        forge.seed(THREAD, [f"later {i}" for i in range(30)])
        code, err = gate(tmp_path, FAILING, env)
        assert code == 1
        assert "updated" in err
        pages = [p for m, p in forge.requests if m == "GET"]
        assert any("page=2" in p for p in pages)
        assert len(forge.comments[THREAD]) == 151  # updated, not posted again


def test_a_read_only_token_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    with Forge(read_only=True) as forge:
        code, err = gate(tmp_path, PASSING, github_env(forge, tmp_path))
    assert code == 0
    (line,) = [x for x in err.splitlines() if "no pull-request comment" in x]
    assert line.startswith("::warning title=fi-gate%3A comment::")  # shown in the annotations
    assert "403" in line and "fork" in line and "the verdict stands" in line


def test_a_wrong_token_is_a_warning_that_never_shows_the_token(tmp_path: Path) -> None:
    wrong = "ghs_wrong-token-should-not-leak-42"
    with Forge() as forge:
        code, err = gate(tmp_path, FAILING, github_env(forge, tmp_path, token=wrong))
    assert code == 1
    assert "401" in err
    # only in GitHub's own mask command, which hides it from the log
    assert all(wrong not in x for x in err.splitlines() if not x.startswith("::add-mask::"))


def test_outside_a_pull_request_it_says_why_and_the_gate_goes_on(tmp_path: Path) -> None:
    with Forge() as forge:
        env = {**github_env(forge, tmp_path), "GITHUB_EVENT_PATH": ""}
        code, err = gate(tmp_path, PASSING, env)
        assert forge.requests == []
    assert code == 0
    assert "not for a pull request" in err


@pytest.mark.parametrize(
    ("tokens", "header"),
    [({"FI_GATE_GITLAB_TOKEN": TOKEN}, "PRIVATE-TOKEN"), ({"CI_JOB_TOKEN": TOKEN}, "JOB-TOKEN")],
)
def test_gitlab_note_is_posted_then_updated(
    tmp_path: Path, tokens: dict[str, str], header: str
) -> None:
    with Forge() as forge:
        env = gitlab_env(forge, **tokens)
        assert gate(tmp_path, PASSING, env)[0] == 0
        code, err = gate(tmp_path, FAILING, env)
        assert code == 1
        assert "updated the verdict's GitLab comment" in err
        (note,) = forge.comments[NOTES]
        assert "FAIL" in note["body"]
        assert ("PUT", f"{NOTES}/1000") in forge.requests
    where = comment.target(session(capture(env)).ci)
    assert isinstance(where, comment.Target)
    assert header in where.headers


@pytest.mark.slow  # large inputs: seconds of work, kept out of the inner loop
def test_the_comment_is_capped_at_the_api_limit() -> None:
    checks = tuple(
        Check(
            name=f"eval {i} " + "x" * 150,
            kind="eval",
            metric="pass_rate",
            level="error",
            status="fail",
            message="y" * 240,
        )
        for i in range(3000)
    )
    verdict = Verdict(
        verdict="fail",
        exit_code=1,
        run_test="R",
        execution=None,
        checks=checks,
        clusters=(),
        generated_at=datetime(2026, 11, 29, tzinfo=timezone.utc),
    )
    text = comment.body(GateResult((verdict,)), "fi-gate: R")
    assert len(text) <= comment.MAX_CHARS
    assert text.startswith("<!-- fi-gate: R -->")
    assert "was cut" in text


# --- only fi-gate's own comment, and never a change of verdict (#18, items 11 and 12) -------

FORGED = "<!-- fi-gate: Support Agent Regression -->\n## ✅ fi-gate: PASS (forged)"


def _marker_for(tmp_path: Path) -> str:
    """The marker fi-gate writes for the seed execution judged by PASSING."""
    with Forge() as forge:
        gate(tmp_path, PASSING, github_env(forge, tmp_path))
        (mine,) = forge.bodies()
    return mine.splitlines()[0]


@pytest.mark.parametrize("installation", [False, True], ids=["personal token", "GITHUB_TOKEN"])
def test_github_a_planted_marker_of_another_user_is_never_edited(
    tmp_path: Path, installation: bool
) -> None:
    marker = _marker_for(tmp_path)
    with Forge(installation=installation) as forge:
        forge.seed(THREAD, [f"{marker}\n## ✅ fi-gate: PASS (forged)"], author=SOMEONE)
        code, err = gate(tmp_path, FAILING, github_env(forge, tmp_path))
        assert code == 1, err
        planted, mine = forge.comments[THREAD]
        assert "forged" in planted["body"] and planted["user"]["login"] == "mallory"
        assert "FAIL" in mine["body"] and mine["body"].startswith(marker)
        assert not any(m == "PATCH" for m, _ in forge.requests)
        assert "posted the verdict as a GitHub comment" in err
        # the next run finds its own (by marker and author) and edits only that one
        code, err = gate(tmp_path, PASSING, github_env(forge, tmp_path))
        assert code == 0 and "updated the verdict's GitHub comment" in err
        assert ("PATCH", f"/repos/acme/agent/issues/comments/{mine['id']}") in forge.requests
        assert "forged" in forge.comments[THREAD][0]["body"]
        if installation:
            assert mine["user"]["login"] == ACTIONS_BOT["login"]
    token = "GITHUB_TOKEN" if installation else "personal token"
    outcome = "left alone; fi-gate posts and then edits its own"
    attack("a comment fi-gate did not write", f"another user's marker (GitHub, {token})", outcome)


def test_gitlab_a_planted_marker_of_another_user_is_never_edited(tmp_path: Path) -> None:
    marker = _marker_for(tmp_path)
    with Forge() as forge:
        forge.seed(NOTES, [f"{marker}\nforged"], author=SOMEONE)
        env = gitlab_env(forge, FI_GATE_GITLAB_TOKEN=TOKEN)
        code, err = gate(tmp_path, FAILING, env)
        assert code == 1, err
        assert "posted the verdict as a GitLab comment" in err and "api scope" not in err
        planted, mine = forge.comments[NOTES]
        assert planted["body"].endswith("forged") and "FAIL" in mine["body"]
        assert not any(m == "PUT" for m, _ in forge.requests)
    attack("a comment fi-gate did not write", "another user's marker (GitLab)",
           "left alone (no PUT); fi-gate posts its own")  # fmt: skip


@pytest.mark.parametrize(
    ("change", "secret"),
    [
        ({"GITHUB_API_URL": "https://api.github.com:99999"}, None),
        ({"GITHUB_API_URL": "https://[::1"}, None),
        ({"GITHUB_API_URL": "ftp://example.com"}, None),
        ({"FI_GATE_GITHUB_TOKEN": "ghp_line-one-secret\nghp_line-two-secret"}, "line-"),
        ({"FI_GATE_GITHUB_TOKEN": "ghp_secret-with-\u2019-quote"}, "secret-with"),
    ],
    ids=["port out of range", "unclosed bracket", "not http", "token with a newline",
         "token not Latin-1"],
)  # fmt: skip
def test_a_comment_failure_never_changes_the_exit_code_or_prints_a_token(
    tmp_path: Path, change: dict[str, str], secret: str | None
) -> None:
    with Forge() as forge:
        env = {**github_env(forge, tmp_path), **change}
        for policy, verdict in ((PASSING, 0), (FAILING, 1)):
            code, err = gate(tmp_path, policy, env)
            assert code == verdict, err
            assert "Traceback" not in err
            warnings = [x for x in err.splitlines() if "no pull-request comment" in x]
            assert len(warnings) == 1 and warnings[0].startswith("::warning "), err
            if secret:
                shown = [x for x in err.splitlines() if not x.startswith("::add-mask::")]
                assert not any(secret in x for x in shown), err
        assert forge.requests == [] or all(m == "GET" for m, _ in forge.requests)
    ((name, value),) = change.items()
    outcome = "one ::warning:: line; exit code unchanged; no token shown"
    attack("a comment path that breaks", f"{name}: {repr(value)[:40]}", outcome)


def test_a_redirected_comment_write_is_not_followed(tmp_path: Path) -> None:
    with Forge() as forge:
        forge.redirect_writes = True
        code, err = gate(tmp_path, FAILING, github_env(forge, tmp_path))
        assert code == 1
        assert [m for m, _ in forge.requests if m != "GET"] == ["POST"]
        assert "redirect (307" in err


def test_in_gitlab_a_comment_failure_is_a_log_line_and_the_verdict_stands(tmp_path: Path) -> None:
    """GitLab has no annotations: the warning is one log line; the exit code is the verdict's."""
    with Forge() as forge:
        env = {**gitlab_env(forge, FI_GATE_GITLAB_TOKEN=TOKEN), "CI_API_V4_URL": "https://[::1"}
        code, err = gate(tmp_path, FAILING, env)
    assert code == 1
    (line,) = [x for x in err.splitlines() if "no pull-request comment" in x]
    assert line.startswith("fi-gate: WARNING: ")  # a plain log line, not a workflow command
    assert "Traceback" not in err
