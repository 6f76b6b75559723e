"""Every ``tinytorch.*`` import of a Python file, found with ``ast``, and whether it is guarded.

An import counts wherever it is: module level, inside a function, a class, an ``if TYPE_CHECKING:``
block or a ``try``. "Guarded" means it cannot break importing the module when its target is not
installed: inside a function, in ``try`` whose handlers catch ``ImportError``, or under
``TYPE_CHECKING``. String imports through ``importlib.import_module``/``__import__`` count too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from tools.graph import ToolError

_IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


@dataclass(frozen=True)
class ImportRef:
    """One import of a TinyTorch module: which module, the full dotted name, where, how guarded."""

    module: str
    target: str
    line: int
    guarded: bool


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (isinstance(t, ast.Name) and t.id in _IMPORT_ERRORS)
        or (isinstance(t, ast.Attribute) and t.attr in _IMPORT_ERRORS)
        for t in types
    )


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Finder(ast.NodeVisitor):
    def __init__(self, package: str) -> None:
        self.package = package
        self.guards = 0
        self.found: list[ImportRef] = []

    def _add(self, target: str, line: int) -> None:
        parts = target.split(".")
        if parts[0] == "tinytorch" and len(parts) > 1 and parts[1]:
            self.found.append(ImportRef(parts[1], target, line, self.guards > 0))

    def _guarded(self, nodes: list[ast.stmt]) -> None:
        self.guards += 1
        for node in nodes:
            self.visit(node)
        self.guards -= 1

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            parts = self.package.split(".") if self.package else []
            if node.level - 1 > len(parts):
                return  # beyond the top package: Python rejects it, nothing to hold it against
            base = ".".join(parts[: len(parts) - (node.level - 1)])
            module = ".".join(filter(None, [base, node.module or ""]))
        else:
            module = node.module or ""
        if module == "tinytorch":
            for alias in node.names:
                if alias.name != "*":
                    self._add(f"tinytorch.{alias.name}", node.lineno)
        else:
            self._add(module, node.lineno)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in ("import_module", "__import__") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self._add(first.value, node.lineno)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._guarded(node.body)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._guarded(node.body)

    def visit_Try(self, node: ast.Try) -> None:
        self._visit_try(node.body, node.handlers, node.orelse + node.finalbody)

    def visit_TryStar(self, node: ast.AST) -> None:
        # ``except*`` (3.11+) has the fields of ``try``; typed loosely to type-check on 3.10.
        self.visit_Try(cast("ast.Try", node))

    def _visit_try(
        self, body: list[ast.stmt], handlers: list[ast.ExceptHandler], rest: list[ast.stmt]
    ) -> None:
        if any(_catches_import_error(h) for h in handlers):
            self._guarded(body)
        else:
            for stmt in body:
                self.visit(stmt)
        for handler in handlers:
            self.visit(handler)
        for stmt in rest:
            self.visit(stmt)

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self._guarded(node.body)
            for stmt in node.orelse:
                self.visit(stmt)
        else:
            self.generic_visit(node)


def package_of(path: Path, src: Path) -> str:
    """The dotted package a file under ``src`` belongs to (``tinytorch.autograd.rules``)."""
    # Both ``pkg/__init__.py`` and ``pkg/mod.py`` belong to ``pkg``: drop the last part.
    return ".".join(path.relative_to(src).parts[:-1])


def tinytorch_imports(path: Path, src: Path | None = None) -> list[ImportRef]:
    """Every import of a ``tinytorch.<module>`` in ``path``; relative ones resolved against ``src``.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = Path(d) / "m.py"
    ...     _ = f.write_text("import tinytorch.tensor\\ndef f():\\n    import tinytorch.layers\\n")
    ...     [(r.module, r.line, r.guarded) for r in tinytorch_imports(f)]
    [('tensor', 1, False), ('layers', 3, True)]
    """
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError) as e:
        raise ToolError(f"{path}: cannot parse it: {e}") from e
    finder = _Finder(package_of(path, src) if src is not None else "")
    finder.visit(tree)
    return finder.found
