"""`reconcile validate --online`: the checks that need the platform, without planning.

Groups and named devices exist, no device is matched by two DeploymentSets, releases and
config types exist, the release has a schema and slot for every config, required slots
are filled, and every distinct content is valid against its release's JSON Schema. Works on
live state read without deployments or config instance content (names and schemas only).
"""

from __future__ import annotations

from reconciler.errors import Location, Problem
from reconciler.model.live import LiveState
from reconciler.model.project import Project
from reconciler.plan import desired as D


def online_problems(project: Project, live: LiveState) -> list[Problem]:
    desired = D.resolve(project, live)
    problems = list(desired.problems) + list(desired.findings)
    sets = {s.name: s for s in project.sets}
    missing: dict[str, list[str]] = {}
    for dd in desired.devices:
        if dd.device is None:
            missing.setdefault(dd.deployment_set, []).append(dd.name)
    for name, devices in missing.items():
        ds = sets[name]
        if len(devices) == 1:  # at the entry that names it
            loc = ds.selector.item_locations.get(f"devices/{devices[0]}") or ds.selector.location
            message = f"device {devices[0]!r} (DeploymentSet {name!r}) does not exist on the platform"
        else:  # one problem per set, however many names (GitHub shows ten annotations a step)
            loc = ds.selector.location
            shown = ", ".join(repr(d) for d in devices[:10]) + (
                f", ... (+{len(devices) - 10} more)" if len(devices) > 10 else ""
            )
            message = (
                f"{len(devices)} devices of DeploymentSet {name!r} do not exist on the platform: {shown}"
            )
        problems.append(Problem(message, loc or ds.location or Location(project.project_file)))
    for note in desired.notes:
        problems.append(Problem(note, Location(project.project_file), severity="warning"))
    # Two DeploymentSets (or two releases' schemas) reading one invalid file find the same
    # problem at the same place: it is reported once.
    unique = dict.fromkeys(problems)
    return sorted(
        unique,
        key=lambda p: (
            p.severity != "error",
            p.location.file,
            p.location.line or 0,
            p.location.column or 0,
            p.message,
        ),
    )
