"""`reconcile doctor` against the emulator under two readings of what the docs leave open: it
reports what it found and the switches that match, reading only."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from tests.harness import Harness, example_fleet
from tests.plan.projects import write_project

pytestmark = pytest.mark.anyio

DOCUMENTED = {
    "ids": "random",
    "sort_ties": "id_asc",
    "timestamps": "milliseconds",
    "current_switch": "confirm",
}
HISTORICAL = {
    "ids": "time_ordered",
    "sort_ties": "id_last_direction",
    "timestamps": "auto",
    "current_switch": "create",
}


@pytest.mark.parametrize("switches", [HISTORICAL, DOCUMENTED], ids=["historical", "documented"])
async def test_doctor_tells_the_readings_apart(
    emu: Harness, tmp_path: Path, switches: dict[str, str]
) -> None:
    r = await emu.admin.post("/_emulator/platform", json=switches)
    assert r.status_code == 200, r.text
    await emu.seed(example_fleet(8, offline=["amr-east-02"]))  # seeded at one instant: created_at ties
    sdk = emu.sdk()
    # A config patch for the offline device stays queued: does "current" switch at create?
    (dev,) = (await sdk.devices.list(name=["amr-east-02"], expand=["current_deployment"])).data
    assert dev.current_deployment is not None
    cur = await sdk.deployments.retrieve(dev.current_deployment.id, expand=["config_instances"])
    parent = cur.id
    for _ in range(5):  # created at five instants: do ids sort by creation?
        await emu.tick(1)
        made = await sdk.deployments.create(
            device_id=dev.id,
            release_id=cur.release_id,
            description="by hand",
            config_instance_ids=[c.id for c in cur.config_instances or []],
            target_status="deployed",
            parent_id=parent,
        )
        parent = made.id
    await emu.admin.delete("/_emulator/requests")
    root = write_project(tmp_path / "p", emu.db, enrollment=False)
    result = await asyncio.to_thread(CliRunner().invoke, main, ["doctor", str(root), "--format", "json"])
    assert result.exit_code == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    matched = doc["emulator_switches"]
    # Whole-second timestamps read the same under `auto` and `seconds`: both match.
    assert matched.pop("timestamps") in (
        {"auto", "seconds"} if switches["timestamps"] == "auto" else {switches["timestamps"]}
    )
    assert matched == {k: v for k, v in switches.items() if k != "timestamps"}
    found = {f["topic"]: f["value"] for f in doc["findings"]}
    # The documented forms, which the emulator takes under every reading.
    assert found["filter id=a|b"] == found["filter id=a,b"] == found["filter id=a&id=b"] == "yes"
    assert found["expand expand[]=a&expand[]=b"] == found["expand release.config_schemas (nested)"] == "yes"
    assert found["order_by default direction"] == "descending"
    assert doc["principal"].startswith("Emulator read-write key")
    log = await emu.requests()
    assert {k.split()[0] for k in log["by_route"]} == {"GET"}  # reads only

    text = await asyncio.to_thread(CliRunner().invoke, main, ["doctor", str(root)])
    assert "Emulator switches that match (a seed's platform section): platform: {" in text.stdout
    assert f"sort_ties: {switches['sort_ties']}" in text.stdout
