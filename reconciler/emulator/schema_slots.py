"""A config schema's instance slots: a default slot when omitted; keys, absolute and distinct
file paths; the slot an instance fills."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from reconciler.emulator.errors import invalid, unprocessable

SLOT_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def normalize_slots(raw: Any, slug: str, schema_format: str, *, strict: bool) -> list[dict[str, Any]]:
    """The schema's slots. Omitted: one required `default` slot at
    /srv/miru/configs/<slug>.<json|yaml>. `strict` (the API) needs every slot field; seeds
    may leave out name (the key), filepath (the default path) and required (true)."""
    ext = "yaml" if schema_format == "yaml" else "json"
    if raw is None:
        return [
            {
                "key": "default",
                "name": "Default",
                "filepath": f"/srv/miru/configs/{slug}.{ext}",
                "required": True,
            }
        ]
    if not isinstance(raw, list) or not raw:
        raise invalid("instance_slots must be a non-empty list", field="instance_slots")
    slots: list[dict[str, Any]] = []
    for i, slot in enumerate(raw):
        where = f"instance_slots[{i}]"
        if not isinstance(slot, dict) or not isinstance(slot.get("key"), str):
            raise invalid(f"{where} needs a string key", field=f"{where}.key")
        if strict:
            missing = [f for f in ("name", "filepath", "required") if f not in slot]
            if missing:
                raise invalid(f"{where} needs {', '.join(missing)}", field=f"{where}.{missing[0]}")
        key = slot["key"]
        if not SLOT_KEY.match(key) or len(key) > 128:
            raise unprocessable(
                f"slot key {key!r} must match ^[a-z0-9][a-z0-9_-]*$ (at most 128 chars)", field=f"{where}.key"
            )
        filepath = str(slot.get("filepath") or f"/srv/miru/configs/{slug}.{ext}")
        if not filepath.startswith("/"):
            raise unprocessable(f"slot filepath {filepath!r} must be absolute", field=f"{where}.filepath")
        for other in slots:
            if other["key"] == key:
                raise unprocessable(f"duplicate slot key {key!r}", field=f"{where}.key")
            if other["filepath"] == filepath:
                raise unprocessable(f"duplicate slot filepath {filepath!r}", field=f"{where}.filepath")
        slots.append(
            {
                "key": key,
                "name": str(slot.get("name") or key),
                "filepath": filepath,
                "required": bool(slot.get("required", True)),
            }
        )
    return slots


def pick_slot(schema: sqlite3.Row, slot_key: str | None) -> dict[str, Any]:
    slots: list[dict[str, Any]] = json.loads(schema["slots"])
    if slot_key is None:
        if len(slots) != 1:
            raise unprocessable(
                "slot_key is required: the config schema has several slots",
                field="slot_key",
                slots=[s["key"] for s in slots],
            )
        return slots[0]
    for slot in slots:
        if slot["key"] == slot_key:
            return slot
    raise unprocessable(
        f"the config schema has no slot {slot_key!r}", field="slot_key", slots=[s["key"] for s in slots]
    )
