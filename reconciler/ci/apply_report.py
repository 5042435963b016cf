"""The apply result in the job summary (`reconcile apply --format json`): counts, one row per
rollout, and the devices that did not simply succeed. The full JSON is in the artifact."""

from __future__ import annotations

import json
from typing import Any

from reconciler.ci.report import cell, failure_markdown
from reconciler.escape import md_code

SHOWN = 500  # devices listed per kind; the rest is in the artifact


def apply_markdown(path: str, exitcode: int, stdout: str, stderr: str, artifact: str = "") -> str:
    ok = exitcode == 0
    outcome = "succeeded" if ok else f"exit {exitcode}"
    md = f"### {'✅' if ok else '❌'} reconcile apply {md_code(path)}: {outcome}\n\n"
    try:
        data: Any = json.loads(stdout)
    except ValueError:
        data = None
    if isinstance(data, dict):
        counts = _dict(data.get("summary"))
        parts = [f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if isinstance(n, int) and n]
        if parts:
            md += "**Devices: " + ", ".join(parts) + ".**\n\n"
        md += _rollouts([r for r in data.get("rollouts") or [] if isinstance(r, dict)])
        md += _attention(data)
    if artifact:
        md += f"Full result: `apply.json` in the artifact `{artifact}`.\n"
    if not ok and stderr.strip():
        md += "\n" + failure_markdown("errors", stderr)
    return md


def _rollouts(rollouts: list[dict[str, Any]]) -> str:
    if not rollouts:
        return ""
    md = "| Rollout | DeploymentSet | Strategy | Release | State | Updated | Failed |\n"
    md += "|---|---|---|---|---|---|---|\n"
    for r in rollouts:
        st = _dict(r.get("status"))
        spec = _dict(r.get("spec"))
        release = f"{r.get('from_version') or '?'} → {r.get('to_version') or '?'}"
        state = str(st.get("state", "?"))
        if st.get("message"):
            state += f" ({cell(str(st['message']))})"
        md += (
            f"| {cell(str(r.get('id', '')))} | {cell(str(r.get('deployment_set', '')))} "
            f"| {cell(str(spec.get('strategy', '')))} | {cell(release)} | {state} "
            f"| {st.get('updated_nodes', '?')}/{st.get('total_nodes', '?')} "
            f"| {st.get('failed_nodes', '?')} |\n"
        )
    return md + "\n"


def _attention(data: dict[str, Any]) -> str:
    """The devices needing attention: failed, rolled back, not attempted; blocked ones once."""
    ledger = [e for e in data.get("ledger") or [] if isinstance(e, dict)]
    # Blocked devices are in the ledger too (not_attempted); they are listed once, below.
    notable = [e for e in ledger if e.get("state") != "succeeded" and e.get("action") != "blocked"]
    blocked = [b for b in data.get("blocked") or [] if isinstance(b, dict)]
    if not notable and not blocked:
        return ""
    md = "<details><summary>Devices needing attention</summary>\n\n"
    for e in notable[:SHOWN]:
        md += (
            f"- **{cell(str(e.get('device', '?')))}** ({cell(str(e.get('deployment_set', '')))}): "
            f"{cell(str(e.get('state', '?')))} {cell(str(e.get('reason') or ''))}\n"
        )
    for b in blocked[:SHOWN]:
        md += (
            f"- **{cell(str(b.get('device', '?')))}** ({cell(str(b.get('deployment_set', '')))}): "
            f"blocked in the plan, not touched: {cell(str(b.get('reason') or ''))}\n"
        )
    if len(notable) > SHOWN or len(blocked) > SHOWN:
        md += "- … (the rest is in the artifact)\n"
    return md + "\n</details>\n\n"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
