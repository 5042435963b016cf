"""The admin API's devices: read one with its agent and pointers, or change its status, group or
agent (behaviour, delay); waiting deployments are rescheduled."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import agents, store, views
from reconciler.emulator.endpoint import admin
from reconciler.emulator.errors import invalid, not_found
from reconciler.emulator.http import Ctx, ok

DEVICE_STATUSES = ("online", "offline", "inactive", "activating", "archived")


def patch_device(ctx: Ctx) -> Response:
    body = ctx.obj()
    ident = ctx.path("device")
    row = ctx.conn.execute("SELECT * FROM devices WHERE id = ? OR name = ?", (ident, ident)).fetchone()
    if row is None:
        raise not_found("device", ident)
    fields: dict[str, Any] = {}
    unknown = set(body) - {"status", "group_id", "group", "agent"}
    if unknown:
        raise invalid(f"unknown field(s): {', '.join(sorted(unknown))}")
    if "status" in body:
        if body["status"] not in DEVICE_STATUSES:
            raise invalid("status must be one of " + ", ".join(DEVICE_STATUSES), field="status")
        fields["status"] = body["status"]
    if "group_id" in body or "group" in body:
        fields["group_id"] = _group_id(ctx, body.get("group_id", body.get("group")))
    fields.update(_agent_fields(body.get("agent")))
    with store.write(ctx.conn):
        agents.set_agent(ctx.conn, row["id"], fields, ctx.now)
    return ok(device_view(ctx, row["id"]))


def device_view(ctx: Ctx, device_id: str) -> dict[str, Any]:
    row = ctx.conn.execute("SELECT * FROM devices WHERE id = ?", (device_id,)).fetchone()
    body = views.devices(ctx.conn, [row])[0]
    body["agent"] = {"behaviour": row["behaviour"], "delay": row["delay"]}
    body["target_deployment_id"] = row["target_deployment_id"]
    body["live_deployment_id"] = row["live_deployment_id"]
    body["current_release_id"] = row["current_release_id"]
    return body


def get_device(ctx: Ctx) -> Response:
    ident = ctx.path("device")
    row = ctx.conn.execute("SELECT id FROM devices WHERE id = ? OR name = ?", (ident, ident)).fetchone()
    if row is None:
        raise not_found("device", ident)
    return ok(device_view(ctx, row["id"]))


def _group_id(ctx: Ctx, ref: Any) -> str | None:
    """The group a device moves to, by id or name (404 when none); None takes it out of its group."""
    if ref is None:
        return None
    grp = ctx.conn.execute(
        "SELECT id FROM groups WHERE id = ? OR name = ? ORDER BY id = ? DESC", (ref, ref, ref)
    ).fetchone()
    if grp is None:
        raise not_found("group", str(ref))
    return str(grp["id"])


def _agent_fields(agent: Any) -> dict[str, Any]:
    """The agent's behaviour and delay (seconds, at most a year), checked."""
    fields: dict[str, Any] = {}
    if agent is None:
        return fields
    if not isinstance(agent, dict) or set(agent) - {"behaviour", "delay"}:
        raise invalid("agent takes behaviour and delay", field="agent")
    if "behaviour" in agent:
        if agent["behaviour"] not in agents.BEHAVIOURS:
            raise invalid(
                "agent.behaviour must be one of " + ", ".join(agents.BEHAVIOURS), field="agent.behaviour"
            )
        fields["behaviour"] = agent["behaviour"]
    if "delay" in agent:
        delay = agent["delay"]
        if (
            isinstance(delay, bool)
            or not isinstance(delay, (int, float))
            or not 0 <= delay <= agents.MAX_DELAY
        ):
            raise invalid(
                f"agent.delay must be a number of seconds, 0..{agents.MAX_DELAY:.0f}", field="agent.delay"
            )
        fields["delay"] = float(delay)
    return fields


routes = [
    Route("/devices/{device}", admin(patch_device), methods=["PATCH"]),
    Route("/devices/{device}", admin(get_device), methods=["GET"]),
]
