"""JSON made in pieces on a thread (`reconciler.apply.jsonpieces`) is byte for byte what the
one call it replaces made: a plan's digest names its rollouts, so a plan saved by an earlier
version must keep its rollout ids."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.apply import jsonpieces
from reconciler.apply import record as rec
from reconciler.model.enums import Action
from reconciler.model.plan import DeviceChange, Plan

BIG = 2 * jsonpieces.PIECE + 7


def _data() -> dict[str, Any]:
    return {
        "zeta": [
            {"device": f"robot-{i}", "n": i, "x": 0.1 * i, "ok": i % 2 == 0, "none": None} for i in range(BIG)
        ],
        "alpha": {"b": [1, 2], "a": 'ünïcode \u2028 "quoted"', "path": Path("/etc/x")},
        "small": list(range(5)),
        "when": datetime(2026, 11, 30, tzinfo=UTC),
        "empty": {},
    }


def test_compact_is_the_one_call_it_replaces() -> None:
    data = _data()
    whole = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    pieces = list(jsonpieces.compact(data))
    assert "".join(pieces) == whole
    assert len(pieces) > 3  # the long list went item by item
    assert "".join(jsonpieces.compact({})) == "{}"


def test_pretty_is_the_one_call_it_replaces() -> None:
    data = _data()
    del data["alpha"]["path"], data["when"]  # the indenting dump has no `default`
    for sort_keys in (False, True):
        pieces = list(jsonpieces.pretty(data, sort_keys=sort_keys))
        assert "".join(pieces) == json.dumps(data, indent=2, sort_keys=sort_keys) + "\n"
        assert len(pieces) > 2


def test_free_empties_the_list() -> None:
    items = list(range(BIG))
    jsonpieces.free(items)
    assert items == []


def test_a_big_plans_digest_is_what_earlier_versions_computed() -> None:
    changes = tuple(
        DeviceChange(
            device=f"robot-{i:05d}", device_id=f"dev_{i}", action=Action.UPGRADE, deployment_set="fleet"
        )
        for i in range(BIG)
    )
    plan = Plan(changes=changes, commit="abc123", created_at="2026-11-30T00:00:00Z")
    blob = json.dumps(plan.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
    assert rec.plan_digest(plan) == hashlib.sha256(blob.encode()).hexdigest()
