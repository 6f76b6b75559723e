"""Gradient clipping: rescale (or clamp) gradients in place before the optimizer step."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[npt.NDArray[Any]]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad.data for p in params if p.grad is not None]


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The norm is taken over every gradient as if concatenated into one vector (``norm_type`` 2 by
    default, ``inf`` for the largest magnitude). As in ``torch.nn.utils.clip_grad_norm_``, each
    gradient is multiplied by ``min(1, max_norm / (total_norm + 1e-6))`` in place, and the norm
    from before clipping is returned as a 0-d tensor.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> w = Tensor([0.0, 0.0], requires_grad=True)
        >>> w.grad = Tensor([3.0, 4.0])
        >>> float(clip_grad_norm_([w], max_norm=1.0))
        5.0
        >>> w.grad
        tensor([0.6, 0.8])
    """
    grads = _grads(parameters)
    max_norm = float(max_norm)
    norm_type = float(norm_type)
    if max_norm < 0 or math.isnan(max_norm):
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    if not grads:
        return Tensor(np.array(0.0, dtype=np.float32))
    dtype = np.result_type(*grads)
    if norm_type != math.inf and not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 or inf, got {norm_type}")
    # BEGIN SOLUTION total-norm
    # HINT: The norm of every gradient taken together as one vector: the largest magnitude for inf;
    # HINT: for 2, the square root of the summed squares (np.dot of a raveled gradient with itself
    # HINT: avoids a squared copy); for another p, (sum |g|^p)^(1/p).
    # TESTS: clip_grad_norm or grad_clip
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    elif norm_type == 2.0:
        # sum of squares via a dot product: no |g|**p temporary the size of the model
        total = math.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in grads))
    else:
        total = sum(float(np.sum(np.abs(g) ** norm_type)) for g in grads) ** (1.0 / norm_type)
    # END SOLUTION
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}; "
            "pass error_if_nonfinite=False to clip anyway"
        )
    # BEGIN SOLUTION clip-scale
    # HINT: Scale every gradient in place by min(1, max_norm / (total + 1e-6)), as PyTorch does; a
    # HINT: non-finite total scales too (to nan or 0).
    # TESTS: clip_grad_norm or grad_clip
    coef = min(max_norm / (total + 1e-6), 1.0)
    if coef < 1.0 or not math.isfinite(total):
        for g in grads:
            g *= coef
    # END SOLUTION
    return Tensor(np.array(total, dtype=dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``, in place.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> w = Tensor([0.0, 0.0], requires_grad=True)
        >>> w.grad = Tensor([3.0, -0.5])
        >>> clip_grad_value_([w], 1.0)
        >>> w.grad
        tensor([ 1. , -0.5])
    """
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    # BEGIN SOLUTION clip-value
    # HINT: Clamp each gradient into [-clip_value, clip_value], in place.
    # TESTS: clip_grad_value
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
    # END SOLUTION
