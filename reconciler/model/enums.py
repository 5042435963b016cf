"""Every state, action and reason as a str-Enum: compared, stored and printed as its value, so JSON
and the platform's strings round-trip unchanged, and a typo is a type error instead of a silent
miss."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """What the plan does to one device."""

    NOOP = "noop"
    DEPLOY = "deploy"  # same release, content changed
    UPGRADE = "upgrade"  # release change: stage, then deploy in its wave
    STAGE = "stage"  # release change left staged (activation: stage)
    RESTAGE = "restage"  # a drifted or outdated staged deployment replaced
    BLOCKED = "blocked"

    @property
    def writes(self) -> bool:
        return self in (Action.DEPLOY, Action.UPGRADE, Action.STAGE, Action.RESTAGE)


class BlockReason(StrEnum):
    """Why the plan blocks a device (`DeviceChange.reason_code`); the reason text says the rest."""

    DEVICE_ARCHIVED = "device-archived"
    NOT_ENROLLED = "not-enrolled"
    RELEASE_UNKNOWN = "release-unknown"
    CONFIG_TYPE_UNKNOWN = "config-type-unknown"
    SLOT_MISSING = "slot-missing"
    CONTENT_INVALID = "content-invalid"
    DRIFT_REVIEW = "drift-review"
    DEVICE_UNKNOWN = "device-unknown"
    HELD = "held"  # `hold: true` in the set's overrides: kept out of rollouts on purpose

    @property
    def fails_run(self) -> bool:
        """A device with no agent to deploy to is not the manifests' fault, and a held one is
        left alone on purpose; every other block is a fault."""
        return self not in (BlockReason.DEVICE_ARCHIVED, BlockReason.NOT_ENROLLED, BlockReason.HELD)


class DiffOp(StrEnum):
    ADD = "add"
    REMOVE = "remove"
    CHANGE = "change"


class Origin(StrEnum):
    """With `plan --base`: a change from this branch's manifests, pre-existing drift, or a
    device with both (`DeviceChange.drift_fields` says which field is which)."""

    CHANGE = "change"
    DRIFT = "drift"
    CHANGE_AND_DRIFT = "change + drift"


class _FromPlatform(StrEnum):
    """A status the platform reports: a value this version does not know (a newer platform) is
    UNKNOWN rather than a crash (a device UNKNOWN is planned like one with an agent; its
    deployment's health is judged by the deadline)."""

    @classmethod
    def _missing_(cls, value: object) -> StrEnum:
        return cls("unknown")


class DeviceStatus(_FromPlatform):
    UNKNOWN = "unknown"
    INACTIVE = "inactive"  # never enrolled: no agent
    ACTIVATING = "activating"
    ONLINE = "online"
    OFFLINE = "offline"
    ARCHIVED = "archived"

    @property
    def has_agent(self) -> bool:
        return self in (DeviceStatus.ONLINE, DeviceStatus.OFFLINE)


class TargetStatus(_FromPlatform):
    UNKNOWN = "unknown"
    STAGED = "staged"
    DEPLOYED = "deployed"
    ARCHIVED = "archived"


class ActivityStatus(_FromPlatform):
    UNKNOWN = "unknown"
    DRIFTED = "drifted"
    STAGED = "staged"
    QUEUED = "queued"  # waiting for an offline device
    DEPLOYED = "deployed"
    REMOVING = "removing"
    ARCHIVED = "archived"


class ErrorStatus(_FromPlatform):
    UNKNOWN = "unknown"
    NONE = "none"
    RETRYING = "retrying"
    FAILED = "failed"


class DeviceOutcome(StrEnum):
    """A device's state in a rollout and in the ledger (in the order summaries count them)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"  # the device confirmed its previous deployment is live again
    ROLLBACK_ISSUED = "rollback_issued"  # the rollback deployment is written, not yet confirmed
    DEFERRED = "deferred"  # offline before it took the update; it gets it when it returns
    STALE = "stale"  # changed since the plan
    NOT_ATTEMPTED = "not_attempted"
    IN_FLIGHT = "in_flight"  # only in the record of a rollout still running (or crashed)


class RolloutState(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    WAITING_FOR_WINDOW = "waiting_for_window"  # a maintenance window is closed; the next apply continues
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    # `apply --abort SET --keep`: stopped where it was, nothing rolled back. Not final: the
    # platform's control record decides, and `--retry-failed`/`--force` continue it.
    ABORTED = "aborted"

    @property
    def final(self) -> bool:
        return self in (RolloutState.COMPLETED, RolloutState.FAILED, RolloutState.CANCELED)


class Verdict(StrEnum):
    """A device's health after a poll."""

    PENDING = "pending"
    HEALTHY = "healthy"
    FAILED = "failed"
    DEFERRED = "deferred"


class SetRolloutState(StrEnum):
    """Where a DeploymentSet's rollout stands, as the platform shows it."""

    UNCHANGED = "unchanged"  # nothing to roll out
    PENDING = "pending"  # apply starts it
    IN_PROGRESS = "in_progress"  # some devices run it, apply continues with the rest
    PAUSED = "paused"  # the canaries run it, or a person paused it; `reconcile apply --promote` continues
    ABORTED = "aborted"  # a person aborted it and kept the devices as they were; apply leaves it
    HELD = "held"  # this content failed and was rolled back; apply leaves the set alone
    COMPLETED = "completed"  # every device of the set runs it


class ControlKind(StrEnum):
    """What a person asked of a rollout (`reconcile apply --pause` / `--abort`), kept on the
    platform as a control record; the newest record of a rollout is in force."""

    PAUSE = "pause"  # start no device more until `apply --promote --set SET`
    RESUME = "resume"  # clears an earlier pause or abort
    ABORT_KEEP = "abort-keep"  # stopped where it was, devices left as they are
    ABORT_REVERT = "abort-revert"  # stopped, and the devices that ran it went back

    @property
    def halts(self) -> bool:
        return self is not ControlKind.RESUME
