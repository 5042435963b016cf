"""Valid projects load into the model with the values and locations written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reconciler.errors import ValidationFailed
from reconciler.manifests.loader import load_path, load_project
from reconciler.manifests.merge import merge_patch
from reconciler.manifests.source import DirSource

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def problems(root: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as e:
        load_path(root)
    return [p.format_text() for p in e.value.problems]


SET = """apiVersion: reconciler/v1
kind: DeploymentSet
metadata: {name: NAME}
spec:
  selector: {groups: [fleet]}
  release: v1.4.1
"""


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".reconcile"))
    if not (root / "seed.yaml").exists():  # EMU-CORE's file; only its existence matters here
        (root / "seed.yaml").write_text("groups: []\n")
    return root


def test_examples_load(examples: Path) -> None:
    project = load_path(examples)
    assert project.target.db == ".reconcile/emulator.db"  # type: ignore[union-attr]
    assert project.target.seed == "seed.yaml"  # type: ignore[union-attr]
    sets = {s.name: s for s in project.sets}
    assert set(sets) == {"warehouse-amrs", "lab-canary"}
    wh = sets["warehouse-amrs"]
    assert wh.selector.groups == ("fleet",)
    assert wh.release == "v1.4.1"
    assert wh.rollout.strategy == "rolling" and wh.rollout.option("max_parallel", 0) == 4
    assert wh.rollout.health_check.deadline == 30.0 and wh.rollout.health_check.min_healthy_time == 2.0
    configs = {c.config_type: c for c in wh.configs}
    mc = configs["motion-control"]
    assert mc.file == "configs/motion-control.json" and mc.format == "json"
    assert merge_patch(mc.base, mc.values) == {
        "max_speed": 1.2,
        "max_accel": 0.5,
        "safety": {"estop_timeout_ms": 200, "lidar_zones": ["front", "rear"]},
    }
    assert mc.file_locations["$.safety.estop_timeout_ms"].line == 5
    assert configs["localization"].base == {
        "map": "warehouse-v3",
        "particle_count": 500,
        "update_rate_hz": 10,
    }
    assert configs["localization"].format == "yaml"
    assert configs["operator-notes"].base == "Handle with care near the loading dock.\n"
    assert configs["operator-notes"].format == "text"
    (override,) = wh.overrides
    assert override.selector.devices == ("amr-east-01", "amr-east-02")
    assert override.configs[0].values == {"max_speed": 0.8}
    assert wh.location is not None and wh.location.file == "deploymentsets/warehouse-amrs.yaml"
    assert wh.location.line == 4
    lab = sets["lab-canary"]
    assert lab.release == "v1.4.2"
    assert (
        lab.rollout.strategy == "canary"
        and lab.rollout.option("canary_count") == 1
        and lab.rollout.option("auto_promote")
    )
    lab_mc = next(c for c in lab.configs if c.config_type == "motion-control")
    assert merge_patch(lab_mc.base, lab_mc.values)["docking"] == {"approach_speed": 0.3}


def test_examples_in_tree_validate() -> None:
    assert len(load_path(EXAMPLES).sets) == 2


def test_examples_modelines_resolve() -> None:
    for path in [EXAMPLES / "reconcile.yaml", *sorted((EXAMPLES / "deploymentsets").glob("*.yaml"))]:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=")
        target = (path.parent / first.split("$schema=", 1)[1]).resolve()
        assert target.is_file(), f"{path}: modeline points to {target}"


def test_defaults_apply_and_set_wins(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "reconcile.yaml": "target: {base_url: https://api.example.com/beta}\n"
            "defaults:\n  rollout:\n    strategy: rolling\n    max_parallel: 8\n"
            "    health_check: {deadline: 5m}\n    max_failed_nodes: 3\n",
            "a.yaml": SET.replace("NAME", "a"),
            "b.yaml": SET.replace("NAME", "b") + "  rollout:\n    max_parallel: 2\n"
            "    health_check: {min_healthy_time: 10s}\n",
            "c.yaml": SET.replace("NAME", "c") + "  rollout: {strategy: canary, canary_percent: 10}\n",
            "d.yaml": SET.replace("NAME", "d") + "  rollout: {strategy: immediate}\n",
        },
    )
    project = load_path(tmp_path)
    assert project.target.base_url == "https://api.example.com/beta"  # type: ignore[union-attr]
    assert project.target.api_version == "2026-08-17.everglades"  # type: ignore[union-attr]
    assert project.rollout_defaults.option("max_parallel") == 8
    a, b, c, d = project.sets
    assert (a.rollout.strategy, a.rollout.option("max_parallel", 0), a.rollout.max_failed_nodes) == (
        "rolling",
        8,
        3,
    )
    assert a.rollout.health_check.deadline == 300.0
    assert b.rollout.option("max_parallel", 0) == 2
    assert (b.rollout.health_check.deadline, b.rollout.health_check.min_healthy_time) == (300.0, 10.0)
    assert (c.rollout.strategy, c.rollout.option("canary_percent"), c.rollout.option("max_parallel", 0)) == (
        "canary",
        10.0,
        8,
    )
    # A set that picks immediate does not inherit what immediate cannot use.
    assert (d.rollout.strategy, d.rollout.option("max_parallel", 0), d.rollout.max_failed_nodes) == (
        "immediate",
        0,
        3,
    )


def test_multi_document_and_slots(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "reconcile.yaml": "target: {emulator: {db: /tmp/elsewhere.db}}\nmanifests: ['sets/**/*.yml']\n"
            "enrollment: {base_url: https://enroll.example.com, client_id: fleet}\n",
            "sets/deep/all.yml": "---\n" + SET.replace("NAME", "one") + "  configs:\n    motion-control:\n"
            "      - {slot: default, values: {max_speed: 1}}\n"
            "      - {slot: extra, file: ../../c/extra.json}\n"
            "---\n" + SET.replace("NAME", "two").replace("fleet", "lab") + "---\n",
            "c/extra.json": '{"a": 1}',
            "ignored.yaml": "this: is not matched by the globs: [\n",
        },
    )
    project = load_path(tmp_path)
    assert [s.name for s in project.sets] == ["one", "two"]
    assert project.enrollment is not None and project.enrollment.token_env == "ENROLLMENT_TOKEN"
    slots = [(c.slot, c.file, c.base, c.values) for c in project.sets[0].configs]
    assert slots == [("default", None, None, {"max_speed": 1}), ("extra", "c/extra.json", {"a": 1}, None)]


def test_non_manifest_yaml_is_skipped(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "reconcile.yaml": "target: {emulator: {seed: seed.yaml}}\n",
            "seed.yaml": "groups: [{name: fleet}]\ndevices: []\n",
            "workflows/ci.yml": "name: ci\non: [push]\njobs: {}\n",
            ".reconcile/state.yaml": "kind: Anything\n",
            ".github/x.yaml": "kind: Workflow\n",
            "configs/weird.yaml": "spec: this config file has a key that looks like a manifest\n",
            "set.yaml": SET.replace("NAME", "s") + "  configs:\n    weird: {file: configs/weird.yaml}\n",
        },
    )
    project = load_path(tmp_path)
    assert [s.name for s in project.sets] == ["s"]
    assert project.sets[0].configs[0].base == {
        "spec": "this config file has a key that looks like a manifest"
    }


def test_yaml_features_kept_plain(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "reconcile.yaml": "target: {emulator: {}}\n",
            "set.yaml": SET.replace("NAME", "s").replace("v1.4.1", "2026-01-01")
            + "  configs:\n    motion-control:\n      values:\n        <<: {max_speed: 1.0, max_accel: 0.5}\n"
            "        max_speed: 2.0\n        enabled: yes\n",
        },
    )
    s = load_path(tmp_path).sets[0]
    assert s.release == "2026-01-01"  # a date-looking release stays a string
    assert s.configs[0].values == {"max_speed": 2.0, "max_accel": 0.5, "enabled": True}


def test_symlinks_inside_ok_outside_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, {"secret.json": '{"x": 1}', "set.yaml": SET.replace("NAME", "evil")})
    root = write(
        tmp_path / "repo",
        {
            "reconcile.yaml": "target: {emulator: {}}\n",
            "real.json": '{"y": 2}',
            "a.yaml": SET.replace("NAME", "a") + "  configs:\n    inside: {file: link.json}\n"
            "    outside: {file: leak.json}\n",
        },
    )
    os.symlink("real.json", root / "link.json")
    os.symlink(outside / "secret.json", root / "leak.json")
    os.symlink(outside / "set.yaml", root / "b.yaml")
    assert problems(root) == [
        "a.yaml:9:21: error: spec.configs.outside.file: 'leak.json' is a symlink that leads outside "
        "the repository",
        "b.yaml:1:1: error: 'b.yaml' is a symlink that leads outside the repository",
    ]
    os.remove(root / "leak.json")
    os.remove(root / "b.yaml")
    (root / "a.yaml").write_text(SET.replace("NAME", "a") + "  configs:\n    inside: {file: link.json}\n")
    assert load_path(root).sets[0].configs[0].base == {"y": 2}


def test_oversized_file(tmp_path: Path) -> None:
    write(tmp_path, {"reconcile.yaml": "target: {emulator: {}}\n"})
    (tmp_path / "big.yaml").write_bytes(b"# " + b"x" * (5 * 1024 * 1024) + b"\n")
    assert problems(tmp_path) == [
        f"big.yaml:1:1: error: file is too large ({5 * 1024 * 1024 + 3} bytes; the limit is 5 MiB)"
    ]
    # A config file is held to the same limit.
    (tmp_path / "big.yaml").unlink()
    write(tmp_path, {"a.yaml": SET.replace("NAME", "a") + "  configs:\n    notes: {file: big.txt}\n"})
    (tmp_path / "big.txt").write_bytes(b"x" * (5 * 1024 * 1024 + 1))
    assert problems(tmp_path) == [
        f"big.txt:1:1: error: file is too large ({5 * 1024 * 1024 + 1} bytes; the limit is 5 MiB)"
    ]


def test_no_project_file(tmp_path: Path) -> None:
    assert problems(tmp_path) == [
        f"reconcile.yaml: error: no reconcile.yaml in {tmp_path}: a project starts with one "
        "(see examples/reconcile.yaml)"
    ]


def test_load_project_with_a_source(examples: Path) -> None:
    project = load_project(DirSource(examples), examples)
    assert project.root == examples and len(project.sets) == 2


def test_symlink_loop_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    write(tmp_path, {"reconcile.yaml": "target: {emulator: {}}\n"})
    os.symlink("b.yaml", tmp_path / "a.yaml")
    os.symlink("a.yaml", tmp_path / "b.yaml")
    assert problems(tmp_path) == [
        "a.yaml:1:1: error: cannot read 'a.yaml': Too many levels of symbolic links",
        "b.yaml:1:1: error: cannot read 'b.yaml': Too many levels of symbolic links",
    ]
