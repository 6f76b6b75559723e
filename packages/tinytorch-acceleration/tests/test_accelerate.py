"""accelerate(): the same losses as the unaccelerated model over 50 training steps, the same
Parameters, a report of what was left alone and why, the same errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tinytorch.acceleration import ForeachAdamW, FusedGPT, accelerate
from tinytorch.activations import ReLU, Sigmoid
from tinytorch.layers import Linear, Module, Sequential
from tinytorch.losses import CrossEntropyLoss
from tinytorch.optimizers import SGD, AdamW, Optimizer
from tinytorch.tensor import Generator, Tensor, randint, randn

STEPS = 50


def _train(model: Any, opt: Optimizer, batches: list[Any], gpt: bool) -> list[float]:
    loss_fn = CrossEntropyLoss()
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = model(x, y)[1] if gpt else loss_fn(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return losses


def _assert_close(ref: list[float], got: list[float], rtol: float) -> None:
    rel = np.abs(np.array(ref) - np.array(got)) / np.abs(np.array(ref))
    print(f"max relative loss difference over {len(ref)} steps: {rel.max():.3g}")
    assert rel.max() <= rtol, rel.max()
    # Stronger than the bar: the fused kernels do the composed graph's arithmetic operation for
    # operation (the same BLAS products, the same elementwise order) and ForeachAdamW AdamW's,
    # so every loss is bit-identical.
    assert got == ref


def _mlp(seed: int = 0) -> Sequential:
    g = Generator(seed)
    return Sequential(Linear(64, 32, generator=g), Sigmoid(), Linear(32, 10, generator=g))


def _digit_batches(n: int) -> list[tuple[Tensor, Tensor]]:
    g = Generator(7)
    return [(randn(16, 64, generator=g), randint(0, 10, (16,), generator=g)) for _ in range(n)]


def test_mlp_same_losses_with_adamw_and_sgd() -> None:
    batches = _digit_batches(STEPS)
    for make in (lambda m: AdamW(m.parameters(), lr=1e-2), lambda m: SGD(m.parameters(), 0.1)):
        ref_model, model = _mlp(), _mlp()
        ref = _train(ref_model, make(ref_model), batches, gpt=False)
        fast, opt, _ = accelerate(model, make(model))
        assert opt is not None
        _assert_close(ref, _train(fast, opt, batches, gpt=False), 1e-5)


def test_lenet_same_losses_over_50_steps() -> None:
    pytest.importorskip("tinytorch.convolutions")
    from tinytorch.profiling.workloads import digits, lenet_model

    train, _ = digits(flatten=False)
    n = len(train)
    batches = [train.__getitems__([(i * 32 + j) % n for j in range(32)]) for i in range(STEPS)]
    ref_model, model = lenet_model(Generator(0)), lenet_model(Generator(0))
    ref = _train(ref_model, AdamW(ref_model.parameters(), lr=2e-3), batches, gpt=False)
    fast, opt, report = accelerate(model, AdamW(model.parameters(), lr=2e-3))
    assert isinstance(opt, ForeachAdamW)
    assert {p for p, _ in report.left_alone} >= {"0", "3"}  # the convolutions, with the reason
    assert all("Conv2d" in why for p, why in report.left_alone if p in ("0", "3"))
    fused = dict(report.fused)
    assert fused["1, 2"] == fused["4, 5"] == "ReLU + MaxPool2d(2) -> relu_max_pool2d"
    _assert_close(ref, _train(fast, opt, batches, gpt=False), 1e-4)


def _gpt(seed: int = 0, **overrides: Any) -> Any:
    from tinytorch.transformers import GPT, GPTConfig

    config = {
        "vocab_size": 23,
        "block_size": 16,
        "n_layer": 2,
        "n_head": 2,
        "n_embd": 32,
    } | overrides
    return GPT(GPTConfig(**config), generator=Generator(seed))


def _token_batches(n: int, batch: int = 4, length: int = 16) -> list[tuple[Tensor, Tensor]]:
    # Counting sequences from random starts: learnable, so the losses must fall.
    g = Generator(3)
    out = []
    for _ in range(n):
        starts = randint(0, 23, (batch, 1), generator=g).data
        ids = (starts + np.arange(length + 1)) % 23
        out.append((Tensor(ids[:, :-1]), Tensor(ids[:, 1:])))
    return out


def test_gpt_same_losses_over_50_steps() -> None:
    pytest.importorskip("tinytorch.transformers")
    batches = _token_batches(STEPS)
    ref_model, model = _gpt(), _gpt()
    ref_opt = ref_model.configure_optimizers(weight_decay=0.1, lr=3e-3, betas=(0.9, 0.99))
    ref = _train(ref_model, ref_opt, batches, gpt=True)
    opt0 = model.configure_optimizers(weight_decay=0.1, lr=3e-3, betas=(0.9, 0.99))
    fast, opt, report = accelerate(model, opt0)
    assert isinstance(fast, FusedGPT)
    assert isinstance(opt, ForeachAdamW)
    assert len(report.fused) == 2 * 2 + 1
    got = _train(fast, opt, batches, gpt=True)
    _assert_close(ref, got, 1e-4)
    assert got[-1] < got[0]  # it trains


def test_accelerated_gpt_shares_parameters_and_state_dict_keys() -> None:
    pytest.importorskip("tinytorch.transformers")
    model = _gpt()
    fast, _, _ = accelerate(model)
    assert [id(p) for p in fast.parameters()] == [id(p) for p in model.parameters()]
    assert list(fast.state_dict()) == list(model.state_dict())
    # The original still runs, and sees the accelerated model's updates (same Parameters).
    x, y = _token_batches(1)[0]
    assert np.allclose(fast(x, y)[1].item(), model(x, y)[1].item(), rtol=1e-5)


def test_gpt_parts_without_a_fused_kernel_are_left_alone_and_still_equivalent() -> None:
    pytest.importorskip("tinytorch.transformers")
    x, y = _token_batches(1)[0]
    for overrides, part in (({"dropout": 0.1}, "attn"), ({"gelu_approximate": "none"}, "mlp")):
        model = _gpt(**overrides)
        fast, _, report = accelerate(model)
        alone = dict(report.left_alone)
        assert {f"h.0.{part}", f"h.1.{part}"} <= alone.keys(), report
        print(alone[f"h.0.{part}"])
        model.eval()
        fast.eval()
        np.testing.assert_allclose(fast(x, y)[1].item(), model(x, y)[1].item(), rtol=1e-5)


class _Custom(Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = Linear(3, 2, generator=Generator(0))

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.fc(x) * 2
        return out


def test_unknown_model_and_optimizer_are_returned_as_they_are_with_the_reason() -> None:
    model = _Custom()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    fast, fast_opt, report = accelerate(model, opt)
    assert fast is model
    assert fast_opt is opt
    assert report.left_alone == [("", "_Custom: no accelerated form (GPT and Sequential have one)")]
    assert "SGD: no foreach step here" in report.optimizer
    assert "left alone:" in str(report)
    with pytest.raises(TypeError, match="accelerate: expects a Module, got int"):
        accelerate(3)  # type: ignore[arg-type]


def _same_error(a: Callable[[], object], b: Callable[[], object]) -> None:
    with pytest.raises((ValueError, TypeError)) as first:
        a()
    with pytest.raises(type(first.value)) as second:
        b()
    assert str(first.value) == str(second.value)


def test_odd_sized_maps_fall_back_to_the_unfused_relu_and_pool() -> None:
    convolutions = pytest.importorskip("tinytorch.convolutions")
    net = Sequential(ReLU(), convolutions.MaxPool2d(2))
    fast, _, report = accelerate(net)
    assert report.fused == [("0, 1", "ReLU + MaxPool2d(2) -> relu_max_pool2d")]
    for shape in ((2, 3, 5, 7), (2, 3, 4, 4)):
        x = randn(*shape, generator=Generator(0))
        assert np.array_equal(fast(x).data, net(x).data)
    _same_error(lambda: net(randn(3, 4)), lambda: fast(randn(3, 4)))


def test_wrong_shapes_raise_the_unfused_models_errors() -> None:
    net = Sequential(Linear(4, 3, generator=Generator(0)), ReLU())
    fast, _, _ = accelerate(net)
    _same_error(lambda: net(randn(2, 5)), lambda: fast(randn(2, 5)))
    pytest.importorskip("tinytorch.transformers")
    model = _gpt()
    gfast, _, _ = accelerate(model)
    too_long = randint(0, 23, (2, 17), generator=Generator(0))
    _same_error(lambda: model(too_long), lambda: gfast(too_long))
    floats = randn(2, 4)
    _same_error(lambda: model(floats), lambda: gfast(floats))
    block, fblock = model.h[0], gfast.h[0]
    _same_error(lambda: block(randn(2, 4, 31)), lambda: fblock(randn(2, 4, 31)))
    _same_error(
        lambda: model(too_long[:, :4], too_long[:, :3]),
        lambda: gfast(too_long[:, :4], too_long[:, :3]),
    )
