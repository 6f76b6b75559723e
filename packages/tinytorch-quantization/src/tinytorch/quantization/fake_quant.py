"""Fake quantization for quantization-aware training: round to the int8 grid and back, in
float, with a straight-through gradient (``torch.fake_quantize_per_tensor_affine``,
``torch.fake_quantize_per_channel_affine``, ``torch.ao.quantization.FakeQuantize``).

Forward: ``(clamp(zero_point + nearbyint(x * inv_scale), qmin, qmax) - zero_point) * scale``
with ``inv_scale = 1.0f / scale``, as PyTorch's fake-quant kernel computes it. (PyTorch's
``quantize_per_tensor`` adds the zero point *before* rounding instead, so the two differ on
exact ties when the zero point is odd; each is matched here bit for bit.) The rounding has
derivative 0 almost everywhere, which would stop all learning; the straight-through estimator
(Bengio et al., 2013) passes the gradient through unchanged where the value was inside the
clamp range and blocks it where it was clamped: ``grad_x = grad * (qmin <= q <= qmax)``, with
``q`` the unclamped integer, exactly as PyTorch's rule.
"""

from __future__ import annotations

from typing import Any, TypedDict, cast

import numpy as np
import numpy.typing as npt

from tinytorch.layers import Module
from tinytorch.quantization.observers import (
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    ObserverBase,
)
from tinytorch.quantization.qtensor import check_finite, check_scale
from tinytorch.quantization.qtypes import per_channel_symmetric, qint8
from tinytorch.tensor import Tensor, record
from tinytorch.tensor.graph import Node, register_gradient

__all__ = [
    "FakeQuantPerChannelAttrs",
    "FakeQuantPerTensorAttrs",
    "FakeQuantize",
    "default_fake_quant",
    "default_per_channel_weight_fake_quant",
    "disable_fake_quant",
    "disable_observer",
    "enable_fake_quant",
    "enable_observer",
    "fake_quantize_per_channel_affine",
    "fake_quantize_per_tensor_affine",
]

Array = npt.NDArray[Any]


