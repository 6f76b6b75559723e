"""MultiHeadAttention with a key/value cache (KVCacheProtocol): the same outputs as the full
causal forward, for a prompt, single steps, chunks after a prefix, every layout."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.attention import KVCacheProtocol, MultiHeadAttention
from tinytorch.autograd import no_grad
from tinytorch.tensor import Generator, Tensor, randn


class ConcatCache:
    """The simplest cache: grows by concatenation (module 17 preallocates)."""

    def __init__(self) -> None:
        self.kv: dict[int, tuple[Tensor, Tensor]] = {}
        self.calls: list[tuple[int, tuple[int, ...]]] = []

    @property
    def length(self) -> int:
        return self.kv[0][0].shape[2] if self.kv else 0

    def update(self, layer_idx: int, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        self.calls.append((layer_idx, key.shape))
        if layer_idx in self.kv:
            k, v = self.kv[layer_idx]
            key = Tensor(np.concatenate([k.data, key.data], axis=2))
            value = Tensor(np.concatenate([v.data, value.data], axis=2))
        self.kv[layer_idx] = (key, value)
        return key, value


def _mha(batch_first: bool = True, dtype: type = np.float64) -> MultiHeadAttention:
    return MultiHeadAttention(12, 3, batch_first=batch_first, dtype=dtype, generator=Generator(0))


def test_a_concat_cache_satisfies_the_protocol() -> None:
    assert isinstance(ConcatCache(), KVCacheProtocol)
    assert not isinstance(object(), KVCacheProtocol)


@pytest.mark.parametrize("chunks", [(7,), (1, 1, 1, 1, 1, 1, 1), (3, 1, 1, 2), (2, 5), (4, 3)])
@pytest.mark.parametrize("batch_first", [True, False])
def test_chunked_causal_attention_equals_the_full_forward(
    chunks: tuple[int, ...], batch_first: bool
) -> None:
    mha = _mha(batch_first).eval()
    x = randn(2, 7, 12, dtype=np.float64, generator=Generator(1))
    if not batch_first:
        x = Tensor(np.ascontiguousarray(x.data.transpose(1, 0, 2)))
    seq_axis = 1 if batch_first else 0
    with no_grad():
        full, _ = mha(x, x, x, is_causal=True, need_weights=False)
        cache, outs, start = ConcatCache(), [], 0
        for n in chunks:
            part = Tensor(np.take(x.data, range(start, start + n), axis=seq_axis))
            out, _ = mha(part, part, part, is_causal=True, need_weights=False, cache=cache)
            outs.append(out.data)
            start += n
    np.testing.assert_allclose(np.concatenate(outs, axis=seq_axis), full.data, atol=1e-12)
    assert cache.length == 7
    assert [shape[2] for _, shape in cache.calls] == list(chunks)


def test_the_cached_weights_are_the_full_forwards_last_rows() -> None:
    mha = _mha().eval()
    x = randn(1, 5, 12, dtype=np.float64, generator=Generator(2))
    with no_grad():
        _, full = mha(x, x, x, is_causal=True, average_attn_weights=False)
        cache = ConcatCache()
        head = x[:, :3]
        mha(head, head, head, is_causal=True, cache=cache)
        tail = x[:, 3:]
        _, weights = mha(tail, tail, tail, is_causal=True, cache=cache, average_attn_weights=False)
    assert full is not None
    assert weights is not None
    np.testing.assert_allclose(weights.data, full.data[:, :, 3:], atol=1e-12)


def test_unbatched_input_and_the_layer_index_reach_the_cache() -> None:
    mha = _mha().eval()
    x = randn(4, 12, dtype=np.float64, generator=Generator(3))
    cache = ConcatCache()
    with no_grad():
        full, _ = mha(x, x, x, is_causal=True)
        a = x[:2]
        first, _ = mha(a, a, a, is_causal=True, cache=cache, layer_idx=5)
        b = x[2:]
        second, _ = mha(b, b, b, is_causal=True, cache=cache, layer_idx=5)
    np.testing.assert_allclose(np.concatenate([first.data, second.data]), full.data, atol=1e-12)
    assert [layer for layer, _ in cache.calls] == [5, 5]


def test_without_is_causal_new_tokens_see_every_cached_key() -> None:
    mha = _mha().eval()
    x = randn(1, 6, 12, dtype=np.float64, generator=Generator(4))
    with no_grad():
        cache = ConcatCache()
        a, b = x[:, :4], x[:, 4:]
        mha(a, a, a, cache=cache)
        out, _ = mha(b, b, b, cache=cache)
        full, _ = mha(x, x, x)  # bidirectional over all six
        # The last query sees all six keys either way; the fifth sees all six too (no mask).
    np.testing.assert_allclose(out.data, full.data[:, 4:], atol=1e-12)


def test_cache_needs_self_attention_and_no_masks() -> None:
    mha = _mha()
    x, y = randn(1, 3, 12, dtype=np.float64), randn(1, 3, 12, dtype=np.float64)
    with pytest.raises(ValueError, match=r"MultiHeadAttention: a KV cache needs self-attention"):
        mha(x, y, y, cache=ConcatCache())
    pad = Tensor(np.zeros((1, 3), dtype=bool))
    with pytest.raises(ValueError, match="takes no attn_mask or key_padding_mask"):
        mha(x, x, x, key_padding_mask=pad, cache=ConcatCache())


def test_a_cache_returning_the_wrong_shape_is_named() -> None:
    class Broken(ConcatCache):
        def update(self, layer_idx: int, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
            return key[:, :1], value[:, :1]

    mha = _mha()
    x = randn(2, 3, 12, dtype=np.float64)
    with (
        no_grad(),
        pytest.raises(ValueError, match=r"returned keys \(2, 1, 3, 4\).*\(2, 3, S, 4\)"),
    ):
        mha(x, x, x, cache=Broken())


def test_without_a_cache_the_forward_is_unchanged() -> None:
    mha = _mha()
    x = randn(2, 5, 12, dtype=np.float64, generator=Generator(5))
    a, wa = mha(x, x, x, is_causal=True)
    b, wb = mha(x, x, x, is_causal=True, cache=None, layer_idx=3)
    assert np.array_equal(a.data, b.data)
    assert wa is not None
    assert wb is not None
    assert np.array_equal(wa.data, wb.data)
