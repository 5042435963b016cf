"""Reading list endpoints page by page: the one paging stack for every read of the platform.

Lists are read as raw JSON through the SDK (`with_raw_response`): the SDK still builds the
request, sends the headers and maps errors, but no models are built per item (for ten
thousand devices that costs more CPU than planning). `convert.py` turns items into model types.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import orjson

from reconciler.errors import PlatformError
from reconciler.platform.client import Platform
from reconciler.platform.convert import get, text
from reconciler.platform.retry import READS, RetryPolicy
from reconciler.platform.slots import Priority

PAGE = 100  # the API's maximum page size
T = TypeVar("T")

Fetch = Callable[..., Awaitable[Any]]  # a list call: keyword filters -> one page of JSON
Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass(frozen=True)
class Lister:
    """A list call in two parts: `body`, one page's bytes (what holds a request slot), and
    `decode`, its JSON with `data` converted by `item` as the page arrives, so no page's JSON
    outlives its request (at 100,000 devices, keeping every page until the last one came in was
    most of the peak memory). Paging decodes after the slot is free, so the next request is
    on the wire while this page is decoded: decoding inside the slot added the client's CPU to
    every round trip (10,000 devices at 8 in flight: 2.1 s where the network needs 1.35 s)."""

    body: Callable[..., Awaitable[bytes]]
    item: Callable[[Any], Any] | None = None
    kept: bool = False  # what it reads is kept to the end of the command (the bulk lists)

    def decode(self, body: bytes, what: str = "reading a list") -> Any:
        try:
            page = loads(body)
        except json.JSONDecodeError:
            # A proxy's or a login page's HTML under a 200: said, never shown (it is not ours).
            raise _not_a_page(what, f"something that is not JSON ({len(body)} bytes)") from None
        if not isinstance(page, dict) or not isinstance(page.get("data") or [], list):
            # Read on, it would be an empty fleet (or items made of characters): a plan of nothing.
            raise _not_a_page(what, f"JSON that is not a list page ({len(body)} bytes)")
        if self.item is not None:
            page["data"] = [self.item(x) for x in page.get("data") or ()]
        return page

    async def __call__(self, **params: Any) -> Any:
        return self.decode(await self.body(**params))


def _not_a_page(what: str, answer: str) -> PlatformError:
    return PlatformError(
        f"{what}: the platform answered with {answer}",
        hint="check the base URL: something other than the Miru API (a proxy, a login page) may be answering",
    )


def loads(body: bytes) -> Any:
    """JSON by orjson (a page of 100 expanded devices in half the stdlib's time); what it
    refuses (an integer past 64 bits) by the stdlib, which also reports what is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def raw(resource: Any, item: Callable[[Any], Any] | None = None) -> Lister:
    """A resource's `list` returning the page as plain JSON (converted by `item`)."""
    call = resource.with_raw_response.list

    async def body(**params: Any) -> bytes:
        response = await call(**params)
        return bytes(await response.read())

    return Lister(body, item)


def listing(client: Any, path: str, item: Callable[[Any], Any] | None = None) -> Lister:
    """`raw` for the lists read by the thousand and kept (devices, deployments, instances): the page
    through the SDK client's own `get` (its base URL, headers, key, query encoding, error
    mapping and transport), without the resource method's per-call parameter transform and
    response wrapper: a millisecond per request, two seconds at 100,000 devices."""

    async def body(**params: Any) -> bytes:
        response = await client.get(path, cast_to=httpx.Response, options={"params": params})
        return bytes(response.content)

    return Lister(body, item, kept=True)


async def _read(
    platform: Platform,
    fetch: Fetch,
    params: dict[str, Any],
    *,
    what: str,
    policy: RetryPolicy = READS,
    priority: Priority = Priority.FIRST,
) -> Any:
    """One page: its request under `platform`'s slots and retries, its decoding after."""
    if not isinstance(fetch, Lister):
        return await platform.read(lambda: fetch(**params), what=what, policy=policy, priority=priority)
    body = await platform.read(lambda: fetch.body(**params), what=what, policy=policy, priority=priority)
    # The request the freed slot lets out is sent first (it waits behind this task otherwise).
    await asyncio.sleep(0)
    page = fetch.decode(body, what)
    if fetch.kept:
        # What was read is kept (a whole fleet's devices and deployments): out of the cyclic
        # collector's full passes, which walked all of it again as it grew (a fifth of the CPU
        # of a 100,000-device read). Freezing is a list splice; what is frozen is still freed by
        # its reference count, and a plan unfreezes it once made (`commands/planning.py`).
        gc.freeze()
    return page


def _data(page: Any) -> list[Any]:
    return list(get(page, "data", []) or [])


async def first_page(
    platform: Platform, fetch: Fetch, *, what: str, policy: RetryPolicy = READS, **params: Any
) -> list[Any]:
    """The items of one page (the first 100 in the order asked for)."""
    page = await _read(platform, fetch, {"limit": PAGE, "offset": 0, **params}, what=what, policy=policy)
    return _data(page)


async def first_pages(
    platform: Platform, fetch: Fetch, pages: int, *, what: str, policy: RetryPolicy = READS, **params: Any
) -> list[Any]:
    """The items of the first `pages` pages: one request, and the others (at once) only when
    the first is full."""
    items = await first_page(platform, fetch, what=what, policy=policy, **params)
    if len(items) < PAGE or pages <= 1:
        return items

    async def page_at(offset: int) -> list[Any]:
        return _data(await _read(platform, fetch, _at(offset, params), what=what, policy=policy))

    for data in await gathered(page_at(n * PAGE) for n in range(1, pages)):
        items.extend(data)
    return _dedupe(items)


async def walk(
    platform: Platform,
    fetch: Fetch,
    *,
    what: str,
    policy: RetryPolicy = READS,
    progress: Progress | None = None,
    offset: int = 0,
    priority: Priority = Priority.FIRST,
    **params: Any,
) -> list[Any]:
    """Every item from `offset` on, one page after the other while `has_more` says so."""
    items: list[Any] = []
    while True:
        page = await _read(platform, fetch, _at(offset, params), what=what, policy=policy, priority=priority)
        data = _data(page)
        items += data
        if progress:
            progress(what, len(data), offset + len(data))
        if not get(page, "has_more") or not data:
            return items
        offset += len(data)


def _at(offset: int, params: dict[str, Any]) -> dict[str, Any]:
    return {"limit": PAGE, "offset": offset, **params}


async def read_all(
    platform: Platform,
    fetch: Fetch,
    *,
    what: str,
    progress: Progress | None = None,
    priority: Priority = Priority.PAGES,
    on_page: Callable[[int, list[Any]], None] | None = None,
    **params: Any,
) -> list[Any]:
    """Every item of a list: page 1 asks for `total_count`, then the rest are read concurrently
    (bounded by the Platform's slots, at `priority`: behind the single reads something waits
    on). `params` are the list's filters and expansions. `on_page` is handed each page's offset and
    items as they arrive, in no particular order (not those of a server that ignores total_count)."""
    expand = list(params.pop("expand", []))
    if expand:
        params["expand"] = expand
    first = await _read(
        platform, fetch, {"limit": PAGE, "offset": 0, **params, "expand": [*expand, "total_count"]}, what=what
    )
    items = _data(first)
    if on_page:
        on_page(0, list(items))  # (its own list: `items` goes on to collect every page)
    total = get(first, "total_count")
    if total is None:  # a server that ignores expand=total_count: follow has_more
        more = await walk(
            platform, fetch, what=what, progress=progress, offset=PAGE, priority=priority, **params
        )
        return items + more if get(first, "has_more") else items
    total = int(total)
    if progress:
        progress(what, len(items), total)

    async def page_at(offset: int) -> list[Any]:
        data = _data(await _read(platform, fetch, _at(offset, params), what=what, priority=priority))
        if progress:
            progress(what, len(data), total)
        if on_page:
            on_page(offset, data)
        return data

    for data in await gathered(page_at(o) for o in range(PAGE, total, PAGE)):
        items.extend(data)
    return _dedupe(items)


async def gathered(requests: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """`asyncio.gather` of `requests`, each started in an event-loop pass of its own. Started
    together, every one whose slot was free built and sent its request in the same pass: 32
    in flight held the loop for 50 ms (the one-writer check of a rolling rollout, the pages of
    a list), a poll or an answer waiting behind them. If one fails, the others are cancelled."""
    tasks: list[asyncio.Task[T]] = []
    try:
        for request in requests:
            tasks.append(asyncio.ensure_future(request))
            await asyncio.sleep(0)  # its first step (taking a slot, sending) runs now, alone
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        raise


def _ident(item: Any) -> str:
    # `text(item, "id")` for objects, without its mapping test (an ABC check per item).
    value = getattr(item, "id", None)
    return "" if value is None else str(value)


def _dedupe(items: list[Any]) -> list[Any]:
    # Pages read concurrently can overlap when the list changes underneath; ids are unique.
    if items and type(items[0]) is not dict:
        try:
            ids = {x.id for x in items}  # converted items (the bulk lists): one C-level pass
        except AttributeError:
            ids = set()
        if len(ids) == len(items):
            return items  # the usual case: no page overlapped another
    seen: set[str] = set()
    out = []
    for item in items:
        key = text(item, "id") if type(item) is dict else _ident(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


async def read_where(
    platform: Platform,
    fetch: Fetch,
    key: str,
    values: Sequence[str],
    *,
    what: str,
    policy: RetryPolicy = READS,
    progress: Progress | None = None,
    priority: Priority = Priority.FIRST,
    **params: Any,
) -> list[Any]:
    """Items matching a comma-list filter (`id=a,b`, `version=`, `device_id=`): 100 values per
    request, chunks read concurrently (at `priority`), each followed through its pages."""
    wanted = sorted(set(values))

    async def chunk(part: list[str]) -> list[Any]:
        filters: dict[str, Any] = {**params, key: part}
        data = await walk(platform, fetch, what=what, policy=policy, priority=priority, **filters)
        if progress:
            progress(what, len(data), len(wanted))
        return data

    out: list[Any] = []
    for data in await gathered(chunk(wanted[i : i + PAGE]) for i in range(0, len(wanted), PAGE)):
        out.extend(data)
    return out
