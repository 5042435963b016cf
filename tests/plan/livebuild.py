"""Hand-built live state and projects for the pure planner's tests (no I/O).

The fleet mirrors the example: motion-control (json, jsonschema), localization (yaml,
jsonschema), operator-notes (text, opaque, optional) in releases v1.4.1 and v1.4.2.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from reconciler.errors import Location
from reconciler.model.enums import ActivityStatus, DeviceStatus, ErrorStatus, TargetStatus
from reconciler.model.live import (
    LiveConfigType,
    LiveDeployment,
    LiveDevice,
    LiveGroup,
    LiveInstance,
    LiveRelease,
    LiveSchema,
    LiveSlot,
    LiveState,
)
from reconciler.model.project import (
    ConfigSpec,
    DeploymentSet,
    EmulatorTarget,
    Override,
    Project,
    Selector,
)
from reconciler.model.rollout import Activation, RolloutSpec
from reconciler.plan import content as C
from tests.harness import (
    LOCALIZATION_CONFIG,
    LOCALIZATION_V1,
    MOTION_CONFIG,
    MOTION_V1,
    MOTION_V2,
    NOTES_CONFIG,
)

# The example schemas and content (tests/harness.py), with motion-control's `safety` left open
# so tests can add and remove keys inside it.
MC_V1: dict[str, Any] = copy.deepcopy(MOTION_V1)
MC_V1["properties"]["safety"] = {
    k: v for k, v in MC_V1["properties"]["safety"].items() if k in ("type", "properties")
}
MC_V2: dict[str, Any] = copy.deepcopy(MOTION_V2)
MC_V2["properties"]["safety"] = MC_V1["properties"]["safety"]
LOC_V1 = LOCALIZATION_V1
MC = MOTION_CONFIG
LOC = LOCALIZATION_CONFIG
NOTES = NOTES_CONFIG

TYPES = {
    "ct_mc": LiveConfigType("ct_mc", "motion-control", "Motion Control"),
    "ct_loc": LiveConfigType("ct_loc", "localization", "Localization"),
    "ct_notes": LiveConfigType("ct_notes", "operator-notes", "Operator Notes"),
    "ct_other": LiveConfigType("ct_other", "camera", "Camera"),
}


def _slot(name: str, path: str, required: bool = True) -> tuple[LiveSlot, ...]:
    return (LiveSlot("default", path, required),)


SCHEMAS = {
    "cs_mc1": LiveSchema(
        "cs_mc1",
        "ct_mc",
        "motion-control",
        "jsonschema",
        "json",
        _slot("default", "/srv/miru/configs/motion-control.json"),
        (("schema.json", json.dumps(MC_V1)),),
    ),
    "cs_mc2": LiveSchema(
        "cs_mc2",
        "ct_mc",
        "motion-control",
        "jsonschema",
        "json",
        _slot("default", "/srv/miru/configs/motion-control.json"),
        (("schema.json", json.dumps(MC_V2)),),
    ),
    "cs_loc1": LiveSchema(
        "cs_loc1",
        "ct_loc",
        "localization",
        "jsonschema",
        "yaml",
        _slot("default", "/srv/miru/configs/localization.yaml"),
        (("schema.yaml", json.dumps(LOC_V1)),),
    ),
    "cs_notes": LiveSchema(
        "cs_notes",
        "ct_notes",
        "operator-notes",
        "opaque",
        "text",
        _slot("default", "/srv/miru/configs/operator-notes.txt", required=False),
    ),
}
RELEASES = {
    "rl_141": LiveRelease("rl_141", "v1.4.1", ("cs_loc1", "cs_mc1", "cs_notes")),
    "rl_142": LiveRelease("rl_142", "v1.4.2", ("cs_loc1", "cs_mc2", "cs_notes")),
}
GROUPS = {
    "g_fleet": LiveGroup("g_fleet", "fleet"),
    "g_east": LiveGroup("g_east", "warehouse-east", "g_fleet"),
    "g_west": LiveGroup("g_west", "warehouse-west", "g_fleet"),
    "g_lab": LiveGroup("g_lab", "lab"),
}


def data_of(schema_id: str, value: Any) -> str:
    return _data_of(schema_id, json.dumps(value, sort_keys=True))


@functools.cache
def _data_of(schema_id: str, value_json: str) -> str:
    return C.canonical(json.loads(value_json), SCHEMAS[schema_id].instance_format)


class Fleet:
    """A mutable builder; `.state()` freezes it into a LiveState."""

    def __init__(self) -> None:
        self.devices: dict[str, LiveDevice] = {}
        self.deployments: dict[str, LiveDeployment] = {}
        self.instances: dict[str, LiveInstance] = {}
        self.n = 0
        self.by_content: dict[tuple[str, str], str] = {}

    def instance(self, schema_id: str, value: Any) -> str:
        data = data_of(schema_id, value)
        known = self.by_content.get((schema_id, data))
        if known is not None:
            return known
        self.n += 1
        iid = f"ci_{self.n}"
        s = SCHEMAS[schema_id]
        self.instances[iid] = LiveInstance(
            iid, schema_id, s.config_type_id, "default", s.slots[0].filepath, s.instance_format, data
        )
        self.by_content[(schema_id, data)] = iid
        return iid

    def deployment(
        self,
        device_id: str,
        release_id: str,
        target: str,
        activity: str,
        mc: Any = None,
        description: str = "by hand",
        error: str = "none",
    ) -> str:
        self.n += 1
        did = f"dp_{self.n}"
        mc_schema = "cs_mc1" if release_id == "rl_141" else "cs_mc2"
        ids = (
            self.instance(mc_schema, mc if mc is not None else MC),
            self.instance("cs_loc1", LOC),
            self.instance("cs_notes", NOTES),
        )
        self.deployments[did] = LiveDeployment(
            did,
            device_id,
            release_id,
            TargetStatus(target),
            ActivityStatus(activity),
            ErrorStatus(error),
            activity if error == "none" else error,
            description,
            ids,
            created_at=f"2026-01-01T00:00:{self.n:02d}Z",
        )
        return did

    def device(
        self,
        name: str,
        group: str = "g_east",
        status: str = "online",
        release: str | None = "rl_141",
        mc: Any = None,
    ) -> LiveDevice:
        did = f"dv_{name}"
        dep = self.deployment(did, release, "deployed", "deployed", mc) if release else None
        dev = LiveDevice(
            did,
            name,
            DeviceStatus(status),
            group,
            release,
            RELEASES[release].version if release else None,
            dep,
        )
        self.devices[name] = dev
        return dev

    def state(self) -> LiveState:
        by_device: dict[str, list[str]] = {}
        for d in self.deployments.values():
            by_device.setdefault(d.device_id, []).append(d.id)
        return LiveState(
            devices=dict(self.devices),
            groups=GROUPS,
            config_types=TYPES,
            releases=RELEASES,
            schemas=SCHEMAS,
            deployments=dict(self.deployments),
            instances=dict(self.instances),
            by_device={k: tuple(v) for k, v in by_device.items()},
        )


def loc(line: int, file: str = "deploymentsets/warehouse.yaml") -> Location:
    return Location(file, line, 3)


def configs(mc_values: dict[str, Any] | None = None, *, with_notes: bool = True) -> tuple[ConfigSpec, ...]:
    out = [
        ConfigSpec(
            "motion-control",
            file="configs/motion-control.json",
            base=MC,
            values=mc_values,
            format="json",
            location=loc(10),
            file_locations={"$.max_speed": Location("configs/motion-control.json", 2, 16)},
        ),
        ConfigSpec(
            "localization", file="configs/localization.yaml", base=LOC, format="yaml", location=loc(14)
        ),
    ]
    if with_notes:
        out.append(
            ConfigSpec(
                "operator-notes",
                file="configs/operator-notes.txt",
                base=NOTES,
                format="text",
                location=loc(16),
            )
        )
    return tuple(out)


def dset(
    name: str = "warehouse-amrs",
    *,
    groups: tuple[str, ...] = ("fleet",),
    release: str = "v1.4.1",
    mc_values: dict[str, Any] | None = None,
    overrides: tuple[Override, ...] = (),
    activation: str = "deploy",
    **selector: Any,
) -> DeploymentSet:
    return DeploymentSet(
        name=name,
        selector=Selector(groups=groups, location=loc(5), **selector),
        release=release,
        configs=configs(mc_values),
        overrides=overrides,
        rollout=RolloutSpec(activation=Activation(activation)),
        location=loc(1),
        release_location=loc(8),
    )


def project(*sets: DeploymentSet) -> Project:
    return Project(root=Path("/nonexistent"), target=EmulatorTarget(), sets=tuple(sets))
