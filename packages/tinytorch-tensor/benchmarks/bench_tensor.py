"""What the Tensor wrapper costs over raw NumPy (and where PyTorch is installed, over PyTorch).

Run:  python -m tools bench tensor   (or this file directly: [--repeats N] [--threads N] [--quick])
(on a shared machine, --threads 1 gives steadier numbers)

1. A 1024x1024 float32 matmul through ``Tensor`` vs ``np.matmul``: the wrapper should vanish
   behind the BLAS call (goal: within 10%).
2. The per-op overhead of a tiny elementwise op (add of two 16-element tensors), where the
   wrapper is all there is: microseconds per call for Tensor, NumPy and PyTorch.
3. Memory and layout facts the README quotes: float32 vs float64 bytes, and a view vs a copy.

Timings are medians over several runs, with the contenders interleaved (and taking turns to go
first) so that a noisy neighbour slows all of them alike.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np

import tinytorch.tensor as tt

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench


def bench_matmul(repeats: int, torch: ModuleType | None) -> dict[str, bench.Stats]:
    g = tt.Generator(0)
    a, b = tt.randn(1024, 1024, generator=g), tt.randn(1024, 1024, generator=g)
    fns: dict[str, Callable[[], object]] = {
        "tinytorch": lambda: a @ b,
        "numpy": lambda: np.matmul(a.data, b.data),
    }
    times = bench.compare(fns, repeat=repeats)
    a64, b64 = a.double(), b.double()
    times["tinytorch float64"] = bench.measure(lambda: a64 @ b64, repeat=repeats)
    if torch is not None:
        # Timed on its own: PyTorch's OpenMP threads spin on after each call and would slow
        # whichever contender ran next.
        ta, tb = torch.from_numpy(a.data), torch.from_numpy(b.data)
        times["torch"] = bench.measure(lambda: ta @ tb, repeat=repeats)
    return times


def bench_small_add(repeats: int, torch: ModuleType | None) -> dict[str, bench.Stats]:
    g = tt.Generator(0)
    a, b = tt.randn(16, generator=g), tt.randn(16, generator=g)
    x, y = a.data, b.data
    fns: dict[str, Callable[[], object]] = {"tinytorch": lambda: a + b, "numpy": lambda: x + y}
    times = bench.compare(fns, repeat=repeats, number=20_000)
    if torch is not None:
        ta, tb = torch.from_numpy(x), torch.from_numpy(y)
        times["torch"] = bench.measure(lambda: ta + tb, repeat=repeats, number=20_000)
    return times


def bench_views(repeats: int) -> dict[str, bench.Stats]:
    t = tt.randn(1024, 1024, generator=tt.Generator(0))
    fns: dict[str, Callable[[], object]] = {
        "transpose (view)": lambda: t.T,
        "reshape (view)": lambda: t.reshape(-1),
        "transpose + copy": lambda: np.ascontiguousarray(t.T.data),
        "float64 copy": lambda: t.double(),
    }
    return bench.compare(fns, repeat=repeats, number=20)


def main() -> None:
    args = bench.parse(bench.parser(__doc__, repeats=15))
    repeats = args.repeats
    torch = bench.optional_torch()
    print(bench.environment())
    print()

    mm = bench_matmul(repeats, torch)
    flop = 2 * 1024**3
    rows = [
        (
            name,
            bench.format_time(s, "ms", 2),
            bench.format_time(s.iqr, "ms", 2),
            f"{flop / s.median / 1e9:.1f}",
            bench.format_ratio(s, mm["numpy"], 3),
        )
        for name, s in mm.items()
    ]
    header = ("1024x1024 matmul (float32)", "ms", "IQR", "GFLOP/s", "/ numpy")
    print(bench.table(f"matmul (median of {repeats} runs)", header, rows))
    print()

    add = bench_small_add(repeats, torch)
    rows = [
        (
            name,
            bench.format_time(s, "us", 3),
            bench.format_ratio(s, add["numpy"]),
            bench.format_ratio(s, add.get("torch")),
        )
        for name, s in add.items()
    ]
    header = ("add, 2 x 16 float32", "us / op", "/ numpy", "/ torch")
    print(bench.table(f"per-op overhead (median of {repeats} runs)", header, rows))
    overhead = (add["tinytorch"].median - add["numpy"].median) * 1e6
    print(f"  Tensor wrapper overhead: {overhead:.2f} us per op")
    print()

    views = bench_views(repeats)
    rows = [(name, bench.format_time(s, "us", 1)) for name, s in views.items()]
    header = ("1024x1024 float32", "us")
    print(bench.table(f"views vs copies (median of {repeats} runs)", header, rows))
    t = tt.zeros(1024, 1024)
    print(
        f"  memory: float32 {t.data.nbytes / 2**20:.0f} MiB, "
        f"float64 {t.double().data.nbytes / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()
