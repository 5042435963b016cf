"""Where each DeploymentSet's rollout stands, read off a plan (which read it off the platform):
shown by `plan` and `status`, the same words from every clone."""

from __future__ import annotations

from reconciler import strategies
from reconciler.model.enums import ControlKind, SetRolloutState
from reconciler.model.rollout import RolloutPlan


def state_of(rollout: RolloutPlan) -> SetRolloutState:
    if rollout.held:
        return SetRolloutState.HELD
    control = rollout.control if rollout.devices else None  # a finished rollout has nothing to stop
    if control is not None and control.kind is ControlKind.PAUSE:
        return SetRolloutState.PAUSED
    if control is not None and control.halts:
        return SetRolloutState.ABORTED
    if strategies.awaiting_promotion(rollout):
        return SetRolloutState.PAUSED
    if rollout.devices:
        return SetRolloutState.IN_PROGRESS if rollout.done else SetRolloutState.PENDING
    return SetRolloutState.COMPLETED if rollout.done else SetRolloutState.UNCHANGED


LABELS = {
    SetRolloutState.HELD: "held back",
    SetRolloutState.PAUSED: "paused",
    SetRolloutState.ABORTED: "aborted",
    SetRolloutState.IN_PROGRESS: "in progress",
    SetRolloutState.COMPLETED: "completed",
}


def resume_command(name: str) -> str:
    return f"`reconcile apply --promote --set {name}`"


def state_words(rollout: RolloutPlan) -> str:
    """What the platform shows and what apply will do about it, without the state's own name
    ('' when there is nothing to say)."""
    state = state_of(rollout)
    n_done, n_todo = len(rollout.done), len(rollout.devices)
    control = rollout.control
    if state is SetRolloutState.HELD:
        return rollout.held
    if state is SetRolloutState.PAUSED and control is not None:
        return f"{control.words()}; {n_done} device(s) run it; {resume_command(control.deployment_set)} continues with {n_todo} more"
    if state is SetRolloutState.ABORTED and control is not None:
        return (
            f"{control.words()}; {n_done} device(s) run it, {n_todo} left as they are; apply with "
            "--retry-failed or --force to continue it, or change the content"
        )
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
