"""reshape / view / flatten / transpose / permute / T / squeeze / unsqueeze / expand, indexing."""

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.tensor import Tensor

A = np.arange(24.0).reshape(2, 3, 4)


# ---- reshape family ------------------------------------------------------------------------


@pytest.mark.parametrize("args", [(6, 4), ((6, 4),), ([6, 4],), (-1, 4), (2, -1, 2), (24,)])
def test_reshape_forms(args):
    out = Tensor(A).reshape(*args)
    np.testing.assert_array_equal(out.data, A.reshape(*args))


def test_reshape_is_a_view_and_view_is_reshape():
    t = Tensor(A)
    r = t.view(6, 4)
    assert np.shares_memory(r.data, t.data)
    assert r.shape == (6, 4)


def test_reshape_mismatch():
    with pytest.raises(
        ValueError,
        match=r"^reshape: cannot reshape a tensor of shape \(2, 3, 4\) \(24 elements\) "
        r"into \(5, 5\)",
    ):
        Tensor(A).reshape(5, 5)


@pytest.mark.parametrize(
    ("start", "end", "shape"),
    [(0, -1, (24,)), (1, -1, (2, 12)), (0, 1, (6, 4)), (1, 1, (2, 3, 4)), (-2, -1, (2, 12))],
)
def test_flatten(start, end, shape):
    assert Tensor(A).flatten(start, end).shape == shape


def test_flatten_edge_cases():
    assert Tensor(2.0).flatten().shape == (1,)
    assert Tensor(np.zeros((2, 0, 3))).flatten(1).shape == (2, 0)


def test_transpose_defaults_to_the_last_two_dims():
    t = Tensor(A)
    np.testing.assert_array_equal(t.transpose().data, A.swapaxes(-2, -1))
    np.testing.assert_array_equal(t.transpose(0, 2).data, A.swapaxes(0, 2))
    np.testing.assert_array_equal(t.transpose(-3, 1).data, A.swapaxes(0, 1))
    assert np.shares_memory(t.transpose().data, A)  # a view, like PyTorch


@pytest.mark.parametrize("order", [(2, 0, 1), (0, 1, 2), (-1, -3, -2)])
def test_permute(order):
    t = Tensor(A)
    np.testing.assert_array_equal(t.permute(*order).data, np.transpose(A, order))
    np.testing.assert_array_equal(t.permute(order).data, np.transpose(A, order))


def test_permute_records_normalised_dims():
    t = Tensor(A, requires_grad=True)
    assert t.permute(-1, 0, 1).node.attrs == {"dims": (2, 0, 1)}


@pytest.mark.parametrize("order", [(0, 0, 1), (0, 1), (0, 1, 2, 3)])
def test_permute_rejects_non_permutations(order):
    with pytest.raises((ValueError, IndexError), match=r"^permute: "):
        Tensor(A).permute(*order)


def test_capital_t_reverses_all_dims():
    np.testing.assert_array_equal(Tensor(A).T.data, A.T)
    assert Tensor([1.0, 2.0]).T.shape == (2,)
    assert Tensor(1.0).T.shape == ()


def test_squeeze():
    t = Tensor(np.zeros((1, 3, 1, 2)))
    assert t.squeeze().shape == (3, 2)
    assert t.squeeze(0).shape == (3, 1, 2)
    assert t.squeeze(-2).shape == (1, 3, 2)
    assert t.squeeze(1).shape == (1, 3, 1, 2)  # a dim that is not 1 stays (PyTorch)
    assert Tensor(5.0).squeeze(0).shape == ()
    assert Tensor([5.0]).squeeze().shape == ()


def test_unsqueeze():
    t = Tensor(np.zeros((3, 2)))
    assert t.unsqueeze(0).shape == (1, 3, 2)
    assert t.unsqueeze(1).shape == (3, 1, 2)
    assert t.unsqueeze(2).shape == (3, 2, 1)
    assert t.unsqueeze(-1).shape == (3, 2, 1)
    assert t.unsqueeze(-3).shape == (1, 3, 2)
    with pytest.raises(IndexError, match=r"^unsqueeze: dimension 3 is out of range"):
        t.unsqueeze(3)
    with pytest.raises(IndexError, match=r"^transpose: dimension 5 is out of range"):
        t.transpose(0, 5)


def test_expand():
    t = Tensor([[1.0], [2.0]])
    e = t.expand(2, 3)
    assert e.tolist() == [[1.0] * 3, [2.0] * 3]
    assert t.expand(-1, 4).shape == (2, 4)
    assert t.expand(5, 2, 3).shape == (5, 2, 3)
    assert t.expand((2, 3)).shape == (2, 3)
    # Broadcasting allocates nothing: the expanded axis has stride 0.
    assert e.data.strides[1] == 0
    assert np.shares_memory(e.data, t.data)


def test_expand_mismatch():
    with pytest.raises(ValueError, match=r"^expand: cannot expand shape \(2,\) to \(3,\)"):
        Tensor([1.0, 2.0]).expand(3)


# ---- indexing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "index",
    [
        0,
        -1,
        (1, 2),
        (1, 2, 3),
        slice(None, None, 2),
        (slice(None), slice(1, None), slice(None, None, -1)),
        Ellipsis,
        (Ellipsis, 0),
        (None, 0),
        ([0, 1, 1], [2, 0, 1]),
        (slice(None), [0, 2]),
        np.array([1, 0]),
    ],
)
def test_indexing_matches_numpy(index):
    np.testing.assert_array_equal(Tensor(A)[index].data, A[index])


def test_tensor_indices():
    t = Tensor(A)
    np.testing.assert_array_equal(t[Tensor([1, 0])].data, A[[1, 0]])
    np.testing.assert_array_equal(t[:, Tensor([2, 0])].data, A[:, [2, 0]])
    mask = A > 10
    np.testing.assert_array_equal(t[Tensor(mask)].data, A[mask])
    np.testing.assert_array_equal(t[t > 20.0].data, A[A > 20.0])
    np.testing.assert_array_equal(t[Tensor([True, False])].data, A[[True, False]])


def test_basic_slices_are_views_advanced_indices_copies():
    t = Tensor(A.copy())
    assert np.shares_memory(t[1, :, ::2].data, t.data)
    assert not np.shares_memory(t[[0, 1]].data, t.data)
    assert not np.shares_memory(t[t > 5.0].data, t.data)


def test_getitem_records_the_index():
    t = Tensor(A, requires_grad=True)
    y = t[Tensor([1, 0])]
    assert y.node.op == "getitem"
    np.testing.assert_array_equal(y.node.attrs["index"], [1, 0])


def test_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"^getitem: .*out of bounds.*\(2, 3, 4\)"):
        Tensor(A)[2]


def test_bad_mask_names_the_shape():
    with pytest.raises(IndexError, match=r"^getitem: .*\(2, 3, 4\)"):
        Tensor(A)[Tensor([True, False, True])]


def test_setitem():
    t = tt.zeros(2, 3)
    t[0] = 1.0
    t[1, Tensor([0, 2])] = Tensor([5.0, 6.0])
    t[t > 5.5] = -1.0
    assert t.tolist() == [[1.0, 1.0, 1.0], [5.0, 0.0, -1.0]]
