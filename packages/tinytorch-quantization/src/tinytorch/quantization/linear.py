"""The quantized Linear family: observed (calibration), QAT (fake-quant training), static int8
and dynamic int8 (``torch.ao.nn.quantized.Linear``, ``torch.ao.nn.quantized.dynamic.Linear``,
``torch.ao.nn.qat.Linear``).

A static :class:`QuantizedLinear` holds only ``weight`` (int8), ``weight_scale`` (float32,
one per output channel or one), ``bias`` (int32, in the accumulator's scale
``input_scale * weight_scale``), ``scale`` and ``zero_point`` (the input's and the output's,
float32 and int32). Its forward is integer arithmetic: quantize the input to quint8, subtract
its zero point, int8 x int8 products accumulated exactly in int32 (:func:`int_matmul`), add
the int32 bias, requantize to the output's quint8 grid, then dequantize for the float layer
that follows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from tinytorch.layers import Linear, Module, Parameter
from tinytorch.quantization.fake_quant import FakeQuantize
from tinytorch.quantization.kernels import int_matmul, requantize
from tinytorch.quantization.observers import ObserverBase, calculate_qparams
from tinytorch.quantization.qconfig import QConfig, default_qat_qconfig, default_qconfig
from tinytorch.quantization.qtensor import check_finite, dequantize_array, quantize_array
from tinytorch.quantization.qtypes import (
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
    qint8,
    quint8,
)
from tinytorch.tensor import Tensor, record
from tinytorch.tensor.graph import Node, register_gradient

__all__ = [
    "DynamicQuantizedLinear",
    "Int8Product",
    "Int8WeightLinear",
    "ObservedLinear",
    "QATLinear",
    "QuantizedLinear",
    "activation_qparams",
    "quantize_weight",
]

Array = npt.NDArray[Any]
ArrayKernel = Callable[[Array], Array]


class Int8Product:
    """The static int8 arithmetic of a quantized layer, its quantization parameters read once:
    :meth:`centre` turns a float32 input into quint8 integers minus the input's zero point
    (int16), and calling it on an (M, K) matrix of those multiplies it exactly with the (N, K)
    int8 ``weight`` (:func:`int_matmul`), adds the int32 ``bias``, requantizes to the output's
    quint8 grid and dequantizes: an (M, N) float32 result. ``scale`` and ``zero_point`` are the
    layer's (input, output) pairs. :class:`QuantizedLinear` and ``QuantizedConv2d`` (between
    the two steps it lays out its im2col matrix) both compute through it.

    >>> p = Int8Product(np.array([[2, -1]], np.int8), np.array([0.5], np.float32), None,
    ...                 np.array([0.1, 0.1], np.float32), np.array([0, 0], np.int32))
    >>> p(p.centre(np.array([[1.0, 1.0]], np.float32))).tolist()  # (2 - 1) * 0.5 = 0.5
    [[0.5]]
    """

    def __init__(
        self,
        weight: Array,
        weight_scale: Array,
        bias: Array | None,
        scale: Array,
        zero_point: Array,
    ) -> None:
        self.s_in, self.s_out = (np.float32(v) for v in scale)
        self.z_in, self.z_out = (int(v) for v in zero_point)
        self.weight_t = weight.reshape(weight.shape[0], -1).T
        self.bias = bias
        self.multiplier = self.s_in * weight_scale / self.s_out

    def centre(self, x: Array) -> Array:
        """quint8 integers of ``x`` minus the input's zero point, as int16."""
        q = quantize_array(x, self.s_in, self.z_in, quint8)
        out: Array = q.astype(np.int16) - np.int16(self.z_in)
        return out

    def __call__(self, centred: Array) -> Array:
        acc = int_matmul(centred, self.weight_t)
        if self.bias is not None:
            acc += self.bias
        return dequantize_array(
            requantize(acc, self.multiplier, self.z_out, quint8), self.s_out, self.z_out
        )


def activation_qparams(op: str, observer: Module) -> tuple[float, int]:
    """The (scale, zero_point) of a calibrated quint8 per-tensor observer or FakeQuantize."""
    obs = observer.activation_post_process if isinstance(observer, FakeQuantize) else observer
    if not isinstance(obs, ObserverBase):
        raise TypeError(f"{op}: expected an observer, got {type(observer).__name__}")
    if obs.dtype != quint8 or obs.qscheme != per_tensor_affine:
        raise TypeError(
            f"{op}: unsupported activation quantization {obs.dtype.name} {obs.qscheme}; "
            "the quantized layers take quint8 per_tensor_affine activations"
        )
    scale, zero_point = obs.calculate_qparams()
    return float(scale.data.reshape(-1)[0]), int(zero_point.data.reshape(-1)[0])


