"""Forward cost of each activation on a transformer-MLP-sized batch, beside PyTorch if installed.

Run:  python packages/tinytorch-activations/benchmarks/bench_activations.py [--repeats N]

The input is (256, 1024) float32 (256 tokens through a 1024-wide hidden layer), the size where
the choice of formula shows: exact GELU through erfc vs its tanh approximation, softmax with its
max-subtraction. Each line is the median of several runs; PyTorch, when importable, is timed on
the same data and shown as a ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import tinytorch.activations as A
from tinytorch.tensor import Generator, randn

try:
    import torch
except ImportError:  # PyTorch is a point of comparison, never a dependency
    torch = None


def median_seconds(fn: Callable[[], Any], repeats: int, number: int = 5) -> float:
    fn()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()

    x = randn(256, 1024, generator=Generator(0))
    ours: dict[str, Callable[[], Any]] = {
        "relu": lambda: A.relu(x),
        "leaky_relu": lambda: A.leaky_relu(x),
        "sigmoid": lambda: A.sigmoid(x),
        "tanh": lambda: A.tanh(x),
        "gelu (exact)": lambda: A.gelu(x),
        "gelu (tanh)": lambda: A.gelu(x, approximate="tanh"),
        "softmax": lambda: A.softmax(x),
        "log_softmax": lambda: A.log_softmax(x),
    }
    theirs: dict[str, Callable[[], Any]] = {}
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

    base = median_seconds(lambda: np.maximum(x.data, 0), args.repeats)
    torch_text = f", torch {torch.__version__}" if torch else ", torch not installed"
    print(f"(256, 1024) float32 forward, median of {args.repeats} runs; numpy {np.__version__}")
    print(f"{torch_text[2:]}; np.maximum(x, 0) alone takes {base * 1e6:.0f} us\n")
    header = f"  {'op':<14}{'us':>9}{'/ relu':>9}{'torch us':>10}{'/ torch':>9}"
    print(header)
    print("  " + "-" * (len(header) - 2))
    relu_time = None
    for name, f in ours.items():
        t = median_seconds(f, args.repeats)
        relu_time = relu_time or t
        line = f"  {name:<14}{t * 1e6:>9.0f}{t / relu_time:>9.1f}"
        if name in theirs:
            tt = median_seconds(theirs[name], args.repeats)
            line += f"{tt * 1e6:>10.0f}{t / tt:>9.2f}"
        print(line)

    with np.errstate(over="ignore", invalid="ignore"):
        logits = np.array([100.0, 0.0], dtype=np.float32)
        naive = np.exp(logits) / np.exp(logits).sum()
    print(f"\n  naive softmax([100, 0]) in float32: {naive}; A.softmax: {A.softmax(logits)}")


if __name__ == "__main__":
    main()
