"""Separate processes over one SQLite file: the parent_id check holds across them (BEGIN
IMMEDIATE), and they share state and the clock."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.emulator.conftest import Fleet

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import asyncio, json, sys
import httpx, miru_platform_sdk as sdk
from reconciler.emulator.app import create_app

db, device, release, parent, ids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].split(",")
app = create_app(db)  # existing db: its manual clock and state are reused

async def main():
    client = sdk.AsyncMiru(api_key="emulator-local-rw", miru_version="2026-08-17.everglades",
                           base_url="http://emulator.local/beta", max_retries=0,
                           http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=app)))
    codes = []
    for _ in range(10):
        try:
            await client.deployments.create(device_id=device, release_id=release, config_instance_ids=ids,
                                            description="race", target_status="deployed", parent_id=parent)
            codes.append(200)
        except sdk.APIStatusError as e:
            codes.append(e.status_code)
    print(json.dumps(codes))

asyncio.run(main())
"""


async def test_parent_id_race_across_processes_has_one_winner(fleet: Fleet) -> None:
    parent = await fleet.target("amr-east-02")
    assert parent is not None
    ids = await fleet.instances(max_speed=1.7)
    args = [fleet.emu.db, fleet.devices["amr-east-02"], fleet.releases["v1.4.1"], parent, ",".join(ids)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    codes: list[int] = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        codes += json.loads(out)
    assert sorted(codes) == [200] + [409] * 19
    winner = await fleet.target("amr-east-02")
    assert winner != parent
    assert (await fleet.deployment(str(winner)))["parent_id"] == parent
