"""Compressed sparse row storage of a pruned weight, and a sparse-times-dense product.

A dense pruned weight holds its zeros: 90% sparsity in a float32 array is still 4 bytes per
entry. CSR keeps only the kept entries (``data``), the column of each (``indices``) and where
each row starts (``indptr``, one more than the rows), SciPy's layout and names. With int32
indices a kept entry costs 8 bytes instead of 4, so CSR is smaller than dense only below 50%
density, and 90% sparsity gives about 0.2x the dense bytes (plus the row pointers).

The product ``x @ W.T`` (what a Linear computes) from CSR is vectorized NumPy with no loop over
rows: gather the rows of ``x.T`` that the kept entries read (``x.T[indices]``, shape
``(nnz, batch)``), scale each by its weight, and sum the segments of each row with
``np.add.reduceat``. It does ``2 * nnz * batch`` FLOPs instead of ``2 * rows * cols * batch``,
but through gathers and a segmented sum that run far below BLAS's rate: the benchmark measures
where it wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Tensor

__all__ = ["CSRMatrix", "csr_linear", "to_sparse_csr"]

Array = npt.NDArray[Any]


@dataclass(frozen=True)
class CSRMatrix:
    """A 2-D matrix in compressed sparse row form (SciPy's ``csr_matrix`` layout).

    Row ``r`` holds ``data[indptr[r]:indptr[r+1]]`` at columns ``indices[indptr[r]:indptr[r+1]]``
    (ascending). ``nbytes`` is the bytes of the three arrays, from their ``nbytes``.

    Example:
        >>> m = CSRMatrix.from_dense(np.array([[0.0, 2.0], [0.0, 0.0], [3.0, 4.0]]))
        >>> m.indptr.tolist(), m.indices.tolist(), m.data.tolist(), m.nnz
        ([0, 1, 1, 3], [1, 0, 1], [2.0, 3.0, 4.0], 3)
        >>> m.to_dense().tolist()
        [[0.0, 2.0], [0.0, 0.0], [3.0, 4.0]]
    """

    indptr: Array
    indices: Array
    data: Array
    shape: tuple[int, int]

    @classmethod
    def from_dense(cls, array: Array | Tensor, index_dtype: npt.DTypeLike = np.int32) -> CSRMatrix:
        """The nonzero entries of a 2-D ``array``, row by row. ``index_dtype`` (int32 by
        default, as SciPy picks while it fits) must hold the column count and ``nnz``.

        Example:
            >>> CSRMatrix.from_dense(np.eye(3, dtype=np.float32)).nbytes  # 4*4 + 3*4 + 3*4
            40
        """
        dense = array.data if isinstance(array, Tensor) else np.asarray(array)
        if dense.ndim != 2:
            raise ValueError(f"to_sparse_csr: expects a 2-D array, got shape {dense.shape}")
        itype = np.dtype(index_dtype)
        if itype.kind not in "iu":
            raise TypeError(f"to_sparse_csr: index_dtype must be an integer dtype, got {itype}")
        rows, cols = np.nonzero(dense)  # row-major order: rows ascending, columns within a row
        limit = max(dense.shape[1], rows.size)
        if limit > np.iinfo(itype).max:
            raise ValueError(
                f"to_sparse_csr: index_dtype {itype} cannot hold {limit} (shape {dense.shape}, "
                f"nnz {rows.size})"
            )
        # BEGIN SOLUTION csr-from-dense
        # HINT: indptr[i]..indptr[i + 1] are row i's entries: 0, then the running total of the
        # HINT: nonzeros per row (bincount, cumsum); indices are their columns, data their values.
        # TESTS: sparse or layout or product or pruned_linear
        counts = np.bincount(rows, minlength=dense.shape[0])
        indptr = np.zeros(dense.shape[0] + 1, dtype=itype)
        np.cumsum(counts, out=indptr[1:])
        return cls(indptr, cols.astype(itype), dense[rows, cols].copy(), dense.shape)
        # END SOLUTION

    @property
    def nnz(self) -> int:
        """The number of stored entries."""
        return int(self.data.size)

    @property
    def nbytes(self) -> int:
        """Bytes held: ``indptr.nbytes + indices.nbytes + data.nbytes``."""
        return int(self.indptr.nbytes + self.indices.nbytes + self.data.nbytes)

    @property
    def density(self) -> float:
        """``nnz / (rows * cols)``."""
        size = self.shape[0] * self.shape[1]
        return self.nnz / size if size else 0.0

    def to_dense(self) -> Array:
        """The dense array back (exactly: the entries are copied, not recomputed)."""
        out = np.zeros(self.shape, dtype=self.data.dtype)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        out[rows, self.indices] = self.data
        return out

    def __matmul__(self, other: Array) -> Array:
        """``self @ other`` for a dense 2-D ``other`` of shape ``(cols, n)``: a ``(rows, n)``
        array, by a gather, a scale and a segmented sum (no loop over rows).

        Example:
            >>> m = CSRMatrix.from_dense(np.array([[1.0, 0.0], [0.0, 0.0], [2.0, 3.0]]))
            >>> (m @ np.array([[1.0], [10.0]])).tolist()
            [[1.0], [0.0], [32.0]]
        """
        x = np.asarray(other)
        if x.ndim != 2 or x.shape[0] != self.shape[1]:
            raise ValueError(f"CSRMatrix.matmul: shapes {self.shape} and {x.shape} are not aligned")
        dtype = np.result_type(self.data, x)
        out = np.zeros((self.shape[0], x.shape[1]), dtype=dtype)
        if self.nnz == 0:
            return out
        # BEGIN SOLUTION csr-matmul
        # HINT: every stored entry (i, j, v) adds v * other[j] to row i of the result: gather
        # HINT: other's rows by column index, scale by the values, and sum each row's run of
        # HINT: products (np.add.reduceat); mind the rows that hold no entry.
        # TESTS: sparse or product or pruned_linear
        products = x[self.indices]  # (nnz, n): each kept entry's row of the operand
        products *= self.data[:, None]
        # reduceat over the start of each row that holds entries; an empty row would otherwise
        # get the next row's first product (reduceat's rule for equal starts).
        starts = self.indptr[:-1]
        filled = starts < self.indptr[1:]
        out[filled] = np.add.reduceat(products, starts[filled], axis=0)
        return out
        # END SOLUTION


def to_sparse_csr(weight: Array | Tensor, index_dtype: npt.DTypeLike = np.int32) -> CSRMatrix:
    """``weight`` (a pruned Linear's weight, say) in CSR form (``Tensor.to_sparse_csr``).

    Example:
        >>> w = np.array([[0.0, 1.5, 0.0, 0.0], [0.0, 0.0, 0.0, -2.0]], dtype=np.float32)
        >>> m = to_sparse_csr(w)
        >>> m.nnz, m.nbytes, w.nbytes  # 2 values + 2 columns + 3 row pointers, 4 bytes each
        (2, 28, 32)
    """
    return CSRMatrix.from_dense(weight, index_dtype)


def csr_linear(x: Array | Tensor, weight: CSRMatrix, bias: Array | Tensor | None = None) -> Array:
    """``x @ weight.T + bias`` with ``weight`` in CSR form, for inference (no graph): what a
    pruned Linear computes. ``x`` is ``(batch, in_features)``.

    Example:
        >>> w = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
        >>> x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        >>> csr_linear(x, to_sparse_csr(w), np.array([0.5, -1.0])).tolist()
        [[7.5, -1.0], [16.5, -1.0]]
    """
    data = x.data if isinstance(x, Tensor) else np.asarray(x)
    if data.ndim != 2 or data.shape[1] != weight.shape[1]:
        raise ValueError(
            f"csr_linear: input of shape {data.shape} does not end in in_features="
            f"{weight.shape[1]} (weight shape {weight.shape})"
        )
    out = (weight @ np.ascontiguousarray(data.T)).T
    if bias is not None:
        out = out + (bias.data if isinstance(bias, Tensor) else np.asarray(bias))
    return np.ascontiguousarray(out)
