"""Gradient rules of the activation ops, checked against central differences in float64."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinytorch.activations as A
from tinytorch.autograd import gradcheck
from tinytorch.autograd.rules import activations as activation_rules
from tinytorch.autograd.strategies import (
    FAST,
    away_from_zero,
    last_dim_shapes,
    normal,
    seeds,
    shapes,
)
from tinytorch.tensor import Tensor

RNG = np.random.default_rng(0)


def leaf(array, dtype=np.float64):
    return Tensor(np.asarray(array, dtype=dtype), requires_grad=True)


ELEMENTWISE = {
    "relu": A.relu,
    "leaky_relu": A.leaky_relu,
    "leaky_relu(0.3)": lambda x: A.leaky_relu(x, negative_slope=0.3),
    "sigmoid": A.sigmoid,
    "tanh": A.tanh,
    "gelu": A.gelu,
    "gelu(tanh)": lambda x: A.gelu(x, approximate="tanh"),
}


@pytest.mark.parametrize("name", list(ELEMENTWISE))
@FAST
@given(shape=shapes, seed=seeds)
def test_elementwise_gradients(name, shape, seed):
    # Off zero: relu and leaky_relu have a kink there.
    x = away_from_zero(np.random.default_rng(seed), shape, low=0.1, high=4.0)
    assert gradcheck(ELEMENTWISE[name], [x])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradient_across_its_range(approximate):
    # Through the curved region, the tail where Phi is tiny, and past the tanh form's cap.
    x = leaf(np.concatenate([np.linspace(-12.0, 12.0, 97), [-0.0, 1e-8, 9.99, 10.01]]))
    assert gradcheck(lambda t: A.gelu(t, approximate=approximate), [x])


def test_gelu_exact_derivative_values():
    # d/dx x Phi(x) = Phi(x) + x phi(x), evaluated with the math module (not the package's erf).
    points = [-5.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 5.0]
    x = leaf(points)
    A.gelu(x).sum().backward()
    want = [
        0.5 * math.erfc(-v / math.sqrt(2)) + v * math.exp(-v * v / 2) / math.sqrt(2 * math.pi)
        for v in points
    ]
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-13, atol=1e-16)
    # PyTorch 2.13 (float64) agrees: gelu'(-1) = -0.0833154..., gelu'(1) = 1.0833154...
    np.testing.assert_allclose(
        x.grad.data[[2, 6]], [-0.08331547058768635, 1.0833154705876864], rtol=1e-13
    )


def test_gelu_tanh_derivative_values():
    # PyTorch 2.13 (float64) torch.nn.functional.gelu(approximate="tanh") gradients.
    x = leaf([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    A.gelu(x, approximate="tanh").sum().backward()
    torch_grad = [
        -0.011584166630969648,
        -0.08296408384578252,
        0.13263009646535764,
        0.5,
        0.8673699035346424,
        1.0829640838457826,
        1.0115841666309695,
    ]
    np.testing.assert_allclose(x.grad.data, torch_grad, rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_tanh_grad_textbook_equals_optimized(dtype):
    # The registered in-place rule and the one-formula form a student writes: the same numbers,
    # across the range, past the cap, at the dtype's limits, for 0-d and n-d inputs.
    big = float(np.finfo(dtype).max)
    grid = np.concatenate([np.linspace(-12.0, 12.0, 2397), [-big, big, 0.0]]).astype(dtype)
    upstream = RNG.standard_normal(grid.size).astype(dtype)
    for x, g in ((grid, upstream), (grid.reshape(6, -1), upstream.reshape(6, -1))):
        node = A.gelu(Tensor(x, requires_grad=True), approximate="tanh").node
        (fused,) = activation_rules.gelu(g, node)
        textbook = activation_rules._gelu_tanh_grad_textbook(g, x)
        assert textbook.dtype == fused.dtype == dtype
        assert textbook.shape == fused.shape == x.shape
        tol = 1e-14 if dtype == np.float64 else 1e-6
        np.testing.assert_allclose(textbook, fused, rtol=tol, atol=tol)
    scalar = np.asarray(0.75, dtype=dtype)
    node = A.gelu(Tensor(scalar, requires_grad=True), approximate="tanh").node
    (fused,) = activation_rules.gelu(np.asarray(1.0, dtype=dtype), node)
    textbook = activation_rules._gelu_tanh_grad_textbook(np.asarray(1.0, dtype=dtype), scalar)
    assert textbook.shape == fused.shape == ()
    np.testing.assert_allclose(textbook, fused, rtol=1e-6 if dtype == np.float32 else 1e-15)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_gradient_at_extremes(approximate, dtype):
    big = float(np.finfo(dtype).max)
    x = leaf([-big, -1e4, 1e4, big], dtype=dtype)
    A.gelu(x, approximate=approximate).sum().backward()
    assert x.grad.dtype == dtype
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 1.0]


def test_relu_and_leaky_relu_gradient_at_zero_follow_pytorch():
    x = leaf([0.0])
    A.relu(x).backward()
    assert x.grad.tolist() == [0.0]
    y = leaf([0.0])
    A.leaky_relu(y, 0.2).backward()
    assert y.grad.tolist() == [0.2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturated_sigmoid_and_tanh_have_zero_finite_gradients(dtype):
    for fn in (A.sigmoid, A.tanh):
        x = leaf([-1e4, -50.0, 50.0, 1e4], dtype=dtype)
        fn(x).sum().backward()
        assert np.isfinite(x.grad.data).all()
        np.testing.assert_allclose(x.grad.data, 0.0, atol=1e-20)


def test_sigmoid_gradient_at_large_inputs():
    x = leaf([-30.0, -1e4, 30.0, 1e4])
    assert gradcheck(A.sigmoid, [x])


# ---- softmax / log_softmax ------------------------------------------------------------------

SOFTMAXES = {"softmax": A.softmax, "log_softmax": A.log_softmax}
DIM_CASES = [((), -1), ((1,), 0), ((4,), 0), ((3, 1), -1), ((3, 1), 0), ((2, 3, 4), 1)]
DIM_CASES += [((2, 3, 4), -1), ((2, 3, 4), 0), ((2, 1, 4), -2)]


@pytest.mark.parametrize(("shape", "dim"), DIM_CASES)
@pytest.mark.parametrize("name", list(SOFTMAXES))
def test_softmax_gradients(name, shape, dim):
    x = leaf(RNG.standard_normal(shape) * 3)
    assert gradcheck(lambda t: SOFTMAXES[name](t, dim=dim), [x])


@pytest.mark.parametrize("name", list(SOFTMAXES))
@FAST
@given(shape=last_dim_shapes, seed=seeds, data=st.data())
def test_softmax_gradients_on_drawn_shapes_and_dims(name, shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    x = normal(np.random.default_rng(seed), shape)
    assert gradcheck(lambda t: SOFTMAXES[name](t, dim=dim), [x])


@pytest.mark.parametrize("name", list(SOFTMAXES))
def test_softmax_gradients_at_extreme_logits(name):
    x = leaf([[1e4, 0.0, -1e4], [-1e4, -1e4 + 1.0, -1e4 - 2.0], [5e3, 5e3, -5e3]])
    assert gradcheck(lambda t: SOFTMAXES[name](t, dim=-1), [x])
    x.zero_grad()
    SOFTMAXES[name](x).backward(RNG.standard_normal((3, 3)))
    assert np.isfinite(x.grad.data).all()


def test_softmax_gradient_with_masked_entries():
    # -inf entries (a mask) get probability 0 and gradient 0; the others are still checked.
    inf = float("inf")
    x = leaf([[0.5, -inf, 1.0], [-inf, 2.0, -inf], [0.1, 0.2, 0.3]])
    assert gradcheck(lambda t: A.softmax(t, dim=-1), [x])
    x.zero_grad()
    A.softmax(x).backward(RNG.standard_normal((3, 3)))
    assert np.isfinite(x.grad.data).all()
    assert x.grad.data[0, 1] == 0.0
    assert x.grad.data[1].tolist() == [0.0, 0.0, 0.0]  # a one-hot row does not move


def test_log_softmax_gradient_with_masked_entries():
    # log_softmax is -inf at masked entries, so check the formula through finite outputs only:
    # for upstream g, the gradient is g - softmax(x) * sum(g), and 0 at the masked entries.
    inf = float("inf")
    data = np.array([[0.5, -inf, 1.0], [0.0, 2.0, -inf]])
    x = leaf(data)
    g = np.array([[1.0, 0.0, -2.0], [0.5, 3.0, 0.0]])
    A.log_softmax(x).backward(g)
    p = np.exp(data - data.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    want = g - p * g.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad.data, want, rtol=1e-14)
    assert x.grad.data[0, 1] == 0.0
    assert x.grad.data[1, 2] == 0.0


def test_softmax_gradient_is_the_jacobian_product():
    # A slice's Jacobian is diag(s) - s s^T; the rule must give J^T g without building J.
    x = leaf([0.3, -1.2, 2.0, 0.0])
    g = np.array([1.0, -2.0, 0.5, 3.0])
    s = A.softmax(x)
    s.backward(g)
    sv = s.data
    jac = np.diag(sv) - np.outer(sv, sv)
    np.testing.assert_allclose(x.grad.data, jac.T @ g, rtol=1e-14)


# ---- the module classes, dtypes, composition ------------------------------------------------


@pytest.mark.parametrize(
    "module",
    [
        A.ReLU(),
        A.LeakyReLU(0.1),
        A.Sigmoid(),
        A.Tanh(),
        A.GELU(),
        A.GELU("tanh"),
        A.Softmax(dim=0),
        A.LogSoftmax(dim=1),
    ],
)
def test_module_gradients(module):
    x = away_from_zero(RNG, (3, 4), low=0.1)
    assert gradcheck(module, [x])


@pytest.mark.parametrize(
    "fn", [*ELEMENTWISE.values(), A.softmax, A.log_softmax], ids=[*ELEMENTWISE, *SOFTMAXES]
)
def test_float32_gradients_stay_float32(fn):
    x = leaf(away_from_zero(RNG, (2, 3), low=0.1).data, dtype=np.float32)
    fn(x).backward(np.ones((2, 3), dtype=np.float32))
    assert x.grad.dtype == np.float32
    assert x.grad.shape == (2, 3)


def test_an_input_used_by_several_activations():
    x = away_from_zero(RNG, (3, 4), low=0.1)
    assert gradcheck(
        lambda t: A.sigmoid(t) * A.tanh(t) + A.log_softmax(A.gelu(t), dim=0) - A.relu(t), [x]
    )
