"""``install`` and ``dev-install``: put workspace packages into an environment from packages/.

No TinyTorch distribution is ever resolved from a package index: each is installed with
``--no-deps`` from a wheel built from its folder (cached by a hash of its sources), and which
siblings come along is decided here, from the packages' own declarations. After installing, a
probe in a fresh isolated interpreter proves the environment: every installed TinyTorch
distribution's sibling requirements are met by what is installed, every installed module imports
from outside the source tree, and every other module is absent.

Kept instead of a uv workspace: ``uv sync --package X`` gives X its siblings from the workspace
but proves nothing of the result (no other module shown absent, no import shown to come from
site-packages), and cannot install the older release that a milestone pins. It would also need
``[tool.uv.sources]`` naming each sibling in every pyproject, a second copy of the dependency
lists that the check holds to the graph, while ``uv build --all-packages`` rebuilds every wheel
that the source-hash cache here builds once.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.graph import DIST_PREFIX, Graph, ToolError, load_toml
from tools.versions import VersionSource, export_source
from tools.workspace import (
    Package,
    Requirement,
    module_package,
    module_packages,
    normalize,
    sibling_closure,
)

# Runs in the target interpreter with -I (no cwd, no PYTHON* variables): what is installed there,
# and what each module's import does.
_PROBE = r"""
import importlib, importlib.metadata as md, json, re, sys
modules = json.loads(sys.argv[1])
dists = {}
for dist in md.distributions():
    name = re.sub(r"[-_.]+", "-", dist.metadata["Name"] or "").lower()
    if name.startswith("tinytorch-"):
        dists[name] = {"version": dist.version, "requires": dist.requires or []}
imports = {}
for module in modules:
    try:
        imported = importlib.import_module("tinytorch." + module)
    except ModuleNotFoundError as e:
        absent = e.name == "tinytorch." + module
        imports[module] = {"absent": absent, "error": f"{type(e).__name__}: {e}"}
    except Exception as e:
        imports[module] = {"absent": False, "error": f"{type(e).__name__}: {e}"}
    else:
        imports[module] = {"absent": False, "file": getattr(imported, "__file__", None)}
