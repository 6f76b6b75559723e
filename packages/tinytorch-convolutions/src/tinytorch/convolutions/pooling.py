"""Max and average pooling over (N, C, H, W) batches, by reductions over a strided window view.

Average pooling sums the last two axes of a zero-copy (N, C, Ho, Wo, kh, kw) window view; max
pooling keeps a running maximum over the kh * kw kernel offsets, each a strided slice, and
remembers which offset of each window won (the first, on ties, as PyTorch does). Both backwards
hand each window's gradient back through ``col2im``, kh * kw strided additions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict, cast

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

__all__ = [
    "AvgPool2d",
    "AvgPool2dAttrs",
    "MaxPool2d",
    "MaxPool2dAttrs",
    "Pool2dAttrs",
    "avg_pool2d",
    "max_pool2d",
]

Array = npt.NDArray[Any]
Grads = tuple["Array | None", ...]


class Pool2dAttrs(TypedDict):
    """What both pooling ops record on their node (``node.attrs``); the one input is x."""

    padded_shape: tuple[int, ...]  # (N, C, H + 2*ph, W + 2*pw)
    kernel: Pair
    stride: Pair
    padding: Pair


class MaxPool2dAttrs(Pool2dAttrs):
    """``max_pool2d``'s node attributes: those of every pooling op, and which element won.

    Example:
        >>> from tinytorch.tensor import arange
        >>> x = arange(16.0).reshape(1, 1, 4, 4).requires_grad_()
        >>> max_pool2d(x, 2).node.attrs["arg"].tolist()
        [[[[3, 3], [3, 3]]]]
    """

    arg: Array  # (N, C, Ho, Wo): the winning kernel offset p * kw + q of each window


class AvgPool2dAttrs(Pool2dAttrs):
    """``avg_pool2d``'s node attributes: those of every pooling op, and each window's divisor.

    Example:
        >>> from tinytorch.tensor import ones
        >>> float(avg_pool2d(ones(1, 1, 4, 4, requires_grad=True), 2).node.attrs["divisor"])
        4.0
    """

    divisor: Array  # 0-d (kh * kw), or (1, 1, Ho, Wo) real pixels per window


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

    def offset(k: int) -> Array:
        # Kernel offset k of every window at once: one strided slice of the whole batch.
        top, left = divmod(k, kw)
        return xp[
            :, :, top : top + s[0] * (ho - 1) + 1 : s[0], left : left + s[1] * (wo - 1) + 1 : s[1]
        ]

    # A running maximum over the kh * kw kernel offsets: no copy of the windows. Only a
    # strictly greater candidate moves ``arg``, so ties keep the first offset, as in PyTorch;
    # np.maximum propagates NaN, as PyTorch does.
    # BEGIN SOLUTION max-pool-forward
    # HINT: A running maximum over the kh * kw kernel offsets (offset(k) is offset k of every
    # HINT: window, one strided slice), starting from a copy of offset 0. Keep in arg which offset
    # HINT: won each window: only a strictly greater candidate replaces it, so ties keep the first,
    # HINT: as PyTorch. np.maximum propagates NaN; a window with NaN sends its gradient to its last
    # HINT: NaN (PyTorch's choice), which needs one more pass over the offsets.
    # TESTS: max_pool or test_pooling and not avg
    out = offset(0).copy()
    arg = np.zeros(out.shape, dtype=np.min_scalar_type(kh * kw - 1))  # uint8 up to 16x16
    for k in range(1, kh * kw):
        candidate = offset(k)
        arg[candidate > out] = k
        np.maximum(out, candidate, out=out)
    nan = np.isnan(out)
    if nan.any():
        # A NaN wins no comparison: give each NaN window's gradient to its last NaN, the
        # element PyTorch's kernel picks.
        for k in range(kh * kw):
            np.copyto(arg, k, where=nan & np.isnan(offset(k)))
    # END SOLUTION
    attrs: MaxPool2dAttrs = {
        "arg": arg,
        "padded_shape": xp.shape,
        "kernel": kernel,
        "stride": s,
        "padding": p,
    }
    return record("max_pool2d", out, (x,), **attrs)


def _unpool(grad: Array, attrs: Pool2dAttrs, piece: Callable[[int, int], Array]) -> Grads:
    """The input gradient of a pooling op: each window's ``piece`` put back by ``col2im``."""
    grad_x = col2im(
        attrs["padded_shape"],
        grad.dtype,
        attrs["kernel"],
        attrs["stride"],
        (1, 1),
        grad.shape[2:],
        attrs["padding"],
        piece,
    )
    return (grad_x,)


