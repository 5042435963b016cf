"""What a step writes to the runner's files: its outputs ($GITHUB_OUTPUT) and the job summary
($GITHUB_STEP_SUMMARY, cut under GitHub's 1 MiB per step)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from reconciler.ci.runner import RunnerEnv
from reconciler.errors import redact

# GitHub rejects a step summary over 1 MiB; keep a margin for the truncation note.
SUMMARY_LIMIT_BYTES = 1024 * 1024 - 4096


def set_outputs(env: RunnerEnv, outputs: Mapping[str, str]) -> None:
    """Append step outputs to $GITHUB_OUTPUT, in the multi-line form so any value is safe."""
    if env.output_file is None:
        return
    with env.output_file.open("a", encoding="utf-8") as f:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
            f.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(env: RunnerEnv, markdown: str) -> None:
    """Append markdown to the job summary, truncated under GitHub's 1 MiB per-step limit."""
    if env.summary_file is None:
        return
    existing = env.summary_file.stat().st_size if env.summary_file.exists() else 0
    text = fit_bytes(redact(markdown), SUMMARY_LIMIT_BYTES - existing)
    with env.summary_file.open("a", encoding="utf-8") as f:
        # A blank line after each part, so a table or list never runs into the next part.
        f.write(text.rstrip("\n") + "\n\n")


def fit_bytes(text: str, limit: int) -> str:
    """Cut `text` at a line boundary so its UTF-8 encoding stays within `limit` bytes."""
    if len(text.encode("utf-8")) <= limit:
        return text
    note = "\n\n_(truncated: the rest is in the workflow log and the uploaded artifact)_\n"
    budget = max(0, limit - len(note.encode("utf-8")))
    cut = text.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    if "\n" in cut:
        cut = cut[: cut.rfind("\n")]
    return cut + note