namespace = sys.modules.get("tinytorch")
print(json.dumps({
    "dists": dists,
    "imports": imports,
    "namespace_file": getattr(namespace, "__file__", None) if namespace else None,
}))
"""


def uv_command() -> list[str] | None:
    """How to run uv from here: the ``uv`` package of this interpreter, or ``uv`` on PATH."""
    if importlib.util.find_spec("uv") is not None:
        return [sys.executable, "-m", "uv"]
    found = shutil.which("uv")
    return [found] if found else None


@dataclass(frozen=True)
class Installer:
    """Builds install commands for a target interpreter: uv when available here, else its pip."""

    python: str
    use_uv: bool = field(default_factory=lambda: uv_command() is not None)

    def uv_prefix(self) -> list[str]:
        """How uv is run: :func:`uv_command`, or ``python -m uv`` when none is found here."""
        return uv_command() or [sys.executable, "-m", "uv"]

    def _base(self, action: str) -> list[str]:
        if self.use_uv:
            return [*self.uv_prefix(), "pip", action, "--python", self.python]
        return [self.python, "-m", "pip", action, *(["-y"] if action == "uninstall" else [])]

    def require(self) -> None:
        """ToolError unless uv is available here, or the target interpreter has pip."""
        if self.use_uv:
            return
        found = subprocess.run(
            [self.python, "-c", "import pip"], capture_output=True, check=False
        ).returncode
        if found != 0:
            raise ToolError(
                f"neither uv (here) nor pip (in {self.python}) is available to build and "
                "install packages: `python -m pip install uv`, or give an interpreter with pip"
            )

    def install(
        self,
        paths: Sequence[Path],
        *,
        editable: bool = False,
        reinstall: Iterable[str] = (),
        no_index: bool = False,
    ) -> list[str]:
        """Install local wheels or package folders with ``--no-deps``, replacing ``reinstall``.

        With ``no_index`` no package index is consulted at all: only the files named are used.
        """
        cmd = [*self._base("install"), "--no-deps", *(["--no-index"] if no_index else [])]
        if self.use_uv:
            for name in reinstall:
                cmd += ["--reinstall-package", name]
        elif reinstall:
            cmd.append("--force-reinstall")
        for path in paths:
            cmd += ["-e", str(path)] if editable else [str(path)]
        return cmd

    def build_wheel(self, path: Path, out_dir: Path) -> list[str]:
        """Build the wheel of the package folder ``path`` into ``out_dir``."""
        if self.use_uv:
            return [
                *self.uv_prefix(),
                "build",
                "--quiet",
                "--wheel",
                "--python",
                self.python,
                "--out-dir",
                str(out_dir),
                str(path),
            ]
        return [
            self.python,
            "-m",
            "pip",
            "wheel",
            "--disable-pip-version-check",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(out_dir),
            str(path),
        ]

    def install_from_index(
        self, requirements: Sequence[str], index_url: str | None = None
    ) -> list[str]:
        """Install third-party requirements (numpy) from the index, without their dependencies.

        Only the requirements named are resolved from the index, with ``--no-deps``: an index's
        numpy that itself required ``tinytorch-tensor>=99`` would otherwise have the resolver
        fetch that name from the same index. numpy needs nothing else, and it is the only
        third-party requirement a package may have (``python -m tools check``); what a
        requirement asks for that is not there shows in :meth:`check`, which callers run after.
        Callers never pass a TinyTorch distribution here.
        """
        if any(normalize(r).startswith(DIST_PREFIX) for r in requirements):
            raise ToolError(
                f"refusing to resolve a TinyTorch package from an index: {requirements}"
            )
        index = ["--index-url", index_url] if index_url else []
        return [*self._base("install"), "--no-deps", *index, *requirements]

    def check(self) -> list[str]:
        """Verify that installed packages have compatible dependencies (``pip check``)."""
        return [*self._base("check")]

    def uninstall(self, names: Sequence[str]) -> list[str]:
        """Remove distributions by name."""
        return [*self._base("uninstall"), *names]


def venv_python(venv: Path) -> Path:
    """The interpreter of the virtual environment ``venv`` (which need not exist yet)."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run_command(cmd: Sequence[str], cwd: Path | None = None) -> None:
    """Run ``cmd``, echoing it; ToolError when it fails."""
    print("+ " + " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=cwd, check=False)
    if result.returncode != 0:
        raise ToolError(f"command failed with exit status {result.returncode}: {' '.join(cmd)}")


def source_digest(path: Path) -> str:
    """A hash of what goes into a package's wheel: its top-level files and ``src/``."""
    digest = hashlib.sha256()
    files = [f for f in path.iterdir() if f.is_file()]
    files += [
        f
        for f in (path / "src").rglob("*")
        if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc"
    ]
    for file in sorted(files):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def wheel_cache(root: Path) -> Path:
    """Where built wheels are kept between runs (git ignores ``.tox/``)."""
    return root / ".tox" / ".wheels"


def _built(slot: Path, name: str) -> Path:
    found = sorted(slot.glob("*.whl"))
    if len(found) != 1:
        raise ToolError(f"{slot}: expected one wheel of {name}, found {len(found)}")
    return found[0]


def _build_requires(folder: Path) -> list[str]:
    requires = load_toml(folder / "pyproject.toml").get("build-system", {}).get("requires", [])
    return [str(r) for r in requires] if isinstance(requires, list) else []


def pip_builder(folders: Sequence[Path]) -> str | None:
    """An interpreter holding the build requirements of ``folders``, for pip without uv.

    pip builds each package in an isolated environment of its own, installing hatchling into
    it every time: seconds a package. One environment with the build requirements installed
    once builds them all with ``--no-build-isolation``, to the same wheels. It is kept in the
    ``.tox/`` of this checkout of the tools (whichever workspace it builds for), keyed by those
    requirements. None when it cannot be made; then every build is isolated.
    """
    requires = sorted({r for folder in folders for r in _build_requires(folder)})
    key = hashlib.sha256("\n".join(requires).encode()).hexdigest()[:12]
    venv = Path(__file__).resolve().parent.parent / ".tox" / ".builders" / key
    python = venv_python(venv)
    if (venv / "ready").is_file():
        return str(python)
    venv.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(venv, ignore_errors=True)
    try:
        run_command([sys.executable, "-m", "venv", str(venv)])
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        run_command([*pip, *requires])
    except ToolError as e:
        print(f"(no shared build environment, each build will be isolated: {e})", flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        return None
    (venv / "ready").write_text("\n".join(requires) + "\n", encoding="utf-8")
    return str(python)


def build_wheels(root: Path, installer: Installer, folders: Sequence[Path], out: Path) -> None:
    """Build the wheel of each package folder into ``out``: uv, else pip (one shared builder)."""
    out.mkdir(parents=True, exist_ok=True)
    builder = None if installer.use_uv or not folders else pip_builder(folders)
    if builder is None:
        for folder in folders:
            run_command(installer.build_wheel(folder, out), cwd=root)
        return
    cmd = [builder, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps"]
    cmd += ["--no-build-isolation", "--wheel-dir", str(out), *map(str, folders)]
    run_command(cmd, cwd=root)


def _take(out: Path, name: str, version: str, slot: Path) -> None:
    """Move the wheel of ``name==version`` from ``out`` into the new folder ``slot``."""
    prefix = f"{name.replace('-', '_')}-{version}-"
    found = [w for w in out.glob("*.whl") if w.name.startswith(prefix)]
    if len(found) != 1:
        raise ToolError(f"building {name} {version} gave {len(found)} wheels named {prefix}*")
    staged = out / f".{name}"
    staged.mkdir()
    found[0].rename(staged / found[0].name)
    with contextlib.suppress(OSError):  # a parallel env built the same one first
        staged.rename(slot)


def wheels(root: Path, packages: Sequence[Package], installer: Installer) -> list[Path]:
    """A wheel per package, built once per content of its sources and kept in ``.tox/.wheels``.

    Every tox env installs the same few packages; keyed by a hash of the sources, each wheel is
    built once per change instead of once per env, and a stale one is never installed.
    """
    cache = wheel_cache(root)
    cache.mkdir(parents=True, exist_ok=True)
    slots = {p.name: cache / f"{p.name}-{p.version}-{source_digest(p.path)}" for p in packages}
    missing = [p for p in packages if not any(slots[p.name].glob("*.whl"))]
    if missing:
        for package in missing:
            for old in cache.glob(f"{package.name}-[0-9]*"):
                shutil.rmtree(old, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix=".build-", dir=cache))
        try:
            build_wheels(root, installer, [p.path for p in missing], building)
            for package in missing:
                _take(building, package.name, package.version, slots[package.name])
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return [_built(slots[p.name], p.name) for p in packages]


def release_wheel(root: Path, source: VersionSource, installer: Installer) -> Path:
    """The wheel of a recorded release, built from a clean export of its commit.

    The package folder is written out of git's objects for that commit (``git archive``) into a
    temporary folder and built there: nothing of the working tree can reach the wheel. A
    release commit never changes, so the wheel is kept (``.tox/.wheels/releases``) and reused.
    """
    assert source.commit is not None
    cache = wheel_cache(root) / "releases"
    cache.mkdir(parents=True, exist_ok=True)
    slot = cache / f"{source.dist}-{source.version}-{source.commit[:12]}"
    if not any(slot.glob("*.whl")):
        building = Path(tempfile.mkdtemp(prefix=".export-", dir=cache))
        try:
            folder = export_source(root, source, building / "export")
            print(
                f"building {source.dist} {source.version} from commit {source.commit[:12]} "
                f"(a clean export, not the working tree)",
                flush=True,
            )
            build_wheels(root, installer, [folder], building / "out")
            _take(building / "out", source.dist, source.version, slot)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return _built(slot, source.dist)


def probe(python: str, graph: Graph, *, imports: bool = True) -> dict[str, Any]:
    """Ask ``python`` (isolated) which TinyTorch it has installed and what each import does."""
    modules = list(graph.modules) if imports else []
    result = subprocess.run(
        [python, "-I", "-c", _PROBE, json.dumps(modules)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ToolError(f"probing {python} failed:\n{result.stderr}")
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def installed_tinytorch(python: str, graph: Graph) -> dict[str, str]:
    """TinyTorch distribution name -> version installed in ``python``'s environment."""
    dists = probe(python, graph, imports=False)["dists"]
    return {name: info["version"] for name, info in dists.items()}


def declared_closure(root: Path, graph: Graph, names: Iterable[str]) -> list[Package]:
    """The packages ``names`` plus every sibling they declare, transitively, from their pyprojects.

    The graph is deliberately not consulted: an env built this way proves the declarations.
    """

    def find(package: Package, name: str) -> Package:
        try:
            return module_package(root, graph, name)
        except ToolError as e:
            raise ToolError(
                f"{package.pyproject.relative_to(root)} declares {name}, which cannot be "
                f"installed from this workspace: {e}"
            ) from e

    found = sibling_closure((module_package(root, graph, n) for n in names), find)
    return [found[DIST_PREFIX + m] for m in graph.ordered(graph.module_of(n) or n for n in found)]


def verify(python: str, root: Path, graph: Graph, expected: Sequence[Package]) -> list[str]:
    """Prove the environment of ``python`` holds exactly ``expected``; the problems found."""
    data = probe(python, graph)
    dists: dict[str, dict[str, Any]] = data["dists"]
    imports: dict[str, dict[str, Any]] = data["imports"]
    problems: list[str] = []
    wanted = {p.name: p for p in expected}
    for name in sorted(dists.keys() - wanted.keys()):
        problems.append(f"{name} {dists[name]['version']} is installed but was not asked for")
    print("installed:")
    for name, package in wanted.items():
        info = dists.get(name)
        module = name[len(DIST_PREFIX) :]
        if info is None:
            problems.append(f"{name} is not installed")
            continue
        if info["version"] != package.version:
            problems.append(f"{name} {info['version']} is installed, not {package.version}")
        if module not in imports:  # a track's meta package: nothing to import
            print(f"  {name} {info['version']}: the {module} track's meta package (no code)")
            continue
        where = imports[module].get("file")
        if where is None:
            problems.append(f"import tinytorch.{module} fails: {imports[module].get('error')}")
        elif Path(where).resolve().is_relative_to(root.resolve() / "packages"):
            problems.append(
                f"tinytorch.{module} imports from the source tree ({where}), not the install"
            )
        print(f"  {name} {info['version']}: tinytorch.{module} from {where or 'nowhere (fails)'}")
    problems += _unmet_requirements(dists)
    if data["namespace_file"] is not None:
        problems.append(f"tinytorch is masked by a regular package at {data['namespace_file']}")
    absent = [m for m in graph.modules if DIST_PREFIX + m not in wanted]
    for module in absent:
        if not imports[module]["absent"]:
            problems.append(
                f"tinytorch.{module} should be absent, but importing it gave "
                f"{imports[module].get('file') or imports[module].get('error')}"
            )
    print(f"proven absent (import fails in {python} -I): {', '.join(absent) or 'none'}")
    return problems


def check_requirements(installer: Installer) -> None:
    """``pip check`` (or uv's) over the environment; ToolError saying what it means if it fails.

    Third-party packages are installed with ``--no-deps``, so a requirement of theirs that
    names a TinyTorch distribution is never fetched: it shows here, unmet, instead.
    """
    try:
        run_command(installer.check())
    except ToolError as e:
        raise ToolError(
            f"{e}\n  the environment's requirements are not all met (see the check above); a "
            "third-party package from the index, installed without its dependencies, may "
            "require something no wheel of this workspace provides (a tinytorch-* name is never "
            "fetched from an index)"
        ) from e


def prove(python: str, root: Path, graph: Graph, expected: Sequence[Package]) -> None:
    """:func:`verify`, raising ToolError with every problem found."""
    problems = verify(python, root, graph, expected)
    if problems:
        raise ToolError(
            f"the environment of {python} is not what was asked for:\n  " + "\n  ".join(problems)
        )


def _unmet_requirements(dists: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for name, info in sorted(dists.items()):
        for text in info["requires"]:
            if not normalize(text).startswith(DIST_PREFIX):
                continue
            try:
                req = Requirement.parse(text)
            except ValueError as e:
                problems.append(f"{name}: {e}")
                continue
            if req.marker:  # an extra's requirement: the extra was not asked for
                continue
            have = dists.get(req.name)
            if have is None:
                problems.append(f"{name} requires {text}, which is not installed")
            elif not req.admits(have["version"]):
                problems.append(f"{name} requires {text}, but {have['version']} is installed")
            else:
                print(f"  {name}: {text} met by {have['version']}")
    return problems


def install_exact(
    python: str,
    root: Path,
    graph: Graph,
    packages: Sequence[Package],
    built: Sequence[Path] | None = None,
) -> None:
    """Make ``python``'s environment hold exactly ``packages`` of the workspace, then prove it.

    ``built`` are their wheels when the caller has them (a release's, say); by default each is
    built from the package's folder. Installed with ``--no-deps --no-index``: from these files
    only, never from an index.
    """
    installer = Installer(python)
    stray = sorted(installed_tinytorch(python, graph).keys() - {p.name for p in packages})
    if stray:
        run_command(installer.uninstall(stray))
    if built is None:
        built = wheels(root, packages, installer)
    install = installer.install(built, reinstall=[p.name for p in packages], no_index=True)
    run_command(install, cwd=root)
    prove(python, root, graph, packages)


def install(root: Path, names: Sequence[str], *, with_deps: bool) -> int:
    """``python -m tools install [--with-deps] NAME...`` into the current interpreter."""
    graph = Graph.load(root)
    if with_deps:
        packages = declared_closure(root, graph, names)
    else:
        packages = [module_package(root, graph, n) for n in names]
    print(f"installing {', '.join(p.name for p in packages)} into {sys.prefix} (--no-deps)")
    install_exact(sys.executable, root, graph, packages)
    return 0


def dev_install(root: Path) -> int:
    """``python -m tools dev-install``: every module package editable, plus numpy."""
    graph = Graph.load(root)
    paths = list(module_packages(root, graph).values())
    installer = Installer(sys.executable)
    run_command(installer.install_from_index(["numpy>=1.24"]))
    run_command(installer.install(paths, editable=True), cwd=root)
    print(f"editable: {', '.join(p.name for p in paths)}")
    return 0
