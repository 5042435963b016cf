"""An imported DeploymentSet's selector: its group (children excluded: they have sets of their own)
minus the devices elsewhere, or the device names when most of the group is elsewhere."""

from __future__ import annotations

from typing import Any

from reconciler.model.live import LiveState
from reconciler.plan.adopt.read import Imported


def set_selector(live: LiveState, gname: str, members: list[Imported], by_name: bool) -> dict[str, Any]:
    """The group (children excluded: they have sets of their own) minus every device of it
    this set does not hold; or the device names."""
    mine = sorted(m.name for m in members)
    if by_name:
        return {"devices": mine}
    group = live.group_by_name(gname)
    assert group is not None
    children = sorted(g.name for g in live.groups.values() if g.parent_id == group.id)
    inside = {d.name for d in live.devices.values() if d.group_id == group.id}
    others = sorted(inside - set(mine))
    selector: dict[str, Any] = {"groups": [gname]}
    exclude: dict[str, Any] = {}
    if children:
        exclude["groups"] = children
    if others:
        if len(others) > len(mine):  # most of the group is elsewhere: name this set's devices
            return {"devices": mine}
        exclude["devices"] = others
    if exclude:
        selector["exclude"] = exclude
    return selector
