"""Reading another library's arrays: one route for every place that accepts them.

``load_state_dict``, ``GPT.from_nanogpt`` and ``save`` all take a PyTorch state dict as it is;
each reads its values through :func:`to_numpy`, so they accept and refuse the same things.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor._tensor import Tensor

__all__ = ["to_numpy", "type_name"]


def type_name(value: object) -> str:
    """The fully qualified name of ``value``'s type, as error messages give it.

    Example:
        >>> type_name("x"), type_name(np.zeros(1))
        ('builtins.str', 'numpy.ndarray')
    """
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def to_numpy(value: Any) -> npt.NDArray[Any]:
    """``value`` as a NumPy array, sharing memory where the source allows: a Tensor's ``data``, an
    ndarray itself, or another library's array through ``__dlpack__``, else ``__array__``.

    A foreign tensor that records gradients (PyTorch's ``requires_grad``) refuses both exports;
    its ``detach()`` holds the same values, which is all a reader of weights needs. Raises
    ``TypeError`` naming the type and why each route failed (bfloat16, say, has no NumPy dtype).

    Example:
        >>> to_numpy(Tensor([1.0, 2.0])), to_numpy(np.arange(2)).dtype
        (array([1., 2.], dtype=float32), dtype('int64'))
        >>> try:
        ...     to_numpy([1.0])
        ... except TypeError as err:
        ...     print(str(err).split(", got ")[1])
        builtins.list
    """
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray):
        return value
    source = value
    detach = getattr(value, "detach", None)
    if getattr(value, "requires_grad", False) and callable(detach):
        source = detach()
    reasons: list[str] = []
    if hasattr(source, "__dlpack__"):
        try:
            return np.from_dlpack(source)
        except Exception as err:  # each library raises its own kind: report them all
            reasons.append(f"__dlpack__: {type(err).__name__}: {err}")
    if hasattr(source, "__array__"):
        try:
            array: npt.NDArray[Any] = np.asarray(source)
            return array
        except Exception as err:
            reasons.append(f"__array__: {type(err).__name__}: {err}")
    if not reasons:
        raise TypeError(
            "expected a Tensor, a numpy array or an array with __dlpack__ or __array__, got "
            f"{type_name(value)}"
        )
    raise TypeError(f"cannot read a {type_name(value)} as an array ({'; '.join(reasons)})")
