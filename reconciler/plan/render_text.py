"""The plan for a terminal: identical changes grouped with a device count and a sample of
names, every exception in full, the summary line last. Deterministic (no timestamps), so a
golden file can pin it."""

from __future__ import annotations

from reconciler.model.plan import Plan, RolloutSpec
from reconciler.plan.groups import change_lines, group_changes, is_exception, sample, summary_line

SYMBOL = {
    "deploy": "~",
    "upgrade": "^",
    "downgrade": "v",
    "stage": "+",
    "restage": "+",
    "noop": "=",
    "blocked": "!",
}


def rollout_words(spec: RolloutSpec | None) -> str:
    if spec is None:
        return ""
    if spec.strategy == "rolling":
        words = f"rolling, {spec.max_parallel or 'all'} at a time"
    elif spec.strategy == "canary":
        first = (
            f"{spec.canary_count}"
            if spec.canary_count is not None
            else f"{spec.canary_percent:g}%"
            if spec.canary_percent is not None
            else "1"
        )
        then = "then auto-promote" if spec.auto_promote else "then pause for --promote"
        words = f"canary {first} first, {then}"
    else:
        words = "immediate"
    if spec.activation == "stage":
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
        out.append(f"  {SYMBOL[g.word]} {g.title()}: {names}{origin}")
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
