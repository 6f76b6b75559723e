"""Weight-only int8: int8 held, float32 computed; the accuracy kept and nothing float of a
weight's shape held."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tinytorch.activations import ReLU
from tinytorch.layers import Linear, Sequential
from tinytorch.quantization import (
    WeightOnlyInt8Linear,
    held_arrays,
    held_nbytes,
    quantize_weight_only,
)
from tinytorch.tensor import Generator, Tensor, randn
from tinytorch.training import load, save


def test_the_layer_is_its_float_product_with_the_dequantized_weight() -> None:
    layer = Linear(16, 8, generator=Generator(0))
    q = WeightOnlyInt8Linear.from_float(layer)
    x = randn(5, 16, generator=Generator(1))
    dequantized = q.weight.data.astype(np.float64) * q.weight_scale.data[:, None]
    expected = x.data.astype(np.float64) @ dequantized.T + layer.bias.data
    assert np.allclose(q(x).data, expected, rtol=1e-5, atol=1e-6)
    # The weight error is at most half a step of each row's scale.
    step = q.weight_scale.data[:, None]
    assert np.all(np.abs(dequantized - layer.weight.data) <= step / 2 + 1e-7)
    assert np.array_equal(q.inference_kernel()(x.data), q(x).data)


def test_a_model_holds_int8_weights_and_keeps_its_predictions() -> None:
    g = Generator(2)
    model = Sequential(Linear(32, 64, generator=g), ReLU(), Linear(64, 10, generator=g))
    q = quantize_weight_only(model)
    assert [type(m).__name__ for m in q] == ["WeightOnlyInt8Linear", "ReLU", "WeightOnlyInt8Linear"]
    assert not q.training
    assert type(model[0]).__name__ == "Linear"  # the original is untouched
    weight_shapes = {tuple(p.shape) for p in model.parameters() if p.ndim > 1}
    assert [n for n, a in held_arrays(q) if a.dtype.kind == "f" and a.shape in weight_shapes] == []
    # int8 weights, a float32 scale and bias per output channel.
    assert held_nbytes(q) == (32 * 64 + 64 * 10) + 8 * (64 + 10)
    x = randn(200, 32, generator=Generator(3))
    same = (q(x).data.argmax(1) == model(x).data.argmax(1)).mean()
    assert same > 0.97


def test_convolutions_are_quantized_and_their_kernel_equals_the_forward() -> None:
    convolutions = pytest.importorskip("tinytorch.convolutions")
    g = Generator(4)
    model = Sequential(
        convolutions.Conv2d(3, 6, 3, stride=2, padding=1, generator=g),
        ReLU(),
        convolutions.Flatten(),
        Linear(6 * 4 * 4, 5, generator=g),
    )
    q = quantize_weight_only(model)
    conv = q[0]
    assert type(conv).__name__ == "WeightOnlyInt8Conv2d"
    assert conv.weight.dtype == np.int8
    x = randn(2, 3, 7, 7, generator=Generator(5))
    assert np.array_equal(conv.inference_kernel()(x.data), conv(x).data)
    assert np.abs(q(x).data - model(x).data).max() < 0.05 * np.abs(model(x).data).max()


def test_state_dict_saves_as_int8_and_loads_into_a_fresh_model(tmp_path: Path) -> None:
    model = Sequential(Linear(64, 128, generator=Generator(6)), ReLU(), Linear(128, 10))
    q = quantize_weight_only(model)
    path = tmp_path / "w8.ckpt"
    save(q.state_dict(), path)
    fresh = quantize_weight_only(Sequential(Linear(64, 128), ReLU(), Linear(128, 10)))
    fresh.load_state_dict(load(path))
    x = randn(3, 64, generator=Generator(7))
    assert np.array_equal(fresh(x).data, q(x).data)
    save(model.state_dict(), tmp_path / "f32.ckpt")
    assert os.path.getsize(path) / os.path.getsize(tmp_path / "f32.ckpt") < 0.3


def test_bad_input_is_refused_by_name() -> None:
    q = WeightOnlyInt8Linear.from_float(Linear(4, 2))
    with pytest.raises(ValueError, match=r"input of shape \(3, 5\) does not end in in_features=4"):
        q(randn(3, 5))
    with pytest.raises(TypeError, match="expects a float32 Tensor input, got dtype float64"):
        q(Tensor(np.ones((1, 4))))
    with pytest.raises(ValueError, match=r"expects a float32 \(N, 4\) array, got \(1, 3\)"):
        q.inference_kernel()(np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match=r"has no (Conv2d or )?Linear layer"):
        quantize_weight_only(Sequential(ReLU()))
    with pytest.raises(TypeError, match="expects a Module, got int"):
        quantize_weight_only(3)  # type: ignore[arg-type]
