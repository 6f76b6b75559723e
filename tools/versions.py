"""Which versions of a workspace package exist, and where a given version comes from.

Three decisions live here and nowhere else:

- ``releases.toml`` at the root is the record of every release: one table per distribution,
  mapping each released version to the commit it was cut from. It is committed, so the record
  travels with every clone (tags do not). :func:`recorded_releases` reads it,
  :func:`write_releases` writes it.
- :func:`available_versions`: the versions of a package that a milestone may pin: the one in the
  tree (``packages/<dist>/pyproject.toml``) plus every recorded release.
- :func:`source_for`: where version X of package P comes from: the working tree when X is the
  tree's version, else the commit its release was recorded at, read from git's objects (a clean
  export of that commit, never the working tree). :func:`package_at` reads what that source
  declares and :func:`export_source` writes its files out for a build.

Example:
    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> text = '[tinytorch-tensor]\\n"0.1.0" = "' + "a" * 40 + '"\\n'
    >>> _ = (root / "releases.toml").write_text(text)
    >>> recorded_releases(root)["tinytorch-tensor"]["0.1.0"] == "a" * 40
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.git import Git, is_sha
from tools.graph import DIST_PREFIX, ToolError, load_toml, parse_toml
from tools.workspace import Package, package_from_toml, parse_version, read_package

RELEASES_FILE = "releases.toml"

_HEADER = """\
# Every release of every package of the workspace: one table per distribution, mapping each
# released version to the commit it was cut from (the commit holding exactly that source).
# Written by `python -m tools release`; read by `python -m tools check` (which fails when a
# package's source has changed since its release without a version bump) and by
# `python -m tools run-milestone` (which builds an older pinned version from its commit).
# See RELEASING.md.
"""


def recorded_releases(root: Path) -> dict[str, dict[str, str]]:
    """Released versions recorded at the workspace root: dist -> {version: commit}.

    Versions and commits are validated (X.Y.Z, a full 40-digit id); ToolError naming the file
    and the entry otherwise. No file means nothing is released yet.
    """
    path = root / RELEASES_FILE
    if not path.is_file():
        return {}
    data: dict[str, Any] = load_toml(path)
    out: dict[str, dict[str, str]] = {}
    for dist, table in data.items():
        if not isinstance(table, dict) or not dist.startswith(DIST_PREFIX):
            raise ToolError(
                f"{path}: {dist!r} is not a table of a tinytorch-* distribution's releases"
            )
        for version, commit in table.items():
            where = f"{path}: [{dist}] {version!r}"
            try:
                parse_version(version)
            except ValueError as e:
                raise ToolError(f"{where}: {e}") from e
            if not isinstance(commit, str) or not is_sha(commit):
                raise ToolError(f"{where}: {commit!r} is not a full 40-hex-digit commit id")
            out.setdefault(dist, {})[version] = commit
    return out


def write_releases(
    root: Path, releases: Mapping[str, Mapping[str, str]], order: Iterable[str]
) -> Path:
    """Write ``releases.toml``: distributions in ``order`` (others after), versions ascending."""
    ranked = {name: i for i, name in enumerate(order)}
    lines = [_HEADER]
    for dist in sorted(releases, key=lambda d: (ranked.get(d, len(ranked)), d)):
        lines.append(f"\n[{dist}]\n")
        for version in sorted(releases[dist], key=parse_version):
            lines.append(f'"{version}" = "{releases[dist][version]}"\n')
    path = root / RELEASES_FILE
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("".join(lines), encoding="utf-8")
    temporary.replace(path)
    return path


@dataclass(frozen=True)
class VersionSource:
    """Where one version of one package comes from: the working tree, or a release commit."""

    dist: str
    version: str
    tree: Path | None
    commit: str | None = None

    @property
    def relpath(self) -> str:
        """The package's folder relative to the root, as git names it."""
        return f"packages/{self.dist}"

    def describe(self) -> str:
        """``the working tree`` or ``commit <sha>``, for messages."""
        return "the working tree" if self.commit is None else f"commit {self.commit}"


def tree_version(root: Path, dist: str) -> str | None:
    """The version ``packages/<dist>`` has in the working tree, or None when it is absent."""
    path = root / "packages" / dist
    return read_package(path).version if path.is_dir() else None


def available_versions(root: Path, dist: str) -> set[str]:
    """Every version of ``dist`` that exists: the tree's, plus the recorded releases."""
    found = set(recorded_releases(root).get(dist, {}))
    current = tree_version(root, dist)
    if current is not None:
        found.add(current)
    return found


def source_for(root: Path, dist: str, version: str) -> VersionSource:
    """Where to install ``dist==version`` from; ToolError naming what exists when nowhere."""
    current = tree_version(root, dist)
    if current == version:
        return VersionSource(dist, version, tree=root / "packages" / dist)
    commit = recorded_releases(root).get(dist, {}).get(version)
    if commit is not None:
        return VersionSource(dist, version, tree=None, commit=commit)
    exists = ", ".join(sorted(available_versions(root, dist), key=parse_version)) or "none"
    where = (
        f"packages/{dist} does not exist"
        if current is None
        else f"packages/{dist}/pyproject.toml has {current}"
    )
    raise ToolError(
        f"{dist}=={version} is pinned, but the versions that exist are {exists} "
        f"({where}; no release {version} is recorded in {RELEASES_FILE})"
    )


def missing_commit(root: Path, sha: str, what: str) -> str:
    """Why ``sha`` (recorded for ``what``) cannot be read, with the way out."""
    git = Git(root)
    why = git.not_repository()
    if why is not None:
        return (
            f"{what} was released at commit {sha}, but {root} is not a git checkout ({why}): "
            "releases can only be read from a clone with its history"
        )
    if git.is_shallow():
        return (
            f"{what} was released at commit {sha}, which this shallow clone lacks: "
            "run `git fetch --unshallow` (or clone without --depth) to get the history"
        )
    return (
        f"{what} was released at commit {sha}, which is not in this repository "
        f"({RELEASES_FILE} names a commit that was never pushed, or was rewritten away)"
    )


def package_at(root: Path, source: VersionSource) -> Package:
    """What ``source`` declares: the tree's pyproject, or the one at its release commit."""
    if source.tree is not None:
        return read_package(source.tree)
    assert source.commit is not None
    git = Git(root)
    what = f"{source.dist} {source.version}"
    if not git.is_repository() or not git.has_commit(source.commit):
        raise ToolError(missing_commit(root, source.commit, what))
    text = git.show(source.commit, f"{source.relpath}/pyproject.toml")
    where = f"{source.relpath}/pyproject.toml at {source.commit}"
    if text is None:
        raise ToolError(f"{what} was released at commit {source.commit}, but {where} is missing")
    package = package_from_toml(root / source.relpath, parse_toml(text, where), where)
    if package.name != source.dist or package.version != source.version:
        raise ToolError(
            f"{RELEASES_FILE} records {what} at {source.commit}, but {where} declares "
            f"{package.name} {package.version}"
        )
    return package


def export_source(root: Path, source: VersionSource, dest: Path) -> Path:
    """The package folder to build ``source`` from: the tree's, or a clean export under ``dest``."""
    if source.tree is not None:
        return source.tree
    assert source.commit is not None
    return Git(root).export(source.commit, source.relpath, dest)
