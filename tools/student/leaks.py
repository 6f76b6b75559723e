"""The leak rule: no distinctive line of a solution region may reach a student's files.

A solution line is distinctive when, stripped, it is not empty, not a comment, at least 12
characters long, and not also a line of the package's source outside its regions (a line the
student is given anyway, such as ``o = self._other(other)``). A leak is a line of any file in
the student's workspace that, stripped, equals a distinctive solution line.

Example:
    >>> from tools.student.regions import parse
    >>> text = "def f(x):\\n    # BEGIN SOLUTION f\\n    # HINT: h\\n    # TESTS: f\\n" \\
    ...        "    return x * 2 + 1\\n    # END SOLUTION\\n"
    >>> secret = solution_lines({"m.py": text})
    >>> sorted(secret)
    ['return x * 2 + 1']
    >>> leaks_in("notes.txt", "answer:\\n  return x * 2 + 1\\n", secret)
    ['notes.txt:2: return x * 2 + 1']
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tools.student.regions import distinctive, parse


def solution_lines(sources: Mapping[str, str]) -> set[str]:
    """The distinctive solution lines of a package, from its files' text by path."""
    inside: set[str] = set()
    outside: set[str] = set()
    for path, text in sources.items():
        lines = text.splitlines()
        covered: set[int] = set()
        for region in parse(text, path):
            covered.update(range(region.begin - 1, region.end))
            inside.update(line.strip() for line in region.code if distinctive(line))
        outside.update(line.strip() for i, line in enumerate(lines) if i not in covered)
    return inside - outside


def leaks_in(path: str, text: str, secret: set[str]) -> list[str]:
    """``path:line: text`` for each line of ``text`` that is one of the ``secret`` lines."""
    return [
        f"{path}:{n}: {line.strip()}"
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() in secret
    ]


def scan(folder: Path, secret: set[str]) -> list[str]:
    """Every leak in every file under ``folder`` (binary files read as text where they can be)."""
    found: list[str] = []
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            text = file.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        found += leaks_in(file.relative_to(folder).as_posix(), text, secret)
    return found
