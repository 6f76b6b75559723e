"""Convolution speed against PyTorch on the CPU (where ``import torch`` works).

Run:  python -m tools bench convolutions   (or this file directly: [--repeats N] [--threads N])

1. ``Conv2d`` forward + backward: batch 32, 3 -> 16 channels, 32x32 images, 3x3 kernel,
   padding 1, gradients for the input, the weight and the bias.
2. One training step of LeNet-5 (Conv 1->6 5x5, pool, Conv 6->16 5x5, pool, 400-120-84-10 with
   ReLU) on a batch of 64 images of 32x32: forward, cross-entropy, backward, SGD update.
3. One training step of the 1998 milestone's network on a batch of 32 digits of 8x8.

Both frameworks run the same weights and data; the goal is a time within 3x of PyTorch's.
On a machine shared with other work, multithreaded BLAS and OpenMP stall on each other: compare
single-threaded there, with ``--threads 1``.
Timings are medians of several runs, the two frameworks interleaved so that load from other
processes hits both alike.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from tinytorch.activations import ReLU
from tinytorch.convolutions import Conv2d, Flatten, MaxPool2d
from tinytorch.layers import Linear, Module, Sequential
from tinytorch.losses import CrossEntropyLoss
from tinytorch.optimizers import SGD
from tinytorch.tensor import Generator, Tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench


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


def torch_copy(torch: ModuleType, model: Sequential) -> Any:
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


def bench_conv(repeats: int, torch: ModuleType | None) -> dict[str, bench.Stats]:
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
    return bench.compare(fns, repeat=repeats, number=5)


def bench_step(
    model: Sequential, shape: tuple[int, ...], repeats: int, torch: ModuleType | None
) -> dict[str, bench.Stats]:
    rng = np.random.default_rng(1)
    x_data = rng.standard_normal(shape).astype(np.float32)
    y_data = rng.integers(0, 10, size=shape[0]).astype(np.int64)
    t_model = torch_copy(torch, model) if torch is not None else None
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
    return bench.compare(fns, repeat=repeats, number=5)


def main() -> None:
    args = bench.parse(bench.parser(__doc__, repeats=15))
    repeats = args.repeats
    torch = bench.optional_torch()
    print(bench.environment())
    rows = []
    for name, times in (
        ("Conv2d 3->16, 32x32, 3x3 pad 1, batch 32: fwd+bwd", bench_conv(repeats, torch)),
        (
            "LeNet-5 training step, batch 64 of 1x32x32",
            bench_step(lenet5(), (64, 1, 32, 32), repeats, torch),
        ),
        (
            "1998 milestone net step, batch 32 of 1x8x8",
            bench_step(digits_lenet(), (32, 1, 8, 8), repeats, torch),
        ),
    ):
        ours, theirs = times["tinytorch"], times.get("torch")
        rows.append(
            (
                name,
                bench.format_time(ours, "ms", 2),
                bench.format_time(theirs, "ms", 2),
                bench.format_ratio(ours, theirs),
            )
        )
    title = f"median of {repeats} runs of 5 calls each"
    print(bench.table(title, ("", "tinytorch ms", "torch ms", "ratio"), rows))


if __name__ == "__main__":
    main()
