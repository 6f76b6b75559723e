"""The module graph: the ``[tool.tinytorch]`` table of the root ``pyproject.toml``.

That table is the one machine-readable copy of design.md's module graph. Every command reads it
through :meth:`Graph.load`, so what "depends on", "closure" and "track" mean is decided here once.

Example:
    >>> graph = Graph.from_table({"tracks": ["t"], "module": [
    ...     {"number": 1, "name": "tensor", "tracks": ["t"]},
    ...     {"number": 2, "name": "layers", "depends": ["tensor"], "tracks": ["t"]}]})
    >>> sorted(graph.closure(["layers"]))
    ['layers', 'tensor']
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

DIST_PREFIX = "tinytorch-"


class ToolError(Exception):
    """A problem that stops a command; its message says what is wrong and where."""


def _toml() -> Any:
    """The TOML parser: ``tomllib`` (3.11+), else ``tomli``, else the copy pip vendors.

    Imported by name so that the code type-checks the same on every version. The last fallback
    lets a bare Python 3.10 that has pip (what the README asks for) run the tools with nothing
    installed.
    """
    if sys.version_info >= (3, 11):
        return importlib.import_module("tomllib")
    for name in ("tomli", "pip._vendor.tomli"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ToolError("Python 3.10 needs a TOML parser: `python -m pip install tomli`")


def load_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file (see :func:`_toml` for the parser)."""
    toml = _toml()
    try:
        with path.open("rb") as f:
            data = toml.load(f)
    except OSError as e:
        raise ToolError(f"{path}: cannot read it: {e.strerror}") from e
    except toml.TOMLDecodeError as e:
        raise ToolError(f"{path}: not valid TOML: {e}") from e
    return cast("dict[str, Any]", data)


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """Parse TOML text read from ``where`` (a file at some commit, say); ToolError naming it."""
    toml = _toml()
    try:
        data = toml.loads(text)
    except toml.TOMLDecodeError as e:
        raise ToolError(f"{where}: not valid TOML: {e}") from e
    return cast("dict[str, Any]", data)


@dataclass(frozen=True)
class Module:
    """One module of the graph: its number, name, direct dependencies, extras and tracks."""

    number: int
    name: str
    tier: str
    depends: tuple[str, ...]
    extras: Mapping[str, tuple[str, ...]]
    tracks: tuple[str, ...]

    @property
    def dist(self) -> str:
        """The distribution name, ``tinytorch-<name>``."""
        return DIST_PREFIX + self.name


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ToolError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(cast("list[str]", value))


@dataclass(frozen=True)
class Graph:
    """The modules by name, in the order of their numbers, and the track names."""

    modules: Mapping[str, Module]
    tracks: tuple[str, ...]

    @classmethod
    def load(cls, root: Path) -> Graph:
        """Read and validate the graph of the workspace at ``root``."""
        path = root / "pyproject.toml"
        table = load_toml(path).get("tool", {}).get("tinytorch")
        if not isinstance(table, dict):
            raise ToolError(f"{path}: no [tool.tinytorch] table (the module graph)")
        return cls.from_table(table, str(path))

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str = "[tool.tinytorch]") -> Graph:
        """Build the graph from the parsed ``[tool.tinytorch]`` table, rejecting a broken one."""
        tracks = _strings(table.get("tracks", []), f"{where}: tracks")
        entries = table.get("module", [])
        if not isinstance(entries, list) or not entries:
            raise ToolError(f"{where}: no [[tool.tinytorch.module]] entries")
        modules: dict[str, Module] = {}
        for entry in entries:
            name = entry.get("name")
            if not isinstance(name, str) or not isinstance(entry.get("number"), int):
                raise ToolError(f"{where}: a module entry lacks a name or number: {entry!r}")
            here = f"{where}: module {name!r}"
            if name in modules:
                raise ToolError(f"{here}: defined twice")
            raw_extras = entry.get("extras", {})
            if not isinstance(raw_extras, dict):
                raise ToolError(f"{here}: extras must be a table of lists")
            module = Module(
                number=entry["number"],
                name=name,
                tier=str(entry.get("tier", "")),
                depends=_strings(entry.get("depends", []), f"{here}: depends"),
                extras={k: _strings(v, f"{here}: extras.{k}") for k, v in raw_extras.items()},
                tracks=_strings(entry.get("tracks", []), f"{here}: tracks"),
            )
            if unknown := set(module.tracks) - set(tracks):
                raise ToolError(f"{here}: unknown tracks {sorted(unknown)}")
            modules[name] = module
        for module in modules.values():
            named = set(module.depends).union(*module.extras.values())
            if unknown := named - modules.keys():
                raise ToolError(f"{where}: module {module.name!r} names unknown {sorted(unknown)}")
        ordered = dict(sorted(modules.items(), key=lambda item: item[1].number))
        graph = cls(modules=ordered, tracks=tracks)
        for name in ordered:
            if name in graph.dependencies(name):
                raise ToolError(f"{where}: module {name!r} depends on itself through a cycle")
        return graph

    def __contains__(self, name: object) -> bool:
        return name in self.modules

    def dependencies(self, name: str) -> set[str]:
        """Every module ``name`` depends on, directly or transitively (extras not included)."""
        seen: set[str] = set()
        stack = list(self.modules[name].depends)
        while stack:
            dep = stack.pop()
            if dep not in seen:
                seen.add(dep)
                stack.extend(self.modules[dep].depends)
        return seen

    def closure(self, names: Iterable[str]) -> set[str]:
        """The modules ``names`` plus every module they depend on, directly or transitively."""
        out: set[str] = set()
        for name in names:
            out |= {name} | self.dependencies(name)
        return out

    def extra_modules(self, name: str, extras: Iterable[str] | None = None) -> set[str]:
        """The modules that ``name``'s extras (all of them by default) bring, with their closure."""
        module = self.modules[name]
        chosen = module.extras.keys() if extras is None else extras
        return self.closure(m for extra in chosen for m in module.extras.get(extra, ()))

    def track(self, track: str) -> list[str]:
        """The modules of ``track``, in number order."""
        if track not in self.tracks:
            raise ToolError(f"unknown track {track!r}; the tracks are {', '.join(self.tracks)}")
        return [m.name for m in self.modules.values() if track in m.tracks]

    def ordered(self, names: Iterable[str]) -> list[str]:
        """``names`` sorted by module number (names outside the graph last, alphabetically)."""
        return sorted(
            set(names),
            key=lambda n: (self.modules[n].number, n) if n in self.modules else (10**6, n),
        )

    def module_of(self, dist: str) -> str | None:
        """The module a distribution name belongs to, or None when it is not a module's."""
        if dist.startswith(DIST_PREFIX) and dist[len(DIST_PREFIX) :] in self.modules:
            return dist[len(DIST_PREFIX) :]
        return None
