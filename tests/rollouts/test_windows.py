"""Maintenance windows: allow and deny, across midnight, across DST changes, in two timezones;
the plan says when each wave can start; an apply that reaches a closed window ends the set's
rollout waiting_for_window (exit 0) and the next apply continues it (the platform is the state)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ValidationFailed
from reconciler.manifests.loader import load_path
from reconciler.model.windows import MaintenanceWindow, allowed, next_allowed
from reconciler.plan.render_text import render_text
from tests.apply.helpers import deployments, make, run, write_project
from tests.apply.test_cli import validate
from tests.harness import Harness, example_fleet

BERLIN, CHICAGO = "Europe/Berlin", "America/Chicago"


def at(text: str, tz: str = "UTC") -> float:
    """A local wall-clock time ("2026-03-06 23:30") in `tz`, as seconds since the epoch."""
    from zoneinfo import ZoneInfo

    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


def w(**kw: Any) -> MaintenanceWindow:
    return MaintenanceWindow.from_dict({"kind": "allow", "timezone": BERLIN, **kw})


def test_a_window_across_midnight_belongs_to_the_day_it_starts() -> None:
    night = w(days=["fri"], start="22:00", end="02:00")  # 2026-03-06 is a Friday
    assert not night.is_open(at("2026-03-06 21:59", BERLIN))
    assert night.is_open(at("2026-03-06 22:00", BERLIN)) and night.is_open(at("2026-03-07 01:59", BERLIN))
    assert not night.is_open(at("2026-03-07 02:00", BERLIN))
    assert not night.is_open(at("2026-03-07 23:00", BERLIN))  # Saturday night is not Friday's
    assert next_allowed([night], at("2026-03-07 12:00", BERLIN)) == at("2026-03-13 22:00", BERLIN)


def test_wall_clock_windows_follow_dst_and_durations_do_not() -> None:
    by_end = w(start="01:00", end="05:00")
    by_duration = w(start="01:00", duration="4h")
    # 2026-10-25: clocks go back at 03:00 in Berlin, the night has an extra hour.
    autumn = at("2026-10-25 01:00", BERLIN)
    assert by_end.is_open(autumn + 4.5 * 3600) and not by_end.is_open(autumn + 5 * 3600)
    assert not by_duration.is_open(autumn + 4 * 3600)
    # 2026-03-29: clocks go forward at 02:00, the night is an hour short.
    spring = at("2026-03-29 01:00", BERLIN)
    assert by_end.is_open(spring + 2.5 * 3600) and not by_end.is_open(spring + 3 * 3600)
    assert by_duration.is_open(spring + 3.5 * 3600)


def test_deny_wins_over_allow_and_no_allow_means_any_time() -> None:
    nightly = w(start="22:00", end="06:00")
    freeze = w(kind="deny", days=["sat"], start="00:00", duration="24h")
    assert allowed([nightly], at("2026-03-06 23:00", BERLIN))
    assert not allowed([nightly, freeze], at("2026-03-07 01:00", BERLIN))  # Saturday, inside the freeze
    assert next_allowed([nightly, freeze], at("2026-03-07 01:00", BERLIN)) == at("2026-03-08 00:00", BERLIN)
    assert allowed([freeze], at("2026-03-06 12:00", BERLIN)) and not allowed(
        [freeze], at("2026-03-07 12:00", BERLIN)
    )


def test_two_timezones_open_at_different_absolute_times() -> None:
    berlin, chicago = w(start="22:00", end="05:00"), w(start="22:00", end="05:00", timezone=CHICAGO)
    t = at("2026-01-01 22:30")  # 23:30 in Berlin, 16:30 in Chicago
    assert berlin.is_open(t) and not chicago.is_open(t)
    assert next_allowed([chicago], t) == at("2026-01-02 04:00")


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ({"start": "22:00", "end": "02:00", "timezone": "Mars/Olympus"}, "not an IANA timezone"),
        ({"start": "22:00", "end": "02:00", "duration": "1h", "timezone": "UTC"}, "end or duration"),
        ({"start": "22:00", "duration": "200h", "timezone": "UTC"}, "at most 7 days"),
        ({"start": "25:00", "end": "02:00", "timezone": "UTC"}, "spec.rollout.windows[0].start"),
    ],
)
def test_bad_windows_are_manifest_errors_at_their_line(
    emu: Harness, tmp_path: Path, window: dict[str, Any], message: str
) -> None:
    root = write_project(tmp_path / "p", emu, rollout={"strategy": "immediate", "windows": [window]})
    with pytest.raises(ValidationFailed) as failed:
        load_path(root)
    found = [f"{p.location.json_path if p.location else ''} {p.message}" for p in failed.value.problems]
    assert any(message in f for f in found), found
    assert all(
        p.location is not None and p.location.line is not None and p.location.line > 1
        for p in failed.value.problems
    )


def _ours(deps: list[Any]) -> list[Any]:
    return [d for d in deps if d.description.startswith("reconcile ")]


@pytest.mark.anyio
async def test_two_sites_in_two_timezones_wait_for_their_window_and_the_next_apply_continues(
    emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    await emu.tick(22.5 * 3600)  # the emulator starts at 2026-01-01 00:00 UTC: now 22:30 UTC
    night = {"start": "22:00", "end": "05:00"}
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("fleet",),
        rollout={
            "strategy": "rolling",
            "max_parallel": 4,
            "health_check": {"deadline": "30s", "min_healthy_time": "2s"},
            "windows": [
                {**night, "timezone": BERLIN, "groups": ["warehouse-east"]},
                {**night, "timezone": CHICAGO, "groups": ["warehouse-west"]},
            ],
            "waves": [{"groups": ["warehouse-east"]}, {"groups": ["warehouse-west"]}],
        },
    )
    plan = await make(root)
    rollout = plan.rollouts["all"]
    assert [w.opens for w in rollout.waves] == ["now", "2026-01-02T04:00:00Z"]
    validate(plan.to_dict(), "plan.schema.json")  # windows, scopes and openings are documented
    assert plan.to_dict()["rollouts"]["all"]["window_scopes"] == [
        [f"amr-east-0{i}" for i in range(1, 9)],
        [f"amr-west-0{i}" for i in range(1, 7)],
    ]
    text = render_text(plan)
    assert "windows: allow daily 22:00-05:00 Europe/Berlin for groups warehouse-east" in text
    assert "(wave 1 can start now, wave 2 opens 2026-01-02T04:00:00Z)" in text
    first = await run(root, plan)
    assert first.exit_code == 0  # waiting for a window is not a failure
    (record,) = first.records
    assert record.status.state == "waiting_for_window"
    validate(record.to_dict(), "rollout.schema.json")
    assert "the next opens Fri 2026-01-02 04:00 UTC" in record.status.message
    states = {e.device: (e.state, e.reason_code) for e in first.ledger}
    assert {states[f"amr-east-0{i}"][0] for i in range(1, 9)} == {"succeeded"}
    assert {states[f"amr-west-0{i}"] for i in range(1, 7)} == {("not_attempted", "waiting-for-window")}
    # Still closed: a fresh apply writes nothing and waits again.
    again = await run(root, await make(root))
    assert again.records[0].status.state == "waiting_for_window" and len(_ours(await deployments(emu))) == 8
    await emu.tick(5.5 * 3600)  # 04:00 UTC: 22:00 in Chicago
    later = await make(root)
    assert later.rollouts["all"].done == tuple(f"amr-east-0{i}" for i in range(1, 9))  # the platform says so
    assert later.rollouts["all"].waves[0].opens == "now"
    second = await run(root, later)
    assert second.exit_code == 0 and second.records[0].status.state == "completed"
    assert {e.device for e in second.ledger if e.state == "succeeded"} == {
        f"amr-west-0{i}" for i in range(1, 7)
    }
    assert len(_ours(await deployments(emu))) == 14  # no device written twice


@pytest.mark.anyio
async def test_a_window_that_opens_mid_rollout_lets_the_waiting_devices_start(
    emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    await emu.tick(86400 - 10)  # 23:59:50 UTC
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("lab",),
        rollout={
            "strategy": "rolling",
            "max_parallel": 1,
            "health_check": {"deadline": "30s", "min_healthy_time": "20s"},
            "windows": [
                {
                    "start": "00:00",
                    "duration": "1h",
                    "timezone": "UTC",
                    "devices": ["lab-arm-02", "lab-arm-03"],
                }
            ],
        },
    )
    plan = await make(root)
    assert [w.opens for w in plan.rollouts["all"].waves] == [
        "now",
        "2026-01-02T00:00:00Z",
        "2026-01-02T00:00:00Z",
    ]
    result = await run(root, plan)
    assert result.exit_code == 0 and result.records[0].status.state == "completed"
    starts = {d.device_id: d.created_at for d in _ours(await deployments(emu))}
    assert len(starts) == 3
    # lab-arm-01 (no window) started before midnight; the others only once the window opened.
    times = sorted(str(t) for t in starts.values())
    assert times[0] < "2026-01-02" <= times[1]
