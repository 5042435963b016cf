"""The action's steps, run for real from action.yml (tests/action/composite_runner.py) in a
fake GITHUB_* environment: event payload file, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files,
RUNNER_TEMP, and GitHub's REST API as a local stand-in (ghstandin.py; the one stand-in the
project allows, because GitHub cannot run here).

The workspace is a real git repository holding a copy of `examples/` (the emulator-target
project: `reconcile.yaml` says `target: {emulator: ...}`, so plan/apply reach the embedded
emulator through the SDK, state in a SQLite file inside the copy).

The lines marked `needs_plan_apply` depend on `reconcile plan` / `reconcile apply` / `reconcile
drift` and the examples' seed. They skipped while those were being built; they have landed, so
a regression there now fails these tests instead of skipping them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from composite_runner import ActionRun, run_action
from ghstandin import TOKEN, GitHubState

from reconciler.ci.comment_body import marker_for
from reconciler.model.plan import Plan

ROOT = Path(__file__).resolve().parents[2]
REPO = "acme/fleet"
API_KEY = "miru-test-key-0123456789"


def _job_env(tmp: Path, api_url: str, event_name: str, event: dict[str, object]) -> dict[str, str]:
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / f"event-{event_name}.json"
    path.write_text(json.dumps(event))
    return {
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_API_URL": api_url,
        "GITHUB_SERVER_URL": "https://github.test",
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_SHA": "b" * 40,
        "GITHUB_RUN_ID": "4242",
        "GITHUB_JOB": "reconcile",
        "GITHUB_TOKEN_FOR_CONTEXT": TOKEN,
    }


def _pr(tmp: Path, api_url: str, number: int = 7) -> dict[str, str]:
    return _job_env(
        tmp,
        api_url,
        "pull_request",
        {"number": number, "pull_request": {"number": number, "head": {"sha": "c" * 40}}},
    )


def _push(tmp: Path, api_url: str) -> dict[str, str]:
    return _job_env(tmp, api_url, "push", {"ref": "refs/heads/main", "after": "b" * 40})


def _assert_no_secrets(run: ActionRun, state: GitHubState | None = None) -> None:
    """Neither the Miru key nor the GitHub token in any place the action writes: the log
    (but for the masks that tell the runner to hide them), the summary, the outputs, the
    artifact's reports and the PR comments. plan.json is exempt: apply executes it as is."""
    places = {"summary": run.summary, "outputs": json.dumps(run.outputs)}
    for artifact in run.artifacts:
        for name in artifact["files"]:
            if name != "plan.json":
                places[f"artifact {name}"] = (Path(artifact["path"]) / name).read_text()
    for number, comments in (state.comments if state else {}).items():
        places[f"comments on #{number}"] = json.dumps(comments)
    for secret in (TOKEN, API_KEY):
        places["log"] = run.log.replace(f"::add-mask::{secret}", "")
        for where, text in places.items():
            assert secret not in text, f"secret in the {where}"


def _require_plan_apply(run: ActionRun) -> None:
    """needs_plan_apply: the commands and the examples' seed are there (they were being built
    in parallel with this action; this used to skip)."""
    assert "not implemented yet" not in run.log, run.log
    assert "seed.yaml' does not exist" not in run.log, run.log


def _break(ws: Path, n: int) -> list[str]:
    files = []
    for i in range(n):
        rel = f"examples/deploymentsets/broken-{i:02d}.yaml"
        (ws / rel).write_text(f"kind: DeploymentSet\nmetadata:\n  name: b{i:02d}\n  labels: [unclosed\n")
        files.append(rel)
    return files


