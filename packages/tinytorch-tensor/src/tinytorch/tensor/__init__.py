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
    ValuesIndices,
    _max,
    _min,
    bool_,
    float32,
    float64,
    int32,
    int64,
    matmul,
    parse_to_args,
    record,
)
from tinytorch.tensor.creation import (
    Generator,
    arange,
    default_generator,
    from_numpy,
    full,
    manual_seed,
    multinomial,
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
from tinytorch.tensor.functional import (
    abs,
    allclose,
    cat,
    chunk,
    clamp,
    clone,
    concatenate,
    equal,
    exp,
    gather,
    is_tensor,
    log,
    masked_fill,
    narrow,
    split,
    sqrt,
    stack,
    std,
    t,
    topk,
    tril,
    triu,
    where,
)
from tinytorch.tensor.interop import to_numpy, type_name

# torch.max / torch.min: named here, not in _tensor, where they would hide the builtins.
max = _max
min = _min

# PyTorch's short dtype names, so that ``dtype=torch.long`` ports as ``dtype=tt.long``. (No
# ``half``: float16 is not a dtype the ops here keep.)
long = int64
int = int32
float = float32
double = float64
bool = bool_

__all__ = [
    "Generator",
    "Tensor",
    "TensorLike",
    "ValuesIndices",
    "abs",
    "allclose",
    "arange",
    "bool",
    "bool_",
    "cat",
    "chunk",
    "clamp",
    "clone",
    "concatenate",
    "default_generator",
    "double",
    "equal",
    "exp",
    "float",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "gather",
    "graph",
    "int",
    "int32",
    "int64",
    "is_tensor",
    "log",
    "long",
    "manual_seed",
    "masked_fill",
    "matmul",
    "max",
    "min",
    "multinomial",
    "narrow",
    "ones",
    "ones_like",
    "parse_to_args",
    "rand",
    "randint",
    "randn",
    "randperm",
    "record",
    "split",
    "sqrt",
    "stack",
    "std",
    "t",
    "tensor",
    "to_numpy",
    "topk",
    "tril",
    "triu",
    "type_name",
    "where",
    "zeros",
    "zeros_like",
]
