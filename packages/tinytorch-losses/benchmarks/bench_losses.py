"""The fused cross-entropy against the same loss composed from Tensor ops, and against PyTorch.

Run:  python packages/tinytorch-losses/benchmarks/bench_losses.py [--repeats N]

Forward of ``cross_entropy`` on float32 logits (N, C) with int64 targets, for a classifier's
shape (N=256, C=10) and a language model's (N=1024, C=8192): the fused op (one recorded node,
log-sum-exp), the textbook composition ``-(x - x.max - log(sum(exp(x - x.max))))[range, y]
.mean()`` built from Tensor ops (eight nodes when recorded), and ``F.cross_entropy``. Also the
arrays each form keeps alive for backward, counted from the recorded graph.

Timings are medians of interleaved runs (each contender taking turns to go first).
"""

from __future__ import annotations

import os

# Single-threaded BLAS, before NumPy loads it: on a small shared machine OpenBLAS's threads
# contend with other work and made a matmul 10x slower here; one thread is repeatable, and it
# matches the one thread PyTorch is given below.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.losses import cross_entropy
from tinytorch.tensor import Generator, Tensor, arange, randint, randn

try:
    import torch

    # One thread: on a small shared machine PyTorch's OpenMP workers spin between calls and
    # slow every contender; one thread is the comparable, repeatable setting.
    torch.set_num_threads(1)
except ImportError:  # a point of comparison, never a dependency
    torch = None


def median_seconds(
    fns: dict[str, Callable[[], Any]], repeats: int, number: int
) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    order = list(fns.items())
    for r in range(repeats):
        for name, fn in order[r % len(order) :] + order[: r % len(order)]:
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: statistics.median(s) for name, s in samples.items()}


def composed(x: Tensor, y: Tensor) -> Tensor:
    shifted = x - x.max(axis=1, keepdims=True).detach()
    log_probs = shifted - shifted.exp().sum(axis=1, keepdims=True).log()
    return -log_probs[arange(len(y)), y].mean()


def graph_bytes(out: Tensor) -> tuple[int, int]:
    """(nodes, bytes of arrays the recorded graph holds: node outputs, saved attrs)."""
    seen: set[int] = set()
    nodes, total, stack = 0, 0, [out]
    while stack:
        t = stack.pop()
        node = t.node
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nodes += 1
        arrays = [node.out, *(v for v in node.attrs.values() if isinstance(v, np.ndarray))]
        total += sum(a.nbytes for a in arrays)
        stack.extend(node.inputs)
    return nodes, total


def bench_shape(n: int, c: int, repeats: int) -> None:
    g = Generator(0)
    x = randn(n, c, generator=g)
    y = randint(0, c, (n,), generator=g)
    number = 200 if c == 10 else 3
    times = median_seconds(
        {"fused": lambda: cross_entropy(x, y), "composed": lambda: composed(x, y)},
        repeats,
        number,
    )
    if torch is not None:
        tx, ty = torch.from_numpy(x.data), torch.from_numpy(y.data)
        fn = torch.nn.functional.cross_entropy
        times.update(median_seconds({"torch": lambda: fn(tx, ty)}, repeats, number))
    a, b = float(cross_entropy(x, y)), float(composed(x, y))
    print(f"cross_entropy forward, ({n}, {c}) float32   (fused {a:.6f}, composed {b:.6f})")
    for name, t in times.items():
        print(f"  {name:<9} {t * 1e6:10.1f} us   {t / times['fused']:5.2f}x fused")
    xg = Tensor(x.data, requires_grad=True)
    for name, out in (("fused", cross_entropy(xg, y)), ("composed", composed(xg, y))):
        nodes, nbytes = graph_bytes(out)
        print(f"  recorded {name:<9}: {nodes} nodes holding {nbytes / 2**20:7.2f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, numpy {np.__version__}")
    for n, c in ((256, 10), (1024, 8192)):
        bench_shape(n, c, args.repeats)


if __name__ == "__main__":
    main()
