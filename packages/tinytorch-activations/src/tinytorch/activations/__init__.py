"""TinyTorch module 02: activation functions.

The nonlinearities between layers, each a differentiable op over :mod:`tinytorch.tensor`
(functions ``relu``, ``sigmoid``, ``gelu``, ``softmax``, ...) and an object to put in a model
(``ReLU()``, ``Softmax(dim=-1)``, ...). Their gradient rules come with ``tinytorch-autograd``.

Example:
    >>> from tinytorch.activations import ReLU, softmax
    >>> from tinytorch.tensor import Tensor
    >>> ReLU()(Tensor([-1.0, 2.0]))
    tensor([0., 2.])
    >>> softmax(Tensor([0.0, 0.0, 0.0, 0.0]))
    tensor([0.25, 0.25, 0.25, 0.25])
"""

from tinytorch.activations import functional, special
from tinytorch.activations.functional import (
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from tinytorch.activations.modules import (
    GELU,
    Activation,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)

__all__ = [
    "GELU",
    "Activation",
    "LeakyReLU",
    "LogSoftmax",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "functional",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "relu",
    "sigmoid",
    "softmax",
    "special",
    "tanh",
]
