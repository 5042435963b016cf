"""Response bodies shaped like the everglades spec's schemas (every required field present,
nullable ones as null), one module per kind of resource, and the `expand` options each supports."""

from __future__ import annotations

from reconciler.emulator.views.catalog import git_commits, groups, release_schema_ids, releases
from reconciler.emulator.views.common import sub
from reconciler.emulator.views.configs import config_instances, config_schemas, config_types
from reconciler.emulator.views.deployment import deployments
from reconciler.emulator.views.device import devices

__all__ = [
    "EXPANSIONS",
    "config_instances",
    "config_schemas",
    "config_types",
    "deployments",
    "devices",
    "git_commits",
    "groups",
    "release_schema_ids",
    "releases",
    "sub",
]

# What each resource (by table) can expand: field -> the expanded object's resource (None for a
# leaf). Nested expansions follow it (`expand=release.config_schemas.config_type`).
EXPANSIONS: dict[str, dict[str, str | None]] = {
    "config_types": {},
    "config_schemas": {"documents": None, "config_type": "config_types"},
    "config_instances": {"content": None, "config_schema": "config_schemas", "config_type": "config_types"},
    "releases": {"config_schemas": "config_schemas"},
    "groups": {"parent": "groups"},
    "devices": {"current_deployment": "deployments", "current_release": "releases", "group": "groups"},
    "deployments": {
        "device": "devices",
        "release": "releases",
        "parent": "deployments",
        "config_instances": "config_instances",
    },
    "git_commits": {},
}
