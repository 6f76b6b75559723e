"""Forward hooks: per module and on every module, PyTorch's order, replacements and removal."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.layers import (
    Linear,
    Module,
    Sequential,
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from tinytorch.tensor import Generator, Tensor, ones


def _model() -> Sequential:
    g = Generator(0)
    return Sequential(Linear(2, 3, generator=g), Linear(3, 1, generator=g))


def test_global_hooks_see_every_module_in_call_order_and_run_before_local_ones() -> None:
    model = _model()
    calls: list[str] = []
    handles = [
        register_module_forward_pre_hook(lambda m, a: calls.append(f"pre {type(m).__name__}")),
        register_module_forward_hook(lambda m, a, o: calls.append(f"post {type(m).__name__}")),
        model[0].register_forward_pre_hook(lambda m, a: calls.append("local pre 0")),
    ]
    try:
        model(ones(4, 2))
    finally:
        for h in handles:
            h.remove()
    assert calls == [
        "pre Sequential",
        "pre Linear",
        "local pre 0",
        "post Linear",
        "pre Linear",
        "post Linear",
        "post Sequential",
    ]
    calls.clear()
    model(ones(4, 2))
    assert calls == []


def test_a_pre_hook_replaces_the_arguments_and_a_hook_the_output() -> None:
    layer = Linear(2, 1, generator=Generator(0))
    zeros_in = layer.register_forward_pre_hook(lambda m, args: args[0] * 0.0)  # not a tuple
    doubled = layer.register_forward_hook(lambda m, args, out: out * 2.0)
    out = layer(ones(3, 2))
    np.testing.assert_allclose(out.data, np.full((3, 1), 2 * layer.bias.item()), rtol=1e-6)
    zeros_in.remove()
    doubled.remove()
    np.testing.assert_allclose(
        layer(ones(3, 2)).data, (ones(3, 2) @ layer.weight.T).data + layer.bias.data
    )


def test_a_hook_sees_the_args_forward_received() -> None:
    layer = Linear(2, 1, generator=Generator(0))
    seen: list[Any] = []
    layer.register_forward_pre_hook(lambda m, args: (args[0] + 1.0,))
    layer.register_forward_hook(lambda m, args, out: seen.append(args[0].data.copy()))
    layer(ones(1, 2))
    np.testing.assert_array_equal(seen[0], np.full((1, 2), 2.0, dtype=np.float32))


def test_a_hook_may_remove_itself_while_running() -> None:
    layer = Linear(2, 1, generator=Generator(0))
    count = []
    handle = None

    def once(m: Module, args: tuple[Any, ...], out: Tensor) -> None:
        count.append(1)
        assert handle is not None
        handle.remove()

    handle = layer.register_forward_hook(once)
    layer(ones(1, 2))
    layer(ones(1, 2))
    assert count == [1]
    handle.remove()  # a second removal does nothing


def test_a_hook_must_be_callable() -> None:
    with pytest.raises(TypeError, match="must be callable, got int"):
        Linear(2, 1).register_forward_hook(3)  # type: ignore[arg-type]


def test_hooks_are_not_state() -> None:
    layer = Linear(2, 1)
    layer.register_forward_hook(lambda m, a, o: None)
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert "_forward_hooks" not in dict(layer.named_modules())


def test_an_always_call_hook_runs_when_forward_raises_and_the_error_propagates() -> None:
    model = Sequential(Linear(4, 3), Linear(5, 2))
    seen: list[tuple[str, Any]] = []
    handles = [
        register_module_forward_hook(
            lambda m, a, out: seen.append((type(m).__name__, out)), always_call=True
        ),
        model[1].register_forward_hook(lambda m, a, out: seen.append(("never", out))),
    ]
    try:
        with pytest.raises(ValueError, match="Linear: input of shape"):
            model(ones(2, 4))
    finally:
        for h in handles:
            h.remove()
    # The first Linear finished normally; the second and the Sequential raised.
    assert [name for name, _ in seen] == ["Linear", "Linear", "Sequential"]
    assert seen[1][1] is None
    assert seen[2][1] is None