def quantize_weight(op: str, weight: Array, observer: Module) -> tuple[Array, Array]:
    """``(int8 weight, float32 scales)`` of a float weight, the scales chosen by a symmetric
    qint8 ``observer`` (per channel along axis 0, or per tensor) after it sees ``weight``."""
    obs = observer.activation_post_process if isinstance(observer, FakeQuantize) else observer
    if not isinstance(obs, ObserverBase):
        raise TypeError(f"{op}: expected a weight observer, got {type(observer).__name__}")
    if obs.dtype != qint8 or obs.qscheme not in (per_channel_symmetric, per_tensor_symmetric):
        raise TypeError(
            f"{op}: unsupported weight quantization {obs.dtype.name} {obs.qscheme}; weights are "
            "qint8 per_channel_symmetric or per_tensor_symmetric"
        )
    if obs.qscheme == per_channel_symmetric and getattr(obs, "ch_axis", 0) != 0:
        raise ValueError(f"{op}: per-channel weight scales must be along axis 0 (output channels)")
    obs(Tensor(weight))
    scale, _ = obs.calculate_qparams()
    s = scale.data.astype(np.float32).reshape(-1)
    shape = (-1,) + (1,) * (weight.ndim - 1) if s.size > 1 else ()
    q = quantize_array(weight, s.reshape(shape) if shape else s[0], 0, qint8)
    return q, s


def _check_input(op: str, x: object, features: int) -> Tensor:
    if not isinstance(x, Tensor) or x.dtype.kind != "f":
        what = f"dtype {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
        raise TypeError(f"{op}: expects a floating Tensor input, got {what}")
    if x.ndim == 0 or x.shape[-1] != features:
        raise ValueError(f"{op}: input of shape {x.shape} does not end in in_features={features}")
    check_finite(op, x.data)
    return x


class ObservedLinear(Module):
    """A Linear with observers on its input and output, for calibration (what ``prepare``
    puts in place of a ``Linear``). Computes exactly what the Linear computes.

    >>> from tinytorch.tensor import ones
    >>> m = ObservedLinear.from_float(Linear(4, 2))
    >>> m(ones(3, 4)).shape, m.activation_pre_process.max_val.item()
    ((3, 2), 1.0)
    """

    weight: Parameter
    bias: Parameter | None

    def __init__(self, linear: Linear, qconfig: QConfig = default_qconfig) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight = linear.weight
        if linear.bias is not None:
            self.bias = linear.bias
        else:
            self.register_parameter("bias", None)
        self.qconfig = qconfig
        self.activation_pre_process = qconfig.activation()
        self.activation_post_process = qconfig.activation()

    @classmethod
    def from_float(cls, linear: Linear, qconfig: QConfig = default_qconfig) -> ObservedLinear:
        """Wrap ``linear`` (sharing its Parameters)."""
        return cls(linear, qconfig)

    def weight_for_convert(self) -> Tensor:
        """The weight as the quantized layer will hold it (here: the float weight)."""
        return self.weight

    def weight_observer(self) -> Module:
        """A fresh weight observer from the qconfig."""
        return self.qconfig.weight()

    def forward(self, x: Tensor) -> Tensor:
        x = self.activation_pre_process(x)
        out = x @ self.weight.T
        if self.bias is not None:
            out = out + self.bias
        result: Tensor = self.activation_post_process(out)
        return result

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class QATLinear(ObservedLinear):
    """A Linear trained with fake quantization: its input, its weight (per output channel) and
    its output pass through FakeQuantize modules (``torch.ao.nn.qat.Linear``); gradients reach
    the float weight through the straight-through estimator.

    >>> from tinytorch.tensor import ones
    >>> m = QATLinear.from_float(Linear(4, 2))
    >>> m(ones(3, 4)).shape, type(m.weight_fake_quant).__name__
    ((3, 2), 'FakeQuantize')
    """

    def __init__(self, linear: Linear, qconfig: QConfig = default_qat_qconfig) -> None:
        super().__init__(linear, qconfig)
        self.weight_fake_quant = qconfig.weight()

    @classmethod
    def from_float(cls, linear: Linear, qconfig: QConfig = default_qat_qconfig) -> QATLinear:
        """Wrap ``linear`` (sharing its Parameters) for quantization-aware training."""
        return cls(linear, qconfig)

    def weight_observer(self) -> Module:
        """The weight's own fake quantizer: the int8 weight is the one QAT trained with."""
        return self.weight_fake_quant

    def forward(self, x: Tensor) -> Tensor:
        x = self.activation_pre_process(x)
        out = x @ self.weight_fake_quant(self.weight).T
        if self.bias is not None:
            out = out + self.bias
        result: Tensor = self.activation_post_process(out)
        return result


