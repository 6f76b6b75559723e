"""``no_grad`` / ``enable_grad`` / ``set_grad_enabled``: switch graph recording off and on.

Each works as a context manager and as a decorator, and restores the previous setting on exit
(an exception included), so they nest. ``set_grad_enabled(mode)`` also works as a plain call that
switches the mode for good, as ``torch.set_grad_enabled`` does.
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


class _GradModeSwitch:
    """Set the grad mode for a ``with`` block or a decorated function; restore it afterwards."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
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
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradModeSwitch(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class set_grad_enabled(_GradModeSwitch):
    """Record the graph (``True``) or not (``False``): as a plain call, a ``with`` block or a
    decorator.

    As in PyTorch, the plain call ``set_grad_enabled(False)`` switches the mode at once and
    leaves it switched; as a ``with`` block or a decorator it restores the previous mode after.

    Example:
        >>> from tinytorch.tensor import ones
        >>> w = ones(2, requires_grad=True)
        >>> with set_grad_enabled(False):
        ...     (w * 2).requires_grad
        False
        >>> (w * 2).requires_grad
        True
    """

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        # The mode before construction switched it, until a ``with`` or decorator claims it.
        self._before_init: bool | None = graph.set_grad_enabled(self.mode)

    def __enter__(self) -> None:
        if self._before_init is None:
            super().__enter__()
            return
        # Construction already switched the mode: the block restores the mode from before it.
        self._previous.append(self._before_init)
        self._before_init = None

    def __call__(self, fn: F) -> F:
        if self._before_init is not None:
            # Used as a decorator, construction must not change the mode of the caller.
            graph.set_grad_enabled(self._before_init)
            self._before_init = None
        return super().__call__(fn)


class no_grad(_GradModeSwitch):
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


class enable_grad(_GradModeSwitch):
    """Record the graph again inside a ``no_grad`` region.

    Example:
        >>> from tinytorch.tensor import ones
        >>> w = ones(2, requires_grad=True)
        >>> with no_grad(), enable_grad():
        ...     (w * 2).requires_grad
        True
    """

    def __init__(self) -> None:
        super().__init__(True)
