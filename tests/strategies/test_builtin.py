"""The built-in strategies: waves decided at plan time, and each step of a running rollout."""

from __future__ import annotations

from collections.abc import Collection

from hypothesis import given
from hypothesis import strategies as st

from reconciler import strategies
from reconciler.model.rollout import Progress, RolloutPlan, RolloutSpec, StepKind, WaveKind

DEVICES = [f"d{i:02d}" for i in range(10)]


def _plan(strategy: str, **options: object) -> RolloutPlan:
    return strategies.plan_rollout(RolloutSpec(strategy=strategy, options=options), DEVICES)


def _progress(
    plan: RolloutPlan,
    *,
    succeeded: Collection[str] = (),
    failed: Collection[str] = (),
    in_flight: Collection[str] = (),
    promoted: bool = False,
    promote_requested: bool = False,
) -> Progress:
    done = set(succeeded) | set(failed) | set(in_flight)
    return Progress(
        pending=tuple(n for n in plan.devices if n not in done),
        in_flight=frozenset(in_flight),
        succeeded=frozenset(succeeded),
        failed=frozenset(failed),
        promoted=promoted,
        promote_requested=promote_requested,
    )


def test_immediate_is_one_wave_and_skips_the_healthy_wait() -> None:
    plan = _plan("immediate")
    assert [w.devices for w in plan.waves] == [tuple(DEVICES)] and plan.window == 10
    assert plan.spec.health_check.min_healthy_time == 0
    assert strategies.describe(plan) == "immediate: 10 devices at once"


def test_rolling_chunks_by_max_parallel_and_slides() -> None:
    plan = _plan("rolling", max_parallel=4)
    assert [len(w.devices) for w in plan.waves] == [4, 4, 2] and plan.window == 4 and plan.wave_of("d05") == 2
    assert strategies.describe(plan) == "rolling, 4 at a time: 10 devices in 3 waves"
    step = strategies.get("rolling").next_step(
        plan, _progress(plan, in_flight=["d00", "d01", "d02"], succeeded=["d03"])
    )
    assert (step.kind, step.devices) == (StepKind.START, ("d04",))  # the window slides into wave 2


def test_canary_names_its_devices_and_pauses_for_promotion() -> None:
    plan = _plan("canary", canary_count=2, max_parallel=3)
    assert plan.canaries == ("d00", "d01") and [len(w.devices) for w in plan.waves] == [2, 3, 3, 2]
    assert plan.waves[0].kind is WaveKind.CANARY
    assert strategies.describe(plan) == "canaries: d00, d01; pause for --promote; then 8 devices, 3 at a time"
    canary = strategies.get("canary")
    assert canary.next_step(plan, _progress(plan)).devices == ("d00", "d01")
    assert canary.next_step(plan, _progress(plan, in_flight=["d00"], succeeded=["d01"])).kind is StepKind.WAIT
    paused = canary.next_step(plan, _progress(plan, succeeded=["d00", "d01"]))
    assert (paused.kind, paused.reason) == (StepKind.PAUSE, "canaries healthy")
    assert (
        canary.next_step(plan, _progress(plan, succeeded=["d00", "d01"], promote_requested=True)).kind
        is StepKind.PROMOTE
    )
    after = canary.next_step(plan, _progress(plan, succeeded=["d00", "d01"], promoted=True))
    assert after.devices == ("d02", "d03", "d04")
    stop = canary.next_step(plan, _progress(plan, failed=["d01"], succeeded=["d00"]))
    assert (stop.kind, stop.reason) == (StepKind.STOP, "a canary device failed (d01)")


def test_canary_percent_and_auto_promote() -> None:
    plan = _plan("canary", canary_percent=25, auto_promote=True)
    assert len(plan.canaries) == 3 and [len(w.devices) for w in plan.waves] == [3, 7]
    step = strategies.get("canary").next_step(plan, _progress(plan, succeeded=plan.canaries))
    assert step.kind is StepKind.PROMOTE


def test_the_plan_round_trips_through_json() -> None:
    plan = _plan("canary", canary_count=2, max_parallel=3)
    assert RolloutPlan.from_dict(plan.to_dict()) == plan
    assert plan.to_dict()["spec"]["health_check"]["deadline"] == 300.0  # durations as numbers


@given(
    n=st.integers(0, 300),
    strategy=st.sampled_from(["immediate", "rolling", "canary"]),
    max_parallel=st.integers(0, 50),
    size=st.one_of(
        st.integers(1, 400).map(lambda c: {"canary_count": c}),
        st.floats(0.1, 100).map(lambda p: {"canary_percent": p}),
    ),
)
def test_waves_partition_devices_in_order(
    n: int, strategy: str, max_parallel: int, size: dict[str, float]
) -> None:
    devices = [f"d{i:03d}" for i in range(n)]  # names in plan (name) order
    options: dict[str, object] = {"max_parallel": max_parallel} if strategy != "immediate" else {}
    if strategy == "canary":
        options.update(size)
    plan = strategies.plan_rollout(RolloutSpec(strategy=strategy, options=options), devices)
    assert list(plan.devices) == devices
    assert all(w.devices for w in plan.waves)
    if n:
        assert plan.window >= 1
    if strategy == "canary" and n:
        assert 1 <= len(plan.canaries) <= n and plan.waves[0].devices == plan.canaries
    if strategy == "rolling" and max_parallel and n:
        assert max(len(w.devices) for w in plan.waves) <= max_parallel
