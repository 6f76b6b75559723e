"""Quantized convolution (the ``vision`` extra: needs tinytorch-convolutions): the observed,
QAT and static int8 versions of ``Conv2d`` (``torch.ao.nn.quantized.Conv2d``).

:class:`QuantizedConv2d` lays the quantized input's patches out as an im2col matrix of
integers (the input's zero point subtracted first, so zero padding is the real 0) and
multiplies it exactly with the int8 filters by :func:`int_matmul`, then adds the int32 bias
and requantizes, as :class:`~tinytorch.quantization.QuantizedLinear` does.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

try:
    from tinytorch.convolutions import Conv2d, conv2d
    from tinytorch.convolutions.functional import output_size, windows
except ImportError as err:  # the extra is missing: say which one
    raise ImportError(
        "tinytorch.quantization.vision needs tinytorch-convolutions: "
        "pip install 'tinytorch-quantization[vision]'"
    ) from err
from tinytorch.layers import Module, Parameter
from tinytorch.quantization.linear import (
    ArrayKernel,
    Int8Product,
    activation_qparams,
    quantize_weight,
)
from tinytorch.quantization.qconfig import QConfig, default_qat_qconfig, default_qconfig
from tinytorch.quantization.qtensor import check_finite
from tinytorch.quantization.weight_only import weight_only_product
from tinytorch.tensor import Tensor, record
from tinytorch.tensor.graph import Node, register_gradient

__all__ = [
    "Conv2d",
    "Int8Conv2d",
    "ObservedConv2d",
    "QATConv2d",
    "QuantizedConv2d",
    "WeightOnlyInt8Conv2d",
    "im2col",
]

Array = npt.NDArray[Any]
Pair = tuple[int, int]


def im2col(x: Array, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> Array:
    """The (N, Ho*Wo, C*kh*kw) matrix of every kernel patch of the NCHW batch ``x`` (zero
    padded), one row per output pixel: convolutions' window view, laid out by pixel.

    >>> im2col(np.arange(16).reshape(1, 1, 4, 4), (2, 2), (2, 2), (0, 0), (1, 1))[0].tolist()
    [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
    """
    n, c, h, w = x.shape
    (ph, pw) = padding
    if ph or pw:
        padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
        padded[:, :, ph : ph + h, pw : pw + w] = x
        x = padded
    ho, wo = output_size("im2col", (n, c, h, w), kernel, stride, padding, dilation)
    view = windows(x, kernel, stride, dilation, (ho, wo), kernel_first=False)  # N C Ho Wo kh kw
    cols: Array = view.transpose(0, 2, 3, 1, 4, 5).reshape(n, ho * wo, c * kernel[0] * kernel[1])
    return cols


class ObservedConv2d(Module):
    """A Conv2d with observers on its input and output, for calibration.

    >>> from tinytorch.tensor import ones
    >>> m = ObservedConv2d.from_float(Conv2d(1, 2, 3))
    >>> m(ones(1, 1, 4, 4)).shape
    (1, 2, 2, 2)
    """

    weight: Parameter
    bias: Parameter | None

    def __init__(self, conv: Conv2d, qconfig: QConfig = default_qconfig) -> None:
        super().__init__()
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.kernel_size, self.stride = conv.kernel_size, conv.stride
        self.padding, self.dilation = conv.padding, conv.dilation
        self.weight = conv.weight
        if conv.bias is not None:
            self.bias = conv.bias
        else:
            self.register_parameter("bias", None)
        self.qconfig = qconfig
        self.activation_pre_process = qconfig.activation()
        self.activation_post_process = qconfig.activation()

    @classmethod
    def from_float(cls, conv: Conv2d, qconfig: QConfig = default_qconfig) -> ObservedConv2d:
        """Wrap ``conv`` (sharing its Parameters)."""
        return cls(conv, qconfig)

    def weight_observer(self) -> Module:
        """A fresh weight observer from the qconfig."""
        return self.qconfig.weight()

    def _weight(self) -> Tensor:
        return self.weight

    def forward(self, x: Tensor) -> Tensor:
        x = self.activation_pre_process(x)
        out = conv2d(x, self._weight(), self.bias, self.stride, self.padding, self.dilation)
        result: Tensor = self.activation_post_process(out)
        return result


class QATConv2d(ObservedConv2d):
    """A Conv2d trained with fake-quantized input, weight (per output channel) and output
    (``torch.ao.nn.qat.Conv2d``).

    >>> from tinytorch.tensor import ones
    >>> QATConv2d.from_float(Conv2d(1, 2, 3))(ones(1, 1, 4, 4)).shape
    (1, 2, 2, 2)
    """

    def __init__(self, conv: Conv2d, qconfig: QConfig = default_qat_qconfig) -> None:
        super().__init__(conv, qconfig)
        self.weight_fake_quant = qconfig.weight()

    @classmethod
    def from_float(cls, conv: Conv2d, qconfig: QConfig = default_qat_qconfig) -> QATConv2d:
        """Wrap ``conv`` (sharing its Parameters) for quantization-aware training."""
        return cls(conv, qconfig)

    def weight_observer(self) -> Module:
        """The weight's own fake quantizer."""
        return self.weight_fake_quant

    def _weight(self) -> Tensor:
        out: Tensor = self.weight_fake_quant(self.weight)
        return out


class Int8Conv2d(Module):
    """What the convolutions with int8 filters share: their geometry, ``weight`` int8
    (O, C, kh, kw), ``weight_scale`` float32 (O,) or (1,), ``bias`` (of :attr:`bias_dtype`),
    the input checks, and the im2col product: :class:`QuantizedConv2d` (integer arithmetic)
    and :class:`WeightOnlyInt8Conv2d` (float arithmetic) differ in the product alone."""

    bias_dtype: Any = np.float32
    float32_only = True  # an input of another float dtype is refused, not converted

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Pair,
        stride: Pair = (1, 1),
        padding: Pair = (0, 0),
        dilation: Pair = (1, 1),
        bias: bool = True,
        per_channel: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride = tuple(kernel_size), tuple(stride)
        self.padding, self.dilation = tuple(padding), tuple(dilation)
        shape = (out_channels, in_channels, *kernel_size)
        self.register_buffer("weight", Tensor(np.zeros(shape, np.int8)))
        n_scales = out_channels if per_channel else 1
        self.register_buffer("weight_scale", Tensor(np.ones(n_scales, np.float32)))
        zeros = np.zeros(out_channels, self.bias_dtype)
        self.register_buffer("bias", Tensor(zeros) if bias else None)

    @classmethod
    def _shaped_like(cls: type[C], conv: Any, q: Array, s_w: Array) -> C:
        out = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            conv.stride,
            conv.padding,
            conv.dilation,
            conv.bias is not None,
            s_w.size > 1,
        )
        out.weight.data[...] = q
        out.weight_scale.data[...] = s_w
        return out

    def _check(self, x: object, array: bool = False) -> None:
        op = type(self).__name__
        data: Any = x if array else getattr(x, "data", None) if isinstance(x, Tensor) else None
        kind = "float32" if self.float32_only else "floating"
        if not isinstance(data, np.ndarray) or data.ndim != 4:
            what = f"shape {data.shape}" if isinstance(data, np.ndarray) else type(x).__name__
            raise TypeError(f"{op}: expects a {kind} (N, C, H, W) input, got {what}")
        if data.dtype != np.float32 if self.float32_only else data.dtype.kind != "f":
            raise TypeError(f"{op}: expects a {kind} (N, C, H, W) input, got {data.dtype}")
        if data.shape[1] != self.in_channels:
            raise ValueError(
                f"{op}: input of shape {data.shape} has {data.shape[1]} channels, the layer "
                f"expects in_channels={self.in_channels}"
            )

    def _product(self) -> tuple[ArrayKernel, ArrayKernel]:
        """``(prepare, product)``: what turns the float input into im2col's input, and the
        product of the (pixels, C*kh*kw) matrix with the filters."""
        raise NotImplementedError

    def _kernel(self) -> ArrayKernel:
        k: Pair = self.kernel_size  # type: ignore[assignment]
        stride, padding, dilation = self.stride, self.padding, self.dilation
        out_channels = self.out_channels
        prepare, product = self._product()

        def run(x: Array) -> Array:
            cols = im2col(prepare(x), k, stride, padding, dilation)  # type: ignore[arg-type]
            n, pixels, depth = cols.shape
            out = product(cols.reshape(n * pixels, depth))
            h = x.shape[2] + 2 * padding[0] - dilation[0] * (k[0] - 1) - 1
            w = x.shape[3] + 2 * padding[1] - dilation[1] * (k[1] - 1) - 1
            ho, wo = h // stride[0] + 1, w // stride[1] + 1
            return np.ascontiguousarray(out.reshape(n, ho, wo, out_channels).transpose(0, 3, 1, 2))

        return run

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        if not self.float32_only:
            check_finite(type(self).__name__, x.data)
        return record(
            "quantized_conv2d",
            self._kernel()(x.data),
            (x, self.weight),
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            weight_only=self.float32_only,
        )

    def inference_kernel(self) -> ArrayKernel:
        """The forward on arrays, for ``tinytorch.acceleration.compile_inference``: the same
        arithmetic with the parameters read once, the input still checked."""
        run, integer = self._kernel(), not self.float32_only

        def kernel(x: Array) -> Array:
            self._check(x, array=True)
            if integer:  # NaN has no integer
                check_finite(type(self).__name__, x)
            return run(x)

        return kernel

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}"
        )


