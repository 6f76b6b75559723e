"""The layer_norm op: forward against NumPy, gradient against finite differences."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinytorch.autograd import gradcheck
from tinytorch.autograd.strategies import FAST, nonempty_shapes, normal, seeds
from tinytorch.tensor import Tensor
from tinytorch.transformers.functional import layer_norm


def reference(x, axes, weight=None, bias=None, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    y = y if weight is None else y * weight
    return y if bias is None else y + bias


def make(*shape, seed=0, grad=True, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=grad)


def test_forward_matches_numpy():
    x, w, b = make(3, 4, 6), make(6, seed=1), make(6, seed=2)
    out = layer_norm(x, 6, w, b)
    np.testing.assert_allclose(out.data, reference(x.data, -1, w.data, b.data), atol=1e-12)


def test_forward_over_two_trailing_dims():
    x = make(2, 3, 4)
    out = layer_norm(x, (3, 4))
    np.testing.assert_allclose(out.data, reference(x.data, (1, 2)), atol=1e-12)


def test_float32_in_float32_out_and_stable_for_large_offsets():
    x = Tensor((np.random.default_rng(0).standard_normal((4, 8)) + 1e4).astype(np.float32))
    out = layer_norm(x, 8)
    assert out.dtype == np.float32
    expected = reference(x.data.astype(np.float64), -1)
    np.testing.assert_allclose(out.data, expected, atol=2e-2)


def test_constant_rows_give_zeros_not_nan():
    out = layer_norm(Tensor(np.full((2, 5), 3.0, dtype=np.float32)), 5)
    assert np.all(out.data == 0)


@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_gradcheck(affine):
    x = make(2, 3, 5)
    w = make(5, seed=1) if affine in ("both", "weight") else None
    b = make(5, seed=2) if affine in ("both", "bias") else None
    inputs = [t for t in (x, w, b) if t is not None]

    def fn(*args):
        it = iter(args)
        xx = next(it)
        ww = next(it) if w is not None else None
        bb = next(it) if b is not None else None
        return layer_norm(xx, 5, ww, bb)

    assert gradcheck(fn, tuple(inputs))


def test_gradcheck_two_trailing_dims_and_size_one_rows():
    x, w, b = make(4, 1, 2, 3), make(2, 3, seed=1), make(2, 3, seed=2)
    assert gradcheck(lambda a, c, d: layer_norm(a, (2, 3), c, d, eps=1e-3), (x, w, b))


def test_input_gradient_is_orthogonal_to_constants():
    # normalization removes the mean, so shifting x changes nothing: each row of dx sums to 0
    x = make(3, 7)
    layer_norm(x, 7).backward(np.random.default_rng(5).standard_normal((3, 7)))
    np.testing.assert_allclose(x.grad.data.sum(axis=1), 0.0, atol=1e-12)


def test_shape_errors():
    x = make(2, 3)
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(4,\) does not match"):
        layer_norm(x, 4)
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(1, 2, 3\)"):
        layer_norm(x, (1, 2, 3))
    with pytest.raises(ValueError, match=r"layer_norm: weight of shape \(2,\) should have"):
        layer_norm(x, 3, make(2))
    with pytest.raises(TypeError, match="layer_norm: input must be floating"):
        layer_norm(Tensor([[1, 2]]), 2)


@FAST
@given(
    batch=nonempty_shapes, normalized=st.integers(1, 2), seed=seeds, affine=st.booleans(),
)  # fmt: skip
def test_gradcheck_on_drawn_shapes(batch, normalized, seed, affine):
    rng = np.random.default_rng(seed)
    trailing = tuple(int(n) for n in rng.integers(2, 4, normalized))  # >= 2: a real variance
    x = normal(rng, batch + trailing)
    w = normal(rng, trailing) if affine else None
    b = normal(rng, trailing) if affine else None
    if affine:
        assert gradcheck(lambda a, c, d: layer_norm(a, trailing, c, d), (x, w, b))
    else:
        assert gradcheck(lambda a: layer_norm(a, trailing), (x,))
