"""The cost of one optimizer step, TinyTorch against torch.optim, on an MLP's parameters.

Run:  python -m tools bench optimizers   (or this file directly: [--repeats N] [--threads N])

The parameters are those of a 784-256-256-10 MLP (269,322 float32 numbers in six arrays), with
random gradients. Each optimizer's step is timed as a median over many steps, TinyTorch and
PyTorch (where installed) taking turns in blocks. Also printed: the bytes of state each optimizer
keeps per parameter, and the cost of a gradient that arrives transposed (Fortran-ordered, as the
gradient of ``x @ W.T`` does), which the step reorders first.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop
from tinytorch.tensor import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench

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


def main() -> None:
    args = bench.parse(bench.parser(__doc__, repeats=200, quick_repeats=20))
    repeats = args.repeats
    torch = bench.optional_torch()
    print(bench.environment())
    n = sum(int(np.prod(s)) for s in SHAPES)
    rows = []
    for name, cls, kwargs in CONFIGS:
        ours = params()
        opt = cls(ours, **kwargs)
        fns: dict[str, Callable[[], object]] = {"tinytorch": opt.step}
        if torch is not None:
            theirs = [torch.tensor(p.data, requires_grad=True) for p in ours]
            for t, p in zip(theirs, ours, strict=True):
                t.grad = torch.tensor(p.grad.data if p.grad is not None else 0)
            fns["pytorch"] = getattr(torch.optim, name)(theirs, **kwargs).step
        times = bench.compare(fns, repeat=repeats, block=min(10, repeats))
        state = sum(
            v.nbytes for st in opt.state.values() for v in st.values() if hasattr(v, "nbytes")
        )
        rows.append(
            (
                f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})",
                bench.format_time(times["tinytorch"], "ms", 3),
                bench.format_time(times.get("pytorch"), "ms", 3),
                bench.format_ratio(times["tinytorch"], times.get("pytorch")),
                f"{state / n:.0f}",
            )
        )
    title = f"one step over {n:,} float32 parameters in {len(SHAPES)} arrays (median ms)"
    header = ("optimizer", "tinytorch", "pytorch", "ratio", "state B/param")
    print(bench.table(title, header, rows))
    transposed = AdamW(params("F"))
    ordered = AdamW(params("C"))
    times = bench.compare(
        {"C": ordered.step, "F": transposed.step}, repeat=repeats, block=min(10, repeats)
    )
    c, f = (bench.format_time(times[k], "ms", 3) for k in "CF")
    print(f"  AdamW with C-ordered gradients {c} ms, transposed {f} ms")


if __name__ == "__main__":
    main()
