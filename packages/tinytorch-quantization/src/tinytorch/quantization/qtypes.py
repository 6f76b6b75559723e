"""Quantized dtypes and schemes, with PyTorch's names: ``qint8``, ``quint8``, ``qint32``.

A quantized dtype is an integer storage dtype and its range; a value ``x`` is stored as
``q = clamp(round(x / scale) + zero_point, qmin, qmax)`` and read back as
``(q - zero_point) * scale``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "QDtype",
    "per_channel_affine",
    "per_channel_symmetric",
    "per_tensor_affine",
    "per_tensor_symmetric",
    "qint8",
    "qint32",
    "quint8",
    "resolve_dtype",
]


@dataclass(frozen=True)
class QDtype:
    """A quantized dtype: its name, the NumPy dtype that stores it and its range.

    >>> qint8.storage, qint8.qmin, qint8.qmax
    (dtype('int8'), -128, 127)
    """

    name: str
    storage: np.dtype[Any]
    qmin: int
    qmax: int

    def __repr__(self) -> str:
        return f"tinytorch.quantization.{self.name}"

    # One object per dtype, like torch.qint8: copying a model keeps ``is`` comparisons true.
    def __copy__(self) -> QDtype:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> QDtype:
        return self


qint8 = QDtype("qint8", np.dtype(np.int8), -128, 127)
quint8 = QDtype("quint8", np.dtype(np.uint8), 0, 255)
qint32 = QDtype("qint32", np.dtype(np.int32), -(2**31), 2**31 - 1)

# torch.per_tensor_affine and its siblings are enum objects; here they are their names.
per_tensor_affine = "per_tensor_affine"
per_tensor_symmetric = "per_tensor_symmetric"
per_channel_affine = "per_channel_affine"
per_channel_symmetric = "per_channel_symmetric"

_DTYPES = {d.name: d for d in (qint8, quint8, qint32)}


def resolve_dtype(op: str, dtype: object) -> QDtype:
    """``dtype`` as a :class:`QDtype` (a QDtype, or its name), else a ``TypeError`` naming ``op``.

    >>> resolve_dtype("demo", "quint8")
    tinytorch.quantization.quint8
    """
    if isinstance(dtype, QDtype):
        return dtype
    if isinstance(dtype, str) and dtype in _DTYPES:
        return _DTYPES[dtype]
    raise TypeError(
        f"{op}: unsupported dtype {dtype!r}; choose one of qint8, quint8, qint32 "
        "(tinytorch.quantization.qint8, ...)"
    )
