"""Cached generation gives what recomputation gives: the logits of every position, the tokens
of greedy and seeded sampling (batch 1 and 4), a continuation from the cache, and the regime
beyond the block size; misuse is refused naming the shapes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

transformers = pytest.importorskip("tinytorch.transformers")

from tinytorch.autograd import no_grad  # noqa: E402
from tinytorch.memoization import KVCache, decode, generate, prefill  # noqa: E402
from tinytorch.tensor import Generator, Tensor, randint  # noqa: E402

GPT, GPTConfig = transformers.GPT, transformers.GPTConfig


def _model(dtype: Any = np.float32, block: int = 24, n_head: int = 2) -> Any:
    cfg = GPTConfig(vocab_size=13, block_size=block, n_layer=2, n_head=n_head, n_embd=16)
    return GPT(cfg, dtype=dtype, generator=Generator(0)).eval()


@pytest.mark.parametrize(("dtype", "tol"), [(np.float32, 1e-5), (np.float64, 1e-10)])
@pytest.mark.parametrize("batch", [1, 4])
def test_the_logits_of_every_position_equal_the_no_cache_forward(
    dtype: Any, tol: float, batch: int
) -> None:
    model = _model(dtype)
    idx = randint(0, 13, (batch, 24), generator=Generator(batch))
    cache = KVCache.for_model(model, batch)
    steps = [prefill(model, idx[:, :6], cache).data]
    for t in range(6, 24):
        steps.append(decode(model, idx[:, t : t + 1], cache).data)
    with no_grad():
        full, _ = model(idx)
    cached = np.stack(steps, axis=1)
    assert cached.dtype == dtype
    assert cache.length == 24
    np.testing.assert_allclose(cached, full.data[:, 5:], rtol=0, atol=tol)
    assert cache.nbytes == 2 * 2 * batch * 2 * 24 * 8 * np.dtype(dtype).itemsize


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize(
    "sampling",
    [{"top_k": 1}, {}, {"top_k": 4, "temperature": 0.8}, {"temperature": 1.7}],
)
def test_greedy_and_seeded_sampling_give_the_same_tokens(batch: int, sampling: Any) -> None:
    model = _model()
    prompt = randint(0, 13, (batch, 5), generator=Generator(10 + batch))
    g_cached, g_plain = Generator(3), Generator(3)
    cached = generate(model, prompt, 15, generator=g_cached, **sampling)
    plain = model.generate(prompt, 15, generator=g_plain, **sampling)
    assert cached.shape == (batch, 20)
    assert np.array_equal(cached.data, plain.data)
    # The same draws, no more: both generators are left in the same state.
    assert g_cached.get_state() == g_plain.get_state()


@pytest.mark.parametrize("batch", [1, 4])
def test_four_tokens_equal_three_then_one_more_from_the_cache(batch: int) -> None:
    model = _model()
    prompt = randint(0, 13, (batch, 5), generator=Generator(20))
    four = generate(model, prompt, 4, generator=Generator(1))
    gen = Generator(1)
    cache = KVCache.for_model(model, batch)
    three = generate(model, prompt, 3, generator=gen, cache=cache)
    assert cache.length == 5 + 2  # the prompt and every generated token but the last
    more = generate(model, three, 1, generator=gen, cache=cache)
    assert np.array_equal(more.data, four.data)
    assert cache.length == 8


@pytest.mark.parametrize("sampling", [{"top_k": 1}, {"top_k": 5}])
def test_beyond_the_block_size_the_tokens_are_still_generates(sampling: Any) -> None:
    # Prompt 6 + 30 new in a block of 12: past position 12 every step recomputes the last block.
    model = _model(block=12)
    prompt = randint(0, 13, (4, 6), generator=Generator(30))
    cache = KVCache.for_model(model, 4)
    cached = generate(model, prompt, 30, generator=Generator(2), cache=cache, **sampling)
    plain = model.generate(prompt, 30, generator=Generator(2), **sampling)
    assert np.array_equal(cached.data, plain.data)
    assert cache.length == 12  # holds the last block it recomputed


def test_a_prompt_longer_than_the_block_is_cropped_as_generate_crops_it() -> None:
    model = _model(block=8)
    prompt = randint(0, 13, (2, 11), generator=Generator(31))
    cached = generate(model, prompt, 5, generator=Generator(4))
    assert np.array_equal(cached.data, model.generate(prompt, 5, generator=Generator(4)).data)


def test_zero_new_tokens_return_the_prompt() -> None:
    model = _model()
    prompt = randint(0, 13, (2, 3))
    assert np.array_equal(generate(model, prompt, 0).data, prompt.data)


def test_a_generated_cache_is_sized_for_the_generation() -> None:
    model = _model()
    cache = KVCache.for_model(model, 1, max_len=7)
    out = generate(model, Tensor([[1, 2, 3]]), 5, cache=cache, top_k=1)  # needs 3 + 5 - 1
    assert out.shape == (1, 8)
    assert cache.length == 7


# ---- misuse -----------------------------------------------------------------------------------
def test_a_cache_of_the_wrong_batch_size_is_refused() -> None:
    model = _model()
    cache = KVCache.for_model(model, 2)
    with pytest.raises(
        ValueError, match=r"generate: idx of shape \(3, 4\) has batch 3, but the cache holds 2"
    ):
        generate(model, randint(0, 13, (3, 4)), 2, cache=cache)
    with pytest.raises(ValueError, match=r"prefill: idx of shape \(1, 4\) has batch 1"):
        prefill(model, randint(0, 13, (1, 4)), cache)


def test_a_cache_with_the_wrong_heads_or_layers_is_refused() -> None:
    model = _model()  # 2 layers, 2 heads of 8
    heads = KVCache(2, 1, 4, 24, 4)
    with pytest.raises(
        ValueError,
        match=r"4 heads of head_dim 4.*n_head=2, head_dim=8.*\(2, 4, 4\) should be \(2, 2, 8\)",
    ):
        generate(model, Tensor([[1, 2]]), 2, cache=heads)
    layers = KVCache(3, 1, 2, 24, 8)
    with pytest.raises(ValueError, match=r"a cache of 3 layers.*n_layer=2"):
        decode(model, Tensor([[1]]), layers)


def test_a_cache_of_the_wrong_dtype_is_refused() -> None:
    model = _model(np.float32)
    cache = KVCache.for_model(model, 1, dtype=np.float64)
    with pytest.raises(
        TypeError, match=r"generate: a cache .* has dtype float64, the model's weights float32"
    ):
        generate(model, Tensor([[1, 2]]), 2, cache=cache)


def test_a_prompt_longer_than_the_cache_is_refused() -> None:
    model = _model()
    cache = KVCache.for_model(model, 1, max_len=4)
    prompt = randint(0, 13, (1, 6))
    with pytest.raises(
        ValueError, match=r"generate: the prompt idx \(1, 6\) is longer than the cache: .*max_len 4"
    ):
        generate(model, prompt, 1, cache=cache)
    with pytest.raises(
        ValueError, match=r"prefill: the prompt idx \(1, 6\) is longer than the cache"
    ):
        prefill(model, prompt, cache)
    with pytest.raises(
        ValueError, match=r"idx \(1, 3\) and max_new_tokens=4 need 6 cached positions"
    ):
        generate(model, prompt[:, :3], 4, cache=cache)


def test_a_cache_reused_after_reset_without_a_prefill_is_refused() -> None:
    model = _model()
    cache = KVCache.for_model(model, 1)
    prefill(model, Tensor([[1, 2, 3]]), cache)
    decode(model, Tensor([[4]]), cache)
    cache.reset()
    with pytest.raises(
        ValueError,
        match=r"decode: the cache is empty \(new, or reset\(\)\), so idx \(1, 1\) has no prompt",
    ):
        decode(model, Tensor([[5]]), cache)
    prefill(model, Tensor([[1, 2, 3]]), cache)  # a new prefill: decoding works again
    assert decode(model, Tensor([[4]]), cache).shape == (1, 13)
    with pytest.raises(ValueError, match=r"prefill: the cache already holds 4 tokens; reset"):
        prefill(model, Tensor([[1, 2, 3]]), cache)


def test_a_cache_holding_more_than_idx_is_refused() -> None:
    model = _model()
    cache = KVCache.for_model(model, 1)
    generate(model, Tensor([[1, 2, 3, 4]]), 3, cache=cache)
    with pytest.raises(ValueError, match=r"the cache holds 6 tokens, but idx \(1, 2\) has only 2"):
        generate(model, Tensor([[1, 2]]), 1, cache=cache)


def test_decode_past_the_cache_and_bad_arguments() -> None:
    model = _model()
    cache = KVCache.for_model(model, 1, max_len=3)
    prefill(model, Tensor([[1, 2, 3]]), cache)
    with pytest.raises(
        ValueError,
        match=r"decode: the cache holds 3 tokens and idx \(1, 1\) adds 1, more than max_len=3",
    ):
        decode(model, Tensor([[4]]), cache)
    with pytest.raises(ValueError, match=r"generate: idx must be integer tokens \(batch, time\)"):
        generate(model, Tensor([[0.5]]), 1)
    with pytest.raises(ValueError, match="temperature must be positive"):
        generate(model, Tensor([[1]]), 1, temperature=0.0)
    with pytest.raises(TypeError, match="max_new_tokens must be an int"):
        generate(model, Tensor([[1]]), 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cache must be a KVCache"):
        generate(model, Tensor([[1]]), 1, cache=object())  # type: ignore[arg-type]


def test_the_cache_satisfies_the_protocol_attention_owns() -> None:
    attention = pytest.importorskip("tinytorch.attention")
    assert isinstance(KVCache(1, 1, 1, 2, 2), attention.KVCacheProtocol)
