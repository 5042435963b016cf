"""Probe questions about the forms a server takes: multi-value filter separators, expansion forms,
and whether a device's current deployment switches at create or when its agent confirms."""

from __future__ import annotations

from reconciler.platform.convert import get
from reconciler.platform.probe_reader import UNKNOWN, Finding, Reader, refused, rows_of


async def filters(r: Reader) -> list[Finding]:
    status, body = await r.get("devices?limit=2&order_by=id:asc")
    ids = [str(get(d, "id")) for d in rows_of(body)]
    denied = refused(status, "filters")
    if denied or len(ids) < 2:
        return [denied or Finding("filters", UNKNOWN, "needs two devices")]
    a, b = ids
    out = []
    for form, query in (
        ("id=a|b", f"id={a}|{b}"),
        ("id=a,b", f"id={a},{b}"),
        ("id=a&id=b", f"id={a}&id={b}"),
    ):
        status, body = await r.get(f"devices?{query}")
        found = len(rows_of(body)) if status == 200 else 0
        value = "yes" if found == 2 else "no"
        out.append(Finding(f"filter {form}", value, f"HTTP {status}, {found} of 2 devices"))
    return out


async def expansions(r: Reader) -> list[Finding]:
    out = []
    forms = (
        ("expand=a&expand=b", "expand=current_release&expand=current_deployment"),
        ("expand[]=a&expand[]=b", "expand[]=current_release&expand[]=current_deployment"),
        ("expand=a,b", "expand=current_release,current_deployment"),
    )
    status, body = await r.get("devices?limit=100&" + forms[0][1])
    rows = [d for d in rows_of(body) if get(d, "current_release") is not None]
    if refused(status, "expansions") or not rows:
        return [
            refused(status, "expansions") or Finding("expansions", UNKNOWN, "needs a device with a release")
        ]
    device = str(get(rows[0], "id"))
    for form, query in forms:
        status, body = await r.get(f"devices?id={device}&{query}")
        d = (rows_of(body) or [None])[0]
        both = (
            d is not None
            and get(d, "current_release") is not None
            and get(d, "current_deployment") is not None
        )
        out.append(Finding(f"expand {form}", "yes" if both else "no", f"HTTP {status}"))
    status, body = await r.get(f"deployments?device_id={device}&limit=1&expand=release.config_schemas")
    d = (rows_of(body) or [None])[0]
    nested = d is not None and get(get(d, "release"), "config_schemas") is not None
    out.append(Finding("expand release.config_schemas (nested)", "yes" if nested else "no", f"HTTP {status}"))
    return out


async def current_switch(r: Reader) -> list[Finding]:
    """A device with a queued deployment tells whether "current" switched at create."""
    status, body = await r.get("deployments?limit=100&target_status=deployed&activity_status=queued")
    denied = refused(status, "current deployment")
    queued = rows_of(body) if status == 200 else []
    if denied or not queued:
        return [denied or Finding("current deployment switches", UNKNOWN, "no deployment is queued now")]
    dep = queued[0]
    status, body = await r.get(f"devices?id={get(dep, 'device_id')}&expand=current_deployment")
    d = (rows_of(body) or [None])[0]
    current = get(get(d, "current_deployment"), "id") if d is not None else None
    at_create = current == get(dep, "id")
    return [
        Finding(
            "current deployment switches",
            "at create" if at_create else "when the agent confirms",
            f"a queued deployment of device {get(dep, 'device_id')}",
            ("current_switch", "create" if at_create else "confirm"),
        )
    ]
