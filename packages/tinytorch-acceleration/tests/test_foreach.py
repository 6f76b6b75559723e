"""ForeachAdamW: bit-identical to AdamW / Adam, one flat buffer, state dicts interchangeable."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.acceleration import ForeachAdamW
from tinytorch.optimizers import SGD, Adam, AdamW
from tinytorch.tensor import Generator, Tensor, randn


def _params(seed: int = 0) -> list[Tensor]:
    g = Generator(seed)
    shapes = [(4, 3), (3,), (2, 5, 2), (7,)]
    return [randn(*s, generator=g).requires_grad_() for s in shapes]


def _set_grads(params: list[Tensor], step: int, transpose: bool = False) -> None:
    rng = np.random.default_rng(step)
    for p in params:
        g = rng.standard_normal(p.shape).astype(p.dtype)
        if transpose and g.ndim == 2:
            g = np.asfortranarray(g)  # as a matmul's weight gradient arrives
        p.grad = Tensor(g)


def _groups(params: list[Tensor]) -> list[dict[str, Any]]:
    return [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": 0.1},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]


@pytest.mark.parametrize("cls", [AdamW, Adam])
def test_bit_identical_to_the_per_parameter_loop(cls: Any) -> None:
    ref, ours = _params(), _params()
    opt_ref = cls(_groups(ref), lr=1e-2, betas=(0.9, 0.99))
    opt = ForeachAdamW.from_optimizer(cls(_groups(ours), lr=1e-2, betas=(0.9, 0.99)))
    for step in range(20):
        _set_grads(ref, step, transpose=True)
        _set_grads(ours, step, transpose=True)
        opt_ref.step()
        opt.step()
        for a, b in zip(ref, ours, strict=True):
            assert np.array_equal(a.data, b.data), f"step {step}: {a.shape}"


def test_parameters_view_one_flat_buffer_and_keep_their_values() -> None:
    params = _params()
    before = [p.data.copy() for p in params]
    ids = [id(p) for p in params]
    opt = ForeachAdamW(params, lr=1e-3)
    flat = opt.flat_parameters
    assert flat.size == sum(p.data.size for p in params)
    assert [id(p) for p in opt.param_groups[0]["params"]] == ids
    for p, b in zip(params, before, strict=True):
        assert p.data.base is flat
        assert np.array_equal(p.data, b)


def test_state_dict_round_trips_with_adamw() -> None:
    ref, ours = _params(), _params()
    opt_ref = AdamW(_groups(ref), lr=1e-2)
    for step in range(3):
        _set_grads(ref, step)
        opt_ref.step()
    # A checkpoint of the per-parameter AdamW, loaded into the foreach one, and back.
    for p, r in zip(ours, ref, strict=True):
        p.data[...] = r.data
    opt = ForeachAdamW.from_optimizer(AdamW(_groups(ours), lr=1e-2))
    opt.load_state_dict(opt_ref.state_dict())
    _set_grads(ref, 3)
    _set_grads(ours, 3)
    opt_ref.step()
    opt.step()
    for a, b in zip(ref, ours, strict=True):
        assert np.array_equal(a.data, b.data)
    back = AdamW(_groups(_params()), lr=1e-2)
    back.load_state_dict(opt.state_dict())
    saved, theirs = back.state_dict()["state"], opt_ref.state_dict()["state"]
    assert saved.keys() == theirs.keys()
    for i in saved:
        assert saved[i]["step"] == theirs[i]["step"] == 4
        assert np.array_equal(saved[i]["exp_avg"], theirs[i]["exp_avg"])


def test_a_parameter_without_gradient_is_not_moved() -> None:
    params = _params()
    opt = ForeachAdamW(params, lr=0.1)
    _set_grads(params, 0)
    params[1].grad = None
    frozen = params[1].data.copy()
    opt.step()
    assert np.array_equal(params[1].data, frozen)
    assert not np.array_equal(params[0].data, _params()[0].data)


def test_refuses_what_it_cannot_step() -> None:
    with pytest.raises(TypeError, match="expects an Adam or AdamW, got SGD"):
        ForeachAdamW.from_optimizer(SGD(_params(), lr=0.1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="amsgrad"):
        ForeachAdamW.from_optimizer(AdamW(_params(), amsgrad=True))
    mixed = [randn(2).requires_grad_(), randn(2).to(np.float64).requires_grad_()]
    with pytest.raises(TypeError, match="parameters must share one dtype"):
        ForeachAdamW(mixed)
    p = _params()
    opt = ForeachAdamW(p)
    p[0].grad = Tensor(np.ones(5, dtype=np.float32))
    with pytest.raises(RuntimeError, match=r"gradient of shape \(5,\) for a parameter of shape"):
        opt.step()
