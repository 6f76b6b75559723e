"""scaled_dot_product_attention: forward against a NumPy reference, masks, causality, gradients."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinytorch.attention import causal_mask, scaled_dot_product_attention
from tinytorch.autograd import gradcheck
from tinytorch.autograd.strategies import FAST, normal, seeds
from tinytorch.tensor import Generator, Tensor


def reference(q, k, v, allowed=None, additive=None, scale=None):
    """Attention written the slow, obvious way: one softmax per row in float64."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale
    if additive is not None:
        scores = scores + additive
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    probs = np.zeros_like(scores)
    for index in np.ndindex(scores.shape[:-1]):
        row = scores[index]
        if np.isneginf(row).all():
            continue
        e = np.exp(row - row.max())
        probs[index] = e / e.sum()
    out = probs @ v
    return out


def qkv(shape_q, shape_k=None, shape_v=None, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    shape_k = shape_k or shape_q
    shape_v = shape_v or shape_k
    return tuple(
        Tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
        for s in (shape_q, shape_k, shape_v)
    )


def test_forward_matches_reference():
    q, k, v = qkv((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7))
    out = scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 5, 7)
    np.testing.assert_allclose(out.data, reference(q.data, k.data, v.data), atol=1e-12)


def test_float32_stays_float32():
    q, k, v = qkv((2, 5, 4), dtype=np.float32)
    out = scaled_dot_product_attention(q, k, v, is_causal=True)
    assert out.dtype == np.float32
    expected = reference(q.data, k.data, v.data, allowed=np.tri(5, dtype=bool))
    np.testing.assert_allclose(out.data, expected, atol=1e-5)


def test_custom_scale():
    q, k, v = qkv((3, 4))
    out = scaled_dot_product_attention(q, k, v, scale=0.3)
    np.testing.assert_allclose(out.data, reference(q.data, k.data, v.data, scale=0.3))


def test_bool_mask_true_means_attend():
    q, k, v = qkv((2, 4, 3), (2, 5, 3))
    allowed = np.random.default_rng(1).random((4, 5)) > 0.4
    allowed[:, 0] = True
    out = scaled_dot_product_attention(q, k, v, attn_mask=Tensor(allowed))
    np.testing.assert_allclose(out.data, reference(q.data, k.data, v.data, allowed=allowed))
    # the same mask written additively gives the same result
    additive = np.where(allowed, 0.0, -np.inf)
    out_add = scaled_dot_product_attention(q, k, v, attn_mask=Tensor(additive))
    np.testing.assert_allclose(out_add.data, out.data)


def test_float_mask_is_added_to_scores():
    q, k, v = qkv((2, 4, 3))
    bias = np.random.default_rng(2).standard_normal((4, 4))
    out = scaled_dot_product_attention(q, k, v, attn_mask=Tensor(bias))
    np.testing.assert_allclose(out.data, reference(q.data, k.data, v.data, additive=bias))


def test_causal_is_lower_triangle():
    mask = causal_mask(3, 4)
    assert mask.tolist() == [
        [True, False, False, False],
        [True, True, False, False],
        [True, True, True, False],
    ]
    assert not mask.flags.writeable


def test_causal_future_tokens_do_not_change_the_past():
    q, k, v = qkv((2, 2, 6, 4))
    base = scaled_dot_product_attention(q, k, v, is_causal=True).data
    k2, v2 = k.data.copy(), v.data.copy()
    k2[..., 4:, :] += 10.0
    v2[..., 4:, :] -= 10.0
    q2 = q.data.copy()
    q2[..., 4:, :] *= 3.0
    changed = scaled_dot_product_attention(Tensor(q2), Tensor(k2), Tensor(v2), is_causal=True)
    np.testing.assert_array_equal(changed.data[..., :4, :], base[..., :4, :])
    assert not np.allclose(changed.data[..., 4:, :], base[..., 4:, :])
    # the first query can see only the first key: its output is the first value
    np.testing.assert_allclose(base[..., 0, :], v.data[..., 0, :])


