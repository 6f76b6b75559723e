"""The embedding lookup op, with its gradient rule beside it."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Tensor, TensorLike, record
from tinytorch.tensor.graph import Node, register_gradient

__all__ = ["embedding", "scatter_add_rows"]

Array = npt.NDArray[Any]


def embedding(input: TensorLike, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` picked by the integer indices ``input`` (``F.embedding``).

    ``input`` has any shape ``S`` and an integer dtype; the result has shape ``(*S, D)`` for a
    ``(V, D)`` table. The gradient reaches ``weight`` only, summed over repeated indices; the
    row ``padding_idx`` (when given) receives none.

    Example:
        >>> from tinytorch.tensor import Tensor, randn
        >>> table = randn(10, 4)
        >>> embedding(Tensor([[1, 2], [2, 9]]), table).shape
        (2, 2, 4)
    """
    if not isinstance(input, Tensor):
        input = Tensor(input)
    idx = input.data
    table = weight.data
    if idx.dtype.kind not in "iu":
        raise TypeError(
            f"embedding: indices must be an integer tensor, got {idx.dtype} of shape {idx.shape}"
        )
    if table.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, dim), got {table.shape}")
    rows = table.shape[0]
    if idx.size:
        low, high = int(idx.min()), int(idx.max())
        if low < 0 or high >= rows:
            bad = low if low < 0 else high
            raise IndexError(
                f"embedding: index {bad} is out of range for a table of {rows} rows "
                f"(indices of shape {idx.shape}, weight of shape {table.shape})"
            )
    padding = _padding_index("embedding", padding_idx, rows)
    out = np.take(table, idx, axis=0)
    return record("embedding", out, (weight,), indices=idx, padding_idx=padding)


@register_gradient("embedding")
def _embedding_grad(grad: Array, node: Node) -> tuple[Array]:
    (weight,) = node.inputs
    rows, dim = weight.shape
    idx = node.attrs["indices"].reshape(-1)
    table_grad = scatter_add_rows(idx, grad.reshape(-1, dim), rows)
    padding = node.attrs["padding_idx"]
    if padding is not None:
        table_grad[padding] = 0
    return (table_grad,)


def scatter_add_rows(indices: Array, values: Array, num_rows: int) -> Array:
    """``out[indices[i]] += values[i]`` for every ``i``, into a zero ``(num_rows, D)`` array.

    Sorting the indices and summing each run with ``np.add.reduceat`` beats ``np.add.at``
    (6.7x on a GPT batch of 2,048 tokens over a 65-row table, see benchmarks/bench_embedding.py)
    and, unlike a one-hot matmul, stays cheap for a 50,000-row vocabulary (100x cheaper).

    Example:
        >>> import numpy as np
        >>> scatter_add_rows(np.array([2, 0, 2]), np.ones((3, 1)), 3).ravel()
        array([1., 0., 2.])
    """
    out = np.zeros((num_rows, values.shape[-1]), dtype=values.dtype)
    if indices.size == 0:
        return out
    order = np.argsort(indices, kind="stable")
    ordered = indices[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    out[ordered[starts]] = np.add.reduceat(values[order], starts, axis=0)
    return out


def _padding_index(op: str, padding_idx: int | None, rows: int) -> int | None:
    if padding_idx is None:
        return None
    if not -rows <= padding_idx < rows:
        raise ValueError(f"{op}: padding_idx {padding_idx} is out of range for {rows} rows")
    return padding_idx % rows
