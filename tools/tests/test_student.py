"""Student mode: the region parser, ``student start``, the grader, status and milestones.

The unit tests run on the fake workspace of ``tools.tests.fake`` with a two-exercise module
written here; the done-when test at the end runs every module of the real graph (it needs
numpy, pytest and hypothesis in this interpreter, as the packages' own tests do).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools.__main__ import main
from tools.graph import Graph
from tools.student.grade import REPORT_SCHEMA, environment, python_path, run_tests
from tools.student.leaks import scan, solution_lines
from tools.student.regions import RegionError, package_regions, parse, stub
from tools.student.workspace import MANIFEST, StudentError, package_dir, start
from tools.tests.fake import make_workspace, write
from tools.workspace import module_packages

ROOT = Path(__file__).resolve().parents[2]

FAKE_TENSOR = '''"""A fake module 01 with two exercises."""


def double(x: int) -> int:
    """Twice ``x``."""
    # BEGIN SOLUTION double
    # HINT: add x to itself
    # TESTS: double
    return x + x
    # END SOLUTION


def triple(x: int) -> int:
    """Three times ``x``."""
    # BEGIN SOLUTION triple
    # HINT: three of x,
    # HINT: as a product
    # TESTS: triple or together
    return 3 * x
    # END SOLUTION
'''

FAKE_TESTS = """from tinytorch.tensor import double, triple


def test_double():
    assert double(2) == 4


def test_triple():
    assert triple(2) == 6


def test_together():
    assert triple(double(1)) == 6


def test_given():
    assert 1 + 1 == 2
"""

DEMO = """import sys

import tinytorch.tensor
from tinytorch.tensor import double

print("tensor from", tinytorch.tensor.__file__)
sys.exit(0 if double(21) == 42 else 1)
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The fake workspace, its tensor module made into two exercises, its demo milestone on it."""
    base = make_workspace(tmp_path / "ref")
    package = base / "packages" / "tinytorch-tensor"
    write(package / "src" / "tinytorch" / "tensor" / "__init__.py", FAKE_TENSOR)
    write(package / "tests" / "test_tensor.py", FAKE_TESTS)
    write(package / "src" / "tinytorch" / "tensor" / "__pycache__" / "junk.pyc", "x")
    write(package / "README.md", "# fake tensor\n")
    layers = base / "packages" / "tinytorch-layers" / "src" / "tinytorch" / "layers"
    write(layers / "__init__.py", "from tinytorch.tensor import double\n")
    write(base / "milestones" / "1957_demo" / "main.py", DEMO)
    write(base / "milestones" / "1957_demo" / "requirements.txt", "tinytorch-tensor==0.1.0\n")
    return base


def _cli(root: Path, *args: str) -> int:
    return main(["--root", str(root), "student", *args])


def _solve(root: Path, workspace: Path, module: str = "tensor") -> None:
    """Put the reference solution back into the student's copy (what a student would write)."""
    reference = root / "packages" / f"tinytorch-{module}" / "src"
    shutil.copytree(reference, package_dir(workspace, module) / "src", dirs_exist_ok=True)


# ---- the region parser ---------------------------------------------------------------------


def test_regions_are_read_with_their_hints_tests_and_code() -> None:
    first, second = parse(FAKE_TENSOR, "t.py")
    assert (first.id, first.hint, first.tests, first.begin, first.end) == (
        "double",
        "add x to itself",
        "double",
        6,
        10,
    )
    assert second.hint == "three of x, as a product"
    assert second.code == ("    return 3 * x",)
    stubbed = stub(FAKE_TENSOR, [first, second], "tensor")
    assert "return x + x" not in stubbed
    assert "return 3 * x" not in stubbed
    assert stubbed.count("raise NotImplementedError(") == 2
    assert "python -m tools student test tensor -k 'triple or together'" in stubbed
    compile(stubbed, "t.py", "exec")  # the stub is valid Python


def test_student_lines_replace_the_region() -> None:
    text = (
        "def f(x):\n    # BEGIN SOLUTION f\n    # HINT: h\n    # TESTS: f\n"
        "    # STUDENT: return _textbook(x)\n    return _fast(x)\n    # END SOLUTION\n"
    )
    [region] = parse(text, "t.py")
    out = stub(text, [region], "m")
    assert "    return _textbook(x)\n" in out
    assert "_fast" not in out
    assert "NotImplementedError" not in out


def _region(body: str, *, indent: str = "    ", head: str = "def f(x):\n") -> str:
    return head + "".join(f"{indent}{line}\n" if line else "\n" for line in body.splitlines())


