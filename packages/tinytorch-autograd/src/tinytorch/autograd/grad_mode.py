"""``no_grad`` / ``enable_grad`` / ``set_grad_enabled``: switch graph recording off and on.

Each works as a context manager and as a decorator, and restores the previous setting on exit,
so they nest.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from tinytorch.tensor import graph

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]

is_grad_enabled = graph.is_grad_enabled


class set_grad_enabled:
    """Record the graph (``True``) or not (``False``) inside a ``with`` block or a function.

    Example:
        >>> from tinytorch.tensor import ones
        >>> w = ones(2, requires_grad=True)
        >>> with set_grad_enabled(False):
        ...     (w * 2).requires_grad
        False
    """

    def __init__(self, mode: bool) -> None:
        self.mode = mode
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous.append(graph.set_grad_enabled(self.mode))

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        graph.set_grad_enabled(self._previous.pop())

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(self.mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(set_grad_enabled):
    """Run without recording the graph: for evaluation and for optimizer updates.

    Example:
        >>> from tinytorch.tensor import ones
        >>> w = ones(2, requires_grad=True)
        >>> with no_grad():
        ...     (w * 2).requires_grad
        False
    """

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Record the graph again inside a ``no_grad`` region."""

    def __init__(self) -> None:
        super().__init__(True)
