"""TinyTorch module 06: optimizers.

Each optimizer updates the parameters it was given from their ``.grad``, in place and outside
the graph, with PyTorch's equations and defaults; its state (moments, momentum buffers, step
counts) round-trips through ``state_dict()`` / ``load_state_dict()`` in PyTorch's layout.

Example:
    >>> from tinytorch.tensor import Tensor
    >>> from tinytorch.optimizers import SGD
    >>> w = Tensor([3.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.25)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()   # gradient 2w: each step halves w
    ...     opt.step()
    >>> w
    tensor([0.375], requires_grad=True)
"""

from tinytorch.optimizers.adam import Adam, AdamW
from tinytorch.optimizers.optimizer import Optimizer, ParamGroup, ParamsT, StateDict
from tinytorch.optimizers.rmsprop import RMSprop
from tinytorch.optimizers.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "ParamGroup", "ParamsT", "RMSprop", "StateDict"]
