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
    taken = {r[0] for r in conn.execute("SELECT name FROM devices")}
    taken_ids = {r[0] for r in conn.execute("SELECT id FROM devices")}
    known = Instances()
    device_rows: list[tuple[Any, ...]] = []
    deployment_rows: list[tuple[Any, ...]] = []
    link_rows: list[tuple[Any, ...]] = []
    # Fleets repeat a few (release, configs) shapes: each is resolved to instances once.
    resolved: dict[str, list[str]] = {}
    device_ids = iter(new_ids("dvc", len(entries)))
    deployment_ids = iter(new_ids("dpl", len(entries)))
    for i, d in enumerate(entries):
        where = f"devices[{i}] ({d['name']})"
        if d["name"] in taken:
            raise SeedError(f"{where}: a device with this name already exists")
        taken.add(d["name"])
        group_id = None
        if d.get("group") is not None:
            if d["group"] not in groups:
                raise SeedError(f"{where}.group: unknown or ambiguous group {d['group']!r}")
            group_id = groups[d["group"]]
        status = d.get("status", "online")
        agent = d.get("agent") or {}
        device_id = d.get("id") or next(device_ids)
        if device_id in taken_ids:
            raise SeedError(f"{where}.id: a device with id {device_id!r} already exists")
        taken_ids.add(device_id)
        agent_version = d.get("agent_version", None if status == "inactive" else DEFAULT_AGENT_VERSION)
        connected = at if status in ("online", "offline") else None
        disconnected = at if status == "offline" else None
        target = release_id = None
        configs: Mapping[str, Any] = d.get("configs") or {}
        if d.get("release") is not None:
            if d["release"] not in releases:
                raise SeedError(f"{where}.release: unknown release {d['release']!r}")
            release_id = releases[d["release"]]
            shape = shapes[i]  # the whole device but its name: the same release and configs
            chosen = resolved.get(shape)
            if chosen is None:
                chosen = resolved[shape] = deployed_instances(
                    conn, known, where, d["release"], release_id, configs, at
                )
            target = next(deployment_ids)
            description = d.get("description", "seed")
            state = ("deployed", "deployed", "none")  # target, activity and error status
            times = (at, at, None, at, at, None, None)
            deployment_rows.append((target, device_id, release_id, description, None, *state, *times))
            link_rows.extend((target, inst, n) for n, inst in enumerate(chosen))
        elif configs:
            raise SeedError(f"{where}.configs: configs need a release")
        behaviour = (agent.get("behaviour", "ok"), float(agent.get("delay", 1.0)))
        seen = (connected, disconnected, at, at)
        device = (device_id, d["name"], d.get("description"), status, agent_version, group_id)
        device_rows.append((*device, *seen, target, target, release_id, *behaviour))
    conn.executemany("INSERT INTO config_instances VALUES (?, ?, ?, ?, ?, ?, ?, ?)", known.rows)
    conn.executemany("INSERT INTO devices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", device_rows)
    conn.executemany(
        "INSERT INTO deployments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", deployment_rows
    )
    conn.executemany("INSERT INTO deployment_instances VALUES (?, ?, ?)", link_rows)
    return len(device_rows)
