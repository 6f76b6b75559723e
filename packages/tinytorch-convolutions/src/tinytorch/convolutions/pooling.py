"""Max and average pooling over (N, C, H, W) batches, by reductions over a strided window view.

Average pooling sums the last two axes of a zero-copy (N, C, Ho, Wo, kh, kw) window view; max
pooling keeps a running maximum over the kh * kw kernel offsets, each a strided slice, and
remembers which offset of each window won (the first, on ties, as PyTorch does). Both backwards
hand each window's gradient back through ``col2im``, kh * kw strided additions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.convolutions._windows import (
    IntOrPair,
    Pair,
    check_input,
    col2im,
    output_size,
    pad,
    pair,
    windows,
)
from tinytorch.layers import Module
from tinytorch.tensor import Tensor, record
from tinytorch.tensor.graph import Node, register_gradient

__all__ = ["AvgPool2d", "MaxPool2d", "avg_pool2d", "max_pool2d"]

Array = npt.NDArray[Any]
Grads = tuple["Array | None", ...]


def _pool_args(
    op: str, x: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None, padding: IntOrPair
) -> tuple[Pair, Pair, Pair, Pair]:
    kernel = pair(op, "kernel_size", kernel_size, 1)
    s = kernel if stride is None else pair(op, "stride", stride, 1)
    p = pair(op, "padding", padding, 0)
    if p[0] > kernel[0] // 2 or p[1] > kernel[1] // 2:
        raise ValueError(
            f"{op}: padding {p} must be at most half the kernel size {kernel} "
            f"(input shape {x.shape})"
        )
    out_hw = output_size(op, x.shape, kernel, s, p, (1, 1))
    return kernel, s, p, out_hw


def max_pool2d(
    input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
) -> Tensor:
    """Largest value of each kernel window (``torch.nn.functional.max_pool2d``).

    ``stride`` defaults to ``kernel_size``; ``padding`` (at most half the kernel) pads with
    -inf, so padding never wins. The gradient goes to the first maximum of each window.

    Example:
        >>> from tinytorch.tensor import arange
        >>> max_pool2d(arange(16.0).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    x = check_input("max_pool2d", input)
    kernel, s, p, out_hw = _pool_args("max_pool2d", x, kernel_size, stride, padding)
    xp = pad(x.data, p, value=-np.inf)
    (ho, wo), (kh, kw) = out_hw, kernel
    # A running maximum over the kh * kw kernel offsets, each a strided slice of the whole
    # batch: no copy of the windows. A strictly greater candidate (or a NaN, which must
    # propagate as in PyTorch) replaces the best so far, so ties keep the first offset.
    out = np.empty((*x.shape[:2], ho, wo), dtype=x.dtype)
    arg = np.zeros(out.shape, dtype=np.min_scalar_type(kh * kw - 1))  # uint8 up to 16x16
    for k in range(kh * kw):
        top, left = divmod(k, kw)
        rows = slice(top, top + s[0] * (ho - 1) + 1, s[0])
        cols = slice(left, left + s[1] * (wo - 1) + 1, s[1])
        candidate = xp[:, :, rows, cols]
        if k == 0:
            out[...] = candidate
            continue
        wins = (candidate > out) | np.isnan(candidate)
        np.copyto(out, candidate, where=wins)
        np.copyto(arg, k, where=wins)
    return record(
        "max_pool2d", out, (x,), arg=arg, padded_shape=xp.shape, kernel=kernel, stride=s, padding=p
    )


@register_gradient("max_pool2d")
def _max_pool2d_grad(grad: Array, node: Node) -> Grads:
    arg: Array = node.attrs["arg"]
    kernel: Pair = node.attrs["kernel"]

    def piece(p: int, q: int) -> Array:
        return np.where(arg == p * kernel[1] + q, grad, 0).astype(grad.dtype, copy=False)

    grad_x = col2im(
        node.attrs["padded_shape"],
        grad.dtype,
        kernel,
        node.attrs["stride"],
        (1, 1),
        grad.shape[2:],
        node.attrs["padding"],
        piece,
    )
    return (grad_x,)


def avg_pool2d(
    input: Tensor,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean of each kernel window (``torch.nn.functional.avg_pool2d``).

    ``stride`` defaults to ``kernel_size``; ``padding`` adds zeros, which count towards the
    mean unless ``count_include_pad=False``.

    Example:
        >>> from tinytorch.tensor import arange
        >>> avg_pool2d(arange(16.0).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 2.5,  4.5],
                  [10.5, 12.5]]]])
    """
    x = check_input("avg_pool2d", input)
    kernel, s, p, out_hw = _pool_args("avg_pool2d", x, kernel_size, stride, padding)
    xp = pad(x.data, p)
    total = windows(xp, kernel, s, (1, 1), out_hw, kernel_first=False).sum(axis=(-2, -1))
    if count_include_pad or p == (0, 0):
        divisor: Array = np.asarray(kernel[0] * kernel[1], dtype=x.dtype)
    else:
        # How many real (unpadded) pixels each window covers: the same windows over ones.
        ones = pad(np.ones((1, 1, *x.shape[2:]), dtype=x.dtype), p)
        divisor = windows(ones, kernel, s, (1, 1), out_hw, kernel_first=False).sum(axis=(-2, -1))
    out = (total / divisor).astype(x.dtype, copy=False)
    return record(
        "avg_pool2d",
        out,
        (x,),
        divisor=divisor,
        padded_shape=xp.shape,
        kernel=kernel,
        stride=s,
        padding=p,
    )


@register_gradient("avg_pool2d")
def _avg_pool2d_grad(grad: Array, node: Node) -> Grads:
    share = (grad / node.attrs["divisor"]).astype(grad.dtype, copy=False)
    grad_x = col2im(
        node.attrs["padded_shape"],
        grad.dtype,
        node.attrs["kernel"],
        node.attrs["stride"],
        (1, 1),
        grad.shape[2:],
        node.attrs["padding"],
        lambda p, q: share,
    )
    return (grad_x,)


class MaxPool2d(Module):
    """Max pooling layer (``torch.nn.MaxPool2d``); see :func:`max_pool2d`.

    Example:
        >>> from tinytorch.tensor import randn
        >>> MaxPool2d(2)(randn(8, 6, 28, 28)).shape
        (8, 6, 14, 14)
    """

    def __init__(
        self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
    ) -> None:
        super().__init__()
        self.kernel_size = pair("MaxPool2d", "kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else pair("MaxPool2d", "stride", stride, 1)
        self.padding = pair("MaxPool2d", "padding", padding, 0)

    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Average pooling layer (``torch.nn.AvgPool2d``); see :func:`avg_pool2d`.

    Example:
        >>> from tinytorch.tensor import randn
        >>> AvgPool2d(2)(randn(8, 6, 28, 28)).shape
        (8, 6, 14, 14)
    """

    def __init__(
        self,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = pair("AvgPool2d", "kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else pair("AvgPool2d", "stride", stride, 1)
        self.padding = pair("AvgPool2d", "padding", padding, 0)
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
