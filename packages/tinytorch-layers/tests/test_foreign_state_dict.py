"""load_state_dict takes NumPy arrays and other libraries' tensors (__array__, __dlpack__)."""

import numpy as np
import pytest

from tinytorch.layers import Linear, StateDictError
from tinytorch.tensor import Generator, Tensor


class ArrayOnly:
    """An array-like that only offers __array__ (as many libraries' tensors do)."""

    def __init__(self, array):
        self.array = array

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)


class DLPackOnly:
    """An array-like that only offers the DLPack protocol."""

    def __init__(self, array):
        self.array = array

    def __dlpack__(self, **kwargs):
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


class Broken:
    """Claims __array__ but cannot deliver."""

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("device memory is gone")


def weights():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3, 2)), rng.standard_normal(3)


@pytest.mark.parametrize("wrap", [np.asarray, ArrayOnly, DLPackOnly, Tensor])
def test_array_likes_load_and_are_cast_to_the_parameter_dtype(wrap):
    w, b = weights()
    layer = Linear(2, 3, generator=Generator(0))
    weight_object = layer.weight
    layer.load_state_dict({"weight": wrap(w), "bias": wrap(b)})
    assert layer.weight is weight_object  # in place: an optimizer's references stay valid
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.data, w.astype(np.float32))
    np.testing.assert_array_equal(layer.bias.data, b.astype(np.float32))
    # a copy, not a view of the source
    assert not np.shares_memory(layer.weight.data, w)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", r"weight: expected a Tensor, a numpy array .* got builtins\.str"),
        ([[1.0, 2.0]] * 3, r"got builtins\.list"),
        (None, r"got builtins\.NoneType"),
        (Broken(), r"cannot read a .*test_foreign_state_dict\.Broken as an array .*device memory"),
        (np.array([["a", "b"]] * 3), "cannot load values of dtype <U1"),
    ],
)
def test_what_cannot_be_read_is_refused_by_its_full_type_and_nothing_changes(value, message):
    layer = Linear(2, 3, generator=Generator(0))
    before = {k: v.data.copy() for k, v in layer.state_dict().items()}
    _, b = weights()
    with pytest.raises(StateDictError, match=message):
        layer.load_state_dict({"weight": value, "bias": b})
    for key, array in layer.state_dict().items():
        np.testing.assert_array_equal(array.data, before[key])


def test_a_torch_state_dict_loads_directly_and_outputs_match():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Linear(5, 4)
    ours = Linear(5, 4, generator=Generator(1))
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(1).standard_normal((6, 5)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(Tensor(x)).data, expected, rtol=1e-6, atol=1e-6)


def test_strided_and_float64_torch_tensors_load_by_value():
    torch = pytest.importorskip("torch")
    ours = Linear(3, 2)
    transposed = torch.arange(6.0, dtype=torch.float64).reshape(3, 2).t()  # a strided view
    ours.load_state_dict({"weight": transposed, "bias": torch.tensor([1.0, 2.0])})
    np.testing.assert_array_equal(ours.weight.data, transposed.numpy().astype(np.float32))
    assert ours.weight.dtype == np.float32


def test_torch_tensors_that_require_grad_load_through_detach():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Linear(3, 2)
    # keep_vars gives the Parameters themselves, which require grad and refuse .numpy()
    state = theirs.state_dict(keep_vars=True)
    assert state["weight"].requires_grad
    ours = Linear(3, 2)
    ours.load_state_dict(state)
    np.testing.assert_array_equal(ours.weight.data, theirs.weight.detach().numpy())
    np.testing.assert_array_equal(ours.bias.data, theirs.bias.detach().numpy())
    assert theirs.weight.requires_grad  # the source is left as it was


def test_torch_values_that_cannot_be_read_are_refused_naming_torch_tensor():
    torch = pytest.importorskip("torch")
    ours = Linear(3, 2)
    before = ours.weight.data.copy()
    state = {"weight": torch.ones(2, 3, dtype=torch.bfloat16), "bias": torch.zeros(2)}
    with pytest.raises(StateDictError, match=r"weight: cannot read a torch\.Tensor as an array"):
        ours.load_state_dict(state)
    np.testing.assert_array_equal(ours.weight.data, before)
    meta = {"weight": torch.empty(2, 3, device="meta"), "bias": torch.zeros(2)}
    with pytest.raises(StateDictError, match=r"weight: cannot read a torch\.Tensor .*meta"):
        ours.load_state_dict(meta)
    with pytest.raises(StateDictError, match=r"size mismatch for bias"):
        ours.load_state_dict({"weight": torch.ones(2, 3), "bias": torch.zeros(3)})
    np.testing.assert_array_equal(ours.weight.data, before)


def test_a_load_bumps_the_versions_a_recorded_graph_compares():
    """load_state_dict writes the parameters in place, so it must bump their versions: that is
    how a backward through a graph recorded before the load refuses (tested in autograd)."""
    layer = Linear(2, 1, generator=Generator(0))
    before = (layer.weight._version, layer.bias._version)
    w, b = weights()
    layer.load_state_dict({"weight": w[:1], "bias": b[:1]})
    assert layer.weight._version == before[0] + 1
    assert layer.bias._version == before[1] + 1
