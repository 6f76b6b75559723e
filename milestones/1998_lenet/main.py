"""1998: a LeNet-5-style convolutional network reads handwritten digits.

LeCun, Bottou, Bengio & Haffner (1998) stacked convolution, subsampling, convolution,
subsampling and fully connected layers, and trained the whole stack end to end by gradient
descent. This is that architecture sized for the 8x8 UCI digits that ship with
tinytorch-dataloader: 3x3 kernels with padding 1 where LeNet-5 had 5x5 kernels on 32x32 images,
and 16/32 feature maps where it had 6/16. It must classify at least 98% of the 364 held-out
digits correctly within 2 minutes on 2 CPU cores, and its first-layer filters must have moved
far from their random initialisation (gradients reach the convolutions through Flatten).

Run:  python milestones/1998_lenet/main.py [--quick] [--seed N] [--time-limit S]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import numpy.typing as npt

from tinytorch.activations import ReLU
from tinytorch.convolutions import Conv2d, Flatten, MaxPool2d
from tinytorch.dataloader import DataLoader, Normalize, TensorDataset, tiny_digits
from tinytorch.layers import Dropout, Linear, Sequential
from tinytorch.losses import CrossEntropyLoss
from tinytorch.optimizers import AdamW
from tinytorch.tensor import Generator
from tinytorch.training import CosineAnnealingLR, Trainer, accuracy

FULL_EPOCHS, FULL_BAR = 30, 0.98
QUICK_EPOCHS, QUICK_BAR = 6, 0.90
MIN_FILTER_CHANGE = 0.25
SHADES = " .:-=+*#%@"


def lenet(generator: Generator) -> Sequential:
    """conv-pool-conv-pool-fc-fc-fc, for 1x8x8 inputs."""
    return Sequential(
        Conv2d(1, 16, 3, padding=1, generator=generator),  # 16 x 8 x 8
        ReLU(),
        MaxPool2d(2),  # 16 x 4 x 4
        Conv2d(16, 32, 3, padding=1, generator=generator),  # 32 x 4 x 4
        ReLU(),
        MaxPool2d(2),  # 32 x 2 x 2
        Flatten(),  # 128
        Linear(128, 120, generator=generator),
        ReLU(),
        Dropout(0.3, generator=generator),
        Linear(120, 84, generator=generator),
        ReLU(),
        Linear(84, 10, generator=generator),
    )


def ascii_filters(weights: npt.NDArray[np.float32], count: int) -> str:
    """The first ``count`` 3x3 filters side by side, each scaled to its own range."""
    rows = []
    for r in range(weights.shape[-2]):
        cells = []
        for f in weights[:count, 0]:
            lo, hi = float(f.min()), float(f.max())
            levels = (f[r] - lo) / (hi - lo + 1e-12) * (len(SHADES) - 1)
            cells.append("".join(SHADES[round(v)] * 2 for v in levels))
        rows.append("  " + "  ".join(f"[{c}]" for c in cells))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="1998: a LeNet-style CNN on digits")
    parser.add_argument("--quick", action="store_true", help="few epochs, a lower bar")
    parser.add_argument("--seed", type=int, default=0, help="seed of init, dropout, shuffling")
    parser.add_argument(
        "--time-limit", type=float, default=120.0, help="seconds allowed (0: no limit)"
    )
    args = parser.parse_args(argv)
    epochs, bar = (QUICK_EPOCHS, QUICK_BAR) if args.quick else (FULL_EPOCHS, FULL_BAR)

    start = time.perf_counter()
    generator = Generator(args.seed)
    raw_train, raw_test = tiny_digits("train"), tiny_digits("test")
    # Standardise with the training set's statistics (one channel), as LeNet's inputs were.
    pixels = raw_train.tensors[0].data
    normalize = Normalize(float(pixels.mean()), float(pixels.std()))
    train = TensorDataset(normalize(raw_train.tensors[0]), raw_train.tensors[1])
    test = TensorDataset(normalize(raw_test.tensors[0]), raw_test.tensors[1])
    loader = DataLoader(train, batch_size=32, shuffle=True, generator=generator)
    test_batches = DataLoader(test, batch_size=len(test))

    model = lenet(generator)
    conv1 = model[0]
    assert isinstance(conv1, Conv2d)
    initial = conv1.weight.data.copy()
    optimizer = AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2)
    trainer = Trainer(
        model,
        optimizer,
        CrossEntropyLoss(),
        scheduler=CosineAnnealingLR(optimizer, T_max=epochs),
        metrics={"accuracy": accuracy},
        progress=False,
    )
    params = sum(p.numel() for p in model.parameters())
    print(f"1998 LeNet: {len(train)} training digits, {len(test)} test digits, 1x8x8 pixels")
    print(f"model ({params:,} parameters): {model}")

    history = trainer.fit(loader, epochs=epochs, val_batches=test_batches)
    for record in history.epochs:
        if record["epoch"] % 5 == 0 or record["epoch"] in (1, epochs):
            print(
                f"  epoch {record['epoch']:3d}  train loss {record['train_loss']:.4f}  "
                f"test accuracy {record['val_accuracy']:.2%}  ({record['time_s']:.2f} s)"
            )
    seconds = time.perf_counter() - start
    final = history.epochs[-1]["val_accuracy"]
    wrong = round((1.0 - final) * len(test))
    learned = conv1.weight.data
    change = float(np.linalg.norm(learned - initial) / np.linalg.norm(initial))

    print("first-layer filters at initialisation (first 8 of 16):")
    print(ascii_filters(initial, 8))
    print("after training:")
    print(ascii_filters(learned, 8))
    print(f"conv1 weights moved by {change:.0%} of their initial norm")
    print(f"test accuracy: {final:.2%} ({wrong} of {len(test)} wrong)")
    print(f"wall time {seconds:.1f} s")

    failures = []
    if not final >= bar:
        failures.append(f"test accuracy {final:.2%} is below the bar of {bar:.0%}")
    if not change >= MIN_FILTER_CHANGE:
        failures.append(f"conv1 moved only {change:.1%} (< {MIN_FILTER_CHANGE:.0%}): no learning")
    if args.time_limit and not args.quick and seconds > args.time_limit:
        failures.append(f"took {seconds:.1f} s, over the {args.time_limit:.0f} s budget")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    if failures:
        return 1
    print(f"ok: test accuracy {final:.2%} >= {bar:.0%} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
