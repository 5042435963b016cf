"""Rollout strategies: one module each, found by name in `REGISTRY`.

A strategy validates its own options, fills their defaults, splits a set's devices into waves
at plan time, describes them for review, and decides at each step of a running rollout whether
to start more devices, wait, pause or stop. Adding one is one module here and one line below;
the manifests, the plan and apply find it through `get`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema

from reconciler.model import windows
from reconciler.model.rollout import COMMON_FIELDS, DeviceGroups, Progress, RolloutPlan, RolloutSpec, StepKind
from reconciler.strategies import canary, immediate, rolling
from reconciler.strategies.base import Strategy

REGISTRY: dict[str, Strategy] = {}


def register(strategy: Strategy) -> Strategy:
    REGISTRY[strategy.name] = strategy
    return strategy


for _module in (immediate, rolling, canary):
    register(_module.STRATEGY)


def get(name: str) -> Strategy:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown rollout strategy {name!r} (known: {', '.join(sorted(REGISTRY))})") from None


def names() -> list[str]:
    return sorted(REGISTRY)


def effective(spec: RolloutSpec) -> RolloutSpec:
    """The spec as the rollout will run it: the strategy's defaults filled in."""
    return get(spec.strategy).effective(spec)


def plan_rollout(
    spec: RolloutSpec, devices: Sequence[str], done: Sequence[str] = (), groups: DeviceGroups | None = None
) -> RolloutPlan:
    return get(spec.strategy).plan(effective(spec), devices, done, groups=groups or {})


def awaiting_promotion(plan: RolloutPlan) -> bool:
    """Whether the set's rollout stops for `reconcile apply --promote` before writing anything
    (its canary phase is over on the platform, and nothing promoted it yet)."""
    start = Progress(pending=plan.devices, in_flight=frozenset(), succeeded=frozenset(), failed=frozenset())
    return bool(plan.devices) and get(plan.spec.strategy).next_step(plan, start).kind is StepKind.PAUSE


def describe(plan: RolloutPlan) -> str:
    return get(plan.spec.strategy).describe(plan)


def spec_problems(spec: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems with a rollout mapping's strategy and its options (each at its key), as the
    manifests write them or a saved plan stores them."""
    common: list[tuple[tuple[str | int, ...], str]] = [
        (("windows", i, *key), message)
        for i, w in enumerate(spec.get("windows") or ())
        if isinstance(w, Mapping)
        for key, message in windows.problems(w)
    ]
    return common + _strategy_problems(spec)


def _strategy_problems(spec: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    name = str(spec.get("strategy", RolloutSpec().strategy))
    options = {k: v for k, v in spec.items() if k not in COMMON_FIELDS}
    if name not in REGISTRY:
        unknown = [((k,), "is not a rollout field") for k in options if k not in option_names()]
        return [(("strategy",), f"expected one of {', '.join(REGISTRY)}; got {name!r}"), *unknown]
    strategy = REGISTRY[name]
    out: list[tuple[tuple[str | int, ...], str]] = []
    for key, value in options.items():
        if key not in strategy.options:
            users = users_of(key)
            which = f"strateg{'y' if len(users) == 1 else 'ies'} {' and '.join(users)}"
            out.append(
                (
                    (key,),
                    f"only applies to {which} (strategy is {name})" if users else "is not a rollout field",
                )
            )
            continue
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(strategy.options[key]).iter_errors(value)
        )
        if error is not None:
            out.append(((key,), f"{error.message} (strategy {name})"))
    return out + strategy.problems(options)


def option_names() -> set[str]:
    return {n for s in REGISTRY.values() for n in s.options}


def users_of(option: str) -> list[str]:
    return [s.name for s in REGISTRY.values() if option in s.options]


def merge(defaults: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """A set's rollout over the project defaults, field by field. Defaults that the set's own
    strategy cannot use are not inherited, nor an option exclusive with one the set sets;
    health checks merge key by key."""
    base = dict(defaults)
    name = own.get("strategy", defaults.get("strategy", RolloutSpec().strategy))
    strategy = REGISTRY.get(str(name))
    if "strategy" in own:
        mine = strategy.options if strategy else {}
        base = {k: v for k, v in base.items() if k not in option_names() or k in mine}
    for group in strategy.exclusive if strategy else ():
        if any(k in own for k in group):
            base = {k: v for k, v in base.items() if k not in group}
    out: dict[str, Any] = {**base, **own}
    if "health_check" in base and "health_check" in own:
        out["health_check"] = {**base["health_check"], **own["health_check"]}
    return out
