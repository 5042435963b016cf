"""Loads a project: `reconcile.yaml`, then every manifest, then the config files they
reference, collecting every problem before raising `ValidationFailed`.

Which YAML files are manifests: the files matching the project's `manifests` globs
(default `**/*.yaml`, `**/*.yml`), minus `reconcile.yaml`, the emulator seed file, files in
hidden directories (`.reconcile/`, `.github/`) and files referenced as config content.
Of those, a file is a manifest when one of its documents is a mapping with `kind`,
`apiVersion`, `metadata` or `spec`; other YAML (a seed, a CI workflow, a config file) is
skipped. Inside a manifest file every non-empty document must be a DeploymentSet.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

from reconciler import strategies
from reconciler.errors import Location, Problem, ReconcileError, ValidationFailed
from reconciler.manifests import crosscheck, extends, schema_check
from reconciler.manifests.configfiles import ConfigContent, content_format, parse_config
from reconciler.manifests.schema_messages import kind as kind_of
from reconciler.manifests.source import DirSource, Source, SourceError, glob_match
from reconciler.manifests.yamldoc import Document, PathT, dotted, json_path
from reconciler.manifests.yamlload import load_documents
from reconciler.model.project import (
    NOTIFY_EVENTS,
    ConfigSpec,
    DeploymentSet,
    EmulatorTarget,
    EnrollmentService,
    Override,
    Project,
    RemoteTarget,
    Selector,
    Webhook,
)
from reconciler.model.rollout import Activation, RolloutSpec

PROJECT_FILE = "reconcile.yaml"
DEFAULT_GLOBS: tuple[str, ...] = ("**/*.yaml", "**/*.yml")  # the model's default
KIND = "DeploymentSet"
_MANIFEST_KEYS = ("kind", "apiVersion", "metadata", "spec")
# Keys that look like they hold a secret. `token_env` names a variable, so it is fine.
_SECRET_KEY = re.compile(r"(?i)(api[_-]?key|apikey|token|secret|passw(or)?d|credential|private[_-]?key)")
_ALLOWED_SECRETISH = {"token_env"}


def load_path(path: Path, *, require_sets: bool = True) -> Project:
    """Load the project in a directory (or the directory of a `reconcile.yaml`); see
    `load_project` for `require_sets`."""
    path = Path(path)
    if path.is_file() and path.name == PROJECT_FILE:
        path = path.parent
    if not path.is_dir():
        what = "not a directory" if path.exists() else "no such directory"
        raise ReconcileError(
            f"{what}; pass the directory that holds {PROJECT_FILE}", location=Location(str(path.absolute()))
        )
    return load_project(DirSource(path), path, require_sets=require_sets)


def load_project(source: Source, root: Path, *, require_sets: bool = True) -> Project:
    """Load and check everything that needs no platform. Raises `ValidationFailed` with
    every problem found (sorted by file, line, column). A `manifests:` glob that matches no
    file, or a project with no DeploymentSet, is a problem (a typo in a glob would otherwise
    turn every check off in silence) unless `require_sets` is False (the `--base` ref, whose
    mistakes the branch may be fixing)."""
    state = _State(source)
    project = state.project_file(root)
    sets = state.manifests(project, require_sets=require_sets)
    problems = sorted(set(state.problems), key=_order)
    if problems:
        raise ValidationFailed(problems, root)
    return Project(
        root=project.root,
        target=project.target,
        manifests=project.manifests,
        rollout_defaults=project.rollout_defaults,
        enrollment=project.enrollment,
        notify=project.notify,
        sets=tuple(sets),
        project_file=project.project_file,
        unmanaged=project.unmanaged,
        max_devices_per_apply=project.max_devices_per_apply,
    )


def _order(p: Problem) -> tuple[str, int, int, str]:
    return (p.location.file, p.location.line or 0, p.location.column or 0, p.message)


@dataclass
class _State:
    source: Source
    problems: list[Problem] = field(default_factory=list)
    configs: dict[str, tuple[ConfigContent | None, list[Problem]]] = field(default_factory=dict)
    config_refs: dict[str, tuple[Location, str]] = field(default_factory=dict)  # first `file:` naming each
    defaults_doc: Document | None = None
    defaults_rollout: dict[str, Any] = field(default_factory=dict)
    seed: str | None = None
    project_doc: Document | None = None  # reconcile.yaml, once it parsed as a mapping
    # False when reconcile.yaml exists but is broken: the defaults are unknown, so sets'
    # rollouts are not checked against them (that would report contradictions that are not).
    defaults_known: bool = True
    # Every DeploymentSet document's name, well-formed or not: a duplicate name is reported
    # in the same run as the other document's schema errors.
    named: list[tuple[str, Document]] = field(default_factory=list)
    # Each built set's own rollout mapping and activation, for the sets that extend it.
    own_rollouts: dict[str, tuple[dict[str, Any], Any]] = field(default_factory=dict)

    # -- reconcile.yaml ------------------------------------------------------------------
    def project_file(self, root: Path) -> Project:
        doc = self._project_doc()
        if doc is None:
            return Project(root=root, target=EmulatorTarget())
        self.project_doc = doc
        secrets = self._secrets(doc)
        schema_problems = schema_check.check(doc, "reconcile.schema.json", skip_keys=secrets)
        self.problems.extend(schema_problems)
        data: dict[str, Any] = doc.data
        globs = self._globs(doc)
        if schema_problems or secrets:
            return Project(root=root, target=EmulatorTarget(), manifests=globs)
        target = self._target(doc)
        enrollment = None
        if "enrollment" in data:
            enr = data["enrollment"]
            enrollment = EnrollmentService(
                base_url=enr["base_url"],
                client_id=enr["client_id"],
                token_env=enr.get("token_env", EnrollmentService.token_env),
            )
        notify = tuple(
            Webhook(
                url_env=w["url_env"],
                format="raw" if w.get("format") == "raw" else "slack",
                events=tuple(w.get("events") or NOTIFY_EVENTS),
            )
            for w in data.get("notify") or []
        )
        return Project(
            root=root,
            target=target,
            manifests=globs,
            rollout_defaults=self._defaults(doc),
            enrollment=enrollment,
            project_file=PROJECT_FILE,
            unmanaged=data.get("unmanaged", "warn"),
            max_devices_per_apply=int((data.get("limits") or {}).get("max_devices_per_apply", 0)),
            notify=notify,
        )

    def _project_doc(self) -> Document | None:
        """reconcile.yaml as one mapping, or None with the problem reported."""
        try:
            raw = self.source.read_bytes(PROJECT_FILE)
        except SourceError:
            self.problems.append(
                Problem(
                    f"no {PROJECT_FILE} in {self.source.label}: a project starts with one "
                    "(see examples/reconcile.yaml)",
                    Location(PROJECT_FILE),
                )
            )
            return None
        self.defaults_known = False
        docs, problems = load_documents(raw, PROJECT_FILE)
        self.problems.extend(problems)
        if problems:
            return None
        docs = [d for d in docs if d.data is not None]
        if len(docs) != 1:
            self.problems.append(
                Problem(
                    f"{PROJECT_FILE} holds exactly one YAML document, not {len(docs)}",
                    Location(PROJECT_FILE, 1, 1),
                )
            )
            return None
        if not isinstance(docs[0].data, dict):
            self.problems.append(
                docs[0].problem(f"{PROJECT_FILE} must be a mapping (target, manifests, defaults)")
            )
            return None
        return docs[0]

    def _secrets(self, doc: Document) -> list[PathT]:
        """Keys of reconcile.yaml that look like secrets, each reported (it is in git)."""
        secrets = list(_secret_keys(doc.data, ()))
        for path in secrets:
            where = (
                "set it in the environment variable named by enrollment.token_env"
                if path[:1] == ("enrollment",)
                else "set the MIRU_API_KEY environment variable instead"
            )
            self.problems.append(
                doc.problem(
                    f"{dotted(path)}: looks like a secret; {PROJECT_FILE} must not hold secrets: {where}",
                    path,
                    key=True,
                )
            )
        return secrets

    def _globs(self, doc: Document) -> tuple[str, ...]:
        manifests = doc.data.get("manifests")
        if not (isinstance(manifests, list) and manifests and all(isinstance(g, str) for g in manifests)):
            return DEFAULT_GLOBS
        globs = tuple(manifests)
        for i, g in enumerate(globs):
            if g.startswith("/") or ".." in g.split("/"):
                self.problems.append(
                    doc.problem(
                        f"manifests[{i}]: {g!r} leaves the repository; globs are relative to {PROJECT_FILE}",
                        ("manifests", i),
                    )
                )
        return globs

    def _target(self, doc: Document) -> EmulatorTarget | RemoteTarget:
        target_raw = doc.data["target"]
        if "emulator" not in target_raw:
            return RemoteTarget(
                base_url=target_raw["base_url"],
                api_version=target_raw.get("api_version", RemoteTarget.api_version),
            )
        emu = target_raw["emulator"]
        seed = emu.get("seed")
        if seed is not None and not Path(seed).is_absolute():
            try:
                self.seed = self.source.resolve(PROJECT_FILE, seed)
                self.source.read_bytes(self.seed)
            except SourceError as e:
                self.problems.append(
                    doc.problem(f"target.emulator.seed: {e.message}", ("target", "emulator", "seed"))
                )
        return EmulatorTarget(db=emu.get("db", EmulatorTarget.db), seed=seed)

    def _defaults(self, doc: Document) -> RolloutSpec:
        """`defaults.rollout`, checked like a set's own rollout (problems at their keys)."""
        self.defaults_rollout = doc.data.get("defaults", {}).get("rollout", {})
        self.defaults_doc = doc
        self.defaults_known = True
        if not self.defaults_rollout:
            return RolloutSpec()

        def locate(key: PathT) -> Location:
            return doc.loc(("defaults", "rollout", *key))

        found = crosscheck.rollout_problems(self.defaults_rollout, locate, own=self.defaults_rollout)
        self.problems.extend(Problem(f"defaults.{p.message}", p.location) for p in found)
        return RolloutSpec() if found else RolloutSpec.from_dict(self.defaults_rollout)

    # -- manifests -----------------------------------------------------------------------
    def manifests(self, project: Project, *, require_sets: bool = True) -> list[DeploymentSet]:
        skip = {PROJECT_FILE, *([self.seed] if self.seed else [])}
        try:
            files = [f for f in self.source.glob(project.manifests) if f not in skip]
        except SourceError as e:
            self.problems.append(Problem(e.message, Location(PROJECT_FILE)))
            return []
        if require_sets and not self.problems:  # a broken reconcile.yaml is reported first
            self.unmatched_globs(project, files)
        sets = self.manifest_sets(files)
        if require_sets and not sets and not self.problems:
            self.problems.append(self.no_sets(project, files))
        return sets

    def _globs_written(self) -> bool:
        doc = self.project_doc
        return doc is not None and isinstance(doc.data.get("manifests"), list)

    def unmatched_globs(self, project: Project, files: list[str]) -> None:
        """Each glob written in reconcile.yaml must match a file (defaults need not). The
        `.yaml` and `.yml` spellings of one glob count as one: listing both is the usual way to
        accept either extension, and only one of them needs to find files."""
        if not self._globs_written() or self.project_doc is None:
            return
        matched = {_spelling(g) for g in project.manifests if any(glob_match(g, f) for f in files)}
        for i, g in enumerate(project.manifests):
            if _spelling(g) not in matched:
                self.problems.append(
                    self.project_doc.problem(
                        f"manifests[{i}]: {g!r} matches no file; DeploymentSets it should find "
                        "would be neither planned nor checked for drift",
                        ("manifests", i),
                    )
                )

    def no_sets(self, project: Project, files: list[str]) -> Problem:
        globs = ", ".join(repr(g) for g in project.manifests)
        message = (
            f"no DeploymentSet found in the {len(files)} file{'s' if len(files) != 1 else ''} "
            f"matched by manifests ({globs}); a project manages devices through at least one"
        )
        doc = self.project_doc
        if doc is None:
            return Problem(message, Location(PROJECT_FILE))
        return doc.problem(message, ("manifests",) if self._globs_written() else ())

    def manifest_sets(self, files: list[str]) -> list[DeploymentSet]:
        unparsed: dict[str, list[Problem]] = {}
        per_file: dict[str, tuple[list[Problem], list[tuple[DeploymentSet, Document]], bool]] = {}
        outer = self.problems
        for rel in files:
            try:
                raw = self.source.read_bytes(rel)
            except SourceError as e:
                outer.append(Problem(e.message, Location(rel, 1, 1)))
                continue
            docs, problems = load_documents(raw, rel)
            manifest_docs = [
                d for d in docs if isinstance(d.data, dict) and any(k in d.data for k in _MANIFEST_KEYS)
            ]
            if not manifest_docs:
                if problems:
                    unparsed[rel] = problems  # reported unless it turns out to be a config file
                continue
            # Collected per file: a file that a manifest references as config content is
            # content, even if it has a `spec:` key, unless it declares a `kind:`.
            self.problems = list(problems)
            sets = [(s, doc) for doc in docs if (s := self.document(doc)) is not None]
            has_kind = any("kind" in d.data for d in manifest_docs)
            per_file[rel] = (self.problems, sets, has_kind)
            self.problems = outer
        built: list[tuple[DeploymentSet, Document]] = []
        collected: list[Problem] = []
        not_content: set[Problem] = set()
        for rel, (problems, sets, has_kind) in per_file.items():
            if rel in self.configs and not has_kind:
                collected.extend(p for p in problems if p.location.file != rel)
                continue
            collected.extend(problems)
            built.extend(sets)
            if rel in self.configs:
                not_content.update(self.configs[rel][1])
                where, field_name = self.config_refs[rel]
                collected.append(
                    Problem(f"{field_name}: {rel} is a manifest (it has kind:), not config content", where)
                )
        outer.extend(p for p in collected if p not in not_content)
        for rel, problems in unparsed.items():
            if rel not in self.configs:
                outer.extend(problems)
        self.problems.extend(crosscheck.name_problems(self.named))
        built = self.layered(built)
        self.problems.extend(crosscheck.set_problems(built, extends.related(built)))
        return [s for s, _ in built]

    def layered(self, built: list[tuple[DeploymentSet, Document]]) -> list[tuple[DeploymentSet, Document]]:
        """Sets that extend another inherit what they do not write: the release, the activation
        and the rollout fields (their own over the base's, the way a set's rollout goes over the
        project defaults). Checked here, bases first, since a set's rollout is only whole then."""
        found = extends.problems(built, {name for name, _ in self.named})
        self.problems.extend(found)
        if found or not any(s.extends for s, _ in built):
            return built
        by_name = {s.name: (s, doc) for s, doc in built}
        own: dict[str, dict[str, Any]] = {}
        for name in extends.order(built):
            s, doc = by_name[name]
            mine, activation = self.own_rollouts[name]
            if s.extends is None or s.extends not in by_name:
                own[name] = mine
                continue
            base, _ = by_name[s.extends]
            own[name] = strategies.merge(own[s.extends], mine)
            rollout = self.rollout(doc, own[name])
            rollout = replace(rollout, activation=Activation(activation) if activation else base.activation)
            if not s.release_written:
                s = replace(s, release=base.release, release_location=base.release_location)
            by_name[name] = (replace(s, rollout=rollout), doc)
        return [by_name[s.name] for s, _ in built]

    def document(self, doc: Document) -> DeploymentSet | None:
        data = doc.data
        if data is None:
            return None  # an empty document (e.g. a trailing `---`)
        if not isinstance(data, dict):
            self.problems.append(
                doc.problem(
                    f"document {doc.index + 1} is {kind_of(data)}; a manifest document is a mapping "
                    f"with kind: {KIND}"
                )
            )
            return None
        kind = data.get("kind")
        if "kind" not in data:
            self.problems.append(doc.problem(f"missing required key 'kind' (expected kind: {KIND})"))
            return None
        if kind != KIND:
            self.problems.append(doc.problem(f"kind: unknown kind {kind!r}; expected {KIND}", ("kind",)))
            return None
        meta = data.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("name"), str):
            self.named.append((meta["name"], doc))
        schema_problems = schema_check.check(doc, "deploymentset.schema.json")
        if schema_problems:
            self.problems.extend(schema_problems)
            # The rollout is checked on its own when it is well-formed: every problem, not the first.
            spec = data.get("spec")
            rollout = spec.get("rollout") if isinstance(spec, dict) else None
            if isinstance(rollout, dict) and _clean(schema_problems, ("spec", "rollout")):
                self.rollout(doc, rollout)
            elif isinstance(rollout, dict):  # the strategy still names what the schema cannot see
                self.problems.extend(
                    doc.problem(
                        f"spec.rollout.{'.'.join(str(k) for k in key)}: {message}", ("spec", "rollout", *key)
                    )
                    for key, message in strategies.spec_problems(rollout)
                    if _clean(schema_problems, ("spec", "rollout", *key))
                )
            configs = spec.get("configs") if isinstance(spec, dict) else None
            if isinstance(configs, dict):  # and the file references of well-formed configs
                for slug, entry in configs.items():
                    if _clean(schema_problems, ("spec", "configs", slug)):
                        self.config_specs(doc, {slug: entry}, ("spec", "configs"))
            return None
        return self.build_set(doc)

    def rollout(self, doc: Document, own: dict[str, Any]) -> RolloutSpec:
        """The set's effective rollout (its own over the project defaults); contradictions
        are reported where they were written."""
        effective = strategies.merge(self.defaults_rollout, own)
        defaults_doc = self.defaults_doc

        def locate(key: PathT) -> Location:
            if _has(own, key) or defaults_doc is None or not _has(self.defaults_rollout, key):
                return doc.loc(("spec", "rollout", *key))
            return defaults_doc.loc(("defaults", "rollout", *key))

        found = crosscheck.rollout_problems(effective, locate, own=own) if self.defaults_known else []
        self.problems.extend(
            Problem(f"{'spec.' if p.location.file == doc.file else 'defaults.'}{p.message}", p.location)
            for p in found
        )
        return RolloutSpec() if found else RolloutSpec.from_dict(effective)

    def build_set(self, doc: Document) -> DeploymentSet:
        data = doc.data
        spec = data["spec"]
        raw_sel = spec["selector"]
        excl = raw_sel.get("exclude", {})
        selector = Selector(
            groups=tuple(raw_sel.get("groups", ())),
            devices=tuple(raw_sel.get("devices", ())),
            patterns=tuple(raw_sel.get("patterns", ())),
            exclude_groups=tuple(excl.get("groups", ())),
            exclude_devices=tuple(excl.get("devices", ())),
            exclude_patterns=tuple(excl.get("patterns", ())),
            location=doc.loc(("spec", "selector")),
            item_locations=_item_locations(doc, raw_sel),
        )
        configs = self.config_specs(doc, spec.get("configs", {}), ("spec", "configs"))
        overrides = []
        for i, raw in enumerate(spec.get("overrides", [])):
            path: PathT = ("spec", "overrides", i)
            overrides.append(
                Override(
                    selector=Selector(
                        devices=tuple(raw.get("devices", ())),
                        patterns=tuple(raw.get("patterns", ())),
                        location=doc.loc(path),
                        item_locations=_item_locations(doc, raw, path),
                    ),
                    release=raw.get("release"),
                    configs=self.config_specs(doc, raw.get("configs", {}), (*path, "configs")),
                    location=doc.loc(path),
                    hold=bool(raw.get("hold", False)),
                )
            )
        name = data["metadata"]["name"]
        self.own_rollouts[name] = (spec.get("rollout", {}), spec.get("activation"))
        # A layer's rollout is only whole over its base's: `layered` checks and builds it.
        rollout = RolloutSpec() if "extends" in spec else self.rollout(doc, spec.get("rollout", {}))
        rollout = replace(rollout, activation=Activation(spec.get("activation", RolloutSpec().activation)))
        s = DeploymentSet(
            name=name,
            selector=selector,
            release=spec.get("release", ""),
            configs=configs,
            overrides=tuple(overrides),
            rollout=rollout,
            location=doc.loc(("kind",), key=True),
            release_location=doc.loc(("spec", "release")) if "release" in spec else None,
            extends=spec.get("extends"),
            extends_location=doc.loc(("spec", "extends")) if "extends" in spec else None,
            release_written="release" in spec,
        )
        self.problems.extend(crosscheck.selector_problems(s, doc))
        self.problems.extend(crosscheck.override_problems(s, doc, spec.get("overrides", [])))
        return s

    def config_specs(self, doc: Document, raw: dict[str, Any], base: PathT) -> tuple[ConfigSpec, ...]:
        out: list[ConfigSpec] = []
        for slug, entry in raw.items():
            items: list[tuple[PathT, dict[str, Any]]]
            if isinstance(entry, list):
                items = [((*base, slug, i), e) for i, e in enumerate(entry)]
                slots: dict[str, int] = {}
                for i, (path, e) in enumerate(items):
                    if len(items) > 1 and "slot" not in e:
                        self.problems.append(
                            doc.problem(
                                f"{dotted(path)}: {slug} lists several configs, so each needs a slot", path
                            )
                        )
                    elif "slot" in e and e["slot"] in slots:
                        self.problems.append(
                            doc.problem(
                                f"{dotted(path)}.slot: slot {e['slot']!r} is already configured by "
                                f"{slug}[{slots[e['slot']]}]",
                                (*path, "slot"),
                            )
                        )
                    elif "slot" in e:
                        slots[e["slot"]] = i
            else:
                items = [((*base, slug), entry)]
            for path, e in items:
                spec = self.config_spec(doc, slug, e, path)
                if spec is not None:
                    out.append(spec)
        return tuple(out)

    def config_spec(self, doc: Document, slug: str, e: dict[str, Any], path: PathT) -> ConfigSpec | None:
        values = e.get("values")
        rel = None
        content: ConfigContent | None = None
        if "file" in e:
            try:
                rel = self.source.resolve(doc.file, e["file"])
            except SourceError as err:
                self.problems.append(doc.problem(f"{dotted(path)}.file: {err.message}", (*path, "file")))
                return None
            content = self.config_file(rel, doc, (*path, "file"))
            if content is None:
                return None
            if values is not None and content.format == "text":
                self.problems.append(
                    doc.problem(
                        f"{dotted(path)}.values: {rel} is a text file; values can only be merged into "
                        "JSON or YAML",
                        (*path, "values"),
                    )
                )
                return None
            if values is not None and not isinstance(content.data, dict):
                self.problems.append(
                    doc.problem(
                        f"{dotted(path)}.values: {rel} holds {kind_of(content.data)}; values can only be merged "
                        "over a mapping",
                        (*path, "values"),
                    )
                )
                return None
        return ConfigSpec(
            config_type=slug,
            slot=e.get("slot"),
            file=rel,
            base=content.data if content else None,
            values=values,
            format=content.format if content else "yaml",
            location=doc.loc(path),
            file_locations=content.locations if content else {},
        )

    def _suggest(self, rel: str) -> str:
        """A near miss among the files next to a missing one, for the message."""
        folder = posixpath.dirname(rel)
        try:
            siblings = self.source.glob([f"{glob_escape(folder)}/*" if folder else "*"])
        except SourceError:
            return ""
        return _close_match(rel, siblings)

    def config_file(self, rel: str, doc: Document, path: PathT) -> ConfigContent | None:
        self.config_refs.setdefault(rel, (doc.loc(path), dotted(path)))
        if rel not in self.configs:
            try:
                raw = self.source.read_bytes(rel)
            except SourceError as err:
                self.configs[rel] = (None, [])
                self.problems.append(doc.problem(f"{dotted(path)}: {err.message}{self._suggest(rel)}", path))
                return None
            content, problems = parse_config(raw, rel)
            self.configs[rel] = (content, problems)
            self.problems.extend(problems)
        return self.configs[rel][0]


