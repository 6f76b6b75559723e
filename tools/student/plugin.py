"""The grader's pytest plugin (``-p tools.student.plugin``): which tests each exercise selects,
and how each test came out, written as JSON for :mod:`tools.student.grade` to report.

An exercise's ``# TESTS:`` expression is matched against every collected test with pytest's
own ``-k`` matcher, before any ``-k`` of the run deselects tests, so that the selection is
exactly what ``pytest -k EXPR`` would run.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from _pytest.mark import KeywordMatcher
from _pytest.mark.expression import Expression

_ORDER = {"passed": 0, "skipped": 1, "failed": 2}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tinytorch-student")
    group.addoption("--student-regions", help="JSON file: [{id, tests}] of the exercises")
    group.addoption("--student-out", help="where to write the outcomes (JSON)")
    group.addoption(
        "--student-no-shrink",
        action="store_true",
        help="hypothesis: report the first failing example, without shrinking it",
    )


class _Recorder:
    def __init__(self, regions: list[dict[str, str]], out: Path) -> None:
        self.regions = regions
        self.out = out
        self.selected: dict[str, list[str]] = {r["id"]: [] for r in regions}
        self.bad_expressions: dict[str, str] = {}
        self.tests: dict[str, dict[str, Any]] = {}
        self.collection_errors: list[dict[str, str]] = []

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(
        self, items: list[pytest.Item]
    ) -> Generator[None, None, None]:
        matchers = [KeywordMatcher.from_item(item) for item in items]
        for region in self.regions:
            try:
                expr = Expression.compile(region["tests"])
            except SyntaxError as e:
                self.bad_expressions[region["id"]] = str(e)
                continue
            self.selected[region["id"]] = [
                item.nodeid for item, m in zip(items, matchers, strict=True) if expr.evaluate(m)
            ]
        return (yield)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(
                {"where": report.nodeid or ".", "message": _last_line(report)}
            )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        outcome = "failed" if report.failed else report.outcome
        entry = self.tests.setdefault(report.nodeid, {"outcome": "passed", "message": None})
        if _ORDER[outcome] > _ORDER[entry["outcome"]]:
            entry["outcome"] = outcome
            if outcome == "failed":
                entry["message"] = _last_line(report)

    def pytest_sessionfinish(self) -> None:
        data = {
            "selected": self.selected,
            "bad_expressions": self.bad_expressions,
            "tests": self.tests,
            "collection_errors": self.collection_errors,
        }
        self.out.write_text(json.dumps(data), encoding="utf-8")


def _last_line(report: pytest.CollectReport | pytest.TestReport) -> str:
    """The exception's own line (``NotImplementedError: ...``), not the whole traceback."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = str(crash.message) if crash is not None else str(report.longrepr)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if crash is None and lines:
        # A collection error's repr ends with the exception, pytest's "E   " prefix on it.
        return lines[-1].removeprefix("E").strip()[:500]
    return (lines[0] if lines else "(no message)")[:500]


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("student_no_shrink"):
        _no_shrink()
    regions, out = config.getoption("student_regions"), config.getoption("student_out")
    if regions and out:
        data = json.loads(Path(regions).read_text(encoding="utf-8"))
        config.pluginmanager.register(_Recorder(data, Path(out)), "tinytorch-student-recorder")


def _no_shrink() -> None:
    """Load a hypothesis profile without the shrink and explain phases.

    On a stub every example fails, and shrinking each failure costs more than the rest of the
    run (module 05's tests: about 75 s with shrinking against 23 s for the reference). It is
    loaded before the test files are imported, so their ``@settings`` inherit it.
    """
    try:
        from hypothesis import Phase, settings
    except ImportError:
        return
    keep = [p for p in Phase if p.name not in ("shrink", "explain")]
    settings.register_profile("tinytorch-student-no-shrink", phases=keep)
    settings.load_profile("tinytorch-student-no-shrink")