@register_gradient("max_pool2d")
def _max_pool2d_grad(grad: Array, node: Node) -> Grads:
    # BEGIN SOLUTION max-pool-grad
    # HINT: Each window's gradient goes to the element that won: for kernel offset (p, q), the piece
    # HINT: is grad where arg == p * kw + q, else 0 (MaxPool2dAttrs). _unpool puts the pieces back
    # HINT: with col2im.
    # TESTS: max_pool or test_pooling and torch
    a = cast(MaxPool2dAttrs, node.attrs)
    arg, kw = a["arg"], a["kernel"][1]
    # grad times a 0/1 mask keeps grad's dtype, in one pass (np.where would need two).
    return _unpool(grad, a, lambda p, q: grad * (arg == p * kw + q))
    # END SOLUTION


def avg_pool2d(
    input: Tensor,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    *,
    count_include_pad: bool = True,
) -> Tensor:
    """Mean of each kernel window (``torch.nn.functional.avg_pool2d``).

    ``stride`` defaults to ``kernel_size``; ``padding`` adds zeros, which count towards the
    mean unless ``count_include_pad=False``. That flag is keyword-only: PyTorch's fifth
    positional argument is ``ceil_mode``, which is not supported here, so a PyTorch call that
    passes it positionally fails loudly instead of meaning something else.

    Example:
        >>> from tinytorch.tensor import arange
        >>> avg_pool2d(arange(16.0).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 2.5,  4.5],
                  [10.5, 12.5]]]])
    """
    x = check_input("avg_pool2d", input)
    kernel, s, p, out_hw = _pool_args("avg_pool2d", x, kernel_size, stride, padding)
    xp = pad(x.data, p)
    # BEGIN SOLUTION avg-pool-forward
    # HINT: Sum the last two axes of the window view (kernel last) and divide by the window's size,
    # HINT: kh * kw. With count_include_pad=False and padding, divide each window by the number of
    # HINT: real pixels it covers instead: the same windows over a padded image of ones count them.
    # TESTS: avg_pool or known_values or pool_layers or test_pooling and torch
    total = windows(xp, kernel, s, (1, 1), out_hw, kernel_first=False).sum(axis=(-2, -1))
    if count_include_pad or p == (0, 0):
        divisor: Array = np.asarray(kernel[0] * kernel[1], dtype=x.dtype)
    else:
        # How many real (unpadded) pixels each window covers: the same windows over ones.
        ones = pad(np.ones((1, 1, *x.shape[2:]), dtype=x.dtype), p)
        divisor = windows(ones, kernel, s, (1, 1), out_hw, kernel_first=False).sum(axis=(-2, -1))
    out = (total / divisor).astype(x.dtype, copy=False)
    # END SOLUTION
    attrs: AvgPool2dAttrs = {
        "divisor": divisor,
        "padded_shape": xp.shape,
        "kernel": kernel,
        "stride": s,
        "padding": p,
    }
    return record("avg_pool2d", out, (x,), **attrs)


@register_gradient("avg_pool2d")
def _avg_pool2d_grad(grad: Array, node: Node) -> Grads:
    # BEGIN SOLUTION avg-pool-grad
    # HINT: Every pixel of a window gets the window's gradient divided by its divisor
    # HINT: (AvgPool2dAttrs), the same piece for every kernel offset.
    # TESTS: avg_pool or test_pooling and torch
    a = cast(AvgPool2dAttrs, node.attrs)
    share = (grad / a["divisor"]).astype(grad.dtype, copy=False)
    return _unpool(grad, a, lambda p, q: share)
    # END SOLUTION


class _Pool2d(Module):
    """What the pooling layers share: a checked kernel size, stride and padding."""

    def __init__(
        self, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = pair(name, "kernel_size", kernel_size, 1)
        self.stride = self.kernel_size if stride is None else pair(name, "stride", stride, 1)
        self.padding = pair(name, "padding", padding, 0)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max pooling layer (``torch.nn.MaxPool2d``); see :func:`max_pool2d`.

    Example:
        >>> from tinytorch.tensor import randn
        >>> MaxPool2d(2)(randn(8, 6, 28, 28)).shape
        (8, 6, 14, 14)
    """

    def forward(self, x: Tensor) -> Tensor:
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
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
        *,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return avg_pool2d(
            x, self.kernel_size, self.stride, self.padding, count_include_pad=self.count_include_pad
        )
