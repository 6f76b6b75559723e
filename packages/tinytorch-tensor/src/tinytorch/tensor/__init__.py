"""TinyTorch module 01: the Tensor.

An n-dimensional array over NumPy with PyTorch's names and defaults, and the extension point
(:mod:`tinytorch.tensor.graph`) through which later modules give its ops gradients.

Example:
    >>> import tinytorch.tensor as tt
    >>> x = tt.randn(4, 3, generator=tt.Generator(0))
    >>> (x @ x.T).shape
    (4, 4)
"""

from tinytorch.tensor import graph
from tinytorch.tensor._tensor import (
    Tensor,
    TensorLike,
    bool_,
    float32,
    float64,
    int32,
    int64,
    matmul,
    record,
)
from tinytorch.tensor.creation import (
    Generator,
    arange,
    default_generator,
    from_numpy,
    full,
    manual_seed,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from tinytorch.tensor.functional import cat, concatenate, stack, where

__all__ = [
    "Generator",
    "Tensor",
    "TensorLike",
    "arange",
    "bool_",
    "cat",
    "concatenate",
    "default_generator",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "graph",
    "int32",
    "int64",
    "manual_seed",
    "matmul",
    "ones",
    "ones_like",
    "rand",
    "randint",
    "randn",
    "randperm",
    "record",
    "stack",
    "tensor",
    "where",
    "zeros",
    "zeros_like",
]
