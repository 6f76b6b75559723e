"""Fused scaled_dot_product_attention against the same attention composed from tensor ops.

Forward + backward of causal attention at the GPT benchmark's shapes (batch 32, 4 heads, 64
tokens, head size 32), float32; PyTorch's ``F.scaled_dot_product_attention`` beside them when
``import torch`` works.

    python packages/tinytorch-attention/benchmarks/bench_attention.py [--repeat 20]

Set OPENBLAS_NUM_THREADS=N to give both NumPy and PyTorch N threads.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable

import numpy as np

import tinytorch.autograd  # noqa: F401  (registers the engine and the tensor ops' rules)
from tinytorch.activations import softmax
from tinytorch.attention import causal_mask, scaled_dot_product_attention
from tinytorch.tensor import Tensor, where


def composed(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """The textbook graph: matmul, scale, mask, the softmax op, matmul."""
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    scores = where(Tensor(causal_mask(q.shape[-2], k.shape[-2])), scores, -np.inf)
    return softmax(scores, -1) @ v


def fused(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    return scaled_dot_product_attention(q, k, v, is_causal=True)


def time_it(fn: Callable[[], None], repeat: int) -> float:
    fn()
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    shape = (32, 4, 64, 32)
    arrays = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    grad = rng.standard_normal(shape).astype(np.float32)

    results: dict[str, float] = {}
    outputs = {}
    for name, fn in (("fused op", fused), ("composed ops", composed)):
        leaves = [Tensor(a, requires_grad=True) for a in arrays]

        def step(
            fn: Callable[[Tensor, Tensor, Tensor], Tensor] = fn, leaves: list[Tensor] = leaves
        ) -> None:
            for t in leaves:
                t.grad = None
            fn(*leaves).backward(grad)

        results[name] = time_it(step, args.repeat)
        outputs[name] = [t.grad.data.copy() for t in leaves if t.grad is not None]
    for a, b in zip(outputs["fused op"], outputs["composed ops"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)

    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        threads = os.environ.get("OPENBLAS_NUM_THREADS")  # NumPy's BLAS threads: match them
        if threads:
            torch.set_num_threads(int(threads))
        torch.manual_seed(0)
        tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in arrays)
        tgrad = torch.tensor(grad)

        def torch_step() -> None:
            for t in (tq, tk, tv):
                t.grad = None
            out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
            out.backward(tgrad)

        results["PyTorch"] = time_it(torch_step, args.repeat)

    print(f"causal attention forward+backward, shape {shape}, float32 (best of {args.repeat})")
    base = results["fused op"]
    for name, seconds in results.items():
        print(f"  {name:<14} {seconds * 1e3:8.2f} ms   {seconds / base:5.2f}x the fused op")


if __name__ == "__main__":
    main()
