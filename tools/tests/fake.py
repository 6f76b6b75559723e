"""A small, clean fake workspace: a five-module graph, four packages, tox.ini, a milestone.

Graph: tensor <- layers <- conv (vision), layers <- attn (language), layers <- prof (vision) with
the extra ``vision`` = conv. Packages present: tensor, layers, conv, prof (attn is absent).
"""

from __future__ import annotations

from pathlib import Path

ROOT_PYPROJECT = """\
[project]
name = "fake-workspace"
version = "0"

[tool.tinytorch]
tracks = ["vision", "language"]

[[tool.tinytorch.module]]
number = 1
name = "tensor"
depends = []
tracks = ["vision", "language"]

[[tool.tinytorch.module]]
number = 2
name = "layers"
depends = ["tensor"]
tracks = ["vision", "language"]

[[tool.tinytorch.module]]
number = 3
name = "conv"
depends = ["layers"]
tracks = ["vision"]

[[tool.tinytorch.module]]
number = 4
name = "attn"
depends = ["layers"]
tracks = ["language"]

[[tool.tinytorch.module]]
number = 5
name = "prof"
depends = ["layers"]
extras = { vision = ["conv"] }
tracks = ["vision"]
"""

TOX_INI = """\
[tox]
env_list =
    lint
    {tensor,layers,conv,prof}
    vision
    language

[tracks]
vision = tensor layers conv prof
language = tensor layers

[testenv]
package = skip
commands_pre = python -m tools install --with-deps {env_name}
commands = python -m tools test {env_name}

[testenv:{tensor,layers,conv,prof}]

[testenv:vision]
commands_pre = python -m tools install {[tracks]vision}
commands =
    python -m tools test {[tracks]vision}
    python -m tools milestones --quick --track vision

[testenv:language]
commands_pre = python -m tools install {[tracks]language}
commands =
    python -m tools test {[tracks]language}
    python -m tools milestones --quick --track language

[testenv:lint]
commands_pre =
commands = ruff check .
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
    write(root / "tox.ini", TOX_INI)
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
