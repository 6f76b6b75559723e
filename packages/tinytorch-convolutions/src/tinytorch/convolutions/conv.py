"""2-D convolution by im2col: one strided copy of the input's patches, then one batched matmul.

Forward: the padded input (N, C, H, W) is viewed, without copying, as every kernel patch
(N, C, kh, kw, Ho, Wo); one copy lays the patches out as the im2col matrix ``cols`` of shape
(N, C*kh*kw, Ho*Wo), and ``weight.reshape(O, C*kh*kw) @ cols`` gives (N, O, Ho*Wo), which is
already the NCHW output. Backward reuses ``cols``: the weight gradient is one matmul of the
output gradient with ``cols``, and the input gradient is ``weight.T @ grad`` folded back onto
the image by ``col2im`` (kh * kw strided additions).
"""

from __future__ import annotations

import math
from typing import Any, TypedDict, cast

import numpy as np
import numpy.typing as npt

from tinytorch.convolutions._windows import (
    IntOrPair,
    check_input,
    col2im,
    output_size,
    pad,
    pair,
    windows,
)
from tinytorch.layers import Module, Parameter, init
from tinytorch.tensor import Generator, Tensor, record
from tinytorch.tensor.graph import Node, register_gradient

__all__ = ["Conv2d", "Conv2dAttrs", "conv2d"]

Array = npt.NDArray[Any]
Grads = tuple["Array | None", ...]


class Conv2dAttrs(TypedDict):
    """What ``conv2d`` records on its node (``node.attrs``) for its gradient rule. The node's
    inputs are ``(input, weight)`` or ``(input, weight, bias)``.

    Example:
        >>> from tinytorch.tensor import ones
        >>> attrs = conv2d(ones(1, 2, 4, 4), ones(3, 2, 3, 3, requires_grad=True)).node.attrs
        >>> attrs["cols"].shape, attrs["padded_shape"], attrs["stride"]
        ((1, 18, 4), (1, 2, 4, 4), (1, 1))
    """

    cols: Array  # (N, C*kh*kw, Ho*Wo): the im2col matrix the forward multiplied
    padded_shape: tuple[int, ...]  # (N, C, H + 2*ph, W + 2*pw)
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> Tensor:
    """2-D cross-correlation of an (N, C, H, W) batch with (O, C, kh, kw) filters
    (``torch.nn.functional.conv2d``, without groups).

    The output is (N, O, Ho, Wo) with ``Ho = (H + 2*ph - dh*(kh-1) - 1) // sh + 1`` (likewise
    Wo). ``stride``, ``padding`` (zeros) and ``dilation`` are ints or (h, w) pairs.

    Example:
        >>> from tinytorch.tensor import ones
        >>> conv2d(ones(2, 3, 5, 5), ones(4, 3, 3, 3), padding=1).shape
        (2, 4, 5, 5)
        >>> conv2d(ones(1, 1, 3, 3), ones(1, 1, 3, 3)).item()
        9.0
    """
    x = check_input("conv2d", input)
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        shape = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"conv2d: weight must be a 4-D (O, C, kh, kw) Tensor, got {shape}")
    n, c, _, _ = x.shape
    o, wc, kh, kw = weight.shape
    if wc != c:
        raise ValueError(
            f"conv2d: input of shape {x.shape} has {c} channels but weight of shape "
            f"{weight.shape} expects {wc}"
        )
    if weight.dtype != x.dtype:
        raise TypeError(
            f"conv2d: input dtype {x.dtype} and weight dtype {weight.dtype} differ "
            f"(shapes {x.shape} and {weight.shape})"
        )
    inputs: tuple[Tensor, ...] = (x, weight)
    if bias is not None:
        if not isinstance(bias, Tensor) or bias.shape != (o,):
            shape = bias.shape if isinstance(bias, Tensor) else type(bias).__name__
            raise ValueError(
                f"conv2d: bias must have shape ({o},) for weight {weight.shape}, got {shape}"
            )
        if bias.dtype != x.dtype:
            raise TypeError(f"conv2d: bias dtype {bias.dtype} differs from input dtype {x.dtype}")
        inputs = (x, weight, bias)
    kernel = (kh, kw)
    s = pair("conv2d", "stride", stride, 1)
    p = pair("conv2d", "padding", padding, 0)
    d = pair("conv2d", "dilation", dilation, 1)
    ho, wo = output_size("conv2d", x.shape, kernel, s, p, d)

    # BEGIN SOLUTION conv2d-forward
    # HINT: im2col: pad the input, take the kernel-first windows view and reshape it to the matrix
    # HINT: cols of shape (N, C*kh*kw, Ho*Wo) (the one copy). Then one batched matmul with the
    # HINT: weight reshaped to (O, C*kh*kw) gives (N, O, Ho*Wo), already NCHW once reshaped to (N,
    # HINT: O, Ho, Wo); add the bias per output channel.
    # TESTS: conv2d or forward_matches or float32 or flatten or test_conv
    xp = pad(x.data, p)
    cols = windows(xp, kernel, s, d, (ho, wo), kernel_first=True).reshape(n, c * kh * kw, ho * wo)
    out = np.matmul(weight.data.reshape(o, c * kh * kw), cols).reshape(n, o, ho, wo)
    if bias is not None:
        out += bias.data.reshape(1, o, 1, 1)
    # END SOLUTION
    attrs: Conv2dAttrs = {
        "cols": cols,
        "padded_shape": xp.shape,
        "stride": s,
        "padding": p,
        "dilation": d,
    }
    return record("conv2d", out, inputs, **attrs)