def test_causal_gradient_does_not_reach_the_future():
    q, k, v = qkv((1, 5, 3))
    out = scaled_dot_product_attention(q, k, v, is_causal=True)
    seed = np.zeros(out.shape)
    seed[0, 1] = 1.0  # only position 1's output
    out.backward(seed)
    assert np.all(k.grad.data[0, 2:] == 0)
    assert np.all(v.grad.data[0, 2:] == 0)
    assert np.all(q.grad.data[0, [0, 2, 3, 4]] == 0)
    assert np.any(v.grad.data[0, :2] != 0)


def test_fully_masked_row_gives_zeros_and_no_nan():
    q, k, v = qkv((2, 3, 4))
    allowed = np.ones((3, 3), dtype=bool)
    allowed[1] = False  # query 1 may attend to nothing
    out = scaled_dot_product_attention(q, k, v, attn_mask=Tensor(allowed))
    assert np.all(out.data[:, 1] == 0)
    assert np.isfinite(out.data).all()
    out.backward(np.ones(out.shape))
    for t in (q, k, v):
        assert np.isfinite(t.grad.data).all()
    assert np.all(q.grad.data[:, 1] == 0)
    # the same with an all -inf float mask row
    additive = np.where(allowed, 0.0, -np.inf)
    out2 = scaled_dot_product_attention(q, k, v, attn_mask=Tensor(additive))
    np.testing.assert_array_equal(out2.data, out.data)


def test_extreme_scores_do_not_overflow():
    q, k, v = qkv((2, 4, 3), dtype=np.float32)
    big = Tensor(q.data * 1e4)
    out = scaled_dot_product_attention(big, k, v)
    assert np.isfinite(out.data).all()


def test_gradcheck_plain():
    q, k, v = qkv((2, 3, 4, 3), (2, 3, 5, 3), (2, 3, 5, 2))
    assert gradcheck(scaled_dot_product_attention, (q, k, v))


def test_gradcheck_causal_and_scale():
    q, k, v = qkv((2, 4, 3))
    assert gradcheck(
        lambda a, b, c: scaled_dot_product_attention(a, b, c, is_causal=True, scale=0.7),
        (q, k, v),
    )


def test_gradcheck_bool_mask_with_masked_row():
    q, k, v = qkv((2, 4, 3), seed=3)
    allowed = np.random.default_rng(3).random((2, 4, 4)) > 0.5
    allowed[0, 2] = False
    mask = Tensor(allowed)
    assert gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, mask), (q, k, v))


def test_gradcheck_float_mask_receives_gradient():
    q, k, v = qkv((3, 4, 2), seed=4)
    bias = Tensor(np.random.default_rng(4).standard_normal((1, 4, 4)), requires_grad=True)
    assert gradcheck(scaled_dot_product_attention, (q, k, v, bias))
    scaled_dot_product_attention(q, k, v, bias).sum().backward()
    assert bias.grad is not None
    assert bias.grad.shape == (1, 4, 4)
    assert np.abs(bias.grad.data).max() > 0


def test_gradcheck_broadcast_batch_dims():
    # keys and values shared by every head (shape (B, 1, S, E)), queries per head
    q, k, v = qkv((2, 3, 4, 3), (2, 1, 5, 3), (1, 1, 5, 2), seed=5)
    assert gradcheck(scaled_dot_product_attention, (q, k, v))


def test_dropout_is_seeded_and_checked():
    q, k, v = qkv((2, 6, 4), seed=6)

    def run(a, b, c):
        return scaled_dot_product_attention(a, b, c, dropout_p=0.3, generator=Generator(7))

    first, second = run(q, k, v), run(q, k, v)
    np.testing.assert_array_equal(first.data, second.data)
    plain = scaled_dot_product_attention(q, k, v)
    assert not np.allclose(first.data, plain.data)
    assert gradcheck(run, (q, k, v))


