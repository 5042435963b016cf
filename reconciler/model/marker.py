"""The marker reconcile writes into the description of every deployment it creates: the platform is
the state, so any clone can tell which rollout wrote a deployment, for which DeploymentSet and
commit, in which wave, and which rollout a rollback undoes.

    reconcile set=lab-canary rollout=ro-3f2a9c0d1e4b wave=1 run=5c1e09aa commit=1a2b3c4d5e6f
    reconcile set=lab-canary rollout=ro-3f2a9c0d1e4b-rollback undo=ro-3f2a9c0d1e4b why=canary-failed commit=1a2b3c4d5e6f

Short and readable in Miru's dashboard. Parsed strictly: anything else (a description written by
a person, a marker with an unknown key or a malformed value) is not ours, and is left alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

PREFIX = "reconcile "
_ROLLOUT = r"ro-[0-9a-f]{12}"
_VALUES = {
    "set": r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}",
    "rollout": rf"{_ROLLOUT}(-rollback)?",
    "wave": r"[1-9][0-9]{0,5}",
    "run": r"[0-9a-f]{8}",
    "commit": r"[0-9a-f]{7,40}|none",
    "undo": _ROLLOUT,
    "why": r"[a-z][a-z0-9-]{0,39}",
}
_PATTERNS = {k: re.compile(v) for k, v in _VALUES.items()}
_ORDER = ("set", "rollout", "wave", "run", "undo", "why", "commit")


@dataclass(frozen=True)
class Marker:
    deployment_set: str
    rollout: str
    commit: str | None = None
    wave: int | None = None
    undo: str | None = None  # for a rollback: the rollout it undoes
    why: str | None = None  # for a rollback: a reason code, e.g. canary-failed, budget-crossed
    run: str | None = None  # which apply process wrote it: two started at once tell each other apart

    @property
    def is_rollback(self) -> bool:
        return self.undo is not None

    def text(self) -> str:
        values = {
            "set": self.deployment_set,
            "rollout": self.rollout,
            "wave": None if self.wave is None else str(self.wave),
            "run": self.run,
            "undo": self.undo,
            "why": self.why,
            "commit": (self.commit or "none")[:12],
        }
        return PREFIX + " ".join(f"{k}={values[k]}" for k in _ORDER if values[k] is not None)

    def same_rollout(self, other: Marker | None) -> bool:
        return other is not None and (other.deployment_set, other.rollout) == (
            self.deployment_set,
            self.rollout,
        )


def parse(description: str | None) -> Marker | None:
    """The marker in a deployment's description, or None when the description is not exactly one."""
    if not description or not description.startswith(PREFIX):
        return None
    fields: dict[str, str] = {}
    for token in description[len(PREFIX) :].split(" "):
        key, sep, value = token.partition("=")
        if not sep or key not in _PATTERNS or key in fields or not _PATTERNS[key].fullmatch(value):
            return None
        fields[key] = value
    if (
        "set" not in fields
        or "rollout" not in fields
        or ("undo" in fields) != fields["rollout"].endswith("-rollback")
    ):
        return None
    commit = fields.get("commit")
    return Marker(
        deployment_set=fields["set"],
        rollout=fields["rollout"],
        commit=None if commit in (None, "none") else commit,
        wave=int(fields["wave"]) if "wave" in fields else None,
        undo=fields.get("undo"),
        why=fields.get("why"),
        run=fields.get("run"),
    )


def rollout_id(deployment_set: str, targets: Iterable[tuple[str | None, tuple[str, ...]]]) -> str:
    """A rollout is named by its DeploymentSet and the content it rolls out (each device's target
    release and config instances): every clone that plans the same content for the set names the
    same rollout, so it resumes, promotes or holds back that rollout instead of starting another."""
    blob = "\0".join(
        [deployment_set, *sorted(f"{release}:{','.join(keys)}" for release, keys in set(targets))]
    )
    return "ro-" + hashlib.sha256(blob.encode()).hexdigest()[:12]
