import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinytorch.autograd import gradcheck
from tinytorch.convolutions import Conv2d, conv2d
from tinytorch.tensor import Generator, Tensor, float64, randn


def reference_conv(x, w, b, stride, padding, dilation):
    """Direct definition of cross-correlation (slow loops: test-only)."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, _c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[
                :,
                :,
                i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                j * sw : j * sw + dw * (kw - 1) + 1 : dw,
            ]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    if b is not None:
        out += b[None, :, None, None]
    return out


CONFIGS = [
    # (input shape, weight shape, stride, padding, dilation)
    ((2, 3, 7, 6), (4, 3, 3, 3), (1, 1), (0, 0), (1, 1)),
    ((2, 3, 7, 6), (4, 3, 3, 2), (2, 1), (1, 2), (1, 2)),
    ((1, 2, 9, 9), (3, 2, 3, 3), (3, 3), (2, 2), (2, 2)),
    ((3, 1, 5, 5), (2, 1, 1, 1), (1, 1), (0, 0), (1, 1)),
    ((2, 2, 1, 6), (2, 2, 1, 3), (1, 2), (0, 1), (1, 1)),
    ((1, 1, 4, 4), (1, 1, 4, 4), (1, 1), (0, 0), (1, 1)),
]


@pytest.mark.parametrize(("xs", "ws", "stride", "padding", "dilation"), CONFIGS)
def test_forward_matches_the_definition(xs, ws, stride, padding, dilation):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    out = conv2d(Tensor(x), Tensor(w), Tensor(b), stride, padding, dilation)
    np.testing.assert_allclose(
        out.data, reference_conv(x, w, b, stride, padding, dilation), atol=1e-12
    )
    assert out.dtype == np.float64


@pytest.mark.parametrize(("xs", "ws", "stride", "padding", "dilation"), CONFIGS)
@pytest.mark.parametrize("with_bias", [True, False])
def test_gradcheck(xs, ws, stride, padding, dilation, with_bias):
    g = Generator(1)
    x = randn(*xs, dtype=float64, requires_grad=True, generator=g)
    w = randn(*ws, dtype=float64, requires_grad=True, generator=g)
    if with_bias:
        b = randn(ws[0], dtype=float64, requires_grad=True, generator=g)
        assert gradcheck(lambda x, w, b: conv2d(x, w, b, stride, padding, dilation), [x, w, b])
    else:
        assert gradcheck(lambda x, w: conv2d(x, w, None, stride, padding, dilation), [x, w])


def test_float32_stays_float32_and_input_grad_is_skipped_when_not_needed():
    x = randn(2, 3, 5, 5)
    w = randn(4, 3, 3, 3, requires_grad=True)
    out = conv2d(x, w, padding=1)
    assert out.dtype == np.float32
    assert out.shape == (2, 4, 5, 5)
    out.sum().backward()
    assert w.grad is not None
    assert w.grad.dtype == np.float32
    assert x.grad is None


def test_conv2d_errors_name_the_shapes():
    x, w = randn(2, 3, 5, 5), randn(4, 2, 3, 3)
    with pytest.raises(
        ValueError,
        match=r"conv2d: input of shape \(2, 3, 5, 5\) has 3 channels but weight of shape "
        r"\(4, 2, 3, 3\) expects 2",
    ):
        conv2d(x, w)
    with pytest.raises(
        ValueError, match=r"conv2d: expects a \(N, C, H, W\) input, got shape \(3, 5, 5\)"
    ):
        conv2d(randn(3, 5, 5), randn(4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"weight must be a 4-D .* got \(4, 27\)"):
        conv2d(x, randn(4, 27))
    with pytest.raises(
        ValueError, match=r"larger than the padded input: input shape \(2, 3, 5, 5\)"
    ):
        conv2d(x, randn(4, 3, 7, 7))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\)"):
        conv2d(x, randn(4, 3, 3, 3), randn(3))
    with pytest.raises(TypeError, match="dtype float64 and weight dtype float32"):
        conv2d(randn(2, 3, 5, 5, dtype=float64), randn(4, 3, 3, 3))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        conv2d(x, randn(4, 3, 3, 3), stride=0)
    with pytest.raises(TypeError, match="padding must be an int or a pair"):
        conv2d(x, randn(4, 3, 3, 3), padding=(1, 1, 1))
    with pytest.raises(TypeError, match="floating input"):
        conv2d(Tensor(np.zeros((1, 3, 5, 5), dtype=np.int64)), randn(4, 3, 3, 3))


def test_conv2d_layer_shapes_init_and_repr():
    conv = Conv2d(3, 8, (3, 5), stride=2, padding=(1, 2), generator=Generator(0))
    assert conv.weight.shape == (8, 3, 3, 5)
    assert conv.bias.shape == (8,)
    bound = 1 / math.sqrt(3 * 3 * 5)
    assert np.abs(conv.weight.data).max() <= bound
    assert np.abs(conv.bias.data).max() <= bound
    # Uniform on [-bound, bound]: the sample spread is close to bound / sqrt(3).
    assert abs(conv.weight.data.std() - bound / math.sqrt(3)) < 0.15 * bound
    assert conv(randn(4, 3, 10, 10)).shape == (4, 8, 5, 5)
    assert repr(conv) == "Conv2d(3, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 2))"
    assert list(conv.state_dict()) == ["weight", "bias"]
    same = Conv2d(3, 8, (3, 5), generator=Generator(0))
    np.testing.assert_array_equal(same.weight.data, conv.weight.data)


def test_conv2d_layer_without_bias_and_errors():
    conv = Conv2d(2, 4, 3, bias=False, dilation=2)
    assert conv.bias is None
    assert [n for n, _ in conv.named_parameters()] == ["weight"]
    assert "bias=False" in repr(conv)
    assert "dilation=(2, 2)" in repr(conv)
    with pytest.raises(
        ValueError,
        match=r"Conv2d: input of shape \(1, 3, 8, 8\) has 3 channels, the layer expects "
        r"in_channels=2",
    ):
        conv(randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match="out_channels must be a positive int"):
        Conv2d(2, 0, 3)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        Conv2d(2, 4, 0)
    with pytest.raises(TypeError, match="dtype must be floating"):
        Conv2d(2, 4, 3, dtype=np.int64)


def test_conv2d_layer_trains_in_float64_gradcheck():
    conv = Conv2d(2, 3, 3, padding=1, generator=Generator(2)).double()
    x = randn(2, 2, 4, 4, dtype=float64, requires_grad=True)
    assert gradcheck(lambda x, w, b: conv2d(x, w, b, 1, 1, 1), [x, conv.weight, conv.bias])


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    o=st.integers(1, 3),
    size=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
)
def test_forward_matches_the_definition_for_random_configurations(
    n, c, o, size, kernel, stride, padding, dilation
):
    span = [d * (k - 1) + 1 for d, k in zip(dilation, kernel, strict=True)]
    assume(all(s + 2 * p >= k for s, p, k in zip(size, padding, span, strict=True)))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, *size))
    w = rng.standard_normal((o, c, *kernel))
    out = conv2d(Tensor(x), Tensor(w), None, stride, padding, dilation)
    expect = reference_conv(x, w, None, stride, padding, dilation)
    np.testing.assert_allclose(out.data, expect, atol=1e-12)
