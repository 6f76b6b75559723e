"""Convolution speed against PyTorch on the CPU (where ``import torch`` works).

Run:  python packages/tinytorch-convolutions/benchmarks/bench_conv.py [--repeats N]

1. ``Conv2d`` forward + backward: batch 32, 3 -> 16 channels, 32x32 images, 3x3 kernel,
   padding 1, gradients for the input, the weight and the bias.
2. One training step of LeNet-5 (Conv 1->6 5x5, pool, Conv 6->16 5x5, pool, 400-120-84-10 with
   ReLU) on a batch of 64 images of 32x32: forward, cross-entropy, backward, SGD update.
3. One training step of the 1998 milestone's network on a batch of 32 digits of 8x8.

Both frameworks run the same weights and data; the goal is a time within 3x of PyTorch's.
On a machine shared with other work, multithreaded BLAS and OpenMP stall on each other: compare
single-threaded there, ``OPENBLAS_NUM_THREADS=1 python bench_conv.py --torch-threads 1``.
Timings are medians of several runs, the two frameworks interleaved so that load from other
processes hits both alike.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.activations import ReLU
from tinytorch.convolutions import Conv2d, Flatten, MaxPool2d
from tinytorch.layers import Linear, Module, Sequential
from tinytorch.losses import CrossEntropyLoss
from tinytorch.optimizers import SGD
from tinytorch.tensor import Generator, Tensor

try:
    import torch
except ImportError:  # PyTorch is a point of comparison, never a dependency
    torch = None


def median_ms(fns: dict[str, Callable[[], Any]], repeats: int, number: int) -> dict[str, float]:
    """Median milliseconds per call of each fn, the contenders interleaved round by round (and
    taking turns to go first) so that a noisy neighbour slows all of them alike."""
    for fn in fns.values():
        fn()  # warm up: first-call allocations, BLAS thread start
    samples: dict[str, list[float]] = {name: [] for name in fns}
    order = list(fns.items())
    for r in range(repeats):
        for name, fn in order[r % len(order) :] + order[: r % len(order)]:
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: 1e3 * statistics.median(s) for name, s in samples.items()}


def lenet5() -> Sequential:
    g = Generator(0)
    return Sequential(
        Conv2d(1, 6, 5, generator=g),
        ReLU(),
        MaxPool2d(2),
        Conv2d(6, 16, 5, generator=g),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(400, 120, generator=g),
        ReLU(),
        Linear(120, 84, generator=g),
        ReLU(),
        Linear(84, 10, generator=g),
    )


def digits_lenet() -> Sequential:
    g = Generator(0)
    return Sequential(
        Conv2d(1, 16, 3, padding=1, generator=g),
        ReLU(),
        MaxPool2d(2),
        Conv2d(16, 32, 3, padding=1, generator=g),
        ReLU(),
        MaxPool2d(2),
        Flatten(),
        Linear(128, 120, generator=g),
        ReLU(),
        Linear(120, 84, generator=g),
        ReLU(),
        Linear(84, 10, generator=g),
    )


def torch_copy(model: Sequential) -> Any:
    """The same architecture in PyTorch, holding the same weights."""
    layers: list[Any] = []
    for layer in model:
        if isinstance(layer, Conv2d):
            layers.append(
                torch.nn.Conv2d(
                    layer.in_channels,
                    layer.out_channels,
                    layer.kernel_size,
                    layer.stride,
                    layer.padding,
                )
            )
        elif isinstance(layer, MaxPool2d):
            layers.append(torch.nn.MaxPool2d(layer.kernel_size, layer.stride))
        elif isinstance(layer, Linear):
            layers.append(torch.nn.Linear(layer.in_features, layer.out_features))
        elif isinstance(layer, Flatten):
            layers.append(torch.nn.Flatten())
        else:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    state = {k: torch.from_numpy(v.data.copy()) for k, v in model.state_dict().items()}
    net.load_state_dict(state)
    return net


def bench_conv(repeats: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    x_data = rng.standard_normal((32, 3, 32, 32)).astype(np.float32)
    conv = Conv2d(3, 16, 3, padding=1, generator=Generator(0))
    x = Tensor(x_data, requires_grad=True)
    upstream = rng.standard_normal((32, 16, 32, 32)).astype(np.float32)

    def ours() -> None:
        x.grad = conv.weight.grad = None
        if conv.bias is not None:
            conv.bias.grad = None
        conv(x).backward(upstream)

    fns: dict[str, Callable[[], Any]] = {"tinytorch": ours}
    if torch is not None:
        t_conv = torch.nn.Conv2d(3, 16, 3, padding=1)
        tx = torch.tensor(x_data, requires_grad=True)
        t_up = torch.from_numpy(upstream)

        def theirs() -> None:
            tx.grad = None
            t_conv.zero_grad()
            t_conv(tx).backward(t_up)

        fns["torch"] = theirs
    return median_ms(fns, repeats, number=5)


def bench_step(model: Sequential, shape: tuple[int, ...], repeats: int) -> dict[str, float]:
    rng = np.random.default_rng(1)
    x_data = rng.standard_normal(shape).astype(np.float32)
    y_data = rng.integers(0, 10, size=shape[0]).astype(np.int64)
    t_model = torch_copy(model) if torch is not None else None
    x, y = Tensor(x_data), Tensor(y_data)
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn: Module = CrossEntropyLoss()

    def ours() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    fns: dict[str, Callable[[], Any]] = {"tinytorch": ours}
    if t_model is not None:
        t_opt = torch.optim.SGD(t_model.parameters(), lr=0.01, momentum=0.9)
        tx, ty = torch.from_numpy(x_data), torch.from_numpy(y_data)
        t_loss = torch.nn.CrossEntropyLoss()

        def theirs() -> None:
            t_opt.zero_grad()
            t_loss(t_model(tx), ty).backward()
            t_opt.step()

        fns["torch"] = theirs
    return median_ms(fns, repeats, number=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="runs per measurement")
    parser.add_argument("--torch-threads", type=int, default=None, help="torch.set_num_threads")
    args = parser.parse_args()
    if torch is not None and args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    where = f"{platform.processor() or platform.machine()}, numpy {np.__version__}"
    if torch is not None:
        where += f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    else:
        where += ", torch not installed"
    print(f"bench_conv ({where})")
    conv = bench_conv(args.repeats)
    lenet = bench_step(lenet5(), (64, 1, 32, 32), args.repeats)
    digits = bench_step(digits_lenet(), (32, 1, 8, 8), args.repeats)
    rows = [
        ("Conv2d 3->16, 32x32, 3x3 pad 1, batch 32: fwd+bwd", conv),
        ("LeNet-5 training step, batch 64 of 1x32x32", lenet),
        ("1998 milestone net step, batch 32 of 1x8x8", digits),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"  {'':<{width}}  {'tinytorch':>10}  {'torch':>10}  {'ratio':>6}")
    for name, times in rows:
        ours = times["tinytorch"]
        theirs = times.get("torch")
        if theirs is None:
            print(f"  {name:<{width}}  {ours:8.2f}ms  {'-':>10}  {'-':>6}")
        else:
            print(f"  {name:<{width}}  {ours:8.2f}ms  {theirs:8.2f}ms  {ours / theirs:5.2f}x")


if __name__ == "__main__":
    main()
