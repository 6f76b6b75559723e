"""Affine quantization of tensors: :func:`quantize_per_tensor`, :func:`quantize_per_channel`
and the :class:`QTensor` they return (``torch.quantize_per_tensor`` and its siblings).

Rounding follows PyTorch's CPU kernel (fbgemm's AVX2 path) exactly, so the integers equal
torch's bit for bit: ``q = clamp(nearbyint(fma(x, inv_scale, zero_point)), qmin, qmax)`` with
``inv_scale = 1.0f / float(scale)``: one float32 rounding of ``x * inv_scale + zero_point``,
then round half to even (``np.rint``). The zero point is added *before* rounding, so a tie
``x * inv_scale = k + 0.5`` rounds to the even neighbour of ``k + 0.5 + zero_point``, not of
``k + 0.5``. The fused multiply-add is emulated in float64, where the product of two float32
numbers is exact. Dequantization is ``(q - zero_point) * scale``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.quantization.qtypes import QDtype, resolve_dtype
from tinytorch.tensor import Tensor

__all__ = [
    "QTensor",
    "check_finite",
    "check_scale",
    "check_zero_point",
    "dequantize_array",
    "quantize_array",
    "quantize_per_channel",
    "quantize_per_tensor",
]

Array = npt.NDArray[Any]


def _as_float_array(op: str, x: object) -> Array:
    data = x.data if isinstance(x, Tensor) else x
    if not isinstance(data, np.ndarray):
        raise TypeError(f"{op}: expects a Tensor or ndarray input, got {type(x).__name__}")
    if data.dtype.kind != "f":
        raise TypeError(
            f"{op}: input must be floating, got dtype {data.dtype} (shape {data.shape})"
        )
    return data


def check_finite(op: str, x: Array) -> None:
    """Raise ``ValueError`` naming ``op`` if ``x`` holds NaN or inf (and where).

    >>> check_finite("demo", np.array([1.0, 2.0]))
    """
    if x.size and not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        where = tuple(int(i) for i in bad)
        raise ValueError(
            f"{op}: input of shape {x.shape} holds a non-finite value {float(x[where])} at index "
            f"{where}; quantization needs finite numbers"
        )


def check_scale(op: str, scale: object) -> float:
    """``scale`` as a float, if it is finite and > 0; else ``ValueError`` naming ``op``.

    >>> check_scale("demo", 0.5)
    0.5
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: scale must be a number, got {type(scale).__name__}")
    value = float(scale)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{op}: scale must be finite and > 0, got {value!r}")
    return value


def check_zero_point(op: str, zero_point: object, dtype: QDtype) -> int:
    """``zero_point`` as an int inside ``dtype``'s range; else an error naming ``op``.

    >>> from tinytorch.quantization.qtypes import quint8
    >>> check_zero_point("demo", 128, quint8)
    128
    """
    if isinstance(zero_point, bool) or not isinstance(zero_point, (int, np.integer)):
        raise TypeError(f"{op}: zero_point must be an int, got {zero_point!r}")
    value = int(zero_point)
    if not dtype.qmin <= value <= dtype.qmax:
        raise ValueError(
            f"{op}: zero_point {value} is outside the range of {dtype.name} "
            f"[{dtype.qmin}, {dtype.qmax}]"
        )
    return value


def quantize_array(x: Array, scale: Array | float, zero_point: Array | int, dtype: QDtype) -> Array:
    """The integers of ``x`` (unchecked; broadcasting ``scale`` and ``zero_point``), as torch
    computes them: ``x * (1.0f / scale) + zero_point`` rounded once to float32, then half to
    even, then clamped.

    >>> from tinytorch.quantization.qtypes import qint8
    >>> quantize_array(np.array([0.25, 0.75, -1.0, 9.0], np.float32), 0.5, 0, qint8).tolist()
    [0, 2, -2, 18]
    """
    # BEGIN SOLUTION quantize-array
    # HINT: q = clamp(round(x / scale) + zero_point, qmin, qmax) stored in the dtype's integer
    # HINT: type. To match torch bit for bit: multiply by the float32 reciprocal 1/scale, add
    # HINT: the zero point, round that sum once to float32, then round half to even (np.rint).
    # TESTS: test_qtensor_observers or test_models or test_vision_and_gpt
    inv = (np.float32(1.0) / np.asarray(scale, dtype=np.float32)).astype(np.float64)
    fused = x.astype(np.float64) * inv + np.asarray(zero_point, dtype=np.float64)
    with np.errstate(over="ignore"):  # beyond float32's range: inf, clamped below
        rounded = np.rint(fused.astype(np.float32))
    out: Array = np.clip(rounded, dtype.qmin, dtype.qmax).astype(dtype.storage)
    return out
    # END SOLUTION


