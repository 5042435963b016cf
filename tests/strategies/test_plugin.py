"""A strategy defined only in this test: registered through the registry, it is validated by the
manifests, planned, rendered and applied with no other edit to the product.

`solo` starts one device at a time, in reverse name order (or name order with `reverse: false`),
each device its own wave: a strategy with an option of its own."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from reconciler import strategies
from reconciler.errors import ValidationFailed
from reconciler.manifests.loader import load_path
from reconciler.model.rollout import DeviceGroups, Progress, RolloutPlan, RolloutSpec, Step, Wave, WaveKind
from reconciler.plan.render_markdown import render_markdown
from reconciler.plan.render_text import render_text
from reconciler.strategies.base import OptionProblem, fill_defaults, window_step
from tests.apply.helpers import make, run, write_project
from tests.harness import Harness, example_fleet

pytestmark = pytest.mark.anyio
HEALTH = {"deadline": "30s", "min_healthy_time": "2s"}


class Solo:
    name = "solo"
    options: Mapping[str, Mapping[str, Any]] = {"reverse": {"type": "boolean", "default": True}}
    exclusive: tuple[tuple[str, ...], ...] = ()
    uses_health_check = True

    def problems(self, options: Mapping[str, Any]) -> list[OptionProblem]:
        return []

    def effective(self, spec: RolloutSpec) -> RolloutSpec:
        return fill_defaults(spec, self.options)

    def plan(
        self,
        spec: RolloutSpec,
        devices: Sequence[str],
        done: Sequence[str] = (),
        groups: DeviceGroups | None = None,
    ) -> RolloutPlan:
        order = list(reversed(devices)) if spec.option("reverse") else list(devices)
        return RolloutPlan(spec=spec, waves=tuple(Wave(WaveKind.BATCH, (d,)) for d in order), window=1)

    def describe(self, plan: RolloutPlan) -> str:
        return f"solo: {', '.join(plan.devices)}, one at a time"

    def next_step(self, plan: RolloutPlan, progress: Progress) -> Step:
        return window_step(1, progress)


@pytest.fixture
def solo() -> Iterator[None]:
    strategies.register(Solo())
    yield
    strategies.REGISTRY.pop("solo", None)


async def test_a_registered_strategy_plans_renders_and_applies(
    solo: None, emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(offline=[]))
    root = write_project(
        tmp_path / "p", emu, groups=("lab",), rollout={"strategy": "solo", **{"health_check": HEALTH}}
    )
    plan = await make(root)
    rollout = plan.rollouts["all"]
    assert [w.devices for w in rollout.waves] == [("lab-arm-03",), ("lab-arm-02",), ("lab-arm-01",)]
    assert "(solo: lab-arm-03, lab-arm-02, lab-arm-01, one at a time)" in render_text(plan)
    assert "all: solo: lab-arm-03, lab-arm-02, lab-arm-01, one at a time" in render_markdown(plan)
    result = await run(root, plan)
    assert result.exit_code == 0
    assert {e.device: e.wave for e in result.ledger} == {"lab-arm-03": 1, "lab-arm-02": 2, "lab-arm-01": 3}
    assert {e.state for e in result.ledger} == {"succeeded"}


def test_its_option_is_checked_where_it_is_written(solo: None, emu: Harness, tmp_path: Path) -> None:
    root = write_project(tmp_path / "p", emu, rollout={"strategy": "solo", "reverse": "yes"})
    with pytest.raises(ValidationFailed) as failed:
        load_path(root)
    (problem,) = failed.value.problems
    assert problem.message == "spec.rollout.reverse: 'yes' is not of type 'boolean' (strategy solo)"
    assert problem.location.file.endswith("all.yaml") and problem.location.line is not None
    # unregistered, the name is unknown, as any typo would be
    del strategies.REGISTRY["solo"]
    with pytest.raises(ValidationFailed) as failed:
        load_path(root)
    messages = [p.message for p in failed.value.problems]
    assert "spec.rollout.strategy: expected one of immediate, rolling, canary; got 'solo'" in messages
