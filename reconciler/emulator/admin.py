"""Admin API under /_emulator/ for what the platform API cannot do: reset, seed, device
status/group/agent changes (`admin_devices`), the clock, the platform switches and API keys
(`admin_settings`). Needs a read-write key; no Miru-Version."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from reconciler.emulator import (
    admin_devices,
    admin_settings,
    agent_steps,
    clock,
    seed,
    store,
)
from reconciler.emulator.endpoint import admin
from reconciler.emulator.errors import ApiError, invalid
from reconciler.emulator.http import Ctx, ok


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


routes = [
    Route("/reset", admin(reset), methods=["POST"]),
    Route("/seed", admin(load_seed, parse=parse_seed), methods=["POST"]),
    *admin_devices.routes,
    *admin_settings.routes,
    Route("/tick", admin(tick), methods=["POST"]),
    Route("/clock", admin(get_clock), methods=["GET"]),
]
