"""Test harness for the emulator: an app over a tmp SQLite file with a manual clock, reached
over HTTP (ASGI transport) through the official SDK and the admin API.

    async def test_x(emu: Harness) -> None:
        await emu.seed(example_fleet())
        sdk = emu.sdk()
        page = await sdk.devices.list(limit=100)
        await emu.tick(2)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import httpx
import miru_platform_sdk
from miru_platform_sdk.types import InstanceContentParam
from starlette.applications import Starlette

from reconciler.emulator.app import create_app

RW_KEY = "emulator-local-rw"
RO_KEY = "emulator-local-ro"
VERSION = "2026-08-17.everglades"
BASE = "http://emulator.local"

InstanceFormat = Literal["json", "yaml", "jsonc", "xml", "text"]  # InstanceContentParam's `format`


def instance_content(fmt: str, data: str) -> InstanceContentParam:
    """The SDK's `content` for `config_instances.create`, from a format held as a plain str (a
    planned instance's, a schema's): passed on as it is, the emulator judges it."""
    return {"format": cast(InstanceFormat, fmt), "data": data}


MOTION_V1: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["max_speed", "max_accel", "safety"],
    "properties": {
        "max_speed": {"type": "number", "minimum": 0, "maximum": 3},
        "max_accel": {"type": "number", "minimum": 0, "maximum": 2},
        "safety": {
            "type": "object",
            "additionalProperties": False,
            "required": ["estop_timeout_ms", "lidar_zones"],
            "properties": {
                "estop_timeout_ms": {"type": "integer", "minimum": 50, "maximum": 1000},
                "lidar_zones": {"type": "array", "items": {"type": "string"}},
            },
        },
    },
}
MOTION_V2: dict[str, Any] = copy.deepcopy(MOTION_V1)
MOTION_V2["properties"]["docking"] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"approach_speed": {"type": "number", "minimum": 0, "maximum": 0.5}},
}
LOCALIZATION_V1: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["map", "particle_count", "update_rate_hz"],
    "properties": {
        "map": {"type": "string"},
        "particle_count": {"type": "integer", "minimum": 100, "maximum": 5000},
        "update_rate_hz": {"type": "number", "minimum": 1, "maximum": 50},
    },
}
MOTION_CONFIG: dict[str, Any] = {
    "max_speed": 1.0,
    "max_accel": 0.5,
    "safety": {"estop_timeout_ms": 200, "lidar_zones": ["front", "rear"]},
}
LOCALIZATION_CONFIG: dict[str, Any] = {"map": "warehouse-v3", "particle_count": 500, "update_rate_hz": 10}
NOTES_CONFIG = "Handle with care near the loading dock.\n"


def _slot(filepath: str, required: bool = True) -> list[dict[str, Any]]:
    return [{"key": "default", "filepath": filepath, "required": required}]


def example_platform() -> dict[str, Any]:
    """Groups, config types, schemas and releases of the example fleet (no devices)."""
    return {
        "groups": [
            {"name": "fleet"},
            {"name": "warehouse-east", "parent": "fleet"},
            {"name": "warehouse-west", "parent": "fleet"},
            {"name": "lab"},
        ],
        "config_types": [
            {"slug": "motion-control", "name": "Motion Control"},
            {"slug": "localization", "name": "Localization"},
            {"slug": "operator-notes", "name": "Operator Notes"},
        ],
        "config_schemas": [
            {
                "config_type": "motion-control",
                "version": "v1",
                "language": "jsonschema",
                "format": "json",
                "instance_format": "json",
                "slots": _slot("/srv/miru/configs/motion-control.json"),
                "document": MOTION_V1,
            },
            {
                "config_type": "motion-control",
                "version": "v2",
                "language": "jsonschema",
                "format": "json",
                "instance_format": "json",
                "slots": _slot("/srv/miru/configs/motion-control.json"),
                "document": MOTION_V2,
            },
            {
                "config_type": "localization",
                "version": "v1",
                "language": "jsonschema",
                "format": "yaml",
                "instance_format": "yaml",
                "slots": _slot("/srv/miru/configs/localization.yaml"),
                "document": LOCALIZATION_V1,
            },
            {
                "config_type": "operator-notes",
                "version": "v1",
                "language": "opaque",
                "format": "json",
                "instance_format": "text",
                "slots": [
                    {"key": "default", "filepath": "/srv/miru/configs/operator-notes.txt", "required": False}
                ],
            },
        ],
        "releases": [
            {"version": "v1.4.1", "schemas": ["motion-control@v1", "localization@v1", "operator-notes@v1"]},
            {"version": "v1.4.2", "schemas": ["motion-control@v2", "localization@v1", "operator-notes@v1"]},
        ],
    }


def example_configs() -> dict[str, Any]:
    return {
        "motion-control": copy.deepcopy(MOTION_CONFIG),
        "localization": dict(LOCALIZATION_CONFIG),
        "operator-notes": NOTES_CONFIG,
    }


def example_fleet(
    n_devices: int = 17,
    *,
    offline: Iterable[str] | None = None,
    release: str = "v1.4.1",
    delay: float = 1.0,
    spare: bool = True,
) -> dict[str, Any]:
    """The example fleet as a seed dict, for any number of devices.

    n_devices=17 (the default) is exactly the brief's fleet: amr-east-01..08 (warehouse-east),
    amr-west-01..06 (warehouse-west), lab-arm-01..03 (lab), amr-east-07 offline, plus the
    never-enrolled amr-spare-01 (when `spare`). Other sizes keep the 8:6:3 split with names
    zero-padded to the width of n (amr-east-00001, ...). All devices run `release` with the
    example configs and agent delay `delay`."""
    width = max(2, len(str(n_devices)))
    east = round(n_devices * 8 / 17)
    west = round(n_devices * 6 / 17)
    lab = n_devices - east - west
    names: list[tuple[str, str]] = []
    names += [(f"amr-east-{i:0{width}d}", "warehouse-east") for i in range(1, east + 1)]
    names += [(f"amr-west-{i:0{width}d}", "warehouse-west") for i in range(1, west + 1)]
    names += [(f"lab-arm-{i:0{width}d}", "lab") for i in range(1, lab + 1)]
    off = set(offline) if offline is not None else {f"amr-east-{7:0{width}d}"}
    configs = example_configs()
    seed = example_platform()
    devices: list[dict[str, Any]] = [
        {
            "name": name,
            "group": group,
            "status": "offline" if name in off else "online",
            "release": release,
            "configs": configs,
            "agent": {"behaviour": "ok", "delay": delay},
        }
        for name, group in names
    ]
    enrollments: list[dict[str, Any]] = []
    if spare:
        devices.append({"name": "amr-spare-01", "group": "warehouse-east", "status": "inactive"})
        enrollments.append(
            {
                "device": "amr-spare-01",
                "id": "c2d3e4f5-a6b7-8901-bcde-f12345678901",
                "status": "error",
                "enrollment_date": "2026-01-29T09:00:00.000Z",
                "enrollment_token_id": "e1f2a3b4-c5d6-7890-abcd-ef1234567890",
                "user_id": "a1d97031-04e2-4907-a249-093f7436207b",
                "error_logs": [
                    "2026-01-29T09:00:01Z: Starting deployment...",
                    "2026-01-29T09:00:05Z: Downloading agent package...",
                    "2026-01-29T09:00:15Z: Installation failed - insufficient permissions",
                    "2026-01-29T09:00:15Z: Deployment aborted",
                ],
                "created_at": "2026-01-29T09:00:00.000Z",
                "updated_at": "2026-01-29T09:00:15.000Z",
            }
        )
    seed["devices"] = devices
    seed["enrollments"] = enrollments
    return seed


def items(page: Any) -> list[dict[str, Any]]:
    """A list page's items as dicts (SDK 0.11.0 gives plain dicts or models, depending)."""
    return [x if isinstance(x, dict) else x.model_dump(mode="json") for x in page.data]


