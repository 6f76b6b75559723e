"""What backward costs: time against the forward, per-node engine overhead, memory of the graph.

Run: ``python -m tools bench autograd`` (or this file directly: [--threads N] [--quick]). BLAS
and PyTorch run on one thread unless ``--threads`` says otherwise, so that the numbers measure
the work, not the thread pool. Where PyTorch is importable it runs the same MLP step in torch
for comparison.
"""

from __future__ import annotations

import gc
import itertools
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import tinytorch.autograd  # noqa: F401  (registers the engine)
import tinytorch.tensor as tt

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench

STEPS = 300


def median_times(forward: Callable[[], Any], steps: int) -> tuple[float, float]:
    """Median seconds of ``forward()`` and of ``.backward()`` on its result, over ``steps``
    (no warm-up: the first steps are part of what a training run pays)."""

    def step(lap: bench.Lap) -> None:
        out = forward()
        lap("forward")
        out.backward()
        lap("backward")

    laps = bench.measure_laps(step, repeat=steps, warmup=0)
    return laps["forward"].median, laps["backward"].median


def mlp_params(sizes: tuple[int, ...], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        params.append((rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in)).astype(np.float32))
        params.append(np.zeros(fan_out, np.float32))
    return params


def mlp_loss(x: Any, y: Any, params: list[Any], relu: Callable[[Any], Any]) -> Any:
    h = x
    layers = len(params) // 2
    for k in range(layers):
        h = h @ params[2 * k].T + params[2 * k + 1]
        if k < layers - 1:
            h = relu(h)
    return ((h - y) ** 2).mean()


def bench_mlp(sizes: tuple[int, ...], batch: int, steps: int) -> dict[str, tuple[float, float]]:
    """(forward, backward) median seconds of one training step, tinytorch and torch."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.standard_normal((batch, sizes[-1])).astype(np.float32)
    params = [tt.Tensor(p, requires_grad=True) for p in mlp_params(sizes)]
    tx, ty = tt.Tensor(x), tt.Tensor(y)

    def forward() -> tt.Tensor:
        for p in params:
            p.grad = None
        return mlp_loss(tx, ty, params, lambda h: h.clip(min=0.0))  # type: ignore[no-any-return]

    result = {"tinytorch": median_times(forward, steps)}
    torch = bench.optional_torch()
    if torch is None:
        return result
    tparams = [torch.tensor(p, requires_grad=True) for p in mlp_params(sizes)]
    qx, qy = torch.tensor(x), torch.tensor(y)

    def torch_forward() -> Any:
        for p in tparams:
            p.grad = None
        return mlp_loss(qx, qy, tparams, torch.relu)

    result["torch"] = median_times(torch_forward, steps)
    return result


def bench_chain(length: int, repeats: int = 5) -> tuple[float, float]:
    """Per-op seconds of forward and backward through a chain of cheap ops (0-d neg): the
    overhead the engine adds to each node, with almost no array work."""
    x = tt.Tensor(np.ones((), np.float32), requires_grad=True)

    def forward() -> tt.Tensor:
        x.grad = None
        y = x
        for _ in range(length):
            y = -y
        return y

    fwd, bwd = median_times(forward, repeats)
    return fwd / length, bwd / length


def bench_input_gradient(batch: int = 64, steps: int = STEPS) -> tuple[float, float]:
    """Median backward seconds of the 784-128-10 MLP when the input batch does not / does
    require grad: rules skip the gradient of an input that needs none (dX of the first matmul,
    a product as large as dW's)."""
    rng = np.random.default_rng(1)
    params = [tt.Tensor(p, requires_grad=True) for p in mlp_params((784, 128, 10))]
    y = tt.Tensor(rng.standard_normal((batch, 10)).astype(np.float32))
    times = []
    for needs_grad in (False, True):
        x = tt.Tensor(
            rng.standard_normal((batch, 784)).astype(np.float32), requires_grad=needs_grad
        )

        def forward(x: tt.Tensor = x) -> tt.Tensor:
            x.grad = None
            for p in params:
                p.grad = None
            return mlp_loss(x, y, params, lambda h: h.clip(min=0.0))  # type: ignore[no-any-return]

        times.append(median_times(forward, steps)[1])
    return times[0], times[1]


def graph_memory(sizes: tuple[int, ...], batch: int) -> dict[str, float]:
    """Bytes a kept loss holds on to after backward, freed (default) or retained graph."""
    rng = np.random.default_rng(1)
    x = tt.Tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32))
    y = tt.Tensor(rng.standard_normal((batch, sizes[-1])).astype(np.float32))
    params = [tt.Tensor(p, requires_grad=True) for p in mlp_params(sizes)]
    result: dict[str, float] = {}
    for retain in (False, True):
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        loss = mlp_loss(x, y, params, lambda h: h.clip(min=0.0))
        graph_bytes = tracemalloc.get_traced_memory()[0] - before
        loss.backward(retain_graph=retain)
        for p in params:
            p.grad = None
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        result["graph"] = graph_bytes
        result["retained" if retain else "freed"] = kept
        del loss
    return result


def main() -> None:
    parser = bench.parser(__doc__, threads=1)
    args = bench.parse(parser)
    steps, chain_repeats = (30, 2) if args.quick else (STEPS, 5)
    # PyTorch is not imported yet, and is not until the MLP comparison: the chain comes first.
    print(bench.environment(torch=False))
    print()
    # First, before torch is imported: a full garbage collection walks every live object, and
    # the 40,000 objects a 10,000-op graph allocates trigger several.
    fwd, bwd = bench_chain(10_000, chain_repeats)
    print(f"chain of 10,000 ops: forward {fwd * 1e6:.2f} us/op, backward {bwd * 1e6:.2f} us/node")
    print()
    rows = []
    for sizes, batch in (((8, 16, 1), 4), ((784, 128, 10), 64)):
        for name, (fwd, bwd) in bench_mlp(sizes, batch, steps).items():
            rows.append(
                (
                    f"{name} {'-'.join(map(str, sizes))}",
                    str(batch),
                    f"{bench.format_time(fwd, 'us', 0)} us",
                    f"{bench.format_time(bwd, 'us', 0)} us",
                    f"{bwd / fwd:.2f}",
                )
            )
    header = ("MLP step, float32", "batch", "forward", "backward", "backward / forward")
    title = f"medians of {steps} steps; {bench.describe_torch(bench.optional_torch())}"
    print(bench.table(title, header, rows, markdown=True))
    skip, full = bench_input_gradient(steps=steps)
    print(
        f"MLP 784-128-10, batch 64: backward {skip * 1e6:.0f} us with the input batch a "
        f"constant, {full * 1e6:.0f} us when it requires grad too"
    )
    mem = graph_memory((784, 128, 10), 64)
    print(
        f"MLP 784-128-10, batch 64: the graph holds {mem['graph'] / 1024:.0f} KiB; a kept loss "
        f"still holds {mem['freed'] / 1024:.1f} KiB after backward() and "
        f"{mem['retained'] / 1024:.0f} KiB after backward(retain_graph=True)"
    )


if __name__ == "__main__":
    main()
