"""`extends:` checked without a platform: unknown bases, a set extending itself, cycles, the
release a layer may leave out, the rollout it inherits, and devices a layer may name again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ValidationFailed
from reconciler.manifests.loader import load_path
from reconciler.model.project import Project
from tests.set_layers.layered import BASE, EAST, WEST, write


def _problems(root: Path) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        load_path(root)
    return [
        f"{p.location.file}:{p.location.line}:{p.location.column}: {p.message}" for p in info.value.problems
    ]


def _load(tmp_path: Path, sets: dict[str, dict[str, Any]]) -> Project:
    return load_path(write(tmp_path / "p", None, sets))


def test_a_layer_inherits_release_activation_and_rollout(tmp_path: Path) -> None:
    base = {**BASE, "activation": "stage", "rollout": {"strategy": "canary", "canary_count": 2}}
    east = {**EAST, "rollout": {"auto_promote": True}}
    project = _load(tmp_path, {"fleet-base": base, "site-east": east, "site-west": WEST})
    sets = {s.name: s for s in project.sets}
    east_set, west_set = sets["site-east"], sets["site-west"]
    assert east_set.extends == "fleet-base" and east_set.release == "v1.4.1" and not east_set.release_written
    assert east_set.release_location == sets["fleet-base"].release_location  # an unknown release points there
    assert west_set.release == "v1.4.2" and west_set.release_written
    spec = east_set.rollout
    assert (spec.strategy, spec.options["canary_count"], spec.options["auto_promote"]) == ("canary", 2, True)
    assert east_set.activation == "stage"
    assert (
        sets["fleet-base"].rollout.options.get("auto_promote") is not True
    )  # a layer never changes its base


def test_a_layer_may_change_the_strategy_and_drops_what_it_cannot_use(tmp_path: Path) -> None:
    base = {**BASE, "rollout": {"strategy": "canary", "canary_count": 2}}
    east = {**EAST, "rollout": {"strategy": "rolling", "max_parallel": 3}}
    project = _load(tmp_path, {"fleet-base": base, "site-east": east})
    spec = next(s for s in project.sets if s.name == "site-east").rollout
    assert spec.strategy == "rolling" and "canary_count" not in spec.options


def test_a_contradiction_in_a_layers_rollout_is_reported_at_the_layer(tmp_path: Path) -> None:
    east = {**EAST, "rollout": {"strategy": "immediate", "max_parallel": 2}}
    found = _problems(write(tmp_path / "p", None, {"fleet-base": BASE, "site-east": east}))
    assert any(p.startswith("sets/site-east.yaml:") and "max_parallel" in p for p in found), found


def test_an_unknown_base_is_named_with_a_near_miss(tmp_path: Path) -> None:
    east = {**EAST, "extends": "fleet-bse"}
    found = _problems(write(tmp_path / "p", None, {"fleet-base": BASE, "site-east": east}))
    assert found == [
        "sets/site-east.yaml:6:12: spec.extends: there is no DeploymentSet named 'fleet-bse'; did you mean 'fleet-base'?"
    ]


def test_a_set_cannot_extend_itself(tmp_path: Path) -> None:
    found = _problems(write(tmp_path / "p", None, {"site-east": {**EAST, "extends": "site-east"}}))
    assert found == ["sets/site-east.yaml:6:12: spec.extends: DeploymentSet 'site-east' cannot extend itself"]


def test_a_cycle_is_reported_at_each_set_in_it(tmp_path: Path) -> None:
    a = {**EAST, "extends": "b", "release": "v1.4.1"}
    b = {**WEST, "extends": "a"}
    found = _problems(write(tmp_path / "p", None, {"a": a, "b": b}))
    assert found == [
        "sets/a.yaml:6:12: spec.extends: 'a' -> 'b' -> 'a' is a cycle; a chain of extends must end at a set "
        "that extends nothing",
        "sets/b.yaml:6:12: spec.extends: 'b' -> 'a' -> 'b' is a cycle; a chain of extends must end at a set "
        "that extends nothing",
    ]


def test_without_extends_a_set_needs_a_release(tmp_path: Path) -> None:
    east = {k: v for k, v in EAST.items() if k not in ("extends", "rollout")}
    found = _problems(write(tmp_path / "p", None, {"east": east}))
    assert len(found) == 1 and found[0].startswith("sets/east.yaml:") and "release" in found[0], found


def test_a_layer_may_name_its_bases_devices_but_siblings_may_not_share_one(tmp_path: Path) -> None:
    base = {**BASE, "selector": {"devices": ["amr-east-01", "amr-west-01"]}, "overrides": []}
    east = {**EAST, "selector": {"devices": ["amr-east-01"]}}
    project = _load(tmp_path, {"fleet-base": base, "site-east": east})
    assert [s.name for s in project.sets] == ["fleet-base", "site-east"]
    west = {**WEST, "selector": {"patterns": ["amr-*-01"]}}
    found = _problems(write(tmp_path / "p", None, {"fleet-base": base, "site-east": east, "site-west": west}))
    assert found == [
        "sets/site-west.yaml:9:7: pattern 'amr-*-01' matches device 'amr-east-01', which DeploymentSet "
        "'site-east' names (sets/site-east.yaml:9); a device belongs to one DeploymentSet"
    ], found


def test_the_documented_example_loads(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "manifests.md").read_text()
    section = text[text.index("### Layers") :]
    example = section[section.index("```yaml\n") + len("```yaml\n") : section.index("```\n", 1)]
    root = write(tmp_path / "p", None, {})
    (root / "sets" / "layers.yaml").write_text(example)
    sets = {s.name: s for s in load_path(root).sets}
    north = sets["site-north"]
    assert (north.extends, north.release, north.rollout.strategy) == ("fleet-base", "v1.4.1", "rolling")
    assert north.rollout.options["max_parallel"] == 2
