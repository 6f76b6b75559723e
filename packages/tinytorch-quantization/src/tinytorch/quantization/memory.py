"""What a model holds, in bytes, counted from ``nbytes``: every parameter, buffer and array
attribute reachable from every module (lists, tuples and dicts of them included, a QTensor's
integers and scales too), each piece of memory once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.layers import Module
from tinytorch.quantization.qtensor import QTensor
from tinytorch.tensor import Tensor

__all__ = ["held_arrays", "held_nbytes"]

Array = npt.NDArray[Any]
# Module's own bookkeeping: parameters and buffers are read from their tables, submodules are
# visited by named_modules, hooks hold no arrays.
_TABLES = frozenset(
    {
        "_parameters",
        "_buffers",
        "_modules",
        "_non_persistent_buffers",
        "_forward_pre_hooks",
        "_forward_hooks",
    }
)


def _arrays(value: object, path: str, depth: int = 0) -> Iterator[tuple[str, Array]]:
    if depth > 8:
        return
    if isinstance(value, np.ndarray):
        yield path, value
    elif isinstance(value, Tensor):
        yield path, value.data
        if value.grad is not None:
            yield path + ".grad", value.grad.data
    elif isinstance(value, QTensor):
        for name in ("_int", "_scales", "_zero_points"):
            yield f"{path}.{name}", getattr(value, name)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _arrays(v, f"{path}[{k!r}]", depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _arrays(v, f"{path}[{i}]", depth + 1)


def _owner(a: Array) -> Array:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def held_arrays(model: Module) -> list[tuple[str, Array]]:
    """``(path, array)`` of every distinct piece of memory ``model`` holds (a view is counted as
    the array that owns its memory).

    >>> from tinytorch.layers import Linear
    >>> [(p, a.dtype.name) for p, a in held_arrays(Linear(2, 3))]
    [('weight', 'float32'), ('bias', 'float32')]
    """
    if not isinstance(model, Module):
        raise TypeError(f"held_arrays: expects a Module, got {type(model).__name__}")
    seen: set[int] = set()
    out: list[tuple[str, Array]] = []
    for prefix, module in model.named_modules():
        dot = prefix + "." if prefix else ""
        own: dict[str, Any] = {}
        for table in ("_parameters", "_buffers"):
            own.update({k: v for k, v in module.__dict__[table].items() if v is not None})
        for k, v in module.__dict__.items():
            if k not in _TABLES:
                own.setdefault(k, v)
        for name, value in own.items():
            for path, array in _arrays(value, dot + name):
                base = _owner(array)
                if id(base) not in seen:
                    seen.add(id(base))
                    out.append((path, base))
    return out


def held_nbytes(model: Module) -> int:
    """Bytes of every distinct array ``model`` holds (see :func:`held_arrays`).

    >>> from tinytorch.layers import Linear
    >>> held_nbytes(Linear(64, 10))  # (64 * 10 + 10) float32 values
    2600
    """
    return sum(int(a.nbytes) for _, a in held_arrays(model))
