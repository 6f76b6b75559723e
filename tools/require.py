"""A pytest plugin behind ``python -m tools test --require MODULE``: an oracle may not go missing.

Tests that compare with PyTorch skip where ``torch`` cannot be imported, which is right on a
learner's machine and wrong in the one env that exists to run them: there a missing or broken
install would turn every oracle into a skip and the env would still pass. Loaded with
``-p tools.require`` and given ``--require-module MODULE`` (repeatable), this plugin fails the
session when

- any test or test module is skipped for a reason that names MODULE (``importorskip``'s
  "could not import 'torch'", or a ``skipif`` reason of the tests' own), or
- no test imported MODULE at all, so that no oracle ran.

It only watches; it changes no test. ``tools.runners.test`` also checks, before pytest starts,
that each required module can be found, to fail fast with the interpreter named.
"""

from __future__ import annotations

import re
import sys

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--require-module MODULE``: a skip naming MODULE, or a session never importing it, fails."""
    parser.addoption(
        "--require-module",
        action="append",
        default=[],
        metavar="MODULE",
        help="fail the session if a test skips for a reason naming MODULE, or none imports it",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the guard when a module is required."""
    modules: list[str] = config.getoption("require_module")
    if modules:
        config.pluginmanager.register(Guard(modules), "tools-require-guard")


def names_module(reason: str, module: str) -> bool:
    """Whether a skip reason names ``module`` as a word (``tinytorch-autograd`` names no torch).

    >>> names_module("could not import 'torch': No module named 'torch'", "torch")
    True
    >>> names_module("tinytorch-autograd is installed here", "torch")
    False
    """
    return re.search(rf"(?<![\w-]){re.escape(module)}(?![\w-])", reason) is not None


def skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    """The message of a skip report (pytest keeps it as ``(path, line, message)``)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


class Guard:
    """Collects skips naming a required module; fails the session on any, or on none imported."""

    def __init__(self, modules: list[str]) -> None:
        self.modules = modules
        self.skipped: list[tuple[str, str]] = []
        self.problems: list[str] = []

    def _note(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        if not report.skipped or hasattr(report, "wasxfail"):
            return
        reason = skip_reason(report)
        if any(names_module(reason, m) for m in self.modules):
            self.skipped.append((report.nodeid, reason))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A module skipped at collection (``importorskip`` at its top) counts as its tests."""
        self._note(report)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A test skipped at setup or in its body."""
        self._note(report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Turn the session into a failure when a required module was missed."""
        required = ", ".join(self.modules)
        self.problems = [
            f"{node} skipped, but {required} is required here: {why}" for node, why in self.skipped
        ]
        for module in self.modules:
            if module not in sys.modules:
                self.problems.append(
                    f"no test imported {module}: the tests that use it as an oracle did not run"
                )
        # A session that collected nothing but skips ends "no tests collected" (5): a failure.
        passing = (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
        if self.problems and session.exitstatus in passing:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """List every problem, so the log says why a green-looking run failed."""
        if not self.problems:
            return
        terminalreporter.section(f"required: {', '.join(self.modules)}", red=True)
        for problem in self.problems:
            terminalreporter.line(problem, red=True)
