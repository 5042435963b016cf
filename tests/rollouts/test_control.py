"""`reconcile apply --pause SET` and `--abort SET --keep`: a person's decision kept on the platform
as a control record (a git commit whose sha is derived from the rollout). Each step runs in a new
working directory against one shared emulator (manual clock); the pause of a run in flight comes
from another process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.apply.progress import Silent
from reconciler.cli import main
from reconciler.model import control as C
from reconciler.model.enums import ControlKind, SetRolloutState
from reconciler.plan.rollout_state import state_of
from tests.apply.helpers import deployments, make, run, write_project
from tests.apply.test_cli import validate
from tests.harness import Harness, example_fleet

RECONCILE = str(Path(sys.executable).parent / "reconcile")
HEALTH = {"deadline": "30s", "min_healthy_time": "2s"}
ROLLING = {"strategy": "rolling", "max_parallel": 1, "health_check": HEALTH}


class Steps:
    """A new working directory for every step, all on the emulator's one database."""

    def __init__(self, emu: Harness, tmp: Path, **project: Any) -> None:
        self.emu, self.tmp, self.project, self.n = emu, tmp, project, 0

    def dir(self) -> Path:
        self.n += 1
        return write_project(self.tmp / f"step-{self.n}", self.emu, **self.project)

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(main, [args[0], str(self.dir()), *args[1:]], catch_exceptions=False)

    def process(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`reconcile ARGS` as another process (its own interpreter, the same database)."""
        env = {**os.environ, "NO_COLOR": "1", "GITHUB_ACTOR": "alice<script>"}
        return subprocess.run(
            [RECONCILE, args[0], str(self.dir()), *args[1:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )


async def _commits(emu: Harness) -> list[Any]:
    return list((await emu.sdk().git_commits.list(limit=100)).data)


class PauseFromElsewhere(Silent):
    """When the first device succeeds, a person pauses (or aborts) the set from another process."""

    def __init__(self, steps: Steps, *request: str) -> None:
        self.steps, self.request = steps, request or ("--pause", "all")
        self.paused: subprocess.CompletedProcess[str] | None = None

    def device(self, deployment_set: str, device: str, state: str, reason: str = "") -> None:
        if state == "succeeded" and self.paused is None:
            self.paused = self.steps.process("apply", *self.request, "--auto-approve")


def test_a_pause_stops_a_run_in_flight_and_later_applies_until_promote_names_the_set(
    emu: Harness, tmp_path: Path
) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    steps = Steps(emu, tmp_path, groups=("warehouse-west",), rollout=ROLLING)
    first = steps.dir()
    hook = PauseFromElsewhere(steps)
    result = asyncio.run(run(first, asyncio.run(make(first)), reporter=hook))
    assert hook.paused is not None
    assert hook.paused.returncode == 0, hook.paused.stderr
    assert "paused by alice-script- (run " in hook.paused.stdout
    assert "--promote --set all" in hook.paused.stdout
    # The run in flight stopped before its next device, and says so: exit 0, paused.
    record = result.records[0]
    assert record.status.state == "paused" and "paused by alice-script-" in record.status.message
    assert "`reconcile apply --promote --set all` continues it" in record.status.message
    assert result.exit_code == 0
    states = [(e.device, e.state, e.reason_code) for e in result.ledger]
    assert states[0] == ("amr-west-01", "succeeded", None)
    assert all(s == "not_attempted" and code == "paused" for _, s, code in states[1:]), states
    ours = [d for d in asyncio.run(deployments(emu)) if d.description.startswith("reconcile set=")]
    assert len(ours) == 1
    # The record on the platform: a git commit, found by the sha its rollout gives.
    commits = asyncio.run(_commits(emu))
    [pause] = [c for c in commits if c.message.startswith("reconcile control=pause")]
    assert pause.sha == C.sha(record.id, 0) and f"rollout={record.id}" in pause.message
    # A later plan, status and drift (fresh directories) say who paused it, and when.
    plan = asyncio.run(make(steps.dir()))
    assert state_of(plan.rollouts["all"]) is SetRolloutState.PAUSED
    shown = steps.cli("plan")
    assert "paused: paused by alice-script- (run " in shown.stdout and " at 20" in shown.stdout
    status = steps.cli("status", "--format", "json")
    doc = json.loads(status.stdout)
    validate(doc, "status-output.schema.json")
    [s] = doc["sets"]
    assert (
        s["state"] == "paused" and s["control"]["kind"] == "pause" and s["control"]["by"] == "alice-script-"
    )
    drift = steps.cli("drift")
    assert "rollout paused: all" in drift.stdout
    # A plain apply leaves the set alone (exit 0, nothing written); --promote must name it.
    again = steps.cli("apply", "--auto-approve", "--format", "json")
    assert again.exit_code == 0, again.output
    out = json.loads(again.stdout)
    validate(out, "apply-output.schema.json")
    assert {e["reason_code"] for e in out["ledger"]} == {"paused"}
    assert len([d for d in asyncio.run(deployments(emu)) if d.description.startswith("reconcile set=")]) == 1
    unnamed = steps.cli("apply", "--promote")
    assert unnamed.exit_code == 1 and "--promote --set all" in unnamed.output
    resumed = steps.cli("apply", "--promote", "--set", "all")
    assert resumed.exit_code == 0, resumed.output
    assert "resumed" in resumed.stderr
    assert steps.cli("plan", "--detailed-exitcode").exit_code == 0
    kinds = [C.parse(c.message, c.sha) for c in asyncio.run(_commits(emu))]
    assert sorted(k.kind for k in kinds if k is not None) == [ControlKind.PAUSE, ControlKind.RESUME]


def test_pausing_a_set_with_no_rollout_in_progress_writes_nothing(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    steps = Steps(emu, tmp_path, groups=("warehouse-west",), rollout=ROLLING)
    pending = steps.cli("apply", "--pause", "all", "--auto-approve")
    assert (
        pending.exit_code == 1
        and "has no rollout in progress" in pending.output
        and "pending" in pending.output
    )
    unknown = steps.cli("apply", "--pause", "nope", "--auto-approve")
    assert unknown.exit_code == 1 and "no DeploymentSet 'nope'" in unknown.output
    assert asyncio.run(_commits(emu)) == []


@pytest.mark.parametrize("flags", [(), ("--keep", "--revert")])
def test_abort_needs_exactly_one_of_keep_and_revert(
    emu: Harness, tmp_path: Path, flags: tuple[str, ...]
) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    steps = Steps(emu, tmp_path, groups=("lab",))
    result = steps.cli("apply", "--auto-approve", "--abort", "all", *flags)
    assert result.exit_code == 1 and "exactly one of --keep" in result.output
    assert asyncio.run(_commits(emu)) == []


def test_abort_keep_leaves_devices_and_later_applies_until_retry_or_new_content(
    emu: Harness, tmp_path: Path
) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    canary = {"strategy": "canary", "canary_count": 1, "health_check": HEALTH}
    steps = Steps(emu, tmp_path, groups=("lab",), release="v1.4.2", rollout=canary)
    first = steps.dir()
    paused = asyncio.run(run(first, asyncio.run(make(first))))
    assert paused.records[0].status.state == "paused"
    saved = steps.dir()  # a plan reviewed before the abort, applied after it
    made = CliRunner().invoke(main, ["plan", str(saved), "--out", str(saved / "plan.json")])
    assert made.exit_code == 0, made.output
    aborted = steps.cli("apply", "--abort", "all", "--keep", "--auto-approve", "--format", "json")
    assert aborted.exit_code == 0, aborted.output
    doc = json.loads(aborted.stdout)
    validate(doc, "apply-output.schema.json")
    assert [c["kind"] for c in doc["controls"]] == ["abort-keep"]
    before = asyncio.run(deployments(emu))
    # Later applies (fresh directories) leave it where it is: no rollback, no restart.
    shown = steps.cli("status")
    assert "aborted: aborted and kept by " in shown.stdout, shown.stdout
    plain = steps.cli("apply", "--auto-approve", "--format", "json")
    assert plain.exit_code == 0, plain.output
    assert {e["reason_code"] for e in json.loads(plain.stdout)["ledger"]} == {"aborted"}
    stale = CliRunner().invoke(
        main, ["apply", str(saved), "--plan", str(saved / "plan.json"), "--auto-approve"]
    )
    assert stale.exit_code == 0 and "aborted and kept by" in stale.output, stale.output
    promote = steps.cli("apply", "--promote", "--set", "all")
    assert promote.exit_code == 1
    assert asyncio.run(deployments(emu)) == before
    sdk = emu.sdk()
    page = asyncio.run(sdk.devices.list(limit=100, expand=["current_release"]))
    assert {
        d.name: d.current_release.version if d.current_release else None
        for d in page.data
        if d.name.startswith("lab")
    } == {
        "lab-arm-01": "v1.4.2",
        "lab-arm-02": "v1.4.1",
        "lab-arm-03": "v1.4.1",
    }
    # New content is a new rollout, with no record: it starts its own canary phase.
    changed = Steps(
        emu, tmp_path / "changed", groups=("lab",), release="v1.4.2", rollout=canary, max_speed=1.1
    )
    assert state_of(asyncio.run(make(changed.dir())).rollouts["all"]) is SetRolloutState.PENDING
    # --retry-failed continues the aborted rollout (and clears the abort for everyone).
    retried = steps.cli("apply", "--auto-approve", "--retry-failed")
    assert retried.exit_code == 0, retried.output
    assert state_of(asyncio.run(make(steps.dir())).rollouts["all"]) is SetRolloutState.PAUSED


def test_a_control_record_is_read_strictly_and_newest_wins() -> None:
    rid = "ro-3f2a9c0d1e4b"
    pause = C.Control(ControlKind.PAUSE, "lab", rid, seq=0, run="5c1e09aa", by=C.who("Eve \x1b[31m<b>"))
    assert pause.by == "Eve---31m-b-" and C.parse(pause.text(), C.sha(rid, 0)) == pause
    assert C.parse(pause.text(), C.sha(rid, 1)) is None  # a sha its rollout and seq do not give
    assert C.parse(pause.text() + " extra=1", C.sha(rid, 0)) is None
    assert C.parse(pause.text().replace("by=Eve", "by=\x1b[2J"), C.sha(rid, 0)) is None
    assert C.parse(pause.text(), C.sha(rid, 0), at="\x1b[2Jyesterday").at == ""  # type: ignore[union-attr]
    assert C.parse(pause.text(), C.sha(rid, 0), at="2026-01-01T01:00:00+01:00").at == "2026-01-01T00:00:00Z"  # type: ignore[union-attr]
    resume = C.Control(ControlKind.RESUME, "lab", rid, seq=1, run="00000000", by="bob")
    abort = C.Control(ControlKind.ABORT_KEEP, "lab", rid, seq=1, run="11111111", by="carol")
    assert C.in_force([pause]) == pause and C.in_force([pause, resume]) is None
    # Two writers took the same seq at the same instant: stopping wins over continuing.
    assert C.in_force([resume, pause, abort]) == abort
    assert C.next_seq([pause, resume]) == 2 and C.next_seq([]) == 0


def test_the_records_origin_is_the_checkouts_remote_when_the_platform_takes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.apply.control import PLACEHOLDER_ORIGIN, origin

    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert origin(repo) == PLACEHOLDER_ORIGIN
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/fleet")
    assert origin(repo) == "https://github.com/acme/fleet"
    subprocess.run(
        ["git", "-C", str(repo), "remote", "add", "origin", "git@gitlab.com:acme/robots.git"], check=True
    )
    assert origin(repo) == "git@gitlab.com:acme/robots.git"
    subprocess.run(
        ["git", "-C", str(repo), "remote", "set-url", "origin", "https://git.internal/x/y"], check=True
    )
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://ghe.internal")
    assert origin(repo) == PLACEHOLDER_ORIGIN


def test_an_abort_keep_stops_a_run_in_flight_where_it_is(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    steps = Steps(emu, tmp_path, groups=("warehouse-west",), rollout={**ROLLING, "max_parallel": 2})
    first = steps.dir()
    hook = PauseFromElsewhere(steps, "--abort", "all", "--keep")
    result = asyncio.run(run(first, asyncio.run(make(first)), reporter=hook))
    assert hook.paused is not None
    assert hook.paused.returncode == 0, hook.paused.stderr
    record = result.records[0]
    assert record.status.state == "aborted" and "aborted and kept by alice-script-" in record.status.message
    assert result.exit_code == 0
    # The two devices in flight when the abort came finished their health check; nothing more
    # started, nothing was rolled back.
    states = {e.device: (e.state, e.reason_code) for e in result.ledger}
    assert states["amr-west-01"] == states["amr-west-02"] == ("succeeded", None), states
    assert {states[f"amr-west-0{i}"] for i in range(3, 7)} == {("not_attempted", "aborted")}
    ours = [d for d in asyncio.run(deployments(emu)) if d.description.startswith("reconcile set=")]
    assert len(ours) == 2 and not any("rollback" in d.description for d in ours)
    later = steps.cli("plan")
    assert "aborted: aborted and kept by alice-script-" in later.stdout, later.stdout


def test_on_a_platform_where_a_sha_is_unique_a_taken_number_is_skipped(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[], spare=False)))
    assert (
        asyncio.run(emu.admin.post("/_emulator/platform", json={"git_commit_sha": "unique"})).status_code
        == 200
    )
    canary = {"strategy": "canary", "canary_count": 1, "health_check": HEALTH}
    steps = Steps(emu, tmp_path, groups=("lab",), release="v1.4.2", rollout=canary)
    first = steps.dir()
    rid = asyncio.run(make(first)).rollouts["all"].id
    asyncio.run(run(first, asyncio.run(make(first))))
    # Someone else's commit holds the first number's sha, with a message that is not ours.
    sdk = emu.sdk()
    asyncio.run(
        sdk.git_commits.create(sha=C.sha(rid, 0), message="\x1b[2J hostile", origin="https://github.com/x/y")
    )
    assert steps.cli("apply", "--pause", "all", "--auto-approve").exit_code == 0
    assert steps.cli("apply", "--promote", "--set", "all").exit_code == 0
    records = [C.parse(c.message, c.sha) for c in asyncio.run(_commits(emu))]
    assert sorted((r.seq, r.kind) for r in records if r is not None) == [
        (1, ControlKind.PAUSE),
        (2, ControlKind.RESUME),
    ]
    assert steps.cli("plan", "--detailed-exitcode").exit_code == 0
