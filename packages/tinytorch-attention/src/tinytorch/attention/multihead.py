"""Multi-head attention: one fused q/k/v projection, heads by reshape, one attention op.

It also owns the extension point through which a key/value cache reaches it:
:class:`KVCacheProtocol`. Attention needs two things of a cache, and nothing else: to hand it
the new keys and values of a layer and get back every key and value cached so far, and how many
tokens it holds (for the positions of the new ones). Module 17 (tinytorch-memoization) supplies
the preallocated implementation; without a cache nothing here changes.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from tinytorch.attention.functional import attention_with_weights, causal_mask
from tinytorch.layers import Linear, Module, Parameter, init
from tinytorch.tensor import Generator, Tensor

__all__ = ["KVCacheProtocol", "MultiHeadAttention"]


@runtime_checkable
class KVCacheProtocol(Protocol):
    """What :class:`MultiHeadAttention` (and the GPT of module 13) need of a key/value cache.

    - ``length``: how many tokens the cache holds for every layer, the position of the first
      new token (read by the GPT before a forward, to offset the position embeddings).
    - ``update(layer_idx, key, value)``: store the new ``key`` and ``value`` of layer
      ``layer_idx``, each ``(batch, heads, new, head_dim)``, after what the layer holds, and
      return all of that layer's keys and values, ``(batch, heads, held + new, head_dim)``.

    Hugging Face's ``Cache.update(key_states, value_states, layer_idx)`` is the counterpart.
    A cache is for inference (under ``no_grad()``): what it returns carries no graph back to
    earlier steps. The doctest's cache grows by concatenation, the simplest one that works;
    ``tinytorch.memoization.KVCache`` writes into preallocated buffers instead.

    Example:
        >>> import numpy as np
        >>> from tinytorch.tensor import Generator, Tensor, randn
        >>> class ConcatCache:
        ...     def __init__(self):
        ...         self.kv = {}
        ...     @property
        ...     def length(self):
        ...         return self.kv[0][0].shape[2] if self.kv else 0
        ...     def update(self, layer_idx, key, value):
        ...         if layer_idx in self.kv:
        ...             k, v = self.kv[layer_idx]
        ...             key = Tensor(np.concatenate([k.data, key.data], axis=2))
        ...             value = Tensor(np.concatenate([v.data, value.data], axis=2))
        ...         self.kv[layer_idx] = (key, value)
        ...         return key, value
        >>> mha = MultiHeadAttention(8, 2, batch_first=True, generator=Generator(0)).eval()
        >>> x = randn(1, 5, 8, generator=Generator(1))
        >>> full, _ = mha(x, x, x, is_causal=True, need_weights=False)
        >>> cache = ConcatCache()
        >>> prompt, step = x[:, :4], x[:, 4:]
        >>> _ = mha(prompt, prompt, prompt, is_causal=True, cache=cache)
        >>> last, _ = mha(step, step, step, is_causal=True, cache=cache)
        >>> isinstance(cache, KVCacheProtocol), cache.length
        (True, 5)
        >>> bool(np.allclose(last.data[0, 0], full.data[0, 4], atol=1e-6))
        True
    """

    @property
    def length(self) -> int:
        """Tokens held for every layer: the position of the next token."""
        ...

    def update(self, layer_idx: int, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        """Append ``key`` and ``value`` to layer ``layer_idx``; return all its keys, values."""
        ...


class MultiHeadAttention(Module):
    """Multi-head attention (``torch.nn.MultiheadAttention``).

    The queries, keys and values come from one ``(3 * embed_dim, embed_dim)`` projection
    (``in_proj_weight``, ``in_proj_bias``: PyTorch's names and layout, so its weights load),
    computed as one matmul when ``query``, ``key`` and ``value`` are the same tensor. The result
    is split into ``num_heads`` heads of ``embed_dim // num_heads`` by reshape and permute, every
    head attends in one batched op, and ``out_proj`` mixes the heads back.

    ``forward`` takes ``(L, N, E)`` inputs (``(N, L, E)`` with ``batch_first=True``, or an
    unbatched ``(L, E)``), its arguments in ``nn.MultiheadAttention.forward``'s order, and
    returns ``(output, weights)``; ``weights`` is ``None`` when ``need_weights=False``, else
    the attention probabilities averaged over heads, ``(N, L, S)``
    (per head, ``(N, H, L, S)``, with ``average_attn_weights=False``), detached from the graph.

    Masks follow ``nn.MultiheadAttention``: a bool ``attn_mask`` of shape ``(L, S)`` or
    ``(N * H, L, S)`` is ``True`` where attention is **not** allowed (the opposite of
    :func:`scaled_dot_product_attention`'s bool mask); a float one is added to the scores. A
    bool ``key_padding_mask`` ``(N, S)`` is ``True`` at padding keys to ignore.
    ``is_causal=True`` lets each position attend to itself and earlier positions only.

    ``cache`` (keyword only, with ``layer_idx``, this layer's index in the cache) is a
    :class:`KVCacheProtocol`: the new tokens' keys and values are stored in it and the queries
    attend over every key it holds, causally offset by what was cached before (new token ``i``
    is at position ``cache held + i``). It needs self-attention and no masks but
    ``is_causal``. Without a cache the forward is what it always was.

    Example:
        >>> from tinytorch.tensor import Generator, randn
        >>> mha = MultiHeadAttention(16, 4, batch_first=True, generator=Generator(0))
        >>> x = randn(2, 5, 16)
        >>> out, weights = mha(x, x, x, is_causal=True, need_weights=True)
        >>> out.shape, weights.shape
        ((2, 5, 16), (2, 5, 5))
    """

    in_proj_weight: Parameter
    in_proj_bias: Parameter | None

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = False,
        *,
        dtype: npt.DTypeLike = np.float32,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        for name, n in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
                raise ValueError(f"MultiHeadAttention: {name} must be a positive int, got {n!r}")
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiHeadAttention: embed_dim={embed_dim} is not divisible by "
                f"num_heads={num_heads}"
            )
        if isinstance(dropout, bool) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"MultiHeadAttention: dropout must be in [0, 1), got {dropout!r}")
        self.embed_dim = int(embed_dim)
        self.num_heads = int(num_heads)
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        self.generator = generator
        e = self.embed_dim
        self.in_proj_weight = Parameter(np.empty((3 * e, e), dtype=dtype))
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * e, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(e, e, bias=bias, dtype=dtype, generator=generator)
        self._reset_parameters(generator)

    def _reset_parameters(self, generator: Generator | None) -> None:
        # PyTorch's choice: Glorot-uniform over the stacked (3E, E) matrix, zero biases.
        init.xavier_uniform_(self.in_proj_weight, generator=generator)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
        if self.out_proj.bias is not None:
            init.zeros_(self.out_proj.bias)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
        *,
        cache: KVCacheProtocol | None = None,
        layer_idx: int = 0,
    ) -> tuple[Tensor, Tensor | None]:
        if cache is not None:
            return self._forward_cached(
                query,
                key,
                value,
                key_padding_mask,
                attn_mask,
                need_weights,
                average_attn_weights,
                is_causal,
                cache,
                layer_idx,
            )
        self_attention = query is key and key is value
        unbatched = query.ndim == 2
        query, key, value = (self._batch_first(t, unbatched) for t in (query, key, value))
        n, length, e = query.shape
        source = key.shape[1]
        if e != self.embed_dim or key.shape[-1] != e or value.shape[-1] != e:
            raise ValueError(
                f"MultiHeadAttention: query {query.shape}, key {key.shape} and value "
                f"{value.shape} must end in embed_dim={self.embed_dim}"
            )
        if key.shape[:2] != value.shape[:2] or key.shape[0] != n:
            raise ValueError(
                f"MultiHeadAttention: key {key.shape} and value {value.shape} must share batch "
                f"and length, and the batch of query {query.shape}"
            )

        heads, d = self.num_heads, self.head_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        # BEGIN SOLUTION mha-split-heads
        # HINT: project with the stacked (3E, E) in_proj_weight (rows 0:E for q, E:2E for k,
        # HINT: 2E:3E for v), then cut E into heads: (N, L, E) -> (N, heads, L, head_dim) by a
        # HINT: reshape and a permute, no loop over heads. Self-attention can do all three
        # HINT: projections in one matmul.
        # TESTS: multihead or mha or kv_cache or concat_cache or cache
        if self_attention:
            packed = _affine(query, w, b)  # (N, L, 3E): one matmul for q, k and v
            qkv = packed.reshape(n, length, 3, heads, d).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
        else:
            q, k, v = (
                _affine(x, w[i * e : (i + 1) * e], None if b is None else b[i * e : (i + 1) * e])
                .reshape(n, x.shape[1], heads, d)
                .permute(0, 2, 1, 3)
                for i, x in enumerate((query, key, value))
            )
        # END SOLUTION

        if unbatched and key_padding_mask is not None and key_padding_mask.ndim == 1:
            key_padding_mask = key_padding_mask.reshape(1, -1)
        mask, causal = self._merge_masks(attn_mask, key_padding_mask, is_causal, n, length, source)
        return self._attend(q, k, v, mask, causal, unbatched, need_weights, average_attn_weights)

    def _forward_cached(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None,
        attn_mask: Tensor | None,
        need_weights: bool,
        average_attn_weights: bool,
        is_causal: bool,
        cache: KVCacheProtocol,
        layer_idx: int,
    ) -> tuple[Tensor, Tensor | None]:
        """Self-attention of new tokens over the cached ones and themselves.

        The new tokens' keys and values go into ``cache``; the queries attend to everything it
        returns. With ``is_causal`` the mask is the bottom-right aligned triangle: new token
        ``i`` sits at position ``past + i`` and sees keys ``0..past + i``. One new token sees
        every key, so a decoding step needs no mask at all.
        """
        if not (query is key and key is value):
            raise ValueError(
                "MultiHeadAttention: a KV cache needs self-attention (query is key is value); "
                f"got query {query.shape}, key {key.shape}, value {value.shape} as different "
                "tensors"
            )
        if key_padding_mask is not None or attn_mask is not None:
            raise ValueError(
                "MultiHeadAttention: a KV cache takes no attn_mask or key_padding_mask (only "
                "is_causal): the cached keys' masks are not kept"
            )
        unbatched = query.ndim == 2
        x = self._batch_first(query, unbatched)
        n, length, e = x.shape
        if e != self.embed_dim:
            raise ValueError(
                f"MultiHeadAttention: query {x.shape} must end in embed_dim={self.embed_dim}"
            )
        heads, d = self.num_heads, self.head_dim
        # BEGIN SOLUTION mha-cache-update
        # HINT: project and split the new tokens into heads as in forward; hand the new keys
        # HINT: and values to cache.update, which gives back every key and value held so far.
        # TESTS: kv_cache or concat_cache or cache
        packed = _affine(x, self.in_proj_weight, self.in_proj_bias)
        qkv = packed.reshape(n, length, 3, heads, d).permute(2, 0, 3, 1, 4)
        q = qkv[0]
        k, v = cache.update(layer_idx, qkv[1], qkv[2])
        # END SOLUTION
        if (
            k.ndim != 4
            or k.shape != v.shape
            or k.shape[:2] != (n, heads)
            or k.shape[3] != d
            or k.shape[2] < length
        ):
            raise ValueError(
                f"MultiHeadAttention: cache.update(layer_idx={layer_idx}) returned keys "
                f"{k.shape} and values {v.shape}; expected ({n}, {heads}, S, {d}) with "
                f"S >= {length} new tokens"
            )
        mask: Tensor | None = None
        # BEGIN SOLUTION mha-cache-causal
        # HINT: the new tokens sit after `past` cached ones: new token i sees keys 0..past + i,
        # HINT: a bottom-right aligned triangle. An empty cache is the ordinary causal case, and
        # HINT: a single new token may see every key (no mask at all).
        # TESTS: kv_cache or concat_cache or cache
        past = k.shape[2] - length
        causal = is_causal and past == 0  # a prompt in an empty cache: the ordinary triangle
        if is_causal and past > 0 and length > 1:
            mask = Tensor(np.tri(length, past + length, past, dtype=np.bool_))
        # END SOLUTION
        return self._attend(q, k, v, mask, causal, unbatched, need_weights, average_attn_weights)

    def _attend(
        self,
        q: Tensor,
        k: Tensor,
        v: Tensor,
        mask: Tensor | None,
        causal: bool,
        unbatched: bool,
        need_weights: bool,
        average_attn_weights: bool,
    ) -> tuple[Tensor, Tensor | None]:
        """Attention over heads (n, heads, L, d), then the heads merged and projected: the
        common tail of the plain and the cached forward."""
        n, _, length, _ = q.shape
        e = self.embed_dim
        out, probs = attention_with_weights(
            q,
            k,
            v,
            mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=causal,
            generator=self.generator,
        )
        # BEGIN SOLUTION mha-merge-heads
        # HINT: undo the head split: (N, heads, L, head_dim) -> (N, L, E), then out_proj; give
        # HINT: the caller its layout back (unbatched, or sequence first). The weights, when
        # HINT: asked for, are the probabilities averaged over heads unless average_attn_weights
        # HINT: is False, detached.
        # TESTS: multihead or mha or kv_cache or concat_cache or cache
        out = self.out_proj(out.permute(0, 2, 1, 3).reshape(n, length, e))
        if unbatched:
            out = out.reshape(length, e)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        weights = None
        if need_weights:
            per_head = probs.mean(axis=1) if average_attn_weights else probs
            weights = Tensor(per_head[0] if unbatched else per_head)
        return out, weights
        # END SOLUTION

    def _batch_first(self, x: Tensor, unbatched: bool) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"MultiHeadAttention: expects Tensor inputs, got {type(x).__name__}")
        if x.ndim != (2 if unbatched else 3):
            raise ValueError(
                f"MultiHeadAttention: inputs must all be 3-D (batched) or all 2-D (unbatched), "
                f"got an input of shape {x.shape}"
            )
        if unbatched:
            return x.reshape(1, *x.shape)
        return x if self.batch_first else x.transpose(0, 1)

    def _merge_masks(
        self,
        attn_mask: Tensor | None,
        key_padding_mask: Tensor | None,
        is_causal: bool,
        n: int,
        length: int,
        source: int,
    ) -> tuple[Tensor | None, bool]:
        """One mask in :func:`scaled_dot_product_attention`'s convention (bool = attend)."""
        if attn_mask is None and key_padding_mask is None:
            return None, is_causal
        heads = self.num_heads
        allowed: npt.NDArray[np.bool_] | None = causal_mask(length, source) if is_causal else None
        additive: npt.NDArray[np.floating] | None = None
        if attn_mask is not None:
            m = attn_mask.data
            if m.shape == (n * heads, length, source):
                m = m.reshape(n, heads, length, source)
            elif m.shape != (length, source):
                raise ValueError(
                    f"MultiHeadAttention: attn_mask of shape {m.shape} should be "
                    f"({length}, {source}) or ({n * heads}, {length}, {source})"
                )
            if m.dtype == np.bool_:
                allowed = ~m if allowed is None else allowed & ~m
            elif m.dtype.kind == "f":
                if key_padding_mask is None and allowed is None:
                    # Keep the tensor itself, so a learned additive bias receives its gradient.
                    return (attn_mask if m.ndim == 2 else attn_mask.reshape(m.shape)), False
                additive = m
            else:
                raise TypeError(
                    f"MultiHeadAttention: attn_mask must be bool or float, got {m.dtype}"
                )
        if key_padding_mask is not None:
            kp = key_padding_mask.data
            if kp.shape != (n, source):
                raise ValueError(
                    f"MultiHeadAttention: key_padding_mask of shape {kp.shape} should be "
                    f"({n}, {source})"
                )
            if kp.dtype == np.bool_:
                keys = ~kp[:, None, None, :]
                allowed = keys if allowed is None else allowed & keys
            elif kp.dtype.kind == "f":
                pad = kp[:, None, None, :]
                additive = pad if additive is None else additive + pad
            else:
                raise TypeError(
                    f"MultiHeadAttention: key_padding_mask must be bool or float, got {kp.dtype}"
                )
        if additive is None:
            assert allowed is not None  # some mask was given, and it was not additive
            return Tensor(allowed), False
        if allowed is not None:
            additive = np.where(allowed, additive, -np.inf)
        return Tensor(additive), False

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
            f"bias={self.in_proj_bias is not None}, batch_first={self.batch_first}"
        )


def _affine(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    if x.dtype != weight.dtype:
        raise TypeError(
            f"MultiHeadAttention: input dtype {x.dtype} does not match weight dtype {weight.dtype}"
        )
    # BEGIN SOLUTION mha-affine
    # HINT: what Linear computes, with a given (out, in) weight and optional bias.
    # TESTS: multihead or mha or kv_cache or concat_cache or cache
    out = x @ weight.T
    return out if bias is None else out + bias
    # END SOLUTION
