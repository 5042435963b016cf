"""Health gates and the failure budget (pure: observations and times in, verdicts out).

Healthy: the deployment is `deployed` and still so `min_healthy_time` later (measured on
the executor's clock from the first poll that saw it deployed, so platform clock skew
does not matter). Failed: `error_status` failed, or not deployed by `deadline` while the
device is online, or it left `deployed` during the healthy wait. Deferred: the device went
offline before it took the update; its deployment stays queued and lands when it returns.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

from reconciler.model.enums import Verdict
from reconciler.model.rollout import Probe, RolloutSpec


@dataclass(frozen=True)
class Observation:
    """What one poll saw of a deployment (and, when it was looked up, its device)."""

    activity_status: str
    error_status: str
    target_status: str
    device_online: bool | None = None  # None: not looked up


@dataclass(frozen=True)
class Track:
    """Per-device health state between polls."""

    started_at: float  # when the write landed (executor clock)
    deployed_since: float | None = None


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    track: Track
    reason: str = ""


def assess(track: Track, obs: Observation, now: float, spec: RolloutSpec) -> Assessment:
    if obs.error_status == "failed":
        return Assessment(Verdict.FAILED, track, "the agent reported the deployment failed")
    if obs.activity_status == "deployed" and obs.target_status == "deployed":
        since = track.deployed_since if track.deployed_since is not None else now
        track = replace(track, deployed_since=since)
        if now - since >= spec.health_check.min_healthy_time:
            return Assessment(Verdict.HEALTHY, track)
        return Assessment(Verdict.PENDING, track)
    if track.deployed_since is not None:
        return Assessment(
            Verdict.FAILED,
            replace(track, deployed_since=None),
            f"left deployed during the healthy wait (now {obs.activity_status})",
        )
    if obs.target_status == "archived" or obs.activity_status in ("archived", "removing"):
        return Assessment(
            Verdict.FAILED, track, "the deployment was replaced or archived before it went live"
        )
    if obs.device_online is False:
        return Assessment(
            Verdict.DEFERRED, track, "device offline; the deployment is queued until it returns"
        )
    if now - track.started_at >= spec.health_check.deadline:
        return Assessment(
            Verdict.FAILED,
            track,
            f"not deployed within the {spec.health_check.deadline:g}s deadline ({obs.activity_status}"
            f"{', retrying' if obs.error_status == 'retrying' else ''})",
        )
    return Assessment(Verdict.PENDING, track)


def probe_failure(probe: Probe, status: int | None, body: str, error: str = "") -> str | None:
    """Why a probe answer fails the device (None: it passes). The body is hostile: only a short
    excerpt of a value is quoted, and renderers escape it like any platform text."""
    if status is None:
        return f"health probe: {error or 'no answer'}"
    if status != probe.status:
        return f"health probe answered HTTP {status}, expected {probe.status}"
    if probe.field is None:
        return None
    try:
        value: Any = json.loads(body)
    except ValueError:
        return "health probe: the answer is not JSON"
    for part in probe.field.split("."):
        if not isinstance(value, dict) or part not in value:
            return f"health probe: no field {probe.field!r} in the answer"
        value = value[part]
    if value != probe.equals:
        return f"health probe: {probe.field} is {json.dumps(value)[:40]}, expected {json.dumps(probe.equals)[:40]}"
    return None


def needs_device_status(obs: Observation) -> bool:
    """Only a deployment that is waiting (queued) needs its device's online status."""
    return obs.activity_status == "queued" and obs.error_status != "failed"


def budget_crossed(spec: RolloutSpec, *, failed: int, finished: int, total: int) -> str | None:
    """The failure budget across the whole rollout; returns why it is crossed, or None.

    `max_error_rate` is judged only once enough devices have finished that a single
    failure cannot exceed it on its own (e.g. 10 devices for 0.10); before that the
    node counts decide. Otherwise one early failure would always stop a rollout. A
    rollout smaller than that sample is judged when all of its devices have finished.
    """
    if failed <= 0:
        return None
    if failed > spec.max_failed_nodes:
        return f"{failed} failed devices exceed max_failed_nodes={spec.max_failed_nodes}"
    if total > 0 and failed * 100.0 / total > spec.max_failed_nodes_percent:
        return (
            f"{failed}/{total} failed devices exceed "
            f"max_failed_nodes_percent={spec.max_failed_nodes_percent:g}"
        )
    if spec.health_check.max_error_rate <= 0:
        return "a device failed and max_error_rate is 0"
    min_sample = min(math.ceil(1.0 / spec.health_check.max_error_rate), total)
    if finished >= min_sample and failed / finished > spec.health_check.max_error_rate:
        return f"error rate {failed}/{finished} exceeds max_error_rate={spec.health_check.max_error_rate:g}"
    return None
