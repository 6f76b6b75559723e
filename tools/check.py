"""``python -m tools check``: hold the workspace to the module graph.

What it checks, each violation reported as one line naming the file:

a. every module package declares exactly the graph's direct dependencies (extras as extras), each
   at a range its sibling's current version meets, and nothing else at runtime but numpy;
b. every ``tinytorch.*`` import in its source (and tests, benchmarks) is of itself or of a module it
   depends on; an extra's modules only where a failed import cannot break it (a function, a
   ``try/except ImportError``, ``if TYPE_CHECKING``);
c. tox.toml's env_list has one env per package present and no other per-package env; each track's
   env installs and tests ``--track NAME`` (the graph's list: tox keeps no copy) and runs its
   milestones, ``--quick`` but for the track holding every module, which runs them in full; the
   ``oracle`` env installs and tests every package with ``--require torch``, torch pinned with
   ``==`` in its deps and installed by pip (``runner = "virtualenv"``); env_list runs every env;
   the README's tracks table is the one ``python -m tools sync`` writes from the graph;
d. every milestone pins, with ``==``, workspace packages at versions that exist, closed under
   dependencies, and imports only what it pins;
e. no package ships ``src/tinytorch/__init__.py`` (``tinytorch`` is a PEP 420 namespace), and each
   ships only ``src/tinytorch/<its module>/`` with ``py.typed``;
f. each track's meta package (``packages/tinytorch-<track>``) carries no code and depends on
   exactly its track's packages present, at ranges they meet;
g. releases (``releases.toml``): every recorded commit is in the history of HEAD and declares the
   recorded version; a package whose version is released has not changed since that commit (a
   change needs a version bump), and no package's version is below its latest release;
h. no two packages require versions of a sibling that no single version can meet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.git import Git
from tools.graph import DIST_PREFIX, Graph, Module, ToolError, load_toml
from tools.imports import ImportRef, tinytorch_imports
from tools.readme import README, stale_tracks_table
from tools.versions import (
    RELEASES_FILE,
    VersionSource,
    missing_commit,
    package_at,
    recorded_releases,
    source_for,
)
from tools.workspace import (
    Milestone,
    Package,
    Requirement,
    compatible,
    milestones,
    module_packages,
    package_dirs,
    parse_version,
    read_package,
    track_modules,
    workspace_packages,
)

RUNTIME_NON_SIBLINGS = {"numpy"}
TOX_FILE = "tox.toml"
ORACLE_ENV = "oracle"
ORACLE = "torch"


@dataclass(frozen=True)
class ToxConfig:
    """What the check reads of ``tox.toml`` (tox's own TOML format, read with ``tomllib``).

    ``env_list`` is what a bare ``tox`` runs; ``tables`` the ``[env.NAME]`` tables. An env's
    setting is its table's value, else ``[env_run_base]``'s, as tox takes it.

    >>> tox = ToxConfig(Path("tox.toml"), {"env_run_base": {"deps": ["pytest"]}}, [], {
    ...     "x": {"deps": [{"replace": "ref", "of": ["env_run_base", "deps"]}, "torch==2"],
    ...           "commands": [["python", "-m", "tools", "test", "--track", "t", "--",
    ...                         {"replace": "posargs"}]]}})
    >>> tox.setting("x", "deps"), tox.runs("x", "commands", "test")
    (['pytest', 'torch==2'], [['--track', 't']])
    """

    path: Path
    data: Mapping[str, Any]
    env_list: list[str]
    tables: Mapping[str, Mapping[str, Any]]

    @classmethod
    def read(cls, path: Path) -> ToxConfig:
        """Parse ``path``; ToolError naming it when it is missing or not tox's TOML shape."""
        data = load_toml(path)
        env_list, tables = data.get("env_list", []), data.get("env", {})
        if not isinstance(env_list, list) or not all(isinstance(e, str) for e in env_list):
            raise ToolError(f"{path}: env_list must be a list of env names")
        if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
            raise ToolError(f"{path}: [env] must hold one table per env")
        return cls(path, data, env_list, tables)

    def _raw(self, env: str, key: str) -> Any:
        table = self.tables.get(env, {})
        return table[key] if key in table else self.data.get("env_run_base", {}).get(key, [])

    def _words(self, value: Any) -> list[str]:
        """A value as its words: ``ref``s resolved (one level), other replacements ``{kind}``."""
        if isinstance(value, list):
            return [word for item in value for word in self._words(item)]
        if not isinstance(value, dict):
            return [str(value)]
        if value.get("replace") == "ref" and isinstance(value.get("of"), list):
            target: Any = self.data
            for part in value["of"]:
                target = target.get(part, []) if isinstance(target, dict) else []
            return self._words(target)
        return [f"{{{value.get('replace')}}}"]

    def setting(self, env: str, key: str) -> list[str]:
        """The words of ``key`` in ``env`` (a deps list, or ``runner``'s one word)."""
        return self._words(self._raw(env, key))

    def runs(self, env: str, key: str, command: str) -> list[list[str]]:
        """The arguments before ``--`` of each ``python -m tools COMMAND ...`` that ``key`` runs."""
        prefix = ["python", "-m", "tools", *command.split()]
        out = []
        raw = self._raw(env, key)
        for words in (self._words(c) for c in (raw if isinstance(raw, list) else [])):
            if words[: len(prefix)] == prefix:
                rest = words[len(prefix) :]
                out.append(rest[: rest.index("--")] if "--" in rest else rest)
        return out


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
        try:
            self.releases = recorded_releases(root)
        except ToolError as e:  # reported once, by check_releases
            self.releases = {}
            self.releases_error: ToolError | None = e
        else:
            self.releases_error = None

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
        self.check_readme()
        for milestone in milestones(self.root):
            self.check_milestone(milestone)
        self.check_releases()
        self.check_requirements_agree()
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
        """(f) A track's meta package: no code; depends on exactly the track's packages present.

        Like the track's tox env (``--track``), it holds the modules of its track that exist in
        packages/: a module not written yet cannot be a dependency of anything installed.
        """
        package = self._read(path)
        if package is not None:
            members = track_modules(self.root, self.graph, track)  # what `--track` installs
            expected = {DIST_PREFIX + m for m in members}
            absent = {DIST_PREFIX + m for m in self.graph.track(track)} - expected
            for req in package.dependencies:
                if req.name in absent:
                    self.report(
                        package.pyproject,
                        f"dependencies name {req.name}, which has no package in packages/ "
                        "(a track lists the packages of its track that exist)",
                    )
            reqs = tuple(r for r in package.dependencies if r.name not in absent)
            self._check_siblings(package.pyproject, "dependencies", reqs, expected)
            for req in package.dependencies:
                if not req.is_sibling and req.name not in RUNTIME_NON_SIBLINGS:
                    self.report(
                        package.pyproject,
                        f"depends on {req.name}: a meta package "
                        "depends on its track's modules only",
                    )
        if _carries_code(path):
            self.report(path, f"the meta package of track {track!r} must carry no code")

    # -- tox.toml ---------------------------------------------------------------------------

    def check_tox(self) -> None:
        """(c) per-package envs, the track envs, the oracle and env_list against the graph."""
        path = self.root / TOX_FILE
        try:
            tox = ToxConfig.read(path)
        except ToolError as e:
            self.report(path, _without_path(e, path))
            return
        module_envs = {e for e in tox.env_list if e in self.graph}
        for name in self.graph.ordered(module_envs - self.present.keys()):
            self.report(
                path, f"env {name!r} tests packages/{DIST_PREFIX}{name}, which does not exist"
            )
        for name in self.graph.ordered(self.present.keys() - module_envs):
            self.report(path, f"no env {name!r} in env_list for packages/{DIST_PREFIX}{name}")
        for name in self.graph.ordered(module_envs):
            self._expect(tox, name, "commands_pre", "install --with-deps {env_name}")
            self._expect(tox, name, "commands", "test {env_name}")
        for track in self.graph.tracks:
            if track not in tox.tables:
                self.report(path, f"no [env.{track}] table for the track")
                continue
            # The track holding every module runs each milestone in full, so that CI holds the
            # README's claims; the others run the short versions.
            quick = "" if self._is_complete(track) else "--quick "
            self._expect(tox, track, "commands_pre", f"install --track {track}")
            self._expect(tox, track, "commands", f"test --track {track}")
            self._expect(tox, track, "commands", f"milestones {quick}--track {track}")
        self._check_oracle(tox)
        for env in sorted(tox.tables.keys() - set(tox.env_list)):
            self.report(path, f"env {env!r} is not in env_list, so a bare `tox` skips it")
        for env in tox.env_list:
            if env not in tox.tables and env not in self.graph:
                self.report(
                    path, f"env_list names {env!r}, which is neither a module nor an [env] table"
                )

    def _is_complete(self, track: str) -> bool:
        """Whether ``track`` is a track holding every module of the graph."""
        return track in self.graph.tracks and len(self.graph.track(track)) == len(
            self.graph.modules
        )

    def _check_oracle(self, tox: ToxConfig) -> None:
        """The env with PyTorch: every package present, its tests unable to skip the oracle."""
        env, path = ORACLE_ENV, tox.path
        if env not in tox.tables:
            self.report(
                path,
                f"no env {env!r}: one env installs {ORACLE} and runs every package's tests with "
                f"`python -m tools test --require {ORACLE}`, so that its oracle tests run",
            )
            return
        for key, command in (
            ("commands_pre", "install"),
            ("commands", f"test --require {ORACLE}"),
        ):
            runs = tox.runs(env, key, command)
            if not runs:
                self.report(
                    path, f"env {env!r} does not run `python -m tools {command} ...` in {key}"
                )
            for named in runs:
                if len(named) == 2 and named[0] == "--track" and self._is_complete(named[1]):
                    continue
                if set(named) != set(self.present):
                    self.report(
                        path,
                        f"env {env!r}: `python -m tools {command}` must name every package "
                        f"present, or `--track` a track holding every module (it names: "
                        f"{' '.join(named) or 'nothing'})",
                    )
        if not any(d.startswith(f"{ORACLE}==") for d in tox.setting(env, "deps")):
            self.report(path, f"env {env!r} does not pin {ORACLE} with == in its deps")
        if tox.setting(env, "runner") != ["virtualenv"]:
            self.report(
                path,
                f'env {env!r} must set `runner = "virtualenv"`: pip installs {ORACLE} from the '
                "machine's CPU build, where uv would download a CUDA build",
            )

    def _expect(self, tox: ToxConfig, env: str, key: str, command: str) -> None:
        """Report unless ``env`` runs exactly ``python -m tools COMMAND`` (pytest's args after
        ``--`` aside) in ``key``."""
        if [] not in tox.runs(env, key, command):
            self.report(tox.path, f"env {env!r} does not run `python -m tools {command}` in {key}")

    # -- README.md --------------------------------------------------------------------------

    def check_readme(self) -> None:
        """The README's tracks table is what ``python -m tools sync`` writes from the graph."""
        try:
            problem = stale_tracks_table(self.root, self.graph)
        except ToolError as e:
            problem = _without_path(e, self.root / README)
        if problem:
            self.report(self.root / README, problem)

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
                versions = {read_package(self.present[module]).version}
            except ToolError:
                continue  # reported where the package is checked
            versions |= set(self.releases.get(req.name, {}))
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
        """Pinned versions meet each other's declared ranges, as each pinned version declares
        them: the tree's pyproject, or the one at its release commit for an older version."""
        for module, version in pinned.items():
            if module not in self.present:
                continue
            try:
                package = package_at(
                    self.root, source_for(self.root, DIST_PREFIX + module, version)
                )
            except ToolError:
                continue  # a pin that cannot be met, or a broken release: reported elsewhere
            for name, req in package.sibling_dependencies().items():
                dep = self.graph.module_of(name)
                if dep in pinned and not req.admits(pinned[dep]):
                    self.report(
                        where,
                        f"pins {name}=={pinned[dep]}, but {package.name}=={version} requires "
                        f"{req.text!r}",
                    )

    # -- releases ---------------------------------------------------------------------------

    def check_releases(self) -> None:
        """(g) ``releases.toml`` against git history and the packages' current sources."""
        path = self.root / RELEASES_FILE
        if self.releases_error is not None:
            self.report(path, _without_path(self.releases_error, path))
            return
        releases = self.releases
        if not releases:
            return
        git = Git(self.root)
        why = git.not_repository()
        if why is not None:
            self.report(
                path,
                f"records releases, but {self.root} is not a git checkout ({why}), so no "
                "package can be compared with the commit it was released from",
            )
            return
        try:
            self._check_release_records(git, path, releases)
        except ToolError as e:  # git itself failed: say so rather than crash the whole check
            self.report(path, f"cannot read the releases' history: {e}")

    def _check_release_records(
        self, git: Git, path: Path, releases: dict[str, dict[str, str]]
    ) -> None:
        packages = workspace_packages(self.root, self.graph)
        known = {DIST_PREFIX + n for n in [*self.graph.modules, *self.graph.tracks]}
        usable: dict[tuple[str, str], str] = {}
        for dist, versions in releases.items():
            if dist not in known:
                self.report(path, f"[{dist}] is neither a module's nor a track's distribution")
                continue
            for version, sha in versions.items():
                what = f"{dist} {version}"
                if not git.has_commit(sha):
                    self.report(path, f"[{dist}] {version}: {missing_commit(self.root, sha, what)}")
                    continue
                if not git.is_ancestor(sha):
                    self.report(
                        path,
                        f"[{dist}] {version}: commit {sha} is not in the history of HEAD: a "
                        "release is cut from a commit of the main line, which every clone has",
                    )
                    continue
                try:
                    package_at(self.root, source_for_release(dist, version, sha))
                except ToolError as e:
                    self.report(path, f"[{dist}] {version}: {e}")
                    continue
                usable[(dist, version)] = sha
        self._check_unchanged_since_release(git, releases, usable, packages)

    def _check_unchanged_since_release(
        self,
        git: Git,
        releases: dict[str, dict[str, str]],
        usable: dict[tuple[str, str], str],
        packages: dict[str, Path],
    ) -> None:
        by_commit: dict[str, list[tuple[str, str, Path]]] = {}
        for dist, path in packages.items():
            try:
                version = read_package(path).version
            except ToolError:
                continue  # reported where the package is checked
            released = releases.get(dist, {})
            if not released:
                continue  # never released: free to change
            if version not in released:
                latest = max(released, key=parse_version)
                if parse_version(version) < parse_version(latest):
                    self.report(
                        path / "pyproject.toml",
                        f"version {version} is below {latest}, the latest release of {dist} "
                        f"({RELEASES_FILE}): versions only go up",
                    )
                continue  # bumped since its last release: free to change until released
            sha = usable.get((dist, version))
            if sha is not None:
                by_commit.setdefault(sha, []).append((dist, version, path))
        for sha, entries in by_commit.items():
            relpaths = [f"packages/{dist}" for dist, _, _ in entries]
            changed = git.changed_since(sha, *relpaths)
            for dist, version, path in entries:
                prefix = f"packages/{dist}/"
                files = sorted(f[len(prefix) :] for f in changed if f.startswith(prefix))
                if not files:
                    continue
                shown = ", ".join(files[:5]) + (
                    f" and {len(files) - 5} more" if len(files) > 5 else ""
                )
                self.report(
                    path,
                    f"changed since its release {version} (commit {sha[:12]}) without a version "
                    f"bump ({shown}): run `python -m tools bump {dist[len(DIST_PREFIX) :]} "
                    "patch|minor|major -m "
                    "'what changed'`",
                )

    # -- requirements between packages ------------------------------------------------------

    def check_requirements_agree(self) -> None:
        """(h) Every two packages' requirements on the same sibling can be met by one version."""
        wanted: dict[str, list[tuple[Package, Requirement]]] = {}
        for path in workspace_packages(self.root, self.graph).values():
            try:
                package = read_package(path)
            except ToolError:
                continue
            own = [*package.dependencies, *(r for rs in package.optional.values() for r in rs)]
            for req in own:
                if req.is_sibling:
                    wanted.setdefault(req.name, []).append((package, req))
        for dist, pairs in sorted(wanted.items()):
            for i, (first, a) in enumerate(pairs):
                for second, b in pairs[i + 1 :]:
                    try:
                        ok = compatible(a.specifier, b.specifier)
                    except ValueError:
                        continue  # an unparsable specifier is reported with its package
                    if not ok:
                        self.report(
                            second.pyproject,
                            f"requires {b.text!r}, which no version of {dist} meets together "
                            f"with {first.name}'s {a.text!r}",
                        )


def source_for_release(dist: str, version: str, sha: str) -> VersionSource:
    """The source of a recorded release, whatever the tree holds."""
    return VersionSource(dist, version, tree=None, commit=sha)


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
        f"({', '.join(checker.present)}), {len(milestones(root))} milestones, tox.toml and "
        f"the README agree with the {len(checker.graph.modules)}-module graph"
    )
    return 0