def test_dropout_keeps_expectation():
    q, k, v = qkv((1, 4, 3), seed=8)
    gen = Generator(0)
    outs = [
        scaled_dot_product_attention(q, k, v, dropout_p=0.5, generator=gen).data
        for _ in range(2000)
    ]
    plain = scaled_dot_product_attention(q, k, v).data
    np.testing.assert_allclose(np.mean(outs, axis=0), plain, atol=0.1)


@pytest.mark.parametrize(
    ("shapes", "message"),
    [
        (((2, 3), (2, 4), (2, 4)), r"share the last \(embedding\) dimension"),
        (((2, 3), (4, 3), (5, 3)), r"same sequence length"),
        (((3,), (3,), (3,)), r"at least 2-D"),
        (((2, 2, 3), (3, 2, 3), (3, 2, 3)), r"do not broadcast"),
    ],
)
def test_shape_errors_name_the_op_and_shapes(shapes, message):
    q, k, v = (Tensor(np.zeros(s, dtype=np.float32)) for s in shapes)
    with pytest.raises(ValueError, match=rf"scaled_dot_product_attention: .*{message}"):
        scaled_dot_product_attention(q, k, v)


def test_mask_errors():
    q, k, v = qkv((2, 3))
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        scaled_dot_product_attention(q, k, v, Tensor(np.ones((2, 2), bool)), is_causal=True)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(3, 3\) does not broadcast"):
        scaled_dot_product_attention(q, k, v, Tensor(np.ones((3, 3), bool)))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 2, 2\) does not broadcast"):
        scaled_dot_product_attention(q, k, v, Tensor(np.ones((4, 2, 2), bool)))
    with pytest.raises(TypeError, match="attn_mask must be bool or floating"):
        scaled_dot_product_attention(q, k, v, Tensor(np.ones((2, 2), np.int64)))
    with pytest.raises(ValueError, match="dropout_p"):
        scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    with pytest.raises(TypeError, match="dtypes differ"):
        scaled_dot_product_attention(q, k, Tensor(v.data.astype(np.float32)))


def test_zero_keys_give_zeros_and_zero_gradients():
    # PyTorch's scaled_dot_product_attention returns zeros here (test_torch_oracle.py checks it).
    rng = np.random.default_rng(0)
    q = Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    k = Tensor(np.zeros((2, 0, 4)), requires_grad=True)
    v = Tensor(np.zeros((2, 0, 5)), requires_grad=True)
    for kwargs in ({}, {"is_causal": True}, {"attn_mask": Tensor(np.ones((3, 0), dtype=bool))}):
        out = scaled_dot_product_attention(q, k, v, **kwargs)
        assert out.shape == (2, 3, 5)
        assert not out.data.any()
    out.sum().backward()
    assert q.grad.shape == (2, 3, 4)
    assert not q.grad.data.any()
    assert k.grad.shape == (2, 0, 4)
    assert v.grad.shape == (2, 0, 5)


def test_zero_queries_give_an_empty_result():
    rng = np.random.default_rng(1)
    q = Tensor(np.zeros((2, 0, 4)))
    k, v = Tensor(rng.standard_normal((2, 3, 4))), Tensor(rng.standard_normal((2, 3, 5)))
    assert scaled_dot_product_attention(q, k, v, is_causal=True).shape == (2, 0, 5)
    empty = Tensor(np.zeros((2, 0, 4)))
    assert scaled_dot_product_attention(empty, empty, empty).shape == (2, 0, 4)


@FAST
@given(
    batch=hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=2),
    sizes=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    causal=st.booleans(),
    seed=seeds,
)
def test_gradcheck_on_drawn_shapes(batch, sizes, causal, seed):
    length, source, embed, value_embed = sizes
    rng = np.random.default_rng(seed)
    q = normal(rng, (*batch, length, embed))
    k = normal(rng, (*batch, source, embed))
    v = normal(rng, (*batch, source, value_embed))
    assert gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, is_causal=causal),
                     (q, k, v))  # fmt: skip
