"""Dropout: randomly zero activations while training (Srivastava et al., 2014)."""

from __future__ import annotations

import numpy as np

from tinytorch.layers.module import Module
from tinytorch.tensor import Generator, Tensor, default_generator

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each element with probability ``p`` in training mode and scale the survivors by
    ``1 / (1 - p)`` (inverted dropout), so evaluation mode is the identity with no rescaling.

    ``generator`` seeds the masks; without one they come from the default generator.

    Example:
        >>> from tinytorch.tensor import Generator, ones
        >>> drop = Dropout(0.5, generator=Generator(0))
        >>> sorted(set(drop(ones(1000)).tolist()))
        [0.0, 2.0]
        >>> drop.eval()(ones(3))
        tensor([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, *, generator: Generator | None = None) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability p must be in [0, 1], got {p!r}")
        self.p = float(p)
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"Dropout: expects a Tensor input, got {type(x).__name__}")
        if x.dtype.kind != "f":
            raise TypeError(f"Dropout: expects a floating input, got {x.dtype}")
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            # Everything dropped: still an op on x, so a gradient (of zeros) reaches it.
            return x * Tensor(np.zeros(x.shape, dtype=x.dtype))
        # BEGIN SOLUTION dropout-forward
        # HINT: Inverted dropout: draw a keep mask (each element kept with probability 1 - p) from
        # HINT: self.generator's rng, or the default generator's, and multiply x by keep / (1 - p)
        # HINT: as one Tensor in x's dtype, so evaluation mode needs no rescaling.
        # TESTS: test_dropout
        rng = (self.generator or default_generator).rng
        keep = rng.random(x.shape) >= self.p
        # One multiply by a precomputed 0 or 1/(1-p) mask: the gradient is the same mask.
        mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        return x * Tensor(mask)
        # END SOLUTION

    def extra_repr(self) -> str:
        return f"p={self.p}"
