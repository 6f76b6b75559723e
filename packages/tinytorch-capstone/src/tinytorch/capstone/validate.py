"""A small validator for the subset of JSON Schema that the submission schema uses.

Keywords: ``type`` (one name or a list), ``required``, ``properties``, ``additionalProperties``
(a boolean or a schema), ``enum``, ``const``, ``items``, ``minimum``, ``pattern`` and local
``$ref`` (``#/$defs/name``). Any other keyword in a schema is refused, so the schema cannot
silently ask for a check this validator does not make. Each error names the field's path:
``metrics.optimized.accuracy: expected number, got string``.

Why not depend on ``jsonschema``: numpy is TinyTorch's only runtime dependency, and the subset
is about a hundred lines; the tests cross-check this validator against ``jsonschema`` on the
same documents when it is installed.

Example:
    >>> schema = {"type": "object", "required": ["a"], "properties": {"a": {"type": "number"}}}
    >>> errors(schema, {"a": "x"})
    ['a: expected number, got string']
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

__all__ = ["SCHEMA_VERSION", "errors", "load_schema"]

SCHEMA_VERSION = "tinytorch-capstone/submission-1"

_KEYWORDS = {
    "type", "required", "properties", "additionalProperties", "enum", "const", "items",
    "minimum", "pattern", "$ref", "$defs", "$schema", "$id", "title", "description",
}  # fmt: skip


def load_schema() -> dict[str, Any]:
    """The published schema, read from the installed package (``schema/submission-1.schema
    .json``).

    >>> load_schema()["properties"]["schema"]["const"]
    'tinytorch-capstone/submission-1'
    """
    text = (
        resources.files("tinytorch.capstone")
        .joinpath("schema/submission-1.schema.json")
        .read_text(encoding="utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is(value: Any, name: str) -> bool:
    actual = _type_name(value)
    # JSON Schema: an integer is a number; 1.0 is an integer too.
    if name == "number":
        return actual in ("integer", "number")
    if name == "integer":
        return actual == "integer" or (actual == "number" and float(value).is_integer())
    return actual == name


def _resolve(ref: str, root: Mapping[str, Any]) -> Mapping[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"schema: only local $ref are supported, got {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return dict(node)


def _check(schema: Mapping[str, Any], value: Any, path: str, root: Any, out: list[str]) -> None:
    unknown = set(schema) - _KEYWORDS
    if unknown:
        raise ValueError(f"schema at {path or '(root)'}: unsupported keyword {sorted(unknown)[0]}")
    where = path or "(root)"
    if "$ref" in schema:
        _check(_resolve(schema["$ref"], root), value, path, root, out)
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(value, n) for n in names):
            out.append(f"{where}: expected {' or '.join(names)}, got {_type_name(value)}")
            return
    if "const" in schema and value != schema["const"]:
        out.append(f"{where}: must be {schema['const']!r}, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(repr(c) for c in schema["enum"])
        out.append(f"{where}: unknown value {value!r}; expected one of {choices}")
    if "minimum" in schema and _is(value, "number") and value < schema["minimum"]:
        out.append(f"{where}: {value!r} is below the minimum {schema['minimum']!r}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        out.append(f"{where}: {value!r} does not match the pattern {schema['pattern']!r}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                out.append(f"{path + '.' if path else ''}{name}: missing (required)")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            child = f"{path}.{name}" if path else str(name)
            if name in props:
                _check(props[name], item, child, root, out)
            elif extra is False:
                out.append(f"{child}: unknown field")
            elif isinstance(extra, dict):
                _check(extra, item, child, root, out)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _check(schema["items"], item, f"{where}[{i}]", root, out)


def errors(schema: Mapping[str, Any], document: Any) -> list[str]:
    """Every way ``document`` breaks ``schema``, each naming the field's path; empty: valid.

    >>> s = {"type": "object", "properties": {"e": {"enum": ["a", "b"]}},
    ...      "additionalProperties": False}
    >>> errors(s, {"e": "c", "x": 1})
    ["e: unknown value 'c'; expected one of 'a', 'b'", 'x: unknown field']
    """
    out: list[str] = []
    _check(schema, document, "", schema, out)
    return out