BAD = {
    "no id": (_region("# BEGIN SOLUTION\n# HINT: h\n# TESTS: t\nreturn 1\n# END SOLUTION"), 2),
    "bad id": (_region("# BEGIN SOLUTION Bad_Id\n# HINT: h\n# TESTS: t\nx\n# END SOLUTION"), 2),
    "no hint": (_region("# BEGIN SOLUTION a\n# TESTS: t\nreturn 1\n# END SOLUTION"), 3),
    "no tests": (_region("# BEGIN SOLUTION a\n# HINT: h\nreturn 1\n# END SOLUTION"), 2),
    "two tests": (
        _region("# BEGIN SOLUTION a\n# HINT: h\n# TESTS: t\n# TESTS: u\nreturn 1\n# END SOLUTION"),
        5,
    ),
    "hint after tests": (
        _region("# BEGIN SOLUTION a\n# HINT: h\n# TESTS: t\n# HINT: i\nreturn 1\n# END SOLUTION"),
        5,
    ),
    "no end": (_region("# BEGIN SOLUTION a\n# HINT: h\n# TESTS: t\nreturn 1"), 2),
    "end without begin": (_region("return 1\n# END SOLUTION"), 3),
    "nested": (
        _region(
            "# BEGIN SOLUTION a\n# HINT: h\n# TESTS: t\n# BEGIN SOLUTION b\n# HINT: h\n"
            "# TESTS: t\nreturn 1\n# END SOLUTION\n# END SOLUTION"
        ),
        5,
    ),
    "end indented differently": (
        _region("# BEGIN SOLUTION a\n# HINT: h\n# TESTS: t\nreturn 1\n  # END SOLUTION"),
        6,
    ),
    "code less indented": (
        "def f(x):\n    if x:\n        # BEGIN SOLUTION a\n        # HINT: h\n        # TESTS: t\n"
        "        y = 1\n    return 2\n        # END SOLUTION\n",
        7,
    ),
    "no code": (_region("# BEGIN SOLUTION a\n# HINT: h\n# TESTS: t\n# END SOLUTION"), 2),
    "module level": (
        "# BEGIN SOLUTION a\n# HINT: h\n# TESTS: t\nX = 1\n# END SOLUTION\n",
        1,
    ),
    "class level": (
        _region(
            "# BEGIN SOLUTION a\n# HINT: h\n# TESTS: t\ndef m(self):\n    return 1\n# END SOLUTION",
            head="class C:\n",
        ),
        2,
    ),
    "statement cut": (
        _region(
            "y = [\n    # BEGIN SOLUTION a\n    # HINT: h\n    # TESTS: t\n    1,\n"
            "    # END SOLUTION\n]"
        ),
        3,
    ),
    "duplicate id": (
        _region(
            "# BEGIN SOLUTION a\n# HINT: h\n# TESTS: t\nx = 1\n# END SOLUTION\n"
            "# BEGIN SOLUTION a\n# HINT: h\n# TESTS: t\nreturn x\n# END SOLUTION"
        ),
        7,
    ),
    "directive after code": (
        _region("# BEGIN SOLUTION a\n# HINT: h\n# TESTS: t\nx = 1\n# HINT: late\n# END SOLUTION"),
        6,
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_broken_marker_is_refused_naming_file_and_line(case: str) -> None:
    text, line = BAD[case]
    with pytest.raises(RegionError, match=rf"^ops\.py:{line}: "):
        parse(text, "ops.py")


def test_an_id_used_in_two_files_of_a_module_is_refused(tmp_path: Path) -> None:
    region = _region("# BEGIN SOLUTION same\n# HINT: h\n# TESTS: t\nreturn 1\n# END SOLUTION")
    write(tmp_path / "src" / "a.py", region)
    write(tmp_path / "src" / "b.py", region)
    with pytest.raises(RegionError, match=r"b\.py:2: region id 'same' is already used at .*a\.py"):
        package_regions(tmp_path / "src", tmp_path)


# ---- start ---------------------------------------------------------------------------------


def test_start_writes_the_stubbed_package_its_tests_and_the_manifest(
    root: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    assert _cli(root, "start", "tensor", "--dir", str(ws)) == 0
    package = package_dir(ws, "tensor")
    source = (package / "src" / "tinytorch" / "tensor" / "__init__.py").read_text()
    assert "EXERCISE double" in source
    assert "return x + x" not in source
    assert (package / "tests" / "test_tensor.py").read_text() == FAKE_TESTS
    assert (package / "README.md").is_file()
    assert (package / "pyproject.toml").is_file()
    assert not list(ws.rglob("__pycache__"))
    assert not [p for p in ws.iterdir() if p.name.startswith(".starting-")]
    manifest = json.loads((ws / MANIFEST).read_text())
    assert manifest["schema"] == "tinytorch-student-workspace/1"
    assert list(manifest["modules"]) == ["tensor"]
    assert manifest["modules"]["tensor"]["regions"] == 2
    assert isinstance(manifest["created"], str)


def test_start_refuses_an_unknown_module_listing_the_valid_ones(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    assert _cli(root, "start", "tensr", "--dir", str(ws)) == 2
    err = capsys.readouterr().err
    assert "'tensr' is not a module" in err
    assert "tensor, layers, conv, attn, prof" in err
    assert not ws.exists()


def test_start_refuses_a_module_already_started_unless_forced(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    assert _cli(root, "start", "tensor", "--dir", str(ws)) == 0
    mine = package_dir(ws, "tensor") / "src" / "tinytorch" / "tensor" / "__init__.py"
    mine.write_text("my work\n")
    assert _cli(root, "start", "tensor", "layers", "--dir", str(ws)) == 2
    assert "tensor already started" in capsys.readouterr().err
    assert mine.read_text() == "my work\n"
    assert not package_dir(ws, "layers").exists()  # nothing of the refused call was written
    assert _cli(root, "start", "tensor", "--dir", str(ws), "--force") == 0
    assert "EXERCISE double" in mine.read_text()


def test_start_writes_every_module_or_none(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools.student import workspace

    real = workspace.generate

    def failing(root_: Path, module: str, reference: Path, out: Path) -> int:
        if module == "layers":
            real(root_, module, reference, out)  # half of it written, then a failure
            raise OSError("disk full")
        return real(root_, module, reference, out)

    monkeypatch.setattr(workspace, "generate", failing)
    ws = tmp_path / "ws"
    with pytest.raises(OSError, match="disk full"):
        start(root, ["tensor", "layers"], ws)
    assert not package_dir(ws, "tensor").exists()
    assert not package_dir(ws, "layers").exists()
    assert not (ws / MANIFEST).exists()
    assert [p.name for p in ws.iterdir()] == ["packages"]  # the staging folder is gone too


def test_start_refuses_a_broken_region_in_the_reference(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init = root / "packages" / "tinytorch-tensor" / "src" / "tinytorch" / "tensor" / "__init__.py"
    init.write_text(FAKE_TENSOR.replace("    # TESTS: double\n", ""))
    assert _cli(root, "start", "tensor", "--dir", str(tmp_path / "ws")) == 2
    assert "__init__.py:6: region 'double' has no '# TESTS:" in capsys.readouterr().err


# ---- the grader ----------------------------------------------------------------------------


def _report_types(report: dict[str, Any]) -> None:
    """The documented schema (docs/student.md): every key, with its type."""
    top: dict[str, type | tuple[type, ...]] = {
        "schema": str,
        "module": str,
        "exercises": list,
        "totals": dict,
        "collection_errors": list,
        "keyword": (str, type(None)),
        "own_deps": bool,
        "python": str,
        "numpy": str,
        "timestamp": str,
        "workspace": str,
        "reference_commit": (str, type(None)),
        "source_hash": str,
    }
    assert set(report) == set(top)
    for key, kind in top.items():
        assert isinstance(report[key], kind), key
    assert report["schema"] == REPORT_SCHEMA
    exercise: dict[str, type | tuple[type, ...]] = {
        "id": str,
        "hint": str,
        "tests": str,
        "where": str,
        "tests_selected": int,
        "passed": int,
        "failed": int,
        "skipped": int,
        "first_failure": (dict, type(None)),
    }
    for e in report["exercises"]:
        assert set(e) == set(exercise)
        for key, kind in exercise.items():
            assert isinstance(e[key], kind), key
        if e["first_failure"] is not None:
            assert set(e["first_failure"]) == {"test", "message"}
    totals = {"exercises", "exercises_passed", "tests", "passed", "failed", "skipped"}
    assert set(report["totals"]) == totals | {"collection_errors"}
    assert all(isinstance(v, int) for v in report["totals"].values())


def test_the_grader_reports_each_exercise_and_writes_the_json_report(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    start(root, ["tensor"], ws)
    capsys.readouterr()
    out = tmp_path / "report.json"
    assert _cli(root, "test", "tensor", "--dir", str(ws), "--json", str(out)) == 1
    printed = capsys.readouterr().out
    assert "tensor: 0 of 2 exercises pass; 1 of 4 tests passed, 3 failed" in printed
    assert "NotImplementedError: tensor exercise double: add x to itself" in printed
    report = json.loads(out.read_text())
    _report_types(report)
    double, triple = report["exercises"]
    assert (double["id"], double["tests_selected"], double["failed"]) == ("double", 1, 1)
    assert triple["tests_selected"] == 2  # "triple or together", pytest's own -k matching
    assert double["first_failure"]["test"] == "tests/test_tensor.py::test_double"
    assert double["first_failure"]["message"].startswith("NotImplementedError: tensor exercise")
    assert report["workspace"] == str(ws.resolve())

    # Half of it solved: one exercise passes, and -k narrows the run.
    init = package_dir(ws, "tensor") / "src" / "tinytorch" / "tensor" / "__init__.py"
    init.write_text(stub(FAKE_TENSOR, parse(FAKE_TENSOR, "t.py")[1:], "tensor"))
    report, _ = run_tests(root, "tensor", ws)
    assert [e["failed"] for e in report["exercises"]] == [0, 2]
    assert report["totals"]["exercises_passed"] == 1
    report, _ = run_tests(root, "tensor", ws, keyword="double")
    assert report["totals"]["tests"] == 1
    assert report["exercises"][1]["tests_selected"] == 0

    _solve(root, ws)
    assert _cli(root, "test", "tensor", "--dir", str(ws)) == 0
    assert "tensor: 2 of 2 exercises pass; 4 of 4 tests passed, 0 failed" in capsys.readouterr().out


def _refused(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert _cli(root, *args) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return captured.err


def test_the_grader_refuses_clearly_what_it_cannot_grade(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    err = _refused(root, capsys, "test", "tensor", "--dir", str(ws))
    assert "is not a student workspace" in err
    start(root, ["tensor"], ws)
    err = _refused(root, capsys, "test", "tensr", "--dir", str(ws))
    assert "'tensr' is not a module of TinyTorch; the modules are: tensor, layers" in err
    err = _refused(root, capsys, "test", "layers", "--dir", str(ws))
    assert "layers is not started" in err

    init = package_dir(ws, "tensor") / "src" / "tinytorch" / "tensor" / "__init__.py"
    init.write_text("def double(x):\n    return x +\n")
    err = _refused(root, capsys, "test", "tensor", "--dir", str(ws))
    assert f"{init}:2: invalid syntax" in err

    init.write_text("import tinytorch.nothing_here\n")
    err = _refused(root, capsys, "test", "tensor", "--dir", str(ws))
    assert "your package does not import: ModuleNotFoundError" in err

    init.unlink()
    err = _refused(root, capsys, "test", "tensor", "--dir", str(ws))
    assert "is missing src/tinytorch/tensor/__init__.py" in err


def test_own_deps_grades_a_module_on_the_students_earlier_ones(root: Path, tmp_path: Path) -> None:
    write(
        root / "packages" / "tinytorch-layers" / "tests" / "test_layers.py",
        "from tinytorch.layers import double\n\n\ndef test_uses_tensor():\n"
        "    assert double(1) == 2\n",
    )
    ws = tmp_path / "ws"
    start(root, ["tensor", "layers"], ws)
    report, _ = run_tests(root, "layers", ws)  # the reference tensor stands in
    assert (report["totals"]["passed"], report["own_deps"]) == (1, False)
    report, _ = run_tests(root, "layers", ws, own_deps=True)  # the student's stubbed tensor
    assert (report["totals"]["failed"], report["own_deps"]) == (1, True)
    _solve(root, ws)
    report, _ = run_tests(root, "layers", ws, own_deps=True)
    assert report["totals"]["passed"] == 1


def test_the_student_package_wins_over_an_installed_one(root: Path, tmp_path: Path) -> None:
    """PYTHONPATH comes before the .pth files of editable installs (the dev venv has the real
    tinytorch-tensor installed so): the probe imports the workspace's copy."""
    from tools.student.grade import probe

    ws = tmp_path / "ws"
    start(root, ["tensor"], ws)
    graph = Graph.load(root)
    env = environment(python_path(root, graph, ws, ["tensor"]))
    found = probe(sys.executable, env, ["tensor", "layers"])["modules"]
    assert Path(found["tensor"]["file"]).is_relative_to(package_dir(ws, "tensor"))
    assert Path(found["layers"]["file"]).is_relative_to(root / "packages" / "tinytorch-layers")


def test_a_module_imported_from_elsewhere_is_refused(tmp_path: Path) -> None:
    from tools.student.grade import check_probe

    data = {"numpy": "2", "pytest": "9", "modules": {"tensor": {"file": "/site/x/__init__.py"}}}
    with pytest.raises(StudentError, match=r"was imported from /site/x/__init__\.py, not from"):
        check_probe(data, tmp_path, ["tensor"])


# ---- status and milestones -----------------------------------------------------------------


def test_status_shows_grades_staleness_and_the_milestones_in_reach(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    start(root, ["tensor"], ws)
    assert _cli(root, "status", "--dir", str(ws)) == 0
    out = capsys.readouterr().out
    assert "01 tensor          started, not graded yet" in out
    assert "02 layers          not started" in out
    assert "1957_demo          needs tensor passing" in out

    _solve(root, ws)
    assert _cli(root, "test", "tensor", "--dir", str(ws)) == 0
    capsys.readouterr()
    assert _cli(root, "status", "--dir", str(ws)) == 0
    out = capsys.readouterr().out
    assert "01 tensor          2/2 exercises, 4/4 tests passed" in out
    assert "1957_demo          ready" in out

    init = package_dir(ws, "tensor") / "src" / "tinytorch" / "tensor" / "__init__.py"
    init.write_text(init.read_text() + "\n# more\n")
    assert _cli(root, "status", "--dir", str(ws)) == 0
    out = capsys.readouterr().out
    assert "(stale: your source changed since; grade again)" in out
    assert "1957_demo          needs tensor passing" in out


def test_a_milestone_runs_on_the_students_own_module(
    root: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    start(root, ["tensor"], ws)
    assert _cli(root, "milestone", "1957_demo", "--dir", str(ws)) == 1  # stubs: it fails
    _solve(root, ws)
    assert _cli(root, "milestone", "demo", "--dir", str(ws), "--quick") == 0
    out = capfd.readouterr().out
    assert f"tensor from {package_dir(ws, 'tensor')}" in out
    assert "1957_demo has no --quick; running it in full" in out
    assert "1957_demo: ok" in out


# ---- done when: every module of the graph --------------------------------------------------


def _import_every_file(workspace: Path, module: str) -> subprocess.CompletedProcess[str]:
    src = package_dir(workspace, module) / "src"
    names = [
        ".".join(p.relative_to(src).with_suffix("").parts).removesuffix(".__init__")
        for p in sorted(src.rglob("*.py"))
    ]
    graph = Graph.load(ROOT)
    code = "import importlib, sys\nfor n in sys.argv[1:]:\n    importlib.import_module(n)\n"
    env = environment(python_path(ROOT, graph, workspace, [module]))
    return subprocess.run(
        [sys.executable, "-c", code, *names], env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("module", list(Graph.load(ROOT).modules))
def test_every_module_is_an_exercise_that_its_tests_grade(module: str, tmp_path: Path) -> None:
    """Issue 16's done-when, per module: regions, stubs that import, no leak, tests that
    collect and fail on every exercise's stub, and pass with the reference put back.

    The stub run reports hypothesis failures unshrunk (``shrink=False``), which halves the
    time of the heaviest module; ``pytest --durations=0`` gives each module's time.
    """
    present = module_packages(ROOT, Graph.load(ROOT))
    assert module in present, f"packages/tinytorch-{module} does not exist yet"
    reference = present[module]
    regions = [r for rs in package_regions(reference / "src", ROOT).values() for r in rs]
    assert regions, f"{module}: no solution region is marked in its source"

    ws = tmp_path / "ws"
    start(ROOT, [module], ws)
    imported = _import_every_file(ws, module)
    assert imported.returncode == 0, f"the stubs do not import:\n{imported.stderr}"

    sources = {
        str(p): p.read_text(encoding="utf-8") for p in sorted((reference / "src").rglob("*.py"))
    }
    leaks = scan(ws, solution_lines(sources))
    assert not leaks, "solution lines in the student's files:\n" + "\n".join(leaks)

    report, output = run_tests(ROOT, module, ws, shrink=False)
    assert report["collection_errors"] == [], output[-3000:]
    unfailed = [e["id"] for e in report["exercises"] if e["failed"] == 0]
    assert not unfailed, f"exercises no test fails on the stubs: {unfailed}"
    unselected = [e["id"] for e in report["exercises"] if e["tests_selected"] == 0]
    assert not unselected, f"TESTS expressions that select no test: {unselected}"

    shutil.copytree(reference / "src", package_dir(ws, module) / "src", dirs_exist_ok=True)
    report, output = run_tests(ROOT, module, ws)
    assert report["totals"]["failed"] == 0, output[-3000:]
    assert report["totals"]["passed"] > 0
    assert report["totals"]["exercises_passed"] == len(regions)
