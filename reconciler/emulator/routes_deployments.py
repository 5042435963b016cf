"""Deployments: create (staged | deployed) with the slot and release rules and the `parent_id`
concurrency token, deploy, archive, drifts. Every check that depends on device state runs
inside the same write transaction as the write, so concurrent creates cannot both pass."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import agents, platform, views
from reconciler.emulator.endpoint import api
from reconciler.emulator.errors import conflict, invalid, unprocessable
from reconciler.emulator.fields import req_str
from reconciler.emulator.http import Ctx
from reconciler.emulator.listing import new_filter
from reconciler.emulator.resources import Resource
from reconciler.emulator.routes_devices import DEVICES
from reconciler.emulator.routes_releases import RELEASES
from reconciler.emulator.store import new_id, write

DEPLOYMENTS = Resource(
    "deployments",
    "deployment",
    "deployment_id",
    views.deployments,
    filters=("id", "device_id", "release_id"),
    enums={
        "target_status": ("staged", "deployed", "archived"),
        "activity_status": ("drifted", "staged", "queued", "deployed", "removing", "archived"),
        "error_status": ("none", "failed", "retrying"),
    },
)
_UNSET = object()


def check_instances(conn: sqlite3.Connection, release_id: str, instance_ids: list[str]) -> None:
    """Every required slot of every schema of the release filled, at most one instance per
    slot, and every instance bound to one of the release's schemas (422 otherwise)."""
    schema_ids = views.release_schema_ids(conn, release_id)
    schemas = (
        {
            r["id"]: r
            for r in conn.execute(
                f"SELECT s.*, t.slug FROM config_schemas s JOIN config_types t ON t.id = s.config_type_id "
                f"WHERE s.id IN ({', '.join('?' for _ in schema_ids)})",
                schema_ids,
            )
        }
        if schema_ids
        else {}
    )
    if len(set(instance_ids)) != len(instance_ids):
        raise unprocessable(
            "config_instance_ids lists an instance twice",
            code="duplicate_instance",
            field="config_instance_ids",
        )
    filled: dict[tuple[str, str], str] = {}
    for instance_id in instance_ids:
        inst = conn.execute("SELECT * FROM config_instances WHERE id = ?", (instance_id,)).fetchone()
        if inst is None:
            raise unprocessable(
                f"config instance {instance_id!r} does not exist",
                code="unknown_config_instance",
                config_instance_id=instance_id,
            )
        if inst["config_schema_id"] not in schemas:
            raise unprocessable(
                f"config instance {instance_id!r} belongs to config schema {inst['config_schema_id']!r}, "
                "which is not part of the release",
                code="schema_not_in_release",
                config_instance_id=instance_id,
                config_schema_id=inst["config_schema_id"],
                release_schema_ids=schema_ids,
            )
        slot = (inst["config_schema_id"], inst["slot_key"])
        if slot in filled:
            slug = schemas[slot[0]]["slug"]
            raise unprocessable(
                f"slot {slug}/{slot[1]} has more than one config instance",
                code="slot_filled_twice",
                slot=f"{slug}/{slot[1]}",
                config_instance_ids=[filled[slot], instance_id],
            )
        filled[slot] = instance_id
    missing = []
    for schema_id in schema_ids:
        s = schemas[schema_id]
        for slot_def in json.loads(s["slots"]):
            if slot_def["required"] and (schema_id, slot_def["key"]) not in filled:
                missing.append(f"{s['slug']}/{slot_def['key']}")
    if missing:
        raise unprocessable(
            f"required slot(s) not filled: {', '.join(missing)}",
            code="required_slot_missing",
            missing_slots=missing,
        )


def _check_not_archived(device: sqlite3.Row) -> None:
    if device["status"] == "archived":
        raise unprocessable(
            f"device {device['name']!r} is archived", code="device_archived", device_id=device["id"]
        )


