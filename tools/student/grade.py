"""``student test``: run a module's reference tests against the student's package, by exercise.

The tests run in a subprocess, ``python -m pytest``, whose ``PYTHONPATH`` puts the student's
``src/`` first and the reference packages' ``src/`` after it. ``tinytorch`` is a PEP 420
namespace, so the first ``tinytorch/<module>`` on the path is the one imported; an editable
install's ``.pth`` entry comes after ``PYTHONPATH`` on ``sys.path``, so it cannot win. That is
not taken on trust: before any test runs, a probe in the same interpreter and environment
imports the graded module(s) and the grade is refused unless each came from the workspace.

The report's schema, ``tinytorch-student-report/1``, is documented in docs/student.md.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.graph import Graph, load_toml
from tools.student.regions import Region, RegionError, package_regions, source_files
from tools.student.workspace import (
    STATE,
    StudentError,
    atomic_write,
    check_module,
    now,
    package_dir,
    read_manifest,
    source_hash,
    started,
    student_python,
)
from tools.workspace import module_packages

REPORT_SCHEMA = "tinytorch-student-report/1"
# The checkout holding these tools, whose root goes on the path for the grader's plugin.
TOOLS_HOME = Path(__file__).resolve().parents[2]

_PROBE = r"""
import importlib, json, sys, traceback
out = {"python": sys.version.split()[0], "numpy": None, "pytest": None, "modules": {}}
for dist in ("numpy", "pytest"):
    try:
        out[dist] = importlib.import_module(dist).__version__
    except ImportError:
        pass
for name in sys.argv[1:]:
    try:
        module = importlib.import_module("tinytorch." + name)
    except BaseException as e:
        where = ""
        if isinstance(e, SyntaxError):
            where = f"{e.filename}:{e.lineno}"
        elif e.__traceback__ is not None:
            last = traceback.extract_tb(e.__traceback__)[-1]
            where = f"{last.filename}:{last.lineno}"
        out["modules"][name] = {"error": f"{type(e).__name__}: {e}", "where": where}
    else:
        out["modules"][name] = {"file": getattr(module, "__file__", None)}
print(json.dumps(out))
"""


def python_path(
    root: Path, graph: Graph, workspace: Path, student_modules: Iterable[str]
) -> list[str]:
    """The import path of a graded run: the student's modules first, then the reference
    packages for every other module, then the tools' own checkout (for the grader's plugin)."""
    mine = list(student_modules)
    path = [str(package_dir(workspace, m) / "src") for m in mine]
    path += [str(p / "src") for m, p in module_packages(root, graph).items() if m not in mine]
    return [*path, str(TOOLS_HOME)]


def environment(path: Sequence[str]) -> dict[str, str]:
    """This process's environment with ``path`` as ``PYTHONPATH`` (nothing of the old one), and
    no bytecode written into the student's folders."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def probe(python: str, env: Mapping[str, str], modules: Sequence[str]) -> dict[str, Any]:
    """Import ``tinytorch.<m>`` for each of ``modules`` as the tests will; versions and files."""
    result = subprocess.run(
        [python, "-c", _PROBE, *modules], env=env, capture_output=True, text=True, check=False
    )
    try:
        data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise StudentError(
            f"{python} could not run the grader's import check: "
            f"{(result.stderr.strip().splitlines() or ['no output'])[-1]}"
        ) from None
    return data


def check_student_package(workspace: Path, module: str, reference: Path) -> None:
    """StudentError when the student's copy of ``module`` is missing a file or does not parse."""
    mine = package_dir(workspace, module)
    missing = [
        f.relative_to(reference).as_posix()
        for f in [*source_files(reference / "src"), reference / "tests"]
        if not (mine / f.relative_to(reference)).exists()
    ]
    if missing:
        raise StudentError(
            f"{module}: your package {mine} is missing {', '.join(missing)}. Every file of the "
            "module must be there for its tests to run: restore it (from your own copy, or "
            f"`python -m tools student start {module} --dir {workspace} --force` for fresh "
            "stubs, which replaces your work)."
        )
    for file in source_files(mine / "src"):
        try:
            ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        except SyntaxError as e:
            raise StudentError(
                f"{module}: {file}:{e.lineno}: {e.msg}. Your package cannot be imported until "
                "this is fixed, so no test can run; fix the line and grade again."
            ) from None
        except (OSError, UnicodeDecodeError) as e:
            raise StudentError(f"{module}: {file}: cannot read it: {e}") from None


