"""A small, clean fake workspace: a five-module graph, four packages, tox.toml, a milestone.

Graph: tensor <- layers <- conv (vision), layers <- attn (language), layers <- prof (vision) with
the extra ``vision`` = conv. Packages present: tensor, layers, conv, prof (attn is absent).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tools.graph import Graph
from tools.readme import BEGIN, END, tracks_table

# (name, depends, tracks, extras) of each module, numbered in this order.
GRAPH = [
    ("tensor", [], ["vision", "language"], {}),
    ("layers", ["tensor"], ["vision", "language"], {}),
    ("conv", ["layers"], ["vision"], {}),
    ("attn", ["layers"], ["language"], {}),
    ("prof", ["layers"], ["vision"], {"vision": ["conv"]}),
]


def graph_pyproject(modules: list[tuple[str, list[str], list[str], dict[str, list[str]]]]) -> str:
    """The root pyproject.toml declaring ``modules`` as the graph, with tracks vision, language."""
    text = '[project]\nname = "fake-workspace"\nversion = "0"\n\n'
    text += '[tool.tinytorch]\ntracks = ["vision", "language"]\n'
    for number, (name, depends, tracks, extras) in enumerate(modules, start=1):
        text += f'\n[[tool.tinytorch.module]]\nnumber = {number}\nname = "{name}"\n'
        text += f"depends = {depends!r}\n".replace("'", '"')
        if extras:
            pairs = ", ".join(f"{k} = {v!r}" for k, v in extras.items()).replace("'", '"')
            text += f"extras = {{ {pairs} }}\n"
        text += f"tracks = {tracks!r}\n".replace("'", '"')
    return text


ROOT_PYPROJECT = graph_pyproject(GRAPH)


def _command(*words: str, posargs: bool = False) -> str:
    """One tox.toml command: its words, then ``--`` and the posargs when asked."""
    listed = ", ".join(f'"{w}"' for w in words)
    tail = ', "--", { replace = "posargs", extend = true }' if posargs else ""
    return f"[{listed}{tail}]"


def tox_toml(packages: list[str], tracks: list[str], *, lint: bool) -> str:
    """A tox.toml as the workspace's: an env per package, one per track (``--track``), the
    oracle env over every package, optionally ``lint``."""
    tools = ("python", "-m", "tools")
    listed = ["lint"] * lint + [*packages, *tracks, "oracle"]
    text = "env_list = [" + ", ".join(f'"{e}"' for e in listed) + "]\n"
    text += (
        '\n[env_run_base]\npackage = "skip"\ndeps = ["pytest"]\n'
        f"commands_pre = [{_command(*tools, 'install', '--with-deps', '{env_name}')}]\n"
        f"commands = [{_command(*tools, 'test', '{env_name}', posargs=True)}]\n"
    )
    for track in tracks:
        text += (
            f"\n[env.{track}]\n"
            f"commands_pre = [{_command(*tools, 'install', '--track', track)}]\n"
            "commands = [\n"
            f"    {_command(*tools, 'test', '--track', track, posargs=True)},\n"
            f"    {_command(*tools, 'milestones', '--quick', '--track', track)},\n"
            "]\n"
        )
    text += (
        '\n[env.oracle]\nrunner = "virtualenv"\n'
        'deps = [{ replace = "ref", of = ["env_run_base", "deps"], extend = true }, '
        '"torch==2.13.0"]\n'
        f"commands_pre = [{_command(*tools, 'install', *packages)}]\n"
        f"commands = [{_command(*tools, 'test', '--require', 'torch', *packages, posargs=True)}]\n"
    )
    if lint:
        text += '\n[env.lint]\ncommands_pre = []\ncommands = [["ruff", "check", "."]]\n'
    return text


# attn has no package here; the track envs read the track's packages from the graph.
TOX_TOML = tox_toml(["tensor", "layers", "conv", "prof"], ["vision", "language"], lint=True)

# The README's tracks table for the clean workspace, as `python -m tools sync` writes it.
README = f"""\
# Fake

## Learning tracks

{BEGIN}
| track | modules | milestones |
|---|---|---|
| vision | 01-03, 05 | all |
| language | 01-02, 04; 04 not built yet | all |
{END}

More prose.
"""

PACKAGE_PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.18"]
build-backend = "hatchling.build"

[project]
name = "tinytorch-{name}"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = [{deps}]
{optional}
[tool.hatch.build.targets.wheel]
packages = ["src/tinytorch"]
"""

# What each package's source imports: its own module and its dependencies, all allowed.
SOURCES = {
    "tensor": "import numpy as np\n\nfrom tinytorch.tensor import _impl\n",
    "layers": "from tinytorch.tensor import Tensor\nfrom . import _impl\n",
    "conv": "import tinytorch.layers\nfrom tinytorch import tensor\n",
    "prof": (
        "from typing import TYPE_CHECKING\n\n"
        "from tinytorch.layers import Linear\n\n"
        "try:\n    from tinytorch.conv import Conv2d\nexcept ImportError:\n    Conv2d = None\n\n"
        "if TYPE_CHECKING:\n    from tinytorch.conv import conv2d\n\n\n"
        "def profile_conv():\n    import tinytorch.conv\n\n    return tinytorch.conv\n"
    ),
}
DEPS = {"tensor": [], "layers": ["tensor"], "conv": ["layers"], "prof": ["layers"]}


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``, making its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) with ``new`` in ``path``."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def add_package(root: Path, name: str, deps: list[str], source: str, optional: str = "") -> Path:
    """Write ``packages/tinytorch-<name>`` with its pyproject, module, py.typed and a test."""
    base = root / "packages" / f"tinytorch-{name}"
    requirements = ", ".join(['"numpy>=1.24"', *(f'"tinytorch-{d}>=0.1.0,<0.2"' for d in deps)])
    write(
        base / "pyproject.toml",
        PACKAGE_PYPROJECT.format(name=name, deps=requirements, optional=optional),
    )
    module = base / "src" / "tinytorch" / name
    write(module / "__init__.py", source)
    write(module / "_impl.py", "VALUE = 1\n")
    write(module / "py.typed", "")
    write(base / "tests" / f"test_{name}.py", f"import tinytorch.{name}\n")
    return base


