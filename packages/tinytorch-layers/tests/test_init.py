"""Weight initialisation: bounds, statistics, fans, seeding, errors."""

import math

import numpy as np
import pytest

from tinytorch.layers import init
from tinytorch.tensor import Generator, ones, zeros


def test_fills_in_place_and_returns_the_same_tensor():
    t = zeros(3, 4)
    data = t.data
    assert init.ones_(t) is t
    assert t.data is data
    assert (t.data == 1).all()
    assert init.zeros_(t) is t
    assert not t.data.any()
    init.constant_(t, 0.25)
    assert (t.data == 0.25).all()


def test_uniform_and_normal_statistics():
    t = init.uniform_(zeros(100_000), -2.0, 3.0, generator=Generator(0))
    assert t.data.min() >= -2.0
    assert t.data.max() < 3.0
    assert t.data.mean() == pytest.approx(0.5, abs=0.03)
    n = init.normal_(zeros(100_000), mean=1.0, std=0.02, generator=Generator(0))
    assert n.data.mean() == pytest.approx(1.0, abs=1e-3)
    assert n.data.std() == pytest.approx(0.02, rel=0.02)
    assert n.dtype == np.float32


def test_kaiming_uniform_with_sqrt5_is_one_over_sqrt_fan_in():
    w = init.kaiming_uniform_(zeros(512, 64), a=math.sqrt(5), generator=Generator(0))
    bound = 1 / math.sqrt(64)
    assert np.abs(w.data).max() <= bound
    assert np.abs(w.data).max() > 0.99 * bound


def test_kaiming_uniform_default_and_fan_out():
    # gain sqrt(2) for a=0: bound = sqrt(2) * sqrt(3 / fan)
    w = init.kaiming_uniform_(zeros(16, 400), generator=Generator(0))
    assert np.abs(w.data).max() == pytest.approx(math.sqrt(6 / 400), rel=0.01)
    w = init.kaiming_uniform_(zeros(16, 400), mode="fan_out", generator=Generator(0))
    assert np.abs(w.data).max() == pytest.approx(math.sqrt(6 / 16), rel=0.05)


def test_kaiming_normal_std():
    w = init.kaiming_normal_(zeros(1000, 200), nonlinearity="relu", generator=Generator(0))
    assert w.data.std() == pytest.approx(math.sqrt(2 / 200), rel=0.02)


def test_xavier_bounds_and_std():
    w = init.xavier_uniform_(zeros(300, 100), generator=Generator(0))
    bound = math.sqrt(6 / 400)
    assert np.abs(w.data).max() <= bound
    assert np.abs(w.data).max() > 0.99 * bound
    w = init.xavier_normal_(zeros(300, 100), gain=2.0, generator=Generator(0))
    assert w.data.std() == pytest.approx(2 * math.sqrt(2 / 400), rel=0.02)


def test_fans_count_the_receptive_field():
    # A conv weight (out=8, in=3, 5x5): fan_in = 75, fan_out = 200.
    w = init.kaiming_uniform_(zeros(8, 3, 5, 5), a=math.sqrt(5), generator=Generator(0))
    assert np.abs(w.data).max() <= 1 / math.sqrt(75)
    assert np.abs(w.data).max() > 0.95 / math.sqrt(75)
    w = init.xavier_uniform_(zeros(8, 3, 5, 5), generator=Generator(0))
    assert np.abs(w.data).max() <= math.sqrt(6 / 275)


def test_seeded_is_reproducible():
    a = init.normal_(zeros(10), generator=Generator(4))
    b = init.normal_(zeros(10), generator=Generator(4))
    np.testing.assert_array_equal(a.data, b.data)


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_errors():
    with pytest.raises(ValueError, match=r"kaiming_uniform_: .*at least 2 dimensions.*\(5,\)"):
        init.kaiming_uniform_(zeros(5))
    with pytest.raises(ValueError, match="xavier_normal_"):
        init.xavier_normal_(zeros(5))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(zeros(2, 2), mode="fan_avg")
    with pytest.raises(ValueError, match="lower bound"):
        init.uniform_(zeros(2), 1.0, 0.0)
    with pytest.raises(ValueError, match="std"):
        init.normal_(zeros(2), std=-1.0)
    with pytest.raises(ValueError, match="read-only"):
        init.zeros_(ones(3).expand(2, 3))
    with pytest.raises(TypeError, match="expects a Tensor"):
        init.zeros_(np.zeros(3))


def test_zero_element_weight_is_a_no_op():
    w = zeros(4, 0)
    assert init.kaiming_uniform_(w) is w
