"""``tools check`` on a fake workspace: clean passes, each planted violation is caught, placed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tools.check import Checker, Violation
from tools.readme import sync
from tools.tests.fake import add_package, commit_all, edit, make_workspace, write

REPO = Path(__file__).resolve().parents[2]
PKG = "packages/tinytorch-{}"
PYPROJECT = PKG + "/pyproject.toml"
INIT = PKG + "/src/tinytorch/{}/__init__.py"
REQS = "milestones/1957_demo/requirements.txt"


def violations(root: Path) -> list[Violation]:
    return Checker(root).run()


def test_clean_workspace_passes(tmp_path: Path) -> None:
    assert violations(make_workspace(tmp_path)) == []


def test_clean_workspace_cli_exits_0_with_a_summary(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "tools", "--root", str(root), "check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("\n") == 1
    assert "graph check passed: 4 module packages" in result.stdout


def test_violation_cli_exits_1_one_line_each(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    write(root / "packages/tinytorch-tensor/src/tinytorch/__init__.py", "")
    edit(root / "tox.toml", '"prof", "vision"', '"vision"')
    result = subprocess.run(
        [sys.executable, "-m", "tools", "--root", str(root), "check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("packages/tinytorch-tensor/src/tinytorch/__init__.py: ")
    assert any(line.startswith("tox.toml: no env 'prof'") for line in lines)
    assert lines[-1] == f"graph check: {len(lines) - 1} violation(s)"


Plant = Callable[[Path], None]


def _edit(path: str, old: str, new: str) -> Plant:
    return lambda root: edit(root / path, old, new)


def _write(path: str, text: str) -> Plant:
    def plant(root: Path) -> None:
        write(root / path, text)

    return plant


def _remove(path: str) -> Plant:
    return lambda root: (root / path).unlink()


CASES: list[tuple[str, Plant, str, str]] = [
    # (a) declared dependencies and extras against the graph
    (
        "missing direct dependency",
        _edit(PYPROJECT.format("layers"), ', "tinytorch-tensor>=0.1.0,<0.2"', ""),
        PYPROJECT.format("layers"),
        "dependencies lack tinytorch-tensor",
    ),
    (
        "transitive dependency declared as direct",
        _edit(
            PYPROJECT.format("conv"), '"numpy>=1.24"', '"numpy>=1.24", "tinytorch-tensor>=0.1,<0.2"'
        ),
        PYPROJECT.format("conv"),
        "name tinytorch-tensor, which the module graph does not",
    ),
    (
        "non-numpy runtime dependency",
        _edit(PYPROJECT.format("tensor"), '"numpy>=1.24"', '"numpy>=1.24", "requests"'),
        PYPROJECT.format("tensor"),
        "depends on requests: numpy is the only",
    ),
    (
        "numpy not declared",
        _edit(PYPROJECT.format("tensor"), '"numpy>=1.24"', ""),
        PYPROJECT.format("tensor"),
        "does not declare numpy",
    ),
    (
        "sibling range excludes the tree's version",
        _edit(
            PYPROJECT.format("layers"),
            "tinytorch-tensor>=0.1.0,<0.2",
            "tinytorch-tensor>=0.2.0,<0.3",
        ),
        PYPROJECT.format("layers"),
        "excludes tinytorch-tensor 0.1.0",
    ),
    (
        "dependency on a package that does not exist",
        _edit(PYPROJECT.format("layers"), "tinytorch-tensor>=", "tinytorch-attn>="),
        PYPROJECT.format("layers"),
        "tinytorch-attn, which has no package in packages/",
    ),
    (
        "extra missing",
        _edit(PYPROJECT.format("prof"), "vision = [", "language = ["),
        PYPROJECT.format("prof"),
        "lacks extra 'vision' = [tinytorch-conv]",
    ),
    (
        "extra with the wrong module",
        _edit(
            PYPROJECT.format("prof"), '["tinytorch-conv>=0.1.0,<0.2"]', '["tinytorch-attn>=0.1"]'
        ),
        PYPROJECT.format("prof"),
        "extra 'vision' lack tinytorch-conv",
    ),
    (
        "project name differs from its folder",
        _edit(PYPROJECT.format("conv"), 'name = "tinytorch-conv"', 'name = "tinytorch-convs"'),
        PYPROJECT.format("conv"),
        "project name is 'tinytorch-convs'",
    ),
    # (b) imports in the source
    (
        "import of a later module",
        _edit(
            INIT.format("layers", "layers"), "from . import _impl", "from tinytorch.conv import x"
        ),
        INIT.format("layers", "layers") + ":2",
        "imports tinytorch.conv, but tinytorch-layers does not depend on tinytorch-conv",
    ),
    (
        "import of a sibling branch inside a function",
        _write(
            PKG.format("conv") + "/src/tinytorch/conv/late.py",
            "def f():\n    import tinytorch.attn\n",
        ),
        PKG.format("conv") + "/src/tinytorch/conv/late.py:2",
        "imports tinytorch.attn, but tinytorch-conv does not depend",
    ),
    (
        "import under TYPE_CHECKING",
        _write(
            PKG.format("tensor") + "/src/tinytorch/tensor/typing_only.py",
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from tinytorch.layers import L\n",
        ),
        PKG.format("tensor") + "/src/tinytorch/tensor/typing_only.py:3",
        "imports tinytorch.layers, but tinytorch-tensor does not depend",
    ),
    (
        "from tinytorch import module",
        _write(
            PKG.format("tensor") + "/src/tinytorch/tensor/ns.py", "from tinytorch import layers\n"
        ),
        PKG.format("tensor") + "/src/tinytorch/tensor/ns.py:1",
        "imports tinytorch.layers, but",
    ),
    (
        "relative import out of the package",
        _write(PKG.format("layers") + "/src/tinytorch/layers/up.py", "from ..conv import Conv2d\n"),
        PKG.format("layers") + "/src/tinytorch/layers/up.py:1",
        "imports tinytorch.conv, but tinytorch-layers does not depend",
    ),
    (
        "string import through importlib",
        _write(
            PKG.format("layers") + "/src/tinytorch/layers/dyn.py",
            "import importlib\nattn = importlib.import_module('tinytorch.attn.core')\n",
        ),
        PKG.format("layers") + "/src/tinytorch/layers/dyn.py:2",
        "imports tinytorch.attn.core, but",
    ),
    (
        "unguarded import of an extra's module",
        _edit(
            INIT.format("prof", "prof"),
            "from tinytorch.layers import Linear",
            "import tinytorch.conv",
        ),
        INIT.format("prof", "prof") + ":3",
        "imports tinytorch.conv unguarded, but it comes only with the extra 'vision'",
    ),
    (
        "try that does not catch ImportError",
        _write(
            PKG.format("prof") + "/src/tinytorch/prof/bad.py",
            "try:\n    import tinytorch.conv\nexcept KeyError:\n    pass\n",
        ),
        PKG.format("prof") + "/src/tinytorch/prof/bad.py:2",
        "unguarded",
    ),
    (
        "module outside the graph",
        _write(PKG.format("tensor") + "/src/tinytorch/tensor/x.py", "import tinytorch.vision\n"),
        PKG.format("tensor") + "/src/tinytorch/tensor/x.py:1",
        "imports tinytorch.vision, which is not a module of the graph",
    ),
    (
        "a test importing a non-dependency",
        _write(PKG.format("tensor") + "/tests/test_more.py", "from tinytorch.layers import L\n"),
        PKG.format("tensor") + "/tests/test_more.py:1",
        "imports tinytorch.layers, but tinytorch-tensor does not depend",
    ),
    (
        "source that does not parse",
        _write(PKG.format("tensor") + "/src/tinytorch/tensor/broken.py", "def (:\n"),
        PKG.format("tensor") + "/src/tinytorch/tensor/broken.py",
        "cannot parse it",
    ),
    # (c) tox.toml against the packages present and the graph
    (
        "package without a tox env",
        _edit("tox.toml", '"prof", "vision"', '"vision"'),
        "tox.toml",
        "no env 'prof' in env_list for packages/tinytorch-prof",
    ),
    (
        "tox env for a package that does not exist",
        _edit("tox.toml", '"prof", "vision"', '"prof", "attn", "vision"'),
        "tox.toml",
        "env 'attn' tests packages/tinytorch-attn, which does not exist",
    ),
    (
        "track env that installs a list of its own instead of the graph's",
        _edit("tox.toml", '"install", "--track", "vision"', '"install", "tensor", "layers"'),
        "tox.toml",
        "env 'vision' does not run `python -m tools install --track vision` in commands_pre",
    ),
    (
        "track env that tests another track",
        _edit("tox.toml", '"test", "--track", "language"', '"test", "--track", "vision"'),
        "tox.toml",
        "env 'language' does not run `python -m tools test --track language` in commands",
    ),
    (
        "track env that tests a module besides its track",
        _edit("tox.toml", '"--track", "language", "--"', '"--track", "language", "conv", "--"'),
        "tox.toml",
        "env 'language' does not run `python -m tools test --track language` in commands",
    ),
    (
        "track without an env",
        _edit("tox.toml", "[env.language]", "[env.lang]"),
        "tox.toml",
        "no [env.language] table for the track",
    ),
    (
        "package env that does not install with its declared dependencies",
        _edit(
            "tox.toml",
            "[env.lint]",
            '[env.conv]\ncommands_pre = [["python", "-m", "tools", '
            '"install", "{env_name}"]]\n\n[env.lint]',
        ),
        "tox.toml",
        "env 'conv' does not run `python -m tools install --with-deps {env_name}` in commands_pre",
    ),
    (
        "track env that does not run its milestones",
        _edit("tox.toml", '"--quick", "--track", "vision"', '"--quick", "--track", "language"'),
        "tox.toml",
        "env 'vision' does not run `python -m tools milestones --quick --track vision` in commands",
    ),
    (
        "no oracle env",
        _edit("tox.toml", "[env.oracle]", "[env.torchless]"),
        "tox.toml",
        "no env 'oracle': one env installs torch",
    ),
    (
        "oracle env that does not test every package",
        _edit("tox.toml", '"torch", "tensor", "layers", "conv", "prof"', '"torch", "tensor"'),
        "tox.toml",
        "env 'oracle': `python -m tools test --require torch` must name every package present, "
        "or `--track` a track holding every module (it names: tensor)",
    ),
    (
        "oracle env that tests a track not holding every module",
        _edit(
            "tox.toml",
            '"torch", "tensor", "layers", "conv", "prof"',
            '"torch", "--track", "vision"',
        ),
        "tox.toml",
        "(it names: --track vision)",
    ),
    (
        "oracle env whose tests may skip the oracle",
        _edit("tox.toml", '"test", "--require", "torch"', '"test"'),
        "tox.toml",
        "env 'oracle' does not run `python -m tools test --require torch ...` in commands",
    ),
    (
        "oracle env that installs a package that does not exist",
        _edit(
            "tox.toml",
            '"install", "tensor", "layers", "conv", "prof"',
            '"install", "tensor", "layers", "conv", "prof", "attn"',
        ),
        "tox.toml",
        "`python -m tools install` must name every package present, or `--track` a track "
        "holding every module (it names: tensor layers conv prof attn)",
    ),
    (
        "oracle env without torch pinned",
        _edit("tox.toml", '"torch==2.13.0"', '"torch"'),
        "tox.toml",
        "env 'oracle' does not pin torch with == in its deps",
    ),
    (
        "oracle env installing with uv",
        _edit("tox.toml", 'runner = "virtualenv"\n', ""),
        "tox.toml",
        "env 'oracle' must set `runner = \"virtualenv\"`",
    ),
    (
        "env left out of env_list",
        _edit("tox.toml", '"language", "oracle"]', '"oracle"]'),
        "tox.toml",
        "env 'language' is not in env_list",
    ),
    (
        "env_list naming an env nothing defines",
        _edit("tox.toml", '"oracle"]', '"oracle", "docs"]'),
        "tox.toml",
        "env_list names 'docs', which is neither a module nor an [env] table",
    ),
    (
        "no tox.toml",
        _remove("tox.toml"),
        "tox.toml",
        "cannot read it",
    ),
    (
        "tox.toml that is not tox's shape",
        _edit("tox.toml", "env_list = [", "env_list = [1, "),
        "tox.toml",
        "env_list must be a list of env names",
    ),
    # the README's tracks table against the graph
    (
        "README table missing a module of a track",
        _edit("README.md", "| vision | 01-03, 05 |", "| vision | 01-03 |"),
        "README.md",
        "the tracks table is not what the module graph says: run `python -m tools sync`",
    ),
    (
        "README table giving a track another's milestones",
        _edit(
            "README.md",
            "| language | 01-02, 04; 04 not built yet | all |",
            "| language | 01-02, 04; 04 not built yet | none |",
        ),
        "README.md",
        "the tracks table is not what the module graph says",
    ),
    (
        "README without the tracks table",
        _write("README.md", "# Fake\n"),
        "README.md",
        "no tracks table: put the lines",
    ),
    # (d) milestone pins
    (
        "pin that is not exact",
        _edit(REQS, "tinytorch-layers==0.1.0", "tinytorch-layers>=0.1.0"),
        REQS + ":3",
        "is not an exact ==X.Y.Z pin",
    ),
    (
        "pin of a version that does not exist",
        _edit(REQS, "tinytorch-layers==0.1.0", "tinytorch-layers==0.2.0"),
        REQS + ":3",
        "pins tinytorch-layers==0.2.0, but the versions that exist are 0.1.0",
    ),
    (
        "pins missing part of the closure",
        _edit(REQS, "tinytorch-tensor==0.1.0\n", ""),
        REQS,
        "does not pin tinytorch-tensor, which tinytorch-layers needs",
    ),
    (
        "pin of something not a workspace package",
        _edit(REQS, "tinytorch-tensor==0.1.0", "tinytorch-tensor==0.1.0\ntorch==2.0.0"),
        REQS + ":3",
        "pins torch, which is not a module package",
    ),
    (
        "pin of a module whose package does not exist",
        _edit(REQS, "tinytorch-layers==0.1.0", "tinytorch-layers==0.1.0\ntinytorch-attn==0.1.0"),
        REQS + ":4",
        "pins tinytorch-attn, which has no package in packages/",
    ),
    (
        "milestone importing what it does not pin",
        _edit("milestones/1957_demo/main.py", "from tinytorch.layers", "from tinytorch.conv"),
        "milestones/1957_demo/main.py:1",
        "imports tinytorch.conv, which requirements.txt does not pin",
    ),
    (
        "milestone without a README",
        _remove("milestones/1957_demo/README.md"),
        "milestones/1957_demo/README.md",
        "missing",
    ),
    (
        "unparsable pin",
        _edit(REQS, "tinytorch-layers==0.1.0", "tinytorch-layers @ https://example.com/x.whl"),
        REQS + ":3",
        "cannot parse requirement",
    ),
    # (e) namespace layout
    (
        "src/tinytorch/__init__.py",
        _write(PKG.format("layers") + "/src/tinytorch/__init__.py", ""),
        PKG.format("layers") + "/src/tinytorch/__init__.py",
        "must not exist: tinytorch is a PEP 420 namespace",
    ),
    (
        "missing py.typed",
        _remove(PKG.format("conv") + "/src/tinytorch/conv/py.typed"),
        PKG.format("conv") + "/src/tinytorch/conv/py.typed",
        "missing",
    ),
    (
        "a package shipping another module's namespace",
        _write(PKG.format("conv") + "/src/tinytorch/layers/extra.py", "X = 1\n"),
        PKG.format("conv") + "/src/tinytorch/layers",
        "may ship only tinytorch.conv",
    ),
    # packages that are not modules
    (
        "unknown package with code",
        _write("packages/tinytorch-extras/src/tinytorch/extras/__init__.py", "X = 1\n"),
        "packages/tinytorch-extras",
        "neither a module of the graph nor a track's meta package",
    ),
]


@pytest.mark.parametrize(
    ("plant", "where", "what"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_planted_violation_is_caught_where_it_is(
    tmp_path: Path, plant: Plant, where: str, what: str
) -> None:
    root = make_workspace(tmp_path)
    plant(root)
    found = [str(v) for v in violations(root)]
    assert any(line.startswith(f"{where}: ") and what in line for line in found), found


def _tensor_released_at_0_0_9(root: Path) -> str:
    """Commit tensor at 0.0.9, then move the tree to 0.1.0 and pin 0.0.9; the 0.0.9 commit."""
    tensor = root / PYPROJECT.format("tensor")
    edit(tensor, 'version = "0.1.0"', 'version = "0.0.9"')
    edit(root / PYPROJECT.format("layers"), "tinytorch-tensor>=0.1.0", "tinytorch-tensor>=0.0.9")
    sha = commit_all(root, "tensor 0.0.9")
    edit(tensor, 'version = "0.0.9"', 'version = "0.1.0"')
    edit(root / REQS, "tinytorch-tensor==0.1.0", "tinytorch-tensor==0.0.9")
    return sha


def test_releases_file_makes_an_older_pin_valid(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    sha = _tensor_released_at_0_0_9(root)
    assert [str(v) for v in violations(root)] == [
        f"{REQS}:2: pins tinytorch-tensor==0.0.9, but the versions that exist are 0.1.0"
    ]
    write(root / "releases.toml", f'[tinytorch-tensor]\n"0.0.9" = "{sha}"\n')
    assert violations(root) == []


def test_pins_must_meet_each_others_ranges(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    sha = _tensor_released_at_0_0_9(root)
    write(root / "releases.toml", f'[tinytorch-tensor]\n"0.0.9" = "{sha}"\n')
    edit(root / PYPROJECT.format("layers"), "tinytorch-tensor>=0.0.9,<0.2", "tinytorch-tensor>=0.1")
    found = [str(v) for v in violations(root)]
    assert found == [
        f"{REQS}: pins tinytorch-tensor==0.0.9, but tinytorch-layers==0.1.0 requires "
        "'tinytorch-tensor>=0.1'"
    ]


def test_meta_package_depends_on_exactly_its_tracks_packages_present(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    meta = root / "packages" / "tinytorch-language"
    write(
        meta / "pyproject.toml",
        '[project]\nname = "tinytorch-language"\nversion = "0.1.0"\n'
        'dependencies = ["tinytorch-tensor>=0.1.0,<0.2"]\n',
    )
    # attn is in the language track but has no package: the meta package lists what exists.
    assert [str(v) for v in violations(root)] == [
        "packages/tinytorch-language/pyproject.toml: dependencies lack tinytorch-layers, "
        "which the module graph requires"
    ]
    edit(
        meta / "pyproject.toml",
        '"tinytorch-tensor',
        '"tinytorch-layers>=0.1.0,<0.2", "tinytorch-tensor',
    )
    assert violations(root) == []
    edit(
        meta / "pyproject.toml",
        '"tinytorch-tensor',
        '"tinytorch-attn>=0.1.0,<0.2", "tinytorch-tensor',
    )
    assert [str(v) for v in violations(root)] == [
        "packages/tinytorch-language/pyproject.toml: dependencies name tinytorch-attn, which has "
        "no package in packages/ (a track lists the packages of its track that exist)"
    ]
    add_package(root, "attn", ["layers"], "from tinytorch.layers import Linear\n")
    edit(root / "tox.toml", '"prof", "vision"', '"prof", "attn", "vision"')
    for command in ('"install", ', '"test", "--require", "torch", '):
        edit(
            root / "tox.toml",
            f'{command}"tensor", "layers", "conv", "prof"',
            f'{command}"tensor", "layers", "conv", "prof", "attn"',
        )
    edit(root / "README.md", "01-02, 04; 04 not built yet", "01-02, 04")
    assert violations(root) == []
    write(meta / "src" / "tinytorch" / "language" / "__init__.py", "")
    assert [str(v) for v in violations(root)] == [
        "packages/tinytorch-language: the meta package of track 'language' must carry no code"
    ]


def test_the_track_holding_every_module_runs_its_milestones_in_full(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    # attn joins vision, which then holds every module of the graph (attn has no package, so
    # the track's lists still name the four present).
    edit(
        root / "pyproject.toml",
        'name = "attn"\ndepends = ["layers"]\ntracks = ["language"]',
        'name = "attn"\ndepends = ["layers"]\ntracks = ["vision", "language"]',
    )
    assert [str(v) for v in violations(root)] == [
        "README.md: the tracks table is not what the module graph says: run `python -m tools sync`",
        "tox.toml: env 'vision' does not run `python -m tools milestones --track vision` in "
        "commands",
    ]
    edit(root / "tox.toml", '"--quick", "--track", "vision"', '"--track", "vision"')
    assert sync(root) == 0
    assert violations(root) == []
    assert "| vision | all 5 (01-05); 04 not built yet | all |" in (root / "README.md").read_text()


def test_packages_without_code_outside_the_graph_are_ignored(tmp_path: Path) -> None:
    root = make_workspace(tmp_path)
    write(root / "packages" / "tinytorch-docs" / "README.md", "# docs\n")
    assert violations(root) == []


def test_the_real_repository_passes() -> None:
    found = [str(v) for v in violations(REPO)]
    assert found == [], "\n".join(found)
