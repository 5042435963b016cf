"""The rules a deployment write checks against its device: not archived, the release it may be
created for, and the `parent_id` concurrency token."""

from __future__ import annotations

import sqlite3
from typing import Any

from reconciler.emulator import platform
from reconciler.emulator.errors import conflict, unprocessable

UNSET = object()


def check_not_archived(device: sqlite3.Row) -> None:
    if device["status"] == "archived":
        raise unprocessable(
            f"device {device['name']!r} is archived", code="device_archived", device_id=device["id"]
        )


def check_parent(conn: sqlite3.Connection, device: sqlite3.Row, parent: Any) -> str | None:
    """The tristate token: omitted -> no check; null -> no current target; id -> equal to it.
    Returns the parent id to store (the current target when omitted). The spec compares it
    with the device's `target_deployment_id` under every reading of "current" (even when the
    device still reports the deployment its agent last confirmed)."""
    current = device["target_deployment_id"]
    if parent is UNSET:
        return str(current) if current else None
    if parent != current:
        raise conflict(
            "parent_id does not match the device's current target deployment "
            f"(expected {parent!r}, it is {current!r})",
            code="parent_mismatch",
            device_id=device["id"],
            parent_id=parent,
            current_deployment_id=current,
        )
    return str(current) if current else None


def check_release(conn: sqlite3.Connection, device: sqlite3.Row, target_status: str, release_id: str) -> None:
    """Deployed only for the device's current release (a first deployment too, when the platform
    stages first deploys); staged only for another release (422 `release_not_current`,
    `release_is_current`)."""
    ids = {"device_id": device["id"], "release_id": release_id}
    current = platform.device_current(conn, device)[1]
    deployed = target_status == "deployed"
    if deployed and current is None and platform.current().first_deploy == "staged_only":
        raise unprocessable(
            "the device has no current release: its first deployment is staged, then deployed",
            code="release_not_current",
            **ids,
            current_release_id=None,
        )
    if deployed and current not in (None, release_id):
        raise unprocessable(
            "a deployment can be created as deployed only for the device's current release; "
            "stage it and deploy it to change the release",
            code="release_not_current",
            **ids,
            current_release_id=current,
        )
    if target_status == "staged" and current == release_id:
        raise unprocessable(
            "a deployment can be staged only for a release other than the device's current one; "
            "create it as deployed to patch configs",
            code="release_is_current",
            **ids,
        )