def check_parent(conn: sqlite3.Connection, device: sqlite3.Row, parent: Any) -> str | None:
    """The tristate token: omitted -> no check; null -> no current target; id -> equal to it.
    Returns the parent id to store (the current target when omitted). The spec compares it
    with the device's `target_deployment_id` under every reading of "current" (even when the
    device still reports the deployment its agent last confirmed)."""
    current = device["target_deployment_id"]
    if parent is _UNSET:
        return str(current) if current else None
    if parent != current:
        raise conflict(
            "parent_id does not match the device's current target deployment "
            f"(expected {parent!r}, it is {current!r})",
            code="parent_mismatch",
            device_id=device["id"],
            parent_id=parent,
            current_deployment_id=current,
        )
    return str(current) if current else None


def create_deployment(conn: sqlite3.Connection, body: dict[str, Any], at: float) -> str:
    target_status = req_str(body, "target_status")
    if target_status not in ("staged", "deployed"):
        raise invalid("target_status must be staged or deployed", field="target_status")
    description = body.get("description")
    if not isinstance(description, str):
        raise invalid("description is required and must be a string", field="description")
    instance_ids = body.get("config_instance_ids")
    if not isinstance(instance_ids, list) or not all(isinstance(i, str) for i in instance_ids):
        raise invalid(
            "config_instance_ids is required and must be a list of strings", field="config_instance_ids"
        )
    parent = body.get("parent_id", _UNSET)
    if parent is not _UNSET and parent is not None and not isinstance(parent, str):
        raise invalid("parent_id must be a string or null", field="parent_id")
    device_id, release_id = req_str(body, "device_id"), req_str(body, "release_id")
    with write(conn):
        device = DEVICES.row(conn, device_id)
        RELEASES.row(conn, release_id)
        _check_not_archived(device)
        check_instances(conn, release_id, instance_ids)
        current_release = platform.device_current(conn, device)[1]
        if (
            target_status == "deployed"
            and current_release is None
            and platform.current().first_deploy == "staged_only"
        ):
            raise unprocessable(
                "the device has no current release: its first deployment is staged, then deployed",
                code="release_not_current",
                device_id=device_id,
                release_id=release_id,
                current_release_id=None,
            )
        if target_status == "deployed" and current_release not in (None, release_id):
            raise unprocessable(
                "a deployment can be created as deployed only for the device's current release; "
                "stage it and deploy it to change the release",
                code="release_not_current",
                device_id=device_id,
                release_id=release_id,
                current_release_id=current_release,
            )
        if target_status == "staged" and current_release == release_id:
            raise unprocessable(
                "a deployment can be staged only for a release other than the device's current one; "
                "create it as deployed to patch configs",
                code="release_is_current",
                device_id=device_id,
                release_id=release_id,
            )
        parent_id = check_parent(conn, device, parent)
        deployment_id = new_id("dpl")
        conn.execute(
            "INSERT INTO deployments (id, device_id, release_id, description, parent_id, target_status, "
            "activity_status, error_status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, 'staged', 'staged', 'none', ?, ?)",
            (deployment_id, device_id, release_id, description, parent_id, at, at),
        )
        conn.executemany(
            "INSERT INTO deployment_instances VALUES (?, ?, ?)",
            [(deployment_id, inst, i) for i, inst in enumerate(instance_ids)],
        )
        # One staged deployment per device: staging again archives the previous one; a config
        # patch on the current release drifts it (it was staged against other configs).
        others = conn.execute(
            "SELECT id FROM deployments WHERE device_id = ? AND id != ? AND target_status = 'staged' "
            "AND activity_status IN ('staged', 'drifted')",
            (device_id, deployment_id),
        ).fetchall()
        if target_status == "staged":
            for other in others:
                agents.archive_now(conn, other["id"], at)
        else:
            for other in others:
                conn.execute(
                    "UPDATE deployments SET activity_status = 'drifted', updated_at = ? "
                    "WHERE id = ? AND activity_status = 'staged'",
                    (at, other["id"]),
                )
            agents.make_target(conn, deployment_id, at)
    return deployment_id


