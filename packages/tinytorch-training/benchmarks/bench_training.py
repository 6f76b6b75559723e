"""One training step of an MLP, TinyTorch against PyTorch on the same CPU.

Run:  python packages/tinytorch-training/benchmarks/bench_training.py [--steps N] [--quick]

The step is what every epoch of the MNIST milestone repeats: forward through a 784-256-256-10
ReLU MLP on a batch of 128, cross-entropy, backward, AdamW update, zero the gradients. Both
frameworks start from the same weights and see the same batch; the first losses are checked to
agree, so the two sides do the same work. The reported time is the median over many steps after
a warm-up, with the two frameworks run in alternating blocks so that load from other processes
falls on both. PyTorch keeps its default thread count; the goal is at most 2x its time.

A breakdown (forward+loss / backward / optimizer step, medians) shows where TinyTorch's time
goes. Run with OPENBLAS_NUM_THREADS=1 (and --torch-threads 1) to compare single-threaded.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.activations import ReLU
from tinytorch.layers import Linear, Sequential
from tinytorch.losses import CrossEntropyLoss
from tinytorch.optimizers import AdamW
from tinytorch.tensor import Generator, Tensor

try:
    import torch
except ImportError:  # PyTorch is a point of comparison, never a dependency
    torch = None

SIZES = (784, 256, 256, 10)
BATCH = 128


def tinytorch_step() -> tuple[Callable[[], float], Callable[[], dict[str, float]], Any]:
    g = Generator(0)
    layers: list[Any] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(SIZES)):
        layers.append(Linear(n_in, n_out, generator=g))
        if i < len(SIZES) - 2:
            layers.append(ReLU())
    model = Sequential(*layers)
    opt = AdamW(model.parameters(), lr=1e-3)
    loss_fn = CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((BATCH, SIZES[0])).astype(np.float32))
    y = Tensor(rng.integers(0, SIZES[-1], BATCH))

    def step() -> float:
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return float(loss.item())

    def parts() -> dict[str, float]:
        t0 = time.perf_counter()
        loss = loss_fn(model(x), y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad()
        t3 = time.perf_counter()
        return {"forward+loss": t1 - t0, "backward": t2 - t1, "optimizer": t3 - t2}

    return step, parts, (model, x, y)


def torch_step(
    model: Any, x: Tensor, y: Tensor
) -> tuple[Callable[[], float], Callable[[], dict[str, float]]]:
    assert torch is not None
    layers: list[Any] = []
    for module in model:
        if isinstance(module, Linear):
            assert module.bias is not None
            linear = torch.nn.Linear(module.in_features, module.out_features)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(module.weight.data.copy()))
                linear.bias.copy_(torch.from_numpy(module.bias.data.copy()))
            layers.append(linear)
        else:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    tx, ty = torch.from_numpy(x.data.copy()), torch.from_numpy(y.data.copy())

    def step() -> float:
        loss = torch.nn.functional.cross_entropy(net(tx), ty)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return float(loss.item())

    def parts() -> dict[str, float]:
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(net(tx), ty)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad()
        t3 = time.perf_counter()
        return {"forward+loss": t1 - t0, "backward": t2 - t1, "optimizer": t3 - t2}

    return step, parts


def interleaved(fns: dict[str, Callable[[], Any]], steps: int, block: int) -> dict[str, float]:
    """Median seconds per call of each fn, run in alternating blocks of ``block`` calls."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    done = 0
    while done < steps:
        for name, fn in fns.items():
            for _ in range(block):
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
        done += block
    return {name: statistics.median(s) for name, s in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="timed steps per framework")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a few steps: a smoke test")
    parser.add_argument("--torch-threads", type=int, default=None, help="default: PyTorch's")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    steps, warmup = (20, 3) if args.quick else (args.steps, args.warmup)

    step, parts, (model, x, y) = tinytorch_step()
    fns: dict[str, Callable[[], Any]] = {"tinytorch": step}
    part_fns = {"tinytorch": parts}
    if torch is not None:
        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
        reference, reference_parts = torch_step(model, x, y)  # same weights, same batch
        fns["pytorch"] = reference
        part_fns["pytorch"] = reference_parts
    first_losses = {name: fn() for name, fn in fns.items()}
    if max(first_losses.values()) - min(first_losses.values()) > 1e-4:
        raise SystemExit(f"the two steps disagree: first losses {first_losses}")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = interleaved(fns, steps, block=max(1, min(20, steps // 5)))
    splits = {}
    for name, fn in part_fns.items():
        samples = [fn() for _ in range(max(10, steps // 3))]
        splits[name] = {k: statistics.median(s[k] for s in samples) for k in samples[0]}

    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    print(f"MLP {'-'.join(map(str, SIZES))} (ReLU), batch {BATCH}, float32, AdamW; ", end="")
    print(f"median of {steps} steps after {warmup} warm-up")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, numpy {np.__version__}", end="")
    print(f", BLAS threads {threads or 'default'}", end="")
    if torch is not None:
        print(f", torch {torch.__version__} ({torch.get_num_threads()} threads)")
    else:
        print(", torch not installed")
    print(f"first-step loss: {first_losses}")
    for name, seconds in times.items():
        print(f"  {name:<10} {seconds * 1e3:8.3f} ms/step")
    if "pytorch" in times:
        ratio = times["tinytorch"] / times["pytorch"]
        print(f"  ratio      {ratio:8.2f}x PyTorch (goal: <= 2x)")
    print("breakdown (medians, ms):  " + "  ".join(f"{n:>10}" for n in splits))
    for part in splits["tinytorch"]:
        cells = "  ".join(f"{splits[n][part] * 1e3:10.3f}" for n in splits)
        print(f"  {part:<22} {cells}")
    if args.json:
        with open(args.json, "w") as f:
            results = {
                "ms_per_step": {k: v * 1e3 for k, v in times.items()},
                "breakdown_ms": {n: {k: v * 1e3 for k, v in s.items()} for n, s in splits.items()},
            }
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
