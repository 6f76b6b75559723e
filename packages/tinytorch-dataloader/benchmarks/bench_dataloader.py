"""What batch fetching and vectorized transforms buy over per-sample Python loops.

Run:  python packages/tinytorch-dataloader/benchmarks/bench_dataloader.py [--repeats N]

1. One epoch over an MNIST-sized array dataset (60,000 x 1 x 28 x 28 float32, batch 64,
   shuffled): the ``__getitems__`` path (one fancy index per tensor per batch) against the
   per-sample path (``ds[i]`` for each index, then ``default_collate``), which is what a
   ``collate_fn`` or a dataset without ``__getitems__`` gets. Where PyTorch is installed, its
   ``DataLoader`` over a ``TensorDataset`` of the same data (single process) is timed too.
2. CIFAR-style augmentation of a batch of 256 x 3 x 32 x 32: ``RandomCrop(32, padding=4)`` and
   ``RandomHorizontalFlip()``, vectorized, against the same crops and flips done image by image.
3. Loading ``tiny_digits`` (checksum, decompression, parsing) from the package data.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tinytorch.dataloader import (
    DataLoader,
    RandomCrop,
    RandomHorizontalFlip,
    TensorDataset,
    default_collate,
    tiny_digits,
)
from tinytorch.tensor import Generator

try:
    import torch
    import torch.utils.data as torch_data
except ImportError:  # PyTorch is a point of comparison, never a dependency
    torch = None


def median_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return 1e3 * statistics.median(samples)


def bench_epoch(repeats: int) -> dict[str, float]:
    rng = np.random.default_rng(0)
    images = rng.random((60_000, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, 60_000)
    ds = TensorDataset(images, labels)
    fast = DataLoader(ds, batch_size=64, shuffle=True, generator=Generator(0))
    slow = DataLoader(
        ds, batch_size=64, shuffle=True, generator=Generator(0), collate_fn=default_collate
    )

    def run(loader: Any) -> Callable[[], None]:
        def epoch() -> None:
            for _ in loader:
                pass

        return epoch

    times = {
        "batch fetch (__getitems__)": median_ms(run(fast), repeats),
        "per-sample fetch + collate": median_ms(run(slow), max(1, repeats // 3)),
    }
    if torch is not None:
        t_ds = torch_data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
        t_loader = torch_data.DataLoader(t_ds, batch_size=64, shuffle=True)
        times["torch DataLoader"] = median_ms(run(t_loader), max(1, repeats // 3))
    return times


def bench_augment(repeats: int) -> dict[str, float]:
    batch = np.random.default_rng(1).random((256, 3, 32, 32), dtype=np.float32)
    crop, flip = RandomCrop(32, padding=4, generator=Generator(0)), RandomHorizontalFlip()

    def vectorized() -> None:
        flip(crop(batch))

    def looped() -> None:
        rng = np.random.default_rng(0)
        padded = np.zeros((256, 3, 40, 40), dtype=np.float32)
        padded[:, :, 4:36, 4:36] = batch
        out = np.empty_like(batch)
        for n in range(len(batch)):
            i, j = rng.integers(0, 9, size=2)
            image = padded[n, :, i : i + 32, j : j + 32]
            out[n] = image[..., ::-1] if rng.random() < 0.5 else image

    return {
        "vectorized crop + flip": median_ms(vectorized, repeats),
        "per-image loop": median_ms(looped, repeats),
    }


def bench_digits(repeats: int) -> dict[str, float]:
    from tinytorch.dataloader import digits

    def load() -> None:
        digits._raw.cache_clear()
        tiny_digits("train")

    return {"tiny_digits() cold load": median_ms(load, repeats)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement")
    args = parser.parse_args()
    print(
        f"bench_dataloader (numpy {np.__version__}"
        + (f", torch {torch.__version__})" if torch else ")")
    )
    for title, times in (
        ("one epoch, 60,000 x 1x28x28, batch 64, shuffled", bench_epoch(args.repeats)),
        ("augment 256 x 3x32x32", bench_augment(args.repeats)),
        ("shipped data", bench_digits(args.repeats)),
    ):
        print(title)
        for name, ms in times.items():
            print(f"  {name:<30} {ms:9.2f} ms")


if __name__ == "__main__":
    main()
