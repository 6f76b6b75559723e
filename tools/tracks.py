"""``wheelhouse`` and ``install-track``: the workspace's wheels, and a track installed from them.

A track is installed through its meta package (``tinytorch-vision``, ``tinytorch-language``,
``tinytorch-full``), which carries no code, only its track's packages as dependencies. The public
index is never asked for a TinyTorch name (``tinytorch`` itself is another project's there, and
anyone could upload a ``tinytorch-tensor 0.1.99`` that a resolver would prefer):

1. every wheel of the track comes from the wheelhouse, installed by file with ``--no-index
   --no-deps``: no index is consulted, so nothing can be swapped in;
2. only then are the third-party requirements (numpy) installed from the index, by name and
   with ``--no-deps``: the resolver is never given a TinyTorch requirement to look up, not
   even one that the index's own numpy declares;
3. the environment is proved: every installed TinyTorch package's requirements met by what is
   installed, each module importing from site-packages, the other modules absent, ``pip check``
   (which fails on a numpy requiring a ``tinytorch-*`` that the track does not provide).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tools.graph import DIST_PREFIX, Graph, ToolError
from tools.install import (
    Installer,
    check_requirements,
    installed_tinytorch,
    prove,
    run_command,
    venv_python,
    wheels,
)
from tools.workspace import Package, read_package, sibling_closure, workspace_packages


def build_wheelhouse(root: Path, dest: Path, installer: Installer) -> dict[str, Path]:
    """Wheels of every workspace package (modules and meta packages) in ``dest``, by name.

    Wheels are built once per content of their sources (``.tox/.wheels``) and copied; the
    TinyTorch wheels already in ``dest`` are replaced, so it never offers a stale one.
    """
    graph = Graph.load(root)
    packages = [read_package(p) for p in workspace_packages(root, graph).values()]
    if not packages:
        raise ToolError(f"{root / 'packages'}: no packages to build")
    built = wheels(root, packages, installer)
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("tinytorch_*.whl"):
        old.unlink()
    out: dict[str, Path] = {}
    for package, wheel in zip(packages, built, strict=True):
        out[package.name] = Path(shutil.copy2(wheel, dest / wheel.name))
    return out


def wheelhouse(root: Path, dest: Path) -> int:
    """``python -m tools wheelhouse DIR``: build every package's wheel into ``DIR``."""
    built = build_wheelhouse(root, dest, Installer(sys.executable))
    print(f"wheelhouse {dest}: {len(built)} wheels")
    for wheel in built.values():
        print(f"  {wheel.name}")
    return 0


def track_packages(root: Path, graph: Graph, track: str) -> list[Package]:
    """The meta package of ``track`` and every sibling it declares, transitively (modules first).

    Read from the packages' own pyprojects: the install proves what they declare.
    """
    graph.track(track)  # an unknown track fails here, naming the tracks
    present = workspace_packages(root, graph)
    meta = DIST_PREFIX + track
    if meta not in present:
        raise ToolError(
            f"packages/{meta}: no meta package for track {track!r}: add one (no code, the "
            "track's module packages as its dependencies)"
        )

    def find(package: Package, dist: str) -> Package:
        if dist not in present:
            raise ToolError(
                f"{package.pyproject.relative_to(root)} declares {dist}, which has no package "
                "in packages/: add it, or drop it from those dependencies"
            )
        return read_package(present[dist])

    found = sibling_closure([read_package(present[meta])], find)
    order = list(present)
    return sorted(found.values(), key=lambda p: order.index(p.name))


def _third_party(packages: list[Package]) -> list[str]:
    """The non-TinyTorch requirements of ``packages``, one per name, specifiers combined."""
    specs: dict[str, list[str]] = {}
    for package in packages:
        for req in package.dependencies:
            if not req.is_sibling and not req.marker:
                specs.setdefault(req.name, [])
                if req.specifier and str(req.specifier) not in specs[req.name]:
                    specs[req.name].append(str(req.specifier))
    return [name + ",".join(s) for name, s in sorted(specs.items())]


def install_track(
    root: Path,
    track: str,
    *,
    python: str | None,
    venv: Path | None,
    wheelhouse_dir: Path | None = None,
    index_url: str | None = None,
) -> int:
    """``python -m tools install-track TRACK (--python PY | --venv DIR)``; see the module doc.

    The environment ends up holding exactly the track's TinyTorch packages: any other
    TinyTorch distribution in it is uninstalled first.
    """
    graph = Graph.load(root)
    members = track_packages(root, graph, track)
    if venv is not None:
        target = venv_python(venv)
        if not target.exists():
            run_command([sys.executable, "-m", "venv", str(venv)])
        python = str(target)
    if python is None:
        raise ToolError("give the environment: --python PATH_TO_PYTHON or --venv DIR")
    installer = Installer(python)
    installer.require()
    dest = wheelhouse_dir or root / "dist" / "wheelhouse"
    built = build_wheelhouse(root, dest, installer)
    print(f"wheelhouse {dest}: {len(built)} wheels; track {track}: {len(members)} of them")

    names = [p.name for p in members]
    stray = sorted(installed_tinytorch(python, graph).keys() - set(names))
    if stray:
        print(f"removing TinyTorch packages outside the track: {', '.join(stray)}")
        run_command(installer.uninstall(stray))
    print("1/3 the track's wheels, by file, from the wheelhouse (no index consulted):")
    files = [built[name] for name in names]
    run_command(installer.install(files, reinstall=names, no_index=True))
    third_party = _third_party(members)
    if third_party:
        print(
            f"2/3 third-party requirements from the index, without their dependencies: "
            f"{' '.join(third_party)}"
        )
        run_command(installer.install_from_index(third_party, index_url))
    print("3/3 proving the environment:")
    prove(python, root, graph, members)
    check_requirements(installer)
    print(f"track {track} installed into the environment of {python}")
    return 0
