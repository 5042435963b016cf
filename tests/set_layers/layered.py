"""A layered project over the example fleet: `fleet-base` for every device (fleet and lab),
`site-east` and `site-west` extending it for their warehouses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.harness import Harness, example_configs

BASE = {
    "selector": {"groups": ["fleet", "lab"]},
    "release": "v1.4.1",
    "configs": {
        "motion-control": {"file": "../configs/motion-control.json", "values": {"max_speed": 1.2}},
        "localization": {"file": "../configs/localization.yaml"},
        "operator-notes": {"file": "../configs/operator-notes.txt"},
    },
    "overrides": [
        {"devices": ["amr-east-02"], "configs": {"motion-control": {"values": {"max_accel": 0.3}}}}
    ],
    "rollout": {"strategy": "rolling", "max_parallel": 4},
}
EAST = {
    "extends": "fleet-base",
    "selector": {"groups": ["warehouse-east"]},
    "configs": {"motion-control": {"values": {"max_speed": 0.8, "safety": {"estop_timeout_ms": 150}}}},
    "rollout": {"max_parallel": 2},
}
WEST = {
    "extends": "fleet-base",
    "selector": {"groups": ["warehouse-west"]},
    "release": "v1.4.2",
    "configs": {"motion-control": {"values": {"max_accel": 0.4}}},
}


def manifest(name: str, spec: dict[str, Any]) -> str:
    doc = {"apiVersion": "reconciler/v1", "kind": "DeploymentSet", "metadata": {"name": name}, "spec": spec}
    return yaml.safe_dump(doc, sort_keys=False)


def write(root: Path, emu: Harness | None, sets: dict[str, dict[str, Any]]) -> Path:
    """A project with `sets` (name -> spec), each in sets/<name>.yaml; targets `emu`'s db."""
    root.mkdir(parents=True, exist_ok=True)
    db = str(Path(emu.db).resolve()) if emu else "emulator.db"
    (root / "reconcile.yaml").write_text(
        yaml.safe_dump({"target": {"emulator": {"db": db}}, "manifests": ["sets/*.yaml"]})
    )
    cfg = example_configs()
    (root / "configs").mkdir(exist_ok=True)
    (root / "configs" / "motion-control.json").write_text(json.dumps(cfg["motion-control"], indent=2))
    (root / "configs" / "localization.yaml").write_text(yaml.safe_dump(cfg["localization"]))
    (root / "configs" / "operator-notes.txt").write_text(cfg["operator-notes"])
    (root / "sets").mkdir(exist_ok=True)
    for old in (root / "sets").glob("*.yaml"):
        old.unlink()
    for name, spec in sets.items():
        (root / "sets" / f"{name}.yaml").write_text(manifest(name, spec))
    return root


def layered(root: Path, emu: Harness | None) -> Path:
    return write(root, emu, {"fleet-base": BASE, "site-east": EAST, "site-west": WEST})