@register_gradient("conv2d")
def _conv2d_grad(grad: Array, node: Node) -> Grads:
    x, weight = node.inputs[0], node.inputs[1]
    a = cast(Conv2dAttrs, node.attrs)
    cols = a["cols"]
    # BEGIN SOLUTION conv2d-grad
    # HINT: With g = grad as (N, O, Ho*Wo) and the saved cols (Conv2dAttrs): the weight gradient is
    # HINT: g @ cols^T summed over the batch, reshaped to the weight's shape; the input gradient is
    # HINT: W^T @ g, an (N, C*kh*kw, Ho*Wo) array of per-patch gradients, folded back onto the image
    # HINT: with col2im; the bias gradient sums grad over N, H and W. Skip what does not require
    # HINT: grad; return two or three gradients, as many as the inputs.
    # TESTS: gradcheck or gradient or gradients or float32 or torch_oracle and conv
    n, o, ho, wo = grad.shape
    _, c, kh, kw = weight.shape
    g = grad.reshape(n, o, ho * wo)

    grad_w = None
    if weight.requires_grad:
        # One (O, L) @ (L, K) product per sample, summed over the batch. BLAS reads the
        # transposed view of cols in place; flattening the batch into one big product instead
        # would first copy both operands into (O, N*L) and (N*L, K) layouts, which costs more.
        grad_w = np.matmul(g, cols.transpose(0, 2, 1)).sum(axis=0).reshape(weight.shape)

    grad_x = None
    if x.requires_grad:
        dcols = np.matmul(weight.data.reshape(o, c * kh * kw).T, g).reshape(n, c, kh, kw, ho, wo)
        grad_x = col2im(
            a["padded_shape"],
            grad.dtype,
            (kh, kw),
            a["stride"],
            a["dilation"],
            (ho, wo),
            a["padding"],
            lambda p, q: dcols[:, :, p, q],
        )

    if len(node.inputs) == 2:
        return grad_x, grad_w
    grad_b = grad.sum(axis=(0, 2, 3)) if node.inputs[2].requires_grad else None
    return grad_x, grad_w, grad_b
    # END SOLUTION


class Conv2d(Module):
    """2-D convolution layer over (N, C, H, W) batches (``torch.nn.Conv2d``, without groups).

    ``weight`` is (out_channels, in_channels, kh, kw) and ``bias`` (out_channels,), both drawn
    as PyTorch does: kaiming_uniform_(a=sqrt(5)) for the weight, which is U(-b, b) with
    b = 1/sqrt(fan_in), and the same bound for the bias, fan_in = in_channels * kh * kw.

    Example:
        >>> from tinytorch.tensor import Generator, randn
        >>> conv = Conv2d(3, 16, 3, padding=1, generator=Generator(0))
        >>> conv(randn(8, 3, 32, 32)).shape
        (8, 16, 32, 32)
        >>> conv
        Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    """

    weight: Parameter
    bias: Parameter | None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrPair,
        stride: IntOrPair = 1,
        padding: IntOrPair = 0,
        dilation: IntOrPair = 1,
        bias: bool = True,
        *,
        dtype: npt.DTypeLike = np.float32,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Conv2d: {name} must be a positive int, got {v!r}")
        if np.dtype(dtype).kind != "f":
            raise TypeError(f"Conv2d: dtype must be floating, got {np.dtype(dtype)}")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride = pair("Conv2d", "stride", stride, 1)
        self.padding = pair("Conv2d", "padding", padding, 0)
        self.dilation = pair("Conv2d", "dilation", dilation, 1)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """Draw fresh weights and bias with PyTorch's default initialisation."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
            bound = 1.0 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        if isinstance(x, Tensor) and x.ndim == 4 and x.shape[1] != self.in_channels:
            raise ValueError(
                f"Conv2d: input of shape {x.shape} has {x.shape[1]} channels, the layer "
                f"expects in_channels={self.in_channels}"
            )
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text