def dequantize_array(q: Array, scale: Array | float, zero_point: Array | int) -> Array:
    """``(q - zero_point) * scale`` in float32.

    >>> dequantize_array(np.array([0, 2, -2], np.int8), 0.5, 0).tolist()
    [0.0, 1.0, -1.0]
    """
    # BEGIN SOLUTION dequantize-array
    # HINT: back to float32: subtract the zero point, multiply by the scale.
    # TESTS: test_qtensor_observers or test_models or test_vision_and_gpt
    centred = q.astype(np.float32) - np.asarray(zero_point, dtype=np.float32)
    out: Array = centred * np.asarray(scale, dtype=np.float32)
    return out
    # END SOLUTION


class QTensor:
    """A quantized tensor: the integer array, its scale(s), zero point(s) and dtype
    (``torch.Tensor`` with a quantized dtype).

    Per tensor: one ``scale`` and ``zero_point``. Per channel: one of each along ``axis``.

    >>> q = quantize_per_tensor(Tensor([0.0, 0.5, 1.0]), 0.5, 1, "quint8")
    >>> q.int_repr().tolist(), q.q_scale(), q.q_zero_point(), q.dequantize().tolist()
    ([1, 2, 3], 0.5, 1, [0.0, 0.5, 1.0])
    """

    def __init__(
        self,
        int_repr: Array,
        scales: Array,
        zero_points: Array,
        axis: int | None,
        dtype: QDtype,
    ) -> None:
        self._int = int_repr
        self._scales = np.asarray(scales, dtype=np.float64)
        self._zero_points = np.asarray(zero_points, dtype=np.int64)
        self._axis = axis
        self.dtype = dtype

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the integer array."""
        return tuple(self._int.shape)

    @property
    def nbytes(self) -> int:
        """Bytes held: the integers plus the scales and zero points."""
        return int(self._int.nbytes + self._scales.nbytes + self._zero_points.nbytes)

    def qscheme(self) -> str:
        """``"per_tensor_affine"`` or ``"per_channel_affine"`` (``Tensor.qscheme()``)."""
        return "per_tensor_affine" if self._axis is None else "per_channel_affine"

    def int_repr(self) -> Tensor:
        """The stored integers as a Tensor of dtype int8, uint8 or int32 (no copy)."""
        return Tensor(self._int)

    def _per_tensor(self, what: str) -> None:
        if self._axis is not None:
            raise RuntimeError(
                f"QTensor.{what}: this tensor is quantized per channel (axis {self._axis}); "
                "use q_per_channel_scales() / q_per_channel_zero_points()"
            )

    def _per_channel(self, what: str) -> None:
        if self._axis is None:
            raise RuntimeError(
                f"QTensor.{what}: this tensor is quantized per tensor; use q_scale() / "
                "q_zero_point()"
            )

    def q_scale(self) -> float:
        """The scale of a per-tensor quantized tensor."""
        self._per_tensor("q_scale")
        return float(self._scales)

    def q_zero_point(self) -> int:
        """The zero point of a per-tensor quantized tensor."""
        self._per_tensor("q_zero_point")
        return int(self._zero_points)

    def q_per_channel_scales(self) -> Tensor:
        """The scales (float64) of a per-channel quantized tensor."""
        self._per_channel("q_per_channel_scales")
        return Tensor(self._scales)

    def q_per_channel_zero_points(self) -> Tensor:
        """The zero points (int64) of a per-channel quantized tensor."""
        self._per_channel("q_per_channel_zero_points")
        return Tensor(self._zero_points)

    def q_per_channel_axis(self) -> int:
        """The channel axis of a per-channel quantized tensor."""
        self._per_channel("q_per_channel_axis")
        assert self._axis is not None
        return self._axis

    def _broadcast(self, values: Array) -> Array:
        if self._axis is None:
            return values
        shape = [1] * self._int.ndim
        shape[self._axis] = -1
        return values.reshape(shape)

    def dequantize(self) -> Tensor:
        """The float32 values ``(q - zero_point) * scale``."""
        return Tensor(
            dequantize_array(
                self._int, self._broadcast(self._scales), self._broadcast(self._zero_points)
            )
        )

    def __repr__(self) -> str:
        if self._axis is None:
            params = f"scale={float(self._scales)}, zero_point={int(self._zero_points)}"
        else:
            params = f"axis={self._axis}, {self._scales.size} scales"
        return f"QTensor(shape={self.shape}, dtype={self.dtype.name}, {params})"


def quantize_per_tensor(x: object, scale: float, zero_point: int, dtype: object) -> QTensor:
    """Quantize ``x`` with one ``scale`` and ``zero_point`` (``torch.quantize_per_tensor``).

    Refuses NaN and inf, a scale that is not finite and positive, a zero point outside the
    dtype's range and a dtype other than qint8, quint8, qint32.

    >>> quantize_per_tensor(Tensor([-1.0, 0.25, 0.75]), 0.5, 0, "qint8").int_repr().tolist()
    [-2, 0, 2]
    """
    op = "quantize_per_tensor"
    data = _as_float_array(op, x)
    qdtype = resolve_dtype(op, dtype)
    s = check_scale(op, scale)
    z = check_zero_point(op, zero_point, qdtype)
    check_finite(op, data)
    q = quantize_array(data, s, z, qdtype)
    return QTensor(q, np.asarray(s), np.asarray(z), None, qdtype)


def quantize_per_channel(
    x: object, scales: object, zero_points: object, axis: int, dtype: object
) -> QTensor:
    """Quantize ``x`` with one scale and zero point per index of ``axis``
    (``torch.quantize_per_channel``).

    >>> x = Tensor([[1.0, -1.0], [4.0, 2.0]])
    >>> q = quantize_per_channel(x, [0.5, 2.0], [0, 0], 0, "qint8")
    >>> q.int_repr().tolist(), q.q_per_channel_axis()
    ([[2, -2], [2, 1]], 0)
    """
    op = "quantize_per_channel"
    data = _as_float_array(op, x)
    qdtype = resolve_dtype(op, dtype)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if not -data.ndim <= int(axis) < data.ndim or data.ndim == 0:
        raise IndexError(f"{op}: axis {axis} is out of range for an input of shape {data.shape}")
    ax = int(axis) % data.ndim
    s = np.asarray(scales.data if isinstance(scales, Tensor) else scales, dtype=np.float64)
    z_raw = zero_points.data if isinstance(zero_points, Tensor) else zero_points
    z_arr = np.asarray(z_raw)
    channels = data.shape[ax]
    for name, arr in (("scales", s), ("zero_points", z_arr)):
        if arr.shape != (channels,):
            raise ValueError(
                f"{op}: {name} of shape {arr.shape} should be ({channels},) for an input of "
                f"shape {data.shape} along axis {ax}"
            )
    bad = ~(np.isfinite(s) & (s > 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{op}: scales must be finite and > 0, got {float(s[i])} at channel {i}")
    if z_arr.size and z_arr.dtype.kind not in "iu":
        raise TypeError(f"{op}: zero_points must be integers, got dtype {z_arr.dtype}")
    z = z_arr.astype(np.int64)
    out = (z < qdtype.qmin) | (z > qdtype.qmax)
    if out.any():
        i = int(np.argmax(out))
        raise ValueError(
            f"{op}: zero_point {int(z[i])} at channel {i} is outside the range of "
            f"{qdtype.name} [{qdtype.qmin}, {qdtype.qmax}]"
        )
    check_finite(op, data)
    shape = [1] * data.ndim
    shape[ax] = channels
    q = quantize_array(data, s.reshape(shape), z.reshape(shape), qdtype)
    return QTensor(q, s, z, ax, qdtype)
