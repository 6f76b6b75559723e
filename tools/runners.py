"""``test``, ``typecheck`` and ``bench``: run pytest, mypy and benchmark scripts over packages."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tools.benchmark import thread_environment
from tools.graph import DIST_PREFIX, Graph, ToolError
from tools.workspace import milestones, module_package, module_packages


def _echo(cmd: Sequence[str]) -> None:
    print("+ " + " ".join(cmd), flush=True)


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a dotted name whose parent is missing (no tinytorch at all)
        return False


def test(
    root: Path, names: Sequence[str], pytest_args: Sequence[str], require: Sequence[str]
) -> int:
    """Run the packages' tests/ and the doctests of their *installed* modules; pytest's status.

    Each module in ``require`` (``torch`` in the oracle env) must be importable here, and the
    run fails if any test skips for a reason naming it, or none imports it (``tools.require``):
    an env that exists to run the PyTorch oracles cannot pass with them all skipped.

    Doctests are collected with ``--pyargs tinytorch.<module>``, so they run from wherever the
    environment has the module (site-packages in tox, the source tree in an editable dev venv),
    and ``consider_namespace_packages`` makes pytest import each file under its real dotted name,
    not a second time under a name of its own (which would register gradient rules twice).
    """
    guard: list[str] = []
    for required in require:
        if not _importable(required):
            raise ToolError(
                f"{required} is required here (--require {required}), but it cannot be imported "
                f"in {sys.prefix}"
            )
        guard += ["--require-module", required]
    if guard:
        # The plugin is imported by name: pytest runs from the root, where `tools` is.
        guard = ["-p", "tools.require", *guard]
    graph = Graph.load(root)
    modules: list[str] = []
    paths: list[str] = []
    ignored: list[str] = []
    for name in names:
        package = module_package(root, graph, name)
        module = package.name[len(DIST_PREFIX) :]
        if not _importable(f"tinytorch.{module}"):
            raise ToolError(
                f"tinytorch.{module} is not installed in {sys.prefix}: "
                f"run `python -m tools install --with-deps {module}` first"
            )
        modules.append(f"tinytorch.{module}")
        ignored += _modules_of_absent_extras(graph, module)
        if (package.path / "tests").is_dir():
            paths.append((package.path / "tests").relative_to(root).as_posix())
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-o",
        "consider_namespace_packages=true",
        "--doctest-modules",
        *(f"--ignore={path}" for path in ignored),
        *guard,
        "--pyargs",
        *modules,
        *paths,
        *pytest_args,
    ]
    _echo(cmd)
    return subprocess.run(cmd, cwd=root, check=False).returncode


def _modules_of_absent_extras(graph: Graph, module: str) -> list[str]:
    """The installed files of ``tinytorch.<module>`` that import, at module level, a module of
    one of its extras that is not installed here (``tinytorch.quantization.vision`` needs the
    vision extra's tinytorch-convolutions). They cannot be imported in this env, so their
    doctests are left to the envs that have the extra; everything else is collected."""
    extras = set(graph.extra_modules(module))
    absent = {m for m in extras if not _importable(f"tinytorch.{m}")}
    spec = importlib.util.find_spec(f"tinytorch.{module}")
    if not absent or spec is None or not spec.submodule_search_locations:
        return []
    skipped = []
    for folder in spec.submodule_search_locations:
        for path in sorted(Path(folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if _top_level_imports(tree) & absent:
                skipped.append(str(path))
    return skipped


def _top_level_imports(tree: ast.Module) -> set[str]:
    """The ``tinytorch.X`` modules a file imports when it is imported: at module level or in a
    module-level ``try`` (whose handler may re-raise), not inside functions or classes.

    >>> lines = ["try:", "    from tinytorch.convolutions import Conv2d", "except ImportError:",
    ...          "    raise", "def later():", "    import tinytorch.transformers"]
    >>> _top_level_imports(ast.parse(chr(10).join(lines)))
    {'convolutions'}
    """
    names: list[str] = []
    statements: list[ast.stmt] = list(tree.body)
    while statements:
        node = statements.pop()
        if isinstance(node, ast.Try):
            statements += node.body
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    parts = (name.split(".") for name in names)
    return {p[1] for p in parts if p[0] == "tinytorch" and len(p) > 1}


def typecheck(root: Path) -> int:
    """mypy strict over every package's src, tools/ and each milestone's scripts."""
    graph = Graph.load(root)
    present = module_packages(root, graph)
    env = dict(os.environ, MYPYPATH=os.pathsep.join(str(p / "src") for p in present.values()))
    mypy = [sys.executable, "-m", "mypy"]
    runs = [[*mypy, *(a for m in present for a in ("-p", f"tinytorch.{m}")), "-p", "tools"]]
    # Milestone scripts are not a package (a folder such as 1957_perceptron is no identifier):
    # check each on its own, as a file.
    runs += [[*mypy, str(m.main.relative_to(root))] for m in milestones(root) if m.main.is_file()]
    status = 0
    for cmd in runs:
        _echo(cmd)
        status |= subprocess.run(cmd, cwd=root, env=env, check=False).returncode
    return status


def bench(
    root: Path, names: Sequence[str], *, quick: bool = False, threads: int | None = None
) -> int:
    """Run ``packages/tinytorch-NAME/benchmarks/bench_*.py`` (every package's when no name).

    Each script runs from the root with the root on ``PYTHONPATH``, so that it can import the
    shared harness, ``tools.benchmark``. ``quick`` and ``threads`` become the harness's
    ``--quick`` and ``--threads N`` options of every script; with ``threads`` the BLAS thread
    variables are set here too, so that NumPy starts with them (see ``tools/benchmark.py``).
    """
    graph = Graph.load(root)
    if names:
        dirs = [module_package(root, graph, n).path for n in names]
    else:
        dirs = list(module_packages(root, graph).values())
    scripts = [s for d in dirs for s in sorted((d / "benchmarks").glob("bench_*.py"))]
    if not scripts:
        print("no benchmark scripts (packages/tinytorch-*/benchmarks/bench_*.py)")
        return 0
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    options = ["--quick"] if quick else []
    if threads is not None:
        options += ["--threads", str(threads)]
        if threads > 0:
            env.update(thread_environment(threads))
    failed = []
    for script in scripts:
        shown = script.relative_to(root).as_posix()
        cmd = [sys.executable, shown, *options]
        print(f"== {' '.join([shown, *options])}", flush=True)
        start = time.perf_counter()
        code = subprocess.run(cmd, cwd=root, env=env, check=False).returncode
        print(
            f"== {shown}: {'ok' if code == 0 else f'FAILED ({code})'} "
            f"in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
        if code:
            failed.append(shown)
    if failed:
        raise ToolError(f"benchmarks failed: {', '.join(failed)}")
    return 0
