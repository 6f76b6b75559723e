"""Linear (the affine map y = x W^T + b) and Identity."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.layers import init
from tinytorch.layers.module import Module
from tinytorch.layers.parameter import Parameter
from tinytorch.tensor import Generator, Tensor

__all__ = ["Identity", "Linear"]


class Linear(Module):
    """Affine map ``y = x @ weight.T + bias`` over the last dimension (``torch.nn.Linear``).

    ``weight`` has shape ``(out_features, in_features)`` and ``bias`` ``(out_features,)``, both
    drawn from U(-1/sqrt(in_features), 1/sqrt(in_features)) as PyTorch does. Any number of leading
    batch dimensions passes through. ``generator`` makes the initialisation reproducible.

    Example:
        >>> from tinytorch.tensor import Generator, randn
        >>> layer = Linear(4, 3, generator=Generator(0))
        >>> layer(randn(8, 5, 4)).shape
        (8, 5, 3)
        >>> layer
        Linear(in_features=4, out_features=3, bias=True)
    """

    weight: Parameter
    bias: Parameter | None

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype: npt.DTypeLike = np.float32,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
                raise ValueError(f"Linear: {name} must be a non-negative int, got {n!r}")
        if np.dtype(dtype).kind != "f":
            raise TypeError(f"Linear: dtype must be floating, got {np.dtype(dtype)}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """Draw fresh weights: PyTorch's kaiming_uniform_(a=sqrt(5)) for the weight, the same
        bound 1/sqrt(in_features) for the bias."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"Linear: expects a Tensor input, got {type(x).__name__}")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear: input of shape {x.shape} does not end in in_features="
                f"{self.in_features} (weight shape {self.weight.shape})"
            )
        if x.dtype != self.weight.dtype:
            # NumPy would silently widen to float64 (or compute ints in float64); PyTorch refuses,
            # and so do we: a silent float64 model is twice the memory and half the speed.
            raise TypeError(
                f"Linear: input dtype {x.dtype} does not match weight dtype {self.weight.dtype}; "
                f"convert the input (x.to({str(self.weight.dtype)!r})) or the layer (.to(...))"
            )
        # BEGIN SOLUTION linear-forward
        # HINT: y = x W^T + b over the last dimension: one matmul with the transposed weight (shape
        # HINT: (out_features, in_features), as PyTorch), then the bias if there is one. Tensor ops
        # HINT: only, so autograd sees them. (The constructor draws the weights with init.py's
        # HINT: kaiming_uniform_: do the init exercises first.)
        # TESTS: test_linear or linear_and or composes
        out = x @ self.weight.T
        return out if self.bias is None else out + self.bias
        # END SOLUTION

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Identity(Module):
    """Returns its input unchanged; any constructor arguments are ignored (``torch.nn.Identity``).
    Useful as a placeholder where a layer is optional.

    Example:
        >>> from tinytorch.tensor import ones
        >>> x = ones(2)
        >>> Identity(54, unused="x")(x) is x
        True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x
