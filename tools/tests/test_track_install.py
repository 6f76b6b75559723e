"""``install-track`` cannot be hijacked: no TinyTorch name is ever resolved from the index.

A local index offers a planted ``tinytorch-tensor`` at 0.1.99 (inside every sibling's range
``>=0.1.0,<0.2``, and higher than the workspace's 0.1.0, so a resolver would prefer it) and at
99.0.0, plus a stand-in numpy. The track install must take the workspace's own wheel and numpy
from that index, and the index must never be asked about any ``tinytorch-*`` name. A control
shows the same index does hijack a plain ``pip install`` of the same requirement.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tools.graph import Graph, ToolError
from tools.install import Installer
from tools.tests.fake import edit, make_release_workspace
from tools.tests.index import STAND_IN_NUMPY, make_wheel, serve, stand_in_numpy
from tools.tracks import install_track, track_packages

PLANTED = {"tinytorch/tensor/__init__.py": "PLANTED = True\n\ndef old_api():\n    return 'x'\n"}

INSPECT = """
import importlib.metadata as md, json, numpy, tinytorch.tensor as t, tinytorch.attn
print(json.dumps({
    "tensor": md.version("tinytorch-tensor"),
    "planted": hasattr(t, "PLANTED"),
    "numpy": md.version("numpy"),
    "stand_in": getattr(numpy, "STAND_IN", False),
    "dists": sorted(d.metadata["Name"] for d in md.distributions()
                    if d.metadata["Name"].startswith("tinytorch")),
}))
"""


def user_venv(venv: Path) -> str:
    """An environment of the user's own, and its python (`--venv DIR` would make one with pip;
    uv needs none, and leaving it out saves seconds here)."""
    without_pip = ["--without-pip"] if Installer(sys.executable).use_uv else []
    subprocess.run([sys.executable, "-m", "venv", *without_pip, str(venv)], check=True)
    return str(venv / "bin" / "python")


def test_track_install_takes_the_workspace_wheels_never_the_index(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = make_release_workspace(tmp_path / "ws")
    python = user_venv(tmp_path / "venv")
    with serve(tmp_path / "index") as index:
        stand_in_numpy(index, tmp_path / "wheels")
        for version in ("0.1.99", "99.0.0"):
            planted = make_wheel(
                tmp_path / "wheels", "tinytorch-tensor", version, PLANTED, ["numpy>=1.24"]
            )
            index.add("tinytorch-tensor", planted)
        code = install_track(
            root,
            "language",
            python=python,
            venv=None,
            wheelhouse_dir=tmp_path / "wheelhouse",
            index_url=index.url,
        )
        assert code == 0
        asked = list(index.requested)

        result = subprocess.run(
            [python, "-I", "-c", INSPECT], capture_output=True, text=True, check=True
        )
        state = json.loads(result.stdout)
        assert state == {
            "tensor": "0.1.0",
            "planted": False,
            "numpy": STAND_IN_NUMPY,
            "stand_in": True,
            "dists": [
                *("tinytorch-attn", "tinytorch-language", "tinytorch-layers"),
                "tinytorch-tensor",
            ],
        }
        # numpy was resolved from this index; no tinytorch name was ever asked of it.
        assert index.asked_about("/simple/numpy/")
        assert index.asked_about(f"/files/numpy-{STAND_IN_NUMPY}-py3-none-any.whl")
        assert [p for p in asked if "tinytorch" in p] == []
        out = capfd.readouterr().out
        assert "track language installed" in out
        assert "proven absent (import fails in" in out

        # Control: the same index, asked plainly for what the track requires, hijacks it.
        control = Installer(python)
        cmd = control.install_from_index(["numpy"], index.url)[:-1]
        naive = subprocess.run(
            [*cmd, "--dry-run", "--upgrade", "tinytorch-tensor>=0.1.0,<0.2"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert index.asked_about("/simple/tinytorch-tensor/")
        assert "tinytorch-tensor-0.1.99" in naive.stdout + naive.stderr.replace("==", "-")


def test_an_index_numpy_requiring_a_planted_tinytorch_cannot_bring_it_in(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # The index's numpy itself requires tinytorch-tensor>=99, which the same index offers: a
    # resolver following numpy's dependencies would replace the workspace's tensor with it.
    root = make_release_workspace(tmp_path / "ws")
    python = user_venv(tmp_path / "venv")
    with serve(tmp_path / "index") as index:
        stand_in_numpy(index, tmp_path / "wheels", requires=["tinytorch-tensor>=99"])
        planted = make_wheel(
            tmp_path / "wheels", "tinytorch-tensor", "99.0.0", PLANTED, ["numpy>=1.24"]
        )
        index.add("tinytorch-tensor", planted)
        with pytest.raises(ToolError, match="requirements are not all met"):
            install_track(
                root,
                "language",
                python=python,
                venv=None,
                wheelhouse_dir=tmp_path / "wheelhouse",
                index_url=index.url,
            )
        asked = list(index.requested)
        out = capfd.readouterr()
        # The check names the requirement that was not followed.
        assert "tinytorch-tensor" in out.out + out.err
        result = subprocess.run(
            [python, "-I", "-c", INSPECT], capture_output=True, text=True, check=True
        )
        state = json.loads(result.stdout)
        assert (state["tensor"], state["planted"], state["stand_in"]) == ("0.1.0", False, True)
        assert [p for p in asked if "tinytorch" in p] == []

        # Control: following numpy's dependencies, the same index hands over the planted one.
        cmd = Installer(python).install_from_index(["numpy"], index.url)
        naive = subprocess.run(
            [*(a for a in cmd if a != "--no-deps"), "--dry-run", "--upgrade"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert index.asked_about("/simple/tinytorch-tensor/")
        assert "tinytorch-tensor-99.0.0" in naive.stdout + naive.stderr.replace("==", "-")


def test_unknown_track_or_missing_meta_package(tmp_path: Path) -> None:
    root = make_release_workspace(tmp_path)
    with pytest.raises(ToolError, match="unknown track 'audio'; the tracks are vision, language"):
        install_track(root, "audio", python="python", venv=None)
    (root / "packages/tinytorch-vision/pyproject.toml").unlink()
    with pytest.raises(ToolError, match="no meta package for track 'vision'"):
        install_track(root, "vision", python="python", venv=None)


def test_track_declaring_a_package_that_is_absent_fails_naming_the_declaration(
    tmp_path: Path,
) -> None:
    root = make_release_workspace(tmp_path)
    edit(root / "packages/tinytorch-language/pyproject.toml", "tinytorch-attn", "tinytorch-conf")
    with pytest.raises(
        ToolError,
        match=r"packages/tinytorch-language/pyproject\.toml declares tinytorch-conf, which has no",
    ):
        track_packages(root, Graph.load(root), "language")
    assert [p.name for p in track_packages(root, Graph.load(root), "vision")] == [
        *("tinytorch-tensor", "tinytorch-layers", "tinytorch-conv", "tinytorch-vision")
    ]
