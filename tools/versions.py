"""Which versions of a workspace package exist, and where a given version comes from.

Two decisions live here and nowhere else:

- :func:`available_versions`: the versions of a package that a milestone may pin: the one in the
  tree (``packages/<dist>/pyproject.toml``) plus any recorded in a releases file.
- :func:`source_for`: where version X of package P is installed from. Today only the working tree
  can provide one; a version recorded at a release commit is reported as such, so that building
  older releases can be added here later without touching the callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.graph import ToolError, load_toml
from tools.workspace import parse_version, read_package

RELEASES_FILES = ("releases.toml",)


def recorded_releases(root: Path) -> dict[str, dict[str, str]]:
    """Released versions recorded at the workspace root: dist -> {version: commit}.

    The format read is ``releases.toml`` with one table per distribution mapping each released
    version to the commit it was released from (``[tinytorch-tensor]`` / ``"0.1.0" = "<sha>"``).
    No such file exists yet: then nothing is recorded.
    """
    out: dict[str, dict[str, str]] = {}
    for name in RELEASES_FILES:
        path = root / name
        if not path.is_file():
            continue
        data: dict[str, Any] = load_toml(path)
        for dist, table in data.items():
            if isinstance(table, dict):
                out.setdefault(dist, {}).update({str(k): str(v) for k, v in table.items()})
    return out


@dataclass(frozen=True)
class VersionSource:
    """Where one version of one package comes from: the working tree, or a release commit."""

    dist: str
    version: str
    tree: Path | None
    commit: str | None = None


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
        raise ToolError(
            f"{dist}=={version} was released at commit {commit}, but building a package from a "
            f"release commit is not supported yet (the tree has {dist} {current})"
        )
    if current is None:
        raise ToolError(f"{dist}=={version} is pinned, but packages/{dist} does not exist")
    exists = ", ".join(sorted(available_versions(root, dist), key=parse_version))
    raise ToolError(
        f"{dist}=={version} is pinned, but the versions that exist are {exists} "
        f"(packages/{dist}/pyproject.toml has {current}; no release {version} is recorded)"
    )
