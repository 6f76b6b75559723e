"""Backward, observed: each rule is reported with its time, and observing changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinytorch.tensor import Tensor
from tinytorch.tensor.graph import Node, Observer, add_observer

Array = Any


class Rules(Observer):
    def __init__(self) -> None:
        self.rules: list[tuple[str, list[bool], int, int]] = []
        self.regions: list[tuple[str, bool, int]] = []

    def on_rule(
        self, node: Node, grads: Sequence[Array | None], start_ns: int, end_ns: int
    ) -> None:
        self.rules.append((node.op, [g is not None for g in grads], start_ns, end_ns))

    def on_region(self, name: str, entering: bool, t_ns: int) -> None:
        self.regions.append((name, entering, t_ns))


def _run() -> tuple[Array, Array]:
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    x = Tensor(rng.standard_normal((5, 3)))
    loss = ((x @ w).exp() * 2.0).sum()
    loss.backward()
    assert w.grad is not None
    return loss.data, w.grad.data


def test_each_rule_is_reported_once_in_reverse_order_inside_the_backward_region() -> None:
    rules = Rules()
    handle = add_observer(rules)
    try:
        _run()
    finally:
        handle.remove()
    assert [op for op, *_ in rules.rules] == ["sum", "mul", "exp", "matmul"]
    assert rules.rules[-1][1] == [False, True]  # x needs no gradient: the rule skipped it
    # The one leaf needing a gradient (w) gets it through an AccumulateGrad region.
    assert [(name, entering) for name, entering, _ in rules.regions] == [
        ("autograd::backward", True),
        ("AccumulateGrad", True),
        ("AccumulateGrad", False),
        ("autograd::backward", False),
    ]
    enter, leave = rules.regions[0][2], rules.regions[-1][2]
    assert rules.rules[-1][3] <= rules.regions[1][2]  # w's gradient is written after its rule
    previous_end = enter
    for _, _, start, end in rules.rules:
        assert previous_end <= start <= end
        previous_end = end
    assert previous_end <= leave


def test_observing_changes_no_gradient() -> None:
    plain = _run()
    handle = add_observer(Rules())
    try:
        observed = _run()
    finally:
        handle.remove()
    np.testing.assert_array_equal(plain[0], observed[0])
    np.testing.assert_array_equal(plain[1], observed[1])
