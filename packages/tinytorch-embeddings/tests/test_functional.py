"""The embedding op: forward against NumPy indexing, gradient against finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.autograd import gradcheck
from tinytorch.embeddings.functional import embedding, scatter_add_rows, scatter_add_rows_textbook
from tinytorch.tensor import Tensor


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 1, 4)])
def test_forward_is_row_lookup(shape):
    rng = np.random.default_rng(0)
    table = rng.standard_normal((7, 3)).astype(np.float32)
    idx = rng.integers(0, 7, shape)
    out = embedding(Tensor(idx), Tensor(table))
    assert out.shape == (*shape, 3)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, table[idx])


def test_gradient_sums_repeated_indices():
    table = Tensor(np.zeros((4, 2)), requires_grad=True)
    idx = Tensor(np.array([[1, 1], [3, 1]]))
    seed = np.arange(8, dtype=np.float64).reshape(2, 2, 2)
    embedding(idx, table).backward(seed)
    expected = np.zeros((4, 2))
    np.add.at(expected, idx.data, seed)
    np.testing.assert_array_equal(table.grad.data, expected)
    assert table.grad.data[1].tolist() == [0 + 2 + 6, 1 + 3 + 7]  # rows 0, 1 and 3 of the seed


def test_gradcheck_float64():
    rng = np.random.default_rng(1)
    table = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    idx = Tensor(rng.integers(0, 5, (3, 4)))
    assert gradcheck(lambda w: embedding(idx, w), (table,))


def test_padding_row_gets_no_gradient():
    rng = np.random.default_rng(2)
    table = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    idx = Tensor(np.array([0, 2, 2, 4]))
    embedding(idx, table, padding_idx=2).backward(np.ones((4, 3)))
    assert table.grad.data[2].tolist() == [0.0, 0.0, 0.0]
    assert table.grad.data[0].tolist() == [1.0, 1.0, 1.0]
    # a negative padding_idx counts from the end, as in PyTorch
    table.grad = None
    embedding(idx, table, padding_idx=-1).backward(np.ones((4, 3)))
    assert table.grad.data[4].tolist() == [0.0, 0.0, 0.0]


def test_float_indices_are_refused():
    with pytest.raises(TypeError, match=r"embedding: indices must be an integer tensor"):
        embedding(Tensor([0.0, 1.0]), Tensor(np.zeros((3, 2))))


@pytest.mark.parametrize("bad", [3, -1])
def test_out_of_range_indices_are_refused(bad):
    with pytest.raises(IndexError, match=rf"embedding: index {bad} is out of range.*\(3, 2\)"):
        embedding(Tensor([0, bad]), Tensor(np.zeros((3, 2))))


def test_weight_must_be_a_matrix():
    with pytest.raises(ValueError, match=r"embedding: weight must be 2-D"):
        embedding(Tensor([0]), Tensor(np.zeros(3)))


def test_empty_index_tensor():
    table = Tensor(np.ones((3, 2)), requires_grad=True)
    out = embedding(Tensor(np.zeros((0,), dtype=np.int64)), table)
    assert out.shape == (0, 2)
    out.backward(np.zeros((0, 2)))
    assert table.grad.data.tolist() == [[0.0, 0.0]] * 3


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 9), min_size=0, max_size=40),
    st.integers(1, 4),
)
def test_scatter_add_rows_matches_add_at(indices, dim):
    idx = np.array(indices, dtype=np.int64)
    values = np.arange(idx.size * dim, dtype=np.float64).reshape(idx.size, dim)
    expected = np.zeros((10, dim))
    np.add.at(expected, idx, values)
    np.testing.assert_allclose(scatter_add_rows(idx, values, 10), expected)


@pytest.mark.parametrize(("rows", "dtype"), [(1, np.float64), (7, np.float64), (65, np.float32)])
def test_scatter_add_rows_textbook_equals_optimized(rows, dtype):
    rng = np.random.default_rng(rows)
    for n in (0, 1, 50, 500):
        idx = rng.integers(0, rows, size=n)
        values = rng.standard_normal((n, 3)).astype(dtype)
        fast = scatter_add_rows(idx, values, rows)
        slow = scatter_add_rows_textbook(idx, values, rows)
        assert fast.dtype == slow.dtype == dtype
        np.testing.assert_allclose(slow, fast, rtol=1e-5 if dtype == np.float32 else 1e-12)
