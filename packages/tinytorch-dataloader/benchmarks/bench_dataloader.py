"""What batch fetching and vectorized transforms buy over per-sample Python loops.

Run:  python -m tools bench dataloader   (or this file directly: [--repeats N] [--quick])

1. One epoch over an MNIST-sized array dataset (60,000 x 1 x 28 x 28 float32, batch 64,
   shuffled): the ``__getitems__`` path (one fancy index per tensor per batch) against the
   per-sample path (``ds[i]`` for each index, then ``default_collate``), which is what a
   ``collate_fn`` or a dataset without ``__getitems__`` gets. Where PyTorch is installed, its
   ``DataLoader`` over a ``TensorDataset`` of the same data (single process) is timed too.
2. CIFAR-style augmentation of a batch of 256 x 3 x 32 x 32: ``RandomCrop(32, padding=4)`` and
   ``RandomHorizontalFlip()``, vectorized, against the same crops and flips done image by image.
3. Loading ``tiny_digits`` (checksum, decompression, parsing) from the package data.
4. Worker processes: one epoch with ``num_workers`` 0, 1 and 2 (persistent workers, so start-up
   is timed apart, in its own table) for three kinds of dataset: an array dataset whose batches
   are one fancy index (cheap: the worker's pickling is the cost), samples that take CPU work
   in Python (about 0.3 ms each, a decoder or augmentation written per sample) and samples that
   wait (0.5 ms of sleep, standing in for a read from disk or network).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
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

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench


def bench_epoch(repeats: int, torch: ModuleType | None) -> dict[str, bench.Stats]:
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
        "batch fetch (__getitems__)": bench.measure(run(fast), repeat=repeats),
        "per-sample fetch + collate": bench.measure(run(slow), repeat=max(1, repeats // 3)),
    }
    if torch is not None:
        t_data = torch.utils.data
        t_ds = t_data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
        t_loader = t_data.DataLoader(t_ds, batch_size=64, shuffle=True)
        times["torch DataLoader"] = bench.measure(run(t_loader), repeat=max(1, repeats // 3))
    return times


def bench_augment(repeats: int) -> dict[str, bench.Stats]:
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
        "vectorized crop + flip": bench.measure(vectorized, repeat=repeats),
        "per-image loop": bench.measure(looped, repeat=repeats),
    }


def bench_digits(repeats: int) -> dict[str, bench.Stats]:
    from tinytorch.dataloader import digits

    def load() -> None:
        digits._raw.cache_clear()
        tiny_digits("train")

    return {"tiny_digits() cold load": bench.measure(load, repeat=repeats)}


class CpuSamples:
    """Each sample costs about 0.3 ms of Python work: what a per-sample decoder does."""

    def __init__(self, n: int, work: int = 3_000) -> None:
        self.n = n
        self.work = work

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        acc = 0
        for k in range(self.work):
            acc = (acc + k * i) % 65_521
        return np.full((1, 28, 28), acc / 65_521, dtype=np.float32), i % 10


class WaitingSamples:
    """Each sample waits 0.5 ms and uses no CPU while it does: a read from slow storage."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        time.sleep(0.0005)
        return np.zeros((1, 28, 28), dtype=np.float32), i % 10


def bench_workers(repeats: int, quick: bool) -> tuple[dict[str, dict[str, bench.Stats]], int]:
    rng = np.random.default_rng(2)
    n = 512 if quick else 2_048
    arrays = TensorDataset(rng.random((16 * n, 1, 28, 28), dtype=np.float32), np.arange(16 * n))
    kinds: dict[str, tuple[Any, int]] = {
        f"array batches ({16 * n:,} samples)": (arrays, 16 * n),
        f"CPU-heavy samples ({n:,})": (CpuSamples(n), n),
        f"waiting samples ({n:,})": (WaitingSamples(n), n),
    }
    results: dict[str, dict[str, bench.Stats]] = {}
    startup: dict[str, bench.Stats] = {}
    for title, (ds, _) in kinds.items():
        times = {}
        for workers in (0, 1, 2):
            extra: dict[str, Any] = (
                {"num_workers": workers, "persistent_workers": True} if workers else {}
            )
            loader = DataLoader(ds, batch_size=64, shuffle=True, generator=Generator(0), **extra)

            def epoch(loader: DataLoader = loader) -> None:
                for _ in loader:
                    pass

            times[f"num_workers={workers}"] = bench.measure(epoch, repeat=repeats)  # warm-up starts
            del loader
        results[title] = times

    def first_batch(workers: int) -> Callable[[], None]:
        def run() -> None:
            next(iter(DataLoader(arrays, batch_size=64, num_workers=workers)))

        return run

    for workers in (1, 2):
        startup[f"num_workers={workers}"] = bench.measure(first_batch(workers), repeat=repeats)
    results["start-up: iter() to first batch, workers started and stopped"] = startup
    return results, n


def main() -> None:
    args = bench.parse(bench.parser(__doc__, repeats=5, quick_repeats=1))
    repeats = args.repeats
    torch = bench.optional_torch()
    print(bench.environment())
    epoch = bench_epoch(repeats, torch)
    title = "one epoch, 60,000 x 1x28x28, batch 64, shuffled"
    print(bench.ratio_table(title, epoch, reference="batch fetch (__getitems__)", unit="ms"))
    augment = bench_augment(repeats)
    title = "augment 256 x 3x32x32"
    print(bench.ratio_table(title, augment, reference="vectorized crop + flip", unit="ms"))
    print(bench.ratio_table("shipped data", bench_digits(repeats), reference=None, unit="ms"))
    import multiprocessing

    workers, _ = bench_workers(repeats, args.quick)
    method = multiprocessing.get_start_method()
    for title, times in workers.items():
        if "num_workers=0" in times:
            full = f"one epoch, batch 64, {title}; persistent workers started by {method!r}"
            print(bench.ratio_table(full, times, reference="num_workers=0", unit="ms"))
        else:
            full = f"{title}, by {method!r}"
            print(bench.ratio_table(full, times, reference=None, unit="ms"))


if __name__ == "__main__":
    main()