class QuantizedLinear(Module):
    """A static int8 Linear (``torch.ao.nn.quantized.Linear``) built by ``convert`` from an
    observed or QAT Linear. Input and output are float Tensors; inside, integer arithmetic
    (see the module docstring). State: ``weight`` int8, ``weight_scale`` float32, ``bias``
    int32, ``scale`` float32 (input, output), ``zero_point`` int32 (input, output).

    >>> from tinytorch.tensor import Generator, randn
    >>> obs = ObservedLinear.from_float(Linear(8, 4, generator=Generator(0)))
    >>> x = randn(16, 8, generator=Generator(1))
    >>> _ = obs(x)
    >>> q = QuantizedLinear.from_observed(obs)
    >>> q.weight.dtype, q.bias.dtype, bool(abs(q(x).data - obs(x).data).max() < 0.05)
    (dtype('int8'), dtype('int32'), True)
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, per_channel: bool = True
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.register_buffer("weight", Tensor(np.zeros((out_features, in_features), np.int8)))
        n_scales = out_features if per_channel else 1
        self.register_buffer("weight_scale", Tensor(np.ones(n_scales, np.float32)))
        self.register_buffer("bias", Tensor(np.zeros(out_features, np.int32)) if bias else None)
        self.register_buffer("scale", Tensor(np.ones(2, np.float32)))
        self.register_buffer("zero_point", Tensor(np.zeros(2, np.int32)))

    @classmethod
    def from_observed(cls, mod: ObservedLinear) -> QuantizedLinear:
        """Quantize a calibrated (or QAT-trained) Linear: its observers give the scales."""
        op = "QuantizedLinear.from_observed"
        s_in, z_in = activation_qparams(op, mod.activation_pre_process)
        s_out, z_out = activation_qparams(op, mod.activation_post_process)
        weight = mod.weight_for_convert().data.astype(np.float32)
        q, s_w = quantize_weight(op, weight, mod.weight_observer())
        out = cls(mod.in_features, mod.out_features, mod.bias is not None, s_w.size > 1)
        out.weight.data[...] = q
        out.weight_scale.data[...] = s_w
        if mod.bias is not None:
            acc_scale = np.float64(np.float32(s_in) * s_w)
            out.bias.data[...] = np.rint(mod.bias.data.astype(np.float64) / acc_scale)
        out.scale.data[...] = (s_in, s_out)
        out.zero_point.data[...] = (z_in, z_out)
        return out

    def forward(self, x: Tensor) -> Tensor:
        x = _check_input("QuantizedLinear", x, self.in_features)
        product = self._product()
        out = product(product.centre(x.data.reshape(-1, self.in_features)))
        out = out.reshape(*x.shape[:-1], self.out_features)
        return record("quantized_linear", out, (x, self.weight), dynamic=False)

    def _product(self) -> Int8Product:
        bias = None if self.bias is None else self.bias.data
        return Int8Product(
            self.weight.data, self.weight_scale.data, bias, self.scale.data, self.zero_point.data
        )

    def inference_kernel(self) -> ArrayKernel:
        """The forward on arrays, for ``tinytorch.acceleration.compile_inference``: the same
        integer arithmetic with the quantization parameters read once, the input still checked
        (its shape, and that it is finite: NaN has no integer).

        >>> from tinytorch.tensor import Generator, randn
        >>> obs = ObservedLinear.from_float(Linear(8, 4, generator=Generator(0)))
        >>> x = randn(16, 8, generator=Generator(1))
        >>> q = QuantizedLinear.from_observed((obs(x), obs)[1])
        >>> bool((q.inference_kernel()(x.data) == q(x).data).all())
        True
        """
        op, features, product = "QuantizedLinear", self.in_features, self._product()

        def kernel(x: Array) -> Array:
            if x.ndim != 2 or x.shape[1] != features or x.dtype.kind != "f":
                raise ValueError(
                    f"{op}: expects a float (N, {features}) array, got {x.shape} {x.dtype}"
                )
            check_finite(op, x)
            return product(product.centre(x))

        return kernel

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"scale={float(self.scale.data[1]):.4g}, zero_point={int(self.zero_point.data[1])}"
        )


T = TypeVar("T", bound="Int8WeightLinear")


class Int8WeightLinear(Module):
    """What the Linear layers with int8 weights and a float32 bias share (their state and how
    they are made from a float Linear): ``weight`` int8 (out, in), ``weight_scale`` float32
    (one per output channel, or one), ``bias`` float32. :class:`DynamicQuantizedLinear` and
    :class:`~tinytorch.quantization.WeightOnlyInt8Linear` differ only in their forward.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, per_channel: bool = True
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.register_buffer("weight", Tensor(np.zeros((out_features, in_features), np.int8)))
        n_scales = out_features if per_channel else 1
        self.register_buffer("weight_scale", Tensor(np.ones(n_scales, np.float32)))
        self.register_buffer("bias", Tensor(np.zeros(out_features, np.float32)) if bias else None)

    @classmethod
    def from_float(cls: type[T], linear: Linear, weight_observer: Module | None = None) -> T:
        """int8 weights of ``linear`` (per-channel symmetric unless another observer is given)."""
        from tinytorch.quantization.qconfig import default_per_channel_weight_observer

        obs = (
            weight_observer
            if weight_observer is not None
            else default_per_channel_weight_observer()
        )
        op = f"{cls.__name__}.from_float"
        q, s_w = quantize_weight(op, linear.weight.data.astype(np.float32), obs)
        out = cls(linear.in_features, linear.out_features, linear.bias is not None, s_w.size > 1)
        out.weight.data[...] = q
        out.weight_scale.data[...] = s_w
        if linear.bias is not None:
            out.bias.data[...] = linear.bias.data
        return out


