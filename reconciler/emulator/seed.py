"""Seed files: groups, config types, schemas, releases, devices (status, group, release and
deployed configs, agent), enrollment history. Validated by `schemas/seed.schema.json` and
loaded in one transaction (bulk inserts, so 10,000 devices load in about a second)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from reconciler.emulator import content, platform, scopes
from reconciler.emulator.http import ApiError
from reconciler.emulator.routes_configs import create_schema, create_type
from reconciler.emulator.routes_groups import create_group
from reconciler.emulator.routes_releases import create_release
from reconciler.emulator.store import new_id, new_ids, write

DEFAULT_AGENT_VERSION = "v0.9.2"


# libyaml's parser when present: seeds of 10,000+ devices parse several times faster.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """YAML without implicit timestamps: dates in seeds stay the strings they were written as."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class SeedError(ValueError):
    """A seed that cannot be loaded; the message names the entry and field."""


def schema_path() -> Path:
    here = Path(__file__).resolve()
    for candidate in (
        here.parents[2] / "schemas" / "seed.schema.json",
        here.parents[1] / "schemas" / "seed.schema.json",
    ):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("seed.schema.json not found next to the package")


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path().read_text())
    cls = jsonschema.validators.validator_for(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def parse(text: str | bytes) -> dict[str, Any]:
    data = _json_object(text)
    if data is not None:
        return data
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        raise SeedError(f"seed is not valid YAML/JSON: {e}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SeedError("a seed must be a mapping with groups, config_types, ... keys")
    return data


def _json_object(text: str | bytes) -> dict[str, Any] | None:
    """A seed written as JSON, parsed by `json` (JSON is YAML, but libyaml takes about 1 s per
    1,000 devices with configs; `json` 100 times less). Anything else is left to YAML, whose
    errors carry the line and column."""
    head = text.lstrip()[:1]
    if head not in ("{", b"{"):
        return None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # YAML reads NaN/Infinity as strings: let it


def read(path: str | Path) -> dict[str, Any]:
    return parse(Path(path).read_bytes())


def load_file(conn: sqlite3.Connection, path: str | Path, at: float) -> dict[str, int]:
    """Load a seed file; errors start with `file:line:col:` of the offending entry."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise SeedError(f"{path}: cannot read the seed file: {e.strerror}") from None
    try:
        return load(conn, parse(text), at, path.parent)
    except SeedError as e:
        where = locate(text, str(e))
        prefix = f"{path}:{where[0]}:{where[1]}" if where else str(path)
        raise SeedError(f"{prefix}: {e}") from None


_SEGMENT = re.compile(r"([A-Za-z_][\w-]*)|\[(\d+)\]")


def locate(text: str, message: str) -> tuple[int, int] | None:
    """Line and column (1-based) of the deepest node named by the path a message starts with
    (`devices[2] (name).configs.motion-control: ...`; schema errors: `invalid seed:\n  path: ...`)."""
    first = message.split("\n  ", 1)[1] if message.startswith("invalid seed:") else message
    head = re.sub(r" \([^)]*\)", "", first.split(":", 1)[0])
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    best: yaml.Node | None = None
    for m in _SEGMENT.finditer(head):
        key, index = m.group(1), m.group(2)
        if key is not None and isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif index is not None and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            found = node.value[int(index)]
        else:
            found = None
        if found is None:
            break
        best = node = found
    if best is None:
        return None
    mark = best.start_mark
    return mark.line + 1, mark.column + 1


def check(data: Mapping[str, Any]) -> list[str]:
    """Validate against seed.schema.json. Fleets repeat one device shape thousands of times,
    so each distinct shape (a device without its name) is validated once, at its first index.
    Returns each device's shape, so loading resolves a shape's configs once too."""
    devices = data.get("devices")
    sample: dict[str, Any] = dict(data)
    where: list[int] = []
    keys: list[str] = []
    if isinstance(devices, list):
        shapes: dict[str, int] = {}
        for i, d in enumerate(devices):
            if isinstance(d, dict) and isinstance(d.get("name"), str) and d["name"]:
                key = json.dumps({k: v for k, v in d.items() if k != "name"}, sort_keys=True, default=str)
            else:
                key = f"#{i}"
            shapes.setdefault(key, i)
            keys.append(key)
        where = list(shapes.values())
        sample["devices"] = [devices[i] for i in where]
    errors = sorted(_validator().iter_errors(sample), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = []
        for e in errors[:20]:
            path = list(e.absolute_path)
            if len(path) >= 2 and path[0] == "devices" and isinstance(path[1], int):
                path[1] = where[path[1]]
            text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path) or "."
            lines.append(f"{text.lstrip('.') or '(top)'}: {e.message}")
        raise SeedError("invalid seed:\n  " + "\n  ".join(lines))
    return keys


def load(
    conn: sqlite3.Connection,
    data: Mapping[str, Any],
    at: float,
    base_dir: Path | None = None,
    *,
    allow_files: bool = True,
) -> dict[str, int]:
    """Validate and load a seed into the db (additive). Returns counts per kind.
    `allow_files=False` (seeds sent over HTTP) refuses `document_file`: the admin API must not
    read the server's files for whoever holds the (public, built-in) read-write key."""
    shapes = check(data)
    if not allow_files:
        for i, entry in enumerate(data.get("config_schemas") or []):
            if "document_file" in entry:
                raise SeedError(
                    f"config_schemas[{i}].document_file: not accepted over HTTP; "
                    "send the schema inline with `document` or `documents`"
                )
    try:
        with write(conn):
            return _load(conn, data, at, base_dir or Path.cwd(), shapes)
    except ApiError as e:
        raise SeedError(f"{e.message} ({json.dumps(e.params)})") from None


@contextmanager
def _entry(kind: str, i: int) -> Iterator[None]:
    """Name the seed entry in platform errors (a duplicate name, an invalid schema, ...)."""
    try:
        yield
    except ApiError as e:
        raise SeedError(f"{kind}[{i}]: {e.message}") from None


def _load(
    conn: sqlite3.Connection, data: Mapping[str, Any], at: float, base: Path, shapes: list[str]
) -> dict[str, int]:
    if data.get("platform") is not None:
        # The environment's switches win: the test suite runs a seed under another reading.
        try:
            settings = platform.merged(platform.load(conn), {**data["platform"], **platform.from_env()})
        except platform.PlatformError as e:
            raise SeedError(f"platform: {e}") from None
        platform.save(conn, settings)
    for i, k in enumerate(data.get("api_keys") or []):
        scopes.add_key(conn, k["key"], k.get("name") or f"seed key {i}", frozenset(k["scopes"]))
    with platform.active(platform.load(conn)):
        return _load_data(conn, data, at, base, shapes)


def _load_data(
    conn: sqlite3.Connection, data: Mapping[str, Any], at: float, base: Path, shapes: list[str]
) -> dict[str, int]:
    groups = _groups(conn, data.get("groups") or [], at)
    types = {r["slug"]: r for r in conn.execute("SELECT * FROM config_types")}
    for i, t in enumerate(data.get("config_types") or []):
        if t["slug"] in types:
            raise SeedError(f"config_types[{i}]: slug {t['slug']!r} already exists")
        with _entry("config_types", i):
            types[t["slug"]] = create_type(conn, t.get("name") or t["slug"], t["slug"], at)
    schemas = _schemas(conn, data.get("config_schemas") or [], types, at, base)
    releases: dict[str, str] = {
        r["version"]: r["id"] for r in conn.execute("SELECT id, version FROM releases")
    }
    for i, r in enumerate(data.get("releases") or []):
        ids = []
        for ref in r.get("schemas") or []:
            if ref not in schemas:
                raise SeedError(
                    f"releases[{i}].schemas: unknown config schema {ref!r} "
                    f"(use <config type slug>@<version> of a config_schemas entry)"
                )
            ids.append(schemas[ref])
        with _entry("releases", i):
            releases[r["version"]] = create_release(conn, r["version"], ids, at)["id"]
    n_devices = _devices(conn, data.get("devices") or [], shapes, groups, releases, at)
    n_enrollments = _enrollments(conn, data.get("enrollments") or [])
    if data.get("enrollment") is not None:  # the enrollment service: client id and tokens
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('enrollment', ?)",
            (json.dumps(data["enrollment"]),),
        )
    return {
        "groups": len(data.get("groups") or []),
        "config_types": len(data.get("config_types") or []),
        "config_schemas": len(data.get("config_schemas") or []),
        "releases": len(data.get("releases") or []),
        "devices": n_devices,
        "enrollments": n_enrollments,
    }


def _groups(conn: sqlite3.Connection, entries: list[dict[str, Any]], at: float) -> dict[str, str]:
    by_name: dict[str, str] = {}
    ambiguous: set[str] = set()
    for row in conn.execute("SELECT id, name FROM groups"):
        if row["name"] in by_name:
            ambiguous.add(row["name"])
        by_name[row["name"]] = row["id"]
    for i, g in enumerate(entries):
        parent = g.get("parent")
        parent_id = None
        if parent is not None:
            if parent not in by_name or parent in ambiguous:
                raise SeedError(
                    f"groups[{i}]: unknown or ambiguous parent group {parent!r} "
                    "(list parents before children)"
                )
            parent_id = by_name[parent]
        if g["name"] in by_name:
            ambiguous.add(g["name"])
        with _entry("groups", i):
            by_name[g["name"]] = create_group(conn, g["name"], parent_id, at)["id"]
    return {k: v for k, v in by_name.items() if k not in ambiguous}


def _document_text(entry: Mapping[str, Any], fmt: str, base: Path, where: str) -> list[dict[str, Any]]:
    if "documents" in entry:
        return [{"name": d.get("name") or f"schema.{fmt}", "data": d["data"]} for d in entry["documents"]]
    if "document_file" in entry:
        path = (base / entry["document_file"]).resolve()
        try:
            return [{"name": path.name, "data": path.read_text()}]
        except OSError as e:
            raise SeedError(f"{where}.document_file: cannot read {path}: {e.strerror}") from None
    if "document" in entry:
        doc = entry["document"]
        text = (
            doc
            if isinstance(doc, str)
            else (
                str(yaml.safe_dump(doc, sort_keys=False))
                if fmt == "yaml"
                else json.dumps(doc, indent=2) + "\n"
            )
        )
        return [{"name": f"{entry['config_type']}.{entry.get('version', 'schema')}.{fmt}", "data": text}]
    return []


def _schemas(
    conn: sqlite3.Connection,
    entries: list[dict[str, Any]],
    types: dict[str, sqlite3.Row],
    at: float,
    base: Path,
) -> dict[str, str]:
    out: dict[str, str] = {}
    for row in conn.execute(
        "SELECT s.id, s.label, t.slug FROM config_schemas s JOIN config_types t ON t.id = s.config_type_id"
    ):
        out[row["id"]] = row["id"]
        if row["label"]:
            out[f"{row['slug']}@{row['label']}"] = row["id"]
    for i, s in enumerate(entries):
        where = f"config_schemas[{i}]"
        if s["config_type"] not in types:
            raise SeedError(f"{where}.config_type: unknown config type {s['config_type']!r}")
        fmt = s.get("format") or "json"
        label = str(s.get("version") or f"s{i}")
        with _entry("config_schemas", i):
            row = create_schema(
                conn,
                types[s["config_type"]],
                language=s.get("language", "jsonschema"),
                fmt=fmt,
                instance_format=s.get("instance_format"),
                slots=s.get("slots"),
                documents=_document_text(s, fmt, base, where),
                at=at,
                label=label,
                strict=False,
            )
        if s.get("id"):
            # A fixed id makes seeds reproducible (tests refer to schemas by id).
            conn.execute("UPDATE config_schemas SET id = ? WHERE id = ?", (s["id"], row["id"]))
            out[s["id"]] = s["id"]
            out[f"{s['config_type']}@{label}"] = s["id"]
        else:
            out[f"{s['config_type']}@{label}"] = row["id"]
    return out


def _devices(
    conn: sqlite3.Connection,
    entries: list[dict[str, Any]],
    shapes: list[str],
    groups: dict[str, str],
    releases: dict[str, str],
    at: float,
) -> int:
    taken = {r[0] for r in conn.execute("SELECT name FROM devices")}
    taken_ids = {r[0] for r in conn.execute("SELECT id FROM devices")}
    release_slots: dict[str, list[tuple[sqlite3.Row, dict[str, Any]]]] = {}
    instances: dict[tuple[str, str, str], str] = {}  # (schema, slot, text) -> instance id
    validated: set[tuple[str, str]] = set()
    texts: dict[tuple[str, str], str] = {}  # serializing is slow (yaml): once per distinct value
    device_rows: list[tuple[Any, ...]] = []
    deployment_rows: list[tuple[Any, ...]] = []
    link_rows: list[tuple[Any, ...]] = []
    instance_rows: list[tuple[Any, ...]] = []
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
                chosen = resolved[shape] = _instances(
                    conn,
                    where,
                    d["release"],
                    release_id,
                    configs,
                    release_slots,
                    texts,
                    validated,
                    instances,
                    instance_rows,
                    at,
                )
            target = next(deployment_ids)
            deployment_rows.append(
                (
                    target,
                    device_id,
                    release_id,
                    d.get("description", "seed"),
                    None,
                    "deployed",
                    "deployed",
                    "none",
                    at,
                    at,
                    None,
                    at,
                    at,
                    None,
                    None,
                )
            )
            link_rows.extend((target, inst, n) for n, inst in enumerate(chosen))
        elif configs:
            raise SeedError(f"{where}.configs: configs need a release")
        device_rows.append(
            (
                device_id,
                d["name"],
                d.get("description"),
                status,
                agent_version,
                group_id,
                connected,
                disconnected,
                at,
                at,
                target,
                target,
                release_id,
                agent.get("behaviour", "ok"),
                float(agent.get("delay", 1.0)),
            )
        )
    conn.executemany("INSERT INTO config_instances VALUES (?, ?, ?, ?, ?, ?, ?, ?)", instance_rows)
    conn.executemany("INSERT INTO devices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", device_rows)
    conn.executemany(
        "INSERT INTO deployments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", deployment_rows
    )
    conn.executemany("INSERT INTO deployment_instances VALUES (?, ?, ?)", link_rows)
    return len(device_rows)


def _instances(
    conn: sqlite3.Connection,
    where: str,
    release: str,
    release_id: str,
    configs: Mapping[str, Any],
    release_slots: dict[str, list[tuple[sqlite3.Row, dict[str, Any]]]],
    texts: dict[tuple[str, str], str],
    validated: set[tuple[str, str]],
    instances: dict[tuple[str, str, str], str],
    instance_rows: list[tuple[Any, ...]],
    at: float,
) -> list[str]:
    """The config instances a device of `release` with `configs` deploys (new ones appended
    to `instance_rows`), after validating each value against its schema."""
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
                content.validate(
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


def _enrollments(conn: sqlite3.Connection, entries: list[dict[str, Any]]) -> int:
    rows = []
    for i, e in enumerate(entries):
        dev = conn.execute(
            "SELECT id FROM devices WHERE name = ? OR id = ?", (e["device"], e["device"])
        ).fetchone()
        if dev is None:
            raise SeedError(f"enrollments[{i}].device: unknown device {e['device']!r}")
        date = str(e["enrollment_date"])
        logs = e.get("error_logs") if e["status"] == "error" else None
        created = str(e.get("created_at") or date)
        rows.append(
            (
                e.get("id") or new_id("enr"),
                dev["id"],
                e["status"],
                date,
                e.get("enrollment_token_id"),
                e.get("user_id"),
                json.dumps(logs) if logs is not None else None,
                created,
                str(e.get("updated_at") or created),
            )
        )
    conn.executemany("INSERT INTO enrollments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)
