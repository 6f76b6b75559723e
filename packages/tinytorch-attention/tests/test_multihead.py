"""MultiHeadAttention: a NumPy reference, masks, causality, and gradients to every weight."""

import math

import numpy as np
import pytest

from tinytorch.attention import MultiHeadAttention
from tinytorch.autograd import gradcheck
from tinytorch.tensor import Generator, Tensor

E, H = 8, 2


def make(dropout=0.0, batch_first=True, bias=True, seed=0):
    return MultiHeadAttention(
        E, H, dropout=dropout, bias=bias, batch_first=batch_first, generator=Generator(seed)
    ).double()


def reference(m, q, k, v, allowed=None):
    """Per-head loops over plain NumPy, with the module's weights; ``allowed`` True = attend."""
    w = m.in_proj_weight.data
    b = m.in_proj_bias.data if m.in_proj_bias is not None else np.zeros(3 * E)
    qp, kp, vp = (
        q @ w[:E].T + b[:E],
        k @ w[E : 2 * E].T + b[E : 2 * E],
        v @ w[2 * E :].T + b[2 * E :],
    )
    d = E // H
    heads = []
    for h in range(H):
        sl = slice(h * d, (h + 1) * d)
        scores = qp[..., sl] @ np.swapaxes(kp[..., sl], -1, -2) / math.sqrt(d)
        if allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
        e = np.exp(scores - scores.max(axis=-1, keepdims=True))
        heads.append((e / e.sum(axis=-1, keepdims=True)) @ vp[..., sl])
    out = np.concatenate(heads, axis=-1)
    out = out @ m.out_proj.weight.data.T
    if m.out_proj.bias is not None:
        out = out + m.out_proj.bias.data
    return out


def x_of(*shape, seed=1):
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_parameters_have_pytorch_names_and_shapes():
    m = make()
    shapes = {name: p.shape for name, p in m.named_parameters()}
    assert shapes == {
        "in_proj_weight": (3 * E, E),
        "in_proj_bias": (3 * E,),
        "out_proj.weight": (E, E),
        "out_proj.bias": (E,),
    }
    assert np.all(m.in_proj_bias.data == 0)
    assert np.all(m.out_proj.bias.data == 0)
    bound = math.sqrt(6 / (E + 3 * E))
    assert np.abs(m.in_proj_weight.data).max() <= bound


def test_self_attention_matches_reference():
    m = make()
    x = x_of(3, 5, E)
    out, weights = m(x, x, x, need_weights=False)
    assert weights is None
    _, weights = m(x, x, x)  # need_weights=True by default, as in PyTorch
    assert weights is not None
    assert weights.shape == (3, 5, 5)
    np.testing.assert_allclose(out.data, reference(m, x.data, x.data, x.data), atol=1e-12)


def test_cross_attention_matches_reference():
    m = make()
    q, k, v = x_of(2, 4, E, seed=1), x_of(2, 6, E, seed=2), x_of(2, 6, E, seed=3)
    out, _ = m(q, k, v)
    assert out.shape == (2, 4, E)
    np.testing.assert_allclose(out.data, reference(m, q.data, k.data, v.data), atol=1e-12)


def test_batch_first_false_and_unbatched_agree():
    m, m_seq = make(), make(batch_first=False)
    x = x_of(3, 5, E)
    out, _ = m(x, x, x)
    xs = Tensor(np.swapaxes(x.data, 0, 1).copy())
    out_seq, _ = m_seq(xs, xs, xs)
    np.testing.assert_allclose(np.swapaxes(out_seq.data, 0, 1), out.data, atol=1e-12)
    single = Tensor(x.data[1])
    out_one, w_one = m(single, single, single, need_weights=True)
    np.testing.assert_allclose(out_one.data, out.data[1], atol=1e-12)
    assert w_one.shape == (5, 5)


def test_need_weights_are_probabilities():
    m = make()
    x = x_of(2, 5, E)
    _, avg = m(x, x, x, need_weights=True, is_causal=True)
    _, per_head = m(x, x, x, need_weights=True, is_causal=True, average_attn_weights=False)
    assert avg.shape == (2, 5, 5)
    assert per_head.shape == (2, H, 5, 5)
    np.testing.assert_allclose(avg.data.sum(axis=-1), 1.0)
    np.testing.assert_allclose(per_head.data.mean(axis=1), avg.data)
    assert np.all(np.triu(avg.data[0], 1) == 0)


def test_causal_future_tokens_never_change_earlier_outputs():
    m = make()
    x = np.random.default_rng(5).standard_normal((2, 7, E))
    base, _ = m(Tensor(x), Tensor(x), Tensor(x), is_causal=True)
    for t in range(7):
        changed = x.copy()
        changed[:, t:] = np.random.default_rng(t).standard_normal((2, 7 - t, E))
        out, _ = m(Tensor(changed), Tensor(changed), Tensor(changed), is_causal=True)
        np.testing.assert_array_equal(out.data[:, :t], base.data[:, :t])
        assert not np.allclose(out.data[:, t], base.data[:, t])


def test_causal_matches_reference_and_pytorch_style_bool_mask():
    m = make()
    x = x_of(2, 5, E)
    causal, _ = m(x, x, x, is_causal=True)
    tril = np.tri(5, dtype=bool)
    np.testing.assert_allclose(causal.data, reference(m, x.data, x.data, x.data, tril), atol=1e-12)
    # nn.MultiheadAttention's bool attn_mask is True where attention is NOT allowed
    blocked = Tensor(~tril)
    masked, _ = m(x, x, x, attn_mask=blocked)
    np.testing.assert_allclose(masked.data, causal.data, atol=1e-12)
    additive = Tensor(np.where(tril, 0.0, -np.inf))
    added, _ = m(x, x, x, attn_mask=additive)
    np.testing.assert_allclose(added.data, causal.data, atol=1e-12)