def make_workspace(root: Path) -> Path:
    """Fill ``root`` with the clean fake workspace and return it."""
    write(root / "pyproject.toml", ROOT_PYPROJECT)
    write(root / "tox.toml", TOX_TOML)
    write(root / "README.md", README)
    for name, source in SOURCES.items():
        optional = (
            '\n[project.optional-dependencies]\nvision = ["tinytorch-conv>=0.1.0,<0.2"]\n'
            if name == "prof"
            else ""
        )
        add_package(root, name, DEPS[name], source, optional)
    demo = root / "milestones" / "1957_demo"
    write(
        demo / "requirements.txt", "# the demo\ntinytorch-tensor==0.1.0\ntinytorch-layers==0.1.0\n"
    )
    write(demo / "main.py", "from tinytorch.layers import Linear\n")
    write(demo / "README.md", "# Demo\n")
    return root


# -- a workspace whose packages import and run, under git, for the release tools -------------

# The same graph without prof.
RELEASE_PYPROJECT = graph_pyproject(GRAPH[:4])

RELEASE_TOX_TOML = tox_toml(
    ["tensor", "layers", "conv", "attn"], ["vision", "language"], lint=False
)

# Importable without numpy, so that an environment can be proved without a real numpy.
RELEASE_SOURCES = {
    "tensor": 'def old_api() -> str:\n    return "tensor 0.1.0 code"\n',
    "layers": (
        "from tinytorch.tensor import old_api\n\n\n"
        'def describe() -> str:\n    return "layers on " + old_api()\n'
    ),
    "conv": "from tinytorch.layers import describe\n\nCONV = True\n",
    "attn": "from tinytorch.layers import describe\n\nATTN = True\n",
}
RELEASE_DEPS = {"tensor": [], "layers": ["tensor"], "conv": ["layers"], "attn": ["layers"]}
TRACKS = {"vision": ["tensor", "layers", "conv"], "language": ["tensor", "layers", "attn"]}

META_PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.20"]
build-backend = "hatchling.build"

[project]
name = "tinytorch-{track}"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = [{deps}]

[tool.hatch.build.targets.wheel]
bypass-selection = true
"""

DEMO_MAIN = """\
import sys

from tinytorch.conv import CONV
from tinytorch.layers import describe

said = describe()
print(f"demo milestone: {said}")
sys.exit(0 if CONV and said == "layers on tensor 0.1.0 code" else 1)
"""


def add_meta_package(root: Path, track: str, modules: list[str]) -> Path:
    """Write ``packages/tinytorch-<track>``: no code, its modules as dependencies."""
    deps = ", ".join(f'"tinytorch-{m}>=0.1.0,<0.2"' for m in modules)
    base = root / "packages" / f"tinytorch-{track}"
    write(base / "pyproject.toml", META_PYPROJECT.format(track=track, deps=deps))
    write(base / "CHANGELOG.md", "# Changelog\n\n## 0.1.0\n\n- First release.\n")
    return base


def make_release_workspace(root: Path) -> Path:
    """Four importable packages (tensor <- layers <- conv, attn), two tracks, a milestone."""
    write(root / "pyproject.toml", RELEASE_PYPROJECT)
    write(root / "tox.toml", RELEASE_TOX_TOML)
    write(root / ".gitignore", ".tox/\n.milestone-envs/\n__pycache__/\n")
    for name, source in RELEASE_SOURCES.items():
        base = add_package(root, name, RELEASE_DEPS[name], source)
        (base / "src" / "tinytorch" / name / "_impl.py").unlink()
        write(base / "CHANGELOG.md", "# Changelog\n\n## 0.1.0\n\n- First release.\n")
    for track, modules in TRACKS.items():
        add_meta_package(root, track, modules)
    demo = root / "milestones" / "1957_demo"
    write(
        demo / "requirements.txt",
        "tinytorch-tensor==0.1.0\ntinytorch-layers==0.1.0\ntinytorch-conv==0.1.0\n",
    )
    write(demo / "main.py", DEMO_MAIN)
    write(demo / "README.md", "# Demo\n")
    write(root / "README.md", tracks_table(root, Graph.load(root)) + "\n")
    return root


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` with a fixed identity and no signing; its stripped stdout."""
    result = subprocess.run(
        [
            *["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"],
            *["-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", *args],
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.strip()


def commit_all(root: Path, message: str) -> str:
    """``git add -A`` and commit (initializing the repository if needed); the new commit's id."""
    if not (root / ".git").exists():
        git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")
