"""LayerNorm, MLP and TransformerBlock as modules."""

import math

import numpy as np
import pytest

from tinytorch.autograd import gradcheck
from tinytorch.tensor import Generator, Tensor
from tinytorch.transformers import MLP, LayerNorm, TransformerBlock


def x_of(*shape, seed=0):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def check_module(module, x, **kwargs):
    """gradcheck of ``module(x)`` with respect to ``x`` and every parameter."""
    return gradcheck(lambda inp: module(inp, **kwargs), (x,), parameters=module)


def test_layer_norm_module_defaults():
    ln = LayerNorm(6)
    assert ln.weight.data.tolist() == [1.0] * 6
    assert ln.bias.data.tolist() == [0.0] * 6
    assert ln.weight.dtype == np.float32
    assert repr(ln) == "LayerNorm((6,), eps=1e-05, elementwise_affine=True)"
    x = Tensor(np.random.default_rng(0).standard_normal((3, 6)).astype(np.float32) * 4 + 2)
    y = ln(x).data
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-6)
    np.testing.assert_allclose(y.var(axis=-1), 1, atol=1e-4)


def test_layer_norm_without_bias_or_affine():
    assert [n for n, _ in LayerNorm(4, bias=False).named_parameters()] == ["weight"]
    assert list(LayerNorm(4, elementwise_affine=False).parameters()) == []
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape must be positive"):
        LayerNorm(0)


def test_layer_norm_module_gradcheck():
    ln = LayerNorm((2, 3)).double()
    ln.weight.data[:] = np.random.default_rng(1).standard_normal((2, 3))
    ln.bias.data[:] = np.random.default_rng(2).standard_normal((2, 3))
    assert check_module(ln, x_of(4, 2, 3))


def test_mlp_shape_and_gradcheck():
    mlp = MLP(4, generator=Generator(0)).double()
    assert mlp.c_fc.weight.shape == (16, 4)
    assert mlp.c_proj.weight.shape == (4, 16)
    assert check_module(mlp, x_of(2, 3, 4))


def test_mlp_is_gpt2s_tanh_gelu_by_default():
    mlp = MLP(4, generator=Generator(0)).double()
    x = x_of(2, 3, 4)
    h = x.data @ mlp.c_fc.weight.data.T + mlp.c_fc.bias.data
    gelu = 0.5 * h * (1 + np.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h**3)))
    expected = gelu @ mlp.c_proj.weight.data.T + mlp.c_proj.bias.data
    np.testing.assert_allclose(mlp(x).data, expected, atol=1e-12)
    exact = MLP(4, gelu_approximate="none", generator=Generator(0)).double()
    assert not np.allclose(exact(x).data, expected, atol=1e-12)
    np.testing.assert_allclose(exact(x).data, expected, atol=1e-3)


def test_mlp_dropout_only_in_training():
    mlp = MLP(4, dropout=0.5, generator=Generator(0)).double()
    x = x_of(2, 3, 4)
    assert not np.allclose(mlp(x).data, mlp(x).data)
    mlp.eval()
    np.testing.assert_array_equal(mlp(x).data, mlp(x).data)


def test_block_is_pre_layer_norm_residual():
    block = TransformerBlock(8, 2, generator=Generator(0)).double()
    x = x_of(2, 5, 8)
    h = block.ln_1(x)
    attended, _ = block.attn(h, h, h, is_causal=True)
    mid = x + attended
    expected = mid + block.mlp(block.ln_2(mid))
    np.testing.assert_allclose(block(x).data, expected.data, atol=1e-12)


@pytest.mark.parametrize("causal", [True, False])
def test_block_gradcheck_every_parameter(causal):
    block = TransformerBlock(4, 2, causal=causal, generator=Generator(1)).double()
    # non-trivial LayerNorm parameters, so their gradients are exercised away from 1 and 0
    rng = np.random.default_rng(3)
    for ln in (block.ln_1, block.ln_2):
        ln.weight.data[:] = 1 + 0.3 * rng.standard_normal(4)
        ln.bias.data[:] = 0.3 * rng.standard_normal(4)
    assert check_module(block, x_of(2, 3, 4))


def test_block_causality():
    block = TransformerBlock(8, 2, generator=Generator(0)).double()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 6, 8))
    base = block(Tensor(x)).data
    changed_x = x.copy()
    changed_x[:, 4] = rng.standard_normal(8)  # not a uniform shift: LayerNorm would erase it
    changed = block(Tensor(changed_x)).data
    np.testing.assert_array_equal(changed[:, :4], base[:, :4])
    assert not np.allclose(changed[:, 5], base[:, 5])  # a later position does see it
    bidirectional = TransformerBlock(8, 2, causal=False, generator=Generator(0)).double()
    before = bidirectional(Tensor(x)).data[:, 0]
    after = bidirectional(Tensor(changed_x)).data[:, 0]
    assert not np.allclose(before, after)


def test_block_parameter_names():
    names = [n for n, _ in TransformerBlock(8, 2).named_parameters()]
    assert names == [
        "ln_1.weight",
        "ln_1.bias",
        "attn.in_proj_weight",
        "attn.in_proj_bias",
        "attn.out_proj.weight",
        "attn.out_proj.bias",
        "ln_2.weight",
        "ln_2.bias",
        "mlp.c_fc.weight",
        "mlp.c_fc.bias",
        "mlp.c_proj.weight",
        "mlp.c_proj.bias",
    ]
