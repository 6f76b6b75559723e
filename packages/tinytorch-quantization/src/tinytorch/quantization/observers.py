"""Observers: modules that watch the values passing through and choose a scale and zero point
(``torch.ao.quantization.observer``).

Each observer's ``forward(x)`` records statistics and returns ``x`` unchanged;
``calculate_qparams()`` turns them into ``(scale, zero_point)`` with PyTorch's formulas, in
float32, so the scales and zero points equal those of torch's observers:

- affine: ``scale = (max(max_val, 0) - min(min_val, 0)) / (qmax - qmin)``, at least ``eps``;
  ``zero_point = clamp(qmin - round(min(min_val, 0) / scale), qmin, qmax)``;
- symmetric: ``scale = max(-min(min_val, 0), max(max_val, 0)) / ((qmax - qmin) / 2)``, at
  least ``eps``; ``zero_point`` is 0 (128 for quint8).

The range always includes 0, so that 0 (padding, ReLU's zeros) is represented exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.layers import Module
from tinytorch.quantization.qtensor import check_finite
from tinytorch.quantization.qtypes import (
    QDtype,
    per_channel_affine,
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
    qint8,
    quint8,
    resolve_dtype,
)
from tinytorch.tensor import Tensor

__all__ = [
    "MinMaxObserver",
    "MovingAverageMinMaxObserver",
    "MovingAveragePerChannelMinMaxObserver",
    "ObserverBase",
    "PerChannelMinMaxObserver",
    "PercentileObserver",
    "calculate_qparams",
    "quant_range",
]

Array = npt.NDArray[Any]
EPS = float(np.finfo(np.float32).eps)
_PER_TENSOR = (per_tensor_affine, per_tensor_symmetric)
_PER_CHANNEL = (per_channel_affine, per_channel_symmetric)


def quant_range(
    op: str, dtype: QDtype, reduce_range: bool, quant_min: int | None, quant_max: int | None
) -> tuple[int, int]:
    """``(qmin, qmax)`` as torch's observers pick them: the dtype's range, halved by
    ``reduce_range`` (one bit less), or the caller's own (which must fit in the dtype).

    >>> quant_range("demo", qint8, False, None, None), quant_range("demo", quint8, True, None, None)
    ((-128, 127), (0, 127))
    """
    if quant_min is not None or quant_max is not None:
        if quant_min is None or quant_max is None:
            raise ValueError(f"{op}: give both quant_min and quant_max, or neither")
        if not dtype.qmin <= quant_min < quant_max <= dtype.qmax:
            raise ValueError(
                f"{op}: quant range [{quant_min}, {quant_max}] must be increasing and inside "
                f"{dtype.name}'s [{dtype.qmin}, {dtype.qmax}]"
            )
        return quant_min, quant_max
    if reduce_range:
        if dtype is qint8:
            return -64, 63
        if dtype is quint8:
            return 0, 127
    return dtype.qmin, dtype.qmax


def calculate_qparams(
    min_val: Array,
    max_val: Array,
    qscheme: str,
    dtype: QDtype,
    qmin: int,
    qmax: int,
    eps: float = EPS,
    customized_range: bool = False,
) -> tuple[Array, Array]:
    """``(scale float32, zero_point int64)`` of the observed range ``[min_val, max_val]``
    (scalars or one per channel), with PyTorch's formulas (see the module docstring).

    >>> s, z = calculate_qparams(np.float32(-1.0), np.float32(3.0), "per_tensor_affine",
    ...                          quint8, 0, 255)
    >>> bool(s == np.float32(4.0) / np.float32(255)), int(z)
    (True, 64)
    """
    # BEGIN SOLUTION calculate-qparams
    # HINT: widen the range to include 0 (so 0.0 is exact). Symmetric: scale = max(|lo|, hi)
    # HINT: over half the integer range, zero point 0 (128 for quint8, or the middle of a
    # HINT: custom range). Affine: scale = (hi - lo) / (qmax - qmin), zero point = qmin -
    # HINT: round(lo / scale), clamped into [qmin, qmax]. Never a scale below eps; all in float32.
    # TESTS: observers or all_zero or static or qat or models or gpt or quantized
    lo = np.minimum(np.asarray(min_val, np.float32), np.float32(0))
    hi = np.maximum(np.asarray(max_val, np.float32), np.float32(0))
    f32_eps = np.float32(eps)
    if qscheme in (per_tensor_symmetric, per_channel_symmetric):
        bound = np.maximum(-lo, hi)
        scale = np.maximum(bound / np.float32((qmax - qmin) / 2), f32_eps)
        if dtype is quint8:
            centre = (qmin + qmax) // 2 if customized_range else 128
            zero_point = np.full(scale.shape, centre, dtype=np.int64)
        else:
            zero_point = np.zeros(scale.shape, dtype=np.int64)
    else:
        scale = np.maximum((hi - lo) / np.float32(qmax - qmin), f32_eps)
        zero_point = qmin - np.rint(lo / scale).astype(np.int64)
        zero_point = np.clip(zero_point, qmin, qmax)
    return scale.astype(np.float32), zero_point.astype(np.int64)
    # END SOLUTION


class ObserverBase(Module):
    """What every observer shares: dtype, scheme, quant range, and ``calculate_qparams``.

    Subclasses define ``forward`` (record, return the input) and ``_range()``.

    >>> obs = MinMaxObserver()
    >>> obs.dtype, obs.qscheme, (obs.quant_min, obs.quant_max)
    (tinytorch.quantization.quint8, 'per_tensor_affine', (0, 255))
    """

    _schemes: tuple[str, ...] = _PER_TENSOR

    def __init__(
        self,
        dtype: object = quint8,
        qscheme: str = per_tensor_affine,
        reduce_range: bool = False,
        quant_min: int | None = None,
        quant_max: int | None = None,
        eps: float = EPS,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.dtype = resolve_dtype(name, dtype)
        if self.dtype not in (qint8, quint8):
            raise TypeError(f"{name}: unsupported dtype {self.dtype.name}; choose qint8 or quint8")
        if qscheme not in self._schemes:
            raise ValueError(
                f"{name}: unsupported qscheme {qscheme!r}; choose one of {', '.join(self._schemes)}"
            )
        if not eps > 0:
            raise ValueError(f"{name}: eps must be > 0, got {eps!r}")
        self.qscheme = qscheme
        self.reduce_range = bool(reduce_range)
        self.quant_min, self.quant_max = quant_range(
            name, self.dtype, self.reduce_range, quant_min, quant_max
        )
        self.customized_range = quant_min is not None
        self.eps = float(eps)

    def _values(self, x: Tensor) -> Array:
        name = type(self).__name__
        if not isinstance(x, Tensor) or x.dtype.kind != "f":
            what = f"dtype {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
            raise TypeError(f"{name}: expects a floating Tensor, got {what}")
        check_finite(name, x.data)
        return x.data.astype(np.float32, copy=False)

    def _range(self) -> tuple[Array, Array]:
        raise NotImplementedError

    def calculate_qparams(self) -> tuple[Tensor, Tensor]:
        """``(scale, zero_point)`` Tensors (float32, int64) from what was observed."""
        lo, hi = self._range()
        scale, zero_point = calculate_qparams(
            lo,
            hi,
            self.qscheme,
            self.dtype,
            self.quant_min,
            self.quant_max,
            self.eps,
            self.customized_range,
        )
        return Tensor(scale), Tensor(zero_point)

    def extra_repr(self) -> str:
        return f"dtype={self.dtype.name}, qscheme={self.qscheme}"


class MinMaxObserver(ObserverBase):
    """The running minimum and maximum of everything seen
    (``torch.ao.quantization.MinMaxObserver``).

    >>> obs = MinMaxObserver()
    >>> _ = obs(Tensor([-1.0, 0.5])); _ = obs(Tensor([3.0]))
    >>> obs.min_val.item(), obs.max_val.item(), obs.calculate_qparams()[1].item()
    (-1.0, 3.0, 64)
    """

    min_val: Tensor
    max_val: Tensor

    def __init__(self, dtype: object = quint8, qscheme: str = per_tensor_affine, **kw: Any) -> None:
        super().__init__(dtype, qscheme, **kw)
        self.register_buffer("min_val", Tensor(np.array(np.inf, np.float32)))
        self.register_buffer("max_val", Tensor(np.array(-np.inf, np.float32)))

    def forward(self, x: Tensor) -> Tensor:
        values = self._values(x)
        # BEGIN SOLUTION minmax-observer
        # HINT: keep the running minimum and maximum over every batch seen (an empty batch
        # HINT: changes nothing), as new buffer Tensors; pass x through unchanged.
        # TESTS: observers or all_zero or static or models or gpt or quantized
        if values.size:
            self.min_val = Tensor(np.minimum(self.min_val.data, values.min()))
            self.max_val = Tensor(np.maximum(self.max_val.data, values.max()))
        return x
        # END SOLUTION

    def _range(self) -> tuple[Array, Array]:
        lo, hi = self.min_val.data, self.max_val.data
        if not np.isfinite(lo) or not np.isfinite(hi):
            raise RuntimeError(
                f"{type(self).__name__}.calculate_qparams: nothing observed yet; run "
                "calibration batches through the model first"
            )
        return lo, hi


class MovingAverageMinMaxObserver(MinMaxObserver):
    """An exponential moving average of each batch's minimum and maximum
    (``torch.ao.quantization.MovingAverageMinMaxObserver``): the first batch sets them, then
    ``min += averaging_constant * (batch_min - min)``, likewise the maximum.

    >>> obs = MovingAverageMinMaxObserver(averaging_constant=0.5)
    >>> _ = obs(Tensor([0.0, 2.0])); _ = obs(Tensor([0.0, 4.0]))
    >>> obs.max_val.item()
    3.0
    """

    def __init__(
        self,
        averaging_constant: float = 0.01,
        dtype: object = quint8,
        qscheme: str = per_tensor_affine,
        **kw: Any,
    ) -> None:
        super().__init__(dtype, qscheme, **kw)
        if not 0 < averaging_constant <= 1:
            raise ValueError(
                f"MovingAverageMinMaxObserver: averaging_constant must be in (0, 1], "
                f"got {averaging_constant!r}"
            )
        self.averaging_constant = float(averaging_constant)

    def forward(self, x: Tensor) -> Tensor:
        values = self._values(x)
        if not values.size:
            return x
        # BEGIN SOLUTION moving-average-observer
        # HINT: the first batch sets min and max; each later one moves them a fraction c (the
        # HINT: averaging constant, in float32) of the way to the batch's own: m += c * (b - m).
        # TESTS: observers or qat or models
        lo, hi = values.min(), values.max()
        if np.isfinite(self.min_val.data) and np.isfinite(self.max_val.data):
            c = np.float32(self.averaging_constant)
            lo = self.min_val.data + c * (lo - self.min_val.data)
            hi = self.max_val.data + c * (hi - self.max_val.data)
        self.min_val = Tensor(np.asarray(lo, np.float32))
        self.max_val = Tensor(np.asarray(hi, np.float32))
        return x
        # END SOLUTION


class PerChannelMinMaxObserver(ObserverBase):
    """The running minimum and maximum of each index of ``ch_axis``
    (``torch.ao.quantization.PerChannelMinMaxObserver``); the weight default is
    ``PerChannelMinMaxObserver(dtype=qint8, qscheme="per_channel_symmetric")``.

    >>> obs = PerChannelMinMaxObserver(dtype="qint8", qscheme="per_channel_symmetric")
    >>> _ = obs(Tensor([[1.0, -2.0], [0.5, 0.25]]))
    >>> obs.max_val.tolist(), obs.calculate_qparams()[1].tolist()
    ([1.0, 0.5], [0, 0])
    """

    _schemes = _PER_CHANNEL
    min_val: Tensor
    max_val: Tensor

    def __init__(
        self,
        ch_axis: int = 0,
        dtype: object = quint8,
        qscheme: str = per_channel_affine,
        **kw: Any,
    ) -> None:
        super().__init__(dtype, qscheme, **kw)
        self.ch_axis = int(ch_axis)
        self.register_buffer("min_val", Tensor(np.zeros(0, np.float32)))
        self.register_buffer("max_val", Tensor(np.zeros(0, np.float32)))

    def _channel_range(self, x: Tensor) -> tuple[Array, Array]:
        values = self._values(x)
        name = type(self).__name__
        if not -values.ndim <= self.ch_axis < values.ndim:
            raise IndexError(
                f"{name}: ch_axis {self.ch_axis} is out of range for an input of shape "
                f"{values.shape}"
            )
        rows = np.moveaxis(values, self.ch_axis, 0).reshape(values.shape[self.ch_axis], -1)
        if rows.shape[1] == 0:
            raise ValueError(f"{name}: an input of shape {values.shape} has no values per channel")
        if self.min_val.data.size and self.min_val.shape[0] != rows.shape[0]:
            raise ValueError(
                f"{name}: an input with {rows.shape[0]} channels (shape {values.shape}) after "
                f"{self.min_val.shape[0]} channels were observed"
            )
        return rows.min(axis=1), rows.max(axis=1)

    def forward(self, x: Tensor) -> Tensor:
        # BEGIN SOLUTION per-channel-observer
        # HINT: each channel's min and max of this batch (_channel_range), folded into the
        # HINT: running ones channel by channel once there are any.
        # TESTS: observers or per_channel or static or dynamic or models or gpt or quantized
        lo, hi = self._channel_range(x)
        if self.min_val.data.size:
            lo, hi = np.minimum(self.min_val.data, lo), np.maximum(self.max_val.data, hi)
        self.min_val, self.max_val = Tensor(lo), Tensor(hi)
        return x
        # END SOLUTION

    def _range(self) -> tuple[Array, Array]:
        if not self.min_val.data.size:
            raise RuntimeError(
                f"{type(self).__name__}.calculate_qparams: nothing observed yet; run "
                "calibration batches through the model first"
            )
        return self.min_val.data, self.max_val.data

    def extra_repr(self) -> str:
        return f"ch_axis={self.ch_axis}, " + super().extra_repr()


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """Per-channel moving averages of the minimum and maximum
    (``torch.ao.quantization.MovingAveragePerChannelMinMaxObserver``): QAT's weight observer.

    >>> obs = MovingAveragePerChannelMinMaxObserver(averaging_constant=0.5)
    >>> _ = obs(Tensor([[2.0], [1.0]])); _ = obs(Tensor([[4.0], [1.0]]))
    >>> obs.max_val.tolist()
    [3.0, 1.0]
    """

    def __init__(
        self,
        averaging_constant: float = 0.01,
        ch_axis: int = 0,
        dtype: object = quint8,
        qscheme: str = per_channel_affine,
        **kw: Any,
    ) -> None:
        super().__init__(ch_axis, dtype, qscheme, **kw)
        if not 0 < averaging_constant <= 1:
            raise ValueError(
                f"MovingAveragePerChannelMinMaxObserver: averaging_constant must be in (0, 1], "
                f"got {averaging_constant!r}"
            )
        self.averaging_constant = float(averaging_constant)

    def forward(self, x: Tensor) -> Tensor:
        lo, hi = self._channel_range(x)
        if self.min_val.data.size:
            c = np.float32(self.averaging_constant)
            lo = self.min_val.data + c * (lo - self.min_val.data)
            hi = self.max_val.data + c * (hi - self.max_val.data)
        self.min_val, self.max_val = Tensor(lo), Tensor(hi)
        return x


class PercentileObserver(MinMaxObserver):
    """A range that ignores rare outliers: the lowest ``100 - percentile`` and highest
    ``percentile`` percentiles of each batch (``numpy.percentile``), the widest over the
    batches. PyTorch has no percentile observer (its HistogramObserver searches a histogram
    for the range of least quantization error); TensorRT's "percentile" calibration is this.

    >>> obs = PercentileObserver(percentile=90.0)
    >>> _ = obs(Tensor(list(range(11)) + [1000.0]))
    >>> round(obs.max_val.item(), 6) < 1000.0
    True
    """

    def __init__(
        self,
        percentile: float = 99.99,
        dtype: object = quint8,
        qscheme: str = per_tensor_affine,
        **kw: Any,
    ) -> None:
        super().__init__(dtype, qscheme, **kw)
        if not 50.0 < percentile <= 100.0:
            raise ValueError(
                f"PercentileObserver: percentile must be in (50, 100], got {percentile!r}"
            )
        self.percentile = float(percentile)

    def forward(self, x: Tensor) -> Tensor:
        values = self._values(x)
        # BEGIN SOLUTION percentile-observer
        # HINT: this batch's range is its (100 - p)-th and p-th percentiles, not its extremes;
        # HINT: keep the widest such range over the batches.
        # TESTS: percentile
        if values.size:
            lo, hi = np.percentile(values, (100.0 - self.percentile, self.percentile))
            self.min_val = Tensor(np.minimum(self.min_val.data, np.float32(lo)))
            self.max_val = Tensor(np.maximum(self.max_val.data, np.float32(hi)))
        return x
        # END SOLUTION
