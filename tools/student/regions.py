"""Solution regions: find them in a module's source, check them, and turn them into stubs.

A region is a run of lines inside a function body, between ``# BEGIN SOLUTION <id>`` and
``# END SOLUTION``, led by ``# HINT:`` lines and one ``# TESTS: <pytest -k expression>`` line,
optionally followed by ``# STUDENT:`` lines (the code that replaces the region in a student's
copy). docs/student.md is the convention; this module is its one reader, so the generator, the
grader and the leak test agree on what a region is.

Example:
    >>> text = '''def double(x):
    ...     # BEGIN SOLUTION double
    ...     # HINT: add x to itself
    ...     # TESTS: double
    ...     return x + x
    ...     # END SOLUTION
    ... '''
    >>> [region] = parse(text, "ops.py")
    >>> region.id, region.hint, region.tests, region.code
    ('double', 'add x to itself', 'double', ('    return x + x',))
    >>> print(stub(text, [region], "demo"))  # doctest: +ELLIPSIS
    def double(x):
        # EXERCISE double: add x to itself
        # check it: python -m tools student test demo -k "double"
        raise NotImplementedError("demo exercise double: add x to itself (check it: ...)")
    <BLANKLINE>
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.graph import ToolError

ID = re.compile(r"[a-z0-9][a-z0-9_.-]*\Z")
_BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION\b(?P<rest>.*)$")
_END = re.compile(r"^(?P<indent>[ \t]*)#\s*END SOLUTION\b(?P<rest>.*)$")
_DIRECTIVE = re.compile(r"^[ \t]*#\s*(?P<key>HINT|TESTS|STUDENT):(?P<value>.*)$")


class RegionError(ToolError):
    """A marker that breaks the convention; the message starts with ``file:line``."""


@dataclass(frozen=True)
class Region:
    """One solution region: where it is, what it asks for and the code it hides.

    ``begin`` and ``end`` are the 1-based lines of the BEGIN and END markers; ``code`` the lines
    between the directives and END (the solution); ``student`` the replacement code lines, with
    the indentation they should have in the student's copy.
    """

    id: str
    path: str
    begin: int
    end: int
    indent: str
    hints: tuple[str, ...]
    tests: str
    student: tuple[str, ...]
    code: tuple[str, ...]

    @property
    def hint(self) -> str:
        """The hint lines joined into one sentence."""
        return " ".join(self.hints)

    def where(self) -> str:
        """``path:line`` of the BEGIN marker."""
        return f"{self.path}:{self.begin}"


def parse(text: str, path: str) -> list[Region]:
    """Every region of one source file, checked; :class:`RegionError` at the first broken one.

    Checks: ids well formed and unique in the file, HINT then exactly one TESTS right after
    BEGIN, END present at BEGIN's indentation, no nesting, every code line indented at least as
    much as BEGIN, at least one code line, and the region lies inside a function body, whole
    statements only (so that replacing it leaves valid Python; checked by parsing the stub).
    """
    lines = text.splitlines()
    regions: list[Region] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _END.match(line):
            raise RegionError(f"{path}:{i + 1}: END SOLUTION without a BEGIN SOLUTION before it")
        begin = _BEGIN.match(line)
        if not begin:
            i += 1
            continue
        region = _one(lines, i, begin, path)
        regions.append(region)
        i = region.end
    seen: dict[str, Region] = {}
    for region in regions:
        if region.id in seen:
            raise RegionError(
                f"{region.where()}: region id {region.id!r} is used twice "
                f"(first at line {seen[region.id].begin})"
            )
        seen[region.id] = region
    if regions:
        _check_placement(text, regions, path)
    return regions


def _one(lines: list[str], start: int, begin: re.Match[str], path: str) -> Region:
    here = f"{path}:{start + 1}"
    indent = begin["indent"]
    rid = begin["rest"].strip()
    if not rid:
        raise RegionError(f"{here}: BEGIN SOLUTION needs an id (BEGIN SOLUTION my-op-forward)")
    if not ID.match(rid):
        raise RegionError(f"{here}: region id {rid!r} must match [a-z0-9][a-z0-9_.-]*")
    hints: list[str] = []
    tests: str | None = None
    student: list[str] = []
    j = start + 1
    while j < len(lines) and (d := _DIRECTIVE.match(lines[j])):
        key, value = d["key"], d["value"].strip()
        at = f"{path}:{j + 1}"
        if key == "HINT":
            if tests is not None:
                raise RegionError(f"{at}: HINT after TESTS in region {rid!r} (HINTs come first)")
            if not value:
                raise RegionError(f"{at}: empty HINT in region {rid!r}")
            hints.append(value)
        elif key == "TESTS":
            if tests is not None:
                raise RegionError(f"{at}: a second TESTS line in region {rid!r} (one only)")
            if not hints:
                raise RegionError(f"{at}: TESTS before any HINT in region {rid!r}")
            if not value:
                raise RegionError(f"{at}: empty TESTS expression in region {rid!r}")
            tests = value
        else:
            if tests is None:
                raise RegionError(f"{at}: STUDENT before TESTS in region {rid!r}")
            # The code keeps its own indentation after "# STUDENT: ", relative to BEGIN.
            raw = d["value"][1:] if d["value"].startswith(" ") else d["value"]
            student.append(indent + raw.rstrip())
        j += 1
    if not hints:
        raise RegionError(f"{here}: region {rid!r} has no '# HINT:' line right after BEGIN")
    if tests is None:
        raise RegionError(f"{here}: region {rid!r} has no '# TESTS: <-k expression>' line")
    code: list[str] = []
    while j < len(lines):
        line = lines[j]
        at = f"{path}:{j + 1}"
        if _BEGIN.match(line):
            raise RegionError(f"{at}: BEGIN SOLUTION inside region {rid!r} (regions never nest)")
        if end := _END.match(line):
            if end["indent"] != indent:
                raise RegionError(
                    f"{at}: END SOLUTION of region {rid!r} is indented {len(end['indent'])}, "
                    f"its BEGIN {len(indent)}: they must match"
                )
            if not any(c.strip() and not c.strip().startswith("#") for c in code):
                raise RegionError(f"{here}: region {rid!r} holds no code")
            return Region(
                rid,
                path,
                start + 1,
                j + 1,
                indent,
                tuple(hints),
                tests,
                tuple(student),
                tuple(code),
            )
        if late := _DIRECTIVE.match(line):
            raise RegionError(
                f"{at}: a {late['key']} line after the code of region {rid!r} "
                "(directives come right after BEGIN)"
            )
        if line.strip() and not line.startswith(indent):
            raise RegionError(
                f"{at}: this line of region {rid!r} is indented less than its BEGIN SOLUTION"
            )
        code.append(line)
        j += 1
    raise RegionError(f"{here}: region {rid!r} has no END SOLUTION")


def _check_placement(text: str, regions: Sequence[Region], path: str) -> None:
    """Each region inside a function body, cutting no statement; the stubbed file parses."""
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as e:
        raise RegionError(f"{path}:{e.lineno}: not valid Python: {e.msg}") from None
    functions = [
        n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    statements = [n for n in ast.walk(tree) if isinstance(n, ast.stmt)]
    for region in regions:
        lo, hi = region.begin, region.end
        held = [n for n in statements if lo < n.lineno and (n.end_lineno or n.lineno) < hi]
        inside = [
            f
            for f in functions
            if f.lineno < lo
            and len(region.indent) > f.col_offset
            and all(
                f.lineno < n.lineno and (n.end_lineno or 0) <= (f.end_lineno or 0) for n in held
            )
        ]
        if not held or not inside:
            raise RegionError(
                f"{region.where()}: region {region.id!r} is not inside a function body "
                "(regions at module or class level would leave a package that cannot import)"
            )
        for node in statements:
            first, last = node.lineno, node.end_lineno or node.lineno
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                first = min([first, *(d.lineno for d in node.decorator_list)])
            disjoint = last < lo or first > hi
            held_inside = lo < first and last < hi
            # A block that starts before BEGIN may end inside the region (its last statements).
            encloses = first < lo and hasattr(node, "body") and node.col_offset < len(region.indent)
            if not (disjoint or held_inside or encloses):
                raise RegionError(
                    f"{region.where()}: region {region.id!r} cuts the statement at line "
                    f"{node.lineno} in two (a region holds whole statements)"
                )
    stubbed = stub(text, regions, "check")
    try:
        ast.parse(stubbed, filename=path)
    except SyntaxError as e:
        raise RegionError(
            f"{path}: replacing its regions leaves invalid Python ({e.msg}, stubbed line "
            f"{e.lineno}): a region must hold whole statements of one block"
        ) from None


def stub_lines(region: Region, module: str) -> list[str]:
    """What replaces ``region`` in a student's copy: the exercise comment, then STUDENT code
    or a ``raise NotImplementedError`` carrying the hint and the command that checks it."""
    ind = region.indent
    check = f"python -m tools student test {module} -k"
    out = [f"{ind}# EXERCISE {region.id}: {region.hints[0]}"]
    out += [f"{ind}#   {h}" for h in region.hints[1:]]
    out.append(f'{ind}# check it: {check} "{region.tests}"')
    if region.student:
        return out + list(region.student)
    message = f"{module} exercise {region.id}: {region.hint} (check it: {check} '{region.tests}')"
    return [*out, f"{ind}raise NotImplementedError({message!r})"]


def stub(text: str, regions: Iterable[Region], module: str) -> str:
    """``text`` with every region in ``regions`` (parsed from it) replaced by its stub."""
    lines = text.splitlines()
    for region in sorted(regions, key=lambda r: r.begin, reverse=True):
        lines[region.begin - 1 : region.end] = stub_lines(region, module)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def source_files(src: Path) -> list[Path]:
    """The Python files of a package's ``src/`` tree (caches skipped), sorted."""
    return sorted(p for p in src.rglob("*.py") if "__pycache__" not in p.parts)


def package_regions(src: Path, root: Path | None = None) -> dict[Path, list[Region]]:
    """The regions of every file under ``src`` (files without one left out), ids unique across
    the package; paths in messages are relative to ``root`` when given."""
    found: dict[Path, list[Region]] = {}
    first: dict[str, Region] = {}
    for file in source_files(src):
        shown = file.relative_to(root).as_posix() if root else str(file)
        regions = parse(file.read_text(encoding="utf-8"), shown)
        for region in regions:
            if region.id in first:
                raise RegionError(
                    f"{region.where()}: region id {region.id!r} is already used at "
                    f"{first[region.id].where()} (ids are unique within a module)"
                )
            first[region.id] = region
        if regions:
            found[file] = regions
    return found


def distinctive(line: str) -> bool:
    """Whether a stripped solution line is telling enough to count as a leak if seen elsewhere:
    not empty, not a comment, at least 12 characters."""
    s = line.strip()
    return bool(s) and not s.startswith("#") and len(s) >= 12
