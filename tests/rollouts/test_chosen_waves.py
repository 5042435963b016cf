"""Chosen canaries and waves by site: `rollout.canary: {devices, groups}` and explicit
`rollout.waves`, decided at plan time from each device's groups, shown in the plan, and run
wave after wave against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import strategies
from reconciler.errors import ValidationFailed
from reconciler.manifests.loader import load_path
from reconciler.model.rollout import Progress, RolloutPlan, RolloutSpec, StepKind, WaveKind
from reconciler.plan.render_markdown import render_markdown
from reconciler.plan.render_text import render_text
from tests.apply.helpers import Notes, make, run, write_project
from tests.apply.test_cli import validate
from tests.harness import Harness, example_fleet

HEALTH = {"deadline": "30s", "min_healthy_time": "2s"}
DEVICES = ["a1", "a2", "b1", "b2", "b3", "c1", "c2", "c3", "c4", "c5"]
GROUPS = {
    **{d: frozenset({"site-a", "fleet"}) for d in DEVICES if d.startswith("a")},
    **{d: frozenset({"site-b", "fleet"}) for d in DEVICES if d.startswith("b")},
    **{d: frozenset({"lab"}) for d in DEVICES if d.startswith("c")},
}


def _plan(strategy: str, done: tuple[str, ...] = (), **options: object) -> RolloutPlan:
    todo = [d for d in DEVICES if d not in done]
    return strategies.plan_rollout(RolloutSpec(strategy=strategy, options=options), todo, done, GROUPS)


def _progress(
    plan: RolloutPlan, in_flight: tuple[str, ...] = (), succeeded: tuple[str, ...] = ()
) -> Progress:
    started = {*in_flight, *succeeded}
    return Progress(
        pending=tuple(n for n in plan.devices if n not in started),
        in_flight=frozenset(in_flight),
        succeeded=frozenset(succeeded),
        failed=frozenset(),
    )


def test_chosen_canaries_are_the_named_devices_and_groups_in_name_order() -> None:
    plan = _plan("canary", canary={"devices": ["c3"], "groups": ["site-b"]})
    assert plan.canaries == ("b1", "b2", "b3", "c3")
    assert plan.waves[0].kind is WaveKind.CANARY and plan.waves[0].devices == ("b1", "b2", "b3", "c3")
    assert strategies.describe(plan).startswith(
        "canaries: b1, b2, b3, c3; pause for --promote; then 6 devices"
    )
    # The same devices whatever order the planner lists them in.
    shuffled = strategies.plan_rollout(
        RolloutSpec(strategy="canary", options={"canary": {"devices": ["c3"], "groups": ["site-b"]}}),
        list(reversed(DEVICES)),
        (),
        GROUPS,
    )
    assert shuffled.canaries == plan.canaries


def test_a_canary_not_in_the_set_is_a_note_and_a_selector_matching_nothing_says_so() -> None:
    plan = _plan("canary", canary={"devices": ["ghost-01", "a1"]})
    assert plan.canaries == ("a1",) and plan.notes == ("canary devices not in this set's rollout: ghost-01",)
    empty = _plan("canary", canary={"groups": ["nowhere"]})
    assert empty.canaries == () and "picks no device" in empty.notes[0]


def test_waves_by_group_then_percent_claim_each_device_once() -> None:
    plan = _plan("rolling", waves=[{"groups": ["site-b"]}, {"percent": 50}, {"percent": 100}])
    assert [(w.label, w.devices) for w in plan.waves] == [
        ("groups site-b", ("b1", "b2", "b3")),
        ("50%", ("a1", "a2")),  # 3 + 2 = 50% of 10
        ("100%", ("c1", "c2", "c3", "c4", "c5")),
    ]
    assert plan.window == 5 and all(w.gated for w in plan.waves)
    words = strategies.describe(plan)
    assert words.startswith(
        "rolling by waves, each after the last: wave 1 (groups site-b): b1, b2, b3; wave 2 (50%)"
    )


def test_devices_no_wave_names_form_a_last_wave_and_done_devices_count_toward_percent() -> None:
    plan = _plan("rolling", waves=[{"groups": ["lab"]}])
    assert [w.label for w in plan.waves] == ["groups lab", "the rest (no wave names them)"]
    resumed = _plan("rolling", done=("a1", "a2", "b1"), waves=[{"percent": 30}, {"percent": 100}])
    # a1, a2, b1 already run the content: they fill the first 30%, so wave 1 is empty and dropped.
    assert [w.label for w in resumed.waves] == ["100%"] and resumed.waves[0].devices[0] == "b2"


def test_a_wave_starts_only_when_the_one_before_is_finished() -> None:
    plan = _plan("rolling", max_parallel=2, waves=[{"groups": ["site-a"]}, {"groups": ["site-b", "lab"]}])
    rolling = strategies.get("rolling")
    first = rolling.next_step(plan, _progress(plan))
    assert (first.kind, first.devices) == (StepKind.START, ("a1", "a2"))
    # a2 is done, a1 still in flight: a slot is free but wave 2 waits for wave 1.
    assert (
        rolling.next_step(plan, _progress(plan, in_flight=("a1",), succeeded=("a2",))).kind is StepKind.WAIT
    )
    second = rolling.next_step(plan, _progress(plan, succeeded=("a1", "a2")))
    assert (second.kind, second.devices) == (StepKind.START, ("b1", "b2"))
    # Inside a wave the window slides.
    slide = rolling.next_step(plan, _progress(plan, in_flight=("b1",), succeeded=("a1", "a2", "b2")))
    assert (slide.kind, slide.devices) == (StepKind.START, ("b3",))


def test_canary_then_waves_numbers_the_waves_after_the_canaries() -> None:
    plan = _plan("canary", canary={"devices": ["c1"]}, waves=[{"groups": ["site-a"]}, {"percent": 100}])
    assert [w.kind for w in plan.waves] == [WaveKind.CANARY, WaveKind.BATCH, WaveKind.BATCH]
    assert "then by waves, each after the last: wave 2 (groups site-a): a1, a2; wave 3 (100%)" in (
        strategies.describe(plan)
    )


@pytest.mark.parametrize(
    ("rollout", "message"),
    [
        ({"strategy": "canary", "canary": {"devices": ["a"]}, "canary_count": 1}, "set one of"),
        ({"strategy": "canary", "canary": {"sites": ["a"]}}, "canary.sites: unknown key 'sites'"),
        ({"strategy": "rolling", "waves": [{"percent": 0}]}, "percent: must be > 0"),
        ({"strategy": "rolling", "waves": [{"percent": 50, "groups": ["x"]}]}, "too many"),
        ({"strategy": "immediate", "waves": [{"percent": 50}]}, "only applies to"),
    ],
)
def test_bad_selectors_and_waves_are_manifest_errors(
    emu: Harness, tmp_path: Path, rollout: dict[str, object], message: str
) -> None:
    root = write_project(tmp_path / "p", emu, rollout=rollout)
    with pytest.raises(ValidationFailed) as failed:
        load_path(root)
    problems = [p.message for p in failed.value.problems]
    assert any(message in m for m in problems), problems
    assert all(p.location is not None and p.location.line for p in failed.value.problems)


@pytest.mark.anyio
async def test_a_canary_by_group_and_waves_by_site_run_in_order_on_the_emulator(
    emu: Harness, tmp_path: Path
) -> None:
    await emu.seed(example_fleet(offline=[], spare=False))
    root = write_project(
        tmp_path / "p",
        emu,
        groups=("fleet", "lab"),
        rollout={
            "strategy": "canary",
            "canary": {"groups": ["lab"], "devices": ["amr-west-06"]},
            "auto_promote": True,
            "waves": [{"groups": ["warehouse-west"]}, {"percent": 100}],
            "health_check": HEALTH,
        },
    )
    plan = await make(root)
    rollout = plan.rollouts["all"]
    assert rollout.canaries == ("amr-west-06", "lab-arm-01", "lab-arm-02", "lab-arm-03")
    assert [len(w.devices) for w in rollout.waves] == [4, 5, 8]
    text = render_text(plan)
    assert "canaries: amr-west-06, lab-arm-01, lab-arm-02, lab-arm-03; auto-promote" in text
    assert "wave 2 (groups warehouse-west): amr-west-01" in text
    assert "wave 3 (100%): amr-east-01" in render_markdown(plan)
    validate(plan.to_dict(), "plan.schema.json")
    waves = plan.to_dict()["rollouts"]["all"]["waves"]
    assert [w.get("label") for w in waves] == ["canaries", "groups warehouse-west", "100%"]
    notes = Notes()
    result = await run(root, plan, reporter=notes)
    assert result.exit_code == 0 and {e.state for e in result.ledger} == {"succeeded"}
    assert {e.device: e.wave for e in result.ledger}["amr-west-01"] == 2
    assert [line for line in notes.lines if line.startswith("all wave ")] == [
        "all wave 1/3 4",
        "all wave 2/3 5",
        "all wave 3/3 8",
    ]
