"""A plan that is printed and then fails (a device blocked by a drifted deployment to review:
`plan` exits 1) still reaches the pull request: the comment carries the error and the plan."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from composite_runner import run_action
from ghstandin import TOKEN, GitHubState

from reconciler.ci.comment_body import marker_for
from tests.harness import MOTION_CONFIG, make_harness
from tests.plan import edits

ROOT = Path(__file__).resolve().parents[2]


def test_a_failed_plan_still_comments_the_plan(
    tmp_path: Path, workspace: Path, github: tuple[GitHubState, str]
) -> None:
    state, url = github
    ws = workspace
    reconcile = str(Path(sys.executable).parent / "reconcile")
    subprocess.run([reconcile, "plan", "examples"], cwd=ws, check=True, capture_output=True)  # seeds the db
    emu = make_harness(str(ws / "examples" / ".reconcile" / "emulator.db"))

    async def drift_lab_arm() -> None:  # staged by someone, then the device patched: drifted
        sdk = emu.sdk()
        await edits.stage(sdk, "lab-arm-01")
        await edits.patch(sdk, "lab-arm-01", MOTION_CONFIG)

    asyncio.run(drift_lab_arm())
    emu.close()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 7, "pull_request": {"number": 7, "head": {"sha": "c" * 40}}}))
    env = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": url,
        "GITHUB_SERVER_URL": "https://github.test",
        "GITHUB_REPOSITORY": "acme/fleet",
        "GITHUB_SHA": "b" * 40,
        "GITHUB_RUN_ID": "4242",
        "GITHUB_JOB": "reconcile",
        "GITHUB_TOKEN_FOR_CONTEXT": TOKEN,
    }
    run = run_action({"command": "plan", "path": "examples"}, workspace=ws, env=env, tmp=tmp_path)
    assert run.failed and run.outputs["exitcode"] == "1", run.log
    [comment] = [c for c in state.comments[7] if c["body"].startswith(marker_for("examples"))]
    body = comment["body"]
    assert "reconcile plan `examples` failed (exit 1)" in body and "drift to review" in body
    assert "### reconcile plan" in body and "lab-arm-01" in body and "is drifted" in body
