"""PyTorch as the oracle: LayerNorm's forward and every gradient against torch.nn.LayerNorm."""

import numpy as np
import pytest

from tinytorch.tensor import Tensor
from tinytorch.transformers import LayerNorm

torch = pytest.importorskip("torch")


@pytest.mark.parametrize(
    ("shape", "normalized", "affine", "bias"),
    [
        ((4, 6), 6, True, True),
        ((2, 3, 8), 8, True, False),
        ((2, 3, 4, 5), (4, 5), True, True),
        ((3, 7), 7, False, False),
        ((5, 1), 1, True, True),  # one feature: the output is the bias
    ],
)
def test_layer_norm_forward_and_gradients(shape, normalized, affine, bias):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3 + 1
    ref = torch.nn.LayerNorm(
        normalized, eps=1e-5, elementwise_affine=affine, bias=bias, dtype=torch.float64
    )
    ours = LayerNorm(normalized, eps=1e-5, elementwise_affine=affine, bias=bias).double()
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(torch.randn_like(p))
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    tx, px = Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref_out = ours(tx), ref(px)
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(shape)
    (out * Tensor(g)).sum().backward()
    (ref_out * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(tx.grad.data, px.grad.numpy(), rtol=1e-9, atol=1e-11)
    ref_params = dict(ref.named_parameters())
    assert sorted(ref_params) == sorted(n for n, _ in ours.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(
            p.grad.data, ref_params[name].grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name
        )


def test_layer_norm_float32_matches_pytorch():
    x = np.random.default_rng(1).standard_normal((4, 16)).astype(np.float32) * 100
    out = LayerNorm(16)(Tensor(x))
    ref = torch.nn.LayerNorm(16)(torch.tensor(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-5, atol=1e-5)
