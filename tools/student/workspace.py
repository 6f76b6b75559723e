"""``student start``: write a student's workspace, every solution region stubbed.

A workspace ``DIR`` holds ``DIR/packages/tinytorch-<module>/`` (pyproject.toml, README.md, the
stubbed ``src/`` and the module's ``tests/``) for each module started, the manifest
``DIR/tinytorch-student.json``, the last grade of each module under ``DIR/.tinytorch-student/``,
and, when asked for, the interpreter ``DIR/.venv`` that the grader then uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tools.git import Git
from tools.graph import DIST_PREFIX, Graph, ToolError
from tools.install import uv_command, venv_python
from tools.student.regions import package_regions, stub
from tools.workspace import module_packages

MANIFEST = "tinytorch-student.json"
MANIFEST_SCHEMA = "tinytorch-student-workspace/1"
STATE = ".tinytorch-student"
# What a package folder holds that a student's copy must not: caches and build outputs.
SKIPPED = {"__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache", "build"}
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".egg-info", ".dist-info")
# The files of a module package that a student gets; benchmarks and the CHANGELOG stay behind.
COPIED = ("pyproject.toml", "README.md", "src", "tests")
VENV_REQUIREMENTS = ("numpy>=1.24", "pytest>=8", "hypothesis>=6.100")


class StudentError(ToolError):
    """A student command refused: the message is the whole explanation (exit status 2)."""


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a report from an instructor's account
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def package_dir(workspace: Path, module: str) -> Path:
    """Where the student's copy of ``module`` lives in ``workspace``."""
    return workspace / "packages" / (DIST_PREFIX + module)


