"""GPT training step and generation: TinyTorch against the same model in PyTorch.

Run:  python -m tools bench transformers   (or this file directly: [--repeats N] [--threads N]
[--profile])

The configuration is the 2017 milestone's character-level model: 4 layers, 128 wide, 4 heads,
context 64, batch 32, vocabulary 65, AdamW, float32. PyTorch (where ``import torch`` works) runs
the same architecture with the same initial weights, so the two first losses must agree before
any time is compared; ratios are TinyTorch's median over PyTorch's. Training steps alternate
between the two (tools.benchmark.compare). Generation is 200 tokens from a one-token prompt,
sampled, without a KV cache on either side.

BLAS and PyTorch run on one thread unless ``--threads`` says otherwise: on the small shared
development machine two thread pools contend with other work and the ratios swing.
``--profile`` prints where TinyTorch's step spends its time (cProfile, by function).
"""

from __future__ import annotations

import cProfile
import io
import math
import pstats
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.tensor import Generator, Tensor
from tinytorch.transformers import GPT, GPTConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench

CONFIG = GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
BATCH = 32
NEW_TOKENS = 200


def tinytorch_step(model: GPT, x: Tensor, y: Tensor) -> Callable[[], float]:
    opt = model.configure_optimizers(weight_decay=0.1, lr=1e-3, betas=(0.9, 0.95))

    def step() -> float:
        _, loss = model(x, y)
        assert loss is not None
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.item())

    return step


def build_torch(model: GPT) -> Any:
    """The same GPT in PyTorch, with ``model``'s weights copied in."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    c = model.config

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(c.n_embd)
            self.attn = nn.Linear(c.n_embd, 3 * c.n_embd)
            self.proj = nn.Linear(c.n_embd, c.n_embd)
            self.ln_2 = nn.LayerNorm(c.n_embd)
            self.fc = nn.Linear(c.n_embd, 4 * c.n_embd)
            self.c_proj = nn.Linear(4 * c.n_embd, c.n_embd)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            b, t, e = x.shape
            q, k, v = self.attn(self.ln_1(x)).split(e, dim=2)
            q, k, v = (z.view(b, t, c.n_head, e // c.n_head).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, e))
            return x + self.c_proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))

    class TorchGPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(c.vocab_size, c.n_embd)
            self.wpe = nn.Embedding(c.block_size, c.n_embd)
            self.h = nn.ModuleList(Block() for _ in range(c.n_layer))
            self.ln_f = nn.LayerNorm(c.n_embd)
            self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None) -> Any:
            pos = torch.arange(idx.shape[1])
            x = self.wte(idx) + self.wpe(pos)
            for block in self.h:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            if targets is None:
                return logits, None
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
            return logits, loss

    tm = TorchGPT()
    state = model.state_dict()
    mapping = {"wte.weight": "wte.weight", "wpe.weight": "wpe.weight"}
    mapping |= {f"ln_f.{p}": f"ln_f.{p}" for p in ("weight", "bias")}
    for i in range(c.n_layer):
        ours, theirs = f"h.{i}.", f"h.{i}."
        for a, b in [
            ("ln_1.weight", "ln_1.weight"),
            ("ln_1.bias", "ln_1.bias"),
            ("attn.in_proj_weight", "attn.weight"),
            ("attn.in_proj_bias", "attn.bias"),
            ("attn.out_proj.weight", "proj.weight"),
            ("attn.out_proj.bias", "proj.bias"),
            ("ln_2.weight", "ln_2.weight"),
            ("ln_2.bias", "ln_2.bias"),
            ("mlp.c_fc.weight", "fc.weight"),
            ("mlp.c_fc.bias", "fc.bias"),
            ("mlp.c_proj.weight", "c_proj.weight"),
            ("mlp.c_proj.bias", "c_proj.bias"),
        ]:
            mapping[ours + a] = theirs + b
    with torch.no_grad():
        params = dict(tm.named_parameters())
        for ours, theirs in mapping.items():
            params[theirs].copy_(torch.from_numpy(state[ours].data.copy()))
    return tm


def torch_step(tm: Any, x: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    import torch

    decay = [p for p in tm.parameters() if p.dim() >= 2]
    no_decay = [p for p in tm.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-3,
        betas=(0.9, 0.95),
    )
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> float:
        _, loss = tm(tx, ty)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss.item())

    return step


def torch_generate(tm: Any, prompt: np.ndarray, n: int, block: int) -> Any:
    import torch

    g = torch.Generator().manual_seed(0)
    idx = torch.from_numpy(prompt)
    with torch.no_grad():
        for _ in range(n):
            logits, _ = tm(idx[:, -block:])
            probs = torch.softmax(logits[:, -1, :], dim=-1)
            idx = torch.cat([idx, torch.multinomial(probs, 1, generator=g)], dim=1)
    return idx


def main() -> None:
    parser = bench.parser(__doc__, threads=1, repeats=10)
    parser.add_argument("--profile", action="store_true", help="cProfile TinyTorch's step")
    args = bench.parse(parser)
    torch = bench.optional_torch()
    print(bench.environment())

    rng = np.random.default_rng(0)
    data = rng.integers(0, CONFIG.vocab_size, (BATCH, CONFIG.block_size + 1))
    x_np, y_np = data[:, :-1].copy(), data[:, 1:].copy()
    model = GPT(CONFIG, generator=Generator(0))
    tm = build_torch(model) if torch is not None else None

    # Same weights: the first losses must agree before any timing means anything.
    step = tinytorch_step(model, Tensor(x_np), Tensor(y_np))
    steps: dict[str, Callable[[], object]] = {"tinytorch": step}
    first = step()
    if tm is not None:
        t_step = torch_step(tm, x_np, y_np)
        t_first = t_step()
        assert math.isclose(first, t_first, rel_tol=1e-4), (first, t_first)
        print(f"first loss: TinyTorch {first:.5f}, PyTorch {t_first:.5f}")
        steps["torch"] = t_step

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.repeats):
            step()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())

    times = bench.compare(steps, repeat=args.repeats, warmup=1)
    reference = "torch" if "torch" in times else None
    title = f"training step, batch {BATCH} x {CONFIG.block_size}, AdamW"
    print(bench.ratio_table(title, times, reference=reference, unit="ms"))

    model.eval()
    prompt = np.zeros((1, 1), dtype=np.int64)
    gens: dict[str, Callable[[], object]] = {
        "tinytorch": lambda: model.generate(Tensor(prompt), NEW_TOKENS, generator=Generator(0))
    }
    if tm is not None:
        tm.eval()
        gens["torch"] = lambda: torch_generate(tm, prompt, NEW_TOKENS, CONFIG.block_size)
    gen_times = bench.compare(gens, repeat=1 if args.quick else 3, warmup=0)
    title = f"generate {NEW_TOKENS} tokens (batch 1, no KV cache)"
    print(bench.ratio_table(title, gen_times, reference=reference, unit="ms"))


if __name__ == "__main__":
    main()
