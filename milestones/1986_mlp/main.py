"""1986: a multilayer perceptron learns handwritten digits by backpropagation.

Rumelhart, Hinton & Williams (1986) showed that a hidden layer of sigmoid units, trained by
propagating the error gradient backwards and descending it with momentum, learns internal
representations no single-layer perceptron can. Here that network (64 -> 128 sigmoid -> 10)
learns the 1,797 UCI digits of 8x8 pixels that ship with tinytorch-dataloader, fed through a
shuffling DataLoader, and must classify at least 95% of the 364 held-out digits correctly.

Run:  python milestones/1986_mlp/main.py [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from tinytorch.activations import Sigmoid
from tinytorch.dataloader import DataLoader, tiny_digits
from tinytorch.layers import Linear, Sequential
from tinytorch.losses import CrossEntropyLoss
from tinytorch.optimizers import SGD
from tinytorch.tensor import Generator
from tinytorch.training import Trainer, accuracy

FULL_EPOCHS, FULL_BAR = 40, 0.95
QUICK_EPOCHS, QUICK_BAR = 5, 0.90
MIN_HIDDEN_CHANGE = 0.10


def build_model(generator: Generator) -> Sequential:
    return Sequential(
        Linear(64, 128, generator=generator),
        Sigmoid(),
        Linear(128, 10, generator=generator),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="1986: an MLP trained by backprop on digits")
    parser.add_argument("--quick", action="store_true", help="few epochs, a lower bar")
    parser.add_argument("--seed", type=int, default=0, help="seed of init and shuffling")
    args = parser.parse_args(argv)
    epochs, bar = (QUICK_EPOCHS, QUICK_BAR) if args.quick else (FULL_EPOCHS, FULL_BAR)

    start = time.perf_counter()
    generator = Generator(args.seed)
    train, test = tiny_digits("train", flatten=True), tiny_digits("test", flatten=True)
    loader = DataLoader(train, batch_size=32, shuffle=True, generator=generator)
    test_batches = DataLoader(test, batch_size=len(test))
    model = build_model(generator)
    trainer = Trainer(
        model,
        SGD(model.parameters(), lr=0.1, momentum=0.9),
        CrossEntropyLoss(),
        metrics={"accuracy": accuracy},
        progress=False,
    )
    print(f"1986 MLP: {len(train)} training digits, {len(test)} test digits, 8x8 pixels")
    print(f"model: {model}")
    hidden_layer = model[0]
    assert isinstance(hidden_layer, Linear)
    hidden_init = hidden_layer.weight.data.copy()
    before = trainer.evaluate(test_batches)["accuracy"]
    print(f"test accuracy before training: {before:.2%} (chance is 10%)")

    history = trainer.fit(loader, epochs=epochs, val_batches=test_batches)
    for record in history.epochs:
        if record["epoch"] % 5 == 0 or record["epoch"] in (1, epochs):
            print(
                f"  epoch {record['epoch']:3d}  train loss {record['train_loss']:.4f}  "
                f"test accuracy {record['val_accuracy']:.2%}"
            )
    final = history.epochs[-1]["val_accuracy"]
    wrong = round((1.0 - final) * len(test))
    # Backprop reaches the hidden layer: its weights moved from their random start.
    hidden = hidden_layer.weight.data
    moved = float(np.linalg.norm(hidden - hidden_init) / np.linalg.norm(hidden_init))
    seconds = time.perf_counter() - start
    print(f"hidden-layer weights moved by {moved:.0%} of their initial norm")
    print(f"test accuracy: {final:.2%} ({wrong} of {len(test)} wrong); wall time {seconds:.1f} s")

    if not final >= bar:
        print(f"FAILED: test accuracy {final:.2%} is below the bar of {bar:.0%}", file=sys.stderr)
        return 1
    if not moved >= MIN_HIDDEN_CHANGE:
        print(f"FAILED: the hidden layer barely moved ({moved:.1%})", file=sys.stderr)
        return 1
    print(f"ok: test accuracy {final:.2%} >= {bar:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
