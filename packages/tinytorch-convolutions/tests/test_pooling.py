import numpy as np
import pytest

from tinytorch.autograd import gradcheck
from tinytorch.convolutions import AvgPool2d, MaxPool2d, avg_pool2d, max_pool2d
from tinytorch.tensor import Generator, Tensor, arange, float64, randn


def reference_pool(x, k, s, p, reduce, pad_value, count_include_pad=True):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=pad_value)
    real = np.pad(np.ones((h, w)), ((p[0], p[0]), (p[1], p[1])))
    ho, wo = (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            rows, cols = slice(i * s[0], i * s[0] + k[0]), slice(j * s[1], j * s[1] + k[1])
            patch = xp[:, :, rows, cols]
            if reduce == "max":
                out[:, :, i, j] = patch.max(axis=(2, 3))
            else:
                count = k[0] * k[1] if count_include_pad else real[rows, cols].sum()
                out[:, :, i, j] = patch.sum(axis=(2, 3)) / count
    return out


POOLS = [
    # kernel, stride, padding, input shape
    ((2, 2), (2, 2), (0, 0), (2, 3, 6, 6)),
    ((3, 3), (2, 2), (1, 1), (2, 2, 7, 6)),
    ((3, 2), (1, 2), (1, 0), (1, 2, 5, 5)),
    ((2, 2), (2, 2), (0, 0), (1, 1, 5, 7)),  # the last row and column fit no window
    ((1, 1), (1, 1), (0, 0), (2, 1, 3, 3)),
    ((2, 2), (3, 3), (0, 0), (1, 2, 7, 8)),  # gaps between the windows
]


@pytest.mark.parametrize(("k", "s", "p", "shape"), POOLS)
def test_max_pool_forward_and_gradcheck(k, s, p, shape):
    x = randn(*shape, dtype=float64, requires_grad=True, generator=Generator(0))
    np.testing.assert_allclose(
        max_pool2d(x, k, s, p).data, reference_pool(x.data, k, s, p, "max", -np.inf)
    )
    assert gradcheck(lambda x: max_pool2d(x, k, s, p), [x])


@pytest.mark.parametrize(("k", "s", "p", "shape"), POOLS)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_forward_and_gradcheck(k, s, p, shape, count_include_pad):
    x = randn(*shape, dtype=float64, requires_grad=True, generator=Generator(0))
    expect = reference_pool(x.data, k, s, p, "avg", 0.0, count_include_pad)
    np.testing.assert_allclose(
        avg_pool2d(x, k, s, p, count_include_pad=count_include_pad).data, expect
    )
    assert gradcheck(lambda x: avg_pool2d(x, k, s, p, count_include_pad=count_include_pad), [x])


def test_max_pool_gradient_goes_to_the_first_of_tied_maxima():
    x = Tensor(np.ones((1, 1, 2, 2), dtype=np.float32), requires_grad=True)
    max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], [[1, 0], [0, 0]])


def test_overlapping_windows_accumulate_gradient():
    x = Tensor(np.arange(9.0).reshape(1, 1, 3, 3), requires_grad=True)
    max_pool2d(x, 2, stride=1).sum().backward()  # each window's max is its bottom-right pixel
    np.testing.assert_array_equal(x.grad.data[0, 0], [[0, 0, 0], [0, 1, 1], [0, 1, 1]])
    y = Tensor(np.zeros((1, 1, 3, 3)), requires_grad=True)
    avg_pool2d(y, 2, stride=1).sum().backward()
    np.testing.assert_allclose(y.grad.data[0, 0], np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 4)


def test_known_values_and_dtype():
    x = arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(max_pool2d(x, 2).data[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(avg_pool2d(x, 2).data[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    assert max_pool2d(x, 2).dtype == np.float32
    assert avg_pool2d(x, 2).dtype == np.float32


def test_pooling_errors_name_the_shapes():
    with pytest.raises(
        ValueError, match=r"padding \(2, 2\) must be at most half the kernel size \(3, 3\)"
    ):
        max_pool2d(randn(1, 1, 8, 8), 3, padding=2)
    with pytest.raises(
        ValueError, match=r"avg_pool2d: expects a \(N, C, H, W\) input, got shape \(8, 8\)"
    ):
        avg_pool2d(randn(8, 8), 2)
    with pytest.raises(
        ValueError, match=r"larger than the padded input: input shape \(1, 1, 2, 2\)"
    ):
        max_pool2d(randn(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        MaxPool2d(0)


def test_pool_layers():
    x = randn(2, 3, 8, 8)
    assert MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert MaxPool2d(3, stride=1, padding=1)(x).shape == (2, 3, 8, 8)
    np.testing.assert_array_equal(AvgPool2d(2)(x).data, avg_pool2d(x, 2).data)
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert list(MaxPool2d(2).parameters()) == []


def test_max_pool_propagates_nan_like_pytorch():
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)
    x[0, 0, 1, 2] = np.nan
    out = max_pool2d(Tensor(x), 2).data[0, 0]
    assert np.isnan(out[0, 1])
    assert np.count_nonzero(np.isnan(out)) == 1


def test_max_pool_gradient_of_a_nan_window_goes_to_its_last_nan_like_pytorch():
    x = np.zeros((1, 1, 2, 2), dtype=np.float32)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan
    t = Tensor(x, requires_grad=True)
    max_pool2d(t, 2).sum().backward()
    np.testing.assert_array_equal(t.grad.data[0, 0], [[0, 0], [1, 0]])


def test_max_pool_padding_never_wins_over_negative_inputs():
    x = Tensor(-np.ones((1, 1, 3, 3), dtype=np.float32) * 5)
    np.testing.assert_array_equal(max_pool2d(x, 3, stride=1, padding=1).data, -5.0)
