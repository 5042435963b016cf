"""Config files referenced by `file:`: JSON and YAML are parsed (with locations, so a
content problem can point into the file), anything else is UTF-8 text kept as is."""

from __future__ import annotations

import json
import math
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import Location, Problem
from reconciler.manifests.yamldoc import json_path
from reconciler.manifests.yamlload import decode, load_text
from reconciler.model.project import ContentFormat


@dataclass(frozen=True)
class ConfigContent:
    format: ContentFormat
    data: Any  # dict/list/scalar for json and yaml, str for text
    locations: dict[str, Location] = field(default_factory=dict)  # json path -> where in the file


def content_format(rel: str) -> ContentFormat:
    ext = posixpath.splitext(rel)[1].lower()
    if ext == ".json":
        return "json"
    if ext in (".yaml", ".yml"):
        return "yaml"
    return "text"


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Duplicate(k)
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_config(raw: bytes, rel: str) -> tuple[ConfigContent | None, list[Problem]]:
    """Parse one config file's bytes by its extension."""
    text, problem = decode(raw, rel)
    if text is None:
        return None, [problem] if problem else []
    fmt = content_format(rel)
    if fmt == "text":
        return ConfigContent("text", text), []
    if fmt == "yaml":
        docs, problems = load_text(text, rel)
        if problems:
            return None, problems
        if len(docs) != 1:
            what = "no YAML document" if not docs else f"{len(docs)} YAML documents"
            return None, [
                Problem(
                    f"a config file holds exactly one document; this one has {what}",
                    Location(
                        rel,
                        docs[1].start[0] if len(docs) > 1 else 1,
                        docs[1].start[1] if len(docs) > 1 else 1,
                    ),
                )
            ]
        doc = docs[0]
        locations = {
            json_path(p): Location(rel, line, col, json_path(p)) for p, (line, col) in doc.positions.items()
        }
        return ConfigContent("yaml", doc.data, locations), []
    non_finite = _non_finite_numbers(text, rel)
    if non_finite:
        return None, non_finite
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _Duplicate as e:
        return None, [Problem(f"duplicate key {e.args[0]!r} in JSON", _find_key(text, rel, e.args[0]))]
    except json.JSONDecodeError as e:
        return None, [Problem(f"not valid JSON: {e.msg}", Location(rel, e.lineno, e.colno))]
    except (ValueError, RecursionError) as e:
        return None, [Problem(f"not valid JSON: {e}", Location(rel, 1, 1))]
    return ConfigContent("json", data, _json_locations(text, rel)), []


# Outside strings: a number, or the constants Python's json reads but JSON does not have.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|-?(?:Infinity|NaN)|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?')


def _non_finite_numbers(text: str, rel: str) -> list[Problem]:
    """Every number JSON cannot hold (`1e400` reads as infinity, `NaN`, `Infinity`), at its
    line and column: json.loads would accept or stop at the first."""
    problems = []
    for m in _JSON_TOKEN.finditer(text):
        token = m.group()
        if token.startswith('"'):
            continue
        if token.lstrip("-") in ("Infinity", "NaN"):
            what = f"{token} is not a number JSON can hold"
        elif not math.isfinite(float(token)):
            what = f"{token} is too large for a number (it would be read as infinity)"
        else:
            continue
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        problems.append(Problem(what, Location(rel, line, col)))
    return problems


def _find_key(text: str, rel: str, key: str) -> Location:
    needle = json.dumps(key)
    first = text.find(needle)
    at = text.find(needle, first + 1) if first >= 0 else -1
    if at < 0:
        return Location(rel, 1, 1)
    line = text.count("\n", 0, at) + 1
    return Location(rel, line, at - (text.rfind("\n", 0, at) + 1) + 1)


def _json_locations(text: str, rel: str) -> dict[str, Location]:
    # JSON is (nearly) YAML, so the YAML composer gives positions; best effort only.
    docs, problems = load_text(text, rel)
    if problems or len(docs) != 1:
        return {}
    return {
        json_path(p): Location(rel, line, col, json_path(p)) for p, (line, col) in docs[0].positions.items()
    }
