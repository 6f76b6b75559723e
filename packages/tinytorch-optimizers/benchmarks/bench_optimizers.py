"""The cost of one optimizer step, TinyTorch against torch.optim, on an MLP's parameters.

Run:  python packages/tinytorch-optimizers/benchmarks/bench_optimizers.py [--repeats N]

The parameters are those of a 784-256-256-10 MLP (269,322 float32 numbers in six arrays), with
random gradients. Each optimizer's step is timed as a median over many steps, TinyTorch and
PyTorch (where installed; default threads unless --torch-threads) taking turns in blocks. Also
printed: the bytes of state each optimizer keeps per parameter, and the cost of a gradient that
arrives transposed (Fortran-ordered, as the gradient of ``x @ W.T`` does), which the step
reorders first.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop
from tinytorch.tensor import Tensor

try:
    import torch
except ImportError:  # PyTorch is a point of comparison, never a dependency
    torch = None

SHAPES = [(256, 784), (256,), (256, 256), (256,), (10, 256), (10,)]
CONFIGS: list[tuple[str, type[Optimizer], dict[str, Any]]] = [
    ("SGD", SGD, {"lr": 0.01}),
    ("SGD", SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    ("Adam", Adam, {"lr": 1e-3}),
    ("AdamW", AdamW, {"lr": 1e-3}),
    ("RMSprop", RMSprop, {"lr": 1e-3, "momentum": 0.9}),
]


def params(order: str = "C") -> list[Tensor]:
    rng = np.random.default_rng(0)
    out = []
    for shape in SHAPES:
        p = Tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
        grad = rng.standard_normal(shape).astype(np.float32)
        p.grad = Tensor(np.asarray(grad, order=order))  # type: ignore[call-overload]
        out.append(p)
    return out


def median_ms(fns: dict[str, Callable[[], Any]], repeats: int, block: int = 10) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(max(1, repeats // block)):
        for name, fn in fns.items():
            for _ in range(block):
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) * 1e3 for name, s in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--torch-threads", type=int, default=None, help="default: PyTorch's")
    args = parser.parse_args()
    if torch is not None and args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    n = sum(int(np.prod(s)) for s in SHAPES)
    print(f"one step over {n:,} float32 parameters in {len(SHAPES)} arrays (median ms)")
    header = f"  {'optimizer':<42} {'tinytorch':>9}"
    print(header + (f" {'pytorch':>9} {'ratio':>6}" if torch is not None else ""))
    for name, cls, kwargs in CONFIGS:
        ours = params()
        opt = cls(ours, **kwargs)
        fns: dict[str, Callable[[], Any]] = {"tinytorch": opt.step}
        if torch is not None:
            theirs = [torch.tensor(p.data, requires_grad=True) for p in ours]
            for t, p in zip(theirs, ours, strict=True):
                t.grad = torch.tensor(p.grad.data if p.grad is not None else 0)
            fns["pytorch"] = getattr(torch.optim, name)(theirs, **kwargs).step
        times = median_ms(fns, args.repeats)
        state = sum(
            v.nbytes for st in opt.state.values() for v in st.values() if hasattr(v, "nbytes")
        )
        label = f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
        line = f"  {label:<42} {times['tinytorch']:9.3f}"
        if "pytorch" in times:
            line += f" {times['pytorch']:9.3f} {times['tinytorch'] / times['pytorch']:6.2f}"
        print(line + f"   state {state / n:.0f} B/param")
    transposed = AdamW(params("F"))
    ordered = AdamW(params("C"))
    times = median_ms({"C": ordered.step, "F": transposed.step}, args.repeats)
    print(f"  AdamW with C-ordered gradients {times['C']:.3f} ms, transposed {times['F']:.3f} ms")


if __name__ == "__main__":
    main()
