"""Milestone 1957: Rosenblatt's perceptron learns a line that separates two classes.

Frank Rosenblatt's perceptron (Cornell Aeronautical Laboratory, 1957) is a single linear unit
followed by a hard threshold. It learns with no gradients and no loss function: for each example
it gets wrong it adds the input to its weights (target 1, said 0) or subtracts it (target 0,
said 1). On linearly separable data this provably stops after finitely many mistakes (Novikoff,
1962). Here the unit is a TinyTorch ``Linear(2, 1)`` whose parameters are updated by that rule,
with gradient tracking switched off: modules 01-03 only.

Run: ``python -m tools run-milestone 1957_perceptron`` (or ``python main.py`` in an environment
holding the pinned packages). Exits non-zero unless training reaches 100% accuracy.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from tinytorch.layers import Linear
from tinytorch.tensor import Generator, Tensor, rand, randperm

SEED = 1957


def make_data(n: int, margin: float, generator: Generator) -> tuple[Tensor, Tensor]:
    """``n`` points in the square [-1, 1]^2, labelled 1 or 0 by the side of a random line they
    fall on, keeping only those at least ``margin`` from it (so the classes are separable with a
    gap, and the perceptron's convergence is guaranteed)."""
    angle = 2 * math.pi * float(rand(1, generator=generator).item())
    normal = Tensor([[math.cos(angle)], [math.sin(angle)]])
    offset = 0.4 * float(rand(1, generator=generator).item()) - 0.2
    # Draw more than needed: the points inside the margin band are dropped.
    candidates = rand(4 * n, 2, generator=generator) * 2.0 - 1.0
    distance = (candidates @ normal).reshape(-1) + offset
    kept = (abs(distance) >= margin).numpy()
    points, sides = candidates[kept][:n], distance[kept][:n]
    if len(points) < n:
        raise RuntimeError(f"only {len(points)} of {n} points lie outside the margin {margin}")
    return points, (sides > 0).float()


def step(z: Tensor) -> Tensor:
    """Rosenblatt's threshold unit: 1 where z >= 0, else 0."""
    return (z >= 0).float()


def predict(unit: Linear, x: Tensor) -> Tensor:
    z: Tensor = unit(x)
    return step(z).reshape(-1)


def accuracy(unit: Linear, x: Tensor, y: Tensor) -> float:
    return float((predict(unit, x) == y).numpy().mean())


def train(
    unit: Linear, x: Tensor, y: Tensor, lr: float, max_epochs: int, generator: Generator
) -> tuple[int | None, int]:
    """The perceptron learning rule; returns (the epoch that made no mistake, or None if
    ``max_epochs`` all made some; the total number of updates)."""
    if unit.bias is None:
        raise ValueError("the perceptron needs a unit with a bias (its threshold)")
    weight: Tensor = unit.weight
    bias: Tensor = unit.bias
    updates = 0
    for epoch in range(1, max_epochs + 1):
        mistakes = 0
        # One example at a time, in a fresh random order: the rule is online by definition
        # (each update changes the next prediction), so this loop is the algorithm itself.
        for i in randperm(len(x), generator=generator).tolist():
            xi = x[i]
            error = y[i] - step(unit(xi))  # +1, 0 or -1
            if error.item() != 0:
                weight += lr * error * xi
                bias += lr * error
                mistakes += 1
        updates += mistakes
        if mistakes == 0:
            return epoch, updates
    return None, updates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI run (the full run is as short)")
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--margin", type=float, default=0.05)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    g = Generator(args.seed)
    x, y = make_data(args.points, args.margin, g)
    # The learning rule needs no gradients: say so, and in-place updates are allowed.
    unit = Linear(2, 1, generator=g).requires_grad_(False)

    print("1957 perceptron (Rosenblatt): one linear unit, a step, the perceptron learning rule")
    print(
        f"data: {len(x)} points in [-1, 1]^2, {int(y.sum().item())} of class 1, margin >= "
        f"{args.margin}, seed {args.seed}"
    )
    before = accuracy(unit, x, y)
    print(f"accuracy before training: {before:.1%}")

    epochs, updates = train(unit, x, y, lr=1.0, max_epochs=args.epochs, generator=g)
    after = accuracy(unit, x, y)
    w = unit.weight.detach().numpy().reshape(-1)
    b = float(unit.bias.item()) if unit.bias is not None else 0.0
    if epochs is None:
        print(f"did not converge in {args.epochs} epochs ({updates} weight updates)")
    else:
        print(f"converged after {epochs} epochs ({updates} weight updates)")
    print(f"learned boundary: {w[0]:+.3f} * x1 {w[1]:+.3f} * x2 {b:+.3f} = 0")
    print(f"accuracy after training: {after:.1%}")
    print(f"wall time: {time.perf_counter() - start:.2f} s")
    if after < 1.0:
        print(f"FAILED: expected 100% accuracy on separable data, got {after:.1%}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
