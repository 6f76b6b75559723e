"""``tools test --require MODULE``: the oracle env fails when its oracle goes missing.

Each case runs a real pytest session, in a folder of its own, with the ``tools.require``
plugin, over a few tests that use a stand-in oracle module (``oracle_stub``): present on the
path or not, imported or skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools import runners
from tools.graph import ToolError

REPO = Path(__file__).resolve().parents[2]

AT_TOP = 'import pytest\n\nstub = pytest.importorskip("oracle_stub")\n\ndef test_a():\n    pass\n'
IN_BODY = (
    "import pytest\n\n"
    "def test_plain():\n    pass\n\n"
    'def test_oracle():\n    stub = pytest.importorskip("oracle_stub")\n    assert stub.OK\n'
)
OTHER_SKIP = (
    "import pytest\n\n"
    'def test_oracle():\n    stub = pytest.importorskip("oracle_stub")\n    assert stub.OK\n\n'
    '@pytest.mark.skip(reason="oracle_stub-extras has no such op")\n'
    "def test_unrelated_skip():\n    pass\n"
)
PLAIN = "def test_plain():\n    pass\n"


def session(
    tmp_path: Path, tests: str, *, stub: bool, require: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run pytest over one test file, with ``oracle_stub`` importable when ``stub``."""
    (tmp_path / "test_it.py").write_text(tests, encoding="utf-8")
    path = [str(REPO)]
    if stub:
        (tmp_path / "lib").mkdir()
        (tmp_path / "lib" / "oracle_stub.py").write_text("OK = True\n", encoding="utf-8")
        path.append(str(tmp_path / "lib"))
    guard = ["-p", "tools.require", "--require-module", "oracle_stub"] if require else []
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *guard, "test_it.py"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(path)),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("tests", "where"),
    [(AT_TOP, "test_it.py"), (IN_BODY, "test_oracle")],
    ids=["module-level importorskip", "importorskip in a test"],
)
def test_a_skip_for_the_missing_module_fails_the_session(
    tmp_path: Path, tests: str, where: str
) -> None:
    result = session(tmp_path, tests, stub=False)
    assert result.returncode == 1, result.stdout
    assert "skipped, but oracle_stub is required here" in result.stdout
    assert where in result.stdout
    assert "could not import 'oracle_stub'" in result.stdout


def test_without_the_guard_the_same_session_passes(tmp_path: Path) -> None:
    # The control: this is what every env without torch sees, and why the guard exists.
    result = session(tmp_path, IN_BODY, stub=False, require=False)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout


def test_the_oracle_running_passes_and_other_skips_are_left_alone(tmp_path: Path) -> None:
    result = session(tmp_path, OTHER_SKIP, stub=True)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in result.stdout


def test_a_session_that_never_imports_the_module_fails(tmp_path: Path) -> None:
    result = session(tmp_path, PLAIN, stub=True)
    assert result.returncode == 1, result.stdout
    assert "no test imported oracle_stub" in result.stdout


def test_a_failing_test_still_fails_with_the_guard(tmp_path: Path) -> None:
    tests = "import oracle_stub\n\ndef test_wrong():\n    assert not oracle_stub.OK\n"
    result = session(tmp_path, tests, stub=True)
    assert result.returncode == 1, result.stdout
    assert "1 failed" in result.stdout


def test_the_runner_refuses_before_pytest_when_the_module_cannot_be_found() -> None:
    with pytest.raises(ToolError, match=r"no_such_oracle is required here \(--require"):
        runners.test(REPO, ["tensor"], [], require=["no_such_oracle"])
    with pytest.raises(ToolError, match=r"no_such_oracle\.sub is required here"):
        runners.test(REPO, ["tensor"], [], require=["no_such_oracle.sub"])
