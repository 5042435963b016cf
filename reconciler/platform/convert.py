"""Platform JSON (or an SDK model) -> `reconciler.model.live` types. Everything the platform
sends is read defensively: a missing field becomes empty, never an exception."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from enum import Enum
from functools import partial
from sys import intern
from typing import Any, TypeVar

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

E = TypeVar("E", bound=Enum)


def get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of an item, whether the SDK handed back a model or a plain dict."""
    if type(obj) is dict:  # raw JSON, the usual case (100,000s of calls): the quickest test first
        return obj.get(name, default)
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


def shared(obj: Any, name: str) -> str | None:
    """`optional`, interned: values most items repeat (group, release, status, instance ids)
    are then held once, not once per device (tens of MiB at 100,000 devices)."""
    return _interned(get(obj, name))


# Devices and deployments come by the 100,000: their fields are read value by value, with the
# same rules as `text`, `optional`, `shared` and the enums' constructors.


def _fields(obj: Any) -> Callable[[str], Any]:
    return obj.get if type(obj) is dict else partial(get, obj)


def _text(value: Any) -> str:
    return value if type(value) is str else "" if value is None else str(value)


def _optional(value: Any) -> str | None:
    return value if value is None or type(value) is str else str(value)


def _interned(value: Any) -> str | None:
    return None if value is None else sys.intern(value if type(value) is str else str(value))


def _member(kind: type[E], value: str) -> E:
    found = kind._value2member_map_.get(value)  # else the constructor (and its `_missing_`)
    return found if found is not None else kind(value)  # type: ignore[return-value]


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
    f = _fields(d)
    # The usual value is a str: tested inline, the helpers only for anything else.
    return LiveDeployment(
        id=v if type(v := f("id")) is str else _text(v),
        device_id=v if type(v := f("device_id")) is str else _text(v),
        release_id=intern(v) if type(v := f("release_id")) is str else _interned(v) or "",
        target_status=_member(TargetStatus, v if type(v := f("target_status")) is str else _text(v)),
        activity_status=_member(ActivityStatus, v if type(v := f("activity_status")) is str else _text(v)),
        error_status=_member(ErrorStatus, _text(f("error_status")) or "none"),
        status=intern(v) if type(v := f("status")) is str else _interned(v) or "",
        description=intern(v) if type(v := f("description")) is str else _interned(v) or "",
        instance_ids=tuple(
            intern(v) if type(i) is dict and type(v := i.get("id")) is str else _interned(get(i, "id")) or ""
            for i in (f("config_instances") or ())
        ),
        created_at=v if type(v := f("created_at")) is str else _text(v),
        parent_id=_optional(f("parent_id")),
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
    f = _fields(d)
    current = f("current_release")
    deployed = f("current_deployment")
    return LiveDevice(
        id=v if type(v := f("id")) is str else _text(v),
        name=v if type(v := f("name")) is str else _text(v),
        status=_member(DeviceStatus, v if type(v := f("status")) is str else _text(v)),
        group_id=intern(v) if type(v := f("group_id")) is str else _interned(v),
        current_release_id=shared(current, "id") if current is not None else None,
        current_release_version=shared(current, "version") if current is not None else None,
        current_deployment_id=optional(deployed, "id") if deployed is not None else None,
    )
