"""Cached generation: the prompt in one forward (prefill), then one token per forward (decode).

Without a cache every new token re-runs the model over the whole context, so generating ``n``
tokens after a prompt of ``p`` costs the forward of ``p + 1``, ``p + 2``, ... ``p + n`` tokens.
With one, each step runs the model on the newest token alone, at position ``cache.length``, and
its attention reads the keys and values the cache kept: the same logits (to rounding), for a
fraction of the arithmetic.

**Beyond the block size.** The GPT has learned positions ``0 .. block_size - 1``, and
``GPT.generate`` feeds the last ``block_size`` tokens once the text is longer: every position
shifts by one at each step, so every cached key (computed at its old position) is stale. To
give exactly the tokens ``GPT.generate`` gives, :func:`generate` then recomputes: it resets the
cache and prefills the last ``block_size`` tokens, at every step past the block. That regime
costs what no cache costs; a rolling window of cached keys would be faster, but would attend
with keys from positions the model no longer assigns them, so it would change the text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tinytorch.autograd import no_grad
from tinytorch.memoization.kv_cache import KVCache
from tinytorch.tensor import Generator, Tensor, TensorLike

if TYPE_CHECKING:
    from tinytorch.transformers import GPT

__all__ = ["check_cache", "decode", "generate", "prefill"]

Array = npt.NDArray[Any]


def check_cache(where: str, model: GPT, cache: KVCache, idx_shape: tuple[int, ...]) -> None:
    """Raise ``ValueError``/``TypeError`` naming both shapes when ``cache`` does not fit
    ``model`` (layers, heads, head size, dtype) or the batch of ``idx_shape``.

    Example:
        >>> from tinytorch.tensor import Generator
        >>> import pytest  # the GPT comes with the language extra:
        >>> _ = pytest.importorskip("tinytorch.transformers")
        >>> from tinytorch.transformers import GPT, GPTConfig
        >>> model = GPT(GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=2,
        ...                       n_embd=8), generator=Generator(0))
        >>> try:
        ...     check_cache("demo", model, KVCache.for_model(model, batch_size=2), (3, 4))
        ... except ValueError as err:
        ...     print(str(err).split(":")[1])
         idx of shape (3, 4) has batch 3, but the cache holds 2
    """
    if not isinstance(cache, KVCache):
        raise TypeError(f"{where}: cache must be a KVCache, got {type(cache).__name__}")
    c = model.config
    dtype = model.wte.weight.dtype
    wanted = (c.n_layer, c.n_head, c.n_embd // c.n_head)
    if (cache.num_layers, cache.num_heads, cache.head_dim) != wanted:
        raise ValueError(
            f"{where}: {cache.describe()} does not fit the model (n_layer={c.n_layer}, "
            f"n_head={c.n_head}, head_dim={c.n_embd // c.n_head}): the cache's (layers, "
            f"heads, head_dim) {(cache.num_layers, cache.num_heads, cache.head_dim)} should be "
            f"{wanted}"
        )
    if cache.dtype != dtype:
        raise TypeError(
            f"{where}: {cache.describe()} has dtype {cache.dtype}, the model's weights {dtype}"
        )
    if idx_shape[0] != cache.batch_size:
        raise ValueError(
            f"{where}: idx of shape {idx_shape} has batch {idx_shape[0]}, but the cache holds "
            f"{cache.batch_size}: {cache.describe()}"
        )


def _as_tokens(where: str, idx: TensorLike) -> Tensor:
    t = idx if isinstance(idx, Tensor) else Tensor(idx)
    if t.ndim != 2 or t.dtype.kind not in "iu" or t.shape[1] == 0:
        raise ValueError(
            f"{where}: idx must be integer tokens (batch, time) with time >= 1, got {t.dtype} "
            f"of shape {t.shape}"
        )
    return t


def prefill(model: GPT, idx: TensorLike, cache: KVCache) -> Tensor:
    """Run the whole prompt ``idx`` ``(B, T)`` through ``model`` in one forward, filling the
    empty ``cache``; return the logits of its last position, ``(B, vocab_size)``.

    Example:
        >>> from tinytorch.tensor import Generator, Tensor
        >>> import pytest  # the GPT comes with the language extra:
        >>> _ = pytest.importorskip("tinytorch.transformers")
        >>> from tinytorch.transformers import GPT, GPTConfig
        >>> model = GPT(GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=2,
        ...                       n_embd=8), generator=Generator(0)).eval()
        >>> cache = KVCache.for_model(model, batch_size=1)
        >>> prefill(model, Tensor([[1, 2, 3]]), cache).shape, cache.length
        ((1, 5), 3)
    """
    where = "prefill"
    tokens = _as_tokens(where, idx)
    check_cache(where, model, cache, tokens.shape)
    if cache.length != 0:
        raise ValueError(
            f"{where}: the cache already holds {cache.length} tokens; reset() it for a new "
            f"prompt (idx {tokens.shape}), or continue with decode()"
        )
    if tokens.shape[1] > cache.max_len:
        raise ValueError(
            f"{where}: the prompt idx {tokens.shape} is longer than the cache: {cache.describe()}"
        )
    with no_grad():
        logits: Tensor = model(tokens, cache=cache, logits_to_keep=1)[0]
    return logits[:, -1]


def decode(model: GPT, idx: TensorLike, cache: KVCache) -> Tensor:
    """Run the new tokens ``idx`` ``(B, t)`` (usually ``t = 1``) through ``model`` at positions
    ``cache.length ..``, after the tokens the cache holds; return the logits of the last one,
    ``(B, vocab_size)``.

    An empty cache (new, or after ``reset()``) is an error: there is no prompt to continue;
    :func:`prefill` it first.

    Example:
        >>> from tinytorch.tensor import Generator, Tensor
        >>> import pytest  # the GPT comes with the language extra:
        >>> _ = pytest.importorskip("tinytorch.transformers")
        >>> from tinytorch.transformers import GPT, GPTConfig
        >>> model = GPT(GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=2,
        ...                       n_embd=8), generator=Generator(0)).eval()
        >>> cache = KVCache.for_model(model, batch_size=1)
        >>> _ = prefill(model, Tensor([[1, 2, 3]]), cache)
        >>> step = decode(model, Tensor([[4]]), cache)
        >>> full, _ = model(Tensor([[1, 2, 3, 4]]))
        >>> cache.length, bool(abs(step.data - full.data[:, -1]).max() < 1e-6)
        (4, True)
    """
    where = "decode"
    tokens = _as_tokens(where, idx)
    check_cache(where, model, cache, tokens.shape)
    if cache.length == 0:
        raise ValueError(
            f"{where}: the cache is empty (new, or reset()), so idx {tokens.shape} has no "
            f"prompt to continue: prefill(model, prompt, cache) first ({cache.describe()})"
        )
    if cache.length + tokens.shape[1] > cache.max_len:
        raise ValueError(
            f"{where}: the cache holds {cache.length} tokens and idx {tokens.shape} adds "
            f"{tokens.shape[1]}, more than max_len={cache.max_len} ({cache.describe()})"
        )
    with no_grad():
        logits: Tensor = model(tokens, cache=cache, logits_to_keep=1)[0]
    return logits[:, -1]


def generate(
    model: GPT,
    idx: TensorLike,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: Generator | None = None,
    *,
    cache: KVCache | None = None,
) -> Tensor:
    """``model.generate(idx, max_new_tokens, temperature, top_k, generator)`` with a KV cache:
    the same tokens (its sampling and its draws from ``generator``), faster.

    The first step prefills the prompt; each later one decodes the newest token. Past the
    block size every step recomputes the last ``block_size`` tokens, as the module docstring
    explains. ``cache`` defaults to a new one sized for the generation; pass one to reuse its
    buffers or to continue: a cache holding the first ``cache.length`` tokens of ``idx`` (as a
    previous call leaves it, for the prompt and all generated tokens but the last) resumes
    there, so generating 4 tokens equals generating 3 and then 1 more with the same cache.
    Call ``model.eval()`` first, as for ``GPT.generate``.

    Example:
        >>> from tinytorch.tensor import Generator, Tensor
        >>> import pytest  # the GPT comes with the language extra:
        >>> _ = pytest.importorskip("tinytorch.transformers")
        >>> from tinytorch.transformers import GPT, GPTConfig
        >>> model = GPT(GPTConfig(vocab_size=7, block_size=8, n_layer=2, n_head=2,
        ...                       n_embd=8), generator=Generator(0)).eval()
        >>> prompt = Tensor([[1, 2, 3]])
        >>> cached = generate(model, prompt, 10, generator=Generator(5))
        >>> plain = model.generate(prompt, 10, generator=Generator(5))
        >>> cached.shape, bool((cached == plain).all())
        ((1, 13), True)
    """
    from tinytorch.transformers import sample_tokens  # the language extra: only when used

    where = "generate"
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int):
        raise TypeError(f"{where}: max_new_tokens must be an int, got {max_new_tokens!r}")
    if max_new_tokens < 0:
        raise ValueError(f"{where}: max_new_tokens must be >= 0, got {max_new_tokens}")
    if not temperature > 0:
        raise ValueError(f"{where}: temperature must be positive, got {temperature}")
    if top_k is not None and (isinstance(top_k, bool) or top_k < 1):
        raise ValueError(f"{where}: top_k must be a positive int or None, got {top_k!r}")
    prompt = _as_tokens(where, idx)
    tokens = prompt.data.astype(np.int64)
    batch, length = tokens.shape
    block = model.config.block_size
    # Positions the cache must hold: the context but for the newest token, up to a full block.
    needed = min(block, length + max(max_new_tokens, 1) - 1) if length <= block else block
    if cache is None:
        cache = KVCache.for_model(model, batch, max_len=max(needed, 1))
    check_cache(where, model, cache, tokens.shape)
    if min(length, block) > cache.max_len:
        raise ValueError(
            f"{where}: the prompt idx {tokens.shape} is longer than the cache: {cache.describe()}"
        )
    if needed > cache.max_len:
        raise ValueError(
            f"{where}: idx {tokens.shape} and max_new_tokens={max_new_tokens} need "
            f"{needed} cached positions (min(block_size={block}, prompt + new - 1)), more than "
            f"{cache.describe()}"
        )
    if cache.length >= length and length <= block:
        raise ValueError(
            f"{where}: the cache holds {cache.length} tokens, but idx {tokens.shape} has only "
            f"{length}: it must hold a prefix of idx (what an earlier generate left), or be "
            "reset()"
        )
    # BEGIN SOLUTION cached-generate
    # HINT: each step: when the context has outgrown the block, every position moved, so reset
    # HINT: the cache and prefill the last block_size tokens; with an empty cache prefill the
    # HINT: whole context; otherwise decode only the tokens the cache does not hold yet. Then
    # HINT: sample as GPT.generate does (sample_tokens) and append.
    # TESTS: test_generation
    for _ in range(max_new_tokens):
        total = tokens.shape[1]
        if total > block:
            cache.reset()  # the window slid: every position moved; recompute the last block
            logits = prefill(model, Tensor(tokens[:, -block:]), cache)
        elif cache.length == 0:
            logits = prefill(model, Tensor(tokens), cache)
        else:
            logits = decode(model, Tensor(tokens[:, cache.length :]), cache)
        choice = sample_tokens(logits.data, temperature, top_k, generator)
        tokens = np.concatenate([tokens, choice[:, None]], axis=1)
    # END SOLUTION
    return Tensor(tokens)
