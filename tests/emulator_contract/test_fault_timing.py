"""Faults shaped in time: `for_seconds` (a rule that lasts that long on the emulator's clock),
`hold` (requests made to wait for each other, so clients race on cue) and `query`."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.emulator_contract.test_faults import SEED, put_faults
from tests.harness import Harness

pytestmark = pytest.mark.anyio


async def test_a_rule_for_seconds_ends_when_the_clock_has_moved_on(
    emu: Harness, http: httpx.AsyncClient
) -> None:
    await emu.seed(SEED)
    (rule,) = (await put_faults(http, [{"path": "/beta/devices", "status": 429, "for_seconds": 30}]))["rules"]
    assert rule["until"] is not None
    assert (await http.get("/beta/devices")).status_code == 429
    await emu.tick(29)
    assert (await http.get("/beta/devices")).status_code == 429
    await emu.tick(1)
    assert (await http.get("/beta/devices")).status_code == 200
    refused = await http.put("/_emulator/faults", json={"rules": [{"path": "*", "status": 500, "until": 1}]})
    assert refused.status_code == 400 and "until" in refused.text  # set by the PUT, not by hand


async def test_held_requests_proceed_together_and_query_narrows_a_rule(
    emu: Harness, http: httpx.AsyncClient
) -> None:
    await emu.seed(SEED)
    arrived: list[str] = []

    async def get(path: str) -> int:
        response = await http.get(path)
        arrived.append(path)
        return response.status_code

    await put_faults(http, [{"method": "GET", "path": "/beta/devices", "query": "*limit=2*", "hold": 2}])
    first = asyncio.create_task(get("/beta/devices?limit=2"))
    # Not matched by the rule (another query): not held.
    assert await get("/beta/devices?limit=3") == 200 and arrived == ["/beta/devices?limit=3"]
    assert not first.done()  # held: the other request came and went meanwhile
    assert await get("/beta/devices?offset=0&limit=2") == 200  # the second of the party releases both
    assert await first == 200
    (rule,) = (await http.get("/_emulator/faults")).json()["rules"]
    assert rule["fired"] == 2
    assert (await http.get("/beta/devices?limit=2")).status_code == 200  # past the party: not held
    bad = await http.put("/_emulator/faults", json={"rules": [{"path": "*", "hold": 1}]})
    assert bad.status_code == 400 and "hold" in bad.text