C = TypeVar("C", bound=Int8Conv2d)


class QuantizedConv2d(Int8Conv2d):
    """A static int8 Conv2d built by ``convert``. State: ``weight`` int8 (O, C, kh, kw),
    ``weight_scale`` float32 (O,), ``bias`` int32, ``scale`` and ``zero_point`` (input,
    output). Float NCHW in, float out; integer arithmetic inside (:class:`Int8Product`).

    >>> from tinytorch.tensor import Generator, randn
    >>> obs = ObservedConv2d.from_float(Conv2d(2, 4, 3, padding=1, generator=Generator(0)))
    >>> x = randn(2, 2, 5, 5, generator=Generator(1))
    >>> _ = obs(x)
    >>> q = QuantizedConv2d.from_observed(obs)
    >>> q.weight.dtype, bool(abs(q(x).data - obs(x).data).max() < 0.05)
    (dtype('int8'), True)
    """

    bias_dtype = np.int32
    float32_only = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("scale", Tensor(np.ones(2, np.float32)))
        self.register_buffer("zero_point", Tensor(np.zeros(2, np.int32)))

    @classmethod
    def from_observed(cls, mod: ObservedConv2d) -> QuantizedConv2d:
        """Quantize a calibrated (or QAT-trained) Conv2d: its observers give the scales."""
        op = "QuantizedConv2d.from_observed"
        s_in, z_in = activation_qparams(op, mod.activation_pre_process)
        s_out, z_out = activation_qparams(op, mod.activation_post_process)
        q, s_w = quantize_weight(op, mod.weight.data.astype(np.float32), mod.weight_observer())
        out = cls._shaped_like(mod, q, s_w)
        if mod.bias is not None:
            acc_scale = np.float64(np.float32(s_in) * s_w)
            out.bias.data[...] = np.rint(mod.bias.data.astype(np.float64) / acc_scale)
        out.scale.data[...] = (s_in, s_out)
        out.zero_point.data[...] = (z_in, z_out)
        return out

    def _product(self) -> tuple[ArrayKernel, ArrayKernel]:
        # The input's zero point is subtracted before im2col, so the zero padding is the real 0.
        bias = None if self.bias is None else self.bias.data
        product = Int8Product(
            self.weight.data, self.weight_scale.data, bias, self.scale.data, self.zero_point.data
        )
        return product.centre, product


