"""The fused ops: float64 gradcheck, equal to the unfused composition (forward and every
gradient), and the same errors as the ops and layers they replace."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.acceleration import causal_self_attention, linear, linear_gelu, relu_max_pool2d
from tinytorch.activations import gelu
from tinytorch.autograd import gradcheck
from tinytorch.layers import Linear
from tinytorch.tensor import Generator, Tensor, randn


def _t(*shape: int, seed: int = 0, dtype: Any = np.float64) -> Tensor:
    return randn(*shape, generator=Generator(seed)).to(dtype).requires_grad_()


def _grads(out: Tensor, weights: Tensor, *inputs: Tensor) -> list[Any]:
    for t in inputs:
        t.grad = None
    (out * weights).sum().backward()
    return [None if t.grad is None else t.grad.data.copy() for t in inputs]


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (1, 1, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(shape: tuple[int, ...], bias: bool) -> None:
    x, w = _t(*shape), _t(4, 3, seed=1)
    args = [x, w] + ([_t(4, seed=2)] if bias else [])
    assert gradcheck(linear, args)


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gelu_gradcheck(shape: tuple[int, ...], bias: bool) -> None:
    x, w = _t(*shape), _t(4, 3, seed=1)
    args = [x, w] + ([_t(4, seed=2)] if bias else [])
    assert gradcheck(linear_gelu, args)


@pytest.mark.parametrize(
    ("n", "length", "heads", "dim"), [(2, 5, 2, 3), (1, 1, 1, 4), (3, 4, 4, 2)]
)
def test_causal_self_attention_gradcheck(n: int, length: int, heads: int, dim: int) -> None:
    packed = _t(n, length, 3 * heads * dim)
    assert gradcheck(lambda p: causal_self_attention(p, heads), [packed])


def _composed_attention(packed: Tensor, heads: int) -> Tensor:
    from tinytorch.attention import scaled_dot_product_attention

    n, length, e3 = packed.shape
    d = e3 // 3 // heads
    qkv = packed.reshape(n, length, 3, heads, d).permute(2, 0, 3, 1, 4)
    out = scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_causal=True)
    return out.permute(0, 2, 1, 3).reshape(n, length, heads * d)


def test_causal_self_attention_equals_composition() -> None:
    pytest.importorskip("tinytorch.attention")
    packed, weights = _t(3, 7, 24), _t(3, 7, 8, seed=5)
    fused = causal_self_attention(packed, 2)
    g_fused = _grads(fused, weights, packed)
    ref = _composed_attention(packed, 2)
    g_ref = _grads(ref, weights, packed)
    np.testing.assert_allclose(fused.data, ref.data, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g_fused[0], g_ref[0], rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("fused_op", ["linear", "linear_gelu"])
def test_linear_ops_equal_composition(fused_op: str) -> None:
    x, w, b, weights = _t(2, 5, 3), _t(4, 3, seed=1), _t(4, seed=2), _t(2, 5, 4, seed=3)
    if fused_op == "linear":
        fused, ref = linear(x, w, b), x @ w.T + b
    else:
        fused, ref = linear_gelu(x, w, b), gelu(x @ w.T + b, approximate="tanh")
    g_fused = _grads(fused, weights, x, w, b)
    g_ref = _grads(ref, weights, x, w, b)
    np.testing.assert_allclose(fused.data, ref.data, rtol=1e-12, atol=1e-14)
    for a, r in zip(g_fused, g_ref, strict=True):
        np.testing.assert_allclose(a, r, rtol=1e-11, atol=1e-13)


def test_linear_gelu_at_extreme_inputs_is_finite() -> None:
    # Past the cap, the derivative is 0 or 1 exactly, as module 02's gelu rule gives.
    x = Tensor(np.array([[-1e30], [0.0], [1e30]], dtype=np.float32), requires_grad=True)
    w = Tensor(np.ones((1, 1), dtype=np.float32), requires_grad=True)
    y = linear_gelu(x, w)
    y.sum().backward()
    assert x.grad is not None
    assert np.isfinite(y.data).all()
    assert np.isfinite(x.grad.data).all()
    assert x.grad.data.ravel().tolist() == [0.0, 0.5, 1.0]


def test_only_needed_gradients_are_computed() -> None:
    x = Tensor(np.ones((2, 3)))  # no grad: a data batch
    w = _t(4, 3)
    linear(x, w).sum().backward()
    assert x.grad is None
    assert w.grad is not None


def _error(fn: Any) -> str:
    with pytest.raises((ValueError, TypeError)) as info:
        fn()
    return str(info.value)


def test_linear_errors_are_the_layers_errors() -> None:
    layer = Linear(3, 4, generator=Generator(0))
    bad = randn(2, 5)
    assert _error(lambda: linear(bad, layer.weight, layer.bias)) == _error(lambda: layer(bad))
    assert _error(lambda: linear_gelu(bad, layer.weight, layer.bias)) == _error(lambda: layer(bad))
    wide = randn(2, 3).to(np.float64)
    assert _error(lambda: linear(wide, layer.weight)) == _error(lambda: layer(wide))
    with pytest.raises(ValueError, match=r"linear: bias of shape \(5,\) should be \(4,\)"):
        linear(randn(2, 3), layer.weight, randn(5))


def test_attention_errors_name_the_op_and_shapes() -> None:
    with pytest.raises(ValueError, match=r"causal_self_attention: packed must be .* \(2, 5\)"):
        causal_self_attention(randn(2, 5), 1)
    with pytest.raises(ValueError, match=r"causal_self_attention: packed .* \(2, 3, 10\)"):
        causal_self_attention(randn(2, 3, 10), 1)
    with pytest.raises(ValueError, match="embed_dim=4 is not divisible by num_heads=3"):
        causal_self_attention(randn(2, 3, 12), 3)
    with pytest.raises(ValueError, match="num_heads must be a positive int, got 0"):
        causal_self_attention(randn(2, 3, 12), 0)


def test_relu_max_pool2d_gradcheck() -> None:
    x = _t(2, 3, 4, 6)
    assert gradcheck(relu_max_pool2d, [x])


def test_relu_max_pool2d_equals_relu_then_pool_with_ties() -> None:
    convolutions = pytest.importorskip("tinytorch.convolutions")
    from tinytorch.activations import relu

    rng = np.random.default_rng(0)
    # Rounded values: many ties, many all-negative windows (all zero after ReLU), as a ReLU
    # network's feature maps have.
    data = np.round(rng.standard_normal((3, 4, 6, 8)) * 2) / 2
    x, weights = Tensor(data, requires_grad=True), _t(3, 4, 3, 4, seed=4)
    fused = relu_max_pool2d(x)
    g_fused = _grads(fused, weights, x)
    ref = convolutions.max_pool2d(relu(x), 2)
    g_ref = _grads(ref, weights, x)
    assert np.array_equal(fused.data, ref.data)
    assert np.array_equal(g_fused[0], g_ref[0])


def test_relu_max_pool2d_errors() -> None:
    with pytest.raises(
        ValueError, match=r"relu_max_pool2d: .* even H and W, got shape \(1, 1, 3, 4\)"
    ):
        relu_max_pool2d(randn(1, 1, 3, 4))
    with pytest.raises(ValueError, match=r"got shape \(4, 4\)"):
        relu_max_pool2d(randn(4, 4))
    with pytest.raises(TypeError, match="relu_max_pool2d: expects a Tensor input, got list"):
        relu_max_pool2d([1.0])  # type: ignore[arg-type]
