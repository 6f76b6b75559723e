"""``student status`` and ``student milestone``: where a student stands, and running a
milestone on the student's own modules (the reference standing in for the rest)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from tools.graph import Graph, ToolError
from tools.student.grade import (
    REPORT_SCHEMA,
    check_probe,
    environment,
    passing,
    probe,
    python_path,
    report_path,
)
from tools.student.workspace import (
    StudentError,
    package_dir,
    read_manifest,
    source_hash,
    started,
    student_python,
)
from tools.workspace import Milestone, find_milestone, milestones


def last_report(workspace: Path, module: str) -> tuple[dict[str, Any] | None, bool]:
    """The last grade kept for ``module`` and whether it is stale (the source changed since)."""
    path = report_path(workspace, module)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None, False
    if not isinstance(report, dict) or report.get("schema") != REPORT_SCHEMA:
        return None, False
    stale = report.get("source_hash") != source_hash(package_dir(workspace, module) / "src")
    return report, stale


def _module_line(workspace: Path, module: str, number: int) -> tuple[str, bool]:
    """One line of the status table, and whether the module passes on a fresh full grade."""
    if not (package_dir(workspace, module) / "src").is_dir():
        return f"  {number:02d} {module:<15} not started", False
    report, stale = last_report(workspace, module)
    if report is None:
        return f"  {number:02d} {module:<15} started, not graded yet", False
    t = report["totals"]
    state = (
        f"{t['exercises_passed']}/{t['exercises']} exercises, "
        f"{t['passed']}/{t['tests']} tests passed"
    )
    if report.get("keyword"):
        state += f" (only -k {report['keyword']!r})"
    if stale:
        state += " (stale: your source changed since; grade again)"
    return f"  {number:02d} {module:<15} {state}", passing(report) and not stale


def status(root: Path, workspace: Path) -> int:
    """Print every module's progress and the milestones the student's modules can run."""
    graph = Graph.load(root)
    read_manifest(workspace)
    print(f"workspace {workspace}")
    done: set[str] = set()
    for module in graph.modules.values():
        line, ok = _module_line(workspace, module.name, module.number)
        print(line)
        if ok:
            done.add(module.name)
    print("milestones on your own modules:")
    for milestone in milestones(root):
        needs = list(milestone.pinned_modules(graph))
        missing = [m for m in needs if m not in done]
        if not missing:
            print(
                f"  {milestone.name:<18} ready: python -m tools student milestone "
                f"{milestone.name} --dir {workspace}"
            )
        else:
            print(f"  {milestone.name:<18} needs {', '.join(missing)} passing")
    return 0


def milestone(root: Path, name: str, workspace: Path, *, quick: bool = False) -> int:
    """Run ``milestones/NAME/main.py`` on the student's started modules, the reference packages
    for the rest, with the workspace's interpreter; the script's exit status."""
    graph = Graph.load(root)
    read_manifest(workspace)
    try:
        chosen: Milestone = find_milestone(root, name)
    except ToolError as e:
        raise StudentError(str(e)) from None
    mine = started(workspace, graph)
    needs = list(chosen.pinned_modules(graph))
    own = [m for m in needs if m in mine]
    print(
        f"{chosen.name}: your {', '.join(own) or 'no modules'}"
        + (
            f"; the reference's {', '.join(m for m in needs if m not in mine)}"
            if len(own) < len(needs)
            else ""
        )
    )
    args: list[str] = []
    if quick:
        if "--quick" in chosen.main.read_text(encoding="utf-8"):
            args.append("--quick")
        else:
            print(f"{chosen.name} has no --quick; running it in full")
    python = student_python(workspace)
    env = environment(python_path(root, graph, workspace, mine))
    check_probe(probe(python, env, own), workspace, own)
    cmd = [python, chosen.main.relative_to(root).as_posix(), *args]
    print("+ " + " ".join(cmd), flush=True)
    start = time.perf_counter()
    code = subprocess.run(cmd, cwd=root, env=env, check=False).returncode
    verdict = "ok" if code == 0 else f"FAILED (exit {code})"
    print(f"{chosen.name}: {verdict} in {time.perf_counter() - start:.1f} s on your modules")
    return code
