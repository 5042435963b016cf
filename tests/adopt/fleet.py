"""A fleet already deployed by hand, as `reconcile import` meets it: mixed releases, per-device
content, optional slots left empty, devices directly in a parent group, offline devices, devices
never enrolled or never deployed, and staged and drifted deployments made through the SDK."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from miru_platform_sdk.types import InstanceContentParam

from tests.apply.helpers import all_pages
from tests.harness import Harness, as_dict, example_configs, example_platform, instance_content, items


def mixed_fleet(n: int) -> dict[str, Any]:
    seed = example_platform()
    devices: list[dict[str, Any]] = []
    groups = ("warehouse-east", "warehouse-west", "lab", "fleet")
    for i in range(n):
        configs = example_configs()
        if i % 7 == 0:
            configs["motion-control"]["max_speed"] = 0.8  # a per-device override
        if i % 13 == 0:
            configs["localization"]["particle_count"] = 800
            configs["motion-control"]["safety"]["lidar_zones"] = ["front"]
        if i % 17 == 0:
            del configs["motion-control"]["max_accel"]
            configs["motion-control"]["max_accel"] = 0.25
        if i % 31 == 0:
            del configs["operator-notes"]  # an optional slot left empty
        if i % 23 == 0:
            configs["operator-notes"] = f"Dock {i % 3}: mind the step.\n"
        if i % 4 == 2 and i % 9:  # most lab devices carry a key the others lack (removed by `null`)
            configs["localization"]["frame"] = "map"
        if i == 2:  # a null value: no merge patch can set it, so a DeploymentSet of its own
            configs["localization"]["frame"] = None
        release = "v1.4.2" if i % 5 == 0 else "v1.4.1"
        if release == "v1.4.2" and i % 3 == 0:
            configs["motion-control"]["docking"] = {"approach_speed": 0.3}
        status = "offline" if i % 11 == 0 else "online"
        devices.append(
            {
                "name": f"robot-{i:05d}",
                "group": groups[i % 4],
                "status": status,
                "release": release,
                "configs": configs,
                "agent": {"behaviour": "ok", "delay": 1.0},
            }
        )
    for i in range(max(2, n // 100)):
        devices.append({"name": f"spare-{i:03d}", "group": "warehouse-east", "status": "inactive"})
        devices.append({"name": f"fresh-{i:03d}", "group": "lab", "status": "online"})  # no deployment
    seed["devices"] = devices
    return seed


def _content(fmt: str, value: Any) -> InstanceContentParam:
    data = value if fmt == "text" else json.dumps(value) if fmt == "json" else yaml.safe_dump(value)
    return instance_content(fmt, data)


async def stage_and_drift(emu: Harness, names: list[str], drifted: list[str]) -> None:
    """Stage v1.4.2 for `names` (as a person in the dashboard would); for `drifted`, then patch
    their current release with new content, which drifts the staged deployment."""
    sdk = emu.sdk()
    releases = {r["version"]: r for r in items(await sdk.releases.list(limit=100, expand=["config_schemas"]))}
    schemas = {s["id"]: s for s in items(await sdk.config_schemas.list(limit=100, expand=["config_type"]))}

    def slug_of(sid: str) -> str:
        s = schemas[sid]
        ct = s.get("config_type") or {}
        return str(ct.get("slug") or "")

    async def instances(version: str, motion: dict[str, Any]) -> list[str]:
        rel = releases[version]
        out = []
        for s in rel.get("config_schemas") or []:
            slug = slug_of(s["id"])
            cfg = example_configs()
            cfg["motion-control"] = motion
            fmt = schemas[s["id"]]["instance_format"]
            inst = await sdk.config_instances.create(
                config_schema_id=s["id"], content=_content(fmt, cfg[slug])
            )
            out.append(as_dict(inst)["id"])
        return out

    staged_ids = await instances("v1.4.2", example_configs()["motion-control"])
    patched = copy.deepcopy(example_configs()["motion-control"])
    patched["max_speed"] = 1.7
    patch_ids = await instances("v1.4.1", patched)
    by_name = {as_dict(d)["name"]: as_dict(d) for d in await all_pages(sdk.devices.list)}
    for name in names:
        await sdk.deployments.create(
            device_id=by_name[name]["id"],
            release_id=releases["v1.4.2"]["id"],
            config_instance_ids=staged_ids,
            target_status="staged",
            description="staged by hand",
        )
    for name in drifted:
        await sdk.deployments.create(
            device_id=by_name[name]["id"],
            release_id=releases["v1.4.1"]["id"],
            config_instance_ids=patch_ids,
            target_status="deployed",
            description="patched from the dashboard",
        )
    await emu.tick(5)


def emulator_project(root: Path, emu: Harness) -> Path:
    """A folder holding only reconcile.yaml, targeting the harness's emulator."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "reconcile.yaml").write_text(
        yaml.safe_dump({"target": {"emulator": {"db": str(Path(emu.db).resolve())}}})
    )
    return root
