"""The instance-reuse read before creating config instances is bounded by the plan's distinct
contents, not by the schema's whole history (a fleet edited from the dashboard piles them up)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from reconciler.platform.client import connect
from reconciler.platform.writes import ensure_instances
from tests.apply.helpers import make, run, write_project
from tests.harness import BASE, RW_KEY, Harness, example_fleet, instance_content

pytestmark = pytest.mark.anyio


async def test_a_long_instance_history_costs_no_more_reads(emu: Harness, tmp_path: Path) -> None:
    await emu.seed(example_fleet())
    root = write_project(tmp_path / "p", emu, groups=("lab",), release="v1.4.2")
    plan = await make(root)
    new = [i for i in plan.instances if not i.existing_id]
    assert len(new) == 1
    (planned,) = new
    sdk = emu.sdk()
    content = json.loads(planned.data)
    number = next(k for k, v in content.items() if isinstance(v, float))
    for n in range(250):  # 250 dashboard edits of the same schema and slot, none of them ours
        await sdk.config_instances.create(
            config_schema_id=planned.config_schema_id,
            slot_key=planned.slot_key,
            content=instance_content(
                planned.format,
                json.dumps({**content, number: round(content[number] * (1 - (n + 1) / 1000), 6)}),
            ),
        )
    # The edits came a minute before this apply: older than the window in which another apply
    # creating the same content at once is looked for (`platform/converge.py`).
    await emu.tick(60)
    await emu.admin.delete("/_emulator/requests")
    result = await run(root, plan)
    assert result.exit_code == 0, result.ledger
    log = await emu.requests()
    # Not the 3 pages of the whole history: one page more than the one new content could fill,
    # and once the platform settled, the newest page again, for a rival of the new instance.
    assert log["by_route"].get("GET /beta/config_instances") == 3, log["by_route"]
    # A rerun after a crash finds what the first run created, among the newest, in one page.
    transport = httpx.ASGITransport(app=emu.app)
    async with connect(f"{BASE}/beta", api_key=RW_KEY, transport=transport) as platform:
        platform.sleep = emu.tick  # waiting for the platform to settle advances its clock
        created: list[str] = []
        ids = await ensure_instances(platform, new, created)
    assert created == [] and ids[planned.key].startswith("cfg_inst_")
