"""`reconcile watch`: keep a fleet converged. Each round fetches the ref, finds drift, plans,
and with --apply applies under the same rules as `reconcile apply` in CI (the platform is the
state, one writer per set, failed content held back); then notifies and logs one JSON line.

The loop takes its wait and its stop flag from the caller, so tests run rounds back to back on
the emulator's clock and the command waits on wall time, woken early by SIGTERM."""

from __future__ import annotations

import asyncio
import datetime as _dt
import re
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import click

from reconciler.apply.executor import ApplyResult, execute
from reconciler.commands.plan import load_at, load_base
from reconciler.commands.planning import plan_with_state
from reconciler.commands.wiring import session
from reconciler.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, ReconcileError, redact
from reconciler.escape import json_text
from reconciler.gitsource import open_repo
from reconciler.model.enums import RolloutState
from reconciler.model.plan import Plan
from reconciler.model.project import Webhook
from reconciler.plan.drift import DriftItem, DriftReport, find_drift
from reconciler.platform import notify

Mode = Literal["report", "apply", "drift-only"]
MAX_BACKOFF = 3600.0
SHOWN = 20  # devices named in one event


@dataclass(frozen=True)
class Options:
    path: Path
    interval: float = 300.0
    ref: str | None = None
    mode: Mode = "report"
    once: bool = False
    base_url: str | None = None


@dataclass
class Round:
    """What one round did, as its JSON log line says it."""

    number: int
    commit: str | None = None
    drift: DriftReport | None = None
    plan: Plan | None = None
    applied: ApplyResult | None = None
    events: list[notify.Event] = field(default_factory=list)
    notify_problems: list[str] = field(default_factory=list)
    error: str | None = None
    stopped: bool = False
    hooks: tuple[Webhook, ...] = ()

    @property
    def pushed(self) -> set[str]:
        """Devices whose change comes from commits new since the last round (not drift)."""
        changes = self.plan.changes if self.plan is not None else ()
        return {c.device for c in changes if c.origin == "change"}

    @property
    def drifted(self) -> list[DriftItem]:
        pushed = self.pushed
        return [i for i in (self.drift.items if self.drift else ()) if i.device not in pushed]

    def exit_code(self, mode: Mode) -> int:
        if self.error is not None:
            return EXIT_ERROR
        if self.applied is not None:
            return self.applied.exit_code
        return EXIT_CHANGES if mode != "apply" and self.drifted else EXIT_OK

    def line(self, mode: Mode, next_in: float | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "round": self.number,
            "at": _now(),
            "mode": mode,
            "commit": self.commit,
            "drift": None,
            "pushed": 0,
            "plan": None,
            "applied": None,
            "events": [e.kind for e in self.events],
            "notify_problems": self.notify_problems,
            "error": self.error,
            "stopped": self.stopped,
            "next_in": next_in,
        }
        if self.drift is not None:
            items = self.drifted
            out["drift"] = {"devices": len({i.device for i in items}), "items": len(items)}
            out["pushed"] = len(self.pushed)
        if self.plan is not None and mode != "drift-only":
            out["plan"] = self.plan.summary()
        if self.applied is not None:
            out["applied"] = {
                "exit_code": self.applied.exit_code,
                "rollouts": [
                    {"set": r.deployment_set, "id": r.id, "state": str(r.status.state)}
                    for r in self.applied.records
                ],
            }
        return out


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def fetch(path: Path, ref: str) -> None:
    """`git fetch` the remote a ref like `origin/main` names (a local ref needs none)."""
    found = open_repo(path)
    if found is None:
        raise ReconcileError(f"{path}: not in a git repository; --ref needs one")
    repo, _ = found
    remote = ref.split("/", 1)[0] if "/" in ref else None
    if remote is None or remote not in [r.name for r in repo.remotes]:
        return
    try:
        repo.git.fetch("--quiet", remote)
    except Exception as e:  # GitCommandError carries the remote's URL (maybe a token): not shown
        raise ReconcileError(f"git fetch {remote} failed ({type(e).__name__})") from None


