"""Pages read concurrently can overlap when the list changes underneath: an item in two pages
is kept once, at its first place, whether items are converted or raw JSON."""

from __future__ import annotations

from reconciler.model.enums import DeviceStatus
from reconciler.model.live import LiveDevice
from reconciler.platform.paging import _dedupe


def _dev(i: str) -> LiveDevice:
    return LiveDevice(i, f"amr-{i}", DeviceStatus.ONLINE, None)


def test_converted_items_in_two_pages_are_kept_once() -> None:
    a, b, c = _dev("dvc_1"), _dev("dvc_2"), _dev("dvc_3")
    again = _dev("dvc_2")  # the same device, read again on the next page
    assert _dedupe([a, b, again, c]) == [a, b, c]
    assert _dedupe([a, b, again, c])[1] is b
    distinct = [a, b, c]
    assert _dedupe(distinct) is distinct  # nothing overlapped: the list as read


def test_raw_items_in_two_pages_are_kept_once() -> None:
    rows = [{"id": "x"}, {"id": "y"}, {"id": "x", "name": "later"}]
    assert _dedupe(rows) == [{"id": "x"}, {"id": "y"}]
    assert _dedupe([]) == []
