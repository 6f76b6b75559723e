from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tinytorch.activations import ReLU, Sigmoid
from tinytorch.autograd import no_grad
from tinytorch.layers import Linear, Sequential
from tinytorch.profiling.trained import classifier_accuracy, train_classifier
from tinytorch.quantization import (
    DynamicQuantizedLinear,
    QATLinear,
    QuantizedLinear,
    convert,
    disable_observer,
    held_arrays,
    held_nbytes,
    per_tensor_weight_qconfig,
    prepare,
    prepare_qat,
    quantize_dynamic,
)
from tinytorch.quantization.qtensor import quantize_array
from tinytorch.quantization.qtypes import quint8
from tinytorch.tensor import Generator, Tensor, randn
from tinytorch.training import load, save


@pytest.fixture(scope="module")
def mlp() -> object:
    return train_classifier("mlp", epochs=8)


def _float_weight_copies(model: object, shapes: set[tuple[int, ...]]) -> list[str]:
    return [p for p, a in held_arrays(model) if a.dtype.kind == "f" and a.shape in shapes]  # type: ignore[arg-type]


def test_static_int8_mlp_keeps_accuracy_and_holds_a_quarter(mlp: object, tmp_path: Path) -> None:
    t = mlp
    observed = prepare(t.model)  # type: ignore[attr-defined]
    observed(t.train.tensors[0])  # type: ignore[attr-defined]
    q = convert(observed)
    assert [type(m).__name__ for m in q] == ["QuantizedLinear", "Sigmoid", "QuantizedLinear"]
    acc = classifier_accuracy(q, t.test)  # type: ignore[attr-defined]
    assert acc >= t.accuracy - 0.01  # type: ignore[attr-defined]
    # Everything held: int8 weights, float32 scales, int32 biases, the activation qparams.
    held = {p: a.dtype.name for p, a in held_arrays(q)}
    assert held["0.weight"] == "int8"
    assert held["0.bias"] == "int32"
    assert held["0.weight_scale"] == "float32"
    assert held["2.zero_point"] == "int32"
    weights = {tuple(m.weight.shape) for m in t.model.modules() if isinstance(m, Linear)}  # type: ignore[attr-defined]
    assert _float_weight_copies(q, weights) == []
    float_bytes, int8_bytes = held_nbytes(t.model), held_nbytes(q)  # type: ignore[attr-defined]
    assert float_bytes == 4 * (64 * 128 + 128 + 128 * 10 + 10)
    # int8 weights + per-channel float32 scales + int32 biases + 4 scalars per layer
    expected = (64 * 128 + 128 * 10) + 4 * (128 + 10) * 2 + 2 * (2 * 4 + 2 * 4)
    assert int8_bytes == expected
    assert int8_bytes / float_bytes < 0.28
    per_tensor = prepare(t.model, per_tensor_weight_qconfig)  # type: ignore[attr-defined]
    per_tensor(t.train.tensors[0])  # type: ignore[attr-defined]
    assert held_nbytes(convert(per_tensor)) / float_bytes < 0.27

    # The state dict holds the int8 arrays and scales; save/load keeps every dtype and bit.
    state = q.state_dict()
    assert state["0.weight"].dtype == np.int8
    assert state["0.weight_scale"].dtype == np.float32
    qpath, fpath = tmp_path / "int8.npz", tmp_path / "float.npz"
    save(state, qpath)
    save(t.model.state_dict(), fpath)  # type: ignore[attr-defined]
    loaded = load(qpath)
    assert loaded["0.weight"].dtype == np.int8
    fresh_obs = prepare(train_classifier("mlp", epochs=1, seed=5).model)
    fresh_obs(randn(4, 64, generator=Generator(0)))
    fresh = convert(fresh_obs)
    fresh.load_state_dict(loaded)
    x = t.test.tensors[0]  # type: ignore[attr-defined]
    assert np.array_equal(fresh(x).data, q(x).data)
    ratio = os.path.getsize(qpath) / os.path.getsize(fpath)
    # The payload is 0.276x; in checkpoint format 2 each array costs ~63 bytes of manifest
    # besides, so the file is 0.298x: issue 11's bar is 0.3x.
    assert 0.27 < ratio <= 0.3


def _integer_reference(layer: QuantizedLinear, x: np.ndarray) -> np.ndarray:
    """The same layer computed with int64 NumPy arithmetic only (slow, obviously right)."""
    s_in, s_out = (np.float32(v) for v in layer.scale.data)
    z_in, z_out = (int(v) for v in layer.zero_point.data)
    xq = quantize_array(x, s_in, z_in, quint8).astype(np.int64) - z_in
    acc = np.einsum("mk,nk->mn", xq, layer.weight.data.astype(np.int64))
    acc = acc + layer.bias.data.astype(np.int64)
    assert np.abs(acc).max() < 2**31
    m = (s_in * layer.weight_scale.data / s_out).astype(np.float32)
    yq = np.clip(np.rint(acc.astype(np.int32).astype(np.float32) * m) + np.float32(z_out), 0, 255)
    return ((yq.astype(np.float32) - np.float32(z_out)) * s_out).astype(np.float32)


