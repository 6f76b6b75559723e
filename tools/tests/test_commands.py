"""install's resolution and proof, and the milestone runners, on the fake workspace."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tools import install as install_mod
from tools.graph import Graph, ToolError
from tools.install import Installer, declared_closure, source_digest, verify
from tools.milestones import run_installed, run_milestone
from tools.tests.fake import edit, make_workspace, write
from tools.workspace import module_package


def test_declared_closure_follows_the_pyprojects_not_the_graph(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    graph = Graph.load(root)
    names = [p.name for p in declared_closure(root, graph, ["conv"])]
    assert names == ["tinytorch-tensor", "tinytorch-layers", "tinytorch-conv"]
    # A package that forgets a dependency gets an env without it: the env proves declarations.
    edit(root / "packages/tinytorch-layers/pyproject.toml", ', "tinytorch-tensor>=0.1.0,<0.2"', "")
    names = [p.name for p in declared_closure(root, graph, ["conv"])]
    assert names == ["tinytorch-layers", "tinytorch-conv"]


def test_declared_dependency_without_a_package_fails_naming_it(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    edit(
        root / "packages/tinytorch-layers/pyproject.toml", "tinytorch-tensor>=", "tinytorch-attn>="
    )
    with pytest.raises(ToolError, match=r"tinytorch-layers/pyproject.toml declares tinytorch-attn"):
        declared_closure(root, Graph.load(root), ["layers"])


def test_unknown_name_is_refused(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    with pytest.raises(ToolError, match="'nope' is not a module of the graph"):
        module_package(root, Graph.load(root), "nope")
    with pytest.raises(ToolError, match="packages/tinytorch-attn: no such package"):
        module_package(root, Graph.load(root), "tinytorch-attn")


def test_source_digest_follows_what_goes_into_the_wheel(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    package = root / "packages" / "tinytorch-tensor"
    before = source_digest(package)
    write(package / "tests" / "test_more.py", "X = 1\n")
    write(package / "src" / "tinytorch" / "tensor" / "__pycache__" / "x.pyc", "junk")
    assert source_digest(package) == before
    edit(package / "src" / "tinytorch" / "tensor" / "_impl.py", "VALUE = 1", "VALUE = 2")
    changed = source_digest(package)
    assert changed != before
    (package / "src" / "tinytorch" / "tensor" / "py.typed").unlink()
    assert source_digest(package) not in (before, changed)


def test_installer_commands() -> None:
    uv = Installer("/env/bin/python", use_uv=True)
    assert uv.uv_prefix() in ([sys.executable, "-m", "uv"], [shutil.which("uv")])
    assert uv.install([Path("/p/a")], reinstall=["tinytorch-a"], no_index=True) == [
        *[*uv.uv_prefix(), "pip", "install", "--python", "/env/bin/python"],
        *["--no-deps", "--no-index", "--reinstall-package", "tinytorch-a", "/p/a"],
    ]
    pip = Installer("/env/bin/python", use_uv=False)
    assert pip.install([Path("/p/a")], editable=True) == [
        *["/env/bin/python", "-m", "pip", "install", "--no-deps", "-e", "/p/a"]
    ]
    assert pip.install_from_index(["numpy>=1.24"], "http://i/simple/") == [
        *["/env/bin/python", "-m", "pip", "install", "--no-deps"],
        *["--index-url", "http://i/simple/", "numpy>=1.24"],
    ]
    with pytest.raises(ToolError, match="refusing to resolve a TinyTorch package from an index"):
        pip.install_from_index(["numpy", "TinyTorch_Tensor>=0.1"])
    assert pip.uninstall(["tinytorch-a"]) == [
        *["/env/bin/python", "-m", "pip", "uninstall", "-y", "tinytorch-a"]
    ]


def _probe_result(root: Path, installed: dict[str, list[str]]) -> dict[str, Any]:
    """What the probe would say with ``installed`` (dist -> requires) in site-packages."""
    graph = Graph.load(root)
    site = "/env/lib/site-packages/tinytorch"
    imports = {
        m: {"absent": False, "file": f"{site}/{m}/__init__.py"}
        if f"tinytorch-{m}" in installed
        else {"absent": True, "error": "ModuleNotFoundError"}
        for m in graph.modules
    }
    return {
        "dists": {d: {"version": "0.1.0", "requires": r} for d, r in installed.items()},
        "imports": imports,
        "namespace_file": None,
    }


def _verify(
    root: Path, monkeypatch: pytest.MonkeyPatch, data: dict[str, Any], wanted: list[str]
) -> list[str]:
    monkeypatch.setattr(install_mod, "probe", lambda python, graph: data)
    graph = Graph.load(root)
    return verify("python", root, graph, [module_package(root, graph, n) for n in wanted])


def test_verify_accepts_exactly_what_was_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_workspace(tmp_path)
    data = _probe_result(
        root,
        {
            "tinytorch-tensor": ["numpy>=1.24"],
            "tinytorch-layers": ["numpy>=1.24", "tinytorch-tensor<0.2,>=0.1.0"],
        },
    )
    assert _verify(root, monkeypatch, data, ["tensor", "layers"]) == []
    out = capsys.readouterr().out
    assert "tinytorch-layers: tinytorch-tensor<0.2,>=0.1.0 met by 0.1.0" in out
    assert "proven absent (import fails in python -I): conv, attn, prof" in out


def test_verify_reports_unmet_stray_leaked_and_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_workspace(tmp_path)
    data = _probe_result(
        root,
        {
            "tinytorch-layers": ["tinytorch-tensor<0.2,>=0.1.0"],
            "tinytorch-prof": ['tinytorch-conv>=0.1; extra == "vision"', "tinytorch-layers>=0.2"],
        },
    )
    data["imports"]["attn"] = {"absent": False, "file": str(root / "packages/x/__init__.py")}
    data["imports"]["layers"]["file"] = str(root / "packages/tinytorch-layers/src/x.py")
    problems = _verify(root, monkeypatch, data, ["layers"])
    assert problems == [
        "tinytorch-prof 0.1.0 is installed but was not asked for",
        "tinytorch.layers imports from the source tree "
        f"({root}/packages/tinytorch-layers/src/x.py), not the install",
        "tinytorch-layers requires tinytorch-tensor<0.2,>=0.1.0, which is not installed",
        "tinytorch-prof requires tinytorch-layers>=0.2, but 0.1.0 is installed",
        f"tinytorch.attn should be absent, but importing it gave {root}/packages/x/__init__.py",
        "tinytorch.prof should be absent, but importing it gave "
        "/env/lib/site-packages/tinytorch/prof/__init__.py",
    ]


def _milestone(root: Path, name: str, pins: str, body: str) -> None:
    write(root / "milestones" / name / "requirements.txt", pins)
    write(root / "milestones" / name / "main.py", body)
    write(root / "milestones" / name / "README.md", "# x\n")


def test_milestones_run_time_and_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_workspace(tmp_path)
    quick_check = "import sys\nsys.exit(0 if sys.argv[1:] == ['--quick'] else 3)\n"
    _milestone(root, "1969_ok", "numpy>=1.24\n", quick_check)
    _milestone(root, "1986_bad", "", "raise SystemExit(4)\n")
    # Not installed here, so run at its pins: and layers 0.3.0 exists nowhere.
    edit(root / "milestones/1957_demo/requirements.txt", "layers==0.1.0", "layers==0.3.0")
    assert run_installed(root, ["ok"], None, quick=True, installed={}) == 0
    assert run_installed(root, ["ok"], None, quick=False, installed={}) == 1
    assert run_installed(root, [], None, quick=True, installed={}) == 1
    out = capsys.readouterr().out
    assert "1969_ok" in out
    assert "ok, in this environment" in out
    assert "FAILED (exit 4), in this environment" in out
    # A milestone that can be run neither here nor at its pins fails: it is never skipped.
    assert "1957_demo: pins tinytorch-tensor==0.1.0 (installed: no)" in out
    assert "FAILED: milestones/1957_demo/requirements.txt:3: tinytorch-layers==0.3.0" in out
    assert "at its pins in .milestone-envs/1957_demo/" in out
    assert "skipped" not in out
    assert not (root / ".milestone-envs").exists()


def test_track_selects_milestones_whose_pins_fall_within_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = make_workspace(tmp_path)
    installed = {"tinytorch-tensor": "0.1.0", "tinytorch-layers": "0.1.0"}
    write(root / "milestones/1957_demo/main.py", "print('demo ran')\n")
    _milestone(root, "2017_attn", "tinytorch-attn==0.1.0\n", "raise SystemExit(1)\n")
    assert run_installed(root, [], "vision", quick=True, installed=installed) == 0
    out = capfd.readouterr().out
    assert "demo ran" in out
    assert "1957_demo" in out
    assert "2017_attn" not in out
    # A track run that runs no milestone at all proves nothing: it fails.
    shutil.rmtree(root / "milestones/1957_demo")
    assert run_installed(root, [], "vision", quick=True, installed=installed) == 1
    assert "FAILED: no milestones to run for track vision" in capfd.readouterr().out


def test_run_milestone_refuses_a_pin_the_tree_cannot_give_before_anything_runs(
    tmp_path: Path,
) -> None:
    root = make_workspace(tmp_path)
    edit(
        root / "milestones/1957_demo/requirements.txt",
        "tinytorch-layers==0.1.0",
        "tinytorch-layers==0.3.0",
    )
    with pytest.raises(ToolError, match=r"tinytorch-layers==0.3.0 is pinned, .* exist are 0.1.0"):
        run_milestone(root, "demo", quick=True)
    assert not (root / ".milestone-envs").exists()