def check_probe(data: Mapping[str, Any], workspace: Path, modules: Sequence[str]) -> None:
    if data.get("numpy") is None or data.get("pytest") is None:
        raise StudentError(
            "the interpreter grading this workspace lacks numpy or pytest "
            f"(numpy {data.get('numpy')}, pytest {data.get('pytest')}): run "
            f"`python -m tools student start --venv --dir {workspace}` once, or install them."
        )
    for name in modules:
        found = data["modules"][name]
        if "error" in found:
            raise StudentError(
                f"{name}: your package does not import: {found['error']} (at {found['where']}). "
                "No test can run until `import tinytorch."
                f"{name}` works; fix that and grade again."
            )
        file = Path(found["file"] or "").resolve()
        if not file.is_relative_to(package_dir(workspace, name).resolve()):
            raise StudentError(
                f"{name}: tinytorch.{name} was imported from {file}, not from your package in "
                f"{workspace}: something on this interpreter's path comes first. Grade with an "
                "interpreter without an installed TinyTorch in front of PYTHONPATH."
            )


def _ini(root: Path) -> str:
    """The workspace's pytest settings (root pyproject's), as a ``[pytest]`` ini file."""
    options = load_toml(root / "pyproject.toml").get("tool", {}).get("pytest", {})
    lines = ["[pytest]"]
    for key, value in options.get("ini_options", {}).items():
        if isinstance(value, list):
            lines.append(f"{key} =" + "".join(f"\n    {v}" for v in value))
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


def run_tests(
    root: Path,
    module: str,
    workspace: Path,
    *,
    keyword: str | None = None,
    own_deps: bool = False,
    shrink: bool = True,
) -> tuple[dict[str, Any], str]:
    """Grade ``module`` in ``workspace``: the report (see docs/student.md) and pytest's output.

    ``shrink=False`` has hypothesis report failing examples unshrunk: much faster on stubs.

    StudentError, before any test runs, for an unknown module, a module not started, a
    package with a missing file or a syntax error, or one that does not import from the
    workspace.
    """
    graph = Graph.load(root)
    module = check_module(graph, module)
    read_manifest(workspace)
    mine = package_dir(workspace, module)
    if not (mine / "src").is_dir():
        raise StudentError(
            f"{module} is not started in {workspace}: "
            f"`python -m tools student start {module} --dir {workspace}` first."
        )
    present = module_packages(root, graph)
    if module not in present:
        raise StudentError(f"{module}: this checkout has no reference package to grade it by")
    reference = present[module]
    check_student_package(workspace, module, reference)
    try:
        regions = [r for rs in package_regions(reference / "src", root).values() for r in rs]
    except RegionError as e:
        raise StudentError(f"the reference's regions are broken: {e}") from None
    students = started(workspace, graph) if own_deps else [module]
    for other in students:
        if other != module:
            check_student_package(workspace, other, present[other])
    env = environment(python_path(root, graph, workspace, students))
    python = student_python(workspace)
    versions = probe(python, env, students)
    check_probe(versions, workspace, students)

    with tempfile.TemporaryDirectory(prefix="tinytorch-grade-") as tmp:
        ini, plan, out = Path(tmp, "pytest.ini"), Path(tmp, "regions.json"), Path(tmp, "out.json")
        ini.write_text(_ini(root), encoding="utf-8")
        plan.write_text(json.dumps([{"id": r.id, "tests": r.tests} for r in regions]), "utf-8")
        cmd = [
            python,
            "-m",
            "pytest",
            "-c",
            str(ini),
            "--rootdir",
            str(mine),
            "-p",
            "tools.student.plugin",
            "--student-regions",
            str(plan),
            "--student-out",
            str(out),
            "--continue-on-collection-errors",
            "--tb=short",
            *([] if shrink else ["--student-no-shrink"]),
            *(["-k", keyword] if keyword else []),
            str(mine / "tests"),
        ]
        result = subprocess.run(
            cmd, cwd=workspace, env=env, capture_output=True, text=True, check=False
        )
        output = result.stdout + result.stderr
        if not out.is_file():
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise StudentError(f"{module}: pytest stopped before any test ran:\n{tail}")
        outcomes = json.loads(out.read_text(encoding="utf-8"))
    report = build_report(
        module=module,
        workspace=workspace,
        regions=regions,
        outcomes=outcomes,
        versions=versions,
        source=source_hash(mine / "src"),
        keyword=keyword,
        own_deps=own_deps,
        reference_commit=read_manifest(workspace)["modules"]
        .get(module, {})
        .get("reference_commit"),
    )
    return report, output


