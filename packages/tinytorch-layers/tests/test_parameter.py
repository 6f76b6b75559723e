"""Parameter: a leaf tensor that requires grad and shares its data."""

import numpy as np
import pytest

from tinytorch.layers import Parameter
from tinytorch.tensor import Tensor, float64, int64, ones


def test_requires_grad_and_is_a_leaf_tensor():
    p = Parameter(ones(2, 3))
    assert isinstance(p, Tensor)
    assert p.requires_grad
    assert p.is_leaf
    assert p.shape == (2, 3)


def test_shares_memory_with_its_source():
    array = np.zeros(3, dtype=np.float64)
    p = Parameter(array)
    array[0] = 5.0
    assert p.dtype == float64
    assert float(p.data[0]) == 5.0
    t = ones(2)
    assert np.shares_memory(Parameter(t).data, t.data)


def test_ops_on_a_parameter_give_plain_tensors():
    p = Parameter(ones(2))
    assert type(p * 2) is Tensor
    assert type(p.detach()) is Tensor


def test_requires_grad_false_and_integer_data():
    q = Parameter(Tensor([1, 2]), requires_grad=False)
    assert q.dtype == int64
    assert not q.requires_grad
    with pytest.raises(TypeError, match="Parameter: only floating-point"):
        Parameter(Tensor([1, 2]))


def test_empty_parameter():
    p = Parameter()
    assert p.shape == (0,)
    assert p.requires_grad


def test_repr_follows_pytorch():
    assert repr(Parameter(Tensor([1.0, 2.0]))) == (
        "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    )
