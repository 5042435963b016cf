"""The PR comment upsert against a local HTTP stand-in for GitHub's REST API
(tests/action/ghstandin.py, a Starlette app served by uvicorn on 127.0.0.1).

This is the one place a stand-in is allowed: GitHub cannot run here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ghstandin import TOKEN, GitHubState

from reconciler.ci import comment as gh
from reconciler.ci import comment_body

REPO = "acme/fleet"


def _upsert(url: str, number: int, path: str, content: str, token: str = TOKEN) -> gh.CommentResult:
    marker = comment_body.marker_for(path)
    with gh.client(url, token) as http:
        return gh.upsert_comment(
            http, REPO, number, marker, comment_body.fit_comment(marker, content, "footer")
        )


def test_create_then_update_in_place(github: tuple[GitHubState, str]) -> None:
    state, url = github
    state.add(7, "LGTM")  # someone else's comment stays untouched
    first = _upsert(url, 7, "examples", "## Plan\n3 devices")
    assert first.action == "created"
    second = _upsert(url, 7, "examples", "## Plan\n5 devices")
    assert second.action == "updated" and second.id == first.id
    bodies = [c["body"] for c in state.comments[7]]
    assert len(bodies) == 2 and bodies[0] == "LGTM"
    assert bodies[1].startswith("<!-- reconcile:plan path=examples -->\n") and "5 devices" in bodies[1]
    # Same content again: nothing is written (no notification noise).
    writes = sum(1 for m, _ in state.requests if m != "GET")
    assert _upsert(url, 7, "examples", "## Plan\n5 devices").action == "unchanged"
    assert sum(1 for m, _ in state.requests if m != "GET") == writes


def test_one_comment_per_path(github: tuple[GitHubState, str]) -> None:
    state, url = github
    _upsert(url, 3, "fleet/east", "east plan")
    _upsert(url, 3, "fleet/west", "west plan")
    _upsert(url, 3, "fleet/east", "east plan v2")
    bodies = sorted(c["body"] for c in state.comments[3])
    assert len(bodies) == 2
    assert "east plan v2" in bodies[0] and "west plan" in bodies[1]
    # A path that is a prefix of another path has its own marker.
    assert comment_body.marker_for("fleet") != comment_body.marker_for("fleet/east")
    # Spellings of the same path share one comment.
    assert (
        comment_body.marker_for("./fleet/east/")
        == comment_body.marker_for("fleet/east")
        == comment_body.marker_for("fleet//east")
    )
    assert (
        comment_body.marker_for("")
        == comment_body.marker_for(".")
        == comment_body.marker_for("./")
        == "<!-- reconcile:plan path=. -->"
    )


def test_pages_through_more_than_100_comments(github: tuple[GitHubState, str]) -> None:
    state, url = github
    for i in range(230):
        state.add(9, f"chatter {i}")
    old = state.add(9, comment_body.marker_for("examples") + "\nold plan")
    for i in range(20):
        state.add(9, f"more chatter {i}")
    result = _upsert(url, 9, "examples", "new plan")
    assert result.action == "updated" and result.id == old["id"]
    assert len(state.comments[9]) == 251
    gets = [p for m, p in state.requests if m == "GET"]
    assert len(gets) == 3 and "per_page=100" in gets[0] and "page=3" in gets[2]


def test_size_limit(github: tuple[GitHubState, str]) -> None:
    state, url = github
    huge = "## Plan\n\n<details><summary>devices</summary>\n\n```diff\n" + "".join(
        f"- amr-{i:05d} motion-control.max_speed 1.0 -> 1.2 🚀\n" for i in range(5000)
    )
    result = _upsert(url, 11, "examples", huge)
    assert result.action == "created"  # the stand-in answers 422 over 65,536 characters
    body = state.comments[11][0]["body"]
    assert comment_body.utf16_len(body) <= comment_body.COMMENT_LIMIT
    assert body.startswith(comment_body.marker_for("examples"))
    assert "Truncated" in body and body.rstrip().endswith("footer")
    # What was left out, and where the rest is.
    kept_lines = body.split("> **Truncated**")[0].count("- amr-")
    assert f"the last {5000 - kept_lines} of 5005 lines are not shown" in body
    assert "All of it is in the job summary and the workflow artifact." in body
    assert body.count("```") % 2 == 0 and body.count("<details>") == body.count("</details>")
    # Lines are never cut in half.
    kept = [ln for ln in body.splitlines() if ln.startswith("- amr-")]
    assert kept and all(ln.endswith("🚀") for ln in kept)


def test_body_over_limit_is_refused_before_sending(github: tuple[GitHubState, str]) -> None:
    state, url = github
    marker = comment_body.marker_for("x")
    with gh.client(url, TOKEN) as http, pytest.raises(ValueError):
        gh.upsert_comment(http, REPO, 1, marker, marker + "a" * comment_body.COMMENT_LIMIT)
    assert state.requests == []


def test_marker_cannot_close_the_html_comment() -> None:
    marker = comment_body.marker_for("weird-->path")
    assert marker.count("-->") == 1 and marker.endswith(" -->")


def _cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RECONCILE_"))}
    return subprocess.run(
        [sys.executable, "-m", "reconciler.ci", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def _pr_env(tmp_path: Path, url: str, token: str) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 5, "head": {"sha": "a" * 40}}}))
    return {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": url,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_TOKEN": token,
    }


def test_token_never_printed_even_when_github_echoes_it(
    github: tuple[GitHubState, str], tmp_path: Path
) -> None:
    state, url = github
    body = tmp_path / "plan.md"
    body.write_text("## Plan\n")
    ok = _cli(
        _pr_env(tmp_path, url, TOKEN), "comment", "--path", "examples", "--body-file", str(body), cwd=tmp_path
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PR comment created" in ok.stdout
    # The only place the token may appear is the mask command that tells the runner to hide it.
    assert TOKEN not in ok.stdout.replace(f"::add-mask::{TOKEN}", "") + ok.stderr

    state.fail_with_echo = True  # a 500 whose body repeats the request headers, token included
    bad = _cli(
        _pr_env(tmp_path, url, TOKEN), "comment", "--path", "examples", "--body-file", str(body), cwd=tmp_path
    )
    assert bad.returncode == 1
    assert "answered 500" in bad.stdout
    assert TOKEN not in bad.stdout.replace(f"::add-mask::{TOKEN}", "") + bad.stderr


def test_wrong_token_is_a_clear_error(github: tuple[GitHubState, str]) -> None:
    _, url = github
    with pytest.raises(gh.CommentError) as e:
        _upsert(url, 1, "examples", "x", token="wrong-token-123")
    assert "401" in e.value.message and "Bad credentials" in e.value.message
    assert e.value.hint and "pull-requests: write" in e.value.hint
    assert "wrong-token-123" not in e.value.format_text()
