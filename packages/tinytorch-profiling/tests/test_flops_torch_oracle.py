"""Oracle: our matmul-class FLOPs equal ``torch.utils.flop_counter.FlopCounterMode``'s, exactly,
for the same model shapes, forward only and forward + backward (no input requires grad, on
either side; every parameter does)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tinytorch.activations import ReLU
from tinytorch.layers import Linear, Sequential
from tinytorch.profiling.counting import count_flops
from tinytorch.tensor import Generator, Tensor, randn

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402


def torch_flops(fn: Callable[[], Any], backward: bool) -> int:
    with FlopCounterMode(display=False) as counter:
        out = fn()
        if backward:
            out.backward(torch.ones_like(out))
    return int(counter.get_total_flops())


@pytest.mark.parametrize("shape", [(7, 10), (3, 5, 10)])
@pytest.mark.parametrize("backward", [False, True])
def test_mlp(shape: tuple[int, ...], backward: bool) -> None:
    sizes = [(10, 32), (32, 16), (16, 3)]
    ours = Sequential(
        *(m for i, o in sizes for m in (Linear(i, o, generator=Generator(0)), ReLU()))
    )
    theirs = torch.nn.Sequential(
        *(m for i, o in sizes for m in (torch.nn.Linear(i, o), torch.nn.ReLU()))
    )
    x = torch.randn(*shape)
    expected = torch_flops(lambda: theirs(x), backward)
    counted = count_flops(ours, randn(*shape), backward=backward)
    assert counted.total == expected
    assert expected > 0


@pytest.mark.parametrize("backward", [False, True])
def test_conv_net(backward: bool) -> None:
    conv = pytest.importorskip("tinytorch.convolutions")
    ours = Sequential(
        conv.Conv2d(3, 8, 3, stride=2, padding=1, generator=Generator(0)),
        ReLU(),
        conv.Conv2d(8, 4, 3, padding=1, generator=Generator(1)),
        ReLU(),
        conv.MaxPool2d(2),
        conv.Flatten(),
        Linear(4 * 2 * 2, 5, generator=Generator(2)),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 2 * 2, 5),
    )
    x = torch.randn(2, 3, 9, 9)
    expected = torch_flops(lambda: theirs(x), backward)
    counted = count_flops(ours, randn(2, 3, 9, 9), backward=backward)
    assert counted.total == expected


class TorchGPT(torch.nn.Module):  # type: ignore[misc]
    """nanoGPT's shape, as tinytorch.transformers.GPT is: tied head, packed q/k/v, causal sdpa."""

    def __init__(self, vocab: int, block: int, n_layer: int, n_head: int, n_embd: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.wte = torch.nn.Embedding(vocab, n_embd)
        self.wpe = torch.nn.Embedding(block, n_embd)
        self.blocks = torch.nn.ModuleList(
            torch.nn.ModuleDict(
                {
                    "ln_1": torch.nn.LayerNorm(n_embd),
                    "qkv": torch.nn.Linear(n_embd, 3 * n_embd),
                    "proj": torch.nn.Linear(n_embd, n_embd),
                    "ln_2": torch.nn.LayerNorm(n_embd),
                    "fc": torch.nn.Linear(n_embd, 4 * n_embd),
                    "fc_proj": torch.nn.Linear(4 * n_embd, n_embd),
                }
            )
            for _ in range(n_layer)
        )
        self.ln_f = torch.nn.LayerNorm(n_embd)
        self.lm_head = torch.nn.Linear(n_embd, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx: Any) -> Any:
        b, t = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(t))
        for blk in self.blocks:
            q, k, v = blk["qkv"](blk["ln_1"](x)).split(x.shape[-1], dim=-1)
            heads = [z.view(b, t, self.n_head, -1).transpose(1, 2) for z in (q, k, v)]
            y = torch.nn.functional.scaled_dot_product_attention(*heads, is_causal=True)
            x = x + blk["proj"](y.transpose(1, 2).reshape(b, t, -1))
            h = torch.nn.functional.gelu(blk["fc"](blk["ln_2"](x)), approximate="tanh")
            x = x + blk["fc_proj"](h)
        return self.lm_head(self.ln_f(x))


@pytest.mark.parametrize("backward", [False, True])
def test_gpt(backward: bool) -> None:
    transformers = pytest.importorskip("tinytorch.transformers")
    from torch.nn.attention import SDPBackend, sdpa_kernel

    cfg = transformers.GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=32)
    ours = transformers.GPT(cfg, generator=Generator(0))
    theirs = TorchGPT(cfg.vocab_size, cfg.block_size, cfg.n_layer, cfg.n_head, cfg.n_embd)
    idx = np.arange(3 * 16).reshape(3, 16) % cfg.vocab_size
    # On CPU, FlopCounterMode counts nothing for torch's fused attention kernel
    # (_scaled_dot_product_flash_attention_for_cpu has no formula); its math kernel runs the
    # attention as bmm calls, which it counts: Q @ K^T and P @ V forward, and backward the four
    # products dP, dV, dQ, dK, the same four that tinytorch's attention rule computes.
    with sdpa_kernel(SDPBackend.MATH):
        expected = torch_flops(lambda: theirs(torch.from_numpy(idx)), backward)
    counted = count_flops(lambda i: ours(i)[0], Tensor(idx), backward=backward)
    assert counted.total == expected
