"""GitHub workflow command lines (`::error file=a.yaml,line=3,col=5::bad value`), escaped as
GitHub's toolkit does so a message cannot end the command early. Used by `validate --format
github` and by the GitHub Action's runner (`reconciler.ci`)."""

from __future__ import annotations

from reconciler.escape import workflow_data as escape_data
from reconciler.escape import workflow_property as escape_property


def command(name: str, message: str = "", **properties: str | int | None) -> str:
    """One workflow command line, e.g. `::error file=a.yaml,line=3,col=5::bad value`."""
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties.items() if v is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"
