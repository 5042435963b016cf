"""The GitHub Action's step logic (`python -m reconciler.ci ...`), kept in Python so it is
typed and tested instead of living in shell inside action.yml.

- `runner`: the GitHub Actions runner's files and workflow commands (outputs, job summary,
  annotations, masks), read from the `GITHUB_*` environment.
- `comment`: one pull-request comment per project path, updated in place over the REST API.
- `report`: markdown for the job summary and the comment.
- `steps`: runs `reconcile` the way the action does and wires the above together.
"""
