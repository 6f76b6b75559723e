"""Optimizer.step marks its work as a region named as PyTorch names it."""

from __future__ import annotations

import numpy as np

from tinytorch.optimizers import SGD, AdamW
from tinytorch.tensor import Tensor
from tinytorch.tensor.graph import Observer, add_observer


class Regions(Observer):
    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def on_region(self, name: str, entering: bool, t_ns: int) -> None:
        self.seen.append((name, entering))


def test_zero_grad_is_a_region_too() -> None:
    p = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    p.grad = Tensor(np.ones(3, dtype=np.float32))
    regions = Regions()
    handle = add_observer(regions)
    try:
        SGD([p], lr=0.1).zero_grad()
    finally:
        handle.remove()
    assert regions.seen == [
        ("Optimizer.zero_grad#SGD.zero_grad", True),
        ("Optimizer.zero_grad#SGD.zero_grad", False),
    ]
    assert p.grad is None


def test_step_is_one_region_named_after_the_optimizer() -> None:
    p = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    p.grad = Tensor(np.ones(3, dtype=np.float32))
    regions = Regions()
    handle = add_observer(regions)
    try:
        SGD([p], lr=0.1).step()
        AdamW([p], lr=0.1).step()
    finally:
        handle.remove()
    assert regions.seen == [
        ("Optimizer.step#SGD.step", True),
        ("Optimizer.step#SGD.step", False),
        ("Optimizer.step#AdamW.step", True),
        ("Optimizer.step#AdamW.step", False),
    ]
    np.testing.assert_allclose(
        p.data, np.full(3, 0.9 - 0.1 - 0.1 * 0.9 * 0.01, dtype=np.float32), rtol=1e-3
    )
