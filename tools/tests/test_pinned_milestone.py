"""``run-milestone`` at pinned versions: an older release is built from its recorded commit.

In a temporary git repository: every package is released at 0.1.0, then tensor's API breaks
(``old_api`` removed) and is bumped to 0.2.0, with the bumps ``tools check`` asks for after it.
The milestone still pins the 0.1.0 releases of tensor and layers, and conv 0.1.0, which is
still the tree's: it must run, calling ``old_api``, in an environment built from a clean export
of the release commit for the first two and from the working tree for the third. The track
runner (``milestones --track``) runs it the same way when the environment holds other versions.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest

from tools.check import Checker
from tools.graph import ToolError
from tools.milestones import _editable_version, run_installed, run_milestone, run_milestones
from tools.releases import bump, release
from tools.tests.fake import commit_all, edit, make_release_workspace, write
from tools.tests.index import serve, stand_in_numpy

NEW_TENSOR = 'def new_api() -> str:\n    return "tensor 0.2.0 code"\n'
NEW_LAYERS = (
    "from tinytorch.tensor import new_api\n\n\n"
    'def describe() -> str:\n    return "layers on " + new_api()\n'
)


def moved_on(root: Path) -> str:
    """Release everything at 0.1.0, then break tensor's API and bump; the release commit."""
    make_release_workspace(root)
    sha = commit_all(root, "packages at 0.1.0")
    release(root, [], every=True)
    commit_all(root, "record the 0.1.0 releases")
    write(root / "packages/tinytorch-tensor/src/tinytorch/tensor/__init__.py", NEW_TENSOR)
    write(root / "packages/tinytorch-layers/src/tinytorch/layers/__init__.py", NEW_LAYERS)
    bump(root, "tensor", "minor", "old_api is now new_api")
    for name in ("layers", "vision", "language"):
        bump(root, name, "patch", "tinytorch-tensor 0.2")
    return sha


