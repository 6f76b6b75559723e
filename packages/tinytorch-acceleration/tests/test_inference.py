"""compile_inference: the same outputs as the eval-mode model, bit for bit, with nothing of the
framework left per call; what it cannot run is refused by name."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tinytorch.acceleration import InferencePlan, compile_inference
from tinytorch.activations import GELU, ReLU, Sigmoid, Tanh
from tinytorch.layers import Dropout, Linear, Module, Sequential
from tinytorch.tensor import Generator, Tensor


def _rng_batch(*shape: int, seed: int = 0) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _model_out(model: Module, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    out: np.ndarray[Any, Any] = model.eval()(Tensor(x)).data
    return out


def test_mlp_with_every_activation_is_bit_identical() -> None:
    g = Generator(0)
    model = Sequential(
        Linear(6, 16, generator=g),
        Sigmoid(),
        Linear(16, 16, generator=g),
        Tanh(),
        Sequential(Linear(16, 8, generator=g), GELU(), Dropout(0.5, generator=g)),
        Linear(8, 3, generator=g),
    )
    plan = compile_inference(model)
    assert "Dropout" not in " ".join(plan.steps)
    for batch in (1, 7):
        x = _rng_batch(batch, 6, seed=batch)
        assert np.array_equal(plan(x), _model_out(model, x))


def test_lenet_is_bit_identical_and_fuses_relu_into_its_neighbours() -> None:
    pytest.importorskip("tinytorch.convolutions")
    from tinytorch.profiling.workloads import lenet_model

    model = lenet_model(Generator(3))
    plan = compile_inference(model)
    assert plan.steps == [
        "Conv2d",
        "ReLU+MaxPool2d",
        "Conv2d",
        "ReLU+MaxPool2d",
        "Flatten",
        "Linear+ReLU",
        "Linear+ReLU",
        "Linear",
    ]
    for batch in (1, 5, 1):  # a new shape makes new buffers; an old one reuses its own
        x = _rng_batch(batch, 1, 8, 8, seed=batch)
        assert np.array_equal(plan(x), _model_out(model, x))


def test_nbytes_counts_the_shared_weights_once_and_the_scratch_it_made() -> None:
    pytest.importorskip("tinytorch.convolutions")
    from tinytorch.convolutions import Conv2d

    conv = Conv2d(2, 4, 3, padding=1, generator=Generator(0))
    plan = compile_inference(Sequential(conv))
    weights = conv.weight.data.nbytes + conv.bias.data.nbytes
    assert plan.nbytes == weights
    plan(_rng_batch(1, 2, 5, 5))
    assert plan.nbytes == weights + 1 * 2 * 7 * 7 * 4  # the zero-padded input buffer
    plan(_rng_batch(1, 2, 5, 5, seed=1))
    assert plan.nbytes == weights + 1 * 2 * 7 * 7 * 4  # reused, not grown


def test_strided_dilated_and_overlapping_pool_layers_match() -> None:
    convolutions = pytest.importorskip("tinytorch.convolutions")
    g = Generator(1)
    model = Sequential(
        convolutions.Conv2d(3, 5, 3, stride=2, padding=2, dilation=2, generator=g),
        ReLU(),
        convolutions.MaxPool2d(3, stride=1, padding=1),  # overlapping: runs the layer itself
        convolutions.Conv2d(5, 2, 2, bias=False, generator=g),
        convolutions.AvgPool2d(2),
        convolutions.Flatten(),
    )
    plan = compile_inference(model)
    x = _rng_batch(2, 3, 11, 9)
    assert np.array_equal(plan(x), _model_out(model, x))


def test_a_module_with_its_own_kernel_joins_the_plan() -> None:
    class Double(Module):
        def forward(self, x: Tensor) -> Tensor:
            return x * 2

        def inference_kernel(self) -> Any:
            return lambda a: a * np.float32(2)

    model = Sequential(Linear(3, 2, generator=Generator(0)), Double())
    plan = compile_inference(model)
    assert plan.steps == ["Linear", "Double"]
    x = _rng_batch(4, 3)
    assert np.array_equal(plan(x), _model_out(model, x))


def test_what_it_cannot_run_is_refused_by_name() -> None:
    class Custom(Module):
        def forward(self, x: Tensor) -> Tensor:
            return x

    with pytest.raises(TypeError, match=r"layer 1 \(Custom\) has no inference kernel"):
        compile_inference(Sequential(Linear(2, 2), Custom()))
    with pytest.raises(TypeError, match="expects a Module, got int"):
        compile_inference(3)  # type: ignore[arg-type]
    plan = compile_inference(Sequential(Linear(4, 2)))
    assert isinstance(plan, InferencePlan)
    with pytest.raises(TypeError, match="expects a NumPy array, got Tensor"):
        plan(Tensor(_rng_batch(1, 4)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Linear expects \(\.\.\., 4\) float32, got \(1, 3\)"):
        plan(_rng_batch(1, 3))
    with pytest.raises(ValueError, match=r"got \(1, 4\) float64"):
        plan(np.ones((1, 4)))


def test_conv_input_of_the_wrong_shape_names_both() -> None:
    convolutions = pytest.importorskip("tinytorch.convolutions")
    plan = compile_inference(Sequential(convolutions.Conv2d(3, 2, 3)))
    expected = r"Conv2d expects \(N, 3, H, W\) float32, got \(1, 2, 5, 5\)"
    with pytest.raises(ValueError, match=expected):
        plan(_rng_batch(1, 2, 5, 5))
