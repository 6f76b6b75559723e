import numpy as np
import pytest

from tinytorch.autograd import gradcheck
from tinytorch.convolutions import BatchNorm1d, BatchNorm2d, batch_norm
from tinytorch.tensor import Generator, Tensor, float64, ones, randn, zeros


def test_training_normalizes_and_updates_running_stats_with_unbiased_variance():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 4, 5)) * [[[[2.0]], [[0.5]], [[3.0]]]] + [
        [[[1.0]], [[-2.0]], [[0.0]]]
    ]
    rm, rv = zeros(3, dtype=float64), ones(3, dtype=float64)
    w, b = Tensor([1.5, 2.0, 0.5], dtype=float64), Tensor([0.1, 0.2, 0.3], dtype=float64)
    out = batch_norm(Tensor(x), rm, rv, w, b, training=True, momentum=0.25, eps=1e-5)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    expect = (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5)
    expect = expect * w.data[:, None, None] + b.data[:, None, None]
    np.testing.assert_allclose(out.data, expect, atol=1e-12)
    m = x.size // 3
    np.testing.assert_allclose(rm.data, 0.25 * mean)
    np.testing.assert_allclose(rv.data, 0.75 + 0.25 * var * m / (m - 1))


def test_eval_uses_running_stats_and_leaves_them():
    x = randn(4, 2, 3, 3, dtype=float64)
    rm, rv = Tensor([1.0, -1.0], dtype=float64), Tensor([4.0, 0.25], dtype=float64)
    out = batch_norm(x, rm, rv, training=False, eps=0.0)
    expect = (x.data - rm.data[:, None, None]) / np.sqrt(rv.data)[:, None, None]
    np.testing.assert_allclose(out.data, expect)
    np.testing.assert_array_equal(rm.data, [1.0, -1.0])


@pytest.mark.parametrize("shape", [(4, 3, 3, 2), (5, 3), (3, 3, 4), (2, 1, 1, 3)])
@pytest.mark.parametrize("affine", [True, False])
def test_gradcheck_training(shape, affine):
    g = Generator(3)
    x = randn(*shape, dtype=float64, requires_grad=True, generator=g)
    if affine:
        w = randn(shape[1], dtype=float64, requires_grad=True, generator=g)
        b = randn(shape[1], dtype=float64, requires_grad=True, generator=g)
        assert gradcheck(lambda x, w, b: batch_norm(x, None, None, w, b, training=True), [x, w, b])
    else:
        assert gradcheck(lambda x: batch_norm(x, None, None, training=True), [x])


def test_gradcheck_eval():
    g = Generator(4)
    x = randn(3, 2, 2, 2, dtype=float64, requires_grad=True, generator=g)
    w = randn(2, dtype=float64, requires_grad=True, generator=g)
    b = randn(2, dtype=float64, requires_grad=True, generator=g)
    rm, rv = Tensor([0.3, -0.2], dtype=float64), Tensor([1.5, 0.7], dtype=float64)
    assert gradcheck(lambda x, w, b: batch_norm(x, rm, rv, w, b, training=False), [x, w, b])


def test_batch_norm_errors():
    with pytest.raises(
        ValueError,
        match=r"weight must have shape \(3,\) for input of shape \(2, 3, 4, 4\), got \(4,\)",
    ):
        batch_norm(randn(2, 3, 4, 4), None, None, ones(4), training=True)
    with pytest.raises(ValueError, match=r"more than 1 value per channel .* \(1, 3, 1, 1\)"):
        batch_norm(randn(1, 3, 1, 1), None, None, training=True)
    with pytest.raises(ValueError, match="needs running_mean and running_var"):
        batch_norm(randn(2, 3), None, None, training=False)
    with pytest.raises(ValueError, match=r"\(N, C, \.\.\.\) input, got shape \(3,\)"):
        batch_norm(randn(3), None, None, training=True)


def test_batchnorm2d_train_then_eval():
    bn = BatchNorm2d(3, momentum=0.5)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == [
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]
    x = randn(8, 3, 4, 4, generator=Generator(0)) * 3 + 2
    y = bn(x)
    np.testing.assert_allclose(y.data.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    batch_mean = x.data.mean(axis=(0, 2, 3))
    np.testing.assert_allclose(bn.running_mean.data, 0.5 * batch_mean, rtol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 1
    bn.eval()
    single = bn(x[:1])
    expect = (x.data[:1] - bn.running_mean.data[:, None, None]) / np.sqrt(
        bn.running_var.data[:, None, None] + 1e-5
    )
    np.testing.assert_allclose(single.data, expect, rtol=1e-5, atol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 1  # eval does not count batches


def test_momentum_none_is_a_cumulative_average():
    bn = BatchNorm2d(2, momentum=None)
    batches = [randn(4, 2, 3, 3, generator=Generator(k)) + k for k in range(3)]
    for b in batches:
        bn(b)
    means = np.mean([b.data.mean(axis=(0, 2, 3)) for b in batches], axis=0)
    np.testing.assert_allclose(bn.running_mean.data, means, rtol=1e-5)


def test_without_running_stats_always_uses_the_batch():
    bn = BatchNorm2d(2, track_running_stats=False, affine=False).eval()
    assert bn.running_mean is None
    assert list(bn.state_dict()) == []
    y = bn(randn(4, 2, 3, 3) * 5)
    np.testing.assert_allclose(y.data.mean(axis=(0, 2, 3)), 0, atol=1e-5)


def test_module_gradients_and_state_dict_round_trip():
    bn = BatchNorm2d(3)
    x = randn(4, 3, 2, 2, requires_grad=True)
    (bn(x) * randn(4, 3, 2, 2)).sum().backward()
    assert bn.weight.grad.shape == (3,)
    assert x.grad.shape == x.shape
    other = BatchNorm2d(3)
    other.load_state_dict(bn.state_dict())
    np.testing.assert_array_equal(other.running_var.data, bn.running_var.data)
    bn.reset_parameters()
    np.testing.assert_array_equal(bn.running_var.data, 1)
    assert int(bn.num_batches_tracked.item()) == 0


def test_module_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expects a 4-D input, got shape \(4, 3\)"):
        BatchNorm2d(3)(randn(4, 3))
    with pytest.raises(
        ValueError, match=r"input of shape \(4, 2, 3, 3\) has 2 channels, expected num_features=3"
    ):
        BatchNorm2d(3)(randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match="num_features must be positive"):
        BatchNorm2d(0)
    assert BatchNorm1d(3)(randn(4, 3, 5)).shape == (4, 3, 5)
    with pytest.raises(ValueError, match="2-D or 3-D"):
        BatchNorm1d(3)(randn(4, 3, 5, 5))
