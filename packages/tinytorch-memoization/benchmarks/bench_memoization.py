"""Both trades of memoization, measured: a KV cache (memory for speed) and activation
checkpointing (speed for memory).

Run:  python -m tools bench memoization   (or this file directly: [--quick] [--repeats N]
[--threads N], one BLAS and PyTorch thread by default)

1. KV cache. A GPT of block size 512 (4 layers, 128 wide, 4 heads, 65 tokens: the character
   model's shape), a 64-token prompt, greedy generation of 64, 192 and 448 new tokens: the
   whole generation's wall clock with and without the cache, tokens per second, the cache's
   bytes (held and allocated, read from its buffers), and whether the tokens are the same.
   Where PyTorch is installed, the same model (the same weights) in PyTorch with the same
   caching algorithm (preallocated buffers, prefill, one token per step), and the ratio. The
   weights are the model's initialisation: the time of a step does not depend on their values.
2. Checkpointing. One training step (forward, backward, AdamW) of an 8-layer GPT (128 wide, 4
   heads, context 64, batch 32, dropout 0.1) with and without every block checkpointed: step
   time (interleaved), the memory held after forward (the activations kept for backward) and
   the peak over the step (tracemalloc, above the memory before the step), and whether the
   gradients and the updated weights are bit-for-bit equal.

``--quick`` shrinks both (block 128, fewer tokens, 2 layers) to a smoke run.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.memoization import KVCache, checkpoint, generate
from tinytorch.tensor import Generator, Tensor, randint

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench

MIB = 1024 * 1024


def main() -> None:
    # One thread: a decoding step is ~100 ops on (1, 128) rows, which a thread pool only
    # slows (PyTorch's two threads contend with OpenBLAS's: 2-4x slower, and noisy).
    args = bench.parse(bench.parser(__doc__, threads=1, repeats=3, quick_repeats=1))
    try:
        from tinytorch.transformers import GPT, GPTConfig
    except ImportError:
        print("skipped: the benchmark needs tinytorch-memoization[language] (the GPT)")
        return
    print(bench.environment())
    kv_cache(args, GPT, GPTConfig)
    checkpointing(args, GPT, GPTConfig)


# ---- 1. the KV cache ------------------------------------------------------------------------
def kv_cache(args: Any, GPT: Any, GPTConfig: Any) -> None:
    block, prompt_len, lengths = (128, 16, (16, 48)) if args.quick else (512, 64, (64, 192, 448))
    layers = 2 if args.quick else 4
    cfg = GPTConfig(vocab_size=65, block_size=block, n_layer=layers, n_head=4, n_embd=128)
    model = GPT(cfg, generator=Generator(0)).eval()
    prompt = randint(0, cfg.vocab_size, (1, prompt_len), generator=Generator(1))
    torch = bench.optional_torch()
    twin = TorchGPT(torch, model) if torch is not None else None

    generate(model, prompt, 4)  # warm both up: first calls pay for imports and allocation
    if twin is not None:
        twin.generate(prompt.data, 4)
    rows = []
    for new in lengths:
        cache = KVCache.for_model(model, 1, max_len=prompt_len + new)
        out: dict[str, Tensor] = {}

        def cached(new: int = new, cache: KVCache = cache, out: dict[str, Tensor] = out) -> None:
            cache.reset()
            out["cache"] = generate(model, prompt, new, top_k=1, cache=cache)

        def plain(new: int = new, out: dict[str, Tensor] = out) -> None:
            out["plain"] = model.generate(prompt, new, top_k=1)

        fns: dict[str, Callable[[], object]] = {"no cache": plain, "KV cache": cached}
        if twin is not None:
            fns["PyTorch KV cache"] = lambda new=new, out=out: out.__setitem__(
                "torch", twin.generate(prompt.data, new)
            )
        times = bench.compare(fns, repeat=args.repeats, warmup=0)
        print(
            bench.ratio_table(
                f"generate {new} tokens after a {prompt_len}-token prompt (block {block}, "
                f"{layers} layers x 128 wide x 4 heads), whole generation",
                times,
                reference="KV cache",
                unit="ms",
            )
        )
        same = bool((out["cache"].data == out["plain"].data).all())
        same_torch = "-" if twin is None else str(bool((out["torch"] == out["plain"].data).all()))
        speedup = times["no cache"].median / times["KV cache"].median
        versus_torch = (
            "-"
            if twin is None
            else f"{times['KV cache'].median / times['PyTorch KV cache'].median:.2f}"
        )
        print(
            f"  tokens equal: cache vs no cache {same}, PyTorch vs no cache {same_torch}; "
            f"cache {cache.nbytes / MIB:.3f} MiB held of {cache.allocated_nbytes / MIB:.3f} MiB "
            f"allocated ({cache.length} positions)\n"
        )
        rows.append(
            (
                f"{prompt_len} + {new}",
                f"{new / times['no cache'].median:.1f}",
                f"{new / times['KV cache'].median:.1f}",
                "-" if twin is None else f"{new / times['PyTorch KV cache'].median:.1f}",
                f"{speedup:.1f}x",
                versus_torch,
                f"{cache.nbytes / MIB:.3f}",
                f"{cache.allocated_nbytes / MIB:.3f}",
                str(same),
            )
        )
    header = (
        "prompt + new",
        "tok/s no cache",
        "tok/s cache",
        "tok/s torch cache",
        "speed-up",
        "ours / torch",
        "cache MiB held",
        "MiB allocated",
        "same tokens",
    )
    print(bench.table("KV cache summary (medians)", header, rows))
    print(bench.table("", header, rows, markdown=True))
    print()


class TorchGPT:
    """The same GPT in PyTorch, with the same weights and the same cache: preallocated
    ``(batch, heads, max_len, head_dim)`` buffers written in place, the prompt in one forward,
    then one token per forward; sampling (greedy here) is TinyTorch's, on the same logits."""

    def __init__(self, torch: Any, model: Any) -> None:
        self.torch = torch
        self.F = torch.nn.functional
        self.cfg = model.config
        state = {k: torch.from_numpy(v.data.copy()) for k, v in model.state_dict().items()}
        self.w = state
        self.blocks = [
            {name: state[f"h.{i}.{name}"] for name in _BLOCK_NAMES} for i in range(self.cfg.n_layer)
        ]

    def forward(self, idx: Any, keys: list[Any], values: list[Any], past: int) -> Any:
        torch, F, c, w = self.torch, self.F, self.cfg, self.w
        b, t = idx.shape
        e, heads = c.n_embd, c.n_head
        d = e // heads
        x = w["wte.weight"][idx] + w["wpe.weight"][past : past + t]
        for i, p in enumerate(self.blocks):
            h = F.layer_norm(x, (e,), p["ln_1.weight"], p["ln_1.bias"], 1e-5)
            qkv = F.linear(h, p["attn.in_proj_weight"], p["attn.in_proj_bias"])
            q, k, v = qkv.view(b, t, 3, heads, d).permute(2, 0, 3, 1, 4)
            keys[i][:, :, past : past + t] = k
            values[i][:, :, past : past + t] = v
            k_all, v_all = keys[i][:, :, : past + t], values[i][:, :, : past + t]
            if past == 0:
                att = F.scaled_dot_product_attention(q, k_all, v_all, is_causal=True)
            elif t == 1:
                att = F.scaled_dot_product_attention(q, k_all, v_all)
            else:
                mask = torch.ones(t, past + t, dtype=torch.bool).tril(past)
                att = F.scaled_dot_product_attention(q, k_all, v_all, attn_mask=mask)
            att = att.transpose(1, 2).reshape(b, t, e)
            x = x + F.linear(att, p["attn.out_proj.weight"], p["attn.out_proj.bias"])
            h = F.layer_norm(x, (e,), p["ln_2.weight"], p["ln_2.bias"], 1e-5)
            h = F.gelu(F.linear(h, p["mlp.c_fc.weight"], p["mlp.c_fc.bias"]), approximate="tanh")
            x = x + F.linear(h, p["mlp.c_proj.weight"], p["mlp.c_proj.bias"])
        x = F.layer_norm(x[:, -1], (e,), w["ln_f.weight"], w["ln_f.bias"], 1e-5)
        return F.linear(x, w["wte.weight"])

    def generate(self, prompt: np.ndarray, new: int) -> np.ndarray:
        from tinytorch.transformers import sample_tokens

        torch, c = self.torch, self.cfg
        b, t = prompt.shape
        shape = (b, c.n_head, t + new, c.n_embd // c.n_head)
        keys = [torch.zeros(shape) for _ in range(c.n_layer)]
        values = [torch.zeros(shape) for _ in range(c.n_layer)]
        tokens = prompt.astype(np.int64)
        with torch.inference_mode():
            logits = self.forward(torch.from_numpy(tokens), keys, values, 0)
            for step in range(new):
                choice = sample_tokens(logits.numpy(), top_k=1)
                tokens = np.concatenate([tokens, choice[:, None]], axis=1)
                if step + 1 < new:
                    last = torch.from_numpy(tokens[:, -1:])
                    logits = self.forward(last, keys, values, tokens.shape[1] - 1)
        return tokens


_BLOCK_NAMES = (
    "ln_1.weight",
    "ln_1.bias",
    "attn.in_proj_weight",
    "attn.in_proj_bias",
    "attn.out_proj.weight",
    "attn.out_proj.bias",
    "ln_2.weight",
    "ln_2.bias",
    "mlp.c_fc.weight",
    "mlp.c_fc.bias",
    "mlp.c_proj.weight",
    "mlp.c_proj.bias",
)


# ---- 2. activation checkpointing ------------------------------------------------------------
def checkpointing(args: Any, GPT: Any, GPTConfig: Any) -> None:
    layers, batch, context = (2, 8, 32) if args.quick else (8, 32, 64)
    cfg = GPTConfig(
        vocab_size=65, block_size=context, n_layer=layers, n_head=4, n_embd=128, dropout=0.1
    )
    data = randint(0, cfg.vocab_size, (batch, context + 1), generator=Generator(2)).data
    x, y = Tensor(data[:, :-1]), Tensor(data[:, 1:])
    runs = {}
    for name, on in (("plain", False), ("checkpointed", True)):
        # One Generator object per model, shared by its dropouts, seeded alike: the same masks.
        model = GPT(cfg, generator=Generator(0)).train()
        if on:
            model.gradient_checkpointing_enable(checkpoint)
        optimizer = model.configure_optimizers(weight_decay=0.1, lr=1e-3)
        runs[name] = (model, optimizer)

    def step_of(name: str) -> Callable[[], float]:
        model, optimizer = runs[name]

        def step() -> float:
            optimizer.zero_grad()
            _, loss = model(x, y)
            loss.backward()
            optimizer.step()
            return float(loss.item())

        return step

    # The first step of each (AdamW allocating its state) is also the gradient check.
    grads = {}
    for name, (model, optimizer) in runs.items():
        optimizer.zero_grad()
        _, loss = model(x, y)
        loss.backward()
        grads[name] = [p.grad.data.copy() for p in model.parameters()]
        optimizer.step()
    equal_grads = all(
        np.array_equal(a, b) for a, b in zip(grads["plain"], grads["checkpointed"], strict=True)
    )

    memory = {name: _memory_of(*runs[name], x, y) for name in runs}
    times = bench.compare(
        {name: step_of(name) for name in runs}, repeat=max(3, 3 * args.repeats), warmup=1, block=1
    )
    equal_weights = all(
        np.array_equal(a.data, b.data)
        for a, b in zip(
            runs["plain"][0].parameters(), runs["checkpointed"][0].parameters(), strict=True
        )
    )
    print(
        bench.ratio_table(
            f"one training step (forward, backward, AdamW) of a {layers}-layer GPT, 128 wide, "
            f"4 heads, context {context}, batch {batch}, dropout 0.1",
            times,
            reference="plain",
            unit="ms",
        )
    )
    rows = []
    for name in runs:
        held, peak, grad_bytes = memory[name]
        rows.append(
            (
                name,
                f"{held / MIB:.2f}",
                f"{peak / MIB:.2f}",
                f"{grad_bytes / MIB:.2f}",
                f"{bench.format_time(times[name], 'ms')}",
            )
        )
    plain, ck = memory["plain"], memory["checkpointed"]
    rows.append(
        (
            "plain / checkpointed",
            f"{plain[0] / ck[0]:.2f}x",
            f"{plain[1] / ck[1]:.2f}x",
            "",
            f"{times['checkpointed'].median / times['plain'].median:.2f}x slower",
        )
    )
    header = (
        "",
        "MiB held after forward",
        "MiB peak over step",
        "MiB of .grad",
        "step ms",
    )
    print(
        bench.table(
            "activation memory (tracemalloc, above the memory before the step)", header, rows
        )
    )
    print(bench.table("", header, rows, markdown=True))
    steps = 3 + len(times["plain"].samples)  # gradient check, memory, warm-up, timed
    print(
        f"  gradients bit-for-bit equal: {equal_grads}; weights after {steps} AdamW steps of "
        f"each equal: {equal_weights}"
    )


def _memory_of(model: Any, optimizer: Any, x: Tensor, y: Tensor) -> tuple[int, int, int]:
    """Bytes held after the forward and the peak of forward + backward, above the start."""
    optimizer.zero_grad()
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        _, loss = model(x, y)
        held = tracemalloc.get_traced_memory()[0] - start
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    grad_bytes = sum(p.grad.data.nbytes for p in model.parameters() if p.grad is not None)
    optimizer.step()
    return held, peak, grad_bytes


if __name__ == "__main__":
    main()