def _spelling(glob: str) -> str:
    return glob[: -len(".yml")] + ".yaml" if glob.endswith(".yml") else glob


def _close_match(rel: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(rel, candidates, n=1, cutoff=0.8)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _clean(problems: list[Problem], path: PathT) -> bool:
    """Whether no problem lies at or under `path` (one above it, such as a missing sibling
    key, leaves the subtree checkable)."""
    prefix = json_path(path)
    return not any(
        (p.location.json_path or "") == prefix
        or (p.location.json_path or "").startswith((prefix + ".", prefix + "["))
        for p in problems
    )


def _has(mapping: dict[str, Any], key: PathT) -> bool:
    cur: Any = mapping
    for k in key:
        if not isinstance(cur, dict) or k not in cur:
            return False
        cur = cur[k]
    return True


def _secret_keys(value: Any, path: PathT) -> Iterator[PathT]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in _ALLOWED_SECRETISH and _SECRET_KEY.search(k):
                yield (*path, k)
            else:
                yield from _secret_keys(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _secret_keys(v, (*path, i))


__all__ = ["DEFAULT_GLOBS", "PROJECT_FILE", "content_format", "glob_match", "load_path", "load_project"]


def _item_locations(
    doc: Document, raw_sel: dict[str, Any], at: PathT = ("spec", "selector")
) -> dict[str, Location]:
    out: dict[str, Location] = {}
    excl = raw_sel.get("exclude", {})
    for prefix, base, mapping in (
        ("", at, raw_sel),
        ("exclude.", (*at, "exclude"), excl),
    ):
        for key in ("groups", "devices", "patterns"):
            for i, name in enumerate(mapping.get(key, ())):
                out.setdefault(f"{prefix}{key}/{name}", doc.loc((*base, key, i)))
    return out
