"""``bump`` (a new version of one package) and ``release`` (record versions in releases.toml).

The two are separate steps because a commit cannot hold its own id. A release is the commit that
holds a package's source at a version; the record of it is written afterwards:

1. ``python -m tools bump tensor minor -m "what changed"``: the new version in the package's
   pyproject, a CHANGELOG entry, and the requirement ranges of its dependants that exclude it;
2. commit that (commit A);
3. ``python -m tools release tensor``: records ``"0.2.0" = "<A>"`` under ``[tinytorch-tensor]``
   in releases.toml, after checking that packages/tinytorch-tensor is exactly what A holds;
4. commit releases.toml (commit B). ``tools check`` compares the package with A from now on.

Semantic versions: a breaking change of the API is a major bump, or a minor one below 1.0
(0.1.x -> 0.2.0); sibling requirements are written ``>=X.Y.Z,<`` the next breaking version.

Example:
    >>> [next_version("0.1.3", kind) for kind in ("major", "minor", "patch")]
    ['1.0.0', '0.2.0', '0.1.4']
    >>> compatible_range("0.2.0"), compatible_range("1.4.1")
    ('>=0.2.0,<0.3', '>=1.4.1,<2')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tools.git import Git
from tools.graph import DIST_PREFIX, Graph, ToolError
from tools.versions import RELEASES_FILE, recorded_releases, write_releases
from tools.workspace import (
    Package,
    Requirement,
    milestones,
    parse_version,
    read_package,
    workspace_packages,
)

KINDS = ("major", "minor", "patch")


def next_version(version: str, kind: str) -> str:
    """``version`` after a ``major``, ``minor`` or ``patch`` bump (X.Y.Z)."""
    parts = (*parse_version(version).release, 0, 0)[:3]
    major, minor, patch = parts
    if kind == "major":
        return f"{major + 1}.0.0"
    if kind == "minor":
        return f"{major}.{minor + 1}.0"
    if kind == "patch":
        return f"{major}.{minor}.{patch + 1}"
    raise ToolError(f"unknown bump {kind!r}: use one of {', '.join(KINDS)}")


def compatible_range(version: str) -> str:
    """``>=version,<`` the next version that may break its API: ``0.(Y+1)`` below 1.0, else X+1."""
    major, minor = (*parse_version(version).release, 0)[:2]
    upper = f"0.{minor + 1}" if major == 0 else f"{major + 1}"
    return f">={version},<{upper}"


def dist_name(graph: Graph, name: str) -> str:
    """``tensor``, ``tinytorch-tensor`` or a track (``vision``) -> the distribution name."""
    short = name[len(DIST_PREFIX) :] if name.startswith(DIST_PREFIX) else name
    if short not in graph.modules and short not in graph.tracks:
        raise ToolError(
            f"{name!r} is neither a module ({', '.join(graph.modules)}) nor a track "
            f"({', '.join(graph.tracks)})"
        )
    return DIST_PREFIX + short


def _package(root: Path, graph: Graph, name: str) -> Package:
    dist = dist_name(graph, name)
    path = workspace_packages(root, graph).get(dist)
    if path is None:
        raise ToolError(f"packages/{dist}: no such package in this workspace")
    return read_package(path)


# -- bump ------------------------------------------------------------------------------------


def _set_version(pyproject: Path, old: str, new: str) -> None:
    text = pyproject.read_text(encoding="utf-8")
    header = re.search(r"^\[project\]\s*$", text, re.MULTILINE)
    if header is None:
        raise ToolError(f"{pyproject}: no [project] table")
    end = re.search(r"^\[", text[header.end() :], re.MULTILINE)
    stop = header.end() + end.start() if end else len(text)
    pattern = re.compile(r"^(version\s*=\s*)([\"'])" + re.escape(old) + r"\2", re.MULTILINE)
    table, count = pattern.subn(rf"\g<1>\g<2>{new}\g<2>", text[header.end() : stop], count=1)
    if count != 1:
        raise ToolError(f'{pyproject}: no `version = "{old}"` line in [project] to change')
    pyproject.write_text(text[: header.end()] + table + text[stop:], encoding="utf-8")


def _replace_requirement(pyproject: Path, req: Requirement, specifier: str) -> str:
    """Rewrite the requirement string ``req`` in ``pyproject`` with ``specifier``; the new text."""
    head = re.match(r"\s*[A-Za-z0-9._-]+\s*(?:\[[^\]]*\])?", req.text)
    assert head is not None  # Requirement.parse matched the same shape
    _, semicolon, marker = req.text[head.end() :].partition(";")
    new = head.group(0).strip() + specifier + (f";{marker}" if semicolon else "")
    text = pyproject.read_text(encoding="utf-8")
    for quote in ('"', "'"):
        quoted = f"{quote}{req.text}{quote}"
        if quoted in text:
            pyproject.write_text(text.replace(quoted, f"{quote}{new}{quote}"), encoding="utf-8")
            return new
    raise ToolError(f"{pyproject}: cannot find the string {req.text!r} to rewrite; edit it by hand")


def _add_changelog_entry(changelog: Path, version: str, message: str) -> None:
    entry = f"## {version}\n\n" + "".join(
        f"- {line}\n" if i == 0 else f"  {line}\n"
        for i, line in enumerate(message.strip().splitlines())
    )
    if not changelog.is_file():
        changelog.write_text(f"# Changelog\n\n{entry}", encoding="utf-8")
        return
    text = changelog.read_text(encoding="utf-8")
    if re.search(rf"^## {re.escape(version)}\s*$", text, re.MULTILINE):
        raise ToolError(f"{changelog}: already has a section for {version}")
    first = re.search(r"^## ", text, re.MULTILINE)
    if first is None:
        text = text.rstrip("\n") + "\n\n" + entry
    else:
        text = text[: first.start()] + entry + "\n" + text[first.start() :]
    changelog.write_text(text, encoding="utf-8")


@dataclass(frozen=True)
class RangeChange:
    """One requirement of a dependant rewritten because it excluded the new version."""

    package: Package
    before: str
    after: str


def bump(root: Path, name: str, kind: str, message: str) -> int:
    """``python -m tools bump NAME major|minor|patch -m MESSAGE``; prints what it changed.

    Changes the package's version, prepends its CHANGELOG entry, and rewrites every requirement
    of another package on it whose range excludes the new version to ``compatible_range``. It
    bumps nothing else and records no release: it says which follow-ups ``tools check`` wants.
    """
    if not message.strip():
        raise ToolError("a bump needs a CHANGELOG message: -m 'what changed'")
    graph = Graph.load(root)
    package = _package(root, graph, name)
    old, new = package.version, next_version(package.version, kind)
    releases = recorded_releases(root)
    _set_version(package.pyproject, old, new)
    _add_changelog_entry(package.path / "CHANGELOG.md", new, message)
    print(f"{package.name}: {old} -> {new} ({kind})")
    print(f"  packages/{package.name}/pyproject.toml: version = {new!r}")
    print(f"  packages/{package.name}/CHANGELOG.md: added '## {new}'")

    changes: list[RangeChange] = []
    kept: list[str] = []
    for path in workspace_packages(root, graph).values():
        other = read_package(path)
        seen: set[str] = set()
        for req in [*other.dependencies, *(r for rs in other.optional.values() for r in rs)]:
            if req.name != package.name or req.text in seen:
                continue  # the same string in two places is rewritten everywhere at once
            seen.add(req.text)
            if req.admits(new):
                kept.append(f"{other.name} ({req.text})")
                continue
            after = _replace_requirement(other.pyproject, req, compatible_range(new))
            changes.append(RangeChange(other, req.text, after))
    if changes:
        print(f"requirements that excluded {new}, rewritten:")
        for change in changes:
            where = f"packages/{change.package.name}/pyproject.toml"
            print(f"  {where}: {change.before} -> {change.after}")
    if kept:
        print(f"requirements that already admit {new}, left as they are: {', '.join(kept)}")

    released_now = list(  # in workspace order, once each
        dict.fromkeys(
            c.package.name for c in changes if c.package.version in releases.get(c.package.name, {})
        )
    )
    if released_now:
        print(
            "changed packages whose current version is released: `tools check` fails until each "
            "is bumped too (nothing else was bumped):"
        )
        for dist in released_now:
            short = dist[len(DIST_PREFIX) :]
            print(f"  python -m tools bump {short} patch -m 'require {package.name}>={new}'")
    pinning = [
        m.name
        for m in milestones(root)
        if any(r.name == package.name and r.pinned() == old for _, r in m.pins())
    ]
    if pinning:
        if old in releases.get(package.name, {}):
            print(
                f"milestones pinning {package.name}=={old} keep running it, built from its "
                f"release commit: {', '.join(pinning)}"
            )
        else:
            print(
                f"warning: {package.name} {old} was never released, so milestones pinning it "
                f"can no longer get it: {', '.join(pinning)} (release {old} first, or re-pin them)"
            )
    print(
        f"next: commit, then `python -m tools release {package.name[len(DIST_PREFIX) :]}` "
        "and commit releases.toml"
    )
    return 0


# -- release ---------------------------------------------------------------------------------


def release(root: Path, names: list[str], *, every: bool, rev: str = "HEAD") -> int:
    """``python -m tools release NAME... | --all [--commit REV]``: record releases.

    Records each package's current version at commit ``rev`` (HEAD by default), which must hold
    exactly the package's folder as it is in the working tree (so: commit first), and be in the
    history of HEAD. A version already recorded is left as it is when its source has not changed
    since; when it has, nothing is recorded until it is bumped. All or nothing.
    """
    graph = Graph.load(root)
    packages = workspace_packages(root, graph)
    if every == bool(names):
        raise ToolError("name the packages to release, or give --all (not both)")
    chosen = list(packages) if every else [dist_name(graph, n) for n in names]
    git = Git(root)
    if not git.is_repository():
        raise ToolError(f"{root} is not the top of a git checkout: a release is a commit")
    sha = git.resolve(rev)
    if not git.is_ancestor(sha):
        raise ToolError(f"commit {sha} is not in the history of HEAD: release from the main line")
    releases = recorded_releases(root)
    problems: list[str] = []
    added: list[tuple[str, str]] = []
    kept: list[str] = []
    for dist in chosen:
        path = packages.get(dist)
        if path is None:
            problems.append(f"packages/{dist}: no such package")
            continue
        version = read_package(path).version
        relpath = f"packages/{dist}"
        changed = sorted(git.changed_since(sha, relpath))
        if changed:
            shown = ", ".join(changed[:4]) + (
                f" and {len(changed) - 4} more" if len(changed) > 4 else ""
            )
            problems.append(
                f"{relpath} differs from commit {sha[:12]} ({shown}): commit it, then release"
            )
            continue
        recorded = releases.get(dist, {})
        if version in recorded:
            if recorded[version] == sha or not git.changed_between(recorded[version], sha, relpath):
                kept.append(f"{dist} {version} (commit {recorded[version][:12]})")
            else:
                problems.append(
                    f"{dist} {version} is already released at commit {recorded[version][:12]} and "
                    f"has changed since: bump it (python -m tools bump ...) before releasing"
                )
            continue
        latest = max(recorded, key=parse_version) if recorded else None
        if latest is not None and parse_version(version) < parse_version(latest):
            problems.append(f"{dist} {version} is below its latest release {latest}")
            continue
        added.append((dist, version))
    if problems:
        raise ToolError("nothing recorded:\n  " + "\n  ".join(problems))
    for dist, version in added:
        releases.setdefault(dist, {})[version] = sha
    if added:
        write_releases(root, releases, packages)
    for dist, version in added:
        print(f"released {dist} {version} at commit {sha}")
    if kept:
        print(f"already released, unchanged: {', '.join(kept)}")
    if added:
        print(f"next: commit {RELEASES_FILE} (the record of these releases)")
    return 0
