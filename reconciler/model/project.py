"""The loaded, validated manifests as immutable data. The loader builds these;
the planner reads them. Nothing here does I/O.

Durations are seconds (floats); `RolloutSpec.from_dict` parses "5m", "30s", "1h30m".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from reconciler.errors import Location
from reconciler.model.rollout import Activation, RolloutSpec

ContentFormat = Literal["json", "yaml", "text"]
UnmanagedPolicy = Literal["ignore", "warn", "error"]  # devices no DeploymentSet selects


@dataclass(frozen=True)
class Selector:
    """Which devices a DeploymentSet (or an override) covers.

    A device matches when it is in one of `groups` (subgroups included), or is named in
    `devices`, or its name matches one of `patterns` (fnmatch globs); and it is not named
    in `exclude_devices`, not matched by `exclude_patterns`, not in `exclude_groups`.
    """

    groups: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    exclude_groups: tuple[str, ...] = ()
    exclude_devices: tuple[str, ...] = ()
    exclude_patterns: tuple[str, ...] = ()
    location: Location | None = None
    # "groups/<name>", "exclude.groups/<name>", ... -> where that entry is written, so a problem
    # found against the platform (a group that does not exist) points at the entry itself.
    item_locations: dict[str, Location] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ConfigSpec:
    """The desired content of one config type (and slot) for a set or an override.

    `base` is the parsed content of `file` (dict/list for json and yaml, str for text) or
    None; `values` is merged over it with JSON merge-patch semantics (RFC 7386).
    `format` is the format the content was written in (from the file extension, or
    "yaml" for inline values only).
    """

    config_type: str
    slot: str | None = None
    file: str | None = None  # repository-relative POSIX path
    base: Any = None
    values: dict[str, Any] | None = None
    format: ContentFormat = "yaml"
    location: Location | None = None  # where the spec is declared in the manifest
    file_locations: dict[str, Location] = field(default_factory=dict)  # json path -> location in `file`


@dataclass(frozen=True)
class Override:
    """A subset of the set's devices with their own release and/or config values.
    Override config values are merged over the set's content for that config type."""

    selector: Selector
    release: str | None = None
    configs: tuple[ConfigSpec, ...] = ()
    location: Location | None = None
    hold: bool = False  # these devices are kept out of rollouts (e.g. under repair)


@dataclass(frozen=True)
class DeploymentSet:
    """`extends` names the set this one layers over (its base): a device both select belongs to
    this one, with the base's release and configs (its overrides included) and then this set's
    merged over them, and this set's rollout (the base's own fields under it). `release` is the
    effective release (the base's when this set writes none: `release_written` False)."""

    name: str
    selector: Selector
    release: str
    configs: tuple[ConfigSpec, ...] = ()
    overrides: tuple[Override, ...] = ()
    rollout: RolloutSpec = field(default_factory=RolloutSpec)
    location: Location | None = None  # the document's `kind:` line
    release_location: Location | None = None
    extends: str | None = None
    extends_location: Location | None = None
    release_written: bool = True

    @property
    def activation(self) -> Activation:
        return self.rollout.activation


@dataclass(frozen=True)
class EmulatorTarget:
    db: str = ".reconcile/emulator.db"  # relative to the project root
    seed: str | None = None  # relative to the project root


@dataclass(frozen=True)
class RemoteTarget:
    base_url: str
    api_version: str = "2026-08-17.everglades"


@dataclass(frozen=True)
class EnrollmentService:
    """The enrollment history service, for diagnostics of inactive devices. Its bearer token
    comes from the environment variable named by `token_env` only."""

    base_url: str
    client_id: str
    token_env: str = "ENROLLMENT_TOKEN"


NOTIFY_EVENTS = ("drift", "rollout_paused", "rollout_failed", "rolled_back", "blocked")


@dataclass(frozen=True)
class Webhook:
    """Where `reconcile watch` posts events. The URL is a secret (it authorizes posting):
    it is read from the environment variable `url_env` only and never printed. `format`
    `slack` posts a Slack-compatible `{"text": ...}` body, `raw` the event as JSON."""

    url_env: str
    format: Literal["slack", "raw"] = "slack"
    events: tuple[str, ...] = NOTIFY_EVENTS


@dataclass(frozen=True)
class Project:
    root: Path
    target: EmulatorTarget | RemoteTarget
    manifests: tuple[str, ...] = ("**/*.yaml", "**/*.yml")
    rollout_defaults: RolloutSpec = field(default_factory=RolloutSpec)
    enrollment: EnrollmentService | None = None
    sets: tuple[DeploymentSet, ...] = ()
    project_file: str = "reconcile.yaml"
    unmanaged: UnmanagedPolicy = "warn"
    max_devices_per_apply: int = 0  # `limits.max_devices_per_apply`: a larger apply needs --allow-large
    notify: tuple[Webhook, ...] = ()
