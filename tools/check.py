"""``python -m tools check``: hold the workspace to the module graph.

What it checks, each violation reported as one line naming the file:

a. every module package declares exactly the graph's direct dependencies (extras as extras), each
   at a range its sibling's current version meets, and nothing else at runtime but numpy;
b. every ``tinytorch.*`` import in its source (and tests, benchmarks) is of itself or of a module it
   depends on; an extra's modules only where a failed import cannot break it (a function, a
   ``try/except ImportError``, ``if TYPE_CHECKING``);
c. tox.ini has one env per package present and no other per-package env, and its ``[tracks]``
   lists are exactly each track's packages present; env_list runs every env;
d. every milestone pins, with ``==``, workspace packages at versions that exist, closed under
   dependencies, and imports only what it pins;
e. no package ships ``src/tinytorch/__init__.py`` (``tinytorch`` is a PEP 420 namespace), and each
   ships only ``src/tinytorch/<its module>/`` with ``py.typed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tools.graph import DIST_PREFIX, Graph, Module, ToolError
from tools.imports import ImportRef, tinytorch_imports
from tools.toxini import ToxConfig
from tools.versions import available_versions
from tools.workspace import (
    Milestone,
    Package,
    Requirement,
    milestones,
    module_packages,
    package_dirs,
    parse_version,
    read_package,
)

RUNTIME_NON_SIBLINGS = {"numpy"}


@dataclass(frozen=True, order=True)
class Violation:
    """One thing wrong: the file (relative to the root), the line when known, and what."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class Checker:
    """Runs every check over the workspace at ``root`` and collects the violations."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.graph = Graph.load(root)
        self.present = module_packages(root, self.graph)
        self.violations: list[Violation] = []

    def report(self, path: Path, message: str, line: int = 0) -> None:
        """Record one violation at ``path`` (and ``line``)."""
        try:
            shown = path.relative_to(self.root).as_posix()
        except ValueError:
            shown = path.as_posix()
        self.violations.append(Violation(shown, line, message))

    def run(self) -> list[Violation]:
        """Every violation found, in file order."""
        for path in package_dirs(self.root):
            self.check_package_dir(path)
        self.check_tox()
        for milestone in milestones(self.root):
            self.check_milestone(milestone)
        return sorted(set(self.violations))

    # -- packages ---------------------------------------------------------------------------

    def check_package_dir(self, path: Path) -> None:
        """Dispatch one ``packages/*`` directory to the module, track or unknown-package checks."""
        if (path / "src" / "tinytorch" / "__init__.py").exists():
            self.report(
                path / "src" / "tinytorch" / "__init__.py",
                "must not exist: tinytorch is a PEP 420 namespace shared by every package, "
                "and this file would mask the others",
            )
        suffix = path.name[len(DIST_PREFIX) :] if path.name.startswith(DIST_PREFIX) else ""
        if suffix in self.graph:
            self.check_module_package(self.graph.modules[suffix], path)
        elif suffix in self.graph.tracks:
            self.check_meta_package(suffix, path)
        elif _carries_code(path):
            self.report(
                path,
                "carries code but is neither a module of the graph nor a track's meta package "
                "(the graph is [tool.tinytorch] in pyproject.toml)",
            )

    def _read(self, path: Path) -> Package | None:
        try:
            package = read_package(path)
        except ToolError as e:
            self.report(path / "pyproject.toml", _without_path(e, path / "pyproject.toml"))
            return None
        if package.name != path.name:
            self.report(
                package.pyproject, f"project name is {package.name!r}, its folder is {path.name!r}"
            )
        return package

    def check_module_package(self, module: Module, path: Path) -> None:
        """Declarations, layout and imports of the package of ``module``."""
        package = self._read(path)
        if package is not None:
            self.check_declared(module, package)
        self.check_layout(module, path)
        self.check_imports(module, path)

    def check_declared(self, module: Module, package: Package) -> None:
        """(a) declared runtime dependencies and extras against the graph."""
        where = package.pyproject
        self._check_siblings(
            where, "dependencies", package.dependencies, {DIST_PREFIX + d for d in module.depends}
        )
        names = {r.name for r in package.dependencies}
        for name in sorted(names - RUNTIME_NON_SIBLINGS):
            if not name.startswith(DIST_PREFIX):
                self.report(where, f"depends on {name}: numpy is the only non-TinyTorch dependency")
        if "numpy" not in names:
            self.report(where, "does not declare numpy (numpy>=1.24)")
        declared, graph_extras = set(package.optional), set(module.extras)
        for extra in sorted(declared - graph_extras):
            self.report(
                where, f"declares extra {extra!r}, which the graph does not give {module.name}"
            )
        for extra in sorted(graph_extras - declared):
            modules = ", ".join(DIST_PREFIX + m for m in module.extras[extra])
            self.report(where, f"lacks extra {extra!r} = [{modules}] that the graph gives it")
        for extra in sorted(declared & graph_extras):
            reqs = package.optional[extra]
            expected = {DIST_PREFIX + m for m in module.extras[extra]}
            self._check_siblings(where, f"extra {extra!r}", reqs, expected)
            for req in reqs:
                if not req.is_sibling:
                    self.report(
                        where, f"extra {extra!r} names {req.name}: extras name modules only"
                    )

    def _check_siblings(
        self, where: Path, what: str, reqs: tuple[Requirement, ...], expected: set[str]
    ) -> None:
        declared = {r.name: r for r in reqs if r.is_sibling}
        for name in sorted(expected - declared.keys()):
            self.report(where, f"{what} lack {name}, which the module graph requires")
        for name in sorted(declared.keys() - expected):
            graph_says = ", ".join(sorted(expected)) or "none"
            self.report(
                where,
                f"{what} name {name}, which the module graph does not (it says: {graph_says})",
            )
        for name, req in sorted(declared.items()):
            dep_path = self.root / "packages" / name
            if not dep_path.is_dir():
                self.report(where, f"{what} name {name}, which has no package in packages/")
                continue
            try:
                version = read_package(dep_path).version
            except ToolError:
                continue  # reported where that package is checked
            if not req.specifier:
                self.report(where, f"{what}: {name} has no version range (use >=X.Y.Z,<X.Y+1)")
            elif not req.admits(version):
                self.report(
                    where,
                    f"{what}: {req.text!r} excludes {name} {version}, the version in the tree",
                )

    def check_layout(self, module: Module, path: Path) -> None:
        """(e) the namespace layout: only ``src/tinytorch/<module>/``, with ``py.typed``."""
        namespace = path / "src" / "tinytorch"
        own = namespace / module.name
        if not (own / "__init__.py").is_file():
            self.report(own / "__init__.py", "missing: the package's public API lives here")
        if not (own / "py.typed").is_file():
            self.report(own / "py.typed", "missing: every package ships py.typed")
        if namespace.is_dir():
            for child in sorted(namespace.iterdir()):
                if child.name not in (module.name, "__init__.py", "__pycache__"):
                    self.report(
                        child,
                        f"{path.name} may ship only tinytorch.{module.name} under src/tinytorch",
                    )

    def check_imports(self, module: Module, path: Path) -> None:
        """(b) every ``tinytorch.*`` import against what the package depends on."""
        allowed = {module.name} | self.graph.dependencies(module.name)
        optional = self.graph.extra_modules(module.name) - allowed
        src = path / "src"
        files: list[tuple[Path, Path | None]] = [(f, src) for f in sorted(src.rglob("*.py"))]
        for extra_dir in ("tests", "benchmarks"):
            files += [(f, None) for f in sorted((path / extra_dir).rglob("*.py"))]
        for file, base in files:
            try:
                refs = tinytorch_imports(file, base)
            except ToolError as e:
                self.report(file, _without_path(e, file))
                continue
            for ref in refs:
                self._check_ref(module, file, ref, allowed, optional)

    def _check_ref(
        self, module: Module, file: Path, ref: ImportRef, allowed: set[str], optional: set[str]
    ) -> None:
        if ref.module in allowed:
            return
        if ref.module not in self.graph:
            self.report(file, f"imports {ref.target}, which is not a module of the graph", ref.line)
        elif ref.module in optional:
            if not ref.guarded:
                extras = [
                    e
                    for e in module.extras
                    if ref.module in self.graph.extra_modules(module.name, [e])
                ]
                self.report(
                    file,
                    f"imports {ref.target} unguarded, but it comes only with the extra "
                    f"{' or '.join(repr(e) for e in extras)}: import it inside a function or "
                    "a try/except ImportError",
                    ref.line,
                )
        else:
            self.report(
                file,
                f"imports {ref.target}, but {module.dist} does not depend on "
                f"{DIST_PREFIX}{ref.module}, directly or transitively",
                ref.line,
            )

    def check_meta_package(self, track: str, path: Path) -> None:
        """A track's meta package: it depends on exactly the track's modules and carries no code."""
        package = self._read(path)
        if package is not None:
            expected = {DIST_PREFIX + m for m in self.graph.track(track)}
            self._check_siblings(package.pyproject, "dependencies", package.dependencies, expected)
            for req in package.dependencies:
                if not req.is_sibling and req.name not in RUNTIME_NON_SIBLINGS:
                    self.report(
                        package.pyproject,
                        f"depends on {req.name}: a meta package "
                        "depends on its track's modules only",
                    )
        if _carries_code(path):
            self.report(path, f"the meta package of track {track!r} must carry no code")

    # -- tox.ini ----------------------------------------------------------------------------

    def check_tox(self) -> None:
        """(c) per-package envs, the [tracks] lists and env_list, against the packages present."""
        path = self.root / "tox.ini"
        try:
            tox = ToxConfig.read(path)
        except ToolError as e:
            self.report(path, _without_path(e, path))
            return
        module_envs = {e for e in tox.envs if e in self.graph}
        for name in self.graph.ordered(module_envs - self.present.keys()):
            self.report(
                path,
                f"env {name!r} tests packages/{DIST_PREFIX}{name}, which does not exist",
            )
        for name in self.graph.ordered(self.present.keys() - module_envs):
            self.report(path, f"no env {name!r} for packages/{DIST_PREFIX}{name}")
        for name in self.graph.ordered(module_envs):
            self._expect_commands(
                tox,
                name,
                [
                    ("commands_pre", "tools install --with-deps {env_name}"),
                    ("commands", "tools test {env_name}"),
                ],
            )
        for track in self.graph.tracks:
            self._check_track(tox, track)
        for extra in sorted(tox.tracks.keys() - set(self.graph.tracks)):
            self.report(path, f"[tracks] {extra} is not a track of the graph ({self.graph.tracks})")
        listed = set(tox.env_list)
        for env in tox.envs:
            if env not in listed:
                self.report(path, f"env {env!r} is not in env_list, so a bare `tox` skips it")
        for env in tox.env_list:
            if env not in tox.envs:
                self.report(path, f"env_list names {env!r}, which no [testenv:...] section defines")

    def _check_track(self, tox: ToxConfig, track: str) -> None:
        path = tox.path
        if track not in tox.tracks:
            self.report(path, f"[tracks] has no list for track {track!r}")
            return
        listed = tox.tracks[track]
        members = self.graph.track(track)
        for name in sorted({n for n in listed if listed.count(n) > 1}):
            self.report(path, f"[tracks] {track} lists {name!r} twice")
        for name in listed:
            if name not in self.graph:
                self.report(path, f"[tracks] {track} lists {name!r}, which is not a module")
            elif name not in members:
                self.report(path, f"[tracks] {track} lists {name!r}, which is not in that track")
            elif name not in self.present:
                self.report(
                    path,
                    f"[tracks] {track} lists {name!r}, "
                    f"but packages/{DIST_PREFIX}{name} does not exist",
                )
        for name in members:
            if name in self.present and name not in listed:
                self.report(
                    path,
                    f"[tracks] {track} does not list {name!r}, "
                    "a package of that track in packages/",
                )
        if track not in tox.envs:
            self.report(path, f"no env {track!r} for the track")
            return
        listing = f"{{[tracks]{track}}}"
        self._expect_commands(
            tox,
            track,
            [
                ("commands_pre", f"tools install {listing}"),
                ("commands", f"tools test {listing}"),
                ("commands", f"tools milestones --quick --track {track}"),
            ],
        )

    def _expect_commands(self, tox: ToxConfig, env: str, expected: list[tuple[str, str]]) -> None:
        for key, command in expected:
            if f"python -m {command}" not in tox.commands[env][key]:
                self.report(tox.path, f"env {env!r} does not run `python -m {command}` in {key}")

    # -- milestones -------------------------------------------------------------------------

    def check_milestone(self, milestone: Milestone) -> None:
        """(d) a milestone's files, exact pins, their closure and its imports."""
        for file in (milestone.main, milestone.requirements, milestone.path / "README.md"):
            if not file.is_file():
                self.report(file, "missing: a milestone has main.py, requirements.txt, README.md")
        if not milestone.requirements.is_file():
            return
        where = milestone.requirements
        pins: list[tuple[int, Requirement]] = []
        try:
            lines = milestone.pin_lines()
        except ToolError as e:
            self.report(where, _without_path(e, where))
            return
        for line, text in lines:
            try:
                pins.append((line, Requirement.parse(text)))
            except ValueError as e:
                self.report(where, str(e), line)
        pinned: dict[str, str] = {}
        needed: set[str] = set()
        for line, req in pins:
            if req.name == "numpy":
                continue
            module = self.graph.module_of(req.name)
            version = req.pinned()
            if module is None:
                self.report(where, f"pins {req.name}, which is not a module package", line)
                continue
            if module in pinned:
                self.report(where, f"pins {req.name} twice", line)
            if version is None:
                self.report(where, f"{req.text!r} is not an exact ==X.Y.Z pin", line)
                continue
            pinned[module] = version
            needed |= self.graph.closure([module]) | self.graph.extra_modules(module, req.extras)
            if module not in self.present:
                self.report(where, f"pins {req.name}, which has no package in packages/", line)
                continue
            try:
                versions = available_versions(self.root, req.name)
            except ToolError as e:
                self.report(where, str(e), line)
                continue
            if version not in versions:
                exist = ", ".join(sorted(versions, key=parse_version))
                self.report(
                    where,
                    f"pins {req.name}=={version}, but the versions that exist are {exist}",
                    line,
                )
        for name in self.graph.ordered(needed - pinned.keys()):
            by = sorted(m for m in pinned if name in self.graph.closure([m]) - {m})
            self.report(
                where,
                f"does not pin {DIST_PREFIX}{name}, which {', '.join(DIST_PREFIX + m for m in by)} "
                "needs: pins are the full dependency closure",
            )
        self._check_pins_agree(where, pinned)
        for file in sorted(milestone.path.rglob("*.py")):
            try:
                refs = tinytorch_imports(file)
            except ToolError as e:
                self.report(file, _without_path(e, file))
                continue
            for ref in refs:
                if ref.module not in pinned:
                    self.report(
                        file, f"imports {ref.target}, which requirements.txt does not pin", ref.line
                    )

    def _check_pins_agree(self, where: Path, pinned: dict[str, str]) -> None:
        """Pinned versions meet each other's declared ranges (known for the tree's versions)."""
        for module, version in pinned.items():
            path = self.present.get(module)
            if path is None:
                continue
            try:
                package = read_package(path)
            except ToolError:
                continue
            if package.version != version:
                continue
            for name, req in package.sibling_dependencies().items():
                dep = self.graph.module_of(name)
                if dep in pinned and not req.admits(pinned[dep]):
                    self.report(
                        where,
                        f"pins {name}=={pinned[dep]}, but {package.name}=={version} requires "
                        f"{req.text!r}",
                    )


def _without_path(error: ToolError, path: Path) -> str:
    """The error's message without the leading ``path:`` the report adds back (relative)."""
    message = str(error)
    return message[len(str(path)) :].lstrip(": ") if message.startswith(str(path)) else message


def _carries_code(path: Path) -> bool:
    return any(path.joinpath("src").rglob("*.py"))


def run(root: Path) -> int:
    """Print every violation, one a line, and return 1; or print a summary and return 0."""
    checker = Checker(root)
    violations = checker.run()
    for violation in violations:
        print(violation)
    if violations:
        print(f"graph check: {len(violations)} violation(s)")
        return 1
    print(
        f"graph check passed: {len(checker.present)} module packages "
        f"({', '.join(checker.present)}), {len(milestones(root))} milestones and tox.ini "
        f"agree with the {len(checker.graph.modules)}-module graph"
    )
    return 0
