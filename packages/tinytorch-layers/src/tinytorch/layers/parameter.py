"""Parameter: the tensor type a Module recognises as something to learn."""

from __future__ import annotations

import numpy as np

from tinytorch.tensor import Tensor, TensorLike

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor that a :class:`Module` registers as learnable (``torch.nn.Parameter``).

    Assigning a ``Parameter`` to an attribute of a ``Module`` adds it to ``parameters()`` and
    ``state_dict()``. It shares memory with the array or tensor it is made from and requires a
    gradient unless told otherwise. Ops on a parameter return plain tensors.

    Example:
        >>> from tinytorch.tensor import zeros
        >>> p = Parameter(zeros(2))
        >>> p.requires_grad, type(p * 2).__name__
        (True, 'Tensor')
    """

    __slots__ = ()

    def __init__(self, data: TensorLike | None = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=np.float32)
        # Tensor() of a Tensor or ndarray keeps the same array: a Parameter is a new leaf over
        # existing storage, as in PyTorch, not a copy.
        super().__init__(data)
        if requires_grad:
            if self.data.dtype.kind != "f":
                raise TypeError(
                    f"Parameter: only floating-point tensors can require grad, got {self.dtype}; "
                    "pass requires_grad=False for an integer parameter"
                )
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
