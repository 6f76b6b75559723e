"""What the workspace holds on disk: packages, their pyproject metadata, milestones and their pins.

Requirements and versions are PEP 508/440 as ``packaging`` reads them (the library pip and tox
use), so that the tools agree with the installers on what a range admits. A bare Python that has
pip, but not ``packaging``, uses the copy pip vendors, as :func:`tools.graph._toml` does for TOML.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.graph import DIST_PREFIX, Graph, ToolError, load_toml

if TYPE_CHECKING or importlib.util.find_spec("packaging") is not None:
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as Pep508
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
    from packaging.version import Version
else:  # pragma: no cover - a bare interpreter with pip
    from pip._vendor.packaging.requirements import InvalidRequirement
    from pip._vendor.packaging.requirements import Requirement as Pep508
    from pip._vendor.packaging.specifiers import SpecifierSet
    from pip._vendor.packaging.utils import canonicalize_name
    from pip._vendor.packaging.version import Version


def normalize(name: str) -> str:
    """A distribution name in PEP 503 normal form: ``Tinytorch_Tensor`` -> ``tinytorch-tensor``."""
    return str(canonicalize_name(name))


def parse_version(text: str) -> Version:
    """A package's version: a plain release ``X.Y.Z`` (the workspace makes no pre-, post- or
    dev releases, and ``bump`` counts in release numbers); ValueError for anything else.

    >>> parse_version("0.10.2") > parse_version("0.9")
    True
    """
    version = Version(text)  # InvalidVersion, a ValueError, when it is no PEP 440 version
    if text.strip() != ".".join(map(str, version.release)):
        raise ValueError(f"version {text!r} is not a release of the form X.Y.Z")
    return version


def compatible(*specifiers: SpecifierSet) -> bool:
    """Whether some version meets every one of ``specifiers`` at once.

    The versions meeting a specifier form intervals whose ends are versions it names, so it is
    enough to try each named version, a version just above each, and 0.

    >>> compatible(SpecifierSet(">=0.1.0,<0.2"), SpecifierSet(">=0.1.3"))
    True
    >>> compatible(SpecifierSet(">=0.1.0,<0.2"), SpecifierSet(">=0.2.0,<0.3"))
    False
    """
    named = {(0,)} | {
        Version(clause.version.removesuffix(".*")).release for s in specifiers for clause in s
    }
    depth = max(len(v) for v in named) + 1
    above = {v + (0,) * (depth - len(v) - 1) + (1,) for v in named}
    candidates = [Version(".".join(map(str, v))) for v in sorted(named | above)]
    return any(all(s.contains(v, prereleases=True) for s in specifiers) for v in candidates)


@dataclass(frozen=True)
class Requirement:
    """One dependency line as ``packaging`` parses it, its name normalized, its text kept.

    >>> r = Requirement.parse("tinytorch-losses[fast] >= 0.1.0, <0.2")
    >>> r.name, r.extras, r.admits("0.1.9"), r.admits("0.2.0")
    ('tinytorch-losses', ('fast',), True, False)
    """

    name: str
    extras: tuple[str, ...]
    specifier: SpecifierSet
    marker: str
    text: str

    @classmethod
    def parse(cls, text: str) -> Requirement:
        """Parse one requirement string; ``ValueError`` when it is not one (or is a URL)."""
        try:
            req = Pep508(text)
        except InvalidRequirement as e:
            raise ValueError(f"cannot parse requirement {text!r}: {e}") from e
        if req.url:
            raise ValueError(f"cannot parse requirement {text!r}: a URL is no version range")
        marker = str(req.marker) if req.marker else ""
        return cls(
            normalize(req.name), tuple(sorted(req.extras)), req.specifier, marker, text.strip()
        )

    @property
    def is_sibling(self) -> bool:
        """Whether this names a TinyTorch distribution."""
        return self.name.startswith(DIST_PREFIX)

    def admits(self, version: str) -> bool:
        """Whether ``version`` satisfies this requirement's specifier."""
        return self.specifier.contains(version, prereleases=True)

    def pinned(self) -> str | None:
        """The version of an exact ``==X.Y.Z`` pin, else None."""
        clauses = list(self.specifier)
        if len(clauses) == 1 and clauses[0].operator == "==" and "*" not in clauses[0].version:
            return clauses[0].version
        return None


