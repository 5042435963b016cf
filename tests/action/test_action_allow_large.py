"""The action's apply takes `--allow-large N` from the label `reconcile:allow-large=N` on the pull
request the applied commit came from. The action's steps run for real (composite_runner.py);
GitHub's REST API is the local stand-in (ghstandin.py: the commit's pull requests and their
labels), the platform is the examples' embedded emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from composite_runner import run_action
from ghstandin import GitHubState
from test_action_steps import API_KEY, _pr, _push

from reconciler.ci.labels import allow_large
from reconciler.errors import ReconcileError

SHA = "b" * 40  # GITHUB_SHA of the push the tests' job environment describes


def _limit(workspace: Path, n: int) -> None:
    config = workspace / "examples" / "reconcile.yaml"
    config.write_text(config.read_text() + f"limits:\n  max_devices_per_apply: {n}\n")


def _merged(state: GitHubState, *labels: str) -> None:
    state.pulls[SHA] = [
        {
            "number": 9,
            "merged_at": "2026-01-01T00:00:00Z",
            "merge_commit_sha": SHA,
            "labels": [{"name": n} for n in labels],
        },
        {
            "number": 3,
            "merged_at": None,
            "merge_commit_sha": "c" * 40,
            "labels": [{"name": "reconcile:allow-large=999"}],
        },
    ]


def _apply(workspace: Path, tmp: Path, url: str) -> object:
    return run_action(
        {"command": "apply", "path": "examples", "api-key": API_KEY},
        workspace=workspace,
        env=_push(tmp, url),
        tmp=tmp,
    )


def test_the_merged_pull_requests_label_lets_a_large_apply_through(
    workspace: Path,
    tmp_path: Path,
    github: tuple[GitHubState, str],
) -> None:
    state, url = github
    _limit(workspace, 2)
    refused = _apply(workspace, tmp_path / "no-label", url)
    assert refused.outputs["exitcode"] == "1", refused.log  # type: ignore[attr-defined]
    assert "more than limits.max_devices_per_apply (2)" in refused.log  # type: ignore[attr-defined]
    assert ("GET", f"/repos/acme/fleet/commits/{SHA}/pulls?per_page=100") in state.requests
    _merged(state, "documentation", "reconcile:allow-large=40")
    run = _apply(workspace, tmp_path / "labelled", url)
    assert run.outputs["exitcode"] == "0", run.log  # type: ignore[attr-defined]
    assert "pull request #9: label reconcile:allow-large=40: applying with --allow-large 40" in run.log  # type: ignore[attr-defined]
    assert "--allow-large 40" in run.log and "reconcile apply `examples`: succeeded" in run.summary  # type: ignore[attr-defined]


def test_within_the_limit_github_is_not_asked(
    workspace: Path, tmp_path: Path, github: tuple[GitHubState, str]
) -> None:
    state, url = github
    _limit(workspace, 100)
    _merged(state, "reconcile:allow-large=40")
    run = _apply(workspace, tmp_path, url)
    assert run.outputs["exitcode"] == "0", run.log  # type: ignore[attr-defined]
    assert "--allow-large" not in run.log and state.requests == []  # type: ignore[attr-defined]


def test_a_malformed_label_stops_the_apply_before_it_writes(
    workspace: Path,
    tmp_path: Path,
    github: tuple[GitHubState, str],
) -> None:
    state, url = github
    _limit(workspace, 2)
    _merged(state, "reconcile:allow-large=lots::error::x")
    run = _apply(workspace, tmp_path, url)
    assert run.outputs["exitcode"] == "1"  # type: ignore[attr-defined]
    assert "is not reconcile:allow-large=N" in run.summary and "$ reconcile apply" not in run.log  # type: ignore[attr-defined]


def test_a_plan_never_reads_labels(workspace: Path, tmp_path: Path, github: tuple[GitHubState, str]) -> None:
    state, url = github
    _limit(workspace, 2)
    run = run_action(
        {"command": "plan", "path": "examples", "api-key": API_KEY},
        workspace=workspace,
        env=_pr(tmp_path, url),
        tmp=tmp_path,
    )
    assert run.outputs["exitcode"] == "2", run.log
    assert not any("/pulls" in path for _, path in state.requests)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ([], None),
        (["bug", "reconcile:allow-large=120"], 120),
        (["reconcile:allow-large=120", "reconcile:allow-large=120"], 120),
        (["reconcile:allow-large=1000000"], 1_000_000),
    ],
)
def test_label_values(labels: list[str], expected: int | None) -> None:
    assert allow_large(labels) == expected


@pytest.mark.parametrize(
    "labels",
    [
        ["reconcile:allow-large=0"],
        ["reconcile:allow-large=-5"],
        ["reconcile:allow-large=1000001"],
        ["reconcile:allow-large"],
        ["Reconcile:Allow-Large=5"],
        ["reconcile:allow-large=3", "reconcile:allow-large=4"],
    ],
)
def test_label_values_refused(labels: list[str]) -> None:
    with pytest.raises(ReconcileError):
        allow_large(labels)
