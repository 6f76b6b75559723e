"""A key/value cache: per-layer buffers preallocated once and written in place.

Why preallocated: a cache that grows by concatenation copies everything it holds at every
step, so generating ``n`` tokens moves O(n**2) bytes; here step ``t`` writes only its own
``(batch, heads, 1, head_dim)`` slice, and attention reads a view of the first ``t`` positions.
The buffers' size is fixed at construction: ``allocated_nbytes`` is what the cache costs from
the start, ``nbytes`` what the tokens it holds use.

It implements :class:`tinytorch.attention.KVCacheProtocol` by its shape (``length`` and
``update``) without importing attention, so it needs nothing beyond the tensor module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Tensor
from tinytorch.tensor.graph import is_grad_enabled

if TYPE_CHECKING:
    from tinytorch.transformers import GPT

__all__ = ["KVCache"]

Array = npt.NDArray[Any]


class KVCache:
    """Keys and values of ``num_layers`` attention layers, in buffers of shape
    ``(batch_size, num_heads, max_len, head_dim)`` (Hugging Face's ``StaticCache``).

    ``update(layer_idx, key, value)`` writes the new ``(batch, heads, new, head_dim)`` keys and
    values after what the layer holds and returns views of everything it holds; ``length`` is
    how many tokens every layer holds; ``reset()`` empties it (the buffers stay allocated).
    ``nbytes`` is read from the buffers: the held part, ``2 * layers * batch * heads * length *
    head_dim * itemsize``; ``allocated_nbytes`` the whole buffers. :meth:`for_model` sizes one
    for a GPT. It is for inference: keys that require grad (grad mode on) are refused, since the
    cache would silently cut their graph.

    Example:
        >>> import numpy as np
        >>> from tinytorch.tensor import Tensor
        >>> cache = KVCache(num_layers=2, batch_size=1, num_heads=2, max_len=8, head_dim=4)
        >>> k = v = Tensor(np.ones((1, 2, 3, 4), np.float32))
        >>> keys, values = cache.update(0, k, v)
        >>> _ = cache.update(1, k, v)
        >>> keys.shape, cache.length, cache.nbytes, cache.allocated_nbytes
        ((1, 2, 3, 4), 3, 384, 1024)
        >>> cache.reset()
        >>> cache.length, cache.nbytes
        (0, 0)
    """

    def __init__(
        self,
        num_layers: int,
        batch_size: int,
        num_heads: int,
        max_len: int,
        head_dim: int,
        dtype: npt.DTypeLike = np.float32,
    ) -> None:
        sizes = {
            "num_layers": num_layers,
            "batch_size": batch_size,
            "num_heads": num_heads,
            "max_len": max_len,
            "head_dim": head_dim,
        }
        for name, n in sizes.items():
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
                raise ValueError(f"KVCache: {name} must be a positive int, got {n!r}")
        kind = np.dtype(dtype)
        if kind.kind != "f":
            raise TypeError(f"KVCache: dtype must be floating, got {kind}")
        self.num_layers = int(num_layers)
        self.batch_size = int(batch_size)
        self.num_heads = int(num_heads)
        self.max_len = int(max_len)
        self.head_dim = int(head_dim)
        self.dtype: np.dtype[Any] = kind
        # BEGIN SOLUTION kv-cache-allocate
        # HINT: allocate, once, a key buffer and a value buffer per layer of shape (batch,
        # HINT: heads, max_len, head_dim) in the dtype, and a count of tokens held per layer.
        # TESTS: test_kv_cache or test_generation
        shape = (self.batch_size, self.num_heads, self.max_len, self.head_dim)
        # np.zeros, not np.empty: no position is ever read before it is written, but a buffer of
        # zeros makes that visible, and it costs the same (the pages arrive zeroed).
        self.key_cache: list[Array] = [np.zeros(shape, kind) for _ in range(self.num_layers)]
        self.value_cache: list[Array] = [np.zeros(shape, kind) for _ in range(self.num_layers)]
        self._lengths = [0] * self.num_layers
        # END SOLUTION

    @classmethod
    def for_model(
        cls,
        model: GPT,
        batch_size: int,
        max_len: int | None = None,
        dtype: npt.DTypeLike | None = None,
    ) -> KVCache:
        """A cache shaped for ``model`` (a ``tinytorch.transformers.GPT``): its layers, heads
        and head size, the dtype of its weights, and ``max_len`` positions (its block size by
        default).

        Example:
            >>> from tinytorch.tensor import Generator
            >>> import pytest  # the GPT comes with the language extra:
            >>> _ = pytest.importorskip("tinytorch.transformers")
            >>> from tinytorch.transformers import GPT, GPTConfig
            >>> model = GPT(GPTConfig(vocab_size=5, block_size=16, n_layer=2, n_head=2,
            ...                       n_embd=8), generator=Generator(0))
            >>> KVCache.for_model(model, batch_size=3)
            KVCache(num_layers=2, batch_size=3, num_heads=2, max_len=16, head_dim=4, dtype=float32, length=0)
        """  # noqa: E501
        c = model.config
        return cls(
            c.n_layer,
            batch_size,
            c.n_head,
            c.block_size if max_len is None else max_len,
            c.n_embd // c.n_head,
            model.wte.weight.dtype if dtype is None else dtype,
        )

    # ---- KVCacheProtocol ------------------------------------------------------------------
    @property
    def length(self) -> int:
        """Tokens every layer holds: the position the next token takes."""
        # BEGIN SOLUTION kv-cache-length
        # HINT: the tokens every layer holds (during a forward some layers are one step ahead).
        # TESTS: test_kv_cache or test_generation
        return min(self._lengths)
        # END SOLUTION

    def update(self, layer_idx: int, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        """Write ``key`` and ``value`` ``(batch, heads, new, head_dim)`` after what layer
        ``layer_idx`` holds; return views of all it holds, ``(batch, heads, held + new,
        head_dim)``.

        Example:
            >>> import numpy as np
            >>> from tinytorch.tensor import Tensor
            >>> cache = KVCache(1, 1, 1, max_len=4, head_dim=2)
            >>> k = Tensor(np.ones((1, 1, 1, 2), np.float32))
            >>> [cache.update(0, k, k)[0].shape[2] for _ in range(3)]
            [1, 2, 3]
        """
        where = "KVCache.update"
        if isinstance(layer_idx, bool) or not isinstance(layer_idx, (int, np.integer)):
            raise TypeError(f"{where}: layer_idx must be an int, got {layer_idx!r}")
        if not 0 <= layer_idx < self.num_layers:
            raise IndexError(
                f"{where}: layer_idx {layer_idx} out of range for a cache of "
                f"{self.num_layers} layers"
            )
        for name, t in (("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{where}: {name} must be a Tensor, got {type(t).__name__}")
            fits = (self.batch_size, self.num_heads, self.head_dim)
            if t.ndim != 4 or (t.shape[0], t.shape[1], t.shape[3]) != fits:
                raise ValueError(
                    f"{where}: {name} of shape {t.shape} does not fit this cache: expected "
                    f"({self.batch_size}, {self.num_heads}, new, {self.head_dim}) (batch_size, "
                    f"num_heads, new tokens, head_dim)"
                )
            if t.dtype != self.dtype:
                raise TypeError(
                    f"{where}: {name} of dtype {t.dtype} (shape {t.shape}) in a cache of "
                    f"dtype {self.dtype}: build the cache with the model's dtype"
                )
            if t.requires_grad and is_grad_enabled():
                raise RuntimeError(
                    f"{where}: {name} of shape {t.shape} requires grad: the cache keeps arrays, "
                    "not a graph, so the gradient through earlier steps would be lost; "
                    "generate under no_grad()"
                )
        if key.shape[2] != value.shape[2]:
            raise ValueError(f"{where}: key {key.shape} and value {value.shape} differ in length")
        start, new = self._lengths[layer_idx], key.shape[2]
        if start != self.length:
            raise RuntimeError(
                f"{where}: layer {layer_idx} already holds {start} tokens while another layer "
                f"holds {self.length}: each layer takes one update per forward, in turn (a "
                "forward that failed half-way leaves the cache so: reset() it)"
            )
        if start + new > self.max_len:
            raise ValueError(
                f"{where}: layer {layer_idx} holds {start} of max_len={self.max_len} positions; "
                f"key {key.shape} adds {new}, {start + new - self.max_len} more than fit"
            )
        # BEGIN SOLUTION kv-cache-update
        # HINT: write the new keys and values in place into positions start..start+new of the
        # HINT: layer's buffers (no concatenation), advance its count, and return views of the
        # HINT: first positions up to there: no copy.
        # TESTS: test_kv_cache or test_generation
        end = start + new
        k_buf, v_buf = self.key_cache[layer_idx], self.value_cache[layer_idx]
        k_buf[:, :, start:end] = key.data
        v_buf[:, :, start:end] = value.data
        self._lengths[layer_idx] = end
        return Tensor(k_buf[:, :, :end]), Tensor(v_buf[:, :, :end])
        # END SOLUTION

    # ---- the rest -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every token (the buffers stay allocated, to be written again).

        Example:
            >>> cache = KVCache(1, 1, 1, max_len=4, head_dim=2)
            >>> cache.reset()
            >>> cache.length
            0
        """
        self._lengths = [0] * self.num_layers

    @property
    def nbytes(self) -> int:
        """Bytes of the keys and values held, read from the buffers' views."""
        # BEGIN SOLUTION kv-cache-nbytes
        # HINT: measured, not computed: the nbytes of each layer's held views of its buffers.
        # TESTS: nbytes or sized
        return sum(
            k[:, :, :n].nbytes + v[:, :, :n].nbytes
            for k, v, n in zip(self.key_cache, self.value_cache, self._lengths, strict=True)
        )
        # END SOLUTION

    @property
    def allocated_nbytes(self) -> int:
        """Bytes of the whole buffers, allocated at construction."""
        return sum(
            k.nbytes + v.nbytes for k, v in zip(self.key_cache, self.value_cache, strict=True)
        )

    def describe(self) -> str:
        """The cache's shape in words, for error messages.

        Example:
            >>> KVCache(2, 1, 4, max_len=8, head_dim=16).describe()
            'a cache of 2 layers, batch_size 1, 4 heads of head_dim 16, max_len 8, float32'
        """
        return (
            f"a cache of {self.num_layers} layers, batch_size {self.batch_size}, "
            f"{self.num_heads} heads of head_dim {self.head_dim}, max_len {self.max_len}, "
            f"{self.dtype}"
        )

    def __repr__(self) -> str:
        return (
            f"KVCache(num_layers={self.num_layers}, batch_size={self.batch_size}, "
            f"num_heads={self.num_heads}, max_len={self.max_len}, head_dim={self.head_dim}, "
            f"dtype={self.dtype}, length={self.length})"
        )
