"""What backward costs: time against the forward, per-node engine overhead, memory of the graph.

Run: ``python -m tools bench autograd`` (single-threaded BLAS, so that the numbers measure the
work, not the thread pool). Where PyTorch is importable it runs
the same MLP step in torch (one thread) for comparison.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import gc
import itertools
import platform
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

import tinytorch.autograd  # noqa: F401  (registers the engine)
import tinytorch.tensor as tt

STEPS = 300


def median_times(forward: Callable[[], Any], steps: int) -> tuple[float, float]:
    """Median seconds of ``forward()`` and of ``.backward()`` on its result, over ``steps``.

    Medians, not means: other processes on a shared machine add long, rare delays.
    """
    forward_times, backward_times = [], []
    for _ in range(steps):
        start = time.perf_counter()
        out = forward()
        middle = time.perf_counter()
        out.backward()
        backward_times.append(time.perf_counter() - middle)
        forward_times.append(middle - start)
    return float(np.median(forward_times)), float(np.median(backward_times))


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
    try:
        import torch  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return result
    torch.set_num_threads(1)
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
    print(f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs, ", end="")
    print(f"python {platform.python_version()}, numpy {np.__version__}, 1 BLAS thread")
    print()
    # First, before torch is imported: a full garbage collection walks every live object, and
    # the 40,000 objects a 10,000-op graph allocates trigger several.
    fwd, bwd = bench_chain(10_000)
    print(f"chain of 10,000 ops: forward {fwd * 1e6:.2f} us/op, backward {bwd * 1e6:.2f} us/node")
    print()
    print("| MLP step, float32 | batch | forward | backward | backward / forward |")
    print("|---|---|---|---|---|")
    for sizes, batch in (((8, 16, 1), 4), ((784, 128, 10), 64)):
        for name, (fwd, bwd) in bench_mlp(sizes, batch, STEPS).items():
            print(
                f"| {name} {'-'.join(map(str, sizes))} | {batch} | {fwd * 1e6:.0f} us "
                f"| {bwd * 1e6:.0f} us | {bwd / fwd:.2f} |"
            )
    skip, full = bench_input_gradient()
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
