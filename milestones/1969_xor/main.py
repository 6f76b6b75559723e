"""Milestone 1969: XOR, the problem a single layer cannot solve and backprop can.

Minsky and Papert's *Perceptrons* (MIT Press, 1969) proved that a single layer of threshold
units computes only linearly separable functions, and XOR (1 when exactly one input is 1) is
not one: no line puts (0, 1) and (1, 0) on one side and (0, 0) and (1, 1) on the other, so a
linear unit with a step or a sigmoid gets at most 3 of the 4 points right. Adding one hidden
layer, trained end to end by backpropagation (Rumelhart, Hinton and Williams, 1986), solves it.

This script shows both, with modules 01-07:

1. a single-layer perceptron (``Linear(2, 1)`` and a sigmoid, trained by gradient descent on
   binary cross-entropy) never exceeds 75% accuracy, over several seeds and every epoch; an
   exhaustive search over a grid of lines finds no better one either;
2. a 2-layer MLP (``Linear(2, 8)``, tanh, ``Linear(8, 1)``) trained with the ``Trainer`` and
   Adam reaches 100% for each of 10 seeds.

Run: ``python -m tools run-milestone 1969_xor`` (or ``python main.py`` in an environment holding
the pinned packages). Exits non-zero unless both claims hold.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from typing import Any

import numpy as np

from tinytorch.activations import Sigmoid, Tanh
from tinytorch.layers import Linear, Sequential
from tinytorch.losses import BCELoss, BCEWithLogitsLoss
from tinytorch.optimizers import SGD, Adam
from tinytorch.tensor import Generator, Tensor
from tinytorch.training import Callback, Trainer, binary_accuracy

X = Tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = Tensor([[0.0], [1.0], [1.0], [0.0]])
SEEDS = range(1969, 1979)


class BestAccuracy(Callback):
    """Tracks the best validation accuracy of any epoch, and the first epoch that reached 100%."""

    def __init__(self) -> None:
        self.best = 0.0
        self.solved_at: int | None = None

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        acc = float(logs["val_accuracy"])
        self.best = max(self.best, acc)
        if acc == 1.0 and self.solved_at is None:
            self.solved_at = int(logs["epoch"])


def single_layer(seed: int, epochs: int) -> float:
    """Best accuracy a linear unit + sigmoid reaches on XOR in ``epochs`` of gradient descent."""
    model = Sequential(Linear(2, 1, generator=Generator(seed)), Sigmoid())
    best = BestAccuracy()
    trainer = Trainer(
        model,
        SGD(model.parameters(), lr=1.0),
        BCELoss(),
        callbacks=[best],
        metrics={"accuracy": binary_accuracy},  # sigmoid outputs: threshold 0.5
    )
    trainer.fit([(X, Y)], epochs=epochs, val_batches=[(X, Y)])
    return best.best


def best_line_on_a_grid(steps: int) -> float:
    """The best accuracy of any threshold unit ``w1*x1 + w2*x2 + b > 0`` over a grid of
    weights and biases in [-2, 2]: the argument of *Perceptrons*, checked by brute force."""
    values = np.linspace(-2.0, 2.0, steps)
    w1, w2, b = (a.reshape(-1, 1) for a in np.meshgrid(values, values, values))
    x, y = X.numpy(), Y.numpy().reshape(-1)
    predictions = (w1 * x[:, 0] + w2 * x[:, 1] + b) > 0  # (lines, 4 points)
    return float(np.max(np.mean(predictions == (y > 0.5), axis=1)))


def two_layer(seed: int, epochs: int) -> tuple[float, float, int | None]:
    """(accuracy, loss, first epoch at 100%) of a 2-8-1 tanh MLP trained by backprop."""
    g = Generator(seed)
    model = Sequential(Linear(2, 8, generator=g), Tanh(), Linear(8, 1, generator=g))
    best = BestAccuracy()
    trainer = Trainer(
        model,
        Adam(model.parameters(), lr=0.05),
        BCEWithLogitsLoss(),
        callbacks=[best],
        metrics={"accuracy": lambda out, y: binary_accuracy(out, y, threshold=0.0)},  # logits
    )
    trainer.fit([(X, Y)], epochs=epochs, val_batches=[(X, Y)])
    final = trainer.evaluate([(X, Y)])
    return final["accuracy"], final["loss"], best.solved_at


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI run: fewer epochs, coarser grid")
    args = parser.parse_args(argv)
    epochs = 150 if args.quick else 400
    start = time.perf_counter()
    failures: list[str] = []

    print("1969 XOR (Minsky & Papert): one layer cannot, two layers with backprop can")
    print("data: (0,0)->0  (0,1)->1  (1,0)->1  (1,1)->0\n")

    print("1. single-layer perceptron: Linear(2, 1) + sigmoid, SGD on binary cross-entropy")
    single = {seed: single_layer(seed, epochs) for seed in itertools.islice(SEEDS, 5)}
    for seed, acc in single.items():
        print(f"   seed {seed}: best accuracy over {epochs} epochs {acc:.0%}")
    grid = best_line_on_a_grid(21 if args.quick else 41)
    print(f"   best of every line on a grid of weights and biases in [-2, 2]: {grid:.0%}")
    if max(single.values()) > 0.75 or grid > 0.75:
        failures.append("a single layer exceeded 75% on XOR")

    print("\n2. two-layer MLP: Linear(2, 8) + tanh + Linear(8, 1), Adam, backprop, Trainer")
    print(f"   {'seed':>6}  {'accuracy':>8}  {'loss':>8}  {'100% at epoch':>13}")
    for seed in SEEDS:
        acc, loss, solved = two_layer(seed, epochs)
        at = "-" if solved is None else str(solved)
        print(f"   {seed:>6}  {acc:>8.0%}  {loss:>8.4f}  {at:>13}")
        if acc < 1.0:
            failures.append(f"the MLP with seed {seed} reached only {acc:.0%}")

    print(f"\nwall time: {time.perf_counter() - start:.2f} s")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
