"""What a Linear layer and Dropout cost over raw NumPy (and over PyTorch where it is installed).

Run:  python -m tools bench layers   (or this file directly: [--repeats N] [--threads N])

1. ``Linear(784, 256)`` forward on a batch of 256, float32: the layer's three recorded ops
   (transpose view, matmul, bias add) against ``x @ W.T + b`` in NumPy and ``F.linear``.
2. ``Dropout(0.5)`` forward on the layer's output: mask drawing dominates.
3. Memory facts the README quotes: parameter bytes of an MLP, and what dropout keeps for backward.

Timings are medians of interleaved runs (each contender taking turns to go first). BLAS and
PyTorch run on one thread unless ``--threads`` says otherwise: on a small shared machine their
thread pools contend with other work (OpenBLAS's made the matmul 10x slower here), and one
thread each is the repeatable, comparable setting.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tinytorch.layers import Dropout, Linear, Sequential
from tinytorch.tensor import Generator, randn

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench


def main() -> None:
    args = bench.parse(bench.parser(__doc__, threads=1, repeats=15))
    repeats = args.repeats
    torch = bench.optional_torch()
    print(bench.environment())

    g = Generator(0)
    layer = Linear(784, 256, generator=g)
    x = randn(256, 784, generator=g)
    w, b, xd = layer.weight.data, layer.bias.data, x.data
    times = bench.compare(
        {"tinytorch": lambda: layer(x), "numpy": lambda: xd @ w.T + b}, repeat=repeats, number=20
    )
    if torch is not None:
        tx, tw, tb = (torch.from_numpy(a) for a in (xd, w, b))
        fn = torch.nn.functional.linear
        times["torch"] = bench.measure(lambda: fn(tx, tw, tb), repeat=repeats, number=20)
    title = "Linear(784, 256) forward, batch 256, float32"
    print(bench.ratio_table(title, times, reference="numpy", digits=1))

    drop = Dropout(0.5, generator=g)
    h = layer(x)
    rng = np.random.default_rng(0)
    hd = h.data
    times = bench.compare(
        {
            "tinytorch": lambda: drop(h),
            "numpy": lambda: hd * ((rng.random(hd.shape) >= 0.5) * np.float32(2.0)),
        },
        repeat=repeats,
        number=20,
    )
    if torch is not None:
        th = torch.from_numpy(hd)
        dropout = torch.nn.functional.dropout
        times["torch"] = bench.measure(lambda: dropout(th, 0.5), repeat=repeats, number=20)
    title = "Dropout(0.5) forward on (256, 256) float32"
    print(bench.ratio_table(title, times, reference="numpy", digits=1))

    mlp = Sequential(Linear(784, 256), Linear(256, 128), Linear(128, 10))
    n = sum(p.numel() for p in mlp.parameters())
    nbytes = sum(p.data.nbytes for p in mlp.parameters())
    print(f"MLP 784-256-128-10: {n:,} parameters, {nbytes / 2**10:.1f} KiB in float32")
    print(f"dropout mask kept for backward on (256, 256): {hd.nbytes / 2**10:.0f} KiB")


if __name__ == "__main__":
    main()
