"""The lessons' fast versions give the slow versions' numbers (float64)."""

import numpy as np
import pytest

from tinytorch.acceleration.lessons import (
    adam_fused,
    adam_op_by_op,
    conv2d_im2col,
    conv2d_loops,
    gelu_backward_fused,
    gelu_backward_op_by_op,
    gelu_fused,
    gelu_op_by_op,
    matmul_loops,
    matmul_tiled,
)
from tinytorch.activations.functional import GELU_TANH_COEFF, SQRT_2_OVER_PI

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(("shape", "block"), [((5, 7, 3), 2), ((70, 50, 90), 16), ((8, 8, 8), 64)])
def test_matmul_tiled_equals_the_loops_and_numpy(shape, block):
    m, k, n = shape
    a, b = RNG.standard_normal((m, k)), RNG.standard_normal((k, n))
    got = matmul_tiled(a, b, block=block)
    np.testing.assert_allclose(got, a @ b, rtol=1e-12, atol=1e-12)
    if m * k * n < 1000:
        np.testing.assert_allclose(got, matmul_loops(a, b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("padding", [0, 1, 2])
def test_conv2d_im2col_equals_the_loops(padding):
    x, w = RNG.standard_normal((2, 3, 6, 5)), RNG.standard_normal((4, 3, 3, 2))
    fast = conv2d_im2col(x, w, padding)
    assert fast.shape == (2, 4, 4 + 2 * padding, 4 + 2 * padding)
    np.testing.assert_allclose(fast, conv2d_loops(x, w, padding), rtol=1e-12, atol=1e-12)


def test_gelu_fused_equals_the_gelu_forward_op_by_op():
    x = RNG.standard_normal(1000) * 4
    out = np.empty_like(x)
    assert gelu_fused(x, out) is out
    np.testing.assert_allclose(out, gelu_op_by_op(x), rtol=1e-12, atol=1e-15)


def test_gelu_backward_fused_equals_the_op_by_op_derivative():
    x, grad = RNG.standard_normal(1000) * 4, RNG.standard_normal(1000)
    t = np.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_COEFF * x**3))
    out, tmp = np.empty_like(x), np.empty_like(x)
    got = gelu_backward_fused(x, t, grad, out, tmp)
    np.testing.assert_allclose(got, gelu_backward_op_by_op(x, grad), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("step", [1, 2, 10])
def test_adam_fused_equals_adam_op_by_op(step):
    p, g = RNG.standard_normal(50), RNG.standard_normal(50)
    m, v = RNG.standard_normal(50), RNG.random(50)
    want_p, want_m, want_v = adam_op_by_op(p, g, m, v, step, lr=0.01, wd=0.1)
    p2, m2, v2 = p.copy(), m.copy(), v.copy()
    adam_fused(p2, g, m2, v2, step, np.empty(50), lr=0.01, wd=0.1)
    for got, want in ((p2, want_p), (m2, want_m), (v2, want_v)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
