"""Two applies that create the same config instance at once end on one instance.

The platform has no idempotency keys and no way to delete a config instance, so two runs that
both looked (and found nothing) before either created leave two identical instances. Each run,
once it has created or found what it needs, lets the platform settle (`SETTLE`: a create in
flight elsewhere has landed, and whole-second timestamps have moved on), reads again every
identical instance created around then, and takes the first created: the oldest `created_at`,
then the smallest id as text. The rule needs nothing but what both runs read, never the order
the platform lists same-instant rows in, nor ids that sort by time (they need not). An
instance created after a run's second read is younger than everything that run saw, so it
cannot change its choice. The run whose instance lost reports it: no deployment uses it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.model.live import parse_time
from reconciler.model.plan import PlannedInstance
from reconciler.platform import convert as C
from reconciler.platform.client import Platform
from reconciler.platform.paging import PAGE, raw
from reconciler.platform.retry import CONFIRMING_READS

SETTLE = 2.0  # seconds between having an instance and reading its rivals
RACE_WINDOW = 30.0  # seconds: rivals are created this close to the newest instance
MAX_PAGES = 50  # a bound on the second read even if a dashboard script floods the schema

Content = tuple[str, str]  # (format, data)
Created = tuple[float, str]  # (created_at in seconds, id)


@dataclass(frozen=True)
class LostInstance:
    id: str
    winner: str  # the instance the deployments use instead
    config_type: str

    def message(self) -> str:
        return (
            f"config instance {self.id} ({self.config_type}) lost a race with another apply; "
            f"no deployment uses it (they use {self.winner})"
        )

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "winner": self.winner,
            "config_type": self.config_type,
            "message": self.message(),
        }


def first_created(rivals: Collection[Created]) -> str:
    """The one every run picks among identical instances."""
    return min(rivals)[1]


async def identical(
    platform: Platform, schema_id: str, slot_key: str, wanted: Collection[Content]
) -> dict[Content, list[Created]]:
    """Every instance of the wanted contents among the schema and slot's newest: pages newest
    first until each content is found and the rows are older than the race window."""
    want = set(wanted)
    out: dict[Content, list[Created]] = {}
    enough = math.ceil(len(want) / PAGE) + 1  # where the first read stops looking, too
    newest: float | None = None
    for n in range(MAX_PAGES):
        rows, more = await newest_instances(platform, schema_id, slot_key, n)
        # seconds, not datetimes: an unreadable stamp is the oldest, and stays subtractable
        stamps = [parse_time(C.text(r, "created_at")).timestamp() for r in rows]
        for row, stamp in zip(rows, stamps, strict=True):
            inst = C.instance(row)
            key = (inst.format or "", inst.data or "")
            if inst.data is None or inst.slot_key != slot_key or key not in want:
                continue
            seen = out.setdefault(key, [])
            if (stamp, inst.id) not in seen:  # a row is listed twice when new rows shift the pages
                seen.append((stamp, inst.id))
        if not rows or not more:
            break
        newest = max(stamps if newest is None else [newest, *stamps])
        in_window = min(stamps) >= newest - RACE_WINDOW
        if not in_window and (all(out.get(k) for k in want) or n + 1 >= enough):
            break
    return out


async def converge(
    platform: Platform,
    groups: dict[tuple[str, str], list[PlannedInstance]],
    ids: dict[str, str],
    mine: dict[str, str],
) -> list[LostInstance]:
    """Point `ids` (planned key -> instance id) at the first created of each content, after
    the platform settled. `mine`: the keys this run created, and what it created."""
    await (platform.sleep or asyncio.sleep)(SETTLE)
    lost: list[LostInstance] = []

    async def one_group(schema_id: str, slot_key: str, group: Sequence[PlannedInstance]) -> None:
        found = await identical(platform, schema_id, slot_key, {(i.format, i.data) for i in group})
        for inst in group:
            rivals = found.get((inst.format, inst.data))
            if not rivals:  # not listed (yet): keep what the create answered
                continue
            winner = first_created(rivals)
            if mine.get(inst.key) not in (None, winner):
                lost.append(LostInstance(id=mine[inst.key], winner=winner, config_type=inst.config_type))
            ids[inst.key] = winner

    await asyncio.gather(*(one_group(s, k, g) for (s, k), g in groups.items()))
    return lost


async def newest_instances(
    platform: Platform, schema_id: str, slot_key: str, n: int
) -> tuple[list[Any], bool]:
    """Page `n` of a schema and slot's config instances, newest first, with their content, and
    whether more pages follow."""
    fetch = raw(platform.sdk.config_instances)
    page = await platform.read(
        lambda: fetch(
            limit=PAGE,
            offset=n * PAGE,
            config_schema_id=[schema_id],
            slot_key=[slot_key],
            expand=["content"],
            order_by=["created_at:desc"],
        ),
        what=f"list config instances of {schema_id}",
        policy=CONFIRMING_READS,
    )
    return list(C.get(page, "data") or []), bool(C.get(page, "has_more"))