class WeightOnlyInt8Conv2d(Int8Conv2d):
    """A Conv2d with int8 filters that computes in float32 (weight-only int8; see
    :mod:`tinytorch.quantization.weight_only`): im2col of the float input, one product with the
    filters widened to float32 for the call, the per-channel scale and the float32 bias on the
    output channels. State: ``weight`` int8, ``weight_scale`` float32, ``bias`` float32.

    >>> from tinytorch.tensor import Generator, randn
    >>> conv = Conv2d(2, 3, 3, padding=1, generator=Generator(0))
    >>> q = WeightOnlyInt8Conv2d.from_float(conv)
    >>> x = randn(1, 2, 5, 5, generator=Generator(1))
    >>> q.weight.dtype, bool(abs(q(x).data - conv(x).data).max() < 0.02)
    (dtype('int8'), True)
    """

    @classmethod
    def from_float(
        cls, conv: Conv2d, weight_observer: Module | None = None
    ) -> WeightOnlyInt8Conv2d:
        """int8 filters of ``conv`` (per output channel, symmetric, unless another observer)."""
        from tinytorch.quantization.qconfig import default_per_channel_weight_observer

        obs = default_per_channel_weight_observer() if weight_observer is None else weight_observer
        op = "WeightOnlyInt8Conv2d.from_float"
        q, s_w = quantize_weight(op, conv.weight.data.astype(np.float32), obs)
        out = cls._shaped_like(conv, q, s_w)
        if conv.bias is not None:
            out.bias.data[...] = conv.bias.data
        return out

    def _product(self) -> tuple[ArrayKernel, ArrayKernel]:
        bias = None if self.bias is None else self.bias.data
        return (lambda x: x), weight_only_product(self.weight.data, self.weight_scale.data, bias)


@register_gradient("quantized_conv2d")
def _quantized_conv2d_grad(grad: Array, node: Node) -> tuple[Array | None, ...]:
    raise RuntimeError(
        "quantized_conv2d: an int8 layer has no gradient (its weights are integers); train "
        "with prepare_qat() and convert() afterwards"
    )
