"""What a Linear layer and Dropout cost over raw NumPy (and over PyTorch where it is installed).

Run:  python packages/tinytorch-layers/benchmarks/bench_layers.py [--repeats N]

1. ``Linear(784, 256)`` forward on a batch of 256, float32: the layer's three recorded ops
   (transpose view, matmul, bias add) against ``x @ W.T + b`` in NumPy and ``F.linear``.
2. ``Dropout(0.5)`` forward on the layer's output: mask drawing dominates.
3. Memory facts the README quotes: parameter bytes of an MLP, and what dropout keeps for backward.

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

from tinytorch.layers import Dropout, Linear, Sequential
from tinytorch.tensor import Generator, randn

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


def show(title: str, times: dict[str, float]) -> None:
    base = times["numpy"]
    print(title)
    for name, t in times.items():
        print(f"  {name:<10} {t * 1e6:10.1f} us   {t / base:5.2f}x numpy")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, numpy {np.__version__}")

    g = Generator(0)
    layer = Linear(784, 256, generator=g)
    x = randn(256, 784, generator=g)
    w, b, xd = layer.weight.data, layer.bias.data, x.data
    times = median_seconds(
        {"tinytorch": lambda: layer(x), "numpy": lambda: xd @ w.T + b}, args.repeats, 20
    )
    if torch is not None:
        tx, tw, tb = (torch.from_numpy(a) for a in (xd, w, b))
        fn = torch.nn.functional.linear
        times.update(median_seconds({"torch": lambda: fn(tx, tw, tb)}, args.repeats, 20))
    show("Linear(784, 256) forward, batch 256, float32:", times)

    drop = Dropout(0.5, generator=g)
    h = layer(x)
    rng = np.random.default_rng(0)
    hd = h.data
    times = median_seconds(
        {
            "tinytorch": lambda: drop(h),
            "numpy": lambda: hd * ((rng.random(hd.shape) >= 0.5) * np.float32(2.0)),
        },
        args.repeats,
        20,
    )
    if torch is not None:
        th = torch.from_numpy(hd)
        times.update(
            median_seconds(
                {"torch": lambda: torch.nn.functional.dropout(th, 0.5)}, args.repeats, 20
            )
        )
    show("Dropout(0.5) forward on (256, 256) float32:", times)

    mlp = Sequential(Linear(784, 256), Linear(256, 128), Linear(128, 10))
    n = sum(p.numel() for p in mlp.parameters())
    nbytes = sum(p.data.nbytes for p in mlp.parameters())
    print(f"MLP 784-256-128-10: {n:,} parameters, {nbytes / 2**10:.1f} KiB in float32")
    print(f"dropout mask kept for backward on (256, 256): {hd.nbytes / 2**10:.0f} KiB")


if __name__ == "__main__":
    main()
