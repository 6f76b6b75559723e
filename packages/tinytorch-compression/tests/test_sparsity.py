"""Exact sparsity reports and the iterative schedule's exact counts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tinytorch.activations import Sigmoid
from tinytorch.compression import (
    iterative_pruning,
    l1_unstructured,
    prunable_parameters,
    sparsity_report,
)
from tinytorch.layers import Linear, Sequential
from tinytorch.tensor import Generator


def _mlp() -> Sequential:
    g = Generator(0)
    return Sequential(Linear(64, 128, generator=g), Sigmoid(), Linear(128, 10, generator=g))


def test_report_counts_exact_zeros_per_layer_and_overall() -> None:
    model = _mlp()
    l1_unstructured(model[0], "weight", 0.9)
    model[2].weight.data[:3, :5] = 0.0  # zeros without a mask count too
    report = sparsity_report(model)
    assert [(r.name, r.zeros, r.total) for r in report.layers] == [
        ("0.weight", round(0.9 * 8192), 8192),
        ("2.weight", 15, 1280),
    ]
    assert report.zeros == 7373 + 15
    assert report.total == 9472
    assert report.fraction == pytest.approx((7373 + 15) / 9472, abs=0)
    assert "overall" in str(report)


def test_iterative_schedule_reaches_exact_counts_and_fine_tunes() -> None:
    model = _mlp()
    params = prunable_parameters(model)
    calls: list[tuple[int, int]] = []

    def fine_tune(step: int) -> None:
        masked = sum(int((m.weight_mask.data == 0).sum()) for m, _ in params)
        calls.append((step, masked))

    reports = iterative_pruning(params, 0.9, 4, fine_tune)
    assert calls == [(k, round(0.9 * k / 4 * 9472)) for k in range(1, 5)]
    assert [r.zeros for r in reports] == [c for _, c in calls]
    cubic = iterative_pruning(prunable_parameters(_mlp()), 0.5, 2, schedule="cubic")
    assert [r.zeros for r in cubic] == [round(0.5 * (1 - 0.5**3) * 9472), round(0.5 * 9472)]


def test_iterative_schedule_keeps_pruned_weights_pruned() -> None:
    model = _mlp()
    params = prunable_parameters(model)
    seen: list[np.ndarray] = []

    def fine_tune(step: int) -> None:
        # A stand-in for training: move every kept weight and check earlier masks still hold.
        model[0].weight_orig.data += 1.0
        seen.append(model[0].weight_mask.data.copy())

    iterative_pruning(params, 0.8, 3, fine_tune)
    for earlier, later in itertools.pairwise(seen):
        assert np.all(later[earlier == 0] == 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amount": 1.2, "steps": 2}, "amount=1.2"),
        ({"amount": 3, "steps": 2}, "amount must be a fraction"),
        ({"amount": 0.5, "steps": 0}, "steps must be an int >= 1"),
        ({"amount": 0.5, "steps": 2, "schedule": "exp"}, "schedule must be"),
    ],
)
def test_schedule_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        iterative_pruning(prunable_parameters(_mlp()), **kwargs)  # type: ignore[arg-type]
