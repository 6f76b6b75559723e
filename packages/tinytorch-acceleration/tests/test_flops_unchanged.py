"""Accelerating changes time, never work: the profiler counts the same FLOPs before and after."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.acceleration import accelerate
from tinytorch.profiling import count_flops
from tinytorch.tensor import Generator, Tensor


def test_the_accelerated_gpt_does_exactly_the_same_arithmetic() -> None:
    pytest.importorskip("tinytorch.transformers", reason="the GPT needs tinytorch.transformers")
    from tinytorch.transformers import GPT, GPTConfig

    config = GPTConfig(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=16, dropout=0.0)
    model = GPT(config, generator=Generator(0))
    rng = np.random.default_rng(0)
    x, y = Tensor(rng.integers(0, 13, (3, 8))), Tensor(rng.integers(0, 13, (3, 8)))
    before = count_flops(lambda i, t: model(i, t)[1], x, y, backward=True)
    fast = accelerate(model).model
    after = count_flops(lambda i, t: fast(i, t)[1], x, y, backward=True)
    assert set(after.by_op) >= {"linear", "linear_gelu", "causal_self_attention"}
    assert after.forward == before.forward
    assert after.backward == before.backward
    assert after.unknown == before.unknown == ()
