"""`reconcile apply` and `reconcile status` through the CLI (click's CliRunner, in process,
over the harness's db file)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
from click.testing import CliRunner
from referencing import Registry, Resource

from reconciler.cli import main
from reconciler.model.marker import Marker
from reconciler.model.marker import parse as parse_marker
from tests.apply.helpers import deployments, make, write_project
from tests.harness import Harness, example_fleet

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
HEALTH = {"deadline": "30s", "min_healthy_time": "2s"}


def validate(instance: Any, schema_name: str) -> None:
    registry: Registry[Any] = Registry()
    for name in (
        "rollout.schema.json",
        "apply-output.schema.json",
        "status-output.schema.json",
        "plan.schema.json",
    ):
        doc = json.loads((SCHEMAS / name).read_text())
        registry = registry.with_resource(doc["$id"], Resource.from_contents(doc))
    schema = json.loads((SCHEMAS / schema_name).read_text())
    jsonschema.Draft202012Validator(schema, registry=registry).validate(instance)


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def save_plan(emu: Harness, root: Path, path: Path) -> None:
    plan = asyncio.run(make(root))
    path.write_text(json.dumps(plan.to_dict()))


def test_apply_refuses_without_approval_when_stdin_is_not_a_terminal(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = write_project(tmp_path / "p", emu)
    result = cli("apply", str(root))
    assert result.exit_code == 1
    assert "--auto-approve" in result.output and "Traceback" not in result.output
    mine = [d for d in asyncio.run(deployments(emu)) if d.description.startswith("reconcile ")]
    assert mine == []


def test_saved_plan_for_another_target_or_format_is_refused(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = write_project(tmp_path / "p", emu)
    plan_file = tmp_path / "plan.json"
    save_plan(emu, root, plan_file)
    data = json.loads(plan_file.read_text())
    (tmp_path / "other.json").write_text(json.dumps({**data, "target": "https://api.example.com/beta"}))
    result = cli("apply", str(root), "--plan", str(tmp_path / "other.json"), "--auto-approve")
    assert result.exit_code == 1 and "was made for 'https://api.example.com/beta'" in result.output
    (tmp_path / "v9.json").write_text(json.dumps({**data, "format_version": 9}))
    result = cli("apply", str(root), "--plan", str(tmp_path / "v9.json"), "--auto-approve")
    assert result.exit_code == 1 and "format_version 9" in result.output
    (tmp_path / "bad.json").write_text("{not json")
    result = cli("apply", str(root), "--plan", str(tmp_path / "bad.json"), "--auto-approve")
    assert result.exit_code == 1 and "bad.json:1:2" in result.output


def test_apply_json_output_matches_its_schema_and_status_lists_it(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = write_project(
        tmp_path / "p", emu, rollout={"strategy": "rolling", "max_parallel": 5, "health_check": HEALTH}
    )
    plan_file = tmp_path / "plan.json"
    save_plan(emu, root, plan_file)
    result = cli("apply", str(root), "--plan", str(plan_file), "--auto-approve", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    validate(out, "apply-output.schema.json")
    assert out["summary"]["succeeded"] == 16 and out["summary"]["deferred"] == 1
    assert out["blocked"][0]["device"] == "amr-spare-01"
    (record,) = out["rollouts"]
    on_disk = json.loads((root / ".reconcile" / "rollouts" / f"{record['id']}.json").read_text())
    validate(on_disk, "rollout.schema.json")
    assert on_disk == record

    status = cli("status", str(root), "--format", "json")
    assert status.exit_code == 0 and json.loads(status.stdout)["rollouts"][0]["id"] == record["id"]
    validate(json.loads(status.stdout), "status-output.schema.json")
    text = cli("status", str(root))
    assert record["id"] in text.output and "completed" in text.output
    # Nothing left to do: a fresh apply says so and exits 0.
    again = cli("apply", str(root), "--auto-approve")
    assert again.exit_code == 0 and "No changes" in again.output


def test_canary_pause_then_promote_through_the_cli(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        release="v1.4.2",
        rollout={"strategy": "canary", "canary_percent": 33, "health_check": HEALTH},
    )
    first = cli("apply", str(root), "--auto-approve")
    assert first.exit_code == 0, first.output
    assert "paused" in first.output and "--promote" in first.output
    assert "2 not attempted" in first.output
    status = cli("status", str(root))
    assert "paused: 1 device(s) run it; `reconcile apply --promote` continues with 2 more" in status.output, (
        status.output
    )
    promoted = cli("apply", str(root), "--promote", "--format", "json")
    assert promoted.exit_code == 0, promoted.output
    out = json.loads(promoted.stdout)
    validate(out, "apply-output.schema.json")
    # The promotion plans afresh from the platform: the canary already runs the content (no write),
    # the two others are the ones promoted, in the same rollout.
    assert out["rollouts"][0]["status"]["state"] == "completed" and out["summary"]["succeeded"] == 2
    nothing = cli("apply", str(root), "--promote")
    assert nothing.exit_code == 1 and "no paused rollout" in nothing.output


def test_exit_1_when_a_device_fails(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[])))
    asyncio.run(emu.patch_device("lab-arm-02", agent={"behaviour": "fail"}))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        rollout={
            "strategy": "rolling",
            "max_parallel": 1,
            "max_failed_nodes": 5,
            "max_failed_nodes_percent": 100,
            "health_check": {**HEALTH, "max_error_rate": 1},
        },
    )
    result = cli("apply", str(root), "--auto-approve")
    assert result.exit_code == 1
    assert "lab-arm-02" in result.output and "failed" in result.output
    assert "2 succeeded, 1 failed" in result.output


def test_every_deployment_names_the_commit_set_and_rollout(emu: Harness, tmp_path: Path) -> None:
    import subprocess

    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = write_project(tmp_path / "p", emu, groups=("lab",))
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "lab"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    sha = head.stdout.strip()
    result = cli("apply", str(root), "--auto-approve", "--format", "json")
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.stdout)["rollouts"]
    assert record["commit"] == sha
    mine = [d for d in asyncio.run(deployments(emu)) if d.description.startswith("reconcile ")]
    assert len(mine) == 3
    markers = {parse_marker(d.description) for d in mine}
    (run,) = {m.run for m in markers if m is not None}  # the one apply process that wrote them
    assert markers == {Marker("all", record["id"], sha[:12], wave=1, run=run)}
    assert all(
        d.description == f"reconcile set=all rollout={record['id']} wave=1 run={run} commit={sha[:12]}"
        for d in mine
    )


def test_a_fresh_plan_is_shown_and_confirmed_on_a_terminal(emu: Harness, tmp_path: Path) -> None:
    import os
    import sys

    from tests.apply.helpers import on_a_terminal

    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = write_project(tmp_path / "p", emu, groups=("lab",))
    env = dict(os.environ)
    reconcile = str(Path(sys.executable).parent / "reconcile")
    code, shown = on_a_terminal([reconcile, "apply", str(root)], env, typed=b"n\n")
    assert code == 1 and b"~ deploy 3 devices" in shown and b"Apply this plan?" in shown
    assert b"not applied" in shown and b"Traceback" not in shown
    assert not [d for d in asyncio.run(deployments(emu)) if d.description.startswith("reconcile ")]
    code, shown = on_a_terminal([reconcile, "apply", str(root)], env, typed=b"y\n")
    assert code == 0 and b"3 succeeded" in shown, shown[-2000:]
    assert len([d for d in asyncio.run(deployments(emu)) if d.description.startswith("reconcile ")]) == 3


def test_nothing_to_apply_still_fails_while_the_manifests_leave_a_device_blocked(
    emu: Harness, tmp_path: Path
) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        extra={
            "overrides": [
                {"devices": ["lab-arm-02"], "configs": {"motion-control": {"values": {"max_speed": 9}}}}
            ]
        },
    )
    first = cli("apply", str(root), "--auto-approve")
    assert first.exit_code == 1 and "2 succeeded, 1 not attempted" in first.output
    again = cli("apply", str(root), "--auto-approve")
    assert again.exit_code == 1, again.output
    assert "No changes can be applied" in again.output and "lab-arm-02" in again.output
    out = cli("apply", str(root), "--auto-approve", "--format", "json")
    assert out.exit_code == 1
    data = json.loads(out.stdout)
    validate(data, "apply-output.schema.json")
    assert [(e["device"], e["action"], e["reason_code"]) for e in data["ledger"]] == [
        ("lab-arm-02", "blocked", "content-invalid")
    ]
    assert data["exit_code"] == 1 and data["blocked"][0]["reason_code"] == "content-invalid"


def test_help_and_docs_cover_strategies_health_budget_record_ledger_and_exit_codes() -> None:
    shown = cli("apply", "--help").output
    for word in (
        "immediate",
        "rolling",
        "canary",
        "--promote",
        "min_healthy_time",
        "deadline",
        "deferred",
        "max_failed_nodes",
        "max_error_rate",
        "no_auto_rollback",
        ".reconcile/rollouts",
        "not attempted",
        "Exit codes",
        "docs/apply.md",
    ):
        assert word in shown, word
    status_help = cli("status", "--help").output
    assert all(w in status_help for w in ("read from the platform", "held", "--promote", "canceled"))
    doc = (Path(__file__).resolve().parents[2] / "docs" / "apply.md").read_text()
    for heading in (
        "## Strategies",
        "## Health",
        "## Failure budget and rollback",
        "## The platform is the state",
        "## The local log",
        "## The ledger",
        "## Exit codes",
        "## Progress",
    ):
        assert heading in doc, heading


def test_a_damaged_plan_is_refused_with_file_line_col_and_nothing_written(
    emu: Harness, tmp_path: Path
) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = write_project(
        tmp_path / "p", emu, rollout={"strategy": "canary", "canary_count": 1, "health_check": HEALTH}
    )
    plan_file = tmp_path / "plan.json"
    save_plan(emu, root, plan_file)
    data = json.loads(plan_file.read_text())
    first = data["changes"][0]
    spec = data["rollouts"]["all"]["spec"]
    cases = {
        "action.json": (
            {**data, "changes": [{**first, "action": "explode"}, *data["changes"][1:]]},
            "changes[0].action: expected one of",
        ),
        "spec.json": (
            {**data, "rollouts": {"all": {**data["rollouts"]["all"], "spec": {**spec, "max_parallel": "x"}}}},
            "rollouts.all.spec.max_parallel: 'x' is not of type 'integer' (strategy canary)",
        ),
        "strategy.json": (
            {**data, "rollouts": {"all": {**data["rollouts"]["all"], "spec": {**spec, "strategy": "yolo"}}}},
            "rollouts.all.spec.strategy: expected one of immediate, rolling, canary; got 'yolo'",
        ),
        "device.json": (
            {**data, "changes": [{**first, "device": 1}]},
            "changes[0].device: expected a string",
        ),
        # a damaged file says what is wrong with it, not that it was made for no target
        "notarget.json": ({k: v for k, v in data.items() if k != "target"}, "missing required key 'target'"),
    }
    for name, (doc, message) in cases.items():
        (tmp_path / name).write_text(json.dumps(doc, indent=1))
        result = cli("apply", str(root), "--plan", str(tmp_path / name), "--auto-approve")
        assert result.exit_code == 1, (name, result.output)
        assert message in result.output and "Traceback" not in result.output, (name, result.output)
        assert re.search(rf"{re.escape(name)}:\d+:\d+: error: ", result.output), (name, result.output)
    # waves that do not cover exactly the set's changes: apply runs the plan's waves or nothing
    waves = {"kind": "batch", "devices": ["lab-arm-01"]}
    (tmp_path / "waves.json").write_text(
        json.dumps({**data, "rollouts": {"all": {**data["rollouts"]["all"], "waves": [waves]}}})
    )
    result = cli("apply", str(root), "--plan", str(tmp_path / "waves.json"), "--auto-approve")
    assert (
        result.exit_code == 1
        and "the plan's waves for DeploymentSet all do not match its changes" in result.output
    )
    # a set with changes but no rollout spec: never guessed (a canary set must not go out at once)
    (tmp_path / "nospec.json").write_text(json.dumps({**data, "rollouts": {}}))
    result = cli("apply", str(root), "--plan", str(tmp_path / "nospec.json"), "--auto-approve")
    assert result.exit_code == 1 and "no rollout spec for DeploymentSet all" in result.output
    assert not [d for d in asyncio.run(deployments(emu)) if d.description.startswith("reconcile ")]
    assert not list(root.glob(".reconcile/rollouts/ro-*.json"))


def test_a_damaged_record_is_reported_with_its_place_and_hides_nothing_else(
    emu: Harness, tmp_path: Path
) -> None:
    asyncio.run(emu.seed(example_fleet(offline=[])))
    root = write_project(tmp_path / "p", emu, groups=("lab",))
    assert cli("apply", str(root), "--auto-approve").exit_code == 0
    broken = root / ".reconcile" / "rollouts" / "ro-broken.json"
    broken.write_text('{"id": "ro-broken",\n "spec": {}')
    status = CliRunner().invoke(main, ["status", str(root), "--format", "json"])
    assert status.exit_code == 0 and len(json.loads(status.stdout)["rollouts"]) == 1
    validate(json.loads(status.stdout), "status-output.schema.json")
    assert re.search(r"ro-broken\.json:2:\d+: warning: not a readable rollout record", status.stderr)
    # a new rollout is not blocked by someone else's damaged file
    write_project(root, emu, groups=("lab",), max_speed=1.3)
    assert cli("apply", str(root), "--auto-approve").exit_code == 0
    # --promote reads the platform, not the records: a damaged log file changes nothing there
    promote = cli("apply", str(root), "--promote")
    assert promote.exit_code == 1 and "no paused rollout to promote" in promote.output
    assert "Traceback" not in promote.output
