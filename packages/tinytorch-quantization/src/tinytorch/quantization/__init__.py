"""TinyTorch module 15: quantization. Real int8 models: a quarter of the bytes, the accuracy
kept, the integer arithmetic exact.

- :func:`quantize_per_tensor`, :func:`quantize_per_channel` -> :class:`QTensor`
  (``int_repr()``, ``q_scale()``, ``dequantize()``, ...), bit-exact with PyTorch's rounding.
- Observers (:class:`MinMaxObserver`, :class:`MovingAverageMinMaxObserver`,
  :class:`PerChannelMinMaxObserver`, :class:`MovingAveragePerChannelMinMaxObserver`,
  :class:`PercentileObserver`) with PyTorch's ``calculate_qparams``.
- :func:`quantize_dynamic`; static PTQ :func:`prepare` -> calibrate -> :func:`convert`
  (:class:`QuantizedLinear`; ``QuantizedConv2d`` in :mod:`tinytorch.quantization.vision`);
  weight-only int8 :func:`quantize_weight_only` (int8 storage, float32 compute);
  QAT :func:`prepare_qat` with :func:`fake_quantize_per_tensor_affine` /
  :func:`fake_quantize_per_channel_affine` (straight-through gradients), then :func:`convert`.
- :func:`int_matmul`: int8 x int8 -> int32, exact, on float32 BLAS in exact chunks of K.
- :func:`held_nbytes`: the bytes a model really holds.

Example:
    >>> from tinytorch.layers import Linear, Sequential
    >>> from tinytorch.tensor import Generator, randn
    >>> model = Sequential(Linear(16, 8, generator=Generator(0)))
    >>> observed = prepare(model)
    >>> _ = observed(randn(32, 16, generator=Generator(1)))  # calibration
    >>> int8 = convert(observed)
    >>> int8[0].weight.dtype, held_nbytes(int8) < held_nbytes(model) / 2
    (dtype('int8'), True)
"""

from tinytorch.quantization.fake_quant import (
    FakeQuantize,
    default_fake_quant,
    default_per_channel_weight_fake_quant,
    disable_fake_quant,
    disable_observer,
    enable_fake_quant,
    enable_observer,
    fake_quantize_per_channel_affine,
    fake_quantize_per_tensor_affine,
)
from tinytorch.quantization.kernels import exact_chunk, int_matmul, requantize
from tinytorch.quantization.linear import (
    DynamicQuantizedLinear,
    ObservedLinear,
    QATLinear,
    QuantizedLinear,
)
from tinytorch.quantization.memory import held_arrays, held_nbytes
from tinytorch.quantization.observers import (
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    ObserverBase,
    PercentileObserver,
    PerChannelMinMaxObserver,
)
from tinytorch.quantization.qconfig import (
    QConfig,
    default_per_channel_weight_observer,
    default_qat_qconfig,
    default_qconfig,
    default_weight_observer,
    per_tensor_weight_qconfig,
    percentile_qconfig,
)
from tinytorch.quantization.qtensor import QTensor, quantize_per_channel, quantize_per_tensor
from tinytorch.quantization.qtypes import (
    QDtype,
    per_channel_affine,
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
    qint8,
    qint32,
    quint8,
)
from tinytorch.quantization.quantize import (
    convert,
    prepare,
    prepare_qat,
    quantize_dynamic,
    swap_modules,
)
from tinytorch.quantization.weight_only import WeightOnlyInt8Linear, quantize_weight_only

__all__ = [
    "DynamicQuantizedLinear",
    "FakeQuantize",
    "MinMaxObserver",
    "MovingAverageMinMaxObserver",
    "MovingAveragePerChannelMinMaxObserver",
    "ObservedLinear",
    "ObserverBase",
    "PerChannelMinMaxObserver",
    "PercentileObserver",
    "QATLinear",
    "QConfig",
    "QDtype",
    "QTensor",
    "QuantizedLinear",
    "WeightOnlyInt8Linear",
    "convert",
    "default_fake_quant",
    "default_per_channel_weight_fake_quant",
    "default_per_channel_weight_observer",
    "default_qat_qconfig",
    "default_qconfig",
    "default_weight_observer",
    "disable_fake_quant",
    "disable_observer",
    "enable_fake_quant",
    "enable_observer",
    "exact_chunk",
    "fake_quantize_per_channel_affine",
    "fake_quantize_per_tensor_affine",
    "held_arrays",
    "held_nbytes",
    "int_matmul",
    "per_channel_affine",
    "per_channel_symmetric",
    "per_tensor_affine",
    "per_tensor_symmetric",
    "per_tensor_weight_qconfig",
    "percentile_qconfig",
    "prepare",
    "prepare_qat",
    "qint8",
    "qint32",
    "quantize_dynamic",
    "quantize_per_channel",
    "quantize_per_tensor",
    "quantize_weight_only",
    "quint8",
    "requantize",
    "swap_modules",
]
