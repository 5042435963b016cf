"""`reconcile plan` end to end (CliRunner, in process): formats, --out, --detailed-exitcode,
target selection (--base-url / MIRU_BASE_URL without a key is an error, never a fallback),
and the golden text of `reconcile plan examples`."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest

from reconciler.model.plan import Plan
from tests.harness import Harness, example_fleet
from tests.plan.projects import EXAMPLES, REPO, invoke, write_project

GOLDEN = Path(__file__).parent / "golden" / "plan_examples.txt"
SCHEMA = json.loads((REPO / "schemas" / "plan.schema.json").read_text())


@pytest.fixture
def project(emu: Harness, tmp_path: Path) -> Path:
    asyncio.run(emu.seed(example_fleet()))
    return write_project(tmp_path / "p", emu.db)


def test_text_and_detailed_exitcode(project: Path) -> None:
    code, out, _ = invoke("plan", str(project), "--detailed-exitcode")
    assert code == 2
    assert out.rstrip().endswith(
        "Plan: 14 to deploy, 3 to upgrade, 0 to stage, 0 to restage, "
        "3 config instances to create. 0 unchanged, 1 blocked."
    )
    code, _, _ = invoke("plan", str(project))
    assert code == 0


def test_json_out_validates_and_matches_stdout(project: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "plans" / "plan.json"
    code, out, _ = invoke("plan", str(project), "--format", "json", "--out", str(out_file))
    assert code == 0
    data = json.loads(out)
    jsonschema.validate(data, SCHEMA)
    assert json.loads(out_file.read_text()) == data
    plan = Plan.from_dict(data)
    assert plan.summary()["upgrade"] == 3 and plan.format_version == 3
    assert data["notes"] == ["operator-notes: opaque schema, content not checked"]
    assert not list(out_file.parent.glob(".*.tmp"))  # written atomically, nothing left behind


def test_markdown_of_the_example_fleet_is_whole(project: Path, tmp_path: Path) -> None:
    code, out, _ = invoke("plan", str(project), "--format", "markdown", "--out", str(tmp_path / "plan.json"))
    assert code == 0
    assert out.startswith("### reconcile plan") and "<details>" in out and len(out) <= 65_536
    assert "**Plan: 14 to deploy, 3 to upgrade" in out
    assert "Note: operator-notes: opaque schema, content not checked" in out


def test_no_changes_exit_0_with_detailed_exitcode(emu: Harness, tmp_path: Path) -> None:
    asyncio.run(emu.seed(example_fleet(spare=False)))
    root = write_project(
        tmp_path / "p",
        emu.db,
        {
            "a.yaml": (
                "apiVersion: reconciler/v1\nkind: DeploymentSet\nmetadata: {name: a}\nspec:\n"
                "  selector: {groups: [fleet, lab]}\n  release: v1.4.1\n  configs:\n"
                "    motion-control: {file: ../configs/motion-control.json}\n"
                "    localization: {file: ../configs/localization.yaml}\n"
                "    operator-notes: {file: ../configs/operator-notes.txt}\n"
            )
        },
    )
    code, out, _ = invoke("plan", str(root), "--detailed-exitcode")
    assert code == 0, out
    assert "No changes" in out and "17 unchanged" in out


def test_remote_target_without_key_is_an_error_not_a_fallback(project: Path) -> None:
    code, out, err = invoke("plan", str(project), "--base-url", "http://127.0.0.1:9/beta")
    assert code == 1
    assert "MIRU_API_KEY is not set" in err and "http://127.0.0.1:9/beta" in err
    assert "Traceback" not in err and out == ""


def test_miru_base_url_env_without_key_is_an_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRU_BASE_URL", "http://127.0.0.1:9/beta")
    code, _, err = invoke("plan", str(project))
    assert code == 1 and "MIRU_API_KEY is not set" in err


def test_unreachable_remote_is_a_clear_error_and_key_is_not_printed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIRU_API_KEY", "sk-very-secret-key-123")
    code, out, err = invoke("plan", str(project), "--base-url", "http://127.0.0.1:9/beta")
    assert code == 1
    assert "cannot reach the platform" in err
    assert "sk-very-secret-key-123" not in out + err


def test_golden_plan_of_examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo with no setup: no ENROLLMENT_TOKEN, so the embedded emulator's built-in
    enrollment token is used and amr-spare-01 shows its last attempt's error logs."""
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".reconcile"))
    monkeypatch.delenv("ENROLLMENT_TOKEN")
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke("plan", "examples")
    assert code == 0
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(out)
    assert out == GOLDEN.read_text()
    assert "|   2026-01-29T09:00:15Z: Installation failed - insufficient permissions" in out
    # deterministic: the same state plans the same text
    assert invoke("plan", "examples")[1] == out


def test_manifest_problems_found_against_the_platform_exit_1_with_location(
    emu: Harness, tmp_path: Path
) -> None:
    asyncio.run(emu.seed(example_fleet()))
    root = write_project(
        tmp_path / "p",
        emu.db,
        {
            "a.yaml": (
                "apiVersion: reconciler/v1\nkind: DeploymentSet\nmetadata: {name: a}\nspec:\n"
                "  selector: {groups: [no-such-group]}\n  release: v1.4.1\n"
            )
        },
    )
    code, out, err = invoke("plan", str(root))
    assert code == 1 and out == ""
    assert "deploymentsets/a.yaml:" in err and "group 'no-such-group' does not exist on the platform" in err
    assert "Traceback" not in err


def test_remote_target_in_project_file_without_key_is_an_error(project: Path) -> None:
    text = (project / "reconcile.yaml").read_text().split("manifests:")[1]
    (project / "reconcile.yaml").write_text(
        "target: {base_url: 'http://127.0.0.1:9/beta'}\nmanifests:" + text
    )
    for cmd in ("plan", "drift"):
        code, out, err = invoke(cmd, str(project))
        assert code == 1 and out == ""
        assert "MIRU_API_KEY is not set; it is required to reach http://127.0.0.1:9/beta" in err


def test_out_that_cannot_be_written_is_an_error_not_a_traceback(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, out, err = invoke("plan", str(project), "--out", str(blocker / "plan.json"))
    assert code == 1 and out == ""
    assert f"{blocker / 'plan.json'}: cannot write the plan: {blocker} is not a directory" in err
    code, out, err = invoke("plan", str(project), "--out", "/proc/no-such-dir/plan.json")
    assert code == 1 and out == "" and "cannot write the plan: No such file or directory" in err
    assert "Traceback" not in err


def test_a_key_pasted_into_config_content_is_redacted_in_human_formats(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "mk_live_7f3a9c0e5d2b4a61"
    monkeypatch.setenv("MIRU_API_KEY", key)  # set, but the target is the embedded emulator
    (project / "configs" / "operator-notes.txt").write_text(f"Handle with care.\nkey: {key}\n")
    for fmt in ("text", "markdown"):
        code, out, err = invoke("plan", str(project), "--format", fmt)
        assert code == 0, err
        assert key not in out + err
        assert "key: ***" in out
    # JSON is what apply uploads, so it keeps the content exactly as the repository has it.
    code, out, _ = invoke("plan", str(project), "--format", "json")
    assert key in out
