"""Sequential and ModuleList."""

from collections import OrderedDict

import numpy as np
import pytest

from tinytorch.activations import ReLU, Sigmoid
from tinytorch.layers import Dropout, Identity, Linear, Module, ModuleList, Sequential
from tinytorch.tensor import Generator, Tensor, randn


def relu(x):
    return x * (x > 0).float()


class Tanh:
    """An activation object in the style of module 02: a plain callable with a forward."""

    def forward(self, x):
        return Tensor(np.tanh(x.data))

    def __call__(self, x):
        return self.forward(x)


def layers():
    g = Generator(0)
    return Linear(3, 5, generator=g), Linear(5, 2, generator=g)


def test_forward_composes_layers_and_plain_callables():
    a, b = layers()
    model = Sequential(a, relu, b, Tanh())
    x = randn(4, 3, generator=Generator(1))
    hidden = np.maximum(x.data @ a.weight.data.T + a.bias.data, 0)
    expected = np.tanh(hidden @ b.weight.data.T + b.bias.data)
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-5, atol=1e-6)


def test_parameters_and_state_dict_come_only_from_modules_named_by_position():
    a, b = layers()
    model = Sequential(a, relu, b)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(model.children()) == [a, b]


def test_indexing_len_iteration_and_slices():
    a, b = layers()
    model = Sequential(a, relu, b)
    assert len(model) == 3
    assert model[0] is a
    assert model[1] is relu
    assert model[-1] is b
    assert list(model) == [a, relu, b]
    tail = model[1:]
    assert isinstance(tail, Sequential)
    assert list(tail) == [relu, b]
    assert list(tail.state_dict()) == ["2.weight", "2.bias"]  # names kept, as in PyTorch
    with pytest.raises(IndexError, match="Sequential: index 3 is out of range for 3 layers"):
        model[3]


def test_ordered_dict_names_and_append():
    a, b = layers()
    model = Sequential(OrderedDict([("fc1", a), ("act", relu), ("fc2", b)]))
    assert list(model.state_dict()) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert model.fc2 is b
    model.append(Dropout(0.1))
    assert len(model) == 4
    assert isinstance(model[3], Dropout)


def test_train_and_eval_reach_dropout_inside():
    model = Sequential(Linear(2, 2), Dropout(0.5))
    model.eval()
    assert not model[1].training
    x = randn(3, 2)
    np.testing.assert_array_equal(model(x).data, model[0](x).data)


def test_non_callables_are_refused():
    with pytest.raises(TypeError, match="Sequential: layer 1 must be a Module or a callable"):
        Sequential(Linear(1, 1), 3)
    with pytest.raises(TypeError, match="got Tensor"):
        Sequential(Tensor([1.0]))


def test_empty_sequential_is_the_identity():
    x = randn(2)
    assert Sequential()(x) is x


def test_repr_shows_every_layer():
    model = Sequential(Linear(2, 3), relu, Tanh(), Dropout(0.5))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): relu\n"
        "  (2): Tanh()\n"
        "  (3): Dropout(p=0.5)\n"
        ")"
    )


def test_nested_sequential_names():
    inner = Sequential(Linear(2, 2))
    model = Sequential(inner, Sequential(relu, Linear(2, 1)))
    assert list(model.state_dict()) == ["0.0.weight", "0.0.bias", "1.1.weight", "1.1.bias"]


# ---- ModuleList ------------------------------------------------------------------------------
def test_module_list_registers_its_modules():
    blocks = ModuleList([Linear(2, 2) for _ in range(3)])
    assert len(blocks) == 3
    assert len(list(blocks.parameters())) == 6
    assert list(blocks.state_dict())[:2] == ["0.weight", "0.bias"]

    class Owner(Module):
        def __init__(self):
            super().__init__()
            self.blocks = ModuleList([Linear(2, 2), Identity()])

    assert [n for n, _ in Owner().named_parameters()] == ["blocks.0.weight", "blocks.0.bias"]


def test_module_list_editing_renumbers():
    a, b, c = Linear(1, 1), Linear(1, 2), Linear(1, 3)
    blocks = ModuleList([a, b])
    blocks.insert(0, c)
    assert list(blocks) == [c, a, b]
    assert next(iter(blocks.state_dict())) == "0.weight"
    assert blocks.state_dict()["0.weight"].shape == (3, 1)
    del blocks[0]
    assert list(blocks) == [a, b]
    assert blocks.state_dict()["1.weight"].shape == (2, 1)
    blocks[-1] = c
    assert blocks[1] is c
    blocks += [b]
    assert len(blocks) == 3
    sub = blocks[:2]
    assert isinstance(sub, ModuleList)
    assert list(sub) == [a, c]
    del blocks[1:]
    assert list(blocks) == [a]


def test_module_list_errors():
    with pytest.raises(TypeError, match="ModuleList: holds Modules only, got function"):
        ModuleList([relu])
    with pytest.raises(IndexError, match="ModuleList: index 2 is out of range for 1 modules"):
        ModuleList([Identity()])[2]
    with pytest.raises(NotImplementedError, match="ModuleList"):
        ModuleList()(randn(1))


def test_activation_objects_of_module_02_are_layers():
    a, b = layers()
    model = Sequential(a, ReLU(), b, Sigmoid())
    x = randn(4, 3, generator=Generator(5))
    hidden = np.maximum(x.data @ a.weight.data.T + a.bias.data, 0)
    expected = 1 / (1 + np.exp(-(hidden @ b.weight.data.T + b.bias.data)))
    np.testing.assert_allclose(model(x).data, expected, rtol=1e-5, atol=1e-6)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert "(1): ReLU()" in repr(model)
    assert "(3): Sigmoid()" in repr(model)
