"""Edits "made in the dashboard": deployments created straight through the SDK, the way a
person or another tool would change a device behind the manifests' back."""

from __future__ import annotations

import json
from typing import Any

import miru_platform_sdk

from tests.harness import MOTION_CONFIG


def _f(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name)


async def device_id(sdk: miru_platform_sdk.AsyncMiru, name: str) -> str:
    page = await sdk.devices.list(name=[name], limit=1)
    return str(_f(page.data[0], "id"))


async def instances_for(
    sdk: miru_platform_sdk.AsyncMiru, version: str, motion: dict[str, Any] | None = None
) -> tuple[str, list[str]]:
    """Create a full set of instances for release `version` (motion-control content given);
    returns (release id, instance ids)."""
    rel = (await sdk.releases.list(version=[version], expand=["config_schemas"], limit=1)).data[0]
    ids = []
    for s in _f(rel, "config_schemas") or []:
        schema = await sdk.config_schemas.retrieve(_f(s, "id"), expand=["config_type"])
        slug = schema.config_type.slug  # type: ignore[union-attr]
        data = {
            "motion-control": json.dumps(motion or MOTION_CONFIG, indent=2) + "\n",
            "localization": "map: warehouse-v3\nparticle_count: 500\nupdate_rate_hz: 10\n",
            "operator-notes": "Handle with care near the loading dock.\n",
        }[slug]
        inst = await sdk.config_instances.create(
            config_schema_id=schema.id, content={"data": data, "format": schema.instance_format}
        )
        ids.append(inst.id)
    return str(_f(rel, "id")), ids


async def _create(
    sdk: miru_platform_sdk.AsyncMiru,
    name: str,
    version: str,
    description: str,
    motion: dict[str, Any] | None,
    target_status: str,
) -> str:
    rel, ids = await instances_for(sdk, version, motion)
    dep = await sdk.deployments.create(
        device_id=await device_id(sdk, name),
        release_id=rel,
        config_instance_ids=ids,
        description=description,
        target_status=target_status,  # type: ignore[arg-type]
    )
    return dep.id


async def patch(
    sdk: miru_platform_sdk.AsyncMiru,
    name: str,
    motion: dict[str, Any],
    version: str = "v1.4.1",
    description: str = "dashboard edit",
) -> str:
    """A config patch on the device's current release (target deployed)."""
    return await _create(sdk, name, version, description, motion, "deployed")


async def stage(
    sdk: miru_platform_sdk.AsyncMiru,
    name: str,
    version: str = "v1.4.2",
    description: str = "staged by hand",
    motion: dict[str, Any] | None = None,
) -> str:
    """A release change left staged (target staged)."""
    return await _create(sdk, name, version, description, motion, "staged")
