"""Ops over several tensors (concatenation, stacking, selection), and the Tensor methods that
PyTorch also spells as functions (``torch.gather(x, 1, i)`` for ``x.gather(1, i)``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinytorch.tensor._tensor import (
    Tensor,
    TensorLike,
    ValuesIndices,
    _dim,
    _pick_dim,
    matmul,
    record,
)

__all__ = [
    "abs",
    "allclose",
    "cat",
    "chunk",
    "clamp",
    "clone",
    "concatenate",
    "equal",
    "exp",
    "gather",
    "is_tensor",
    "log",
    "masked_fill",
    "matmul",
    "narrow",
    "split",
    "sqrt",
    "stack",
    "std",
    "t",
    "topk",
    "tril",
    "triu",
    "where",
]


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dimension ``dim`` (``torch.cat``; ``axis`` is an alias).

    Example:
        >>> from tinytorch.tensor import ones, zeros
        >>> cat([ones(2, 3), zeros(1, 3)]).shape, cat([ones(2, 3), zeros(2, 1)], dim=1).shape
        ((3, 3), (2, 4))
    """
    if axis is not None:
        dim = _pick_dim("cat", None if dim == 0 else dim, axis)
    parts = tuple(tensors)
    if not parts:
        raise ValueError("cat: needs at least one tensor")
    ax = _dim(dim, parts[0].ndim, "cat")
    try:
        out = np.concatenate([t.data for t in parts], axis=ax)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in parts)
        raise ValueError(f"cat: shapes {shapes} differ outside dimension {dim}") from None
    sizes = tuple(t.shape[ax] for t in parts)
    return record("cat", out, parts, axis=ax, sizes=sizes)


concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new dimension ``dim`` (``axis`` is an alias).

    Example:
        >>> from tinytorch.tensor import ones
        >>> stack([ones(2, 3), ones(2, 3)], dim=1).shape
        (2, 2, 3)
    """
    if axis is not None:
        dim = _pick_dim("stack", None if dim == 0 else dim, axis)
    parts = tuple(tensors)
    if not parts:
        raise ValueError("stack: needs at least one tensor")
    shapes = {t.shape for t in parts}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need one shape, got {sorted(shapes)}")
    ax = _dim(dim, parts[0].ndim + 1, "stack")
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


# ---- the PyTorch API ops as functions (torch.gather(x, ...) for x.gather(...)) ---------------
# Each is the Tensor method of the same name: one implementation, two spellings.


def masked_fill(input: Tensor, mask: Tensor, value: TensorLike) -> Tensor:
    """``value`` where ``mask`` is true, ``input`` elsewhere (:meth:`Tensor.masked_fill`).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> masked_fill(Tensor([1.0, 2.0, 3.0]), Tensor([False, True, False]), 0.0)
        tensor([1., 0., 3.])
    """
    return input.masked_fill(mask, value)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view of ``length`` elements from ``start`` along ``dim`` (:meth:`Tensor.narrow`).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> narrow(Tensor([[1, 2, 3]]), 1, 1, 2)
        tensor([[2, 3]])
    """
    return input.narrow(dim, start, length)


def split(
    tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0
) -> tuple[Tensor, ...]:
    """Views of consecutive pieces along ``dim`` (:meth:`Tensor.split`).

    Example:
        >>> from tinytorch.tensor import ones
        >>> [p.shape for p in split(ones(5, 2), [2, 3])]
        [(2, 2), (3, 2)]
    """
    return tensor.split(split_size_or_sections, dim)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most ``chunks`` views of equal size but the last (:meth:`Tensor.chunk`).

    Example:
        >>> from tinytorch.tensor import ones
        >>> q, k, v = chunk(ones(2, 12), 3, dim=-1)
        >>> q.shape
        (2, 4)
    """
    return input.chunk(chunks, dim)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Pick along ``dim`` by the int64 ``index`` (:meth:`Tensor.gather`).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> logp = Tensor([[0.1, 0.9], [0.8, 0.2]])
        >>> gather(logp, 1, Tensor([[1], [0]]))
        tensor([[0.9],
                [0.8]])
    """
    return input.gather(dim, index)


