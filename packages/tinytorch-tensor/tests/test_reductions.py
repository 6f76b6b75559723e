"""sum / mean / var / max / min / argmax / argmin against NumPy, and their bad inputs."""

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.tensor import Tensor

X = np.random.default_rng(0).standard_normal((2, 3, 4))
AXES = [None, 0, 1, -1, (0, 2), [2, -3]]


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin"])
def test_reductions_match_numpy(name, axis, keepdims):
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    out = getattr(Tensor(X), name)(axis=axis, keepdims=keepdims)
    want = getattr(np, name)(X, axis=np_axis, keepdims=keepdims)
    assert out.shape == want.shape
    np.testing.assert_allclose(out.data, want, rtol=1e-12)


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("correction", [0, 1])
def test_var_matches_numpy(axis, keepdims, correction):
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    out = Tensor(X).var(axis=axis, keepdims=keepdims, correction=correction)
    want = np.var(X, axis=np_axis, keepdims=keepdims, ddof=correction)
    assert out.shape == want.shape
    np.testing.assert_allclose(out.data, want, rtol=1e-12)


def test_var_defaults_to_bessel_correction():
    # PyTorch: torch.tensor([1., 2., 3., 4.]).var() == 1.6667 (divides by n - 1).
    np.testing.assert_allclose(Tensor([1.0, 2.0, 3.0, 4.0]).var().item(), 5.0 / 3.0, rtol=1e-6)


def test_reductions_keep_float32():
    x = tt.ones(3, 4)
    for name in ("sum", "mean", "amax", "amin", "var"):
        assert getattr(x, name)(axis=0).dtype == np.float32


def test_sum_of_a_bool_mask_counts():
    assert Tensor([True, False, True]).sum().item() == 2


def test_mean_needs_floating_point():
    with pytest.raises(TypeError, match=r"^mean: .*int64"):
        Tensor([1, 2]).mean()


@pytest.mark.parametrize("axis", [None, 0, 1, -1, 2])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions_match_numpy(name, axis, keepdims):
    out = getattr(Tensor(X), name)(axis=axis, keepdims=keepdims)
    want = getattr(np, name)(X, axis=axis, keepdims=keepdims)
    assert out.dtype == np.int64
    assert out.shape == want.shape
    np.testing.assert_array_equal(out.data, want)


def test_argmax_is_not_recorded():
    assert Tensor([1.0, 3.0], requires_grad=True).argmax().node is None


def test_argmax_takes_one_axis():
    with pytest.raises(ValueError, match=r"^argmax: takes a single axis, got \(0, 1\)"):
        Tensor(X).argmax(axis=(0, 1))


@pytest.mark.parametrize("name", ["argmax", "argmin", "max", "min"])
def test_reduction_over_an_empty_dimension(name):
    empty = Tensor(np.zeros((0, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=rf"^{name}: reduction over an empty dimension .*\(0, 3\)"):
        getattr(empty, name)(axis=0)
    with pytest.raises(ValueError, match=rf"^{name}: "):
        getattr(empty, name)()
    # Reducing along the non-empty dimension is fine: one result per (zero) row.
    out = getattr(empty, name)(axis=1)
    assert (out.values if isinstance(out, tuple) else out).shape == (0,)


@pytest.mark.parametrize("name", ["sum", "mean", "var", "max", "min", "argmax"])
def test_axis_out_of_range(name):
    with pytest.raises(IndexError, match=rf"^{name}: dimension 3 is out of range .*3 dim"):
        getattr(Tensor(X), name)(axis=3)


def test_negative_axes_equal_positive_ones():
    a = Tensor(X).sum(axis=-1)
    b = Tensor(X).sum(axis=2)
    np.testing.assert_array_equal(a.data, b.data)
    assert Tensor(X, requires_grad=True).sum(axis=-1).node.attrs == {
        "axis": (2,),
        "keepdims": False,
    }
