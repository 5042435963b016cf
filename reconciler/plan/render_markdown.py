"""The plan for a pull request comment. GitHub rejects comments over 65,536 characters, so
the output is built against a budget: the summary always, then change groups and exceptions
(each a collapsible <details>) while they fit, then a note of what was left out and where
the full plan is. However large the fleet, the result fits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.escape import LINE_LIMIT, md_code, md_text
from reconciler.model.plan import Plan, Unmanaged
from reconciler.plan.groups import (
    ChangeGroup,
    ExceptionGroup,
    group_changes,
    group_exceptions,
    limit_line,
    summary_line,
)
from reconciler.plan.render_text import layer_words, rollout_words
from reconciler.plan.unmanaged import count_words, removed_words

LIMIT = 65_536
NAMES_PER_GROUP = 200  # device names listed inside one group's <details>
LINES_PER_GROUP = 40  # diff lines shown for one group
ROLLOUTS_CHARS = 2000  # the header's list of DeploymentSets and their rollouts
UNMANAGED_CHARS = 4000  # unmanaged device names listed with --verbose
REMOVED_SHOWN = 20  # removed DeploymentSets named one per line


def size(text: str) -> int:
    """Length as GitHub counts it against the comment limit: UTF-16 code units (an emoji in a
    config value counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def _group_block(g: ChangeGroup) -> str:
    # Every name, version, reason and value goes through `reconciler.escape` (md_text outside
    # code, md_code inside): anyone who can name a device writes into this comment.
    names = [md_text(d.device) for d in g.devices]
    title = f"{md_text(g.deployment_set)}: {g.title()}"
    if g.lines:
        title += (
            " — "
            + md_text(g.lines[0], LINE_LIMIT)
            + (f" (+{len(g.lines) - 1} more)" if len(g.lines) > 1 else "")
        )
    if g.origin:
        title += f" [{g.origin}]"
    body = [f"<details><summary>{title}</summary>", ""]
    body += [f"- {md_code(line)}" for line in g.lines[:LINES_PER_GROUP]]
    if len(g.lines) > LINES_PER_GROUP:
        body.append(f"- … {len(g.lines) - LINES_PER_GROUP} more changes")
    shown = ", ".join(names[:NAMES_PER_GROUP])
    more = f", … (+{len(names) - NAMES_PER_GROUP} more)" if len(names) > NAMES_PER_GROUP else ""
    body += ["", f"Devices: {shown}{more}"]
    if g.offline:
        off = ", ".join(md_text(n) for n in g.offline[:NAMES_PER_GROUP])
        more = f", … (+{len(g.offline) - NAMES_PER_GROUP} more)" if len(g.offline) > NAMES_PER_GROUP else ""
        body.append(f"\nOffline (will queue): {len(g.offline)}: {off}{more}")
    # A blank line after </details>: GitHub ends an HTML block only at a blank line, so a
    # heading straight after it would render as literal text.
    body += ["", "</details>", "", ""]
    return "\n".join(body)


def _exception_block(e: ExceptionGroup) -> str:
    where = f" ({md_text(e.deployment_set)})" if e.deployment_set else ""
    if len(e.devices) == 1:
        c = e.devices[0]
        lines = [f"- **{md_text(c.device)}**{where}: {c.action}: {md_text(c.reason or '', LINE_LIMIT)}"]
    else:
        names = [md_text(d.device) for d in e.devices]
        shown = ", ".join(names[:NAMES_PER_GROUP])
        more = f", … (+{len(names) - NAMES_PER_GROUP} more)" if len(names) > NAMES_PER_GROUP else ""
        reason = md_text(e.reason, LINE_LIMIT)
        lines = [f"- {e.action}: {reason}: **{e.title()}**{where}: {shown}{more}"]
    lines += [f"  - {md_code(x)}" for x in e.lines]
    lines += [f"  - {md_code(x)}" for x in e.diagnostics[:10]]
    return "\n".join(lines) + "\n"


def _rollouts_line(plan: Plan) -> str:
    # One entry per DeploymentSet; a project with thousands of sets must not fill the comment.
    line = "Rollouts: "
    items = sorted(plan.rollouts.items())
    for i, (name, spec) in enumerate(items):
        words = "; ".join(w for w in (layer_words(plan, name), rollout_words(spec)) if w)
        entry = f"{'; ' if i else ''}{md_text(name)}: {md_text(words, LINE_LIMIT)}"
        if len(line) + len(entry) > ROLLOUTS_CHARS:
            return line + f"; … (+{len(items) - i} more DeploymentSets)"
        line += entry
    return line


def _unmanaged(u: Unmanaged | None, verbose: bool) -> list[str]:
    """Bounded however many devices and sets: counts per group, removed sets, names with --verbose."""
    if u is None or u.policy == "ignore" or not u.found:
        return []
    label = "**Error (`unmanaged: error`):**" if u.policy == "error" else "**Warning:**"
    lines = [f"{label} {md_text(count_words(u), LINE_LIMIT)}"] if u.devices else []
    lines += [f"{label} {md_text(removed_words(r), LINE_LIMIT)}" for r in u.removed_sets[:REMOVED_SHOWN]]
    if len(u.removed_sets) > REMOVED_SHOWN:
        lines.append(f"… {len(u.removed_sets) - REMOVED_SHOWN} more removed DeploymentSets")
    if verbose and u.devices:
        names = ""
        for i, d in enumerate(u.devices):
            entry = f"{', ' if i else ''}{md_text(d.device)}"
            if size(names) + size(entry) > UNMANAGED_CHARS:
                names += f", … (+{len(u.devices) - i} more)"
                break
            names += entry
        lines += ["", "<details><summary>Unmanaged devices</summary>", "", names, "", "</details>"]
    return [*lines, ""]


def render_markdown(
    plan: Plan,
    *,
    full_plan: str = "the JSON plan (`reconcile plan --format json`)",
    limit: int = LIMIT,
    verbose: bool = False,
) -> str:
    """`full_plan` names where readers find everything (e.g. the workflow artifact);
    `verbose` lists unmanaged devices by name."""
    groups = group_changes(plan)
    exceptions = group_exceptions(plan)
    head = _head(plan, verbose)
    if not groups and not exceptions:
        head.append("No changes: the platform matches the manifests.")
    text = "\n".join(head) + "\n"
    # Reserve room for the cut note so it always fits.
    budget = limit - 600 - size(full_plan)
    fitted = _Fitted(used=size(text), budget=budget)
    text += fitted.changes(groups) + fitted.exceptions(exceptions)
    text += fitted.cut_note(full_plan)
    assert size(text) <= limit, "markdown plan over its budget"
    return text


def _head(plan: Plan, verbose: bool) -> list[str]:
    """Everything above the changes: always shown whole (the details below may be cut)."""
    head = ["### reconcile plan", "", f"**{summary_line(plan)}**", ""]
    meta = []
    if plan.target:
        meta.append(f"target {md_code(plan.target)}")
    if plan.commit:
        meta.append(f"commit {md_code(plan.commit[:12])}")
    if meta:
        head += [", ".join(meta), ""]
    if plan.rollouts:
        head += [_rollouts_line(plan), ""]
    limit_words = limit_line(plan)
    if limit_words:  # the reviewer sees the count the apply will be refused or allowed on
        head += [md_text(limit_words), ""]
    blocked: dict[str, int] = {}
    for c in plan.changes:
        if c.action == "blocked":
            code = c.reason_code or "blocked"
            blocked[code] = blocked.get(code, 0) + 1
    if blocked:
        head += ["Blocked: " + ", ".join(f"{k} {v}" for k, v in sorted(blocked.items())), ""]
    offline = sum(1 for c in plan.changes if c.offline and c.action not in ("noop", "blocked"))
    if offline:
        head += [f"Offline (their deployments will queue): {offline}", ""]
    head += _unmanaged(plan.unmanaged, verbose)
    if plan.notes:  # content the release's schema cannot check (cue, opaque)
        head += ["Note: " + "; ".join(md_text(n, LINE_LIMIT) for n in plan.notes), ""]
    return head


@dataclass
class _Fitted:
    """The change groups, then the exceptions, as many as fit in the comment's budget, and
    what was left out."""

    used: int
    budget: int
    left_groups: int = 0
    left_devices: int = 0
    left_exc: int = 0

    def changes(self, groups: Sequence[ChangeGroup]) -> str:
        if not groups:
            return ""
        parts = ["#### Changes\n\n"]
        self.used += size(parts[0])
        for i, g in enumerate(groups):
            block = _group_block(g)
            if self.used + size(block) > self.budget:
                self.left_groups = len(groups) - i
                self.left_devices = sum(len(x.devices) for x in groups[i:])
                break
            parts.append(block)
            self.used += size(block)
        return "".join(parts)

    def exceptions(self, exceptions: Sequence[ExceptionGroup]) -> str:
        if not exceptions:
            return ""
        if self.left_groups:  # changes were cut: no room for the exceptions either
            self.left_exc = sum(len(x.devices) for x in exceptions)
            return ""
        n = sum(len(e.devices) for e in exceptions)
        header = (
            f"#### Exceptions ({n} device{'s' if n != 1 else ''})\n\n<details><summary>show</summary>\n\n"
        )
        footer = "\n</details>\n\n"
        self.used += size(header) + size(footer)
        parts = [header]
        for i, e in enumerate(exceptions):
            block = _exception_block(e)
            if self.used + size(block) > self.budget:
                self.left_exc = sum(len(x.devices) for x in exceptions[i:])
                break
            parts.append(block)
            self.used += size(block)
        return "".join([*parts, footer])

    def cut_note(self, full_plan: str) -> str:
        cut = []
        if self.left_groups:
            cut.append(
                f"{self.left_groups} change group{'s' if self.left_groups != 1 else ''} "
                f"({self.left_devices} device{'s' if self.left_devices != 1 else ''})"
            )
        if self.left_exc:
            cut.append(f"{self.left_exc} exception{'s' if self.left_exc != 1 else ''}")
        if not cut:
            return ""
        return (
            f"\n> **Cut to fit one comment:** {' and '.join(cut)} not shown. "
            f"The full plan is in {full_plan}.\n"
        )
