"""Linear and Identity against NumPy."""

import math

import numpy as np
import pytest

from tinytorch.layers import Identity, Linear
from tinytorch.tensor import Generator, Tensor, float32, float64, randn


def reference(layer, x):
    out = x @ layer.weight.data.T
    return out if layer.bias is None else out + layer.bias.data


def test_parameter_shapes_follow_pytorch():
    layer = Linear(5, 3)
    assert layer.weight.shape == (3, 5)
    assert layer.bias.shape == (3,)
    assert layer.weight.dtype == float32
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]


def test_init_is_uniform_within_one_over_sqrt_in_features():
    layer = Linear(256, 64, generator=Generator(0))
    bound = 1 / math.sqrt(256)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound
        # Spread over the whole interval, not squeezed near 0 (U(-b, b) has std b / sqrt(3)).
        assert np.abs(p.data).max() > 0.9 * bound
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert abs(layer.weight.data.mean()) < 0.05 * bound


def test_generator_makes_init_reproducible():
    a = Linear(4, 3, generator=Generator(7))
    b = Linear(4, 3, generator=Generator(7))
    c = Linear(4, 3, generator=Generator(8))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, c.weight.data)
    a.reset_parameters(Generator(8))
    np.testing.assert_array_equal(a.weight.data, c.weight.data)


@pytest.mark.parametrize("shape", [(4,), (6, 4), (2, 3, 4), (2, 1, 5, 4)])
def test_forward_matches_numpy_for_any_leading_dims(shape):
    layer = Linear(4, 3, generator=Generator(1))
    x = randn(*shape, generator=Generator(2))
    out = layer(x)
    assert out.shape == (*shape[:-1], 3)
    assert out.dtype == float32
    np.testing.assert_allclose(out.data, reference(layer, x.data), rtol=1e-6, atol=1e-6)


def test_hand_computed_values():
    layer = Linear(2, 2)
    layer.weight.data[...] = [[1.0, 2.0], [-1.0, 0.5]]
    layer.bias.data[...] = [0.5, -1.0]
    out = layer(Tensor([[1.0, 1.0], [2.0, -2.0]]))
    np.testing.assert_allclose(out.data, [[3.5, -1.5], [-1.5, -4.0]])


def test_no_bias():
    layer = Linear(3, 2, bias=False)
    assert layer.bias is None
    assert list(layer.state_dict()) == ["weight"]
    x = randn(4, 3)
    np.testing.assert_allclose(layer(x).data, x.data @ layer.weight.data.T, rtol=1e-6)
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"


def test_float64_layer():
    layer = Linear(3, 2, dtype=float64)
    assert layer.weight.dtype == float64
    assert layer.bias.dtype == float64
    assert layer(randn(2, 3, dtype=float64)).dtype == float64


def test_zero_in_features_gives_the_bias():
    layer = Linear(0, 3)
    assert layer.weight.shape == (3, 0)
    assert not layer.bias.data.any()
    np.testing.assert_array_equal(layer(Tensor(np.zeros((2, 0), np.float32))).data, 0.0)


def test_wrong_last_dimension_names_shapes():
    layer = Linear(4, 3)
    with pytest.raises(
        ValueError, match=r"Linear: input of shape \(2, 5\).*in_features=4.*\(3, 4\)"
    ):
        layer(randn(2, 5))
    with pytest.raises(ValueError, match=r"shape \(\)"):
        layer(Tensor(1.0))


def test_dtype_mismatch_and_non_tensor_input_are_refused():
    layer = Linear(2, 1)
    with pytest.raises(TypeError, match="input dtype float64 does not match weight dtype float32"):
        layer(Tensor(np.ones((1, 2))))
    with pytest.raises(TypeError, match="int64"):
        layer(Tensor([[1, 2]]))
    with pytest.raises(TypeError, match="expects a Tensor"):
        layer(np.ones((1, 2), np.float32))


@pytest.mark.parametrize("bad", [-1, 2.5, True, "3"])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(ValueError, match="Linear: in_features"):
        Linear(bad, 2)
    with pytest.raises(ValueError, match="Linear: out_features"):
        Linear(2, bad)


def test_integer_dtype_is_refused():
    with pytest.raises(TypeError, match="floating"):
        Linear(2, 2, dtype=np.int64)


def test_identity_returns_its_input_and_ignores_arguments():
    x = randn(3)
    layer = Identity(5, anything="goes")
    assert layer(x) is x
    assert list(layer.parameters()) == []
    assert repr(layer) == "Identity()"
