"""Activation objects: ``ReLU()``, ``Softmax(dim=1)``, ... to put in a model.

``Module`` is defined by the next module of the graph (``tinytorch-layers``), so these cannot be
Modules. They do not need to be: an activation has no parameters, buffers or train/eval
behaviour, only its configuration. ``Activation`` is the small base they share: a callable whose
``__call__`` runs ``forward``, with a PyTorch-like repr. ``tinytorch.layers.Sequential`` accepts
any callable from Tensor to Tensor as a layer, so ``Sequential(Linear(4, 8), ReLU(), ...)`` works
as in PyTorch.
"""

from __future__ import annotations

from tinytorch.activations import functional as F
from tinytorch.tensor import Tensor, TensorLike

__all__ = ["GELU", "Activation", "LeakyReLU", "LogSoftmax", "ReLU", "Sigmoid", "Softmax", "Tanh"]


class Activation:
    """Base of the activation objects: call it on a Tensor to apply ``forward``.

    A subclass implements ``forward`` and, if it has options, ``extra_repr`` (the text inside its
    repr's parentheses), as a PyTorch module would.

    Example:
        >>> class Square(Activation):
        ...     def forward(self, x):
        ...         return x * x
        >>> Square()(Tensor([3.0])), Square()
        (tensor([9.]), Square())
    """

    def forward(self, x: TensorLike) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, x: TensorLike) -> Tensor:
        return self.forward(x)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class ReLU(Activation):
    """``max(x, 0)`` (``torch.nn.ReLU``).

    Example:
        >>> ReLU()(Tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """

    def forward(self, x: TensorLike) -> Tensor:
        return F.relu(x)


class LeakyReLU(Activation):
    """``x`` where positive, ``negative_slope * x`` elsewhere (``torch.nn.LeakyReLU``).

    Example:
        >>> LeakyReLU(0.1)
        LeakyReLU(negative_slope=0.1)
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = negative_slope

    def forward(self, x: TensorLike) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Activation):
    """The logistic function (``torch.nn.Sigmoid``).

    Example:
        >>> Sigmoid()(Tensor([0.0]))
        tensor([0.5])
    """

    def forward(self, x: TensorLike) -> Tensor:
        return F.sigmoid(x)


class Tanh(Activation):
    """The hyperbolic tangent (``torch.nn.Tanh``).

    Example:
        >>> Tanh()(Tensor([0.0]))
        tensor([0.])
    """

    def forward(self, x: TensorLike) -> Tensor:
        return F.tanh(x)


class GELU(Activation):
    """Gaussian error linear unit, exact or tanh-approximated (``torch.nn.GELU``).

    Example:
        >>> GELU(approximate="tanh")
        GELU(approximate='tanh')
    """

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in F.GELU_APPROXIMATIONS:
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: TensorLike) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Activation):
    """Softmax along ``dim`` (``torch.nn.Softmax``; here ``dim`` defaults to -1).

    Example:
        >>> Softmax(dim=0)(Tensor([0.0, 0.0]))
        tensor([0.5, 0.5])
    """

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def forward(self, x: TensorLike) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Activation):
    """Log-softmax along ``dim`` (``torch.nn.LogSoftmax``; here ``dim`` defaults to -1).

    Example:
        >>> LogSoftmax()
        LogSoftmax(dim=-1)
    """

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def forward(self, x: TensorLike) -> Tensor:
        return F.log_softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
