"""The config instances a seeded device deploys: one per release slot with a value, validated
against its schema and shared by every device with the same value."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator import content, content_checks
from reconciler.emulator.ids import new_id
from reconciler.emulator.seed.errors import SeedError


@dataclass
class Instances:
    """What one seed's devices share: each release's slots, each value's text (serializing is
    slow, yaml: once per distinct value), the (schema, text) pairs validated, the instances."""

    release_slots: dict[str, list[tuple[sqlite3.Row, dict[str, Any]]]] = field(default_factory=dict)
    texts: dict[tuple[str, str], str] = field(default_factory=dict)
    validated: set[tuple[str, str]] = field(default_factory=set)
    ids: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (schema, slot, text) -> id
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # the new ones, to insert


def deployed_instances(
    conn: sqlite3.Connection,
    known: Instances,
    where: str,
    release: str,
    release_id: str,
    configs: Mapping[str, Any],
    at: float,
) -> list[str]:
    """The config instances a device of `release` with `configs` deploys (new ones appended
    to `known.rows`), after validating each value against its schema."""
    release_slots, texts, validated = known.release_slots, known.texts, known.validated
    instances, instance_rows = known.ids, known.rows
    if release_id not in release_slots:
        release_slots[release_id] = _slots_of(conn, release_id)
    chosen: list[str] = []
    used: set[str] = set()
    for schema, slot in release_slots[release_id]:
        slug, key = schema["slug"], slot["key"]
        name = f"{slug}/{key}" if f"{slug}/{key}" in configs else slug
        if name not in configs or (
            name == slug and key != _single_slot(release_slots[release_id], schema["id"])
        ):
            if slot["required"]:
                raise SeedError(f"{where}.configs: required slot {slug}/{key} has no value")
            continue
        used.add(name)
        value_key = (schema["instance_format"], json.dumps(configs[name], sort_keys=True))
        if value_key not in texts:
            texts[value_key] = content.serialize(configs[name], schema["instance_format"])
        text = texts[value_key]
        if (schema["id"], text) not in validated:
            try:
                content_checks.validate(
                    text,
                    schema["instance_format"],
                    schema["language"],
                    json.loads(schema["documents"]),
                    schema["format"],
                )
            except content.ContentError as e:
                paths = ", ".join(f"{x['path']}: {x['message']}" for x in e.errors)
                raise SeedError(f"{where}.configs.{name}: {paths}") from None
            validated.add((schema["id"], text))
        ident = (schema["id"], key, text)
        if ident not in instances:
            instances[ident] = new_id("cfg_inst")
            instance_rows.append(
                (
                    instances[ident],
                    schema["id"],
                    schema["config_type_id"],
                    key,
                    slot["filepath"],
                    schema["instance_format"],
                    text,
                    at,
                )
            )
        chosen.append(instances[ident])
    unknown = set(configs) - used
    if unknown:
        raise SeedError(f"{where}.configs: {', '.join(sorted(unknown))} not in release {release}")
    return chosen


def _slots_of(conn: sqlite3.Connection, release_id: str) -> list[tuple[sqlite3.Row, dict[str, Any]]]:
    rows = conn.execute(
        "SELECT s.*, t.slug FROM release_schemas rs JOIN config_schemas s ON s.id = rs.config_schema_id "
        "JOIN config_types t ON t.id = s.config_type_id WHERE rs.release_id = ? ORDER BY rs.position",
        (release_id,),
    ).fetchall()
    return [(r, slot) for r in rows for slot in json.loads(r["slots"])]


def _single_slot(slots: list[tuple[sqlite3.Row, dict[str, Any]]], schema_id: str) -> str:
    """The slot a bare `<slug>` key fills: the schema's only slot, else its `default` slot."""
    keys = [slot["key"] for schema, slot in slots if schema["id"] == schema_id]
    return keys[0] if len(keys) == 1 else "default"