class DynamicQuantizedLinear(Int8WeightLinear):
    """A Linear with int8 weights whose input is quantized per batch at run time
    (``torch.ao.nn.quantized.dynamic.Linear``): each call takes the batch's own range
    (quint8 affine over ``[min(x, 0), max(x, 0)]``), multiplies exactly in integers and
    dequantizes the int32 accumulator with ``input_scale * weight_scale``, then adds the
    float32 bias. State: ``weight`` int8, ``weight_scale`` float32, ``bias`` float32.

    >>> from tinytorch.tensor import Generator, randn
    >>> layer = Linear(8, 4, generator=Generator(0))
    >>> q = DynamicQuantizedLinear.from_float(layer)
    >>> x = randn(5, 8, generator=Generator(1))
    >>> q.weight.dtype, bool(abs(q(x).data - layer(x).data).max() < 0.05)
    (dtype('int8'), True)
    """

    def forward(self, x: Tensor) -> Tensor:
        x = _check_input("DynamicQuantizedLinear", x, self.in_features)
        data = x.data
        if data.size:
            lo, hi = data.min(), data.max()
        else:
            lo = hi = np.float32(0)
        s, z = calculate_qparams(lo, hi, per_tensor_affine, quint8, 0, 255)
        s_in, z_in = np.float32(s), int(z)
        xq = quantize_array(data, s_in, z_in, quint8)
        centred = xq.reshape(-1, self.in_features).astype(np.int16) - np.int16(z_in)
        acc = int_matmul(centred, self.weight.data.T)
        out = acc.astype(np.float32) * (s_in * self.weight_scale.data)
        if self.bias is not None:
            out += self.bias.data.astype(np.float32)
        out = out.reshape(*x.shape[:-1], self.out_features)
        return record("quantized_linear", out, (x, self.weight), dynamic=True)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, dtype=qint8"


@register_gradient("quantized_linear")
def _quantized_linear_grad(grad: Array, node: Node) -> tuple[Array | None, ...]:
    raise RuntimeError(
        "quantized_linear: an int8 layer has no gradient (its weights are integers); train "
        "with prepare_qat() and convert() afterwards"
    )