def as_dict(obj: Any) -> dict[str, Any]:
    return obj if isinstance(obj, dict) else dict(obj.model_dump(mode="json"))


@dataclass
class Harness:
    """An emulator over `db` (a tmp SQLite file, manual clock) and clients to drive it."""

    db: str
    app: Starlette
    admin: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        self.admin = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=BASE, headers={"X-API-Key": RW_KEY}
        )

    def sdk(
        self, *, key: str = RW_KEY, max_retries: int = 0, version: str = VERSION
    ) -> miru_platform_sdk.AsyncMiru:
        """The official SDK over the ASGI transport (everglades, rw key, no retries)."""
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app))
        return miru_platform_sdk.AsyncMiru(
            api_key=key,
            miru_version=version,
            base_url=f"{BASE}/beta",
            max_retries=max_retries,
            http_client=http,
        )

    def http(self, *, key: str | None = RW_KEY, version: str | None = VERSION) -> httpx.AsyncClient:
        """A raw client on /beta (for header and error-body checks the SDK hides)."""
        headers = {}
        if key is not None:
            headers["X-API-Key"] = key
        if version is not None:
            headers["Miru-Version"] = version
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=f"{BASE}/beta", headers=headers
        )

    async def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise AssertionError(
                f"{response.request.method} {response.request.url.path}: "
                f"{response.status_code} {response.text}"
            )
        return response.json()

    async def seed(self, data: Mapping[str, Any] | str) -> Any:
        body = data if isinstance(data, str) else json.dumps(data)
        return await self._ok(await self.admin.post("/_emulator/seed", content=body))

    async def reset(self) -> Any:
        return await self._ok(await self.admin.post("/_emulator/reset"))

    async def tick(self, seconds: float) -> Any:
        return await self._ok(await self.admin.post("/_emulator/tick", json={"seconds": seconds}))

    async def clock(self) -> Any:
        return await self._ok(await self.admin.get("/_emulator/clock"))

    async def patch_device(self, name_or_id: str, **fields: Any) -> Any:
        return await self._ok(await self.admin.patch(f"/_emulator/devices/{name_or_id}", json=fields))

    async def device_state(self, name_or_id: str) -> Any:
        """Admin view of a device: platform fields plus agent, target/live deployment ids."""
        return await self._ok(await self.admin.get(f"/_emulator/devices/{name_or_id}"))

    async def faults(self, rules: list[dict[str, Any]], seed: int | None = None) -> Any:
        body: dict[str, Any] = {"rules": rules}
        if seed is not None:
            body["seed"] = seed
        return await self._ok(await self.admin.put("/_emulator/faults", json=body))

    async def requests(self) -> Any:
        return await self._ok(await self.admin.get("/_emulator/requests"))

    async def events(self, name_or_id: str, after: int = 0) -> Any:
        return await self._ok(
            await self.admin.get(f"/_emulator/devices/{name_or_id}/events", params={"after": after})
        )

    def close(self) -> None:
        self.app.state.store.conn.close()


def make_harness(db: str, *, clock: str = "manual") -> Harness:
    return Harness(db=db, app=create_app(db, clock=clock))
