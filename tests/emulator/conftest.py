"""`fleet`: the harness seeded with the example fleet, plus handles (ids by name) and a helper
that creates config instances for a release through the SDK."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import miru_platform_sdk
import pytest
import yaml

from tests.harness import Harness, as_dict, example_configs, example_fleet, instance_content, items


@dataclass
class Fleet:
    emu: Harness
    sdk: miru_platform_sdk.AsyncMiru
    releases: dict[str, str]  # version -> id
    schemas: dict[tuple[str, str], str]  # (release version, config type slug) -> schema id
    devices: dict[str, str]  # name -> id

    async def instances(self, version: str = "v1.4.1", *, notes: bool = True, **motion: Any) -> list[str]:
        """Create one instance per slot for `version`: the example configs with `motion`
        merged over motion-control. Returns their ids."""
        configs = example_configs()
        configs["motion-control"].update(motion)
        out = []
        for slug, fmt, text in (
            ("motion-control", "json", json.dumps(configs["motion-control"])),
            ("localization", "yaml", yaml.safe_dump(configs["localization"])),
            ("operator-notes", "text", configs["operator-notes"]),
        ):
            if slug == "operator-notes" and not notes:
                continue
            inst = await self.sdk.config_instances.create(
                config_schema_id=self.schemas[(version, slug)], content=instance_content(fmt, text)
            )
            out.append(inst.id)
        return out

    async def target(self, name: str) -> str | None:
        state = await self.emu.device_state(name)
        return state["target_deployment_id"]  # type: ignore[no-any-return]

    async def deployment(self, deployment_id: str) -> dict[str, Any]:
        return as_dict(await self.sdk.deployments.retrieve(deployment_id))


@pytest.fixture
async def fleet(emu: Harness) -> Fleet:
    await emu.seed(example_fleet())
    sdk = emu.sdk()
    types = {t["id"]: t["slug"] for t in items(await sdk.config_types.list(limit=100))}
    releases: dict[str, str] = {}
    schemas: dict[tuple[str, str], str] = {}
    for rel in items(await sdk.releases.list(limit=100, expand=["config_schemas"])):
        releases[rel["version"]] = rel["id"]
        for s in rel["config_schemas"]:
            schemas[(rel["version"], types[s["config_type_id"]])] = s["id"]
    devices = {d["name"]: d["id"] for d in items(await sdk.devices.list(limit=100))}
    return Fleet(emu, sdk, releases, schemas, devices)


@pytest.fixture(autouse=True)
def _default_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """The emulator's own tests check its default reading, or set the switches they test;
    RECONCILE_EMULATOR_PLATFORM is for running the product's scenarios under another one."""
    monkeypatch.delenv("RECONCILE_EMULATOR_PLATFORM", raising=False)
