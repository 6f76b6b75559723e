"""``milestones`` (run them in the current env) and ``run-milestone`` (one, in its own venv)."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tools.graph import DIST_PREFIX, Graph, ToolError
from tools.install import Installer, install_exact, run_command
from tools.versions import source_for
from tools.workspace import Milestone, Package, find_milestone, milestones, normalize, read_package


def _installed() -> dict[str, str]:
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = normalize(dist.metadata["Name"] or "")
        if name.startswith(DIST_PREFIX):
            found[name] = dist.version
    return found


def _run_script(python: str, milestone: Milestone, root: Path, quick: bool) -> tuple[int, float]:
    cmd = [python, milestone.main.relative_to(root).as_posix(), *(["--quick"] if quick else [])]
    print("+ " + " ".join(cmd), flush=True)
    start = time.perf_counter()
    code = subprocess.run(cmd, cwd=root, check=False).returncode
    return code, time.perf_counter() - start


def run_installed(root: Path, names: Sequence[str], track: str | None, *, quick: bool) -> int:
    """Run milestones in this environment: those named, a track's, or every one it can run.

    A milestone runs when every package it pins is installed at the pinned version. Named ones
    that cannot run are failures; the others are listed as skipped, with the reason.
    """
    graph = Graph.load(root)
    if names:
        chosen = [find_milestone(root, n) for n in names]
    elif track is not None:
        members = set(graph.track(track))
        chosen = [m for m in milestones(root) if set(m.pinned_modules(graph)) <= members]
    else:
        chosen = milestones(root)
    installed = _installed()
    results: list[tuple[str, str, float]] = []
    for milestone in chosen:
        pins = milestone.pinned_modules(graph)
        unmet = [
            f"{DIST_PREFIX}{m}=={v} (installed: {installed.get(DIST_PREFIX + m, 'no')})"
            for m, v in pins.items()
            if installed.get(DIST_PREFIX + m) != v
        ]
        if unmet:
            status = "FAILED" if names else "skipped"
            results.append((milestone.name, f"{status}: needs {', '.join(unmet)}", 0.0))
            continue
        code, seconds = _run_script(sys.executable, milestone, root, quick)
        results.append((milestone.name, "ok" if code == 0 else f"FAILED (exit {code})", seconds))
    scope = f"track {track}" if track else "this environment"
    if not results:
        print(f"no milestones to run for {scope}")
        return 0
    print(f"milestones ({scope}{', --quick' if quick else ''}):")
    for name, status, seconds in results:
        print(f"  {name:<28} {seconds:7.1f} s  {status}")
    return 1 if any(status.startswith("FAILED") for _, status, _ in results) else 0


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run_milestone(root: Path, name: str, *, quick: bool) -> int:
    """Run one milestone in ``.milestone-envs/<name>/`` holding exactly its pins; its exit status.

    Every pin is resolved to a source before anything is installed or run, so a pin the
    workspace cannot provide fails first, naming the package, the pin and what exists.
    """
    graph = Graph.load(root)
    milestone = find_milestone(root, name)
    packages: list[Package] = []
    third_party: list[str] = []
    for line, req in milestone.pins():
        if req.name == "numpy":
            third_party.append(req.text)
            continue
        version = req.pinned()
        if graph.module_of(req.name) is None or version is None:
            raise ToolError(
                f"{milestone.requirements}:{line}: {req.text!r} is not an exact pin of a module "
                "package (tinytorch-<module>==X.Y.Z)"
            )
        source = source_for(root, req.name, version)
        if source.tree is None:
            raise ToolError(f"{req.name}=={version}: no source to install it from")
        packages.append(read_package(source.tree))
    if not third_party:
        declared = [r.text for p in packages for r in p.dependencies if r.name == "numpy"]
        third_party = declared[:1] or ["numpy>=1.24"]

    venv = root / ".milestone-envs" / milestone.name
    python = _venv_python(venv)
    installer = Installer(str(python))
    if not python.exists():
        # With uv doing the installs the venv needs no pip of its own.
        run_command(
            [sys.executable, "-m", "venv", *(["--without-pip"] * installer.use_uv), str(venv)]
        )
    elif (
        not installer.use_uv
        and subprocess.run([python, "-c", "import pip"], check=False).returncode
    ):
        run_command([str(python), "-m", "ensurepip"])  # made by uv's run, now pip's turn
    run_command(installer.install_from_index(third_party))
    install_exact(str(python), root, graph, packages)
    code, seconds = _run_script(str(python), milestone, root, quick)
    print(f"{milestone.name}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {seconds:.1f} s")
    return code
