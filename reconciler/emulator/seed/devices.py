"""The seed's devices, bulk-inserted with the deployment of their release and configs."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from reconciler.emulator.ids import new_ids
from reconciler.emulator.seed.errors import SeedError
from reconciler.emulator.seed.instances import Instances, deployed_instances

DEFAULT_AGENT_VERSION = "v0.9.2"


def devices(
    conn: sqlite3.Connection,
    entries: list[dict[str, Any]],
    shapes: list[str],
    groups: dict[str, str],
    releases: dict[str, str],
    at: float,
) -> int:
    batch = _Batch(conn, shapes, groups, releases, at, len(entries))
    for i, d in enumerate(entries):
        batch.add(i, d)
    conn.executemany("INSERT INTO config_instances VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch.known.rows)
    conn.executemany(
        "INSERT INTO devices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch.devices
    )
    conn.executemany(
        "INSERT INTO deployments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch.deployments
    )
    conn.executemany("INSERT INTO deployment_instances VALUES (?, ?, ?)", batch.links)
    return len(batch.devices)


class _Batch:
    """The rows of a seed's devices, their deployments and the deployments' instances."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        shapes: list[str],
        groups: dict[str, str],
        releases: dict[str, str],
        at: float,
        count: int,
    ) -> None:
        self.conn, self.shapes, self.groups, self.releases, self.at = conn, shapes, groups, releases, at
        self.taken = {r[0] for r in conn.execute("SELECT name FROM devices")}
        self.taken_ids = {r[0] for r in conn.execute("SELECT id FROM devices")}
        self.known = Instances()
        # Fleets repeat a few (release, configs) shapes: each is resolved to instances once.
        self.resolved: dict[str, list[str]] = {}
        self.device_ids = iter(new_ids("dvc", count))
        self.deployment_ids = iter(new_ids("dpl", count))
        self.devices: list[tuple[Any, ...]] = []
        self.deployments: list[tuple[Any, ...]] = []
        self.links: list[tuple[Any, ...]] = []

    def add(self, i: int, d: dict[str, Any]) -> None:
        at, where = self.at, f"devices[{i}] ({d['name']})"
        device_id, group_id = self._identify(where, d)
        status = d.get("status", "online")
        agent = d.get("agent") or {}
        agent_version = d.get("agent_version", None if status == "inactive" else DEFAULT_AGENT_VERSION)
        connected = at if status in ("online", "offline") else None
        disconnected = at if status == "offline" else None
        target, release_id = self._deployment(i, where, d, device_id)
        behaviour = (agent.get("behaviour", "ok"), float(agent.get("delay", 1.0)))
        seen = (connected, disconnected, at, at)
        device = (device_id, d["name"], d.get("description"), status, agent_version, group_id)
        self.devices.append((*device, *seen, target, target, release_id, *behaviour))

    def _identify(self, where: str, d: dict[str, Any]) -> tuple[str, str | None]:
        """The device's id and group id; its name and id are new."""
        if d["name"] in self.taken:
            raise SeedError(f"{where}: a device with this name already exists")
        self.taken.add(d["name"])
        group_id = None
        if d.get("group") is not None:
            if d["group"] not in self.groups:
                raise SeedError(f"{where}.group: unknown or ambiguous group {d['group']!r}")
            group_id = self.groups[d["group"]]
        device_id: str = d.get("id") or next(self.device_ids)
        if device_id in self.taken_ids:
            raise SeedError(f"{where}.id: a device with id {device_id!r} already exists")
        self.taken_ids.add(device_id)
        return device_id, group_id

    def _deployment(
        self, i: int, where: str, d: dict[str, Any], device_id: str
    ) -> tuple[str | None, str | None]:
        """The deployed deployment of the device's release and configs: (its id, the release id)."""
        configs: Mapping[str, Any] = d.get("configs") or {}
        if d.get("release") is None:
            if configs:
                raise SeedError(f"{where}.configs: configs need a release")
            return None, None
        if d["release"] not in self.releases:
            raise SeedError(f"{where}.release: unknown release {d['release']!r}")
        release_id, at = self.releases[d["release"]], self.at
        shape = self.shapes[i]  # the whole device but its name: the same release and configs
        chosen = self.resolved.get(shape)
        if chosen is None:
            chosen = deployed_instances(self.conn, self.known, where, d["release"], release_id, configs, at)
            self.resolved[shape] = chosen
        target = next(self.deployment_ids)
        state = ("deployed", "deployed", "none")  # target, activity and error status
        times = (at, at, None, at, at, None, None)
        self.deployments.append(
            (target, device_id, release_id, d.get("description", "seed"), None, *state, *times)
        )
        self.links.extend((target, inst, n) for n, inst in enumerate(chosen))
        return target, release_id