def _check_range(op: str, quant_min: int, quant_max: int) -> None:
    for name, v in (("quant_min", quant_min), ("quant_max", quant_max)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{op}: {name} must be an int, got {v!r}")
    if not quant_min < quant_max:
        raise ValueError(f"{op}: quant_min {quant_min} must be < quant_max {quant_max}")


def _fake(x: Array, scale: Array, zero_point: Array, qmin: int, qmax: int) -> tuple[Array, Array]:
    """(fake-quantized x in x's dtype, the inside-the-range mask)."""
    # BEGIN SOLUTION fake-quant
    # HINT: quantize (x times the float32 reciprocal of the scale, in x's dtype, rounded half to
    # HINT: even, plus the zero point) and dequantize again, clamping into [qmin, qmax] between;
    # HINT: also say which elements were inside the range before clamping (the gradient's mask).
    # TESTS: fake_quant or qat
    inv = (np.float32(1.0) / scale.astype(np.float32)).astype(x.dtype)
    with np.errstate(over="ignore"):
        q = np.rint(x * inv) + zero_point
    inside = (q >= qmin) & (q <= qmax)
    out = (np.clip(q, qmin, qmax) - zero_point) * scale.astype(x.dtype)
    return out.astype(x.dtype, copy=False), inside
    # END SOLUTION


class FakeQuantPerTensorAttrs(TypedDict):
    """What ``fake_quantize_per_tensor_affine`` records beside its input: ``mask``, True where
    the unclamped integer fell inside ``[quant_min, quant_max]`` (the straight-through
    gradient's support), and its ``scale`` and ``zero_point`` arguments."""

    mask: Array
    scale: float
    zero_point: int


class FakeQuantPerChannelAttrs(TypedDict):
    """What ``fake_quantize_per_channel_affine`` records beside its input: the ``mask`` as for
    the per-tensor op, and the normalized channel ``axis``."""

    mask: Array
    axis: int


def fake_quantize_per_tensor_affine(
    input: Tensor, scale: float, zero_point: int, quant_min: int, quant_max: int
) -> Tensor:
    """Quantize and dequantize ``input`` with one scale and zero point; straight-through
    gradient (``torch.fake_quantize_per_tensor_affine``).

    >>> fake_quantize_per_tensor_affine(Tensor([0.26, 1.0, 9.0]), 0.5, 0, -128, 127).tolist()
    [0.5, 1.0, 9.0]
    >>> fake_quantize_per_tensor_affine(Tensor([0.26, 9.0]), 0.5, 0, 0, 15).tolist()
    [0.5, 7.5]
    """
    op = "fake_quantize_per_tensor_affine"
    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        raise TypeError(f"{op}: expects a floating Tensor, got {type(input).__name__}")
    _check_range(op, quant_min, quant_max)
    s = check_scale(op, scale)
    if isinstance(zero_point, bool) or not isinstance(zero_point, (int, np.integer)):
        raise TypeError(f"{op}: zero_point must be an int, got {zero_point!r}")
    if not quant_min <= zero_point <= quant_max:
        raise ValueError(
            f"{op}: zero_point {zero_point} is outside [quant_min, quant_max] = "
            f"[{quant_min}, {quant_max}]"
        )
    check_finite(op, input.data)
    out, inside = _fake(input.data, np.asarray(s), np.asarray(zero_point), quant_min, quant_max)
    attrs: FakeQuantPerTensorAttrs = {"mask": inside, "scale": s, "zero_point": int(zero_point)}
    return record(op, out, (input,), **attrs)


@register_gradient("fake_quantize_per_tensor_affine")
def _fake_quantize_per_tensor_affine_grad(grad: Array, node: Node) -> tuple[Array]:
    # BEGIN SOLUTION fake-quant-ste
    # HINT: the straight-through estimator: the gradient passes where the value was inside the
    # HINT: quantization range and is zero where it was clamped (the recorded mask).
    # TESTS: ste or gradcheck or qat
    # Straight-through: 1 where the unclamped integer was inside [qmin, qmax], else 0.
    return (grad * cast(FakeQuantPerTensorAttrs, node.attrs)["mask"],)
    # END SOLUTION


def fake_quantize_per_channel_affine(
    input: Tensor,
    scale: object,
    zero_point: object,
    axis: int,
    quant_min: int,
    quant_max: int,
) -> Tensor:
    """Fake-quantize with one scale and zero point per index of ``axis``; straight-through
    gradient (``torch.fake_quantize_per_channel_affine``).

    >>> x = Tensor([[0.3, 2.0], [0.3, 2.0]])
    >>> fake_quantize_per_channel_affine(x, [0.5, 0.25], [0, 0], 0, -128, 127).tolist()
    [[0.5, 2.0], [0.25, 2.0]]
    """
    op = "fake_quantize_per_channel_affine"
    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        raise TypeError(f"{op}: expects a floating Tensor, got {type(input).__name__}")
    _check_range(op, quant_min, quant_max)
    x = input.data
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be an int, got {axis!r}")
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise IndexError(f"{op}: axis {axis} is out of range for an input of shape {x.shape}")
    ax = int(axis) % x.ndim
    s = np.asarray(scale.data if isinstance(scale, Tensor) else scale, dtype=np.float64)
    z = np.asarray(zero_point.data if isinstance(zero_point, Tensor) else zero_point)
    for name, arr in (("scale", s), ("zero_point", z)):
        if arr.shape != (x.shape[ax],):
            raise ValueError(
                f"{op}: {name} of shape {arr.shape} should be ({x.shape[ax]},) for an input of "
                f"shape {x.shape} along axis {ax}"
            )
    bad = ~(np.isfinite(s) & (s > 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{op}: scale must be finite and > 0, got {float(s[i])} at channel {i}")
    if z.size and (z.dtype.kind not in "iu" or z.min() < quant_min or z.max() > quant_max):
        raise ValueError(
            f"{op}: zero_point must be integers in [{quant_min}, {quant_max}], got {z.tolist()}"
        )
    check_finite(op, x)
    shape = [1] * x.ndim
    shape[ax] = -1
    out, inside = _fake(x, s.reshape(shape), z.reshape(shape), quant_min, quant_max)
    attrs: FakeQuantPerChannelAttrs = {"mask": inside, "axis": ax}
    return record(op, out, (input,), **attrs)


@register_gradient("fake_quantize_per_channel_affine")
def _fake_quantize_per_channel_affine_grad(grad: Array, node: Node) -> tuple[Array]:
    # BEGIN SOLUTION fake-quant-ste-per-channel
    # HINT: the same straight-through rule as the per-tensor op.
    # TESTS: ste or gradcheck or qat
    return (grad * cast(FakeQuantPerChannelAttrs, node.attrs)["mask"],)
    # END SOLUTION


class FakeQuantize(Module):
    """An observer and a fake quantization in one module (``torch.ao.quantization.FakeQuantize``):
    each forward lets the observer see the values (while ``observer_enabled``), then
    fake-quantizes them with its current scale and zero point (while ``fake_quant_enabled``).

    >>> fq = FakeQuantize()
    >>> fq(Tensor([0.0, 0.3, 1.0])).shape, bool(fq.scale.item() == np.float32(1.0) / 255)
    ((3,), True)
    """

    def __init__(self, observer: ObserverBase | None = None) -> None:
        super().__init__()
        self.activation_post_process = observer or MovingAverageMinMaxObserver()
        obs = self.activation_post_process
        self.quant_min, self.quant_max = obs.quant_min, obs.quant_max
        self.ch_axis: int | None = getattr(obs, "ch_axis", None)
        self.observer_enabled = True
        self.fake_quant_enabled = True
        self.register_buffer("scale", Tensor(np.ones(1, np.float32)))
        self.register_buffer("zero_point", Tensor(np.zeros(1, np.int64)))

    def calculate_qparams(self) -> tuple[Tensor, Tensor]:
        """The observer's ``(scale, zero_point)``."""
        return self.activation_post_process.calculate_qparams()

    def forward(self, x: Tensor) -> Tensor:
        # BEGIN SOLUTION fake-quantize-module
        # HINT: when observing, show the observer a detached x and refresh scale and zero point
        # HINT: from it; when fake-quantizing, apply the per-tensor op (ch_axis None) or the
        # HINT: per-channel one with the current qparams, else return x as it is.
        # TESTS: qat
        if self.observer_enabled:
            self.activation_post_process(x.detach())
            scale, zero_point = self.calculate_qparams()
            self.scale, self.zero_point = scale, zero_point
        if not self.fake_quant_enabled:
            return x
        if self.ch_axis is None:
            return fake_quantize_per_tensor_affine(
                x,
                float(self.scale.data.reshape(-1)[0]),
                int(self.zero_point.data.reshape(-1)[0]),
                self.quant_min,
                self.quant_max,
            )
        return fake_quantize_per_channel_affine(
            x, self.scale, self.zero_point, self.ch_axis, self.quant_min, self.quant_max
        )
        # END SOLUTION

    def extra_repr(self) -> str:
        return (
            f"fake_quant_enabled={self.fake_quant_enabled}, "
            f"observer_enabled={self.observer_enabled}, quant_min={self.quant_min}, "
            f"quant_max={self.quant_max}"
        )


def default_fake_quant() -> FakeQuantize:
    """Activations: quint8 affine over a moving-average min-max (torch's default_fake_quant).

    >>> default_fake_quant().quant_max
    255
    """
    return FakeQuantize(MovingAverageMinMaxObserver())


def default_per_channel_weight_fake_quant() -> FakeQuantize:
    """Weights: qint8 per-channel symmetric over moving-average per-channel min-max (torch's
    default_per_channel_weight_fake_quant).

    >>> default_per_channel_weight_fake_quant().ch_axis
    0
    """
    return FakeQuantize(
        MovingAveragePerChannelMinMaxObserver(
            dtype=qint8, qscheme=per_channel_symmetric, quant_min=-128, quant_max=127
        )
    )


def _set(module: Module, flag: str, value: bool) -> None:
    for m in module.modules():
        if isinstance(m, FakeQuantize):
            setattr(m, flag, value)


def disable_observer(module: Module) -> Module:
    """Freeze the scales of every FakeQuantize in ``module`` (``torch.ao.quantization``'s,
    used as ``model.apply``'s argument there; here called on the model).

    >>> disable_observer(FakeQuantize()).observer_enabled
    False
    """
    _set(module, "observer_enabled", False)
    return module


def enable_observer(module: Module) -> Module:
    """Let every FakeQuantize in ``module`` update its scales again.

    >>> enable_observer(FakeQuantize()).observer_enabled
    True
    """
    _set(module, "observer_enabled", True)
    return module


def disable_fake_quant(module: Module) -> Module:
    """Make every FakeQuantize in ``module`` pass values through unrounded.

    >>> disable_fake_quant(FakeQuantize()).fake_quant_enabled
    False
    """
    _set(module, "fake_quant_enabled", False)
    return module


def enable_fake_quant(module: Module) -> Module:
    """Make every FakeQuantize in ``module`` round again.

    >>> enable_fake_quant(FakeQuantize()).fake_quant_enabled
    True
    """
    _set(module, "fake_quant_enabled", True)
    return module
