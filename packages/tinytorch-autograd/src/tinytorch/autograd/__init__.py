"""TinyTorch module 05: reverse-mode automatic differentiation.

Importing this package (``Tensor.backward()`` does it for you through the ``tinytorch.autograd``
entry point) registers the backward engine and the gradient rules of every op of modules 01-04
into the extension point :mod:`tinytorch.tensor.graph`. It patches nothing: forwards compute the
same with or without it.

Example:
    >>> from tinytorch.tensor import Tensor
    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
"""

from tinytorch.autograd import rules
from tinytorch.autograd.engine import backward, topological_order
from tinytorch.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from tinytorch.autograd.gradcheck import checked_ops, gradcheck
from tinytorch.tensor.graph import register_backward_engine

register_backward_engine(backward)

__all__ = [
    "backward",
    "checked_ops",
    "enable_grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "rules",
    "set_grad_enabled",
    "topological_order",
]
