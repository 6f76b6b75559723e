"""to_numpy: the one route by which foreign arrays (a PyTorch state dict) come in."""

import numpy as np
import pytest

from tinytorch.tensor import Tensor, to_numpy, type_name


def test_tensors_and_arrays_come_back_sharing_memory():
    a = np.arange(3.0)
    assert to_numpy(a) is a
    t = Tensor(a)
    assert to_numpy(t) is t.data


def test_an_object_with_only_array_is_read_through_it():
    class OnlyArray:
        def __array__(self, dtype=None, copy=None):
            return np.ones(2, dtype=np.float32)

    np.testing.assert_array_equal(to_numpy(OnlyArray()), np.ones(2, dtype=np.float32))


@pytest.mark.parametrize("value", ["abc", [1.0, 2.0], None, 3.5])
def test_plain_python_values_are_refused_by_their_full_type(value):
    with pytest.raises(TypeError, match=f"got {type_name(value)}$"):
        to_numpy(value)


def test_an_export_that_fails_is_reported_with_its_reason():
    class Broken:
        def __array__(self, dtype=None, copy=None):
            raise ValueError("no values today")

    with pytest.raises(TypeError, match=r"__array__: ValueError: no values today"):
        to_numpy(Broken())


def test_torch_tensors_that_require_grad_are_read_and_bfloat16_is_refused():
    torch = pytest.importorskip("torch")
    w = torch.nn.Parameter(torch.arange(4.0).reshape(2, 2))
    np.testing.assert_array_equal(to_numpy(w), np.arange(4.0, dtype=np.float32).reshape(2, 2))
    with pytest.raises(TypeError, match=r"cannot read a torch\.Tensor as an array"):
        to_numpy(torch.zeros(2, dtype=torch.bfloat16))
