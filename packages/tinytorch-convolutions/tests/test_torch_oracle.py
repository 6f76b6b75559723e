"""PyTorch as the oracle for forward and backward (skipped where torch is not importable)."""

import numpy as np
import pytest

from tinytorch.convolutions import BatchNorm2d, Conv2d, avg_pool2d, batch_norm, conv2d, max_pool2d
from tinytorch.tensor import Tensor

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def both(shape, rng):
    a = rng.standard_normal(shape)
    return Tensor(a.copy(), requires_grad=True), torch.tensor(a, requires_grad=True)


def compare(ours, theirs, pairs, rng):
    upstream = rng.standard_normal(ours.shape)
    ours.backward(upstream)
    theirs.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-10)
    for a, b in pairs:
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    ("stride", "padding", "dilation"), [(1, 0, 1), (1, 1, 1), ((2, 1), (1, 2), (1, 2)), (3, 2, 2)]
)
def test_conv2d(stride, padding, dilation):
    rng = np.random.default_rng(0)
    (x, tx), (w, tw), (b, tb) = both((2, 3, 9, 8), rng), both((4, 3, 3, 2), rng), both((4,), rng)
    compare(
        conv2d(x, w, b, stride, padding, dilation),
        TF.conv2d(tx, tw, tb, stride, padding, dilation),
        [(x, tx), (w, tw), (b, tb)],
        rng,
    )


@pytest.mark.parametrize(("k", "s", "p"), [(2, None, 0), (3, 2, 1), ((3, 2), (1, 2), (1, 0))])
def test_pooling(k, s, p):
    rng = np.random.default_rng(1)
    x, tx = both((2, 3, 7, 6), rng)
    compare(max_pool2d(x, k, s, p), TF.max_pool2d(tx, k, s, p), [(x, tx)], rng)
    for include in (True, False):
        x, tx = both((2, 3, 7, 6), rng)
        compare(
            avg_pool2d(x, k, s, p, count_include_pad=include),
            TF.avg_pool2d(tx, k, s, p, count_include_pad=include),
            [(x, tx)],
            rng,
        )


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm(training):
    rng = np.random.default_rng(2)
    (x, tx), (w, tw), (b, tb) = both((4, 3, 5, 5), rng), both((3,), rng), both((3,), rng)
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    ours_rm, ours_rv = Tensor(rm.copy()), Tensor(rv.copy())
    theirs_rm, theirs_rv = torch.tensor(rm.copy()), torch.tensor(rv.copy())
    compare(
        batch_norm(x, ours_rm, ours_rv, w, b, training, 0.3, 1e-4),
        TF.batch_norm(tx, theirs_rm, theirs_rv, tw, tb, training, 0.3, 1e-4),
        [(x, tx), (w, tw), (b, tb)],
        rng,
    )
    np.testing.assert_allclose(ours_rm.data, theirs_rm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_rv.data, theirs_rv.numpy(), rtol=1e-12)


def test_layers_load_pytorch_weights_and_agree():
    torch.manual_seed(0)
    t_conv, t_bn = torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4)
    t_bn(t_conv(torch.randn(8, 3, 6, 6)))  # move the running stats off their defaults
    conv, bn = Conv2d(3, 4, 3, padding=1), BatchNorm2d(4)
    conv.load_state_dict({k: v.detach().numpy() for k, v in t_conv.state_dict().items()})
    bn.load_state_dict({k: v.detach().numpy() for k, v in t_bn.state_dict().items()})
    t_bn.eval()
    bn.eval()
    x = np.random.default_rng(3).standard_normal((2, 3, 6, 6)).astype(np.float32)
    ours = bn(conv(Tensor(x))).data
    theirs = t_bn(t_conv(torch.tensor(x))).detach().numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_conv2d_init_matches_pytorch_bounds():
    t_conv = torch.nn.Conv2d(6, 16, 5)
    conv = Conv2d(6, 16, 5)
    t_bound = float(t_conv.weight.detach().abs().max())
    bound = 1 / np.sqrt(6 * 25)
    assert t_bound <= bound
    assert float(np.abs(conv.weight.data).max()) <= bound
    assert abs(float(np.abs(conv.weight.data).max()) - t_bound) < 0.05 * bound
