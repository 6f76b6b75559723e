"""CSR export: exact round trip, bytes from nbytes, and a product equal to the dense one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.compression import CSRMatrix, csr_linear, l1_unstructured, to_sparse_csr
from tinytorch.layers import Linear
from tinytorch.tensor import Generator


def _sparse(rows: int, cols: int, sparsity: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rows, cols)).astype(np.float32)
    w[rng.random(w.shape) < sparsity] = 0
    return w


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 12),
    cols=st.integers(1, 12),
    batch=st.integers(1, 7),
    sparsity=st.sampled_from([0.0, 0.5, 0.9, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_product_equals_dense(rows: int, cols: int, batch: int, sparsity: float, seed: int) -> None:
    w = _sparse(rows, cols, sparsity, seed)
    x = np.random.default_rng(seed + 1).standard_normal((batch, cols)).astype(np.float32)
    b = np.random.default_rng(seed + 2).standard_normal(rows).astype(np.float32)
    csr = to_sparse_csr(w)
    np.testing.assert_array_equal(csr.to_dense(), w)
    np.testing.assert_allclose(csr_linear(x, csr, b), x @ w.T + b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(csr @ x.T, w @ x.T, rtol=1e-5, atol=1e-5)


def test_layout_and_bytes() -> None:
    w = np.array([[0, 0, 0], [1, 0, 2], [0, 0, 0], [0, 3, 0]], dtype=np.float32)
    csr = to_sparse_csr(w)
    assert csr.indptr.tolist() == [0, 0, 2, 2, 3]  # empty first and third rows
    assert csr.indices.tolist() == [0, 2, 1]
    assert csr.data.tolist() == [1.0, 2.0, 3.0]
    assert csr.indices.dtype == np.int32
    assert csr.data.dtype == np.float32
    assert csr.nbytes == csr.indptr.nbytes + csr.indices.nbytes + csr.data.nbytes == 5 * 4 + 3 * 8
    wide = to_sparse_csr(w, index_dtype=np.int64)
    assert wide.nbytes == 5 * 8 + 3 * 8 + 3 * 4


def test_pruned_linear_90_percent_is_under_a_quarter_of_the_bytes() -> None:
    layer = l1_unstructured(Linear(64, 128, generator=Generator(0)), "weight", 0.9)
    csr = to_sparse_csr(layer.weight)
    assert csr.nnz == 8192 - 7373
    # 819 values and 819 int32 columns, 129 int32 row pointers: 7068 of 32768 bytes.
    assert csr.nbytes == 819 * 4 * 2 + 129 * 4
    assert csr.nbytes / layer.weight.data.nbytes <= 0.25


def test_errors() -> None:
    with pytest.raises(ValueError, match="expects a 2-D array, got shape"):
        to_sparse_csr(np.ones(3))
    with pytest.raises(ValueError, match=r"int8 cannot hold 400 \(shape \(2, 200\), nnz 400\)"):
        to_sparse_csr(np.ones((2, 200)), index_dtype=np.int8)
    with pytest.raises(TypeError, match="index_dtype must be an integer dtype"):
        to_sparse_csr(np.ones((2, 2)), index_dtype=np.float32)
    csr = to_sparse_csr(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"input of shape \(4, 2\) does not end in in_features=3"):
        csr_linear(np.ones((4, 2)), csr)
    with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(2, 4\) are not aligned"):
        csr @ np.ones((2, 4))
    assert isinstance(csr, CSRMatrix)
    assert csr.density == 1.0
