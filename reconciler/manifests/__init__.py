"""Manifests: the project file and DeploymentSets, loaded and checked with no platform.

- `loader`: `load_project(source, root)`, `load_path(path)` -> `model.Project`, or
  `ValidationFailed` with every problem.
- `source`: the `Source` protocol (directory, git ref) and `DirSource`.
- `yamlload`: safe YAML with positions; `configfiles`: config content by extension.
- `schema_check`: the JSON Schemas in `schemas/`; `crosscheck`: rules across fields and files.
- `merge`: JSON merge patch; `report`: text/json/github output. (Durations: `reconciler.model.rollout`.)
"""
