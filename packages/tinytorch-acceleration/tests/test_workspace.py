"""The workspace: buffers are reused across steps, never while anything still holds them."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.acceleration import causal_self_attention, linear, linear_gelu
from tinytorch.acceleration.ops import workspace
from tinytorch.acceleration.workspace import Workspace
from tinytorch.tensor import Generator, Tensor, randn


def test_an_output_the_caller_keeps_is_never_overwritten() -> None:
    w = randn(4, 3, generator=Generator(0))
    first = linear(randn(5, 3, generator=Generator(1)), w)
    kept = first.data.copy()
    for seed in range(2, 6):
        linear(randn(5, 3, generator=Generator(seed)), w)
        linear_gelu(randn(5, 3, generator=Generator(seed)), w)
    assert np.array_equal(first.data, kept)


def test_two_forwards_before_backward_keep_their_saved_activations() -> None:
    # Gradient accumulation: the first graph's saved arrays must survive the second forward.
    w = randn(6, 4, generator=Generator(0)).requires_grad_()
    xs = [randn(3, 5, 4, generator=Generator(s)) for s in (1, 2)]

    def grad_of(runs: list[Tensor]) -> Any:
        w.grad = None
        losses = [causal_self_attention(linear_gelu(x, w), 2).sum() for x in runs]
        for loss in losses:
            loss.backward()
        return _grad(w)

    together = grad_of(xs)
    apart = grad_of(xs[:1]) + grad_of(xs[1:])
    np.testing.assert_allclose(together, apart, rtol=1e-6, atol=1e-7)


def _grad(t: Tensor) -> Any:
    assert t.grad is not None
    return t.grad.data.copy()


def test_steady_state_training_allocates_nothing_new() -> None:
    w = randn(8, 4, generator=Generator(0)).requires_grad_()
    x = randn(2, 6, 4, generator=Generator(1))

    def step() -> None:
        out = causal_self_attention(linear_gelu(x, w)[..., :6].reshape(2, 6, 6), 2)
        out.sum().backward()

    step()
    step()
    before = workspace.allocated
    for _ in range(3):
        step()
    assert workspace.allocated == before


def test_pool_hands_out_only_free_arrays() -> None:
    ws = Workspace(max_per_shape=2)
    a, b, c = (ws.empty((3,), np.float32) for _ in range(3))
    assert len({id(a), id(b), id(c)}) == 3
    assert ws.allocated == 3
    del b
    again = ws.empty((3,), np.float32)
    assert ws.allocated == 3  # b's array came back
    view = again[1:]
    del again
    assert ws.empty((3,), np.float32) is not view.base  # a view still holds it
    assert ws.empty((2,), np.float64).dtype == np.float64
    assert isinstance(Tensor(a), Tensor)
