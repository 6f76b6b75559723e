"""The GPT's extension points for module 17: a KV cache through KVCacheProtocol (positions
offset by what it holds), logits_to_keep, a checkpoint function for the blocks, and
sample_tokens (GPT.generate's sampling, shared)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.autograd import no_grad
from tinytorch.tensor import Generator, Tensor, randint
from tinytorch.transformers import GPT, GPTConfig, sample_tokens


class ConcatCache:
    def __init__(self) -> None:
        self.kv: dict[int, tuple[Tensor, Tensor]] = {}

    @property
    def length(self) -> int:
        return self.kv[0][0].shape[2] if self.kv else 0

    def update(self, layer_idx: int, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        if layer_idx in self.kv:
            k, v = self.kv[layer_idx]
            key = Tensor(np.concatenate([k.data, key.data], axis=2))
            value = Tensor(np.concatenate([v.data, value.data], axis=2))
        self.kv[layer_idx] = (key, value)
        return key, value


def _model(dtype: Any = np.float64, **kw: Any) -> GPT:
    cfg = GPTConfig(vocab_size=11, block_size=10, n_layer=3, n_head=2, n_embd=8, **kw)
    return GPT(cfg, dtype=dtype, generator=Generator(0)).eval()


@pytest.mark.parametrize("chunks", [(10,), (4, 1, 1, 1, 1, 1, 1), (1,) * 10, (6, 4)])
def test_forward_with_a_cache_equals_the_full_forward(chunks: tuple[int, ...]) -> None:
    model = _model()
    idx = randint(0, 11, (3, 10), generator=Generator(1))
    with no_grad():
        full, _ = model(idx)
        cache, parts, start = ConcatCache(), [], 0
        for n in chunks:
            logits, _ = model(idx[:, start : start + n], cache=cache)
            parts.append(logits.data)
            start += n
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full.data, atol=1e-12)
    assert cache.length == 10
    assert sorted(cache.kv) == [0, 1, 2]


def test_logits_to_keep_projects_the_last_positions_only() -> None:
    model = _model()
    idx = randint(0, 11, (2, 6), generator=Generator(2))
    full, _ = model(idx)
    last, _ = model(idx, logits_to_keep=2)
    assert last.shape == (2, 2, 11)
    np.testing.assert_allclose(last.data, full.data[:, -2:], atol=1e-12)
    with pytest.raises(ValueError, match="cannot go with targets"):
        model(idx, targets=idx, logits_to_keep=1)
    with pytest.raises(TypeError, match="logits_to_keep must be an int"):
        model(idx, logits_to_keep=1.5)  # type: ignore[arg-type]


def test_a_cache_beyond_the_block_size_is_refused_naming_the_positions() -> None:
    model = _model()
    cache = ConcatCache()
    with no_grad():
        model(randint(0, 11, (1, 8)), cache=cache)
        with pytest.raises(
            ValueError, match=r"holds 8 tokens and idx \(1, 3\) adds 3.*block_size=10"
        ):
            model(randint(0, 11, (1, 3)), cache=cache)


def test_gradient_checkpointing_runs_each_block_through_the_function_in_training() -> None:
    model = _model(dropout=0.0)
    seen: list[Any] = []

    def through(block: Any, x: Tensor) -> Tensor:
        seen.append(block)
        out: Tensor = block(x)
        return out

    idx = randint(0, 11, (2, 5), generator=Generator(3))
    model.gradient_checkpointing_enable(through)
    assert model.is_gradient_checkpointing
    model(idx)  # eval mode: blocks run directly
    assert seen == []
    model.train()
    _, loss = model(idx, targets=idx)
    assert seen == list(model.h)
    with no_grad():
        model(idx)  # no gradient wanted: nothing to save memory on
    assert len(seen) == 3
    assert loss is not None
    model.gradient_checkpointing_disable()
    _, again = model(idx, targets=idx)
    assert len(seen) == 3
    assert again is not None
    assert float(again.data) == float(loss.data)
    with pytest.raises(TypeError, match="expected a function"):
        model.gradient_checkpointing_enable(3)  # type: ignore[arg-type]


def test_sample_tokens_samples_as_generate_does() -> None:
    model = _model(dtype=np.float32)
    prompt = randint(0, 11, (4, 3), generator=Generator(4))
    for top_k in (None, 3, 1):
        generated = model.generate(prompt, 1, temperature=0.7, top_k=top_k, generator=Generator(9))
        with no_grad():
            logits, _ = model(prompt)
        chosen = sample_tokens(logits.data[:, -1], 0.7, top_k, Generator(9))
        assert np.array_equal(generated.data[:, -1], chosen)
    with pytest.raises(ValueError, match="temperature must be positive"):
        sample_tokens([[1.0]], temperature=0.0)
    with pytest.raises(ValueError, match=r"logits must be \(batch, vocab\)"):
        sample_tokens([1.0, 2.0])
