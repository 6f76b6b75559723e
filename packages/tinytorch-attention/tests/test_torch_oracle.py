"""PyTorch as the oracle: scaled_dot_product_attention and MultiHeadAttention, forward and
gradients, with MultiHeadAttention's weights copied from torch.nn.MultiheadAttention."""

import numpy as np
import pytest

from tinytorch.attention import MultiHeadAttention, scaled_dot_product_attention
from tinytorch.tensor import Tensor

torch = pytest.importorskip("torch")
F = torch.nn.functional


def arrays(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def both(a):
    """The same float64 values as a TinyTorch leaf and a torch leaf, both requiring grad."""
    return Tensor(a.copy(), requires_grad=True), torch.tensor(a, requires_grad=True)


def sdpa_pair(q, k, v, seed=5, **kwargs):
    """Forward and q/k/v gradients (under a random upstream gradient) of both libraries."""
    (tq, pq), (tk, pk), (tv, pv) = both(q), both(k), both(v)
    tt_kwargs = dict(kwargs)
    if "attn_mask" in kwargs and kwargs["attn_mask"] is not None:
        tt_kwargs["attn_mask"] = Tensor(kwargs["attn_mask"])
        kwargs["attn_mask"] = torch.tensor(kwargs["attn_mask"])
    ours = scaled_dot_product_attention(tq, tk, tv, **tt_kwargs)
    theirs = F.scaled_dot_product_attention(pq, pk, pv, **kwargs)
    g = np.random.default_rng(seed).standard_normal(theirs.shape)
    (ours * Tensor(g)).sum().backward()
    (theirs * torch.tensor(g)).sum().backward()
    return (ours, tq, tk, tv), (theirs, pq, pk, pv)


def assert_pair_close(ours, theirs, tol=1e-10):
    out, *leaves = ours
    ref, *ref_leaves = theirs
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=tol, atol=tol)
    for name, a, b in zip("qkv", leaves, ref_leaves, strict=True):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize(
    ("qs", "ks", "vs"),
    [
        ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7)),
        ((5, 4), (5, 4), (5, 3)),
        ((2, 1, 4, 8), (1, 3, 4, 8), (1, 3, 4, 8)),  # broadcast batch and head dims
    ],
)
def test_sdpa_plain(qs, ks, vs):
    assert_pair_close(*sdpa_pair(*arrays(qs, ks, vs)))


@pytest.mark.parametrize(("length", "source"), [(5, 5), (3, 6), (6, 3)])
def test_sdpa_causal_including_rectangular(length, source):
    q, k, v = arrays((2, 2, length, 4), (2, 2, source, 4), (2, 2, source, 3), seed=1)
    # A query row with no key (length > source) is zero in both.
    assert_pair_close(*sdpa_pair(q, k, v, is_causal=True))


def test_sdpa_bool_mask_broadcast_and_fully_masked_row():
    q, k, v = arrays((2, 2, 4, 5), (2, 2, 6, 5), (2, 2, 6, 3), seed=2)
    mask = np.random.default_rng(3).random((4, 6)) > 0.4
    mask[1] = False  # a query that may attend to nothing: zeros in both
    assert_pair_close(*sdpa_pair(q, k, v, attn_mask=mask))
    per_batch = np.random.default_rng(4).random((2, 1, 4, 6)) > 0.3
    assert_pair_close(*sdpa_pair(q, k, v, attn_mask=per_batch))


def test_sdpa_float_mask_and_scale():
    q, k, v = arrays((3, 4, 5), (3, 6, 5), (3, 6, 2), seed=6)
    bias = np.random.default_rng(7).standard_normal((4, 6))
    bias[0, :2] = -np.inf
    assert_pair_close(*sdpa_pair(q, k, v, attn_mask=bias, scale=0.3))


