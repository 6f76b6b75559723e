"""``install`` and ``dev-install``: put workspace packages into an environment from packages/.

No TinyTorch distribution is ever resolved from a package index: each is installed with
``--no-deps`` from a wheel built from its folder (cached by a hash of its sources), and which
siblings come along is decided here, from the packages' own declarations. After installing, a
probe in a fresh isolated interpreter proves the environment: every installed TinyTorch
distribution's sibling requirements are met by what is installed, every installed module imports
from outside the source tree, and every other module is absent.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.graph import DIST_PREFIX, Graph, ToolError
from tools.workspace import (
    Package,
    Requirement,
    module_package,
    module_packages,
    normalize,
    satisfies,
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


@dataclass(frozen=True)
class Installer:
    """Builds install commands for a target interpreter: uv when importable here, else pip."""

    python: str
    use_uv: bool = field(default_factory=lambda: importlib.util.find_spec("uv") is not None)

    def _base(self, action: str) -> list[str]:
        if self.use_uv:
            return [sys.executable, "-m", "uv", "pip", action, "--python", self.python]
        return [self.python, "-m", "pip", action, *(["-y"] if action == "uninstall" else [])]

    def install(
        self, paths: Sequence[Path], *, editable: bool = False, reinstall: Iterable[str] = ()
    ) -> list[str]:
        """Install local wheels or package folders with ``--no-deps``, replacing ``reinstall``."""
        cmd = [*self._base("install"), "--no-deps"]
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
                sys.executable,
                "-m",
                "uv",
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
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(out_dir),
            str(path),
        ]

    def install_from_index(self, requirements: Sequence[str]) -> list[str]:
        """Install third-party requirements (numpy) from the index, with their dependencies."""
        return [*self._base("install"), *requirements]

    def uninstall(self, names: Sequence[str]) -> list[str]:
        """Remove distributions by name."""
        return [*self._base("uninstall"), *names]


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


def wheels(root: Path, packages: Sequence[Package], installer: Installer) -> list[Path]:
    """A wheel per package, built once per content of its sources and kept in ``.tox/.wheels``.

    Every tox env installs the same few packages; keyed by a hash of the sources, each wheel is
    built once per change instead of once per env, and a stale one is never installed.
    """
    cache = root / ".tox" / ".wheels"
    cache.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for package in packages:
        slot = cache / f"{package.name}-{package.version}-{source_digest(package.path)}"
        if not any(slot.glob("*.whl")):
            for old in cache.glob(f"{package.name}-[0-9]*"):
                shutil.rmtree(old, ignore_errors=True)
            building = Path(tempfile.mkdtemp(prefix=".build-", dir=cache))
            try:
                run_command(installer.build_wheel(package.path, building), cwd=root)
                with contextlib.suppress(OSError):  # a parallel env built the same one first
                    building.rename(slot)
            finally:
                shutil.rmtree(building, ignore_errors=True)
        found = sorted(slot.glob("*.whl"))
        if len(found) != 1:
            raise ToolError(f"{slot}: expected one wheel of {package.name}, found {len(found)}")
        out.append(found[0])
    return out


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
    found: dict[str, Package] = {}
    stack = [module_package(root, graph, n) for n in names]
    while stack:
        package = stack.pop()
        if package.name in found:
            continue
        found[package.name] = package
        for name in package.sibling_dependencies():
            try:
                stack.append(module_package(root, graph, name))
            except ToolError as e:
                raise ToolError(
                    f"{package.pyproject.relative_to(root)} declares {name}, which cannot be "
                    f"installed from this workspace: {e}"
                ) from e
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
            problems.append(
                f"{name} {info['version']} is installed, the tree has {package.version}"
            )
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
            elif not satisfies(have["version"], req.specifier):
                problems.append(f"{name} requires {text}, but {have['version']} is installed")
            else:
                print(f"  {name}: {text} met by {have['version']}")
    return problems


def install_exact(python: str, root: Path, graph: Graph, packages: Sequence[Package]) -> None:
    """Make ``python``'s environment hold exactly ``packages`` of the workspace, then prove it."""
    installer = Installer(python)
    stray = sorted(installed_tinytorch(python, graph).keys() - {p.name for p in packages})
    if stray:
        run_command(installer.uninstall(stray))
    built = wheels(root, packages, installer)
    run_command(installer.install(built, reinstall=[p.name for p in packages]), cwd=root)
    problems = verify(python, root, graph, packages)
    if problems:
        raise ToolError("the environment is not what was asked for:\n  " + "\n  ".join(problems))


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
