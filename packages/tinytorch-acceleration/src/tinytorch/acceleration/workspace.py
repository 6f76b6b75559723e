"""Activation buffers reused across training steps.

A fresh NumPy array of a few MiB is new memory from the OS: its pages fault in on first touch,
and freeing it hands them back, so every step pays again. The fused ops instead take their
outputs, saved activations and scratch arrays from a :class:`Workspace`, which hands out an
array only while nothing else refers to it: an array still held by a graph node (saved for a
backward that has not run yet), by a Tensor the caller kept, or by any view of it has extra
references, and the workspace allocates a new one instead. So reuse never overwrites live
data; it only recycles what the backward already freed (the engine drops saved arrays as it
goes).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Workspace"]

Array = npt.NDArray[Any]

# References to a pooled array that is free: the pool's list, the loop variable, and
# getrefcount's own argument.
_FREE_REFS = 3


class Workspace:
    """A pool of arrays by (shape, dtype, slot), each reused only when nothing holds it.

    Example:
        >>> ws = Workspace()
        >>> a = ws.empty((2, 3), np.float32)
        >>> b = ws.empty((2, 3), np.float32)   # a is still held here: a new array
        >>> a is b
        False
        >>> del a, b
        >>> c = ws.empty((2, 3), np.float32)   # both free again: one is reused
        >>> c.shape, ws.allocated
        ((2, 3), 2)
    """

    def __init__(self, max_per_shape: int = 8) -> None:
        self._pools: dict[tuple[tuple[int, ...], np.dtype[Any]], list[Array]] = {}
        self.max_per_shape = max_per_shape
        self.allocated = 0  # arrays created so far (a measure of how much reuse happens)

    def empty(self, shape: tuple[int, ...], dtype: npt.DTypeLike) -> Array:
        """An uninitialised array of ``shape`` and ``dtype`` that nothing else refers to."""
        key = (tuple(shape), np.dtype(dtype))
        pool = self._pools.setdefault(key, [])
        for a in pool:
            if sys.getrefcount(a) == _FREE_REFS:
                return a
        fresh = np.empty(key[0], dtype=key[1])
        self.allocated += 1
        if len(pool) < self.max_per_shape:
            pool.append(fresh)
        return fresh

    def clear(self) -> None:
        """Drop every pooled array (what is in use stays alive with its users).

        Example:
            >>> ws = Workspace()
            >>> _ = ws.empty((4,), np.float64)
            >>> ws.clear()
        """
        self._pools.clear()