def test_per_head_mask_and_key_padding():
    m = make()
    q, kv = x_of(2, 3, E, seed=1), x_of(2, 4, E, seed=2)
    padding = np.array([[False, False, True, True], [False, False, False, True]])
    out, weights = m(q, kv, kv, key_padding_mask=Tensor(padding), need_weights=True)
    assert np.all(weights.data[0, :, 2:] == 0)
    assert np.all(weights.data[1, :, 3] == 0)
    allowed = ~padding[:, None, :]
    np.testing.assert_allclose(
        out.data, reference(m, q.data, kv.data, kv.data, allowed), atol=1e-12
    )
    # the same through a (N * H, L, S) attn_mask
    per_head = (
        np.repeat(padding[:, None, None, :], H, axis=1).repeat(3, axis=2).reshape(2 * H, 3, 4)
    )
    out2, _ = m(q, kv, kv, attn_mask=Tensor(per_head))
    np.testing.assert_allclose(out2.data, out.data, atol=1e-12)
    # combined with causality
    x = x_of(2, 4, E, seed=3)
    both, _ = m(x, x, x, is_causal=True, key_padding_mask=Tensor(padding))
    joint = np.tri(4, dtype=bool)[None] & ~padding[:, None, :]
    np.testing.assert_allclose(both.data, reference(m, x.data, x.data, x.data, joint), atol=1e-12)


def test_fully_padded_row_gives_the_output_bias_not_nan():
    m = make()
    m.out_proj.bias.data[:] = np.arange(E)
    x = x_of(2, 3, E)
    padding = Tensor(np.array([[True] * 3, [False] * 3]))
    out, weights = m(x, x, x, key_padding_mask=padding, need_weights=True)
    np.testing.assert_array_equal(out.data[0], np.broadcast_to(np.arange(E), (3, E)))
    assert np.all(weights.data[0] == 0)
    (out * out).sum().backward()
    assert np.isfinite(x.grad.data).all()
    assert np.all(x.grad.data[0] == 0)


@pytest.mark.parametrize("causal", [False, True])
def test_gradcheck_inputs_and_every_weight(causal):
    m = make(seed=3)
    x = x_of(2, 3, E, seed=4)
    assert gradcheck(lambda inp: m(inp, inp, inp, is_causal=causal)[0], (x,), parameters=m)


def test_gradcheck_cross_attention_query_key_value():
    m = make(seed=5, bias=False)
    q, k, v = x_of(2, 2, E, seed=6), x_of(2, 3, E, seed=7), x_of(2, 3, E, seed=8)
    assert gradcheck(lambda a, b, c: m(a, b, c)[0], (q, k, v))


def test_every_parameter_receives_a_gradient():
    m = make()
    x = x_of(2, 4, E)
    out, _ = m(x, x, x, is_causal=True)
    (out * out).sum().backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert np.abs(p.grad.data).max() > 0, name


def test_dropout_only_in_training_and_seeded():
    x = x_of(2, 5, E)
    a, b = make(dropout=0.5, seed=1), make(dropout=0.5, seed=1)
    out_a, _ = a(x, x, x)
    out_b, _ = b(x, x, x)
    np.testing.assert_array_equal(out_a.data, out_b.data)
    a.eval()
    plain, _ = a(x, x, x)
    np.testing.assert_allclose(plain.data, reference(a, x.data, x.data, x.data), atol=1e-12)
    assert not np.allclose(out_a.data, plain.data)


def test_float32_in_float32_out():
    m = MultiHeadAttention(E, H, generator=Generator(0))
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3, E)).astype(np.float32))
    assert m(x, x, x)[0].dtype == np.float32


def test_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match="embed_dim=10 is not divisible by num_heads=4"):
        MultiHeadAttention(10, 4)
    with pytest.raises(ValueError, match="dropout must be in"):
        MultiHeadAttention(8, 2, dropout=1.0)
    m = make()
    x = x_of(2, 3, E)
    with pytest.raises(ValueError, match=r"must end in embed_dim=8"):
        m(x_of(2, 3, 4), x_of(2, 3, 4), x_of(2, 3, 4))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(2, 2\) should be"):
        m(x, x, x, attn_mask=Tensor(np.zeros((2, 2), bool)))
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \(3, 3\) should be"):
        m(x, x, x, key_padding_mask=Tensor(np.zeros((3, 3), bool)))
    with pytest.raises(ValueError, match=r"all be 3-D \(batched\) or all 2-D"):
        m(x, x_of(3, E), x_of(3, E))
    f = Tensor(x.data.astype(np.float32))
    with pytest.raises(TypeError, match="input dtype float32 does not match"):
        m(f, f, f)


def test_zero_keys_give_the_output_bias():
    m = make()
    m.out_proj.bias.data[:] = np.arange(E)
    q = x_of(2, 3, E)
    empty = Tensor(np.zeros((2, 0, E)))
    out, weights = m(q, empty, empty)
    assert out.shape == (2, 3, E)
    assert weights.shape == (2, 3, 0)
    np.testing.assert_array_equal(out.data, np.broadcast_to(np.arange(E, dtype=float), (2, 3, E)))
    selfish, _ = m(empty, empty, empty, is_causal=True)
    assert selfish.shape == (2, 0, E)
