import numpy as np
import pytest

from tinytorch.convolutions import Conv2d, Flatten
from tinytorch.layers import Linear, Sequential
from tinytorch.tensor import Generator, randn, zeros


def test_shapes():
    x = zeros(2, 3, 4, 5)
    assert Flatten()(x).shape == (2, 60)
    assert Flatten(0)(x).shape == (120,)
    assert Flatten(1, 2)(x).shape == (2, 12, 5)
    assert Flatten(-2)(x).shape == (2, 3, 20)
    y = randn(2, 3, 4)
    np.testing.assert_array_equal(Flatten()(y).data, y.data.reshape(2, 12))


def test_conv_layers_before_flatten_receive_gradients():
    # The original TinyTorch CNN milestone lost its conv gradients at the flatten: not here.
    g = Generator(0)
    net = Sequential(Conv2d(1, 2, 3, generator=g), Flatten(), Linear(2 * 4 * 4, 3, generator=g))
    net(randn(5, 1, 6, 6)).sum().backward()
    conv = net[0]
    assert conv.weight.grad is not None
    assert np.abs(conv.weight.grad.data).sum() > 0


def test_errors():
    with pytest.raises(
        IndexError, match=r"start_dim=4, end_dim=-1 out of range for input of shape \(2, 3\)"
    ):
        Flatten(4)(zeros(2, 3))
    with pytest.raises(ValueError, match="start_dim=2 comes after end_dim=1"):
        Flatten(2, 1)(zeros(2, 3, 4))
    assert repr(Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
