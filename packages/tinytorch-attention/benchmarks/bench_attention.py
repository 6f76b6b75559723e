"""Fused scaled_dot_product_attention against the same attention composed from tensor ops.

Run:  python -m tools bench attention   (or this file directly: [--repeats N] [--threads N])

Forward + backward of causal attention at the GPT benchmark's shapes (batch 32, 4 heads, 64
tokens, head size 32), float32: the fused op (one node, the probabilities saved, the softmax
gradient in place), the textbook graph (matmul, scale, ``where`` mask, the softmax op of
``tinytorch.activations``, matmul), and PyTorch's ``F.scaled_dot_product_attention`` where
``import torch`` works. The two TinyTorch forms must give the same gradients first.

BLAS and PyTorch run on one thread unless ``--threads`` says otherwise (the development machine
is small and shared; one thread each is the repeatable setting).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

import tinytorch.autograd  # noqa: F401  (registers the engine and the tensor ops' rules)
from tinytorch.activations import softmax
from tinytorch.attention import causal_mask, scaled_dot_product_attention
from tinytorch.tensor import Tensor, where

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench

SHAPE = (32, 4, 64, 32)


def composed(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """The textbook graph: matmul, scale, mask, the softmax op, matmul."""
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    scores = where(Tensor(causal_mask(q.shape[-2], k.shape[-2])), scores, -np.inf)
    return softmax(scores, -1) @ v


def fused(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    return scaled_dot_product_attention(q, k, v, is_causal=True)


def main() -> None:
    args = bench.parse(bench.parser(__doc__, threads=1, repeats=30))
    torch = bench.optional_torch()
    print(bench.environment())
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(SHAPE).astype(np.float32) for _ in range(3)]
    grad = rng.standard_normal(SHAPE).astype(np.float32)

    fns: dict[str, Callable[[], object]] = {}
    grads = {}
    for name, fn in (("fused op", fused), ("composed ops", composed)):
        leaves = [Tensor(a, requires_grad=True) for a in arrays]

        def step(
            fn: Callable[[Tensor, Tensor, Tensor], Tensor] = fn, leaves: list[Tensor] = leaves
        ) -> None:
            for t in leaves:
                t.grad = None
            fn(*leaves).backward(grad)

        step()
        grads[name] = [t.grad.data.copy() for t in leaves if t.grad is not None]
        fns[name] = step
    for a, b in zip(grads["fused op"], grads["composed ops"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)

    if torch is not None:
        tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in arrays)
        tgrad = torch.tensor(grad)
        sdpa = torch.nn.functional.scaled_dot_product_attention

        def torch_step() -> None:
            for t in (tq, tk, tv):
                t.grad = None
            sdpa(tq, tk, tv, is_causal=True).backward(tgrad)

        fns["torch"] = torch_step

    times = bench.compare(fns, repeat=args.repeats, warmup=2)
    title = f"causal attention forward + backward, {SHAPE} float32"
    print(bench.ratio_table(title, times, reference="fused op", unit="ms"))


if __name__ == "__main__":
    main()
