"""`reconcile watch`: keep a fleet converged. Each round fetches the ref, finds drift, plans,
and with --apply applies under the same rules as `reconcile apply` in CI (the platform is the
state, one writer per set, failed content held back); then notifies and logs one JSON line.
The rounds are in `watch_loop`, what a round did in `watch_round`, its events in `watch_events`."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path

import click

from reconciler import asyncrun
from reconciler.commands.watch_loop import run
from reconciler.commands.watch_round import Options
from reconciler.errors import ReconcileError

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_interval(text: str) -> float:
    m = _DURATION.match(text.strip())
    if not text.strip() or m is None:
        raise click.BadParameter(f"{text!r}: use a duration like 30s, 5m or 1h30m")
    h, mins, s = (int(x or 0) for x in m.groups())
    seconds = h * 3600 + mins * 60 + s
    if seconds < 1:
        raise click.BadParameter("the interval must be at least 1s")
    return float(seconds)


@click.command("watch")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--interval", default="5m", show_default=True, help="Time between rounds (30s, 5m, 1h).")
@click.option("--ref", metavar="REF", help="Fetch and use the manifests at this git ref, e.g. origin/main.")
@click.option("--apply", "mode", flag_value="apply", help="Apply each round's plan (heals drift).")
@click.option("--drift-only", "mode", flag_value="drift-only", help="Only report drift; never write.")
@click.option("--once", is_flag=True, help="One round, then exit (for a scheduled workflow).")
@click.option(
    "--base-url", metavar="URL", help="Platform base URL (overrides reconcile.yaml; env MIRU_BASE_URL)."
)
def command(
    path: Path, interval: str, ref: str | None, mode: str | None, once: bool, base_url: str | None
) -> int:
    """Keep the fleet converged with the manifests in PATH: every --interval, fetch --ref, find
    drift, plan, and with --apply apply (the same rules as `reconcile apply`: the platform is
    the state, one writer per DeploymentSet, content that failed is held back). Without
    --apply, drift and the plan are reported only.

    Logs one JSON line per round on stdout. Posts events to the `notify:` webhooks of
    reconcile.yaml: drift found, a rollout paused, failed or rolled back, devices blocked.
    Failed rounds back off (the wait doubles, up to an hour). SIGTERM or Ctrl-C stops it
    between writes: a device being updated gets all its writes, no new one starts.

    \b
    Exit codes (--once): 0 converged or applied; 1 an error or a failed device;
    2 drift found and not applied. Without --once: 0 when stopped."""
    if not path.exists():
        raise ReconcileError(f"{path}: no such directory")
    opts = Options(
        path=path,
        interval=parse_interval(interval),
        ref=ref,
        mode="apply" if mode == "apply" else "drift-only" if mode == "drift-only" else "report",
        once=once,
        base_url=base_url,
    )
    return asyncrun.run(_main(opts))


async def _main(opts: Options) -> int:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)

    async def wait(seconds: float) -> bool:
        try:
            await asyncio.wait_for(stopping.wait(), timeout=seconds)
        except TimeoutError:
            return True
        return False

    return await run(opts, wait=wait, stop=stopping.is_set, emit=click.echo)