def test_milestone_runs_against_the_release_commit_while_the_tree_has_moved_on(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    sha = moved_on(root)
    commit_all(root, "tensor 0.2.0")  # the new code is committed too: HEAD has moved on
    # Uncommitted junk in the tree must not reach a release build either.
    write(root / "packages/tinytorch-tensor/src/tinytorch/tensor/junk.py", "raise SystemExit(9)\n")
    edit(root / "packages/tinytorch-tensor/src/tinytorch/tensor/__init__.py", "0.2.0", "0.2.0!")
    assert [str(v) for v in Checker(root).run()] == []
    with serve(tmp_path / "index") as index:
        stand_in_numpy(index, tmp_path / "wheels")
        assert run_milestone(root, "demo", quick=True, index_url=index.url) == 0
    out = capfd.readouterr().out
    assert f"tinytorch-tensor==0.1.0 from commit {sha}" in out
    assert f"tinytorch-layers==0.1.0 from commit {sha}" in out
    assert "tinytorch-conv==0.1.0 from the working tree" in out
    assert "demo milestone: layers on tensor 0.1.0 code" in out
    assert "1957_demo: ok" in out
    # The same milestone pinned at the new versions runs the new code from the tree, and its
    # assertion (written for the 0.1.0 API) now fails: the pins are what decided the code.
    reqs = root / "milestones/1957_demo/requirements.txt"
    edit(reqs, "tinytorch-tensor==0.1.0", "tinytorch-tensor==0.2.0")
    edit(reqs, "tinytorch-layers==0.1.0", "tinytorch-layers==0.1.1")
    with serve(tmp_path / "index") as index:  # the stand-in numpy is still in its folder
        assert run_milestone(root, "demo", quick=True, index_url=index.url) == 1
    out = capfd.readouterr().out
    assert "tinytorch-tensor==0.2.0 from the working tree" in out
    assert "demo milestone: layers on tensor 0.2.0! code" in out


def test_a_pin_that_cannot_be_met_fails_before_anything_runs(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    moved_on(root)
    reqs = root / "milestones/1957_demo/requirements.txt"
    edit(reqs, "tinytorch-tensor==0.1.0", "tinytorch-tensor==0.1.5")
    with pytest.raises(
        ToolError,
        match=r"requirements.txt:1: tinytorch-tensor==0.1.5 is pinned, but the versions that "
        r"exist are 0.1.0, 0.2.0 \(packages/tinytorch-tensor/pyproject.toml has 0.2.0; no "
        r"release 0.1.5 is recorded in releases.toml\)",
    ):
        run_milestone(root, "demo", quick=True)
    # A pinned tree version that the other pins' releases do not accept.
    edit(reqs, "tinytorch-tensor==0.1.5", "tinytorch-tensor==0.2.0")
    with pytest.raises(
        ToolError,
        match=r"cannot be met together:\n  tinytorch-layers==0.1.0 requires "
        r"'tinytorch-tensor>=0.1.0,<0.2', but tinytorch-tensor==0.2.0 is pinned",
    ):
        run_milestone(root, "demo", quick=True)
    # A release whose commit this repository does not have.
    edit(reqs, "tinytorch-tensor==0.2.0", "tinytorch-tensor==0.0.1")
    missing = "0123456789abcdef0123456789abcdef01234567"
    releases = root / "releases.toml"
    edit(releases, "[tinytorch-tensor]\n", f'[tinytorch-tensor]\n"0.0.1" = "{missing}"\n')
    with pytest.raises(ToolError, match=f"released at commit {missing}, which is not in this"):
        run_milestone(root, "demo", quick=True)
    assert not (root / ".milestone-envs").exists()


def test_every_milestone_is_tried_and_each_failure_reported(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = make_release_workspace(tmp_path)
    other = root / "milestones/1969_other"
    write(other / "requirements.txt", "tinytorch-tensor==9.9.9\n")
    write(other / "main.py", "print('never runs')\n")
    write(other / "README.md", "# Other\n")
    edit(
        root / "milestones/1957_demo/requirements.txt",
        "==0.1.0\ntinytorch-layers",
        "==0.0.1\ntinytorch-layers",
    )
    assert run_milestones(root, [], quick=True) == 1
    summary = capfd.readouterr().out.split("milestones, each in its own env at its pins")[1]
    first, second = (line.strip() for line in summary.strip().splitlines()[1:])
    assert first.startswith("1957_demo")
    assert (
        "FAILED: milestones/1957_demo/requirements.txt:1: tinytorch-tensor==0.0.1 is pinned"
        in first
    )
    assert second.startswith("1969_other")
    assert "tinytorch-tensor==9.9.9 is pinned, but the versions that exist are 0.1.0" in second
    assert not (root / ".milestone-envs").exists()


def test_a_track_run_runs_a_milestone_this_env_cannot_give_at_its_pins(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    moved_on(root)
    commit_all(root, "tensor 0.2.0")
    here = root / "milestones/1958_here"
    write(here / "requirements.txt", "tinytorch-tensor==0.2.0\n")
    write(here / "main.py", "import sys\nprint('here ran', sys.argv[1:])\n")
    write(here / "README.md", "# Here\n")
    # What a track env holds after the bump: the tree's versions, not the demo's 0.1.0 pins.
    installed = {
        "tinytorch-tensor": "0.2.0",
        "tinytorch-layers": "0.1.1",
        "tinytorch-conv": "0.1.0",
    }
    with serve(tmp_path / "index") as index:
        stand_in_numpy(index, tmp_path / "wheels")
        code = run_installed(
            root, [], "vision", quick=True, index_url=index.url, installed=installed
        )
        assert code == 0
        out = capfd.readouterr().out
        assert (
            "1957_demo: pins tinytorch-tensor==0.1.0 (installed: 0.2.0), tinytorch-layers==0.1.0"
            " (installed: 0.1.1); running it at its pins instead" in out
        )
        assert "demo milestone: layers on tensor 0.1.0 code" in out  # the release's code ran
        assert "here ran ['--quick']" in out
        summary = out.split("milestones (track vision, --quick):")[1].strip().splitlines()
        assert summary[0].split()[0] == "1957_demo"
        assert summary[0].endswith("ok, at its pins in .milestone-envs/1957_demo/")
        assert summary[1].split()[0] == "1958_here"
        assert summary[1].endswith("ok, in this environment")
        assert "skipped" not in out
        # Run at its pins, a failing milestone fails the track: here its pins give the new code.
        installed["tinytorch-tensor"] = "0.1.0"
        edit(here / "requirements.txt", "0.2.0", "0.1.0")
        reqs = root / "milestones/1957_demo/requirements.txt"
        edit(reqs, "tinytorch-tensor==0.1.0", "tinytorch-tensor==0.2.0")
        edit(reqs, "tinytorch-layers==0.1.0", "tinytorch-layers==0.1.1")
        code = run_installed(
            root, [], "vision", quick=True, index_url=index.url, installed=installed
        )
        assert code == 1
    out = capfd.readouterr().out
    assert "demo milestone: layers on tensor 0.2.0 code" in out
    assert "FAILED (exit 1), at its pins in .milestone-envs/1957_demo/" in out
    assert "1958_here" in out
    assert "ok, in this environment" in out


def test_an_editable_install_has_the_version_its_folder_declares(tmp_path: Path) -> None:
    root = make_release_workspace(tmp_path / "ws")
    edit(root / "packages/tinytorch-tensor/pyproject.toml", '"0.1.0"', '"0.2.0"')
    info = tmp_path / "site" / "tinytorch_tensor-0.1.0.dist-info"
    write(info / "METADATA", "Metadata-Version: 2.1\nName: tinytorch-tensor\nVersion: 0.1.0\n")
    dist = importlib.metadata.PathDistribution(info)
    assert _editable_version(dist) is None  # a plain install: its metadata is its code's
    url = (root / "packages/tinytorch-tensor").as_uri()
    write(info / "direct_url.json", json.dumps({"url": url, "dir_info": {"editable": True}}))
    assert _editable_version(dist) == "0.2.0"  # installed at 0.1.0, bumped since
    write(info / "direct_url.json", json.dumps({"url": url, "dir_info": {}}))
    assert _editable_version(dist) is None  # installed from the folder, not editable
