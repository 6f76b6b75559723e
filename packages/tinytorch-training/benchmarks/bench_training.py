"""One training step of an MLP, TinyTorch against PyTorch on the same CPU.

Run:  python -m tools bench training   (or this file directly: [--steps N] [--quick] [--threads N])

The step is what every epoch of the MNIST milestone repeats: forward through a 784-256-256-10
ReLU MLP on a batch of 128, cross-entropy, backward, AdamW update, zero the gradients. Both
frameworks start from the same weights and see the same batch; the first losses are checked to
agree, so the two sides do the same work. The reported time is the median over many steps after
a warm-up, with the two frameworks run in alternating blocks so that load from other processes
falls on both. Both libraries keep their default thread counts; the goal is at most 2x
PyTorch's time.

A breakdown (forward+loss / backward / optimizer step, medians) shows where TinyTorch's time
goes. Run with --threads 1 to compare single-threaded.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.activations import ReLU
from tinytorch.layers import Linear, Sequential
from tinytorch.losses import CrossEntropyLoss
from tinytorch.optimizers import AdamW
from tinytorch.tensor import Generator, Tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench

SIZES = (784, 256, 256, 10)
BATCH = 128

#: One training step; ``lap`` marks the end of each of its phases (see bench.measure_laps).
Step = Callable[[bench.Lap], float]


def tinytorch_step() -> tuple[Step, Any]:
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

    def step(lap: bench.Lap = bench.no_lap) -> float:
        loss = loss_fn(model(x), y)
        lap("forward+loss")
        loss.backward()
        lap("backward")
        opt.step()
        opt.zero_grad()
        lap("optimizer")
        return float(loss.item())

    return step, (model, x, y)


def torch_step(torch: Any, model: Any, x: Tensor, y: Tensor) -> Step:
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

    def step(lap: bench.Lap = bench.no_lap) -> float:
        loss = torch.nn.functional.cross_entropy(net(tx), ty)
        lap("forward+loss")
        loss.backward()
        lap("backward")
        opt.step()
        opt.zero_grad()
        lap("optimizer")
        return float(loss.item())

    return step


def main() -> None:
    parser = bench.parser(__doc__)
    parser.add_argument("--steps", type=int, default=300, help="timed steps per framework")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", help="also write the results to this file")
    args = bench.parse(parser)
    steps, warmup = (20, 3) if args.quick else (args.steps, args.warmup)
    torch = bench.optional_torch()

    step, (model, x, y) = tinytorch_step()
    fns: dict[str, Step] = {"tinytorch": step}
    if torch is not None:
        fns["pytorch"] = torch_step(torch, model, x, y)  # same weights, same batch
    first_losses = {name: fn(bench.no_lap) for name, fn in fns.items()}
    if max(first_losses.values()) - min(first_losses.values()) > 1e-4:
        raise SystemExit(f"the two steps disagree: first losses {first_losses}")
    times = bench.compare(
        {name: lambda fn=fn: fn(bench.no_lap) for name, fn in fns.items()},
        repeat=steps,
        warmup=warmup,
        block=max(1, min(20, steps // 5)),
    )
    splits = {
        name: bench.measure_laps(fn, repeat=max(10, steps // 3), warmup=0)
        for name, fn in fns.items()
    }

    print(bench.environment())
    print(f"MLP {'-'.join(map(str, SIZES))} (ReLU), batch {BATCH}, float32, AdamW")
    print(f"first-step loss: {first_losses}")
    title = f"one step (median of {steps} steps after {warmup} warm-up)"
    reference = "pytorch" if "pytorch" in times else None
    print(bench.ratio_table(title, times, reference=reference, unit="ms", digits=3))
    if reference is not None:
        ratio = bench.format_ratio(times["tinytorch"], times["pytorch"])
        print(f"  ratio {ratio}x PyTorch (goal: <= 2x)")
    rows = [
        (part, *(bench.format_time(splits[n][part], "ms", 3) for n in splits))
        for part in splits["tinytorch"]
    ]
    print(bench.table("breakdown (medians, ms)", ("", *splits), rows))
    if args.json:
        with open(args.json, "w") as f:
            results = {
                "ms_per_step": {k: v.median * 1e3 for k, v in times.items()},
                "breakdown_ms": {
                    n: {k: v.median * 1e3 for k, v in s.items()} for n, s in splits.items()
                },
            }
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
