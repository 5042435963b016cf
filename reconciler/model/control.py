"""Control records: a person's pause or abort of a rollout, kept on the platform.

The platform has no rollout object, so a control record is a platform git commit (`POST
/git_commits`), which changes nothing a device runs. Its `sha` is derived from the rollout and
a sequence number, so one filtered read (`sha=` a comma list) finds every record of a rollout
from any clone; its `message` is a strict marker:

    reconcile control=pause set=lab-canary rollout=ro-3f2a9c0d1e4b seq=0 run=5c1e09aa by=alice

A writer takes the first free `seq` after the ones it read, so a record with a higher `seq`
was written after its predecessor was seen: the highest `seq` is in force (on a platform that
lets two writers take the same `seq`, the newer `created_at`, then the safer kind). Parsed
strictly like the deployment marker: anything else is not ours, and is ignored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC

from reconciler.model.enums import ControlKind
from reconciler.model.live import parse_time
from reconciler.model.marker import PREFIX

SLOTS = 8  # sequence numbers read per rollout in one request (more when all are taken)
_VALUES = {
    "control": "|".join(re.escape(k.value) for k in ControlKind),
    "set": r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}",
    "rollout": r"ro-[0-9a-f]{12}",
    "seq": r"0|[1-9][0-9]{0,5}",
    "run": r"[0-9a-f]{8}",
    "by": r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}",
}
_PATTERNS = {k: re.compile(v) for k, v in _VALUES.items()}
_ORDER = ("control", "set", "rollout", "seq", "run", "by")
# On a tie, the safer request wins: stopping beats continuing.
_SAFETY = {
    ControlKind.RESUME: 0,
    ControlKind.PAUSE: 1,
    ControlKind.ABORT_KEEP: 2,
    ControlKind.ABORT_REVERT: 3,
}


def sha(rollout: str, seq: int) -> str:
    """The git-commit sha of a rollout's `seq`-th control record: 40 hex digits, like a commit's."""
    return hashlib.sha256(f"reconcile-control\0{rollout}\0{seq}".encode()).hexdigest()[:40]


def who(name: str) -> str:
    """A person's or a workflow's name as the marker allows it (other characters become '-')."""
    cleaned = re.sub(r"[^A-Za-z0-9._@+-]", "-", name.strip())[:64].lstrip("._@+-")
    return cleaned or "unknown"


@dataclass(frozen=True)
class Control:
    kind: ControlKind
    deployment_set: str
    rollout: str
    seq: int
    run: str
    by: str
    at: str = ""  # when the platform recorded it (its `created_at`)

    def text(self) -> str:
        values = {
            "control": self.kind.value,
            "set": self.deployment_set,
            "rollout": self.rollout,
            "seq": str(self.seq),
            "run": self.run,
            "by": self.by,
        }
        return PREFIX + " ".join(f"{k}={values[k]}" for k in _ORDER)

    @property
    def halts(self) -> bool:
        return self.kind.halts

    def words(self) -> str:
        """'paused by alice (run 5c1e09aa) at 2026-01-01T00:00:00Z'."""
        verb = {
            ControlKind.PAUSE: "paused",
            ControlKind.RESUME: "resumed",
            ControlKind.ABORT_KEEP: "aborted and kept",
            ControlKind.ABORT_REVERT: "aborted and rolled back",
        }[self.kind]
        return f"{verb} by {self.by} (run {self.run})" + (f" at {self.at}" if self.at else "")

    def to_dict(self) -> dict[str, str | int]:
        return {
            "kind": self.kind.value,
            "deployment_set": self.deployment_set,
            "rollout": self.rollout,
            "by": self.by,
            "run": self.run,
            "at": self.at,
            "seq": self.seq,
        }


def from_dict(d: dict[str, object]) -> Control:
    """A control record as a plan file holds it (`Control.to_dict`, with set and rollout)."""
    return Control(
        kind=ControlKind(str(d["kind"])),
        deployment_set=str(d.get("deployment_set", "")),
        rollout=str(d.get("rollout", "")),
        seq=int(str(d.get("seq", 0))),
        run=str(d.get("run", "")),
        by=str(d.get("by", "")),
        at=str(d.get("at", "")),
    )


def parse(message: str | None, commit_sha: str, at: str = "") -> Control | None:
    """The control record in a git commit, or None when the message is not exactly one or the
    sha is not the one its rollout and `seq` give (a commit that only looks like ours)."""
    if not message or not message.startswith(PREFIX):
        return None
    fields: dict[str, str] = {}
    for token in message[len(PREFIX) :].split(" "):
        key, sep, value = token.partition("=")
        if not sep or key not in _PATTERNS or key in fields or not _PATTERNS[key].fullmatch(value):
            return None
        fields[key] = value
    if set(fields) != set(_ORDER):
        return None
    found = Control(
        kind=ControlKind(fields["control"]),
        deployment_set=fields["set"],
        rollout=fields["rollout"],
        seq=int(fields["seq"]),
        run=fields["run"],
        by=fields["by"],
        at=utc(at),
    )
    return found if sha(found.rollout, found.seq) == commit_sha else None


def utc(stamp: str) -> str:
    """The platform's timestamp, rewritten as UTC seconds (it is printed: never taken as is);
    '' when unreadable."""
    t = parse_time(stamp)
    if t.year == 1:
        return ""
    return t.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def in_force(records: Iterable[Control]) -> Control | None:
    """The record in force (None when none is, or the newest clears the earlier ones)."""
    ordered = sorted(records, key=lambda c: (c.seq, parse_time(c.at).timestamp(), _SAFETY[c.kind]))
    if not ordered or not ordered[-1].halts:
        return None
    return ordered[-1]


def next_seq(records: Iterable[Control]) -> int:
    return max((c.seq for c in records), default=-1) + 1
