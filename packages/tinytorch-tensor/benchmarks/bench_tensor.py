"""What the Tensor wrapper costs over raw NumPy (and where PyTorch is installed, over PyTorch).

Run:  python packages/tinytorch-tensor/benchmarks/bench_tensor.py [--repeats N]
(on a shared machine, OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 give steadier numbers)

1. A 1024x1024 float32 matmul through ``Tensor`` vs ``np.matmul``: the wrapper should vanish
   behind the BLAS call (goal: within 10%).
2. The per-op overhead of a tiny elementwise op (add of two 16-element tensors), where the
   wrapper is all there is: microseconds per call for Tensor, NumPy and PyTorch.
3. Memory and layout facts the README quotes: float32 vs float64 bytes, and a view vs a copy.

Timings are medians over several runs, with the contenders interleaved (and taking turns to go
first) so that a noisy neighbour slows all of them alike.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import tinytorch.tensor as tt

try:
    import torch
except ImportError:  # PyTorch is a point of comparison, never a dependency
    torch = None


def median_seconds(
    fns: dict[str, Callable[[], Any]], repeats: int, number: int
) -> dict[str, float]:
    """Median over ``repeats`` runs of the time of one call of each fn (runs interleaved)."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()  # warm up: first-call allocations, BLAS thread start
    order = list(fns.items())
    for r in range(repeats):
        # Rotate who goes first: the first of a round runs measurably slower (cold caches).
        for name, fn in order[r % len(order) :] + order[: r % len(order)]:
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: statistics.median(s) for name, s in samples.items()}


def bench_matmul(repeats: int) -> dict[str, float]:
    g = tt.Generator(0)
    a, b = tt.randn(1024, 1024, generator=g), tt.randn(1024, 1024, generator=g)
    fns: dict[str, Callable[[], Any]] = {
        "tinytorch": lambda: a @ b,
        "numpy": lambda: np.matmul(a.data, b.data),
    }
    times = median_seconds(fns, repeats, number=1)
    a64, b64 = a.double(), b.double()
    times.update(median_seconds({"tinytorch float64": lambda: a64 @ b64}, repeats, number=1))
    if torch is not None:
        # Timed on its own: PyTorch's OpenMP threads spin on after each call and would slow
        # whichever contender ran next.
        ta, tb = torch.from_numpy(a.data), torch.from_numpy(b.data)
        times.update(median_seconds({"torch": lambda: ta @ tb}, repeats, number=1))
    return times


def bench_small_add(repeats: int) -> dict[str, float]:
    g = tt.Generator(0)
    a, b = tt.randn(16, generator=g), tt.randn(16, generator=g)
    x, y = a.data, b.data
    fns: dict[str, Callable[[], Any]] = {"tinytorch": lambda: a + b, "numpy": lambda: x + y}
    times = median_seconds(fns, repeats, number=20_000)
    if torch is not None:
        ta, tb = torch.from_numpy(x), torch.from_numpy(y)
        times.update(median_seconds({"torch": lambda: ta + tb}, repeats, number=20_000))
    return times


def bench_views(repeats: int) -> dict[str, float]:
    t = tt.randn(1024, 1024, generator=tt.Generator(0))
    return median_seconds(
        {
            "transpose (view)": lambda: t.T,
            "reshape (view)": lambda: t.reshape(-1),
            "transpose + copy": lambda: np.ascontiguousarray(t.T.data),
            "float64 copy": lambda: t.double(),
        },
        repeats,
        number=20,
    )


def table(title: str, rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [title]
    for k, row in enumerate(rows):
        lines.append(
            "  "
            + "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if k == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="runs per measurement")
    args = parser.parse_args()

    torch_text = (
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
        if torch
        else ("torch not installed")
    )
    print(
        f"numpy {np.__version__}, {torch_text}, Python {platform.python_version()}, "
        f"{platform.machine()}"
    )
    print()

    mm = bench_matmul(args.repeats)
    flop = 2 * 1024**3
    rows = [("1024x1024 matmul (float32)", "ms", "GFLOP/s", "/ numpy")]
    for name, s in mm.items():
        rows.append((name, f"{s * 1e3:.2f}", f"{flop / s / 1e9:.1f}", f"{s / mm['numpy']:.3f}"))
    print(table(f"matmul (median of {args.repeats} runs)", rows))
    print()

    add = bench_small_add(args.repeats)
    rows = [("add, 2 x 16 float32", "us / op", "/ numpy", "/ torch")]
    for name, s in add.items():
        vs_torch = f"{s / add['torch']:.2f}" if "torch" in add else "-"
        rows.append((name, f"{s * 1e6:.3f}", f"{s / add['numpy']:.2f}", vs_torch))
    print(table(f"per-op overhead (median of {args.repeats} runs)", rows))
    overhead = (add["tinytorch"] - add["numpy"]) * 1e6
    print(f"  Tensor wrapper overhead: {overhead:.2f} us per op")
    print()

    views = bench_views(args.repeats)
    rows = [("1024x1024 float32", "us")]
    rows += [(name, f"{s * 1e6:.1f}") for name, s in views.items()]
    print(table(f"views vs copies (median of {args.repeats} runs)", rows))
    t = tt.zeros(1024, 1024)
    print(
        f"  memory: float32 {t.data.nbytes / 2**20:.0f} MiB, "
        f"float64 {t.double().data.nbytes / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()