def read_manifest(workspace: Path) -> dict[str, Any]:
    """The workspace's manifest; StudentError when ``workspace`` is not one."""
    path = workspace / MANIFEST
    if not path.is_file():
        raise StudentError(
            f"{workspace} is not a student workspace (it has no {MANIFEST}). Start one with "
            f"`python -m tools student start tensor --dir {workspace}`."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise StudentError(f"{path}: cannot read the workspace manifest: {e}") from None
    if not isinstance(data, dict) or data.get("schema") != MANIFEST_SCHEMA:
        raise StudentError(f"{path}: not a {MANIFEST_SCHEMA} manifest")
    return data


def started(workspace: Path, graph: Graph) -> list[str]:
    """The modules started in ``workspace`` (their package folder is there), in graph order."""
    return [m for m in graph.modules if (package_dir(workspace, m) / "src").is_dir()]


def check_module(graph: Graph, name: str) -> str:
    """``name`` (``tensor`` or ``tinytorch-tensor``) as a module of the graph, or StudentError."""
    module = name[len(DIST_PREFIX) :] if name.startswith(DIST_PREFIX) else name
    if module not in graph:
        raise StudentError(
            f"{name!r} is not a module of TinyTorch; the modules are: {', '.join(graph.modules)}"
        )
    return module


def source_hash(src: Path) -> str:
    """A hash of a package's ``src/`` tree (paths and contents), to tell a stale grade."""
    digest = hashlib.sha256()
    for file in sorted(p for p in src.rglob("*") if p.is_file() and not _skipped(p, src)):
        digest.update(file.relative_to(src).as_posix().encode() + b"\0")
        digest.update(file.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


def _skipped(path: Path, base: Path) -> bool:
    parts = path.relative_to(base).parts
    return any(p in SKIPPED or p.endswith(SKIPPED_SUFFIXES) for p in parts)


def _copy_tree(src: Path, dst: Path) -> None:
    shutil.copytree(
        src,
        dst,
        ignore=lambda _d, names: [n for n in names if n in SKIPPED or n.endswith(SKIPPED_SUFFIXES)],
    )


def generate(root: Path, module: str, reference: Path, out: Path) -> int:
    """Write the student's copy of the package at ``reference`` into ``out`` (which must not
    exist); the number of regions stubbed."""
    regions = package_regions(reference / "src", root)
    out.mkdir(parents=True)
    for name in COPIED:
        item = reference / name
        if item.is_dir():
            _copy_tree(item, out / name)
        elif item.is_file():
            shutil.copy2(item, out / name)
    for file, found in regions.items():
        target = out / file.relative_to(reference)
        target.write_text(stub(file.read_text(encoding="utf-8"), found, module), "utf-8")
    return sum(len(r) for r in regions.values())


def _reference_commit(root: Path) -> str | None:
    try:
        return Git(root).head()
    except ToolError:
        return None


def start(
    root: Path,
    names: Sequence[str],
    workspace: Path,
    *,
    force: bool = False,
    venv: bool = False,
) -> int:
    """Start ``names`` in ``workspace``: every module is written, or none is.

    Each module is generated into a temporary folder inside the workspace first; only when all
    of them are complete are they renamed into ``packages/``. A module already started is
    refused unless ``force`` (its old copy, the student's work, is then replaced).
    """
    graph = Graph.load(root)
    modules = graph.ordered(check_module(graph, n) for n in names)
    present = module_packages(root, graph)
    if missing := [m for m in modules if m not in present]:
        raise StudentError(
            f"module(s) {', '.join(missing)} have no package in {root / 'packages'} yet: "
            "there is nothing to start"
        )
    already = [m for m in modules if package_dir(workspace, m).exists()]
    if already and not force:
        raise StudentError(
            f"{', '.join(already)} already started in {workspace}: your work there is kept. "
            "Pass --force to replace it with fresh stubs (that deletes your solution)."
        )
    manifest = read_manifest(workspace) if (workspace / MANIFEST).exists() else None
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "packages").mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=workspace, prefix=".starting-"))
    try:
        counts = {m: generate(root, m, present[m], staging / m) for m in modules}
        for m in modules:
            target = package_dir(workspace, m)
            if target.exists():
                shutil.move(str(target), str(staging / f"{m}.old"))
            os.replace(staging / m, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    commit = _reference_commit(root)
    record = manifest or {
        "schema": MANIFEST_SCHEMA,
        "created": now(),
        "reference": str(root),
        "reference_commit": commit,
        "modules": {},
    }
    for m in modules:
        record["modules"][m] = {"started": now(), "reference_commit": commit, "regions": counts[m]}
    record["modules"] = {m: record["modules"][m] for m in graph.ordered(record["modules"])}
    atomic_write(workspace / MANIFEST, json.dumps(record, indent=2) + "\n")
    for m in modules:
        shown = package_dir(workspace, m).relative_to(workspace)
        print(f"started {m}: {shown}/ ({counts[m]} exercises)")
    if venv:
        make_venv(workspace)
    first = modules[0]
    print(f"next: python -m tools student test {first} --dir {workspace}")
    return 0


def make_venv(workspace: Path) -> Path:
    """Create ``workspace/.venv`` with numpy, pytest and hypothesis (uv when available, else
    pip); the grader runs in it from then on. Returns its interpreter."""
    venv = workspace / ".venv"
    python = venv_python(venv)
    uv = uv_command()
    if uv:
        steps = [
            [*uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
            [*uv, "pip", "install", "--quiet", "--python", str(python), *VENV_REQUIREMENTS],
        ]
    else:
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "--quiet", *VENV_REQUIREMENTS],
        ]
    fresh = not python.exists()
    for cmd in steps if fresh else steps[1:]:
        print("+ " + " ".join(cmd), flush=True)
        if subprocess.run(cmd, check=False).returncode != 0:
            if fresh:
                # A venv without pytest would be picked by the grader and fail there instead.
                shutil.rmtree(venv, ignore_errors=True)
            raise StudentError(
                f"could not prepare {venv} (the command above failed). The workspace itself is "
                "complete; the grader uses the interpreter you run it with until .venv works."
            )
    return python


def student_python(workspace: Path) -> str:
    """The interpreter a workspace is graded with: its ``.venv`` when there is one, else this."""
    python = venv_python(workspace / ".venv")
    return str(python) if python.exists() else sys.executable
