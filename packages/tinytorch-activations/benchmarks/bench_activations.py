"""Forward cost of each activation on a transformer-MLP-sized batch, beside PyTorch if installed.

Run:  python -m tools bench activations   (or this file directly: [--repeats N] [--threads N])

The input is (256, 1024) float32 (256 tokens through a 1024-wide hidden layer), the size where
the choice of formula shows: exact GELU through erfc vs its tanh approximation, softmax with its
max-subtraction. Each line is the median of several runs; PyTorch, when importable, is timed on
the same data and shown as a ratio.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

import tinytorch.activations as A
from tinytorch.tensor import Generator, randn

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench


def main() -> None:
    args = bench.parse(bench.parser(__doc__, repeats=9))
    repeats = args.repeats
    torch = bench.optional_torch()

    x = randn(256, 1024, generator=Generator(0))
    ours: dict[str, Callable[[], object]] = {
        "relu": lambda: A.relu(x),
        "leaky_relu": lambda: A.leaky_relu(x),
        "sigmoid": lambda: A.sigmoid(x),
        "tanh": lambda: A.tanh(x),
        "gelu (exact)": lambda: A.gelu(x),
        "gelu (tanh)": lambda: A.gelu(x, approximate="tanh"),
        "softmax": lambda: A.softmax(x),
        "log_softmax": lambda: A.log_softmax(x),
    }
    theirs: dict[str, Callable[[], object]] = {}
    if torch is not None:
        tx = torch.from_numpy(x.data)
        fn = torch.nn.functional
        theirs = {
            "relu": lambda: fn.relu(tx),
            "leaky_relu": lambda: fn.leaky_relu(tx),
            "sigmoid": lambda: torch.sigmoid(tx),
            "tanh": lambda: torch.tanh(tx),
            "gelu (exact)": lambda: fn.gelu(tx),
            "gelu (tanh)": lambda: fn.gelu(tx, approximate="tanh"),
            "softmax": lambda: fn.softmax(tx, dim=-1),
            "log_softmax": lambda: fn.log_softmax(tx, dim=-1),
        }

    print(bench.environment())
    base = bench.measure(lambda: np.maximum(x.data, 0), repeat=repeats, number=5)
    print(f"np.maximum(x, 0) alone takes {bench.format_time(base, 'us', 0)} us\n")
    rows = []
    relu = None
    for name, f in ours.items():
        t = bench.measure(f, repeat=repeats, number=5)
        relu = relu or t
        theirs_t = bench.measure(theirs[name], repeat=repeats, number=5) if name in theirs else None
        rows.append(
            (
                name,
                bench.format_time(t, "us", 0),
                bench.format_ratio(t, relu, 1),
                bench.format_time(theirs_t, "us", 0),
                bench.format_ratio(t, theirs_t),
            )
        )
    title = f"(256, 1024) float32 forward, median of {repeats} runs"
    print(bench.table(title, ("op", "us", "/ relu", "torch us", "/ torch"), rows))

    with np.errstate(over="ignore", invalid="ignore"):
        logits = np.array([100.0, 0.0], dtype=np.float32)
        naive = np.exp(logits) / np.exp(logits).sum()
    print(f"\n  naive softmax([100, 0]) in float32: {naive}; A.softmax: {A.softmax(logits)}")


if __name__ == "__main__":
    main()