def test_validate_with_errors(workspace: Path, tmp_path: Path, github: tuple[GitHubState, str]) -> None:
    state, url = github
    broken = _break(workspace, 12)  # more than the 10 annotations GitHub shows per step
    # A pasted key in a manifest: the problem is reported, the key is not.
    lab = workspace / "examples/deploymentsets/lab-canary.yaml"
    lab.write_text(lab.read_text() + f"  activation: {API_KEY}\n")
    run = run_action(
        {"command": "validate", "path": "examples", "api-key": API_KEY},
        workspace=workspace,
        env=_pr(tmp_path, url),
        tmp=tmp_path,
    )

    assert run.failed, "the action's last step must fail the job on validation errors"
    assert run.outputs == {"has-changes": "false", "exitcode": "1", "plan-json": ""}
    [artifact] = run.artifacts
    assert artifact["name"] == "reconcile-validate-examples" and "validate.json" in artifact["files"]
    found = json.loads((Path(artifact["path"]) / "validate.json").read_text())
    problems = {tuple(sorted(p.items(), key=str)) for p in found}  # the action reports each once
    assert len(problems) >= 12

    errors = run.annotations("error")
    step_errors = [a for a in errors if "title=reconcile validate" in a]
    assert len(step_errors) == len(problems)
    for rel in broken:
        mine = [a for a in step_errors if f"file={rel},line=" in a and ",col=" in a]
        assert mine and "YAML syntax error" in mine[0], rel
    # Every problem is listed in the summary, not just the first ten.
    rows = [ln for ln in run.summary.splitlines() if ln.startswith("| ❌")]
    assert len(rows) == len(problems)
    for rel in broken:
        assert f"https://github.test/{REPO}/blob/{'c' * 40}/{rel}#L" in run.summary
    assert f"{len(problems)} errors" in run.summary
    assert any("reconcile validate failed (exit 1)" in a for a in errors)  # the concluding step
    assert state.requests == []  # validate does not comment
    [pasted] = [a for a in step_errors if "file=examples/deploymentsets/lab-canary.yaml," in a]
    assert "spec.activation: expected one of deploy, stage; got '***'" in pasted
    _assert_no_secrets(run)


def test_plan_on_pr_with_invalid_manifests_comments_problems(
    workspace: Path, tmp_path: Path, github: tuple[GitHubState, str]
) -> None:
    state, url = github
    _break(workspace, 2)
    run = run_action(
        {"command": "plan", "path": "examples", "api-key": API_KEY},
        workspace=workspace,
        env=_pr(tmp_path, url),
        tmp=tmp_path,
    )
    assert run.failed and run.outputs["exitcode"] == "1" and run.outputs["has-changes"] == "false"
    assert "$ reconcile plan" not in run.log  # nothing is planned from invalid manifests
    [comment] = state.comments[7]
    assert comment["body"].startswith(marker_for("examples"))
    assert "broken-00.yaml" in comment["body"] and "broken-01.yaml" in comment["body"]
    _assert_no_secrets(run, state)


def test_plan_validates_content_online_first(
    workspace: Path, tmp_path: Path, github: tuple[GitHubState, str]
) -> None:
    # Valid YAML, but max_accel is over the release schema's maximum: only the platform's
    # schema knows, so this needs `validate --online` (needs_plan_apply: the emulator).
    state, url = github
    config = workspace / "examples/configs/motion-control.json"
    config.write_text(config.read_text().replace('"max_accel": 0.5', '"max_accel": 7.5'))
    run = run_action(
        {"command": "plan", "path": "examples", "api-key": API_KEY},
        workspace=workspace,
        env=_pr(tmp_path, url),
        tmp=tmp_path,
    )
    _require_plan_apply(run)
    assert run.failed and run.outputs["exitcode"] == "1"
    [annotation] = [a for a in run.annotations("error") if "title=reconcile validate" in a]
    assert "file=examples/configs/motion-control.json,line=3,col=" in annotation
    assert "greater than the maximum" in annotation
    assert "$ reconcile plan" not in run.log
    [comment] = state.comments[7]
    assert "motion-control.json:3:" in comment["body"] and "$.max_accel" in comment["body"]
    _assert_no_secrets(run, state)


def test_bad_input_is_a_clear_error(workspace: Path, tmp_path: Path, github: tuple[GitHubState, str]) -> None:
    _, url = github
    run = run_action(
        {"command": "deploy", "path": "examples"}, workspace=workspace, env=_push(tmp_path, url), tmp=tmp_path
    )
    assert run.failed
    assert any("input `command` is 'deploy'" in a for a in run.annotations("error"))
    assert "Traceback" not in run.log