async def one_round(
    opts: Options, number: int, stop: Callable[[], bool], previous: str | None = None
) -> Round:
    """One round. `previous`: the commit the last good round read; when the ref has moved
    since, what the new commits change is pushed work, not drift."""
    r = Round(number)
    try:
        if opts.ref:
            await asyncio.to_thread(fetch, opts.path, opts.ref)
        project, r.commit = load_at(opts.path, opts.ref)
        moved = opts.ref is not None and previous is not None and previous != r.commit
        base = load_base(opts.path, previous) if moved and previous else None
        async with session(project, opts.base_url) as wired:
            plan, _, live = await plan_with_state(project, wired, base=base, commit=r.commit)
            r.plan, r.drift = plan, find_drift(plan, live, list(live.failed))
            if opts.mode == "apply" and plan.has_changes and not stop():
                r.applied = await execute(
                    plan, wired.platform, root=project.root, clock=wired.clock, stop=stop
                )
        r.events = events(r, opts.mode, wired.platform.target)
        r.hooks = project.notify
    except ReconcileError as e:
        r.error = redact(e.format_text())
    r.stopped = stop()
    return r


def events(r: Round, mode: Mode, target: str) -> list[notify.Event]:
    out: list[notify.Event] = []

    def event(kind: str, text: str, **details: Any) -> notify.Event:
        return notify.Event(kind, text, target=target, commit=r.commit, details=details)

    drifted = r.drifted
    if drifted:
        names = sorted({i.device for i in drifted})
        healed = " (healing)" if r.applied is not None else ""
        items = [{"device": i.device, "kind": i.kind, "detail": i.detail} for i in drifted[:SHOWN]]
        out.append(
            event(
                "drift",
                f"{len(names)} device(s) differ from the manifests{healed}: {_names(names)}",
                devices=len(names),
                items=items,
            )
        )
    if r.plan is not None and mode != "drift-only":
        blocked = sorted(c.device for c in r.plan.changes if c.action == "blocked")
        if blocked:
            out.append(
                event(
                    "blocked",
                    f"{len(blocked)} device(s) blocked: {_names(blocked)}",
                    devices=blocked[:SHOWN],
                )
            )
    for rec in r.applied.records if r.applied is not None else ():
        state, message = rec.status.state, rec.status.message
        rolled = [e.device for e in rec.devices if e.state == "rolled_back"]
        kind = None
        if rolled:
            kind = "rolled_back"
        elif state == RolloutState.FAILED:
            kind = "rollout_failed"
        elif state == RolloutState.PAUSED:
            kind = "rollout_paused"
        if kind is not None:
            out.append(
                event(
                    kind,
                    f"{rec.deployment_set}: {message}",
                    set=rec.deployment_set,
                    rollout=rec.id,
                    devices=rolled[:SHOWN],
                )
            )
    return out


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def backoff(interval: float, errors: int) -> float:
    """The wait after `errors` failed rounds in a row: doubling, at most an hour (or the
    interval, when that is longer)."""
    if errors == 0:
        return interval
    return float(min(interval * 2**errors, max(interval, MAX_BACKOFF)))


async def run(
    opts: Options,
    *,
    wait: Callable[[float], Awaitable[bool]],
    stop: Callable[[], bool],
    emit: Callable[[str], None],
    transport: Any = None,
) -> int:
    """Rounds until --once, or until `wait` says stop. A webhook hears an event once while
    it lasts: the same drift found again next round is logged, not sent again."""
    errors, number, last, previous = 0, 0, set(), None
    while True:
        number += 1
        r = await one_round(opts, number, stop, previous)
        errors = errors + 1 if r.error is not None else 0
        previous = r.commit if r.error is None else previous
        if r.error is None:  # a failed round says nothing about what is still wrong
            r.events, last = [e for e in r.events if _key(e) not in last], {_key(e) for e in r.events}
        r.notify_problems = await notify.send(r.hooks, r.events, transport=transport)
        done = opts.once or r.stopped
        delay = None if done else backoff(opts.interval, errors)
        emit(json_text(r.line(opts.mode, delay), indent=None))
        if delay is None or not await wait(delay):
            return r.exit_code(opts.mode) if opts.once else EXIT_OK


def _key(e: notify.Event) -> str:
    return json_text({"kind": e.kind, **e.details}, indent=None)


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
    return asyncio.run(_main(opts))


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
