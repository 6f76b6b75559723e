"""The activation objects: they apply their function, show their options, compose."""

import numpy as np
import pytest

import tinytorch.activations as A
from tinytorch.tensor import Tensor

X = Tensor(np.linspace(-3.0, 3.0, 12).reshape(3, 4))


@pytest.mark.parametrize(
    ("module", "fn"),
    [
        (A.ReLU(), A.relu),
        (A.LeakyReLU(), A.leaky_relu),
        (A.LeakyReLU(0.3), lambda x: A.leaky_relu(x, 0.3)),
        (A.Sigmoid(), A.sigmoid),
        (A.Tanh(), A.tanh),
        (A.GELU(), A.gelu),
        (A.GELU(approximate="tanh"), lambda x: A.gelu(x, approximate="tanh")),
        (A.Softmax(), A.softmax),
        (A.Softmax(dim=0), lambda x: A.softmax(x, dim=0)),
        (A.LogSoftmax(), A.log_softmax),
        (A.LogSoftmax(dim=-2), lambda x: A.log_softmax(x, dim=0)),
    ],
)
def test_module_applies_its_function(module, fn):
    out = module(X)
    assert isinstance(out, Tensor)
    np.testing.assert_array_equal(out.data, fn(X).data)
    np.testing.assert_array_equal(module.forward(X).data, out.data)
    assert isinstance(module, A.Activation)


@pytest.mark.parametrize(
    ("module", "text"),
    [
        (A.ReLU(), "ReLU()"),
        (A.LeakyReLU(), "LeakyReLU(negative_slope=0.01)"),
        (A.LeakyReLU(negative_slope=0.2), "LeakyReLU(negative_slope=0.2)"),
        (A.Sigmoid(), "Sigmoid()"),
        (A.Tanh(), "Tanh()"),
        (A.GELU(), "GELU(approximate='none')"),
        (A.GELU("tanh"), "GELU(approximate='tanh')"),
        (A.Softmax(), "Softmax(dim=-1)"),
        (A.Softmax(dim=1), "Softmax(dim=1)"),
        (A.LogSoftmax(), "LogSoftmax(dim=-1)"),
        (A.LogSoftmax(0), "LogSoftmax(dim=0)"),
    ],
)
def test_repr_like_pytorch(module, text):
    assert repr(module) == text


def test_options_are_attributes():
    assert A.LeakyReLU(0.2).negative_slope == 0.2
    assert A.GELU("tanh").approximate == "tanh"
    assert A.Softmax(dim=0).dim == 0
    assert A.LogSoftmax().dim == -1


def test_gelu_rejects_unknown_approximation_at_construction():
    with pytest.raises(ValueError, match=r"^GELU: approximate must be 'none' or 'tanh'"):
        A.GELU("fast")


def test_module_dim_errors_come_from_the_op():
    with pytest.raises(IndexError, match=r"^softmax: dim 3"):
        A.Softmax(dim=3)(X)


def test_a_custom_activation():
    class Square(A.Activation):
        def forward(self, x):
            return x * x

    sq = Square()
    assert sq(Tensor([3.0])).tolist() == [9.0]
    assert repr(sq) == "Square()"


def test_the_base_class_needs_forward():
    class Nothing(A.Activation):
        pass

    with pytest.raises(NotImplementedError, match="Nothing must implement forward"):
        Nothing()(X)


def test_activations_are_plain_callables_that_compose():
    # What Sequential (tinytorch.layers) does with them: call one after the other.
    pipeline = [A.GELU(), A.LeakyReLU(0.1), A.Softmax(dim=-1)]
    x = X
    for layer in pipeline:
        assert callable(layer)
        x = layer(x)
    np.testing.assert_allclose(x.data.sum(axis=-1), 1.0, rtol=1e-12)


def test_recorded_graph_passes_through_modules():
    x = Tensor([1.0, -2.0], requires_grad=True)
    assert A.ReLU()(x).node.op == "relu"
    assert A.LogSoftmax()(x).node.attrs == {"dim": 0}