def build_report(
    *,
    module: str,
    workspace: Path,
    regions: Sequence[Region],
    outcomes: Mapping[str, Any],
    versions: Mapping[str, Any],
    source: str,
    keyword: str | None,
    own_deps: bool,
    reference_commit: str | None,
) -> dict[str, Any]:
    """The ``tinytorch-student-report/1`` object from the plugin's outcomes."""
    tests: Mapping[str, Mapping[str, Any]] = outcomes["tests"]
    exercises = []
    for region in regions:
        ran = [t for t in outcomes["selected"].get(region.id, []) if t in tests]
        counts = {k: sum(tests[t]["outcome"] == k for t in ran) for k in _OUTCOMES}
        failing = [t for t in ran if _failed(tests[t])]
        # A test can fail on another exercise's stub first; this exercise's own hint is the
        # more useful first failure to show, when one of its tests reached it.
        own = f"exercise {region.id}:"
        failing.sort(key=lambda t: own not in (tests[t]["message"] or ""))
        failure = {"test": failing[0], "message": tests[failing[0]]["message"]} if failing else None
        if region.id in outcomes["bad_expressions"]:
            failure = {"test": None, "message": outcomes["bad_expressions"][region.id]}
        exercises.append(
            {
                "id": region.id,
                "hint": region.hint,
                "tests": region.tests,
                "where": region.where(),
                "tests_selected": len(ran),
                **counts,
                "first_failure": failure,
            }
        )
    totals = {k: sum(t["outcome"] == k for t in tests.values()) for k in _OUTCOMES}
    return {
        "schema": REPORT_SCHEMA,
        "module": module,
        "exercises": exercises,
        "totals": {
            "exercises": len(exercises),
            "exercises_passed": sum(_done(e) for e in exercises),
            "tests": len(tests),
            **totals,
            "collection_errors": len(outcomes["collection_errors"]),
        },
        "collection_errors": outcomes["collection_errors"],
        "keyword": keyword,
        "own_deps": own_deps,
        "python": versions.get("python"),
        "numpy": versions.get("numpy"),
        "timestamp": now(),
        "workspace": str(workspace),
        "reference_commit": reference_commit,
        "source_hash": source,
    }


_OUTCOMES = ("passed", "failed", "skipped")


def _failed(test: Mapping[str, Any]) -> bool:
    return bool(test["outcome"] == "failed")


def _done(exercise: Mapping[str, Any]) -> bool:
    return bool(
        exercise["failed"] == 0 and exercise["passed"] > 0 and not exercise["first_failure"]
    )


def passing(report: Mapping[str, Any]) -> bool:
    """Whether a report is a full run (no ``-k``) with every test passing and none erroring."""
    t = report["totals"]
    return bool(
        report.get("keyword") is None
        and t["failed"] == 0
        and t["passed"] > 0
        and t["collection_errors"] == 0
    )


def summary(report: Mapping[str, Any]) -> str:
    """The report in plain words: one line per exercise, its first failure under it."""
    t = report["totals"]
    lines = [
        f"{report['module']}: {t['exercises_passed']} of {t['exercises']} exercises pass; "
        f"{t['passed']} of {t['tests']} tests passed, {t['failed']} failed"
        + (f", {t['skipped']} skipped" if t["skipped"] else "")
        + (f" (only -k {report['keyword']!r})" if report["keyword"] else "")
    ]
    width = max((len(e["id"]) for e in report["exercises"]), default=0)
    shown = [e for e in report["exercises"] if e["tests_selected"] or not report["keyword"]]
    for e in shown:
        mark = "ok  " if _done(e) else ("--  " if e["tests_selected"] == 0 else "FAIL")
        count = f"{e['passed']}/{e['tests_selected']}"
        skipped = f" ({e['skipped']} skipped)" if e["skipped"] else ""
        lines.append(f"  {mark} {e['id']:<{width}} {count:>7}{skipped}")
        if e["first_failure"]:
            f = e["first_failure"]
            lines.append(f"         first failure: {f['test'] or e['tests']}")
            message = f["message"] or ""
            lines.append(f"           {message[:240]}{'...' if len(message) > 240 else ''}")
    if t["tests"] == 0:
        lines.append("  no test ran" + (": -k selects none" if report["keyword"] else ""))
    for error in report["collection_errors"]:
        lines.append(f"  ERROR collecting {error['where']}: {error['message']}")
    return "\n".join(lines)


def report_path(workspace: Path, module: str) -> Path:
    """Where the last grade of ``module`` is kept in the workspace."""
    return workspace / STATE / f"{module}.json"


def grade(
    root: Path,
    module: str,
    workspace: Path,
    *,
    keyword: str | None = None,
    json_out: Path | None = None,
    own_deps: bool = False,
    show_output: bool = False,
) -> int:
    """``student test``: 0 when every test ran passed, 1 when some failed (2 is for refusals,
    raised as StudentError)."""
    report, output = run_tests(root, module, workspace, keyword=keyword, own_deps=own_deps)
    text = json.dumps(report, indent=2) + "\n"
    atomic_write(report_path(workspace, report["module"]), text)
    if json_out is not None:
        atomic_write(json_out, text)
    if show_output:
        print(output.rstrip())
    print(summary(report))
    if json_out is not None:
        print(f"report: {json_out}")
    t = report["totals"]
    return 0 if t["failed"] == 0 and t["collection_errors"] == 0 and t["passed"] > 0 else 1
