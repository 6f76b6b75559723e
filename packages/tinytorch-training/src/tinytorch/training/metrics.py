"""Metrics: functions of a batch's outputs and targets that return one number."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Tensor

__all__ = ["accuracy", "binary_accuracy"]


def _array(x: Tensor | npt.ArrayLike) -> npt.NDArray[Any]:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def accuracy(outputs: Tensor | npt.ArrayLike, targets: Tensor | npt.ArrayLike) -> float:
    """Fraction of rows whose largest output (over the last axis) is the target class.

    ``outputs`` are scores of shape ``(..., C)`` (logits or probabilities), ``targets`` class
    indices of shape ``(...)``.

    Example:
        >>> accuracy([[2.0, 0.1], [0.3, 0.9], [1.0, 0.0]], [0, 1, 1])
        0.6666666666666666
    """
    out, tgt = _array(outputs), _array(targets)
    if out.ndim != tgt.ndim + 1 or out.shape[:-1] != tgt.shape:
        raise ValueError(
            f"accuracy: outputs of shape {out.shape} need targets of shape {out.shape[:-1]} "
            f"(class indices), got {tgt.shape}"
        )
    if tgt.size == 0:
        raise ValueError("accuracy: empty batch")
    # BEGIN SOLUTION accuracy
    # HINT: The predicted class is the index of the largest score on the last axis; return the
    # HINT: fraction of predictions equal to the target as a float.
    # TESTS: metrics or classification
    return float(np.mean(np.argmax(out, axis=-1) == tgt))
    # END SOLUTION


def binary_accuracy(
    outputs: Tensor | npt.ArrayLike, targets: Tensor | npt.ArrayLike, threshold: float = 0.5
) -> float:
    """Fraction of elements where ``outputs > threshold`` agrees with the 0/1 ``targets``.

    Use ``threshold=0.0`` when the outputs are logits rather than probabilities.

    Example:
        >>> binary_accuracy([0.9, 0.2, 0.6, 0.4], [1, 0, 0, 0])
        0.75
    """
    out, tgt = _array(outputs), _array(targets)
    if out.shape != tgt.shape:
        raise ValueError(f"binary_accuracy: outputs {out.shape} and targets {tgt.shape} differ")
    if tgt.size == 0:
        raise ValueError("binary_accuracy: empty batch")
    return float(np.mean((out > threshold) == (tgt > 0.5)))
