"""KVCache on its own: buffers written in place, length, bytes read from the buffers, reset,
and every misuse refused with the shapes named. Needs no transformer."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.autograd import no_grad
from tinytorch.memoization import KVCache
from tinytorch.tensor import Tensor


def _kv(
    batch: int, heads: int, new: int, dim: int, fill: float, dtype: type = np.float32
) -> Tensor:
    return Tensor(np.full((batch, heads, new, dim), fill, dtype=dtype))


def test_update_writes_in_place_and_returns_views_of_the_buffers() -> None:
    cache = KVCache(num_layers=2, batch_size=3, num_heads=2, max_len=6, head_dim=4)
    buffers = [id(b) for b in cache.key_cache + cache.value_cache]
    for layer in range(2):
        k, v = cache.update(layer, _kv(3, 2, 4, 4, 1.0), _kv(3, 2, 4, 4, -1.0))
        assert k.shape == v.shape == (3, 2, 4, 4)
        assert np.shares_memory(k.data, cache.key_cache[layer])
    assert cache.length == 4
    k, v = cache.update(0, _kv(3, 2, 1, 4, 2.0), _kv(3, 2, 1, 4, -2.0))
    assert cache.length == 4  # layer 1 has not taken this token yet
    cache.update(1, _kv(3, 2, 1, 4, 2.0), _kv(3, 2, 1, 4, -2.0))
    assert cache.length == 5
    assert [id(b) for b in cache.key_cache + cache.value_cache] == buffers  # never reallocated
    assert k.shape == (3, 2, 5, 4)
    assert (k.data[:, :, :4] == 1.0).all()
    assert (k.data[:, :, 4] == 2.0).all()
    assert (v.data[:, :, 4] == -2.0).all()
    assert (cache.key_cache[0][:, :, 5] == 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nbytes_is_read_from_the_buffers(dtype: type) -> None:
    layers, batch, heads, max_len, dim = 3, 2, 4, 10, 8
    cache = KVCache(layers, batch, heads, max_len, dim, dtype=dtype)
    item = np.dtype(dtype).itemsize
    assert cache.nbytes == 0
    assert cache.allocated_nbytes == 2 * layers * batch * heads * max_len * dim * item
    assert cache.allocated_nbytes == sum(b.nbytes for b in cache.key_cache + cache.value_cache)
    for length in (1, 4, 7):
        cache.reset()
        for layer in range(layers):
            cache.update(
                layer,
                _kv(batch, heads, length, dim, 1, dtype),
                _kv(batch, heads, length, dim, 1, dtype),
            )
        assert cache.nbytes == 2 * layers * batch * heads * length * dim * item
    cache.reset()
    assert cache.length == 0
    assert cache.nbytes == 0
    assert cache.allocated_nbytes == 2 * layers * batch * heads * max_len * dim * item


def test_reset_then_update_starts_again_at_position_zero() -> None:
    cache = KVCache(1, 1, 1, max_len=3, head_dim=2)
    cache.update(0, _kv(1, 1, 3, 2, 5.0), _kv(1, 1, 3, 2, 5.0))
    cache.reset()
    k, _ = cache.update(0, _kv(1, 1, 1, 2, 7.0), _kv(1, 1, 1, 2, 7.0))
    assert k.shape == (1, 1, 1, 2)
    assert (k.data == 7.0).all()
    assert cache.length == 1


def test_constructor_errors() -> None:
    with pytest.raises(ValueError, match="KVCache: max_len must be a positive int, got 0"):
        KVCache(1, 1, 1, 0, 2)
    with pytest.raises(ValueError, match="KVCache: num_layers must be a positive int"):
        KVCache(True, 1, 1, 2, 2)
    with pytest.raises(TypeError, match="KVCache: dtype must be floating, got int64"):
        KVCache(1, 1, 1, 2, 2, dtype=np.int64)


def test_update_refuses_keys_that_do_not_fit_naming_the_shapes() -> None:
    cache = KVCache(num_layers=2, batch_size=2, num_heads=4, max_len=5, head_dim=8)
    good = _kv(2, 4, 1, 8, 0.0)
    with pytest.raises(
        ValueError, match=r"key of shape \(1, 4, 1, 8\) does not fit.*\(2, 4, new, 8\)"
    ):
        cache.update(0, _kv(1, 4, 1, 8, 0.0), good)  # batch
    with pytest.raises(ValueError, match=r"value of shape \(2, 2, 1, 8\).*\(2, 4, new, 8\)"):
        cache.update(0, good, _kv(2, 2, 1, 8, 0.0))  # heads
    with pytest.raises(ValueError, match=r"\(2, 4, 1, 4\) does not fit"):
        cache.update(0, _kv(2, 4, 1, 4, 0.0), good)  # head_dim
    with pytest.raises(
        TypeError,
        match=r"key of dtype float64 \(shape \(2, 4, 1, 8\)\) in a cache of dtype float32",
    ):
        cache.update(0, _kv(2, 4, 1, 8, 0.0, np.float64), good)
    with pytest.raises(IndexError, match="layer_idx 2 out of range for a cache of 2 layers"):
        cache.update(2, good, good)
    with pytest.raises(ValueError, match=r"differ in length"):
        cache.update(0, good, _kv(2, 4, 2, 8, 0.0))
    with pytest.raises(TypeError, match="key must be a Tensor"):
        cache.update(0, np.zeros((2, 4, 1, 8), np.float32), good)  # type: ignore[arg-type]
    assert cache.length == 0
    assert cache.nbytes == 0


def test_more_tokens_than_max_len_are_refused() -> None:
    cache = KVCache(1, 1, 2, max_len=4, head_dim=3)
    cache.update(0, _kv(1, 2, 3, 3, 0.0), _kv(1, 2, 3, 3, 0.0))
    with pytest.raises(
        ValueError,
        match=r"layer 0 holds 3 of max_len=4 positions; key \(1, 2, 2, 3\) adds 2, 1 more",
    ):
        cache.update(0, _kv(1, 2, 2, 3, 0.0), _kv(1, 2, 2, 3, 0.0))
    assert cache.length == 3


def test_a_layer_updated_twice_in_one_forward_is_an_error() -> None:
    cache = KVCache(2, 1, 1, max_len=4, head_dim=2)
    kv = _kv(1, 1, 1, 2, 0.0)
    cache.update(0, kv, kv)
    with pytest.raises(
        RuntimeError, match="layer 0 already holds 1 tokens while another layer holds 0"
    ):
        cache.update(0, kv, kv)


def test_keys_that_require_grad_are_refused_under_grad_mode() -> None:
    cache = KVCache(1, 1, 1, max_len=4, head_dim=2)
    k = Tensor(np.zeros((1, 1, 1, 2), np.float32), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"requires grad.*generate under no_grad"):
        cache.update(0, k, k)
    with no_grad():
        cache.update(0, k, k)
    assert cache.length == 1


def test_repr_and_describe() -> None:
    cache = KVCache(2, 1, 4, max_len=8, head_dim=16, dtype=np.float64)
    assert "max_len=8" in repr(cache)
    assert "length=0" in repr(cache)
    assert cache.describe() == (
        "a cache of 2 layers, batch_size 1, 4 heads of head_dim 16, max_len 8, float64"
    )
