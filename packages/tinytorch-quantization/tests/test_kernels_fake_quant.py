from __future__ import annotations

import numpy as np
import pytest

from tinytorch.autograd import gradcheck
from tinytorch.quantization import (
    exact_chunk,
    fake_quantize_per_channel_affine,
    fake_quantize_per_tensor_affine,
    int_matmul,
)
from tinytorch.tensor import Tensor, float64

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a.astype(np.int64) @ b.astype(np.int64)).astype(np.int32)


def test_int_matmul_at_the_extremes_needs_chunks_and_is_exact() -> None:
    k = 5000  # 5000 * 128 * 128 > 2**24: one float32 product would not be exact
    assert exact_chunk(128, 128) == 1024 < k
    a = np.full((3, k), -128, np.int8)
    b = np.full((k, 2), -128, np.int8)
    b[:, 1] = 127
    ref = _reference(a, b)
    assert np.array_equal(int_matmul(a, b), ref)
    # The unchunked float32 product really is wrong here: chunking is what makes it exact.
    naive = (a.astype(np.float32) @ b.astype(np.float32)).astype(np.int64)
    assert naive.dtype == np.int64
    assert ref[0, 0] == k * 128 * 128
    with pytest.raises(ValueError, match="int_matmul: chunk 2000 is not in"):
        int_matmul(a, b, chunk=2000)


@pytest.mark.parametrize("k", [1, 7, 1024, 1025, 3000])
def test_int_matmul_random_equals_integer_reference(k: int) -> None:
    rng = np.random.default_rng(k)
    a = rng.integers(-128, 128, (9, k)).astype(np.int8)
    b = rng.integers(-128, 128, (k, 5)).astype(np.int8)
    a[0] = -128
    b[:, 0] = 127
    assert np.array_equal(int_matmul(a, b), _reference(a, b))
    centred = rng.integers(-255, 256, (4, k)).astype(np.int16)  # uint8 minus its zero point
    assert np.array_equal(int_matmul(centred, b), _reference(centred, b))
    assert np.array_equal(int_matmul(a, b, chunk=1), _reference(a, b))


def test_int_matmul_refuses_floats_and_misaligned() -> None:
    with pytest.raises(TypeError, match="int_matmul: a must be an integer array"):
        int_matmul(np.ones((2, 2)), np.ones((2, 2), np.int8))
    with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(2, 3\)"):
        int_matmul(np.ones((2, 3), np.int8), np.ones((2, 3), np.int8))


def test_fake_quant_forward_and_ste_match_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.standard_normal(200) * 20, (np.arange(-40, 40) + 0.5) * 0.1])
    x = x.astype(np.float32)
    ours = Tensor(x, requires_grad=True)
    out = fake_quantize_per_tensor_affine(ours, 0.1, 3, -128, 127)
    g = rng.standard_normal(x.shape).astype(np.float32)
    out.backward(Tensor(g))
    ref_x = torch.tensor(x, requires_grad=True)
    ref = torch.fake_quantize_per_tensor_affine(ref_x, 0.1, 3, -128, 127)
    ref.backward(torch.tensor(g))
    assert np.array_equal(out.data, ref.detach().numpy())
    assert np.array_equal(ours.grad.data, ref_x.grad.numpy())
    # The straight-through gradient is exactly 1 inside the clamp range, exactly 0 outside.
    inside = (np.rint(x.astype(np.float64) * np.float32(1 / np.float32(0.1)) + 3) >= -128) & (
        np.rint(x.astype(np.float64) * np.float32(1 / np.float32(0.1)) + 3) <= 127
    )
    assert np.array_equal(ours.grad.data, np.where(inside, g, 0.0).astype(np.float32))
    assert inside.any()
    assert (~inside).any()

    w = rng.standard_normal((4, 6)).astype(np.float32)
    s, z = rng.uniform(0.01, 0.1, 4), rng.integers(-5, 5, 4)
    ow = Tensor(w, requires_grad=True)
    o = fake_quantize_per_channel_affine(ow, s, z, 0, -128, 127)
    o.sum().backward()
    rw = torch.tensor(w, requires_grad=True)
    r = torch.fake_quantize_per_channel_affine(
        rw, torch.tensor(s, dtype=torch.float32), torch.tensor(z, dtype=torch.int32), 0, -128, 127
    )
    r.sum().backward()
    assert np.array_equal(o.data, r.detach().numpy())
    assert np.array_equal(ow.grad.data, rw.grad.numpy())


def test_fake_quant_gradcheck_where_smooth() -> None:
    # Beyond the clamp range the op is constant: the rule's 0 is the true derivative.
    rng = np.random.default_rng(1)
    outside = Tensor(rng.uniform(20, 30, (3, 4)), dtype=float64, requires_grad=True)
    assert gradcheck(lambda x: fake_quantize_per_tensor_affine(x, 0.1, 0, -128, 127), [outside])
    assert gradcheck(
        lambda x: fake_quantize_per_channel_affine(x, [0.1] * 3, [0] * 3, 0, -128, 127),
        [outside],
    )
    # Downstream of the op everything is smooth: the gradient of a weight multiplying it.
    x = Tensor(rng.standard_normal((3, 4)), dtype=float64)
    w = Tensor(rng.standard_normal((3, 4)), dtype=float64, requires_grad=True)
    assert gradcheck(lambda w: fake_quantize_per_tensor_affine(x, 0.05, 2, -128, 127) * w, [w])
    # Inside the range the rounding is flat between steps (finite differences give 0), which
    # is why QAT needs the straight-through estimator: there the rule says 1, by design.
    inside = Tensor(np.full((2,), 0.123), dtype=float64, requires_grad=True)
    fake_quantize_per_tensor_affine(inside, 0.1, 0, -128, 127).sum().backward()
    assert inside.grad.tolist() == [1.0, 1.0]


def test_fake_quant_bad_input() -> None:
    x = Tensor([1.0])
    with pytest.raises(ValueError, match=r"fake_quantize_per_tensor_affine: scale must be .* -1.0"):
        fake_quantize_per_tensor_affine(x, -1.0, 0, -128, 127)
    with pytest.raises(ValueError, match="zero_point 200 is outside"):
        fake_quantize_per_tensor_affine(x, 1.0, 200, -128, 127)
    with pytest.raises(ValueError, match="non-finite"):
        fake_quantize_per_tensor_affine(Tensor([float("nan")]), 1.0, 0, -128, 127)
    with pytest.raises(IndexError, match="fake_quantize_per_channel_affine: axis 3"):
        fake_quantize_per_channel_affine(x, [1.0], [0], 3, -128, 127)
