"""The shared model: graph, requirements and versions, tox.toml reading, import finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tools.check import ToxConfig
from tools.graph import Graph, ToolError
from tools.imports import tinytorch_imports
from tools.tests.fake import make_workspace, write
from tools.versions import available_versions, package_at, source_for
from tools.workspace import (
    Requirement,
    compatible,
    find_milestone,
    parse_version,
    track_modules,
)

REPO = Path(__file__).resolve().parents[2]


def _table(*modules: dict[str, Any]) -> dict[str, Any]:
    return {"tracks": ["a", "b"], "module": list(modules)}


def test_real_graph_matches_design_md() -> None:
    graph = Graph.load(REPO)
    assert len(graph.modules) == 20
    assert list(graph.modules)[:3] == ["tensor", "activations", "layers"]
    assert graph.track("vision") == [
        *["tensor", "activations", "layers", "losses", "autograd", "optimizers", "training"],
        *["dataloader", "convolutions", "profiling", "quantization", "compression"],
        *["memoization", "acceleration", "benchmarking"],
    ]
    assert len(graph.track("full")) == 20
    assert graph.dependencies("autograd") == {"tensor", "activations", "layers", "losses"}
    assert "convolutions" not in graph.closure(["profiling"])
    assert graph.extra_modules("profiling", ["vision"]) == graph.closure(["convolutions"])
    assert "transformers" in graph.extra_modules("profiling")
    assert graph.module_of("tinytorch-tensor") == "tensor"
    assert graph.module_of("tinytorch-vision") is None


def test_closure_follows_every_path() -> None:
    graph = Graph.from_table(
        _table(
            {"number": 1, "name": "x", "tracks": ["a"]},
            {"number": 2, "name": "y", "depends": ["x"], "tracks": ["a"]},
            {"number": 3, "name": "z", "depends": ["x"], "tracks": ["b"]},
            {"number": 4, "name": "w", "depends": ["y", "z"], "tracks": ["a", "b"]},
        )
    )
    assert graph.closure(["w"]) == {"w", "x", "y", "z"}
    assert graph.dependencies("y") == {"x"}
    assert graph.track("b") == ["z", "w"]
    assert graph.ordered(["w", "x", "q"]) == ["x", "w", "q"]


@pytest.mark.parametrize(
    ("modules", "error"),
    [
        (
            [{"number": 1, "name": "x", "depends": ["y"], "tracks": ["a"]}],
            "names unknown ['y']",
        ),
        (
            [
                {"number": 1, "name": "x", "depends": ["y"], "tracks": ["a"]},
                {"number": 2, "name": "y", "depends": ["x"], "tracks": ["a"]},
            ],
            "cycle",
        ),
        ([{"number": 1, "name": "x", "tracks": ["c"]}], "unknown tracks ['c']"),
        (
            [{"number": 1, "name": "x", "tracks": ["a"]}, {"number": 2, "name": "x"}],
            "defined twice",
        ),
    ],
)
def test_broken_graph_is_rejected(modules: list[dict[str, Any]], error: str) -> None:
    with pytest.raises(ToolError, match=error.replace("[", r"\[").replace("]", r"\]")):
        Graph.from_table(_table(*modules))


def test_missing_graph_table_names_the_file(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    with pytest.raises(ToolError, match=r"pyproject.toml: no \[tool.tinytorch\] table"):
        Graph.load(tmp_path)


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ("0.1.0", ">=0.1.0,<0.2", True),
        ("0.1.9", ">=0.1.0,<0.2", True),
        ("0.2.0", ">=0.1.0,<0.2", False),
        ("0.0.9", ">=0.1.0,<0.2", False),
        ("0.1", "==0.1.0", True),
        ("0.1.1", "==0.1.0", False),
        ("0.1.1", "!=0.1.0", True),
        ("1.4.2", "~=1.4", True),
        ("2.0", "~=1.4", False),
        ("0.1.7", "==0.1.*", True),
        ("0.2.0", "==0.1.*", False),
        ("3.0", "", True),
        ("1.0", ">1.0", False),
        ("1.0", "<=1.0", True),
    ],
)
def test_specifiers(version: str, spec: str, ok: bool) -> None:
    assert Requirement.parse(f"tinytorch-tensor{spec}").admits(version) is ok


@pytest.mark.parametrize(
    ("specs", "ok"),
    [
        ((">=0.1.0,<0.2", ">=0.1.3"), True),
        ((">=0.1.0,<0.2", ">=0.2.0,<0.3"), False),
        ((">=0.1.0,<0.2", "==0.1.*"), True),
        (("==0.1.0", "!=0.1.0"), False),
        ((">0.1.0", "<0.1.1"), True),  # 0.1.0.1
        (("~=1.4", ">=2"), False),
    ],
)
def test_compatible_ranges(specs: tuple[str, ...], ok: bool) -> None:
    assert compatible(*(Requirement.parse(f"x{s}").specifier for s in specs)) is ok


def test_package_versions_are_plain_releases() -> None:
    assert parse_version("0.10.2").release == (0, 10, 2)
    for bad in ("0.1.0rc1", "0.1.0.post1", "1!0.1", "0.1.0+local", "v0.1"):
        with pytest.raises(ValueError, match=r"release of the form X\.Y\.Z"):
            parse_version(bad)
    with pytest.raises(ValueError, match="Invalid version"):
        parse_version("zero")


def test_requirement_parsing() -> None:
    r = Requirement.parse('Tinytorch_Losses[fast,x] (>=0.1.0, <0.2) ; extra == "vision"')
    assert (r.name, r.extras, str(r.specifier), r.marker) == (
        "tinytorch-losses",
        ("fast", "x"),
        "<0.2,>=0.1.0",
        'extra == "vision"',
    )
    assert r.text == 'Tinytorch_Losses[fast,x] (>=0.1.0, <0.2) ; extra == "vision"'
    assert r.is_sibling
    assert Requirement.parse("tinytorch-tensor==0.1.0").pinned() == "0.1.0"
    assert Requirement.parse("tinytorch-tensor>=0.1.0").pinned() is None
    assert Requirement.parse("tinytorch-tensor==0.1.*").pinned() is None
    with pytest.raises(ValueError, match=r"cannot parse requirement .*: a URL"):
        Requirement.parse("tinytorch-tensor @ file:///x")
    with pytest.raises(ValueError, match="cannot parse requirement"):
        Requirement.parse("tinytorch-tensor>=0.1.0,<")


def test_version_sources(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    assert available_versions(root, "tinytorch-tensor") == {"0.1.0"}
    assert source_for(root, "tinytorch-tensor", "0.1.0").tree == root / "packages/tinytorch-tensor"
    with pytest.raises(ToolError, match=r"tinytorch-tensor==0.2.0 is pinned, .* exist are 0.1.0"):
        source_for(root, "tinytorch-tensor", "0.2.0")
    with pytest.raises(ToolError, match="packages/tinytorch-attn does not exist"):
        source_for(root, "tinytorch-attn", "0.1.0")
    sha = "deadbeef" * 5
    write(root / "releases.toml", f'[tinytorch-tensor]\n"0.0.5" = "{sha}"\n')
    assert available_versions(root, "tinytorch-tensor") == {"0.0.5", "0.1.0"}
    old = source_for(root, "tinytorch-tensor", "0.0.5")
    assert (old.tree, old.commit) == (None, sha)
    # The fake workspace is no git checkout: the release's source cannot be read, and it says so.
    with pytest.raises(ToolError, match=f"released at commit {sha}, but .* is not a git checkout"):
        package_at(root, old)
    write(root / "releases.toml", '[tinytorch-tensor]\n"0.0.5" = "deadbeef"\n')
    with pytest.raises(ToolError, match="'deadbeef' is not a full 40-hex-digit commit id"):
        available_versions(root, "tinytorch-tensor")


def test_tox_config(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    tox = ToxConfig.read(root / "tox.toml")
    assert set(tox.tables) == {"vision", "language", "oracle", "lint"}
    assert tox.env_list == [
        *("lint", "tensor", "layers", "conv", "prof", "vision", "language", "oracle")
    ]
    # An env's own settings, else [env_run_base]'s; a ref to another setting resolved.
    assert tox.setting("oracle", "runner") == ["virtualenv"]
    assert tox.setting("oracle", "deps") == ["pytest", "torch==2.13.0"]
    assert tox.runs("conv", "commands", "test") == [["{env_name}"]]
    assert tox.runs("vision", "commands", "milestones") == [["--quick", "--track", "vision"]]
    assert tox.runs("lint", "commands", "test") == []
    assert tox.setting("vision", "runner") == []


def test_real_tox_toml_has_an_env_per_module_that_has_a_package() -> None:
    tox = ToxConfig.read(REPO / "tox.toml")
    graph = Graph.load(REPO)
    present = [
        m.name
        for m in graph.modules.values()
        if (REPO / "packages" / f"tinytorch-{m.name}" / "pyproject.toml").is_file()
    ]
    assert [e for e in tox.env_list if e in graph] == present
    assert set(tox.env_list) == set(tox.tables) | set(present)
    for track in graph.tracks:
        assert tox.runs(track, "commands_pre", "install") == [["--track", track]]


def test_a_track_is_its_modules_that_have_a_package(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    graph = Graph.load(root)
    assert track_modules(root, graph, "vision") == ["tensor", "layers", "conv", "prof"]
    assert track_modules(root, graph, "language") == ["tensor", "layers"]
    with pytest.raises(ToolError, match="unknown track 'audio'"):
        track_modules(root, graph, "audio")


def test_imports_found_and_guards(tmp_path: Path) -> None:
    src = tmp_path / "src"
    file = write(
        src / "tinytorch" / "prof" / "sub" / "m.py",
        "import os, tinytorch.a.b as ab\n"
        "from tinytorch import c, d\n"
        "from ... import e\n"
        "from .. import f\n"
        "from . import g\n"
        "try:\n    import tinytorch.h\nexcept (ValueError, ImportError):\n    pass\n"
        "try:\n    import tinytorch.i\nexcept ValueError:\n    import tinytorch.j\n"
        "class K:\n    import tinytorch.k\n"
        "async def f():\n    __import__('tinytorch.l')\n"
        "import typing\n"
        "if typing.TYPE_CHECKING:\n    import tinytorch.m\nelse:\n    import tinytorch.n\n",
    )
    found = [(r.target, r.line, r.guarded) for r in tinytorch_imports(file, src)]
    assert found == [
        ("tinytorch.a.b", 1, False),
        ("tinytorch.c", 2, False),
        ("tinytorch.d", 2, False),
        ("tinytorch.e", 3, False),
        ("tinytorch.prof", 4, False),
        ("tinytorch.prof.sub", 5, False),
        ("tinytorch.h", 7, True),
        ("tinytorch.i", 11, False),
        ("tinytorch.j", 13, False),
        ("tinytorch.k", 15, False),
        ("tinytorch.l", 17, True),
        ("tinytorch.m", 20, True),
        ("tinytorch.n", 22, False),
    ]


def test_find_milestone_by_name_with_or_without_year(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    assert find_milestone(root, "demo").name == "1957_demo"
    assert find_milestone(root, "1957_demo").name == "1957_demo"
    with pytest.raises(ToolError, match=r"no milestone 'nope'.*1957_demo"):
        find_milestone(root, "nope")
