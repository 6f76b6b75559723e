"""cat / concatenate / stack / where."""

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.tensor import Tensor

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(("axis", "shapes"), [(0, [(2, 3), (1, 3), (4, 3)]), (1, [(2, 1), (2, 5)])])
def test_cat_matches_numpy(axis, shapes):
    arrays = [RNG.standard_normal(s) for s in shapes]
    out = tt.cat([Tensor(a) for a in arrays], axis=axis)
    np.testing.assert_array_equal(out.data, np.concatenate(arrays, axis=axis))
    neg = tt.concatenate([Tensor(a) for a in arrays], axis=axis - 2)
    np.testing.assert_array_equal(neg.data, out.data)


def test_cat_records_the_sizes_for_backward():
    a, b = tt.ones(2, 3, requires_grad=True), tt.zeros(4, 3)
    out = tt.cat((a, b), axis=-2)
    assert out.node.op == "cat"
    assert out.node.inputs == (a, b)
    assert out.node.attrs == {"axis": 0, "sizes": (2, 4)}


def test_cat_mismatch_names_every_shape():
    with pytest.raises(ValueError, match=r"^cat: shapes \(2, 3\), \(2, 4\) differ outside dim"):
        tt.cat([tt.ones(2, 3), tt.ones(2, 4)])


def test_cat_of_nothing():
    with pytest.raises(ValueError, match=r"^cat: "):
        tt.cat([])


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_stack_matches_numpy(axis):
    arrays = [RNG.standard_normal((2, 3)) for _ in range(4)]
    out = tt.stack([Tensor(a) for a in arrays], axis=axis)
    np.testing.assert_array_equal(out.data, np.stack(arrays, axis=axis))


def test_stack_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"^stack: .*\(2, 3\), \(3, 3\)"):
        tt.stack([tt.ones(2, 3), tt.ones(3, 3)])
    with pytest.raises(ValueError, match=r"^stack: "):
        tt.stack([])


def test_where_with_tensors_and_scalars():
    cond = Tensor([True, False, True])
    a, b = Tensor([1.0, 2.0, 3.0]), Tensor([-1.0, -2.0, -3.0])
    assert tt.where(cond, a, b).tolist() == [1.0, -2.0, 3.0]
    assert tt.where(cond, a, 0.0).tolist() == [1.0, 0.0, 3.0]
    assert tt.where(cond, 0.0, b).tolist() == [0.0, -2.0, 0.0]
    assert tt.where([True, False], 1.0, 2.0).tolist() == [1.0, 2.0]
    assert tt.where(cond, a, 0.0).dtype == np.float32
    assert tt.where(cond, 0, b).dtype == np.float32


def test_where_broadcasts_all_three():
    cond = Tensor(np.array([[True], [False]]))
    out = tt.where(cond, Tensor([1.0, 2.0, 3.0]), Tensor(np.zeros((2, 1))))
    np.testing.assert_array_equal(
        out.data, np.where([[True], [False]], [1.0, 2.0, 3.0], np.zeros((2, 1)))
    )


def test_where_records_the_condition_as_an_attribute():
    x = tt.ones(3, requires_grad=True)
    out = tt.where(x > 0.5, x, 0.0)
    assert out.node.op == "where"
    assert out.node.inputs[0] is x
    assert len(out.node.inputs) == 2
    np.testing.assert_array_equal(out.node.attrs["condition"], [True, True, True])


def test_where_needs_a_bool_condition():
    with pytest.raises(TypeError, match=r"^where: condition must be a bool tensor, got float32"):
        tt.where(tt.ones(2), tt.ones(2), tt.ones(2))


def test_where_mismatch_names_all_shapes():
    with pytest.raises(
        ValueError, match=r"^where: shapes \(2,\), \(3,\) and \(2,\) cannot be broadcast"
    ):
        tt.where(Tensor([True, False]), tt.ones(3), tt.ones(2))