@pytest.mark.slow
def test_plan_on_pull_request(workspace: Path, tmp_path: Path, github: tuple[GitHubState, str]) -> None:
    state, url = github
    state.add(7, "Looks good to me")
    run = run_action(
        {"command": "plan", "path": "examples", "api-key": API_KEY},
        workspace=workspace,
        env=_pr(tmp_path, url),
        tmp=tmp_path,
    )
    _require_plan_apply(run)  # needs_plan_apply: everything below
    assert not run.failed, run.log
    assert run.outputs["exitcode"] == "2" and run.outputs["has-changes"] == "true"
    plan = Plan.from_dict(json.loads(Path(run.outputs["plan-json"]).read_text()))
    assert plan.has_changes
    [artifact] = run.artifacts
    assert {"plan.json", "plan.md", "validate.json"} <= set(artifact["files"])
    markdown = (Path(artifact["path"]) / "plan.md").read_text()
    assert markdown.strip() and markdown.strip() in run.summary
    assert run.annotations("error") == []
    ours = [c for c in state.comments[7] if c["body"].startswith(marker_for("examples"))]
    assert len(ours) == 1 and markdown.strip() in ours[0]["body"]
    assert "commit ccccccc" in ours[0]["body"]  # the PR head, not GitHub's merge commit

    # The next push to the PR updates the same comment instead of adding one.
    (workspace / "examples/configs/motion-control.json").write_text(
        (workspace / "examples/configs/motion-control.json").read_text().replace("0.5", "0.6")
    )
    subprocess.run(["git", "-C", str(workspace), "checkout", "-q", "-b", "feature"], check=True)
    again = run_action(
        {"command": "plan", "path": "examples", "api-key": API_KEY, "args": "--base 'main'"},
        workspace=workspace,
        env=_pr(tmp_path / "second", url),
        tmp=tmp_path / "second",
    )
    assert again.outputs["exitcode"] == "2"
    # `args` reach the command, shell-split, after the action's own options.
    assert re.search(r"^\$ reconcile plan examples --format markdown .* --base main$", again.log, re.M)
    ours = [c for c in state.comments[7] if c["body"].startswith(marker_for("examples"))]
    assert len(ours) == 1 and len(state.comments[7]) == 2
    assert any(m == "PATCH" for m, _ in state.requests)
    _assert_no_secrets(run, state)
    _assert_no_secrets(again, state)


@pytest.mark.slow
def test_apply_on_push(workspace: Path, tmp_path: Path, github: tuple[GitHubState, str]) -> None:
    state, url = github
    run = run_action(
        {"command": "apply", "path": "examples", "api-key": API_KEY},
        workspace=workspace,
        env=_push(tmp_path, url),
        tmp=tmp_path,
    )
    _require_plan_apply(run)  # needs_plan_apply: everything below
    assert not run.failed, run.log
    assert run.outputs["exitcode"] == "0" and run.outputs["has-changes"] == "true"
    [artifact] = run.artifacts
    assert {"plan.json", "apply.json"} <= set(artifact["files"])
    json.loads((Path(artifact["path"]) / "apply.json").read_text())
    assert "reconcile apply `examples`: succeeded" in run.summary
    # One row per rollout, and the offline / never-enrolled devices called out.
    assert "| lab-canary | canary | v1.4.1 → v1.4.2 | completed" in run.summary
    assert "| warehouse-amrs | rolling |" in run.summary
    assert "**amr-spare-01**" in run.summary and "**amr-east-07**" in run.summary
    assert state.requests == []  # no PR, no comment
    _assert_no_secrets(run)

    # The apply really converged the (emulated) fleet: planning again finds nothing to do.
    after = run_action(
        {"command": "plan", "path": "examples"},
        workspace=workspace,
        env=_push(tmp_path / "after", url),
        tmp=tmp_path / "after",
    )
    assert after.outputs["exitcode"] == "0" and after.outputs["has-changes"] == "false", after.log


def test_run_module_has_no_traceback_on_bad_args(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler.ci", "run"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "RECONCILE_COMMENT": "maybe"},
    )
    assert result.returncode == 1
    assert "input `comment` is 'maybe'" in result.stdout and "Traceback" not in result.stderr


@pytest.mark.slow
def test_drift_is_an_output_not_a_failure(
    workspace: Path, tmp_path: Path, github: tuple[GitHubState, str]
) -> None:
    # The fresh example fleet runs v1.4.1 / max_speed 1.0 while the manifests say otherwise.
    state, url = github
    run = run_action(
        {"command": "drift", "path": "examples", "api-key": API_KEY},
        workspace=workspace,
        env=_job_env(tmp_path, url, "schedule", {"schedule": "17 3 * * *"}),
        tmp=tmp_path,
    )
    _require_plan_apply(run)
    assert not run.failed, run.log  # the workflow decides (open an issue, fail) from the outputs
    assert run.outputs == {"has-changes": "true", "exitcode": "2", "plan-json": ""}
    assert "reconcile drift `examples`: drift found" in run.summary and "lab-arm-01" in run.summary
    [artifact] = run.artifacts
    assert "drift.txt" in artifact["files"]
    assert state.requests == []
    _assert_no_secrets(run)