def create(ctx: Ctx) -> Response:
    expand = DEPLOYMENTS.expansions(ctx)
    body = ctx.obj()
    # The spec: `deployments:stage` when staging, `deployments:deploy` when deploying.
    if body.get("target_status") in ("staged", "deployed"):
        ctx.require("deployments:stage" if body["target_status"] == "staged" else "deployments:deploy")
    deployment_id = create_deployment(ctx.conn, body, ctx.now)
    return DEPLOYMENTS.one(ctx, DEPLOYMENTS.row(ctx.conn, deployment_id), expand)


def deploy(ctx: Ctx) -> Response:
    expand = DEPLOYMENTS.expansions(ctx)
    with write(ctx.conn):
        row = DEPLOYMENTS.row(ctx.conn, ctx.path("deployment_id"))
        if row["activity_status"] == "drifted":
            raise conflict(
                "the deployment drifted (the device was patched since it was staged); "
                "archive it and stage again",
                code="deployment_drifted",
                deployment_id=row["id"],
            )
        if row["target_status"] != "staged" or row["activity_status"] != "staged":
            raise conflict(
                f"only a staged deployment can be deployed (this one is {row['activity_status']})",
                code="invalid_state",
                deployment_id=row["id"],
                status=row["activity_status"],
            )
        _check_not_archived(DEVICES.row(ctx.conn, row["device_id"]))
        agents.make_target(ctx.conn, row["id"], ctx.now)
    return DEPLOYMENTS.one(ctx, DEPLOYMENTS.row(ctx.conn, row["id"]), expand)


def archive(ctx: Ctx) -> Response:
    expand = DEPLOYMENTS.expansions(ctx)
    with write(ctx.conn):
        row = DEPLOYMENTS.row(ctx.conn, ctx.path("deployment_id"))
        if row["activity_status"] not in ("staged", "drifted"):
            raise conflict(
                f"only staged or drifted deployments can be archived (this one is {row['activity_status']})",
                code="invalid_state",
                deployment_id=row["id"],
                status=row["activity_status"],
            )
        agents.archive_now(ctx.conn, row["id"], ctx.now)
    return DEPLOYMENTS.one(ctx, DEPLOYMENTS.row(ctx.conn, row["id"]), expand)


def drifts(ctx: Ctx) -> Response:
    """The deployments sent to the device (created or deployed as `deployed`) since this one
    was staged."""
    row = DEPLOYMENTS.row(ctx.conn, ctx.path("deployment_id"))
    flt = new_filter()
    flt.add("device_id = ?", row["device_id"])
    # Insertion order (SQLite's rowid), which stays exact when the manual clock stands still and
    # when ids are random (the `ids: random` switch). Only later deployments can count: staging
    # again archives an earlier staged one.
    flt.add("rowid > (SELECT rowid FROM deployments WHERE id = ?)", row["id"])
    flt.add("queued_at IS NOT NULL")
    return DEPLOYMENTS.page(ctx, flt)


routes = [
    Route("/deployments", api("deployments", DEPLOYMENTS.list), methods=["GET"]),
    Route("/deployments", api("deployments", create), methods=["POST"]),
    Route("/deployments/{deployment_id}", api("deployments", DEPLOYMENTS.get), methods=["GET"]),
    Route(
        "/deployments/{deployment_id}/deploy",
        api("deployments", deploy, needs=("deployments:deploy",)),
        methods=["POST"],
    ),
    Route(
        "/deployments/{deployment_id}/archive",
        api("deployments", archive, needs=("deployments:archive",)),
        methods=["POST"],
    ),
    Route("/deployments/{deployment_id}/drifts", api("deployments", drifts), methods=["GET"]),
]
