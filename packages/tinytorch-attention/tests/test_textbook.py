"""The textbook attention (composed tensor ops, autograd's gradient) equals the fused op."""

import numpy as np
import pytest

from tinytorch.attention import attention_textbook, attention_with_weights
from tinytorch.tensor import Generator, Tensor

CASES = {
    "plain": {"q": (2, 3, 5, 4), "k": (2, 3, 7, 4), "v": (2, 3, 7, 6)},
    "causal_square": {"q": (2, 4, 4), "k": (2, 4, 4), "v": (2, 4, 3), "is_causal": True},
    "causal_wide": {"q": (3, 6, 4), "k": (3, 8, 4), "v": (3, 8, 2), "is_causal": True},
    "scaled": {"q": (3, 6, 4), "k": (3, 8, 4), "v": (3, 8, 2), "scale": 0.3},
    "broadcast_batch": {"q": (2, 1, 5, 4), "k": (1, 3, 6, 4), "v": (1, 3, 6, 2)},
    "no_keys": {"q": (2, 3, 4), "k": (2, 0, 4), "v": (2, 0, 5)},
    "no_queries": {"q": (2, 0, 4), "k": (2, 3, 4), "v": (2, 3, 5)},
}


def _inputs(spec, seed=0):
    rng = np.random.default_rng(seed)
    return [Tensor(rng.standard_normal(spec[n]), requires_grad=True) for n in ("q", "k", "v")]


def _run(fn, tensors, **kwargs):
    out, probs = fn(*tensors, **kwargs)
    upstream = np.random.default_rng(9).standard_normal(out.shape)
    (out * Tensor(upstream)).sum().backward()
    grads = [t.grad.data.copy() for t in tensors if t.requires_grad]
    for t in tensors:
        t.grad = None
    return out.data, probs, grads


def _assert_same(fused, textbook):
    for a, b in zip(fused[:2], textbook[:2], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
        assert not np.isnan(b).any()
    assert len(fused[2]) == len(textbook[2])
    for a, b in zip(fused[2], textbook[2], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_attention_textbook_equals_optimized(name):
    spec = dict(CASES[name])
    kwargs = {k: spec.pop(k) for k in ("is_causal", "scale") if k in spec}
    tensors = _inputs(spec)
    fused = _run(attention_with_weights, tensors, **kwargs)
    textbook = _run(attention_textbook, tensors, **kwargs)
    _assert_same(fused, textbook)


def test_attention_textbook_equals_optimized_with_a_bool_mask_and_a_masked_row():
    tensors = _inputs({"q": (2, 4, 3), "k": (2, 5, 3), "v": (2, 5, 2)}, seed=1)
    allowed = np.random.default_rng(2).random((2, 4, 5)) > 0.4
    allowed[1, 2] = False  # a query that may attend to nothing reads zeros
    mask = Tensor(allowed)
    fused = _run(attention_with_weights, tensors, attn_mask=mask)
    textbook = _run(attention_textbook, tensors, attn_mask=mask)
    _assert_same(fused, textbook)
    assert np.all(textbook[0][1, 2] == 0.0)


def test_attention_textbook_equals_optimized_with_a_learned_float_mask():
    tensors = _inputs({"q": (3, 4), "k": (5, 4), "v": (5, 2)}, seed=3)
    bias = np.random.default_rng(4).standard_normal((3, 5))
    bias[0, 1] = -np.inf
    mask = Tensor(bias, requires_grad=True)
    fused = _run(attention_with_weights, tensors, attn_mask=mask)
    fused_mask_grad = mask.grad.data.copy()
    mask.grad = None
    textbook = _run(attention_textbook, tensors, attn_mask=mask)
    _assert_same(fused, textbook)
    np.testing.assert_allclose(mask.grad.data, fused_mask_grad, rtol=1e-10, atol=1e-12)


def test_attention_textbook_equals_optimized_with_dropout():
    tensors = _inputs({"q": (2, 6, 4), "k": (2, 6, 4), "v": (2, 6, 3)}, seed=5)
    runs = [
        _run(fn, tensors, dropout_p=0.3, is_causal=True, generator=Generator(11))
        for fn in (attention_with_weights, attention_textbook)
    ]
    _assert_same(*runs)


def test_attention_textbook_keeps_float32():
    q, k, v = (Tensor(np.ones((2, 3, 4), dtype=np.float32)) for _ in range(3))
    out, probs = attention_textbook(q, k, v, is_causal=True)
    assert out.dtype == np.float32
    assert probs.dtype == np.float32