def _big_fleet(ws: Path, n: int) -> None:
    """n more AMRs, each running its own max_speed: one change group per device, so the
    markdown plan is far over one comment."""
    import yaml

    seed_file = ws / "examples" / "seed.yaml"
    seed = yaml.safe_load(seed_file.read_text())
    template = next(d for d in seed["devices"] if d["name"] == "amr-west-01")
    for i in range(n):
        configs = json.loads(json.dumps(template["configs"]))
        configs["motion-control"]["max_speed"] = round(0.5 + i / 1000, 3)
        seed["devices"].append({**template, "name": f"amr-bulk-{i:04d}", "configs": configs})
    seed_file.write_text(yaml.safe_dump(seed, sort_keys=False))


@pytest.mark.slow
def test_cut_plan_comment_says_what_is_left_out_and_where(
    workspace: Path, tmp_path: Path, github: tuple[GitHubState, str]
) -> None:
    state, url = github
    _big_fleet(workspace, 400)
    # A secret in the content (a user's mistake) must not reach the public comment or summary.
    notes = workspace / "examples/configs/operator-notes.txt"
    notes.write_text(f"Handle with care.\nold key: {API_KEY}\n")
    run = run_action(
        {"command": "plan", "path": "examples", "api-key": API_KEY},
        workspace=workspace,
        env=_pr(tmp_path, url),
        tmp=tmp_path,
    )
    _require_plan_apply(run)
    assert not run.failed, run.log
    assert run.outputs["has-changes"] == "true"
    [comment] = state.comments[7]
    body = comment["body"]
    assert len(body) <= 65_536
    # The plan renderer cut it and says what is not shown and where the full plan is: the
    # artifact this very run uploads, linked to the run, not a path on the runner.
    [artifact] = run.artifacts
    assert artifact["name"] == "reconcile-plan-examples" and "plan.json" in artifact["files"]
    assert "**Cut to fit one comment:**" in body
    assert re.search(
        r"\*\*Cut to fit one comment:\*\* \d+ change groups \(\d+ devices\) and 1 exception "
        r"not shown\.",
        body,
    )
    assert "Truncated" not in body  # the renderer's own cut leaves room for the marker and footer
    assert (
        "The full plan is in `plan.json` in [the workflow artifact `reconcile-plan-examples`]"
        f"(https://github.test/{REPO}/actions/runs/4242#artifacts)."
    ) in body
    assert str(tmp_path) not in body  # no runner path
    assert body.count("<details>") == body.count("</details>")
    _assert_no_secrets(run, state)
    assert API_KEY not in body and "old key: ***" in body


def test_cut_problem_comment_points_at_validate_json(
    workspace: Path, tmp_path: Path, github: tuple[GitHubState, str]
) -> None:
    # Hundreds of problems: the summary lists them all, the comment as many as fit, then
    # says how much is missing and that the whole list is validate.json in the artifact.
    state, url = github
    broken = _break(workspace, 400)
    run = run_action(
        {"command": "plan", "path": "examples", "api-key": API_KEY},
        workspace=workspace,
        env=_pr(tmp_path, url),
        tmp=tmp_path,
    )
    assert run.failed and run.outputs["exitcode"] == "1"
    assert sum(1 for ln in run.summary.splitlines() if ln.startswith("| ❌")) == len(broken)
    [comment] = state.comments[7]
    body = comment["body"]
    assert len(body) <= 65_536
    shown = sum(1 for ln in body.splitlines() if ln.startswith("| ❌"))
    assert 0 < shown < len(broken)
    assert re.search(
        rf"the last {len(broken) - shown} of \d+ lines are not shown\. All of it is in the job "
        r"summary and `validate\.json` in \[the workflow artifact `reconcile-plan-examples`\]"
        rf"\(https://github\.test/{REPO}/actions/runs/4242#artifacts\)\.",
        body,
    ), body[-600:]
    [artifact] = run.artifacts
    assert len(json.loads((Path(artifact["path"]) / "validate.json").read_text())) == len(broken)


def test_a_shard_applies_its_set_only(
    workspace: Path, tmp_path: Path, github: tuple[GitHubState, str]
) -> None:
    """The sharded workflow's apply job: `args: --set NAME` reaches the plan apply executes,
    so the shard plans (and reads) its set only and applies exactly that."""
    _, url = github
    run = run_action(
        {"command": "apply", "path": "examples", "api-key": API_KEY, "args": "--set lab-canary"},
        workspace=workspace,
        env=_push(tmp_path, url),
        tmp=tmp_path,
    )
    assert not run.failed, run.log
    [artifact] = run.artifacts
    plan = json.loads((Path(artifact["path"]) / "plan.json").read_text())
    assert list(plan["rollouts"]) == ["lab-canary"]
    assert {c["deployment_set"] for c in plan["changes"]} == {"lab-canary"}
    assert "| lab-canary | canary |" in run.summary and "warehouse-amrs" not in run.summary
