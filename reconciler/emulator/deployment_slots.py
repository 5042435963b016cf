"""A deployment's config instances against its release: each bound to one of the release's
schemas, at most one per slot, every required slot filled."""

from __future__ import annotations

import json
import sqlite3

from reconciler.emulator import views
from reconciler.emulator.errors import unprocessable


def check_instances(conn: sqlite3.Connection, release_id: str, instance_ids: list[str]) -> None:
    """Every required slot of every schema of the release filled, at most one instance per
    slot, and every instance bound to one of the release's schemas (422 otherwise)."""
    schema_ids = views.release_schema_ids(conn, release_id)
    schemas = _schemas(conn, schema_ids)
    if len(set(instance_ids)) != len(instance_ids):
        raise unprocessable(
            "config_instance_ids lists an instance twice",
            code="duplicate_instance",
            field="config_instance_ids",
        )
    filled = _filled(conn, instance_ids, schemas, schema_ids)
    missing = [
        f"{schemas[schema_id]['slug']}/{slot['key']}"
        for schema_id in schema_ids
        for slot in json.loads(schemas[schema_id]["slots"])
        if slot["required"] and (schema_id, slot["key"]) not in filled
    ]
    if missing:
        raise unprocessable(
            f"required slot(s) not filled: {', '.join(missing)}",
            code="required_slot_missing",
            missing_slots=missing,
        )


def _schemas(conn: sqlite3.Connection, schema_ids: list[str]) -> dict[str, sqlite3.Row]:
    """The release's schemas by id, each with its config type's slug."""
    if not schema_ids:
        return {}
    marks = ", ".join("?" for _ in schema_ids)
    sql = (
        "SELECT s.*, t.slug FROM config_schemas s JOIN config_types t ON t.id = s.config_type_id "
        f"WHERE s.id IN ({marks})"
    )
    return {r["id"]: r for r in conn.execute(sql, schema_ids)}


def _filled(
    conn: sqlite3.Connection, instance_ids: list[str], schemas: dict[str, sqlite3.Row], schema_ids: list[str]
) -> dict[tuple[str, str], str]:
    """(schema, slot key) -> the instance filling it; 422 for an unknown instance, one of a schema
    outside the release, or a second instance for a slot."""
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
    return filled
