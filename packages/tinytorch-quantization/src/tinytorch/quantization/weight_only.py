"""Weight-only int8 (W8A32, torchao's ``int8_weight_only``): int8 storage, float arithmetic.

Static int8 does the product in integers, and on NumPy that costs more than it saves: there is
no int8 BLAS, so every call pays for quantizing the input, casting both operands to float32 for
an exact float32 product, and requantizing, around the one matmul float32 would have done (see
the README's latency columns). Weight-only quantization keeps what int8 is good for here, a
quarter of the weight bytes held and loaded, and computes as float does: each call widens the
int8 weight to float32 (a transient array, freed after the product; nothing float of the
weight's shape is held), multiplies with BLAS, then applies the per-channel scale to the
output columns and adds the float32 bias. The activations stay float, so there is nothing to
calibrate.

State of a layer: ``weight`` (int8), ``weight_scale`` (float32, one per output channel or
one), ``bias`` (float32). The layers record the inference-only ops ``quantized_linear`` /
``quantized_conv2d`` (with ``weight_only=True``), whose FLOPs module 14 counts as the float
product's, and offer ``inference_kernel()`` to ``tinytorch.acceleration.compile_inference``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.layers import Linear, Module
from tinytorch.quantization.linear import ArrayKernel, Int8WeightLinear
from tinytorch.quantization.quantize import swap_modules
from tinytorch.tensor import Tensor, record

__all__ = ["WeightOnlyInt8Linear", "quantize_weight_only"]

Array = npt.NDArray[Any]


def weight_only_product(weight: Array, weight_scale: Array, bias: Array | None) -> ArrayKernel:
    """``(x @ float32(weight).T) * weight_scale + bias`` for an (M, K) float32 ``x`` and an
    (N, K) int8 ``weight``: the product of a weight-only int8 layer (the scale, per output
    channel, is exact to apply after the product: it multiplies whole output columns).

    >>> k = weight_only_product(np.array([[2, -1]], np.int8), np.array([0.5], np.float32), None)
    >>> k(np.array([[1.0, 1.0]], np.float32)).tolist()
    [[0.5]]
    """
    rows = weight.reshape(weight.shape[0], -1)

    def run(x: Array) -> Array:
        out: Array = np.matmul(x, rows.astype(np.float32).T)
        out *= weight_scale
        if bias is not None:
            out += bias
        return out

    return run


class WeightOnlyInt8Linear(Int8WeightLinear):
    """A Linear with int8 weights that computes in float32 (see the module docstring).

    >>> from tinytorch.tensor import Generator, randn
    >>> layer = Linear(8, 4, generator=Generator(0))
    >>> q = WeightOnlyInt8Linear.from_float(layer)
    >>> x = randn(5, 8, generator=Generator(1))
    >>> q.weight.dtype, bool(abs(q(x).data - layer(x).data).max() < 0.02)
    (dtype('int8'), True)
    """

    def _product(self) -> ArrayKernel:
        bias = None if self.bias is None else self.bias.data
        return weight_only_product(self.weight.data, self.weight_scale.data, bias)

    def forward(self, x: Tensor) -> Tensor:
        op = "WeightOnlyInt8Linear"
        if not isinstance(x, Tensor) or x.dtype != np.float32:
            what = f"dtype {x.dtype}" if isinstance(x, Tensor) else type(x).__name__
            raise TypeError(f"{op}: expects a float32 Tensor input, got {what}")
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{op}: input of shape {x.shape} does not end in in_features={self.in_features}"
            )
        out = self._product()(x.data.reshape(-1, self.in_features))
        out = out.reshape(*x.shape[:-1], self.out_features)
        return record("quantized_linear", out, (x, self.weight), weight_only=True)

    def inference_kernel(self) -> ArrayKernel:
        """The forward on arrays, for ``tinytorch.acceleration.compile_inference``."""
        op, features, product = "WeightOnlyInt8Linear", self.in_features, self._product()

        def kernel(x: Array) -> Array:
            if x.ndim != 2 or x.shape[1] != features or x.dtype != np.float32:
                raise ValueError(
                    f"{op}: expects a float32 (N, {features}) array, got {x.shape} {x.dtype}"
                )
            return product(x)

        return kernel

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            "dtype=qint8, weight_only=True"
        )


def quantize_weight_only(model: Module) -> Module:
    """A copy of ``model`` (in eval mode) whose Linear layers, and with tinytorch-convolutions
    its Conv2d layers, hold per-channel symmetric int8 weights and compute in float32
    (:class:`WeightOnlyInt8Linear`, ``WeightOnlyInt8Conv2d``). Nothing to calibrate.

    >>> from tinytorch.activations import ReLU
    >>> from tinytorch.layers import Sequential
    >>> q = quantize_weight_only(Sequential(Linear(4, 8), ReLU(), Linear(8, 2)))
    >>> [type(m).__name__ for m in q]
    ['WeightOnlyInt8Linear', 'ReLU', 'WeightOnlyInt8Linear']
    """
    op = "quantize_weight_only"
    if not isinstance(model, Module):
        raise TypeError(f"{op}: expects a Module, got {type(model).__name__}")
    builders: dict[type, Any] = {Linear: WeightOnlyInt8Linear.from_float}
    try:
        from tinytorch.quantization import vision
    except ImportError:  # without the vision extra, convolutions stay float
        pass
    else:
        builders[vision.Conv2d] = vision.WeightOnlyInt8Conv2d.from_float
    if not any(type(m) in builders for m in model.modules()):
        names = " or ".join(sorted(t.__name__ for t in builders))
        raise ValueError(f"{op}: the model has no {names} layer; nothing to quantize")
    copied = copy.deepcopy(model)
    copied.eval()
    return swap_modules(copied, lambda m: builders[type(m)](m) if type(m) in builders else None)
