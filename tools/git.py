"""The few questions the release tools ask git, each one ``git`` command in the workspace root.

Releases are recorded as commits (``releases.toml``), not tags: a clone always has the commits
of the branch it cloned, but tags travel only when asked for. Everything here reads history and
never changes the repository, its index or its working tree.

Example (in a repository with one commit):
    >>> import pathlib, subprocess, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> def git(*args):
    ...     return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    >>> _ = git("init", "-q"); _ = (root / "a.txt").write_text("1")
    >>> _ = git("add", "a.txt")
    >>> _ = git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    >>> repo = Git(root)
    >>> repo.changed_since(repo.head(), "a.txt")
    set()
    >>> _ = (root / "a.txt").write_text("2")
    >>> repo.changed_since(repo.head(), "a.txt")
    {'a.txt'}
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from tools.graph import ToolError

_SHA = re.compile(r"^[0-9a-f]{40}$")


def is_sha(text: str) -> bool:
    """Whether ``text`` is a full 40-hex-digit commit id."""
    return bool(_SHA.match(text))


@dataclass(frozen=True)
class Git:
    """git, run in ``root`` (the workspace root, which must be a repository's top level)."""

    root: Path

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        if shutil.which("git") is None:
            raise ToolError("git is not installed: releases are recorded as git commits")
        result = subprocess.run(["git", *args], cwd=self.root, capture_output=True, check=False)
        if check and result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip()
            raise ToolError(f"git {' '.join(args)} failed in {self.root}: {message}")
        return result

    def _text(self, *args: str) -> str:
        return self._run(*args).stdout.decode().strip()

    def is_repository(self) -> bool:
        """Whether ``root`` is the top level of a git working tree."""
        return self.not_repository() is None

    def not_repository(self) -> str | None:
        """Why ``root`` is not the top level of a git working tree; None when it is."""
        if shutil.which("git") is None:
            return "git is not installed"
        result = self._run("rev-parse", "--show-toplevel", check=False)
        if result.returncode != 0:
            return result.stderr.decode(errors="replace").strip() or "git rev-parse failed"
        top = Path(result.stdout.decode().strip())
        if top.resolve() != self.root.resolve():
            return f"it is inside the git checkout {top}, not its top"
        return None

    def is_shallow(self) -> bool:
        """Whether this is a shallow clone, whose history stops before the first commit."""
        return self._text("rev-parse", "--is-shallow-repository") == "true"

    def head(self) -> str:
        """The full id of the commit checked out."""
        return self._text("rev-parse", "--verify", "HEAD^{commit}")

    def resolve(self, rev: str) -> str:
        """The full commit id ``rev`` names; ToolError when it names none."""
        result = self._run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
        if result.returncode != 0:
            raise ToolError(f"{rev!r} is not a commit of the repository at {self.root}")
        return result.stdout.decode().strip()

    def has_commit(self, sha: str) -> bool:
        """Whether the commit ``sha`` is in this clone's object store."""
        return self._run("cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0

    def is_ancestor(self, sha: str, of: str = "HEAD") -> bool:
        """Whether ``sha`` is ``of`` or one of its ancestors (so it travels with every clone)."""
        return self._run("merge-base", "--is-ancestor", sha, of, check=False).returncode == 0

    def show(self, sha: str, path: str) -> str | None:
        """The text of ``path`` (relative to the root) at commit ``sha``, or None if absent."""
        result = self._run("show", f"{sha}:{path}", check=False)
        return result.stdout.decode() if result.returncode == 0 else None

    def changed_since(self, sha: str, *paths: str) -> set[str]:
        """Files under ``paths`` whose working-tree content differs from commit ``sha``.

        Tracked files that were edited, added or deleted since ``sha``, staged or not, plus
        untracked files that git does not ignore (a new module not yet added is a change too).
        Paths are relative to the root, with forward slashes.
        """
        spec = ["--", *paths]
        diff = self._run("diff", "--no-ext-diff", "--no-renames", "--name-only", sha, *spec)
        new = self._run("ls-files", "--others", "--exclude-standard", *spec)
        names = diff.stdout.decode().splitlines() + new.stdout.decode().splitlines()
        return {n for n in names if n}

    def changed_between(self, a: str, b: str, *paths: str) -> set[str]:
        """Files under ``paths`` that differ between commits ``a`` and ``b``."""
        out = self._run("diff", "--no-ext-diff", "--no-renames", "--name-only", a, b, "--", *paths)
        return {n for n in out.stdout.decode().splitlines() if n}

    def export(self, sha: str, path: str, dest: Path) -> Path:
        """Write the tree of ``path`` at commit ``sha`` under ``dest`` (never the working tree).

        ``git archive`` reads the commit's objects only: what is staged, edited or untracked in
        the working tree cannot leak into the copy. Returns ``dest / path``.
        """
        data = self._run("archive", "--format=tar", sha, "--", path).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            members = tar.getmembers()
            for member in members:
                target = (dest / member.name).resolve()
                unsafe = member.issym() or member.islnk()
                if unsafe or not target.is_relative_to(dest.resolve()):
                    raise ToolError(
                        f"git archive of {sha}:{path} holds an unsafe entry {member.name}"
                    )
            if hasattr(tarfile, "data_filter"):  # 3.10.12+, 3.11.4+: say so, or 3.12+ warns
                tar.extractall(dest, members=members, filter="data")
            else:
                tar.extractall(dest, members=members)
        return dest / path
