"""Deployments: create (staged or deployed, `deployment_create`), deploy, archive, drifts. Every
check that depends on device state runs inside the same write transaction as the write, so
concurrent creates cannot both pass."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import agents, views
from reconciler.emulator.deployment_create import create_deployment
from reconciler.emulator.deployment_rules import check_not_archived
from reconciler.emulator.endpoint import api
from reconciler.emulator.errors import conflict
from reconciler.emulator.http import Ctx
from reconciler.emulator.listing import new_filter
from reconciler.emulator.resources import Resource
from reconciler.emulator.routes_devices import DEVICES
from reconciler.emulator.store import write

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
        check_not_archived(DEVICES.row(ctx.conn, row["device_id"]))
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
