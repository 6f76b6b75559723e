"""TinyTorch module 03: layers.

``Module`` (parameters, buffers and submodules registered by attribute assignment; ``state_dict``
and a ``load_state_dict`` that checks everything before it writes anything), ``Parameter``, the
layers ``Linear``, ``Dropout`` and ``Identity``, the containers ``Sequential``, ``ModuleList``,
``ModuleDict``, ``ParameterList`` and ``ParameterDict``, and weight initialisation in
:mod:`tinytorch.layers.init`.

Example:
    >>> from tinytorch.layers import Dropout, Linear, Sequential
    >>> from tinytorch.tensor import Generator, randn
    >>> g = Generator(0)
    >>> model = Sequential(Linear(2, 16, generator=g), Dropout(0.1), Linear(16, 1, generator=g))
    >>> model(randn(5, 2)).shape, sum(p.numel() for p in model.parameters())
    ((5, 1), 65)
"""

from tinytorch.layers import init
from tinytorch.layers.containers import (
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
from tinytorch.layers.dropout import Dropout
from tinytorch.layers.linear import Identity, Linear
from tinytorch.layers.module import (
    IncompatibleKeys,
    Module,
    StateDictError,
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from tinytorch.layers.parameter import Parameter

__all__ = [
    "Dropout",
    "Identity",
    "IncompatibleKeys",
    "Linear",
    "Module",
    "ModuleDict",
    "ModuleList",
    "Parameter",
    "ParameterDict",
    "ParameterList",
    "Sequential",
    "StateDictError",
    "init",
    "register_module_forward_hook",
    "register_module_forward_pre_hook",
]
