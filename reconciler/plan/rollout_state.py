"""Where each DeploymentSet's rollout stands, read off a plan (which read it off the platform):
shown by `plan` and `status`, the same words from every clone."""

from __future__ import annotations

from reconciler import strategies
from reconciler.model.enums import SetRolloutState
from reconciler.model.rollout import RolloutPlan


def state_of(rollout: RolloutPlan) -> SetRolloutState:
    if rollout.held:
        return SetRolloutState.HELD
    if strategies.awaiting_promotion(rollout):
        return SetRolloutState.PAUSED
    if rollout.devices:
        return SetRolloutState.IN_PROGRESS if rollout.done else SetRolloutState.PENDING
    return SetRolloutState.COMPLETED if rollout.done else SetRolloutState.UNCHANGED


LABELS = {
    SetRolloutState.HELD: "held back",
    SetRolloutState.PAUSED: "paused",
    SetRolloutState.IN_PROGRESS: "in progress",
    SetRolloutState.COMPLETED: "completed",
}


def state_words(rollout: RolloutPlan) -> str:
    """What the platform shows and what apply will do about it, without the state's own name
    ('' when there is nothing to say)."""
    state = state_of(rollout)
    n_done, n_todo = len(rollout.done), len(rollout.devices)
    if state is SetRolloutState.HELD:
        return rollout.held
    if state is SetRolloutState.PAUSED:
        return f"{n_done} device(s) run it; `reconcile apply --promote` continues with {n_todo} more"
    if state is SetRolloutState.IN_PROGRESS:
        return f"{n_done} device(s) run it; apply continues with {n_todo} more"
    if state is SetRolloutState.COMPLETED:
        return f"{n_done} device(s) run it"
    return ""


def state_line(rollout: RolloutPlan) -> str:
    """'paused: 1 device(s) run it; ...' ('' when there is nothing to say)."""
    words = state_words(rollout)
    return f"{LABELS[state_of(rollout)]}: {words}" if words else ""