@dataclass(frozen=True)
class Package:
    """One distribution under ``packages/``, as its ``pyproject.toml`` declares it."""

    path: Path
    name: str
    version: str
    dependencies: tuple[Requirement, ...]
    optional: Mapping[str, tuple[Requirement, ...]]

    @property
    def pyproject(self) -> Path:
        """The package's ``pyproject.toml``."""
        return self.path / "pyproject.toml"

    def sibling_dependencies(self) -> dict[str, Requirement]:
        """The runtime requirements on TinyTorch distributions, by name."""
        return {r.name: r for r in self.dependencies if r.is_sibling}


def _requirements(value: Any, where: str) -> tuple[Requirement, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ToolError(f"{where}: expected a list of requirement strings")
    try:
        return tuple(Requirement.parse(v) for v in value)
    except ValueError as e:
        raise ToolError(f"{where}: {e}") from e


def read_package(path: Path) -> Package:
    """Read ``path/pyproject.toml``; ``ToolError`` naming the file when it is unusable."""
    pyproject = path / "pyproject.toml"
    if not pyproject.is_file():
        raise ToolError(f"{pyproject}: missing (every directory in packages/ is a distribution)")
    return package_from_toml(path, load_toml(pyproject), str(pyproject))


def package_from_toml(path: Path, data: Mapping[str, Any], where: str) -> Package:
    """The :class:`Package` a parsed pyproject declares (read from ``where``), at ``path``."""
    project = data.get("project")
    if not isinstance(project, dict):
        raise ToolError(f"{where}: no [project] table")
    name, version = project.get("name"), project.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise ToolError(f"{where}: [project] needs a static name and version")
    try:
        parse_version(version)
    except ValueError as e:
        raise ToolError(f"{where}: {e}") from e
    raw_optional = project.get("optional-dependencies", {})
    if not isinstance(raw_optional, dict):
        raise ToolError(f"{where}: [project.optional-dependencies] must be a table")
    return Package(
        path=path,
        name=normalize(name),
        version=version,
        dependencies=_requirements(project.get("dependencies", []), f"{where}: dependencies"),
        optional={
            extra: _requirements(reqs, f"{where}: optional-dependencies.{extra}")
            for extra, reqs in raw_optional.items()
        },
    )


def sibling_closure(
    first: Iterable[Package], find: Callable[[Package, str], Package]
) -> dict[str, Package]:
    """``first`` and every sibling they declare, transitively, by name.

    ``find(package, name)`` gives the package of a sibling that ``package`` declares, or raises
    ToolError naming what is missing; the graph is not consulted, so the result is exactly what
    the pyprojects declare.
    """
    found: dict[str, Package] = {}
    stack = list(first)
    while stack:
        package = stack.pop()
        if package.name in found:
            continue
        found[package.name] = package
        stack.extend(find(package, name) for name in package.sibling_dependencies())
    return found


def package_dirs(root: Path) -> list[Path]:
    """Every directory under ``packages/``, sorted (hidden and cache directories skipped)."""
    base = root / "packages"
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def module_packages(root: Path, graph: Graph) -> dict[str, Path]:
    """The module packages present, ``packages/tinytorch-<module>``, by module, in graph order."""
    found = {
        p.name[len(DIST_PREFIX) :]: p
        for p in package_dirs(root)
        if p.name.startswith(DIST_PREFIX) and p.name[len(DIST_PREFIX) :] in graph
    }
    return {name: found[name] for name in graph.ordered(found)}


def track_modules(root: Path, graph: Graph, track: str) -> list[str]:
    """The modules of ``track`` (the graph's one list) that have a package here, in graph order.

    What the track's tox env installs and tests (``--track``) and what its meta package must
    depend on: a module not written yet cannot be a dependency of anything installed.
    """
    present = module_packages(root, graph)
    return [m for m in graph.track(track) if m in present]


def meta_packages(root: Path, graph: Graph) -> dict[str, Path]:
    """The track meta packages present, ``packages/tinytorch-<track>``, by track, in graph order."""
    return {
        track: root / "packages" / (DIST_PREFIX + track)
        for track in graph.tracks
        if (root / "packages" / (DIST_PREFIX + track) / "pyproject.toml").is_file()
    }


def workspace_packages(root: Path, graph: Graph) -> dict[str, Path]:
    """Every distribution the workspace builds, by distribution name: modules, then tracks."""
    out = {DIST_PREFIX + m: p for m, p in module_packages(root, graph).items()}
    out.update({DIST_PREFIX + t: p for t, p in meta_packages(root, graph).items()})
    return out


def module_package(root: Path, graph: Graph, name: str) -> Package:
    """The package of module ``name`` (``tensor`` or ``tinytorch-tensor``), or ToolError."""
    module = name[len(DIST_PREFIX) :] if name.startswith(DIST_PREFIX) else name
    if module not in graph:
        raise ToolError(f"{name!r} is not a module of the graph ({', '.join(graph.modules)})")
    path = root / "packages" / (DIST_PREFIX + module)
    if not path.is_dir():
        raise ToolError(f"{path.relative_to(root)}: no such package in this workspace")
    return read_package(path)


@dataclass(frozen=True)
class Milestone:
    """One ``milestones/<year>_<name>/`` folder: main.py, requirements.txt, README.md."""

    path: Path

    @property
    def name(self) -> str:
        """The folder name, for example ``1957_perceptron``."""
        return self.path.name

    @property
    def main(self) -> Path:
        """The script the milestone runs."""
        return self.path / "main.py"

    @property
    def requirements(self) -> Path:
        """Its exact pins, one per line, the full dependency closure."""
        return self.path / "requirements.txt"

    def pin_lines(self) -> list[tuple[int, str]]:
        """The requirement lines (comments and blanks dropped) with their line numbers."""
        try:
            lines = self.requirements.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ToolError(f"{self.requirements}: cannot read it: {e.strerror}") from e
        stripped = ((n, raw.split("#", 1)[0].strip()) for n, raw in enumerate(lines, start=1))
        return [(n, line) for n, line in stripped if line]

    def pins(self) -> list[tuple[int, Requirement]]:
        """The parsed requirement lines with their line numbers; ToolError on an unparsable one."""
        out: list[tuple[int, Requirement]] = []
        for number, line in self.pin_lines():
            try:
                out.append((number, Requirement.parse(line)))
            except ValueError as e:
                raise ToolError(f"{self.requirements}:{number}: {e}") from e
        return out

    def pinned_modules(self, graph: Graph) -> dict[str, str]:
        """Module name -> pinned version, for the pins that name a module of the graph."""
        out: dict[str, str] = {}
        for _, req in self.pins():
            module, version = graph.module_of(req.name), req.pinned()
            if module is not None and version is not None:
                out[module] = version
        return out


def milestones(root: Path) -> list[Milestone]:
    """Every milestone folder, in name (so year) order."""
    base = root / "milestones"
    if not base.is_dir():
        return []
    return [
        Milestone(p)
        for p in sorted(base.iterdir())
        if p.is_dir() and not p.name.startswith((".", "_"))
    ]


def track_milestones(root: Path, graph: Graph, track: str) -> list[Milestone]:
    """The milestones of ``track``: those whose pins are all modules of the track."""
    members = set(graph.track(track))
    return [m for m in milestones(root) if set(m.pinned_modules(graph)) <= members]


def find_milestone(root: Path, name: str) -> Milestone:
    """The milestone called ``name``: its folder name, or that name without the year."""
    found = [m for m in milestones(root) if name in (m.name, m.name.partition("_")[2])]
    if len(found) != 1:
        known = ", ".join(m.name for m in milestones(root)) or "none"
        raise ToolError(f"no milestone {name!r} under milestones/ (there are: {known})")
    return found[0]
