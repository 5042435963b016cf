"""What `reconcile doctor` asks a platform account about the behaviours Miru's docs leave open,
with reads only: which filter separators and expansion forms it takes, how it sorts by default
and breaks ties, whether its ids sort by time, its timestamp precision, whether a device's
current deployment switches before its agent confirms it, and whom the key belongs to.

Each finding is `yes`/`no`/a value, or `unknown` with why (too little data to tell, or a scope
the key lacks): a probe never writes, so a question no read can answer stays open. The query
strings are written out by hand, since the point is to see how the server reads each form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.errors import ReconcileError
from reconciler.platform.client import Platform
from reconciler.platform.probe_forms import current_switch, expansions, filters
from reconciler.platform.probe_order import sorting
from reconciler.platform.probe_reader import UNKNOWN, Finding, Reader


@dataclass
class Report:
    principal: str = UNKNOWN
    findings: list[Finding] = field(default_factory=list)

    def switches(self) -> dict[str, str]:
        return {f.switch[0]: f.switch[1] for f in self.findings if f.switch is not None}


async def probe(platform: Platform) -> Report:
    r = Reader(platform)
    report = Report()
    status, body = await r.get("principal")
    if status == 401:
        raise ReconcileError("the platform refused the API key (HTTP 401)", hint="check MIRU_API_KEY")
    if status == 200 and isinstance(body, dict):
        report.principal = f"{body.get('name', '?')} ({body.get('id', '?')})"
    else:
        report.principal = f"{UNKNOWN} (HTTP {status})"
    report.findings += await filters(r)
    report.findings += await expansions(r)
    report.findings += await sorting(r)
    report.findings += await current_switch(r)
    return report
