"""Sliding windows over NCHW batches: the one piece of index arithmetic every op here shares.

``windows`` gives, without copying, a view of every (kh, kw) patch the kernel visits; conv2d
copies it once into the im2col matrix, the pooling ops reduce over it directly. ``col2im`` is
the adjoint: it adds per-patch gradients back onto the image, looping over the kh * kw kernel
offsets only (each iteration a strided slice over the whole batch, every channel and pixel).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

from tinytorch.tensor import Tensor

Array = npt.NDArray[Any]
Pair = tuple[int, int]
IntOrPair = int | Sequence[int]


def pair(op: str, name: str, value: IntOrPair, minimum: int) -> Pair:
    """``value`` as (height, width), checked to be integers >= ``minimum``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = (int(value), int(value))
    else:
        try:
            items = tuple(value)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(
                f"{op}: {name} must be an int or a pair of ints, got {value!r}"
            ) from None
        if len(items) != 2 or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in items
        ):
            raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
        out = (int(items[0]), int(items[1]))
    if min(out) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return out


def check_input(op: str, x: object, ndim: int = 4) -> Tensor:
    """``x`` if it is a floating Tensor of ``ndim`` dimensions; else an error naming ``op``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expects a Tensor input, got {type(x).__name__}")
    if x.ndim != ndim:
        layout = "(N, C, H, W)" if ndim == 4 else f"{ndim}-D"
        raise ValueError(f"{op}: expects a {layout} input, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expects a floating input, got dtype {x.dtype} (shape {x.shape})")
    return x


def output_size(
    op: str, shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair, dilation: Pair
) -> Pair:
    """(Ho, Wo): how many kernel positions fit along each spatial dimension.

    >>> output_size("conv2d", (1, 3, 8, 8), (3, 3), (2, 2), (1, 1), (1, 1))
    (4, 4)
    """
    sizes = []
    for axis in (0, 1):
        span = dilation[axis] * (kernel[axis] - 1) + 1
        room = shape[2 + axis] + 2 * padding[axis] - span
        if room < 0:
            raise ValueError(
                f"{op}: the kernel {kernel} (dilation {dilation}, so spanning "
                f"{dilation[0] * (kernel[0] - 1) + 1}x{dilation[1] * (kernel[1] - 1) + 1}) is "
                f"larger than the padded input: input shape {shape}, padding {padding}"
            )
        sizes.append(room // stride[axis] + 1)
    return sizes[0], sizes[1]


def pad(x: Array, padding: Pair, value: float = 0.0) -> Array:
    """The NCHW batch ``x`` with ``padding`` rows and columns of ``value`` on each side."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    # np.pad is general and several times slower than filling a buffer and one copy.
    n, c, h, w = x.shape
    out = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out


def windows(
    xp: Array, kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair, kernel_first: bool
) -> Array:
    """A read-only strided view of every kernel patch of the padded batch ``xp``.

    ``kernel_first`` gives shape (N, C, kh, kw, Ho, Wo), the im2col order; otherwise
    (N, C, Ho, Wo, kh, kw), for reductions over the last two axes.

    >>> xp = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> windows(xp, (2, 2), (2, 2), (1, 1), (2, 2), kernel_first=False)[0, 0, 1, 1].tolist()
    [[10.0, 11.0], [14.0, 15.0]]
    """
    # BEGIN SOLUTION windows
    # HINT: A view, not a copy: as_strided with a shape of six axes and their byte strides. Moving
    # HINT: one kernel position moves dilation pixels of the padded image, moving one output
    # HINT: position moves stride pixels; batch and channel keep xp's own strides. kernel_first
    # HINT: orders the axes (N, C, kh, kw, Ho, Wo), the im2col order; otherwise (N, C, Ho, Wo, kh,
    # HINT: kw). Make it read-only: many windows share each pixel.
    # TESTS: test_conv or test_pooling or torch_oracle or flatten
    n, c = xp.shape[:2]
    s0, s1, s2, s3 = xp.strides
    k_strides = (s2 * dilation[0], s3 * dilation[1])
    o_strides = (s2 * stride[0], s3 * stride[1])
    if kernel_first:
        shape = (n, c, *kernel, *out_hw)
        strides = (s0, s1, *k_strides, *o_strides)
    else:
        shape = (n, c, *out_hw, *kernel)
        strides = (s0, s1, *o_strides, *k_strides)
    return as_strided(xp, shape=shape, strides=strides, writeable=False)
    # END SOLUTION


def col2im(
    padded_shape: tuple[int, ...],
    dtype: np.dtype[Any],
    kernel: Pair,
    stride: Pair,
    dilation: Pair,
    out_hw: Pair,
    padding: Pair,
    piece: Callable[[int, int], Array],
) -> Array:
    """Sum the per-patch gradients ``piece(p, q)`` (each (N, C, Ho, Wo)) back onto the image.

    Kernel offset (p, q) touched the pixels ``p*dh + i*sh, q*dw + j*sw``: one strided slice,
    so adding every offset's piece is kh * kw vectorized additions. Where the windows do not
    overlap (a stride at least the kernel's span, as in 2x2 pooling), no pixel is touched twice
    and each piece is assigned rather than added: half the memory traffic. Returns the gradient
    of the unpadded input.
    """
    # BEGIN SOLUTION col2im
    # HINT: The adjoint of windows: start from zeros of the padded shape; for each kernel offset (p,
    # HINT: q) the pixels it touched form one strided slice (start p*dilation, step stride, Ho of
    # HINT: them; likewise for columns): add piece(p, q), of shape (N, C, Ho, Wo), into that slice.
    # HINT: Loop over the kh * kw offsets only, never over pixels or samples. Where windows cannot
    # HINT: overlap (stride >= the kernel's span) you may assign instead of add. Finally cut the
    # HINT: padding off.
    # TESTS: gradcheck or gradient or gradients or overlapping
    grad = np.zeros(padded_shape, dtype=dtype)
    ho, wo = out_hw
    overlap = any(s < d * (k - 1) + 1 for s, d, k in zip(stride, dilation, kernel, strict=True))
    for p in range(kernel[0]):
        top = p * dilation[0]
        rows = slice(top, top + stride[0] * (ho - 1) + 1, stride[0])
        for q in range(kernel[1]):
            left = q * dilation[1]
            cols = slice(left, left + stride[1] * (wo - 1) + 1, stride[1])
            if overlap:
                grad[:, :, rows, cols] += piece(p, q)
            else:
                grad[:, :, rows, cols] = piece(p, q)
    ph, pw = padding
    if ph or pw:
        grad = grad[:, :, ph : padded_shape[2] - ph, pw : padded_shape[3] - pw]
    # END SOLUTION
    return grad
