"""Dropout: inverted scaling, modes, seeding, edge probabilities."""

import numpy as np
import pytest

from tinytorch.layers import Dropout
from tinytorch.tensor import Generator, Tensor, float64, ones, randn


def test_train_mode_zeroes_a_fraction_p_and_scales_survivors():
    p = 0.3
    x = randn(200_000, generator=Generator(0))
    out = Dropout(p, generator=Generator(1))(x).data
    dropped = out == 0
    assert dropped.mean() == pytest.approx(p, abs=0.005)
    np.testing.assert_allclose(out[~dropped], x.data[~dropped] / (1 - p), rtol=1e-6)


def test_expected_value_is_preserved():
    out = Dropout(0.5, generator=Generator(2))(ones(100_000))
    assert out.data.mean() == pytest.approx(1.0, abs=0.02)
    assert set(np.unique(out.data)) == {0.0, 2.0}


def test_eval_mode_and_p_zero_are_the_identity():
    x = randn(4, 5)
    drop = Dropout(0.9).eval()
    assert drop(x) is x
    assert Dropout(0.0)(x) is x


def test_p_one_drops_everything():
    out = Dropout(1.0)(randn(3, 4))
    assert out.shape == (3, 4)
    assert not out.data.any()


def test_same_seed_same_mask_and_fresh_masks_per_call():
    x = ones(1000)
    a = Dropout(0.5, generator=Generator(3))
    b = Dropout(0.5, generator=Generator(3))
    first = a(x).data
    np.testing.assert_array_equal(first, b(x).data)
    assert not np.array_equal(first, a(x).data)


def test_keeps_the_input_dtype():
    out = Dropout(0.25)(Tensor(np.ones(8)))
    assert out.dtype == float64
    assert set(np.unique(out.data)) <= {0.0, 4.0 / 3.0}


@pytest.mark.parametrize("p", [-0.1, 1.5, True, "0.5", float("nan")])
def test_probability_outside_unit_interval_is_refused(p):
    with pytest.raises(ValueError, match=r"Dropout: probability p must be in \[0, 1\]"):
        Dropout(p)


def test_bad_input_is_refused():
    with pytest.raises(TypeError, match="floating"):
        Dropout(0.5)(Tensor([1, 2]))
    with pytest.raises(TypeError, match="Tensor"):
        Dropout(0.5)(np.ones(2))


def test_repr_and_no_parameters():
    drop = Dropout(0.2)
    assert repr(drop) == "Dropout(p=0.2)"
    assert list(drop.parameters()) == []
