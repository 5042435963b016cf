"""What a plan starts before the deployments are in: the manifests resolve against the catalog
(devices, groups, releases, schemas) in a thread while the deployments' pages arrive; the
control records of the rollouts that resolution names are read then, beside the rest of the
reads rather than in one more round trip after the plan; and devices are planned as their
deployments arrive (`plan/ahead.py`), so little planning is left once the last page is in."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager

from reconciler.errors import PlatformError
from reconciler.model.control import SLOTS, Control
from reconciler.model.live import LiveDeployment, LiveState
from reconciler.model.project import Project
from reconciler.plan import desired as D
from reconciler.plan import selection as S
from reconciler.plan.ahead import Ahead, Reuse
from reconciler.plan.build import expected_rollout_ids, resolved
from reconciler.platform.client import Platform
from reconciler.platform.controls import read as controls_read
from reconciler.platform.paging import PAGE

SWITCH = 0.0005  # seconds a thread runs before the interpreter lock is offered to another
PREFETCH = PAGE // SLOTS  # rollouts whose control records one request reads (12)
SLICE = 100  # devices planned early in one step of the event loop (about 0.5 ms)


_switching = threading.Lock()
_switchers = 0  # resolutions running in threads (plans made at once in one process)
_default_switch = 0.0


@contextmanager
def _quick_switches() -> Iterator[None]:
    """While a thread resolves, the event loop takes the interpreter lock back within half a
    millisecond of a page arriving, not the default 5 ms: otherwise every answer waits on the
    resolution and the request slots it would free stand idle (at 10,000 devices, a round trip
    lost). The interval is the process's: the last of overlapping resolutions restores it."""
    global _switchers, _default_switch
    with _switching:
        if _switchers == 0:
            _default_switch = sys.getswitchinterval()
            sys.setswitchinterval(SWITCH)
        _switchers += 1
    try:
        yield
    finally:
        with _switching:
            _switchers -= 1
            if _switchers == 0:
                sys.setswitchinterval(_default_switch)


class Early:
    """One plan's early work: `start` is `read_live_state`'s `on_catalog` and `deployments` its
    `on_deployments`; `desired`, `controls` and `reuse` give what it found (no records when their
    read failed: the plan reads them again, and reports that error); `stop` ends what is still
    running."""

    def __init__(self, platform: Platform, project: Project, selection: S.Selection) -> None:
        self._platform, self._project, self._selection = platform, project, selection
        self._desired: asyncio.Future[D.Desired] | None = None
        self._controls: asyncio.Future[dict[str, list[Control]]] | None = None
        self._ahead: Ahead | None = None
        self._pages: list[tuple[int, list[LiveDeployment]]] = []  # those before the catalog
        self._more = asyncio.Event()
        self._planning: asyncio.Future[None] | None = None

    def start(self, catalog: LiveState) -> None:
        self._desired = asyncio.ensure_future(asyncio.to_thread(self._in_thread, catalog))
        self._controls = asyncio.ensure_future(self._read_controls(self._desired))
        self._ahead = Ahead(catalog)
        for offset, page in self._pages:
            self._ahead.add(page, offset)
        self._pages = []
        self._planning = asyncio.ensure_future(self._plan_ahead(self._ahead, self._desired))

    def deployments(self, offset: int, page: list[LiveDeployment]) -> None:
        if self._ahead is None:
            self._pages.append((offset, page))
        else:
            self._ahead.add(page, offset)
            self._more.set()

    async def _plan_ahead(self, ahead: Ahead, desired: Awaitable[D.Desired]) -> None:
        """Devices planned a slice at a time between the pages' arrivals, until the read ends."""
        ahead.start(await desired)
        while True:
            if ahead.waiting:
                ahead.plan(SLICE)
                await asyncio.sleep(0)  # the answers that came meanwhile first
            else:
                self._more.clear()
                await self._more.wait()

    async def reuse(self, live: LiveState) -> Reuse | None:
        """The changes planned early that still hold against `live` (None: plan every device)."""
        if self._planning is not None:
            self._planning.cancel()
            await asyncio.gather(self._planning, return_exceptions=True)
        ahead, self._ahead = self._ahead, None  # (freed with the plan's use of it)
        return ahead.reuse(live) if ahead is not None else None

    def _in_thread(self, catalog: LiveState) -> D.Desired:
        with _quick_switches():
            return self._resolve(catalog)

    def _resolve(self, state: LiveState) -> D.Desired:
        project, selection = self._project, self._selection
        chosen = S.chosen_sets(project, selection)
        only = chosen if selection.active else None
        return S.narrow(resolved(project, state, only, partial=S.by_name(selection)), selection)

    async def _read_controls(self, desired: Awaitable[D.Desired]) -> dict[str, list[Control]]:
        ids = expected_rollout_ids(await desired)
        # One request at most: more rollouts than that are read once the plan names them.
        return await controls_read(self._platform, ids) if 0 < len(ids) <= PREFETCH else {}

    async def desired(self, live: LiveState) -> D.Desired:
        return await self._desired if self._desired is not None else self._resolve(live)

    async def controls(self) -> dict[str, list[Control]]:
        try:
            return await self._controls if self._controls is not None else {}
        except PlatformError:
            return {}  # read again after the plan, where its error is reported as before

    async def stop(self) -> None:
        """Nothing left running when the read or the manifests failed first."""
        started = [f for f in (self._desired, self._controls, self._planning) if f is not None]
        for f in started:
            f.cancel()  # (nothing once done)
        # Their errors are retrieved here: the one that matters was raised where it was awaited.
        await asyncio.gather(*started, return_exceptions=True)
