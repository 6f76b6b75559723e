"""Ops over several tensors: concatenation, stacking, selection."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinytorch.tensor._tensor import Tensor, TensorLike, _dim, matmul, record

__all__ = ["cat", "concatenate", "matmul", "stack", "where"]


def cat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing dimension (``torch.cat``).

    Example:
        >>> from tinytorch.tensor import ones, zeros
        >>> cat([ones(2, 3), zeros(1, 3)]).shape
        (3, 3)
    """
    parts = tuple(tensors)
    if not parts:
        raise ValueError("cat: needs at least one tensor")
    ax = _dim(axis, parts[0].ndim, "cat")
    try:
        out = np.concatenate([t.data for t in parts], axis=ax)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in parts)
        raise ValueError(f"cat: shapes {shapes} differ outside axis {axis}") from None
    sizes = tuple(t.shape[ax] for t in parts)
    return record("cat", out, parts, axis=ax, sizes=sizes)


concatenate = cat


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dimension.

    Example:
        >>> from tinytorch.tensor import ones
        >>> stack([ones(2, 3), ones(2, 3)], axis=1).shape
        (2, 2, 3)
    """
    parts = tuple(tensors)
    if not parts:
        raise ValueError("stack: needs at least one tensor")
    shapes = {t.shape for t in parts}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need one shape, got {sorted(shapes)}")
    ax = _dim(axis, parts[0].ndim + 1, "stack")
    return record("stack", np.stack([t.data for t in parts], axis=ax), parts, axis=ax)


def where(condition: TensorLike, x: TensorLike, y: TensorLike) -> Tensor:
    """Elementwise ``x if condition else y``, broadcasting all three.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> where(Tensor([True, False]), Tensor([1.0, 2.0]), 0.0)
        tensor([1., 0.])
    """
    cond = condition if isinstance(condition, Tensor) else Tensor(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    # A Python number takes the dtype of the tensor on the other side, as in arithmetic.
    if isinstance(x, Tensor):
        a, b = x, x._other(y)
    elif isinstance(y, Tensor):
        a, b = y._other(x), y
    else:
        a, b = Tensor(x), Tensor(y)
    try:
        out = np.where(cond.data, a.data, b.data)
    except ValueError:
        raise ValueError(
            f"where: shapes {cond.shape}, {a.shape} and {b.shape} cannot be broadcast together"
        ) from None
    return record("where", out, (a, b), condition=cond.data)
