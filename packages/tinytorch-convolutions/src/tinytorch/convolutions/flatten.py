"""Flatten: the bridge from feature maps to fully connected layers, kept inside the graph."""

from __future__ import annotations

from tinytorch.layers import Module
from tinytorch.tensor import Tensor

__all__ = ["Flatten"]


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim`` into one (``torch.nn.Flatten``).

    It is a ``reshape`` of the tensor, an op with a gradient rule, so layers before it keep
    receiving gradients (unlike a copy through NumPy, which would cut them out of the graph).

    Example:
        >>> from tinytorch.tensor import zeros
        >>> Flatten()(zeros(8, 16, 5, 5)).shape
        (8, 400)
        >>> Flatten(0, 1)(zeros(8, 16, 5, 5)).shape
        (128, 5, 5)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"Flatten: expects a Tensor input, got {type(x).__name__}")
        ndim = max(x.ndim, 1)
        start, end = self.start_dim, self.end_dim
        if not (-ndim <= start < ndim and -ndim <= end < ndim):
            raise IndexError(
                f"Flatten: start_dim={start}, end_dim={end} out of range for input of shape "
                f"{x.shape}"
            )
        if start % ndim > end % ndim:
            raise ValueError(
                f"Flatten: start_dim={start} comes after end_dim={end} for input of shape {x.shape}"
            )
        return x.flatten(start, end)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
