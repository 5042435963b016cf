"""The plan for a terminal: identical changes grouped with a device count and a sample of
names, every exception in full, the summary line last. Deterministic (no timestamps), so a
golden file can pin it."""

from __future__ import annotations

from reconciler import strategies
from reconciler.model.plan import Plan
from reconciler.model.rollout import Activation, RolloutPlan
from reconciler.plan.groups import change_lines, group_changes, is_exception, sample, summary_line

SYMBOL = {"deploy": "~", "upgrade": "^", "stage": "+", "restage": "+", "noop": "=", "blocked": "!"}


def rollout_words(rollout: RolloutPlan | None) -> str:
    """What apply will do, in the strategy's words, with the devices that go first by name."""
    if rollout is None:
        return ""
    # A set with nothing to roll out has no waves to show: its strategy is enough.
    words = strategies.describe(rollout) if rollout.waves else rollout.spec.strategy
    if rollout.spec.activation is Activation.STAGE:
        words += "; release changes left staged"
    return words


def render_text(plan: Plan, *, sample_size: int = 5) -> str:
    out: list[str] = []
    # No commit or time here: the text must be the same for the same state (golden tests).
    if plan.target:
        out += [f"Target: {plan.target}", ""]
    groups = group_changes(plan)
    current = None
    for g in groups:
        if g.deployment_set != current:
            if current is not None:
                out.append("")
            current = g.deployment_set
            words = rollout_words(plan.rollouts.get(g.deployment_set))
            out.append(f"DeploymentSet {g.deployment_set}" + (f" ({words})" if words else ""))
        origin = f"  [{g.origin}]" if g.origin else ""
        names = sample([d.device for d in g.devices], sample_size)
        out.append(f"  {SYMBOL[g.action]} {g.title()}: {names}{origin}")
        for line in g.lines:
            out.append(f"      {line}")
        if g.offline:
            out.append(f"      offline, will queue: {sample(list(g.offline), sample_size)}")
    exceptions = [c for c in plan.changes if is_exception(c)]
    if exceptions:
        if out and out[-1] != "":
            out.append("")
        out.append("Exceptions:")
        for c in exceptions:
            where = f" ({c.deployment_set})" if c.deployment_set else ""
            origin = f"  [{c.origin}]" if c.origin else ""
            out.append(f"  {SYMBOL[c.action]} {c.device}{where}: {c.action}: {c.reason}{origin}")
            for line in change_lines(c) if c.action == "blocked" else ():
                out.append(f"      {line}")
            for line in c.diagnostics:
                out.append(f"      | {line}")
    if out and out[-1] != "":
        out.append("")
    if plan.notes:  # content the release's schema cannot check (cue, opaque): said, not hidden
        out += [f"Note: {n}" for n in plan.notes] + [""]
    if not plan.has_changes and not exceptions:
        out.append("No changes: the platform matches the manifests.")
    out.append(summary_line(plan))
    return "\n".join(out) + "\n"
