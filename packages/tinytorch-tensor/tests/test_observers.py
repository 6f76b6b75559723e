"""The observation point: an Observer sees every recorded op and region, and costs nothing
once removed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.tensor import Tensor, graph, record
from tinytorch.tensor.graph import Observer, add_observer, record_function


class Log(Observer):
    def __init__(self) -> None:
        self.ops: list[tuple[str, list[tuple[int, ...]], dict[str, Any], tuple[int, ...]]] = []
        self.times: list[tuple[int, int]] = []
        self.regions: list[tuple[str, bool, int]] = []

    def on_op(
        self,
        op: str,
        inputs: tuple[Tensor, ...],
        attrs: dict[str, Any],
        out: Tensor,
        start_ns: int,
        end_ns: int,
    ) -> None:
        self.ops.append((op, [x.shape for x in inputs], dict(attrs), out.shape))
        self.times.append((start_ns, end_ns))

    def on_region(self, name: str, entering: bool, t_ns: int) -> None:
        self.regions.append((name, entering, t_ns))


def test_an_observer_sees_each_op_with_shapes_attributes_and_output() -> None:
    log = Log()
    handle = add_observer(log)
    try:
        x = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
        y = (x * 2.0).sum(dim=1)
        record("doc_probe", y.data + 1, (y,), factor=3)
    finally:
        handle.remove()
    assert [op for op, *_ in log.ops] == ["mul", "sum", "doc_probe"]
    assert log.ops[0][1] == [(2, 3), ()]  # the scalar 2.0 arrives as a 0-d tensor
    assert log.ops[1][3] == (2,)
    assert log.ops[2][2] == {"factor": 3}


def test_op_times_are_ordered_and_do_not_overlap() -> None:
    log = Log()
    handle = add_observer(log)
    try:
        x = Tensor(np.ones((64, 64)))
        for _ in range(5):
            x = x @ x * 0.01
    finally:
        handle.remove()
    assert len(log.times) == 10
    for (start, end), (next_start, _) in zip(log.times, log.times[1:], strict=False):
        assert start <= end <= next_start


def test_a_removed_observer_sees_nothing_and_the_table_empties() -> None:
    log = Log()
    add_observer(log).remove()
    _ = Tensor([1.0]) + 1.0
    assert log.ops == []
    assert not graph._observers


def _raise_inside_region() -> None:
    with record_function("block"):
        _ = Tensor([1.0]) * 3.0
        raise KeyError("inside")


def test_regions_are_reported_on_entry_and_exit_even_on_error() -> None:
    log = Log()
    handle = add_observer(log)
    try:
        with pytest.raises(KeyError):
            _raise_inside_region()
    finally:
        handle.remove()
    assert [(name, entering) for name, entering, _ in log.regions] == [
        ("block", True),
        ("block", False),
    ]
    (enter_t, exit_t) = log.regions[0][2], log.regions[1][2]
    (op_start, op_end) = log.times[0]
    assert enter_t <= op_start <= op_end <= exit_t


def test_two_observers_both_see_every_op() -> None:
    first, second = Log(), Log()
    handles = [add_observer(first), add_observer(second)]
    try:
        _ = Tensor([1.0, 2.0]).exp()
    finally:
        for h in handles:
            h.remove()
    assert [op for op, *_ in first.ops] == [op for op, *_ in second.ops] == ["exp"]


def test_only_observers_are_accepted() -> None:
    with pytest.raises(TypeError, match="expected an Observer, got function"):
        add_observer(lambda *a: None)  # type: ignore[arg-type]
