"""GPT training step and generation: TinyTorch against the same model in PyTorch.

The configuration is the milestone's character-level model: 4 layers, 128 wide, 4 heads,
context 64, batch 32, vocabulary 65, AdamW, float32. PyTorch (when ``import torch`` works)
runs the same architecture with the same initial weights, so the two first losses must agree;
the reported ratios are TinyTorch time / PyTorch time.

    python packages/tinytorch-transformers/benchmarks/bench_gpt.py [--steps 10] [--profile]

Set OPENBLAS_NUM_THREADS=N to pin both sides to N threads (PyTorch follows it).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.tensor import Generator, Tensor
from tinytorch.transformers import GPT, GPTConfig

CONFIG = GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
BATCH = 32
NEW_TOKENS = 200


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _min(values: list[float]) -> float | None:
    return min(values) if values else None


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed training steps")
    parser.add_argument("--gen-repeat", type=int, default=3, help="timed generations")
    parser.add_argument("--profile", action="store_true", help="cProfile TinyTorch's steps")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    data = rng.integers(0, CONFIG.vocab_size, (BATCH, CONFIG.block_size + 1))
    x_np, y_np = data[:, :-1].copy(), data[:, 1:].copy()
    model = GPT(CONFIG, generator=Generator(0))
    tm = None
    if not args.no_torch:
        try:
            import torch

            # Same thread count on both sides: NumPy's BLAS reads OPENBLAS_NUM_THREADS.
            threads = os.environ.get("OPENBLAS_NUM_THREADS")
            if threads:
                torch.set_num_threads(int(threads))
            tm = build_torch(model)
            print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
        except ImportError:
            print("PyTorch is not importable here: TinyTorch only")

    # Same weights: the first losses must agree before any timing means anything.
    step = tinytorch_step(model, Tensor(x_np), Tensor(y_np))
    first = step()
    step()  # warm: the optimizer's buffers exist from here on
    t_step: Callable[[], float] | None = None
    if tm is not None:
        t_step = torch_step(tm, x_np, y_np)
        t_first = t_step()
        t_step()
        assert math.isclose(first, t_first, rel_tol=1e-4), (first, t_first)
        print(f"first loss: TinyTorch {first:.5f}, PyTorch {t_first:.5f}")

    # Alternate the two steps, so that both see the same load on a shared machine; report the
    # median and the best of each.
    ours_t: list[float] = []
    theirs_t: list[float] = []
    if args.profile:
        profiler = cProfile.Profile()
    for _ in range(args.steps):
        if args.profile:
            profiler.enable()
        ours_t += timed(step, 1, warmup=0)
        if args.profile:
            profiler.disable()
        if t_step is not None:
            theirs_t += timed(t_step, 1, warmup=0)
    if args.profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    rows: list[tuple[str, float, float | None]] = []
    label = f"train step (batch {BATCH} x {CONFIG.block_size})"
    rows.append((label + ", median", statistics.median(ours_t), _median(theirs_t)))
    rows.append((label + ", best", min(ours_t), _min(theirs_t)))

    model.eval()
    prompt = np.zeros((1, 1), dtype=np.int64)
    gen_t: list[float] = []
    t_gen_t: list[float] = []
    if tm is not None:
        tm.eval()
    for _ in range(args.gen_repeat):
        gen_t += timed(
            lambda: model.generate(Tensor(prompt), NEW_TOKENS, generator=Generator(0)), 1, 0
        )
        if tm is not None:
            t_gen_t += timed(
                lambda: torch_generate(tm, prompt, NEW_TOKENS, CONFIG.block_size), 1, 0
            )
    rows.append(
        (f"generate {NEW_TOKENS} tokens, best of {args.gen_repeat}", min(gen_t), _min(t_gen_t))
    )

    print(f"\n{'':<42} {'TinyTorch':>11} {'PyTorch':>11} {'ratio':>7}")
    for name, a, b in rows:
        ratio = f"{a / b:6.2f}x" if b else "    n/a"
        other = f"{b * 1e3:8.1f} ms" if b else "        n/a"
        print(f"{name:<42} {a * 1e3:8.1f} ms {other} {ratio}")


if __name__ == "__main__":
    main()
