"""A release change to an older version is shown as a downgrade (its own marker and word),
not as `^ upgrade`; versions that are not numbers are never called one."""

from __future__ import annotations

from reconciler.model.enums import Action
from reconciler.model.plan import DeviceChange, Plan
from reconciler.plan.groups import is_downgrade
from reconciler.plan.render_markdown import render_markdown
from reconciler.plan.render_text import render_text


def change(device: str, old: str, new: str) -> DeviceChange:
    return DeviceChange(device, f"id-{device}", Action.UPGRADE, "east", release_from=old, release_to=new)


def test_downgrade_has_its_own_marker_word_and_count() -> None:
    plan = Plan(changes=(change("a", "2.2.0", "2.1.0"), change("b", "2.0.0", "2.1.0")))
    text = render_text(plan)
    assert "  v downgrade 1 device: a" in text
    assert "  ^ upgrade 1 device: b" in text
    assert "Plan: 0 to deploy, 1 to upgrade, 1 to downgrade, 0 to stage" in text
    md = render_markdown(plan)
    assert "east: downgrade 1 device" in md and "1 to downgrade" in md


def test_version_order() -> None:
    assert is_downgrade("v1.10.0", "v1.9.3")
    assert not is_downgrade("v1.9.3", "v1.10.0")
    assert not is_downgrade("1.4.2", "1.4.2")
    assert not is_downgrade("blue", "green") and not is_downgrade(None, "1.0")
    assert is_downgrade("2.0.0-rc1", "1.9")
