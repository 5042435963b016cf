"""Admin API under /_emulator/ for what the platform API cannot do: reset, seed, device
status/group/agent changes, and the clock. Needs a read-write key; no Miru-Version."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import agent_steps, agents, clock, platform, scopes, seed, store, views
from reconciler.emulator.endpoint import admin
from reconciler.emulator.errors import ApiError, invalid, not_found
from reconciler.emulator.http import Ctx, ok

DEVICE_STATUSES = ("online", "offline", "inactive", "activating", "archived")


def reset(ctx: Ctx) -> Response:
    """A clean emulator: no platform data, fault rules or request log (one transaction)."""
    with store.write(ctx.conn):
        store.reset(ctx.conn)
        for clear in ctx.store.resets:
            clear(ctx.conn)
    return ok({"reset": True, "clock": clock.describe(ctx.conn)})


def parse_seed(raw: bytes) -> dict[str, Any]:
    """A seed body, YAML or JSON, read as seed files are (dates stay strings)."""
    try:
        return seed.parse(raw)
    except seed.SeedError as e:
        raise invalid(str(e)) from None


def load_seed(ctx: Ctx) -> Response:
    body = ctx.body or {}
    try:
        counts = seed.load(ctx.conn, body, clock.now(ctx.conn), allow_files=False)
    except seed.SeedError as e:
        raise ApiError(422, "invalid_seed", str(e)) from None
    return ok({"loaded": counts})


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
        ref = body.get("group_id", body.get("group"))
        if ref is None:
            fields["group_id"] = None
        else:
            grp = ctx.conn.execute(
                "SELECT id FROM groups WHERE id = ? OR name = ? ORDER BY id = ? DESC", (ref, ref, ref)
            ).fetchone()
            if grp is None:
                raise not_found("group", str(ref))
            fields["group_id"] = grp["id"]
    agent = body.get("agent")
    if agent is not None:
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


def tick(ctx: Ctx) -> Response:
    body = ctx.obj() if ctx.body is not None else {}
    seconds = body.get("seconds", 0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise invalid("seconds must be a number >= 0", field="seconds")
    try:
        now = clock.tick(ctx.conn, float(seconds))
    except (ValueError, OverflowError) as e:
        raise invalid(str(e), field="seconds") from None
    applied = agent_steps.advance(ctx.conn, now)
    return ok({**clock.describe(ctx.conn), "transitions": applied})


def get_clock(ctx: Ctx) -> Response:
    return ok(clock.describe(ctx.conn))


def get_platform(ctx: Ctx) -> Response:
    return ok(
        {**platform.load(ctx.conn).as_dict(), "choices": {k: list(v) for k, v in platform.CHOICES.items()}}
    )


def set_platform(ctx: Ctx) -> Response:
    """Change some switches (the others keep their value); applies from the next request."""
    try:
        settings = platform.merged(platform.load(ctx.conn), ctx.obj())
    except platform.PlatformError as e:
        raise invalid(str(e), field="platform") from None
    with store.write(ctx.conn):
        platform.save(ctx.conn, settings)
    return ok(settings.as_dict())


def add_api_key(ctx: Ctx) -> Response:
    """A key with exactly the scopes given (kept in the db: every process serving it accepts it)."""
    body = ctx.obj()
    key, name, wanted = body.get("key"), body.get("name"), body.get("scopes")
    if not isinstance(key, str) or len(key) < 8:
        raise invalid("key must be a string of at least 8 characters", field="key")
    if name is not None and (not isinstance(name, str) or not name):
        raise invalid("name must be a non-empty string", field="name")
    if not isinstance(wanted, list) or not all(isinstance(s, str) for s in wanted):
        raise invalid("scopes must be a list of scope names", field="scopes")
    try:
        held = scopes.resolve(wanted)
    except scopes.ScopeError as e:
        raise invalid(str(e), field="scopes", allowed=sorted(scopes.ALL_SCOPES | {scopes.ADMIN})) from None
    if key in ctx.store.api_keys:
        raise invalid("that key is one of the server's own keys", field="key")
    label = name or f"key {len(scopes.list_keys(ctx.conn)) + 1}"
    with store.write(ctx.conn):
        scopes.add_key(ctx.conn, key, label, held)
    return ok({"name": label, "scopes": sorted(held)})


def list_api_keys(ctx: Ctx) -> Response:
    return ok({"keys": scopes.list_keys(ctx.conn)})


routes = [
    Route("/reset", admin(reset), methods=["POST"]),
    Route("/seed", admin(load_seed, parse=parse_seed), methods=["POST"]),
    Route("/devices/{device}", admin(patch_device), methods=["PATCH"]),
    Route("/devices/{device}", admin(get_device), methods=["GET"]),
    Route("/tick", admin(tick), methods=["POST"]),
    Route("/clock", admin(get_clock), methods=["GET"]),
    Route("/platform", admin(get_platform), methods=["GET"]),
    Route("/platform", admin(set_platform), methods=["POST"]),
    Route("/api_keys", admin(list_api_keys), methods=["GET"]),
    Route("/api_keys", admin(add_api_key), methods=["POST"]),
]