def test_sdpa_float_mask_gradient():
    q, k, v, m = arrays((2, 3, 4), (2, 5, 4), (2, 5, 3), (3, 5), seed=8)
    (tq, pq), (tk, pk), (tv, pv), (tm, pm) = both(q), both(k), both(v), both(m)
    scaled_dot_product_attention(tq, tk, tv, attn_mask=tm).sum().backward()
    F.scaled_dot_product_attention(pq, pk, pv, attn_mask=pm).sum().backward()
    np.testing.assert_allclose(tm.grad.data, pm.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_zero_keys_matches_pytorch(causal):
    q, k, v = arrays((2, 3, 4), (2, 0, 4), (2, 0, 5), seed=9)
    ours, theirs = sdpa_pair(q, k, v, is_causal=causal)
    assert ours[0].shape == (2, 3, 5)
    assert_pair_close(ours, theirs)
    assert not ours[0].data.any()


def test_sdpa_zero_queries_matches_pytorch():
    q, k, v = arrays((2, 0, 4), (2, 3, 4), (2, 3, 5), seed=10)
    ours, theirs = sdpa_pair(q, k, v)
    assert ours[0].shape == (2, 0, 5)
    assert_pair_close(ours, theirs)


# ---- MultiHeadAttention with torch.nn.MultiheadAttention's weights -----------------------


def mha_pair(embed_dim=8, heads=2, bias=True, batch_first=True, seed=0):
    torch.manual_seed(seed)
    ref = torch.nn.MultiheadAttention(
        embed_dim, heads, bias=bias, batch_first=batch_first, dtype=torch.float64
    )
    with torch.no_grad():
        for p in ref.parameters():  # nonzero biases too, so their gradients mean something
            p.copy_(torch.randn_like(p) * 0.5)
    ours = MultiHeadAttention(embed_dim, heads, bias=bias, batch_first=batch_first).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    return ours, ref


def run_mha(ours, ref, q, k, v, seed=11, **kwargs):
    """Both modules' outputs, averaged weights, input and parameter gradients."""
    self_attention = q is k and k is v
    pairs = [both(q)] if self_attention else [both(q), both(k), both(v)]
    tt_in = [pairs[0][0]] * 3 if self_attention else [p[0] for p in pairs]
    pt_in = [pairs[0][1]] * 3 if self_attention else [p[1] for p in pairs]
    tt_kwargs = {
        name: Tensor(value) if isinstance(value, np.ndarray) else value
        for name, value in kwargs.items()
    }
    pt_kwargs = {
        name: torch.tensor(value) if isinstance(value, np.ndarray) else value
        for name, value in kwargs.items()
    }
    out, weights = ours(*tt_in, need_weights=True, **tt_kwargs)
    ref_out, ref_weights = ref(*pt_in, need_weights=True, **pt_kwargs)
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(weights.data, ref_weights.detach().numpy(), atol=1e-12)
    g = np.random.default_rng(seed).standard_normal(ref_out.shape)
    (out * Tensor(g)).sum().backward()
    (ref_out * torch.tensor(g)).sum().backward()
    for a, b in pairs:
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-9, atol=1e-10)
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(
            p.grad.data, ref_params[name].grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=name
        )


@pytest.mark.parametrize("bias", [True, False])
def test_mha_self_attention_forward_and_gradients(bias):
    ours, ref = mha_pair(bias=bias)
    (x,) = arrays((3, 5, 8), seed=12)
    run_mha(ours, ref, x, x, x)


def test_mha_cross_attention_sequence_first():
    ours, ref = mha_pair(embed_dim=12, heads=3, batch_first=False, seed=1)
    q, k, v = arrays((4, 2, 12), (6, 2, 12), (6, 2, 12), seed=13)
    run_mha(ours, ref, q, k, v)


def test_mha_masks():
    ours, ref = mha_pair(seed=2)
    (x,) = arrays((2, 5, 8), seed=14)
    future = np.triu(np.ones((5, 5), dtype=bool), k=1)  # True = not allowed, as in torch
    run_mha(ours, ref, x, x, x, attn_mask=future)
    ours, ref = mha_pair(seed=3)
    padding = np.zeros((2, 5), dtype=bool)
    padding[0, 3:] = True
    run_mha(ours, ref, x, x, x, key_padding_mask=padding)
    ours, ref = mha_pair(seed=4)
    additive = np.random.default_rng(15).standard_normal((5, 5))
    run_mha(ours, ref, x, x, x, attn_mask=additive)
    ours, ref = mha_pair(seed=5)
    run_mha(ours, ref, x, x, x, attn_mask=future, key_padding_mask=padding)


def test_mha_unbatched_and_per_head_weights():
    ours, ref = mha_pair(seed=6)
    (x,) = arrays((5, 8), seed=16)
    run_mha(ours, ref, x, x, x)
    _out, w = ours(Tensor(x), Tensor(x), Tensor(x), average_attn_weights=False)
    _ref_out, ref_w = ref(*[torch.tensor(x)] * 3, average_attn_weights=False)
    np.testing.assert_allclose(w.data, ref_w.detach().numpy(), atol=1e-12)


def test_mha_zero_keys_matches_pytorch():
    ours, ref = mha_pair(seed=7)
    q, k = arrays((2, 3, 8), (2, 0, 8), seed=17)
    out, weights = ours(Tensor(q), Tensor(k), Tensor(k))
    ref_out, ref_weights = ref(torch.tensor(q), torch.tensor(k), torch.tensor(k))
    assert out.shape == (2, 3, 8)
    assert weights.shape == (2, 3, 0)
    np.testing.assert_allclose(out.data, ref_out.detach().numpy(), atol=1e-12)
    assert tuple(ref_weights.shape) == weights.shape
