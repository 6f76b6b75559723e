"""Weight initialisation (``torch.nn.init``): fill a tensor in place, outside any graph.

Each function writes into ``tensor.data`` and returns the tensor. Like PyTorch's, which run under
``no_grad``, they are not recorded: initialisation is not part of what a model learns. Random ones
take an optional :class:`tinytorch.tensor.Generator` for reproducible models.

Example:
    >>> from tinytorch.tensor import Generator, zeros
    >>> w = kaiming_uniform_(zeros(64, 16), a=5**0.5, generator=Generator(0))
    >>> bool(abs(w).max() <= 16**-0.5)
    True
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Generator, Tensor, default_generator, graph

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

FanMode = Literal["fan_in", "fan_out"]


def _fill(op: str, tensor: Tensor, values: npt.NDArray[Any] | float) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expects a Tensor, got {type(tensor).__name__}")
    if not isinstance(tensor.data, np.ndarray) or not tensor.data.flags.writeable:
        raise ValueError(f"{op}: cannot write into a read-only tensor of shape {tensor.shape}")
    tensor.data[...] = values
    graph.bump_version(tensor)  # a backward through the old values must refuse
    return tensor


def _rng(generator: Generator | None) -> np.random.Generator:
    return (generator or default_generator).rng


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance steady through ``nonlinearity``.

    Example:
        >>> round(calculate_gain("relu"), 4)
        1.4142
    """
    linear = ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _fans(op: str, tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel), as PyTorch computes them."""
    if tensor.ndim < 2:
        raise ValueError(
            f"{op}: fan in and fan out need a tensor of at least 2 dimensions, got shape "
            f"{tensor.shape}"
        )
    # BEGIN SOLUTION fans
    # HINT: A weight is shaped (out, in, *kernel): fan_in is in times the kernel's size, fan_out is
    # HINT: out times it (a Linear weight has no kernel dimensions).
    # TESTS: fans or xavier or kaiming
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive
    # END SOLUTION


def uniform_(
    tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill with samples of U(a, b).

    Example:
        >>> from tinytorch.tensor import zeros
        >>> bool((uniform_(zeros(100), -1, 1) >= -1).all())
        True
    """
    if a > b:
        raise ValueError(f"uniform_: lower bound {a} is above upper bound {b}")
    return _fill("uniform_", tensor, _rng(generator).uniform(a, b, tensor.shape))


def normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Fill with samples of N(mean, std**2).

    Example:
        >>> from tinytorch.tensor import zeros
        >>> normal_(zeros(2, 3), std=0.02).shape
        (2, 3)
    """
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill("normal_", tensor, _rng(generator).normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``.

    Example:
        >>> from tinytorch.tensor import zeros
        >>> constant_(zeros(2), 0.5)
        tensor([0.5, 0.5])
    """
    return _fill("constant_", tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros.

    Example:
        >>> from tinytorch.tensor import ones
        >>> zeros_(ones(2))
        tensor([0., 0.])
    """
    return _fill("zeros_", tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones.

    Example:
        >>> from tinytorch.tensor import zeros
        >>> ones_(zeros(2))
        tensor([1., 1.])
    """
    return _fill("ones_", tensor, 1)


def xavier_uniform_(
    tensor: Tensor, gain: float = 1.0, generator: Generator | None = None
) -> Tensor:
    """Glorot & Bengio (2010): U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).

    Example:
        >>> from tinytorch.tensor import zeros
        >>> bool(abs(xavier_uniform_(zeros(3, 5))).max() <= (6 / 8) ** 0.5)
        True
    """
    # BEGIN SOLUTION xavier-uniform
    # HINT: Glorot: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)); guard the sum against 0.
    # HINT: Write the samples with _fill, drawing from _rng(generator).
    # TESTS: xavier
    fan_in, fan_out = _fans("xavier_uniform_", tensor)
    bound = gain * math.sqrt(6.0 / max(fan_in + fan_out, 1))
    return _fill("xavier_uniform_", tensor, _rng(generator).uniform(-bound, bound, tensor.shape))
    # END SOLUTION


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """Glorot & Bengio (2010): N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out)).

    Example:
        >>> from tinytorch.tensor import zeros
        >>> xavier_normal_(zeros(3, 5)).shape
        (3, 5)
    """
    fan_in, fan_out = _fans("xavier_normal_", tensor)
    std = gain * math.sqrt(2.0 / max(fan_in + fan_out, 1))
    return _fill("xavier_normal_", tensor, _rng(generator).normal(0.0, std, tensor.shape))


def _kaiming_std(
    op: str, tensor: Tensor, a: float, mode: FanMode, nonlinearity: str
) -> float | None:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    # BEGIN SOLUTION kaiming-std
    # HINT: He: std = gain / sqrt(fan), the gain from calculate_gain(nonlinearity, a), the fan
    # HINT: chosen by mode. A weight with no elements has fan 0: return None (nothing to fill).
    # TESTS: kaiming or zero_element or test_linear
    fan_in, fan_out = _fans(op, tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        return None  # a zero-element weight: nothing to fill, and no scale to compute
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)
    # END SOLUTION


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: FanMode = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He et al. (2015): U(-b, b) with b = gain * sqrt(3 / fan). ``Linear`` uses it with
    ``a=sqrt(5)``, which gives b = 1 / sqrt(in_features).

    Example:
        >>> from tinytorch.tensor import zeros
        >>> bool(abs(kaiming_uniform_(zeros(8, 4), a=5**0.5)).max() <= 0.5)
        True
    """
    std = _kaiming_std("kaiming_uniform_", tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    # BEGIN SOLUTION kaiming-uniform
    # HINT: A uniform U(-b, b) has standard deviation b / sqrt(3): pick b so that it is std.
    # TESTS: kaiming_uniform or test_linear
    bound = math.sqrt(3.0) * std
    return _fill("kaiming_uniform_", tensor, _rng(generator).uniform(-bound, bound, tensor.shape))
    # END SOLUTION


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: FanMode = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Generator | None = None,
) -> Tensor:
    """He et al. (2015): N(0, std**2) with std = gain / sqrt(fan).

    Example:
        >>> from tinytorch.tensor import zeros
        >>> kaiming_normal_(zeros(8, 4), nonlinearity="relu").shape
        (8, 4)
    """
    std = _kaiming_std("kaiming_normal_", tensor, a, mode, nonlinearity)
    if std is None:
        return tensor
    return _fill("kaiming_normal_", tensor, _rng(generator).normal(0.0, std, tensor.shape))
