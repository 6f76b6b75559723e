"""A pytest plugin: every gradient rule of every package must be checked by some gradcheck.

Loaded with ``-p tools.gradchecks --require-gradchecks`` (the ``full`` tox env does, where
every package's tests run in one session). When the session ends it imports every installed
``tinytorch.*`` package, so that every rule is registered, and compares the ops of the gradient
registry with those a passing ``tinytorch.autograd.gradcheck`` exercised
(``tinytorch.autograd.checked_ops()``). An op with a rule but no gradcheck fails the session,
named: a rule nothing checks is a rule nothing proves.

Rules registered by tests and doctests themselves (``test_``/``doc_`` ops, or rules defined
outside a ``tinytorch`` package) are not counted. :data:`NOT_DIFFERENTIABLE` lists the ops
whose rule exists only to refuse, with the reason; their packages test the refusal.
Meant for a whole run: a run narrowed with ``-k`` would report the ops it skipped.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping

import pytest

#: op -> why its rule raises instead of computing a gradient (tested where the op lives).
NOT_DIFFERENTIABLE: Mapping[str, str] = {
    "quantized_linear": "int8 weights take no gradient; QAT trains the float model instead",
    "quantized_conv2d": "int8 weights take no gradient; QAT trains the float model instead",
}


def unchecked(
    registered: Iterable[str], checked: Iterable[str], rule_module: Callable[[str], str]
) -> list[str]:
    """The registered ops of the packages that no gradcheck exercised, sorted.

    >>> unchecked(["mul", "exp", "doc_cube", "quantized_linear", "local"], ["mul"],
    ...           lambda op: "tests.test_x" if op == "local" else "tinytorch.tensor")
    ['exp']
    """
    done = set(checked)
    return sorted(
        op
        for op in registered
        if op not in done
        and op not in NOT_DIFFERENTIABLE
        and not op.startswith(("doc_", "test_"))
        and rule_module(op).startswith("tinytorch.")
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--require-gradchecks``: fail the session if a package's rule has no gradcheck."""
    parser.addoption(
        "--require-gradchecks",
        action="store_true",
        default=False,
        help="fail the session if an op of the gradient registry was never gradchecked",
    )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Compare the registry with what the session's gradchecks exercised."""
    if not session.config.getoption("require_gradchecks"):
        return
    import tinytorch
    from tinytorch.autograd import checked_ops
    from tinytorch.tensor import graph

    for module in pkgutil.iter_modules(tinytorch.__path__):
        importlib.import_module(f"tinytorch.{module.name}")

    def rule_module(op: str) -> str:
        return str(getattr(graph.gradient_rule(op), "__module__", ""))

    missing = unchecked(graph.registered_ops(), checked_ops(), rule_module)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if missing:
        message = (
            f"--require-gradchecks: {len(missing)} op(s) have a gradient rule that no passing "
            f"gradcheck exercised: {', '.join(missing)}"
        )
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif reporter is not None:
        count = len(set(graph.registered_ops()) & set(checked_ops()))
        reporter.write_line(f"--require-gradchecks: all {count} ops with rules are gradchecked")
