"""The plan for a terminal: identical changes grouped with a device count and a sample of
names, every exception in full, the summary line last. Deterministic (no timestamps), so a
golden file can pin it."""

from __future__ import annotations

from reconciler import strategies
from reconciler.escape import LINE_LIMIT, terminal
from reconciler.model.enums import SetRolloutState
from reconciler.model.plan import Plan
from reconciler.model.rollout import Activation, RolloutPlan
from reconciler.plan.groups import group_changes, group_exceptions, limit_line, sample, summary_line
from reconciler.plan.rollout_state import state_line, state_of
from reconciler.plan.unmanaged import render_unmanaged_text

SYMBOL = {
    "deploy": "~",
    "upgrade": "^",
    "downgrade": "v",
    "stage": "+",
    "restage": "+",
    "noop": "=",
    "blocked": "!",
}


def rollout_words(rollout: RolloutPlan | None) -> str:
    """What apply will do, in the strategy's words, with the devices that go first by name."""
    if rollout is None:
        return ""
    # A set with nothing to roll out has no waves to show: its strategy is enough.
    words = strategies.describe(rollout) if rollout.waves else rollout.spec.strategy
    if rollout.spec.activation is Activation.STAGE:
        words += "; release changes left staged"
    if rollout.spec.max_per_minute and rollout.waves:
        words += f"; at most {rollout.spec.max_per_minute} device(s) started a minute"
    if rollout.spec.windows and rollout.waves:
        words += "; windows: " + ", ".join(w.words() for w in rollout.spec.windows)
        opens = [f"wave {i} {_opens(w.opens)}" for i, w in enumerate(rollout.waves, start=1) if w.opens]
        words += f" ({', '.join(opens)})" if opens else ""
    status = state_line(rollout)
    return f"{words}; {status}" if status and state_of(rollout) is not SetRolloutState.COMPLETED else words


def layer_words(plan: Plan, name: str) -> str:
    """`extends fleet-base`, or `extends region-eu over fleet-base` for a longer chain."""
    bases = plan.layers.get(name, ())
    return f"extends {' over '.join(bases)}" if bases else ""


def _opens(opens: str) -> str:
    return "can start now" if opens == "now" else f"opens {opens}" if opens[:1].isdigit() else opens


def _line(text: str) -> str:
    return terminal(text, LINE_LIMIT)


def render_text(plan: Plan, *, sample_size: int | None = 5) -> str:
    """`sample_size` device names per line (None: every name, `plan --verbose`, which also lists
    the devices no DeploymentSet selects). Every name, version, reason and value in it goes
    through `reconciler.escape.terminal`: they come from the platform and the manifests."""
    out: list[str] = []
    # No commit or time here: the text must be the same for the same state (golden tests).
    if plan.target:
        out += [f"Target: {terminal(plan.target)}", ""]
    groups = group_changes(plan)
    current = None
    for g in groups:
        if g.deployment_set != current:
            if current is not None:
                out.append("")
            current = g.deployment_set
            rollout = plan.rollouts.get(g.deployment_set)
            words = "; ".join(w for w in (layer_words(plan, g.deployment_set), rollout_words(rollout)) if w)
            # The strategy's words name canary devices: escaped like any name.
            shown = f" ({_line(words)})" if words else ""
            out.append(f"DeploymentSet {terminal(g.deployment_set)}{shown}")
            out += [f"  note: {_line(n)}" for n in (rollout.notes if rollout else ())]
        origin = f"  [{g.origin}]" if g.origin else ""
        names = sample([terminal(d.device) for d in g.devices], sample_size)
        out.append(f"  {SYMBOL[g.word]} {g.title()}: {names}{origin}")
        for line in g.lines:
            out.append(f"      {_line(line)}")
        if g.offline:
            out.append(f"      offline, will queue: {sample([terminal(n) for n in g.offline], sample_size)}")
    exceptions = group_exceptions(plan)
    if exceptions:
        if out and out[-1] != "":
            out.append("")
        out.append("Exceptions:")
        for e in exceptions:
            where = f" ({terminal(e.deployment_set)})" if e.deployment_set else ""
            if len(e.devices) == 1:
                c = e.devices[0]
                out.append(
                    f"  {SYMBOL[e.action]} {terminal(c.device)}{where}: {e.action}: {_line(c.reason or '')}"
                )
            else:
                names = sample([terminal(d.device) for d in e.devices], sample_size)
                reason = _line(e.reason)
                out.append(f"  {SYMBOL[e.action]} {e.action}: {reason}: {e.title()}{where}: {names}")
            for line in e.lines:
                out.append(f"      {_line(line)}")
            for line in e.diagnostics:
                out.append(f"      | {_line(line)}")
    if out and out[-1] != "":
        out.append("")
    unmanaged = render_unmanaged_text(plan.unmanaged, verbose=sample_size is None)
    if unmanaged:
        out += [*unmanaged, ""]
    if plan.notes:  # content the release's schema cannot check (cue, opaque): said, not hidden
        out += [f"Note: {_line(n)}" for n in plan.notes] + [""]
    if not plan.has_changes and not exceptions:
        out.append("No changes: the platform matches the manifests.")
    limit = limit_line(plan)
    if limit:
        out.append(limit)
    out.append(summary_line(plan))
    return "\n".join(out) + "\n"