def topk(
    input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
) -> ValuesIndices:
    """The ``k`` largest (or smallest) elements and their indices (:meth:`Tensor.topk`).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> topk(Tensor([3.0, 1.0, 2.0]), 2).indices
        tensor([0, 2])
    """
    return input.topk(k, dim, largest, sorted)


def std(
    input: Tensor,
    dim: int | Sequence[int] | None = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
) -> Tensor:
    """Standard deviation over ``dim``, ``correction=1`` by default (:meth:`Tensor.std`).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> std(Tensor([1.0, 3.0]), correction=0)
        tensor(1.)
    """
    return input.std(dim, unbiased, keepdim, correction=correction)


def t(input: Tensor) -> Tensor:
    """The transpose of a matrix (:meth:`Tensor.t`).

    Example:
        >>> from tinytorch.tensor import ones
        >>> t(ones(2, 3)).shape
        (3, 2)
    """
    return input.t()


def clone(input: Tensor) -> Tensor:
    """A copy in new memory that stays in the graph (:meth:`Tensor.clone`).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> x = Tensor([1.0])
        >>> clone(x).data is x.data
        False
    """
    return input.clone()


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dimensions (:meth:`Tensor.tril`).

    Example:
        >>> from tinytorch.tensor import ones
        >>> tril(ones(2, 2))
        tensor([[1., 0.],
                [1., 1.]])
    """
    return input.tril(diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dimensions (:meth:`Tensor.triu`).

    Example:
        >>> from tinytorch.tensor import ones
        >>> triu(ones(2, 2), diagonal=1)
        tensor([[0., 1.],
                [0., 0.]])
    """
    return input.triu(diagonal)


def exp(input: Tensor) -> Tensor:
    """Elementwise e**x (:meth:`Tensor.exp`).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> exp(Tensor([0.0]))
        tensor([1.])
    """
    return input.exp()


def log(input: Tensor) -> Tensor:
    """Elementwise natural logarithm (:meth:`Tensor.log`).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> log(Tensor([1.0]))
        tensor([0.])
    """
    return input.log()


def sqrt(input: Tensor) -> Tensor:
    """Elementwise square root (:meth:`Tensor.sqrt`).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> sqrt(Tensor([4.0]))
        tensor([2.])
    """
    return input.sqrt()


def abs(input: Tensor) -> Tensor:
    """Elementwise absolute value (:meth:`Tensor.abs`).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> abs(Tensor([-2.0, 3.0]))
        tensor([2., 3.])
    """
    return input.abs()


def clamp(input: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """Every element clamped into [min, max] (:meth:`Tensor.clamp`).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> clamp(Tensor([-2.0, 0.5, 3.0]), min=0.0, max=1.0)
        tensor([0. , 0.5, 1. ])
    """
    return input.clamp(min, max)


def allclose(
    input: Tensor,
    other: TensorLike,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> bool:
    """Whether ``|input - other| <= atol + rtol * |other|`` everywhere (``torch.allclose``).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> allclose(Tensor([1.0, 2.0]), Tensor([1.0, 2.1])), allclose(Tensor([1.0]), 1.0)
        (False, True)
    """
    return input.allclose(other, rtol, atol, equal_nan)


def equal(input: Tensor, other: Tensor) -> bool:
    """Whether two tensors have one shape and the same elements (``torch.equal``).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> equal(Tensor([1, 2]), Tensor([1, 2]))
        True
    """
    return input.equal(other)


def is_tensor(obj: object) -> bool:
    """Whether ``obj`` is a :class:`Tensor` (``torch.is_tensor``).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> is_tensor(Tensor([1.0])), is_tensor([1.0])
        (True, False)
    """
    return isinstance(obj, Tensor)
