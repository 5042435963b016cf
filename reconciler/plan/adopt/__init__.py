"""`reconcile import`: a live fleet -> the files of a project whose first plan is empty. Pure:
takes a LiveState, returns file paths and their text; the command layer writes them.

What is read back must plan as `noop`: each imported device's release is its current one and
its content is its current target deployment's, written so the planner's canonical form of the
file equals the live instance's. Content identical across devices is one file; per-device
differences are overrides with the fewest values (a JSON merge patch from the set's content, or
a shared file where a patch cannot say it). Devices that cannot be imported (no agent, no
deployment, content that cannot be read back) are listed as YAML comments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from reconciler.model.live import LiveDevice, LiveState
from reconciler.plan.adopt.files import Files, Names, Result, dump, quote, quote_text
from reconciler.plan.adopt.read import Imported, read_device
from reconciler.plan.adopt.selector import set_selector
from reconciler.plan.adopt.sets import set_spec

__all__ = ["NOT_IMPORTED", "SETS_DIR", "Result", "SetPer", "generate", "select_devices"]

SetPer = Literal["group", "release"]
SETS_DIR = "deploymentsets"
NOT_IMPORTED = f"{SETS_DIR}/not-imported.yaml"


def select_devices(
    live: LiveState, groups: Sequence[str] = (), devices: Sequence[str] = ()
) -> list[LiveDevice]:
    """The devices `--group` (with subgroups) and `--device` name; every device when neither."""
    if not groups and not devices:
        return sorted(live.devices.values(), key=lambda d: d.name)
    wanted: set[str] = set()
    for name in groups:
        g = live.group_by_name(name)
        if g is not None:
            wanted |= _below(live, g.id)
    return sorted(
        (d for d in live.devices.values() if d.name in devices or (d.group_id in wanted)),
        key=lambda d: d.name,
    )


def _below(live: LiveState, gid: str) -> set[str]:
    out, stack = set(), [gid]
    while stack:
        x = stack.pop()
        if x not in out:
            out.add(x)
            stack += [g.id for g in live.groups.values() if g.parent_id == x]
    return out


def generate(
    live: LiveState,
    devices: Iterable[LiveDevice],
    *,
    set_per: SetPer = "group",
    by_name: bool = False,
    secret: Any = None,
) -> Result:
    """The project files for `devices`. `by_name`: selectors list device names (an import
    narrowed by --device) instead of claiming whole groups. `secret(slug, value)` says whether
    a content holds a secret field (so the summary can warn which files do)."""
    result = Result()
    files = Files(result)
    buckets: dict[tuple[str, str], list[Imported]] = {}
    group_names = {g.id: g.name for g in live.groups.values()}
    for dev in devices:
        got = read_device(live, dev)
        if isinstance(got, str):
            result.skipped.append((dev.name, got))
            continue
        gname = group_names.get(got.group or "", "")
        buckets.setdefault((gname, got.release if set_per == "release" else ""), []).append(got)
    names = Names()
    sets: list[tuple[str, str, dict[str, Any], list[Imported]]] = []
    for (gname, release), members in sorted(buckets.items()):
        base = f"{gname or 'ungrouped'}-{release}" if release else (gname or "ungrouped")
        rest = members
        while rest:
            name = names.take(base)
            spec, kept, rest = set_spec(name, rest, files)
            sets.append((name, gname, spec, kept))
    for name, gname, spec, members in sets:
        selector = set_selector(live, gname, members, by_name or not gname)
        body: dict[str, Any] = {"apiVersion": "reconciler/v1", "kind": "DeploymentSet"}
        body["metadata"] = {"name": name}
        body["spec"] = {"selector": selector, **spec}
        header = f"# Imported from the live fleet: {len(members)} device(s).\n"
        result.files[f"{SETS_DIR}/{name}.yaml"] = header + dump(body)
        result.sets.append(name)
        result.imported += len(members)
    if result.skipped:
        lines = ["# Devices `reconcile import` left out (in no DeploymentSet), and why:"]
        lines += [f"#   {quote(n)}: {quote_text(why)}" for n, why in sorted(result.skipped)]
        result.files[NOT_IMPORTED] = "\n".join(lines) + "\n"
    if secret is not None:
        result.secrets = sorted(p for p, (slug, value) in files.values.items() if secret(slug, value))
    return result
