"""Gradient rules of the loss ops, checked against central differences in float64."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinytorch.autograd import gradcheck
from tinytorch.autograd.strategies import FAST, nonempty_shapes, normal, seeds
from tinytorch.layers import Dropout, Linear
from tinytorch.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
)
from tinytorch.tensor import Generator, Tensor

RNG = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]


def leaf(array):
    return Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def const(array, dtype=np.float64):
    return Tensor(np.asarray(array, dtype=dtype))


# ---- mse_loss --------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(shape=nonempty_shapes, seed=seeds)
def test_mse_gradient_for_input_and_target(reduction, shape, seed):
    rng = np.random.default_rng(seed)
    x, t = normal(rng, shape), normal(rng, shape)
    assert gradcheck(lambda a, b: mse_loss(a, b, reduction=reduction), [x, t])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@FAST
@given(
    batch=st.integers(1, 4), classes=st.integers(1, 5), smoothing=st.sampled_from([0.0, 0.2]),
    seed=seeds,
)  # fmt: skip
def test_cross_entropy_gradient_on_drawn_sizes(reduction, batch, classes, smoothing, seed):
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((batch, classes)) * 2, requires_grad=True)
    t = Tensor(rng.integers(0, classes, batch))
    assert gradcheck(
        lambda a: cross_entropy(a, t, reduction=reduction, label_smoothing=smoothing), [x]
    )


def test_mse_gradient_value():
    x = leaf([1.0, 2.0, 4.0])
    mse_loss(x, const([0.0, 0.0, 1.0])).backward()
    np.testing.assert_allclose(x.grad.data, 2 * np.array([1.0, 2.0, 3.0]) / 3)


# ---- cross_entropy ---------------------------------------------------------------------------
CE_CASES = list(itertools.product(REDUCTIONS, [False, True], [False, True], [0.0, 0.25]))


@pytest.mark.parametrize(("reduction", "weighted", "ignore", "smoothing"), CE_CASES)
def test_cross_entropy_gradient(reduction, weighted, ignore, smoothing):
    x = leaf(RNG.standard_normal((5, 4)) * 2)
    t = Tensor([0, 3, 1, 3, 2])
    w = const([0.5, 1.0, 2.0, 1.5]) if weighted else None
    ignore_index = 3 if ignore else -100
    assert gradcheck(
        lambda a: cross_entropy(
            a,
            t,
            weight=w,
            ignore_index=ignore_index,
            reduction=reduction,
            label_smoothing=smoothing,
        ),
        [x],
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradient_spatial_and_unbatched(reduction):
    x = leaf(RNG.standard_normal((2, 3, 2, 1)))
    t = Tensor([[[0], [2]], [[-100], [1]]])
    w = const([1.0, 0.5, 2.0])
    assert gradcheck(
        lambda a: cross_entropy(a, t, weight=w, reduction=reduction, label_smoothing=0.1), [x]
    )
    v = leaf(RNG.standard_normal(4))
    assert gradcheck(lambda a: cross_entropy(a, Tensor(2), reduction=reduction), [v])
    one_class = leaf(RNG.standard_normal((3, 1)))
    assert gradcheck(
        lambda a: cross_entropy(a, Tensor([0, 0, 0]), reduction=reduction), [one_class]
    )


def test_cross_entropy_gradient_at_extreme_logits():
    x = leaf([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]])
    t = Tensor([1, 1])
    assert gradcheck(lambda a: cross_entropy(a, t, label_smoothing=0.1), [x])
    cross_entropy(x, t).backward()
    # softmax saturates: p is one-hot at the largest logit, so the gradient is (p - onehot) / N
    expected = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]]) / 2
    np.testing.assert_allclose(x.grad.data, expected, atol=1e-12)
    assert np.isfinite(x.grad.data).all()


def test_cross_entropy_gradient_value_and_ignored_rows():
    x = leaf(np.zeros((3, 4)))
    cross_entropy(x, Tensor([1, -100, 3])).backward()
    expected = np.full((3, 4), 0.25)
    expected[0, 1] -= 1
    expected[2, 3] -= 1
    expected[1] = 0.0  # ignored: no gradient at all
    np.testing.assert_allclose(x.grad.data, expected / 2)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_all_ignored_gives_zero_gradient_like_pytorch(reduction):
    # The mean's loss is 0/0 = nan, but no sample contributes, so the gradient is 0, not nan.
    x = leaf(np.ones((2, 3)))
    out = cross_entropy(x, Tensor([-100, -100]), reduction=reduction, label_smoothing=0.1)
    out.backward(np.ones(out.shape))
    np.testing.assert_array_equal(x.grad.data, 0.0)


def test_cross_entropy_float32_gradient_stays_float32():
    x = Tensor(RNG.standard_normal((4, 3)).astype(np.float32), requires_grad=True)
    cross_entropy(x, Tensor([0, 1, 2, 0]), label_smoothing=0.1).backward()
    assert x.grad.dtype == np.float32


# ---- binary_cross_entropy --------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_gradient(reduction, weighted):
    p = leaf(RNG.random((3, 1, 4)) * 0.8 + 0.1)
    t = const(RNG.random((3, 1, 4)))
    w = const(RNG.random((1, 4)) + 0.5) if weighted else None
    assert gradcheck(
        lambda a: binary_cross_entropy(a, t, weight=w, reduction=reduction), [p], atol=1e-6
    )


def test_bce_gradient_is_finite_at_zero_and_one():
    p = leaf([0.0, 1.0, 0.0, 1.0])
    binary_cross_entropy(p, const([0.0, 1.0, 1.0, 0.0]), reduction="sum").backward()
    g = p.grad.data
    assert np.isfinite(g).all()
    np.testing.assert_array_equal(g[:2], 0.0)  # already right: nothing to move
    assert g[2] == -1e12  # (p - t) / max(p (1 - p), 1e-12), as in PyTorch
    assert g[3] == 1e12


# ---- binary_cross_entropy_with_logits --------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("weighted", "pos_weighted"), [(False, False), (True, False), (True, True)]
)
def test_bce_with_logits_gradient(reduction, weighted, pos_weighted):
    x = leaf(RNG.standard_normal((4, 3)) * 3)
    t = const(RNG.random((4, 3)))
    w = const(RNG.random((4, 1)) + 0.5) if weighted else None
    pw = const(RNG.random(3) * 3) if pos_weighted else None
    assert gradcheck(
        lambda a: binary_cross_entropy_with_logits(
            a, t, weight=w, reduction=reduction, pos_weight=pw
        ),
        [x],
    )


def test_bce_with_logits_gradient_at_extreme_logits():
    x = leaf([1e4, -1e4, 1e4, -1e4, 0.0])
    t = const([1.0, 0.0, 0.0, 1.0, 0.5])
    pw = const([2.0])
    assert gradcheck(
        lambda a: binary_cross_entropy_with_logits(a, t, reduction="sum", pos_weight=pw), [x]
    )
    binary_cross_entropy_with_logits(x, t, reduction="sum", pos_weight=pw).backward()
    # (1 - t) - (1 + (pw - 1) t) sigmoid(-x)
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0, 1.0, -2.0, 0.5 - 1.5 * 0.5], atol=1e-12)


def test_bce_with_logits_gradient_is_sigmoid_minus_target():
    x = leaf(RNG.standard_normal(6))
    t = const(RNG.random(6))
    binary_cross_entropy_with_logits(x, t, reduction="sum").backward()
    np.testing.assert_allclose(x.grad.data, 1 / (1 + np.exp(-x.data)) - t.data, rtol=1e-12)


# ---- through layers --------------------------------------------------------------------------
def test_gradient_through_linear_and_dropout_into_cross_entropy():
    layer = Linear(4, 3, dtype=np.float64, generator=Generator(0))
    t = Tensor([0, 2, 1])

    def fn(x):
        drop = Dropout(0.5, generator=Generator(1))  # a fresh seed: the same mask every call
        return cross_entropy(drop(layer(x)), t, label_smoothing=0.1)

    assert gradcheck(fn, [leaf(RNG.standard_normal((3, 4)))])


def test_linear_parameter_gradients_match_closed_form():
    layer = Linear(4, 3, dtype=np.float64, generator=Generator(0))
    x = const(RNG.standard_normal((5, 4)))
    t = Tensor([0, 2, 1, 1, 0])
    cross_entropy(layer(x), t).backward()
    logits = x.data @ layer.weight.data.T + layer.bias.data
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(5), t.data] -= 1
    np.testing.assert_allclose(layer.weight.grad.data, p.T @ x.data / 5, rtol=1e-10)
    np.testing.assert_allclose(layer.bias.grad.data, p.sum(0) / 5, rtol=1e-10)
