"""``bump``, ``release`` and the release checks of ``tools check``, on fake git workspaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.__main__ import main
from tools.check import Checker
from tools.graph import ToolError
from tools.releases import bump, compatible_range, next_version, release
from tools.tests.fake import commit_all, edit, git, make_release_workspace, write
from tools.versions import recorded_releases

PYPROJECT = "packages/tinytorch-{}/pyproject.toml"


def found(root: Path) -> list[str]:
    return [str(v) for v in Checker(root).run()]


def released_workspace(root: Path) -> str:
    """The fake workspace, committed, every package released at that commit; the commit."""
    make_release_workspace(root)
    sha = commit_all(root, "packages")
    assert release(root, [], every=True) == 0
    commit_all(root, "record releases")
    return sha


@pytest.mark.parametrize(
    ("version", "kind", "new", "range_"),
    [
        ("0.1.0", "patch", "0.1.1", ">=0.1.1,<0.2"),
        ("0.1.3", "minor", "0.2.0", ">=0.2.0,<0.3"),
        ("0.9.0", "major", "1.0.0", ">=1.0.0,<2"),
        ("1.4.2", "minor", "1.5.0", ">=1.5.0,<2"),
        ("1.4", "patch", "1.4.1", ">=1.4.1,<2"),
    ],
)
def test_versions_and_ranges(version: str, kind: str, new: str, range_: str) -> None:
    assert next_version(version, kind) == new
    assert compatible_range(new) == range_


def test_bump_minor_rewrites_what_excludes_it_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_release_workspace(tmp_path)
    conv_before = (root / PYPROJECT.format("conv")).read_text()
    assert main(["--root", str(root), "bump", "tensor", "minor", "-m", "old_api is gone"]) == 0
    out = capsys.readouterr().out
    tensor = (root / PYPROJECT.format("tensor")).read_text()
    assert 'version = "0.2.0"' in tensor
    assert (root / "packages/tinytorch-tensor/CHANGELOG.md").read_text() == (
        "# Changelog\n\n## 0.2.0\n\n- old_api is gone\n\n## 0.1.0\n\n- First release.\n"
    )
    for dist in ("layers", "vision", "language"):
        text = (root / PYPROJECT.format(dist)).read_text()
        assert '"tinytorch-tensor>=0.2.0,<0.3"' in text, dist
        assert 'version = "0.1.0"' in text  # rewritten, not bumped
        assert (
            f"packages/tinytorch-{dist}/pyproject.toml: tinytorch-tensor>=0.1.0,<0.2 -> "
            "tinytorch-tensor>=0.2.0,<0.3" in out
        )
    assert (root / PYPROJECT.format("conv")).read_text() == conv_before
    assert "tinytorch-tensor: 0.1.0 -> 0.2.0 (minor)" in out
    # 0.1.0 was never released: the milestone pinning it cannot get it any more, and says so.
    assert "warning: tinytorch-tensor 0.1.0 was never released" in out
    assert found(root) == [
        "milestones/1957_demo/requirements.txt: pins tinytorch-tensor==0.1.0, but "
        "tinytorch-layers==0.1.0 requires 'tinytorch-tensor>=0.2.0,<0.3'",
        "milestones/1957_demo/requirements.txt:1: pins tinytorch-tensor==0.1.0, but the "
        "versions that exist are 0.2.0",
    ]


def test_bump_patch_rewrites_no_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_release_workspace(tmp_path)
    before = (root / PYPROJECT.format("layers")).read_text()
    bump(root, "tinytorch-tensor", "patch", "a fix\nover two lines")
    assert (root / PYPROJECT.format("layers")).read_text() == before
    changelog = (root / "packages/tinytorch-tensor/CHANGELOG.md").read_text()
    assert "## 0.1.1\n\n- a fix\n  over two lines\n\n## 0.1.0" in changelog
    assert "already admit 0.1.1, left as they are: tinytorch-layers" in capsys.readouterr().out


def test_bump_refuses_without_message_or_package(tmp_path: Path) -> None:
    root = make_release_workspace(tmp_path)
    with pytest.raises(ToolError, match="needs a CHANGELOG message"):
        bump(root, "tensor", "patch", " ")
    with pytest.raises(ToolError, match="'nope' is neither a module"):
        bump(root, "nope", "patch", "x")
    assert 'version = "0.1.0"' in (root / PYPROJECT.format("tensor")).read_text()


def test_release_records_the_commit_holding_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sha = released_workspace(tmp_path)
    out = capsys.readouterr().out
    assert f"released tinytorch-tensor 0.1.0 at commit {sha}" in out
    releases = recorded_releases(tmp_path)
    assert list(releases) == [
        *("tinytorch-tensor", "tinytorch-layers", "tinytorch-conv", "tinytorch-attn"),
        *("tinytorch-vision", "tinytorch-language"),
    ]
    assert all(r == {"0.1.0": sha} for r in releases.values())
    assert found(tmp_path) == []
    # Recording again changes nothing: the same versions, unchanged since.
    assert release(tmp_path, ["tensor"], every=False) == 0
    assert "already released, unchanged: tinytorch-tensor 0.1.0" in capsys.readouterr().out
    assert recorded_releases(tmp_path) == releases


def test_change_without_bump_fails_the_check_until_bumped(tmp_path: Path) -> None:
    sha = released_workspace(tmp_path)[:12]
    root = tmp_path
    edit(root / "packages/tinytorch-tensor/src/tinytorch/tensor/__init__.py", "0.1.0 code", "new")
    write(root / "packages/tinytorch-attn/src/tinytorch/attn/extra.py", "X = 1\n")  # untracked
    edit(root / "packages/tinytorch-conv/CHANGELOG.md", "First", "The first")
    git(root, "add", "packages/tinytorch-conv")  # staged counts as much as unstaged
    write(root / "packages/tinytorch-layers/src/tinytorch/layers/__pycache__/x.pyc", "")  # ignored
    hint = "without a version bump ({}): run `python -m tools bump {} patch|minor|major"
    assert found(root) == [
        f"packages/tinytorch-attn: changed since its release 0.1.0 (commit {sha}) "
        + hint.format("src/tinytorch/attn/extra.py", "attn")
        + " -m 'what changed'`",
        f"packages/tinytorch-conv: changed since its release 0.1.0 (commit {sha}) "
        + hint.format("CHANGELOG.md", "conv")
        + " -m 'what changed'`",
        f"packages/tinytorch-tensor: changed since its release 0.1.0 (commit {sha}) "
        + hint.format("src/tinytorch/tensor/__init__.py", "tensor")
        + " -m 'what changed'`",
    ]
    for name in ("attn", "conv"):
        bump(root, name, "patch", "more")
    bump(root, "tensor", "minor", "old_api says new")
    # The tensor bump rewrote the ranges of layers and both tracks: released, so now changed;
    # and the milestone's layers==0.1.0 is still the tree's, which no longer takes tensor 0.1.0.
    assert [v.split(":")[0] for v in found(root)] == [
        "milestones/1957_demo/requirements.txt",
        "packages/tinytorch-language",
        "packages/tinytorch-layers",
        "packages/tinytorch-vision",
    ]
    for name in ("layers", "vision", "language"):
        bump(root, name, "patch", "require tinytorch-tensor 0.2")
    # The milestone still pins the 0.1.0 releases, which exist (at their commit) and agree.
    assert found(root) == []


def test_release_refuses_uncommitted_or_changed_sources(tmp_path: Path) -> None:
    released_workspace(tmp_path)
    before = (tmp_path / "releases.toml").read_text()
    init = tmp_path / "packages/tinytorch-tensor/src/tinytorch/tensor/__init__.py"
    edit(init, "0.1.0 code", "changed")
    with pytest.raises(
        ToolError, match=r"packages/tinytorch-tensor differs from commit .*__init__"
    ):
        release(tmp_path, [], every=True)
    commit_all(tmp_path, "change tensor without a bump")
    with pytest.raises(ToolError, match=r"tensor 0.1.0 is already released at commit .* bump it"):
        release(tmp_path, ["tensor"], every=False)
    assert (tmp_path / "releases.toml").read_text() == before
    bump(tmp_path, "tensor", "patch", "changed")
    head = commit_all(tmp_path, "bump tensor")
    assert release(tmp_path, ["tensor"], every=False) == 0
    assert recorded_releases(tmp_path)["tinytorch-tensor"]["0.1.1"] == head


def test_broken_records_are_reported(tmp_path: Path) -> None:
    sha = released_workspace(tmp_path)
    off_main = git(tmp_path, "commit-tree", "HEAD^{tree}", "-m", "a commit on no branch")
    missing = "0123456789abcdef0123456789abcdef01234567"
    text = (tmp_path / "releases.toml").read_text()
    text = text.replace(
        "[tinytorch-tensor]\n",
        f'[tinytorch-tensor]\n"0.0.1" = "{missing}"\n"0.0.2" = "{off_main}"\n"0.0.3" = "{sha}"\n',
    )
    text += f'\n[tinytorch-nope]\n"0.1.0" = "{sha}"\n'
    write(tmp_path / "releases.toml", text)
    problems = found(tmp_path)
    assert len(problems) == 4, problems
    assert f"tinytorch-tensor 0.0.1 was released at commit {missing}, which is not in this" in (
        problems[0] + problems[1] + problems[2] + problems[3]
    )
    joined = "\n".join(problems)
    assert f"[tinytorch-tensor] 0.0.2: commit {off_main} is not in the history of HEAD" in joined
    assert "[tinytorch-tensor] 0.0.3: releases.toml records tinytorch-tensor 0.0.3 at" in joined
    assert "declares tinytorch-tensor 0.1.0" in joined
    assert "[tinytorch-nope] is neither a module's nor a track's distribution" in joined


def test_version_below_the_latest_release_fails(tmp_path: Path) -> None:
    released_workspace(tmp_path)
    bump(tmp_path, "conv", "minor", "new")
    bump(tmp_path, "vision", "patch", "conv 0.2")
    commit_all(tmp_path, "conv 0.2.0")
    release(tmp_path, ["conv", "vision"], every=False)
    edit(tmp_path / PYPROJECT.format("conv"), 'version = "0.2.0"', 'version = "0.1.5"')
    assert (
        "packages/tinytorch-conv/pyproject.toml: version 0.1.5 is below 0.2.0, the latest "
        "release of tinytorch-conv (releases.toml): versions only go up"
    ) in found(tmp_path)


def test_records_without_git_history(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    released_workspace(origin)
    write(origin / "NOTES.md", "one more commit, so that the release commit is not the tip\n")
    commit_all(origin, "readme")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", str(shallow))
    problems = found(shallow)
    assert problems, "a shallow clone cannot be checked, and must say so"
    assert all("this shallow clone lacks: run `git fetch --unshallow`" in p for p in problems)
    plain = tmp_path / "plain"
    make_release_workspace(plain)
    write(plain / "releases.toml", (origin / "releases.toml").read_text())
    (problem,) = found(plain)
    assert problem.startswith(f"releases.toml: records releases, but {plain} is not a git checkout")
    assert problem.endswith("so no package can be compared with the commit it was released from")


def test_malformed_releases_file(tmp_path: Path) -> None:
    root = make_release_workspace(tmp_path)
    write(root / "releases.toml", '[tinytorch-tensor]\n"0.1.0" = "abc123"\n')
    assert found(root) == [
        "releases.toml: [tinytorch-tensor] '0.1.0': 'abc123' is not a full 40-hex-digit commit id"
    ]


def test_requirements_no_version_meets_together(tmp_path: Path) -> None:
    root = make_release_workspace(tmp_path)
    edit(
        root / PYPROJECT.format("vision"), "tinytorch-layers>=0.1.0,<0.2", "tinytorch-layers>=0.1.1"
    )
    edit(root / PYPROJECT.format("conv"), "tinytorch-layers>=0.1.0,<0.2", "tinytorch-layers<0.1.1")
    problems = found(root)
    assert (
        "packages/tinytorch-vision/pyproject.toml: requires 'tinytorch-layers>=0.1.1', which no "
        "version of tinytorch-layers meets together with tinytorch-conv's "
        "'tinytorch-layers<0.1.1'"
    ) in problems


def test_older_pins_are_held_to_what_that_release_declared(tmp_path: Path) -> None:
    released_workspace(tmp_path)
    bump(tmp_path, "tensor", "minor", "new")
    bump(tmp_path, "layers", "patch", "new tensor")
    for track in ("vision", "language"):
        bump(tmp_path, track, "patch", "new tensor")
    assert found(tmp_path) == []
    # layers 0.1.1 (the tree's) wants tensor 0.2; the 0.1.0 release of layers wanted 0.1.
    reqs = tmp_path / "milestones/1957_demo/requirements.txt"
    edit(reqs, "tinytorch-layers==0.1.0", "tinytorch-layers==0.1.1")
    assert found(tmp_path) == [
        "milestones/1957_demo/requirements.txt: pins tinytorch-tensor==0.1.0, but "
        "tinytorch-layers==0.1.1 requires 'tinytorch-tensor>=0.2.0,<0.3'"
    ]
    edit(reqs, "tinytorch-layers==0.1.1", "tinytorch-layers==0.1.0")
    edit(reqs, "tinytorch-tensor==0.1.0", "tinytorch-tensor==0.2.0")
    assert found(tmp_path) == [
        "milestones/1957_demo/requirements.txt: pins tinytorch-tensor==0.2.0, but "
        "tinytorch-layers==0.1.0 requires 'tinytorch-tensor>=0.1.0,<0.2'"
    ]