def test_quantized_linear_equals_an_integer_reference_with_chunked_k() -> None:
    k = 3000  # 3000 * 255 * 128 > 2**24: the kernel must split K
    layer = Linear(k, 6, generator=Generator(0))
    layer.weight.data[0] = 5.0  # saturates at 127 after scaling
    layer.weight.data[1] = -5.0  # -127
    observed = prepare(Sequential(layer))
    x = randn(5, k, generator=Generator(1))
    x.data[0] = 4.0
    observed(x)
    q = convert(observed)[0]
    assert isinstance(q, QuantizedLinear)
    assert np.abs(q.weight.data).max() == 127
    assert np.array_equal(q(x).data, _integer_reference(q, x.data))


def test_dynamic_quantization(mlp: object) -> None:
    t = mlp
    q = quantize_dynamic(t.model)  # type: ignore[attr-defined]
    assert isinstance(q[0], DynamicQuantizedLinear)
    assert q[0].weight.dtype == np.int8
    assert classifier_accuracy(q, t.test) >= t.accuracy - 0.01  # type: ignore[attr-defined]
    assert held_nbytes(q) < 0.28 * held_nbytes(t.model)  # type: ignore[attr-defined]
    assert isinstance(t.model[0], Linear)  # type: ignore[attr-defined]  # the original is untouched
    with pytest.raises(TypeError, match="quantize_dynamic: unsupported layer ReLU"):
        quantize_dynamic(t.model, {ReLU})  # type: ignore[attr-defined, arg-type]
    with pytest.raises(TypeError, match="quantize_dynamic: unsupported dtype 'float16'"):
        quantize_dynamic(t.model, dtype="float16")  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="quantize_dynamic: the model has no Linear"):
        quantize_dynamic(Sequential(Sigmoid()))


def test_qat_trains_through_fake_quant_and_converts(mlp: object) -> None:
    from tinytorch.losses import CrossEntropyLoss
    from tinytorch.optimizers import SGD

    t = mlp
    qat = prepare_qat(t.model)  # type: ignore[attr-defined]
    assert isinstance(qat[0], QATLinear)
    opt = SGD(qat.parameters(), lr=0.002, momentum=0.9)
    loss_fn = CrossEntropyLoss()
    before = qat[0].weight.data.copy()
    for x, y in t.loader():  # type: ignore[attr-defined]
        opt.zero_grad()
        loss_fn(qat(x), y).backward()
        opt.step()
    assert not np.array_equal(before, qat[0].weight.data)  # gradients reached the float weight
    disable_observer(qat)
    qat.eval()
    q = convert(qat)
    assert isinstance(q[0], QuantizedLinear)
    assert classifier_accuracy(q, t.test) >= t.accuracy - 0.02  # type: ignore[attr-defined]
    # The int8 model computes what the fake-quantized one simulated (up to the int32 bias).
    x = t.test.tensors[0]  # type: ignore[attr-defined]
    with no_grad():
        agree = np.mean(q(x).data.argmax(1) == qat(x).data.argmax(1))
    assert agree > 0.98


def test_errors_of_the_model_functions() -> None:
    with pytest.raises(ValueError, match="convert: the model has no prepared layer"):
        convert(Sequential(Linear(2, 2)))
    with pytest.raises(TypeError, match="prepare: expects a Module"):
        prepare("model")  # type: ignore[arg-type]
    observed = prepare(Sequential(Linear(3, 2)))
    with pytest.raises(RuntimeError, match="nothing observed yet"):
        convert(observed)
    observed(randn(4, 3))
    q = convert(observed)
    with pytest.raises(ValueError, match=r"QuantizedLinear: input of shape \(4, 5\)"):
        q(randn(4, 5))
    with pytest.raises(ValueError, match=r"QuantizedLinear: .* non-finite"):
        q(Tensor([[float("inf"), 0.0, 0.0]]))
    x = randn(4, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="quantized_linear: an int8 layer has no gradient"):
        q(x).sum().backward()


def test_constant_and_zero_inputs_through_a_static_layer() -> None:
    layer = Linear(4, 3, generator=Generator(0))
    observed = prepare(Sequential(layer))
    observed(Tensor(np.zeros((2, 4), np.float32)))
    q = convert(observed)
    out = q(Tensor(np.zeros((2, 4), np.float32))).data
    assert np.isfinite(out).all()
