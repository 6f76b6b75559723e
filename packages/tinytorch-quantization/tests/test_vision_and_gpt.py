from __future__ import annotations

import numpy as np
import pytest

from tinytorch.quantization import convert, held_arrays, prepare, prepare_qat, quantize_dynamic
from tinytorch.quantization.qtensor import quantize_array
from tinytorch.quantization.qtypes import quint8
from tinytorch.tensor import Generator, randint, randn


def test_quantized_conv2d_equals_an_integer_reference() -> None:
    pytest.importorskip("tinytorch.convolutions")
    from tinytorch.activations import ReLU
    from tinytorch.convolutions import Conv2d, Flatten
    from tinytorch.layers import Linear, Sequential
    from tinytorch.quantization.vision import QuantizedConv2d

    g = Generator(0)
    model = Sequential(
        Conv2d(3, 8, 3, padding=1, generator=g), ReLU(), Conv2d(8, 4, 3, stride=2, generator=g),
        Flatten(), Linear(4 * 3 * 3, 5, generator=g),
    )  # fmt: skip
    x = randn(6, 3, 7, 7, generator=Generator(1))
    observed = prepare(model)
    observed(x)
    q = convert(observed)
    conv = q[0]
    assert isinstance(conv, QuantizedConv2d)
    assert conv.weight.dtype == np.int8
    # Integer reference: a direct loop-free einsum over padded integer patches, in int64.
    s_in, s_out = (np.float32(v) for v in conv.scale.data)
    z_in, z_out = (int(v) for v in conv.zero_point.data)
    xq = quantize_array(x.data, s_in, z_in, quint8).astype(np.int64) - z_in
    xp = np.pad(xq, ((0, 0), (0, 0), (1, 1), (1, 1)))
    patches = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))
    acc = np.einsum("nchwij,ocij->nohw", patches, conv.weight.data.astype(np.int64))
    acc = acc + conv.bias.data.astype(np.int64)[None, :, None, None]
    m = (s_in * conv.weight_scale.data / s_out).astype(np.float32)[None, :, None, None]
    yq = np.clip(np.rint(acc.astype(np.int32).astype(np.float32) * m) + np.float32(z_out), 0, 255)
    expected = (yq.astype(np.float32) - np.float32(z_out)) * s_out
    assert np.array_equal(conv(x).data, expected)
    float_out, int8_out = model(x).data, q(x).data
    assert np.abs(float_out - int8_out).max() < 0.1 * np.abs(float_out).max()
    weights = {tuple(p.shape) for p in model.parameters() if p.ndim > 1}
    assert [p for p, a in held_arrays(q) if a.dtype.kind == "f" and a.shape in weights] == []
    assert type(prepare_qat(model)[0]).__name__ == "QATConv2d"


def test_dynamic_quantization_of_a_gpt() -> None:
    # The 2017 milestone's GPT, as tinytorch-profiling builds it (its language extra).
    pytest.importorskip("tinytorch.transformers")
    from tinytorch.profiling.workloads import workload

    model = workload("gpt").model.eval()
    q = quantize_dynamic(model)
    names = {n: type(m).__name__ for n, m in q.named_modules()}
    assert names["lm_head"] == "DynamicQuantizedLinear"
    assert names["h.0.mlp.c_fc"] == names["h.3.attn.out_proj"] == "DynamicQuantizedLinear"
    assert q.lm_head.weight.dtype == np.int8
    assert q.wte.weight.dtype == np.float32  # the tied embedding keeps its float matrix
    idx = randint(0, model.config.vocab_size, (4, 64), generator=Generator(1))
    logits, loss = model(idx, idx)
    q_logits, q_loss = q(idx, idx)
    assert abs(float(q_loss.item()) - float(loss.item())) < 0.01
    assert np.abs(q_logits.data - logits.data).max() < 0.05


def test_inference_kernels_equal_the_forwards_and_check_their_input() -> None:
    # What tinytorch.acceleration.compile_inference runs in place of the layers' forwards.
    pytest.importorskip("tinytorch.convolutions")
    from tinytorch.convolutions import Conv2d, Flatten
    from tinytorch.layers import Linear, Sequential

    g = Generator(2)
    model = Sequential(
        Conv2d(2, 4, 3, padding=1, generator=g), Flatten(), Linear(4 * 5 * 5, 3, generator=g)
    )
    x = randn(3, 2, 5, 5, generator=Generator(3))
    observed = prepare(model)
    observed(x)
    q = convert(observed)
    conv, linear = q[0], q[2]
    conv_out = conv.inference_kernel()(x.data)
    assert np.array_equal(conv_out, conv(x).data)
    flat = q[1](conv(x))
    assert np.array_equal(linear.inference_kernel()(flat.data), linear(flat).data)
    bad = x.data.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"QuantizedConv2d.*non-finite"):
        conv.inference_kernel()(bad)
    with pytest.raises(ValueError, match=r"QuantizedLinear: expects a float \(N, 100\) array"):
        linear.inference_kernel()(np.ones((1, 99), np.float32))
