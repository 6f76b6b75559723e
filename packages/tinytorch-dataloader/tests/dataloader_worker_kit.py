"""Datasets and worker_init_fns for test_workers.py, in a module of their own so that worker
processes started by ``spawn`` or ``forkserver`` can import them by name (test_workers puts
this folder on ``sys.path`` before it imports this module)."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import numpy as np

from tinytorch.dataloader import get_worker_info
from tinytorch.tensor import randn


def _worker_id() -> int:
    info = get_worker_info()
    return -1 if info is None else info.id


class Probe:
    """Sample ``i`` is ``{"i": i, "worker": id, "pid": pid, "inits": ...}``; it can also be
    slow, fail, kill its worker or stall at chosen indices."""

    def __init__(
        self,
        n: int,
        *,
        delay: float = 0.0,
        fail_at: int | None = None,
        exit_at: int | None = None,
        stall_at: int | None = None,
    ) -> None:
        self.n = n
        self.delay = delay
        self.fail_at = fail_at
        self.exit_at = exit_at
        self.stall_at = stall_at
        self.inits = 0  # bumped by count_init in this worker's copy

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, int]:
        if i == self.fail_at:
            raise ValueError(f"bad sample {i}")
        if i == self.exit_at:
            os._exit(3)
        if i == self.stall_at:
            time.sleep(30.0)  # far longer than any bound the tests assert
        if self.delay:
            time.sleep(self.delay)
        return {"i": i, "worker": _worker_id(), "pid": os.getpid(), "inits": self.inits}


class Noisy:
    """Every sample draws from TinyTorch's default generator, NumPy's global one and Python's
    ``random``: what a random transform in a worker draws from."""

    def __len__(self) -> int:
        return 24

    def __getitem__(self, i: int) -> np.ndarray:
        return np.array(
            [randn(1).item(), np.random.rand(), random.random()],  # noqa: NPY002
            dtype=np.float64,
        )


class LoggedBatches:
    """A batch dataset that appends the first index of every batch it builds to ``log``."""

    def __init__(self, n: int, log: Path) -> None:
        self.n = n
        self.log = log

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i

    def __getitems__(self, idx: np.ndarray) -> np.ndarray:
        with open(self.log, "a") as f:
            f.write(f"{int(idx[0])}\n")
        return np.asarray(idx)


def count_init(worker_id: int) -> None:
    info = get_worker_info()
    assert info is not None
    assert info.id == worker_id
    info.dataset.inits += 1


def record_init(log: Path, worker_id: int) -> None:
    """Append ``worker_id pid num_workers seed`` to ``log`` (a worker_init_fn, via partial)."""
    info = get_worker_info()
    assert info is not None
    with open(log, "a") as f:
        f.write(f"{worker_id} {os.getpid()} {info.num_workers} {info.seed}\n")


def failing_init(worker_id: int) -> None:
    raise KeyError(f"no config for worker {worker_id}")
