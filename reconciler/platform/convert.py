"""Platform JSON (or an SDK model) -> `reconciler.model.live` types. Everything the platform
sends is read defensively: a missing field becomes empty, never an exception."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.model.enums import ActivityStatus, DeviceStatus, ErrorStatus, TargetStatus
from reconciler.model.live import (
    LiveConfigType,
    LiveDeployment,
    LiveDevice,
    LiveGroup,
    LiveInstance,
    LiveRelease,
    LiveSchema,
    LiveSlot,
)


def get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of an item, whether the SDK handed back a model or a plain dict."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def text(obj: Any, name: str) -> str:
    value = get(obj, name)
    return "" if value is None else str(value)


def optional(obj: Any, name: str) -> str | None:
    value = get(obj, name)
    return None if value is None else str(value)


def group(g: Any) -> LiveGroup:
    return LiveGroup(id=text(g, "id"), name=text(g, "name"), parent_id=optional(g, "parent_id"))


def config_type(t: Any) -> LiveConfigType:
    return LiveConfigType(id=text(t, "id"), slug=text(t, "slug"), name=text(t, "name"))


def schema(s: Any, slugs: Mapping[str, str]) -> LiveSchema:
    slots = tuple(
        LiveSlot(key=text(x, "key"), filepath=text(x, "filepath"), required=bool(get(x, "required")))
        for x in (get(s, "instance_slots") or [])
    )
    docs = tuple((text(d, "name"), text(d, "data")) for d in (get(s, "documents") or []))
    type_id = text(s, "config_type_id")
    ctype = get(s, "config_type")
    return LiveSchema(
        id=text(s, "id"),
        config_type_id=type_id,
        config_type_slug=text(ctype, "slug") if ctype is not None else slugs.get(type_id, ""),
        language=text(s, "language"),
        instance_format=text(s, "instance_format"),
        slots=slots,
        documents=docs,
        digest=text(s, "digest"),
    )


def release(r: Any) -> LiveRelease:
    schemas = get(r, "config_schemas") or []
    return LiveRelease(
        id=text(r, "id"), version=text(r, "version"), schema_ids=tuple(sorted(text(s, "id") for s in schemas))
    )


def deployment(d: Any) -> LiveDeployment:
    """A deployment; its `instance_ids` are known when it was read with `config_instances`."""
    return LiveDeployment(
        id=text(d, "id"),
        device_id=text(d, "device_id"),
        release_id=text(d, "release_id"),
        target_status=TargetStatus(text(d, "target_status")),
        activity_status=ActivityStatus(text(d, "activity_status")),
        error_status=ErrorStatus(text(d, "error_status") or "none"),
        status=text(d, "status"),
        description=text(d, "description"),
        instance_ids=tuple(text(i, "id") for i in (get(d, "config_instances") or [])),
        created_at=text(d, "created_at"),
        parent_id=optional(d, "parent_id"),
    )


def instance(i: Any) -> LiveInstance:
    content = get(i, "content")
    return LiveInstance(
        id=text(i, "id"),
        config_schema_id=text(i, "config_schema_id"),
        config_type_id=text(i, "config_type_id"),
        slot_key=text(i, "slot_key"),
        filepath=text(i, "filepath"),
        format=optional(content, "format") if content is not None else None,
        data=optional(content, "data") if content is not None else None,
        created_at=text(i, "created_at"),
    )


def device(d: Any) -> LiveDevice:
    current = get(d, "current_release")
    deployed = get(d, "current_deployment")
    return LiveDevice(
        id=text(d, "id"),
        name=text(d, "name"),
        status=DeviceStatus(text(d, "status")),
        group_id=optional(d, "group_id"),
        current_release_id=optional(current, "id") if current is not None else None,
        current_release_version=optional(current, "version") if current is not None else None,
        current_deployment_id=optional(deployed, "id") if deployed is not None else None,
    )
