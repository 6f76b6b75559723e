"""TinyTorch module 04: losses.

Functions ``mse_loss``, ``cross_entropy``, ``binary_cross_entropy`` and
``binary_cross_entropy_with_logits`` with PyTorch's arguments and ``reduction`` semantics, and the
Modules ``MSELoss``, ``CrossEntropyLoss``, ``BCELoss`` and ``BCEWithLogitsLoss``. Each loss is one
fused, numerically stable op; ``tinytorch-autograd`` holds its gradient rule.

Example:
    >>> from tinytorch.losses import CrossEntropyLoss
    >>> from tinytorch.tensor import Tensor
    >>> CrossEntropyLoss()(Tensor([[10000.0, -10000.0]]), Tensor([1]))
    tensor(20000.)
"""

from tinytorch.losses.functional import (
    Reduction,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
)
from tinytorch.losses.modules import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "MSELoss",
    "Reduction",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "mse_loss",
]
