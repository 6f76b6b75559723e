"""``milestones`` (in the current env, or at their pins where it differs) and ``run-milestone``."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.graph import DIST_PREFIX, Graph, ToolError
from tools.install import (
    Installer,
    check_requirements,
    install_exact,
    release_wheel,
    run_command,
    venv_python,
    wheels,
)
from tools.versions import VersionSource, package_at, source_for
from tools.workspace import (
    Milestone,
    Package,
    find_milestone,
    milestones,
    normalize,
    read_package,
    track_milestones,
)


def _installed() -> dict[str, str]:
    """Each TinyTorch distribution here and the version of the code it runs.

    An editable install's metadata keeps the version it was installed at, while its code is
    whatever its folder holds now: after a bump it would pass for the old version. Its version
    is read from that folder's pyproject instead.
    """
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = normalize(dist.metadata["Name"] or "")
        if name.startswith(DIST_PREFIX):
            found[name] = _editable_version(dist) or dist.version
    return found


def _editable_version(dist: importlib.metadata.Distribution) -> str | None:
    try:
        origin = json.loads(dist.read_text("direct_url.json") or "{}")
    except json.JSONDecodeError:
        return None
    if not isinstance(origin, dict) or not (origin.get("dir_info") or {}).get("editable"):
        return None
    url = str(origin.get("url", ""))
    if not url.startswith("file://"):
        return None
    try:
        return read_package(Path(urllib.request.url2pathname(url[len("file://") :]))).version
    except ToolError:
        return None


def _run_script(python: str, milestone: Milestone, root: Path, quick: bool) -> tuple[int, float]:
    cmd = [python, milestone.main.relative_to(root).as_posix(), *(["--quick"] if quick else [])]
    print("+ " + " ".join(cmd), flush=True)
    start = time.perf_counter()
    code = subprocess.run(cmd, cwd=root, check=False).returncode
    return code, time.perf_counter() - start


def run_installed(
    root: Path,
    names: Sequence[str],
    track: str | None,
    *,
    quick: bool,
    index_url: str | None = None,
    installed: Mapping[str, str] | None = None,
) -> int:
    """Run milestones: those named, a track's, or every one; nonzero unless each one passed.

    A milestone whose pins are all installed here at the pinned versions runs in this
    environment. One whose pins are not is run at its pins instead, exactly as ``run-milestone``
    runs it (its own venv under ``.milestone-envs/``): skipping it would leave a check that
    cannot fail. A milestone that cannot be run either way fails, and so does a run of none.
    ``installed`` maps distribution names to versions (default: what this environment holds).
    """
    graph = Graph.load(root)
    if names:
        chosen = [find_milestone(root, n) for n in names]
    elif track is not None:
        chosen = track_milestones(root, graph, track)
    else:
        chosen = milestones(root)
    here = _installed() if installed is None else installed
    results: list[tuple[str, str, float]] = []
    for milestone in chosen:
        pins = milestone.pinned_modules(graph)
        unmet = [
            f"{DIST_PREFIX}{m}=={v} (installed: {here.get(DIST_PREFIX + m, 'no')})"
            for m, v in pins.items()
            if here.get(DIST_PREFIX + m) != v
        ]
        if not unmet:
            code, seconds = _run_script(sys.executable, milestone, root, quick)
            results.append((milestone.name, f"{_status(code)}, in this environment", seconds))
            continue
        print(
            f"{milestone.name}: pins {', '.join(unmet)}; running it at its pins instead",
            flush=True,
        )
        status, seconds = _run_at_pins(root, milestone, quick=quick, index_url=index_url)
        where = f".milestone-envs/{milestone.name}/"
        results.append((milestone.name, f"{status}, at its pins in {where}", seconds))
    scope = f"track {track}" if track else "this environment"
    if not results:
        print(f"FAILED: no milestones to run for {scope}")
        return 1
    print(f"milestones ({scope}{', --quick' if quick else ''}):")
    for name, status, seconds in results:
        print(f"  {name:<28} {seconds:7.1f} s  {status}")
    return 1 if any(status.startswith("FAILED") for _, status, _ in results) else 0


def _status(code: int) -> str:
    return "ok" if code == 0 else f"FAILED (exit {code})"


def _run_at_pins(
    root: Path, milestone: Milestone, *, quick: bool, index_url: str | None
) -> tuple[str, float]:
    """:func:`run_milestone`, its failures to resolve, build or install reported, not raised."""
    start = time.perf_counter()
    try:
        status = _status(run_milestone(root, milestone.name, quick=quick, index_url=index_url))
    except ToolError as e:
        print(f"error: {e}", file=sys.stderr)
        status = f"FAILED: {str(e).splitlines()[0]}"
    return status, time.perf_counter() - start


@dataclass(frozen=True)
class Plan:
    """What a milestone's pins resolve to: each package's source and declaration, and numpy."""

    sources: list[VersionSource]
    packages: list[Package]
    third_party: list[str]


def plan(root: Path, graph: Graph, milestone: Milestone) -> Plan:
    """Resolve every pin of ``milestone`` to a source, and prove the pins can be met together.

    Nothing is built, installed or run here: a pin with no source (naming the package, the
    pinned version and the versions that exist), a release commit this clone lacks, or two pins
    that one of the pinned packages does not accept together fail first.
    """
    sources: list[VersionSource] = []
    packages: list[Package] = []
    third_party: list[str] = []
    where = milestone.requirements.relative_to(root).as_posix()
    for line, req in milestone.pins():
        if req.name == "numpy":
            third_party.append(req.text)
            continue
        version = req.pinned()
        if graph.module_of(req.name) is None or version is None:
            raise ToolError(
                f"{where}:{line}: {req.text!r} is not an exact pin of a module "
                "package (tinytorch-<module>==X.Y.Z)"
            )
        try:
            source = source_for(root, req.name, version)
            packages.append(package_at(root, source))
        except ToolError as e:
            raise ToolError(f"{where}:{line}: {e}") from e
        sources.append(source)
    pinned = {p.name: p.version for p in packages}
    unmet = [
        f"{p.name}=={p.version} requires {req.text!r}, but {name}=={pinned[name]} is pinned"
        for p in packages
        for name, req in p.sibling_dependencies().items()
        if name in pinned and not req.admits(pinned[name])
    ]
    if unmet:
        raise ToolError(f"{where}: the pins cannot be met together:\n  " + "\n  ".join(unmet))
    if not third_party:
        declared = [r.text for p in packages for r in p.dependencies if r.name == "numpy"]
        third_party = declared[:1] or ["numpy>=1.24"]
    return Plan(sources, packages, third_party)


def run_milestone(root: Path, name: str, *, quick: bool, index_url: str | None = None) -> int:
    """Run one milestone in ``.milestone-envs/<name>/`` holding exactly its pins; its exit status.

    A pinned version that is the tree's is built from the working tree; an older one from the
    commit its release was recorded at (a clean export, never the working tree). Every pin is
    resolved before anything is installed or run: see :func:`plan`. numpy comes from the
    index (``index_url``, or pip's or uv's default); no TinyTorch package ever does.
    """
    graph = Graph.load(root)
    milestone = find_milestone(root, name)
    resolved = plan(root, graph, milestone)
    print(f"{milestone.name}: pins")
    for source in resolved.sources:
        print(f"  {source.dist}=={source.version} from {source.describe()}")

    venv = root / ".milestone-envs" / milestone.name
    python = venv_python(venv)
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
    tree = [p for p, s in zip(resolved.packages, resolved.sources, strict=True) if s.commit is None]
    tree_wheels = iter(wheels(root, tree, installer))
    built = [
        next(tree_wheels) if s.commit is None else release_wheel(root, s, installer)
        for s in resolved.sources
    ]
    run_command(installer.install_from_index(resolved.third_party, index_url))
    install_exact(str(python), root, graph, resolved.packages, built)
    check_requirements(installer)
    code, seconds = _run_script(str(python), milestone, root, quick)
    print(f"{milestone.name}: {_status(code)} in {seconds:.1f} s")
    return code


def run_milestones(
    root: Path, names: Sequence[str], *, quick: bool, index_url: str | None = None
) -> int:
    """``run-milestone NAME...`` (every milestone when none is named): each in its own env.

    A milestone whose pins cannot be met is reported and the others still run.
    """
    chosen = [find_milestone(root, n) for n in names] if names else milestones(root)
    if len(chosen) == 1:
        return run_milestone(root, chosen[0].name, quick=quick, index_url=index_url)
    results: list[tuple[str, str, float]] = []
    for milestone in chosen:
        status, seconds = _run_at_pins(root, milestone, quick=quick, index_url=index_url)
        results.append((milestone.name, status, seconds))
    print(f"milestones, each in its own env at its pins{' (--quick)' if quick else ''}:")
    for name, status, seconds in results:
        print(f"  {name:<28} {seconds:7.1f} s  {status}")
    return 1 if any(status != "ok" for _, status, _ in results) else 0
