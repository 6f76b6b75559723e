"""Fused ops for the hot spots of the GPT profile, each with its gradient rule beside it.

- ``linear``: ``x @ W.T + b`` as one node instead of two (matmul, add): no separate bias-add
  output, no add rule and its unbroadcast pass, the output in a workspace buffer.
- ``linear_gelu``: the MLP's ``gelu_tanh(x @ W.T + b)`` as one node. The forward keeps
  ``tanh(u)``, so the backward never recomputes the cube, the clip and the tanh that the
  composed ``gelu`` rule recomputes from its input.
- ``causal_self_attention``: attention straight from the packed ``(N, L, 3E)`` projection to
  the merged ``(N, L, E)`` heads. Q, K and V are strided views of the packed array, never
  copies; the backward writes dQ, dK and dV into one ``(N, L, 3E)`` gradient, where the
  composed graph built three zero-filled full-size arrays (``getitem``'s rule) and copied the
  permuted gradients twice more (``reshape``'s rule).

Each does the composed graph's arithmetic operation for operation (the same BLAS products with
the same operands, the same elementwise order), so results and gradients are bit-identical to
it; what is saved is passes over memory, allocations and graph nodes, not arithmetic. Outputs,
saved activations and scratch come from :data:`workspace` (see :mod:`.workspace`).
"""

from __future__ import annotations

import functools
import math
from typing import Any, TypedDict, cast

import numpy as np
import numpy.typing as npt

from tinytorch.acceleration.workspace import Workspace
from tinytorch.activations.functional import (
    GELU_TANH_CAP,
    GELU_TANH_COEFF,
    SQRT_2_OVER_PI,
    softmax_array,
)
from tinytorch.tensor import Tensor, record
from tinytorch.tensor.graph import Node, register_gradient

__all__ = [
    "CausalSelfAttentionAttrs",
    "LinearGeluAttrs",
    "ReluMaxPool2dAttrs",
    "causal_self_attention",
    "linear",
    "linear_gelu",
    "relu_max_pool2d",
    "workspace",
]

Array = npt.NDArray[Any]

workspace = Workspace()
"""The buffers the fused ops reuse across steps (``workspace.clear()`` releases them)."""


def _check_linear(op: str, x: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    # The same checks, and the same words, as tinytorch.layers.Linear: a fused layer must fail
    # exactly as the layers it replaces.
    if not isinstance(x, Tensor):
        raise TypeError(f"Linear: expects a Tensor input, got {type(x).__name__}")
    out_features, in_features = weight.shape
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise ValueError(
            f"Linear: input of shape {x.shape} does not end in in_features="
            f"{in_features} (weight shape {weight.shape})"
        )
    if x.dtype != weight.dtype:
        raise TypeError(
            f"Linear: input dtype {x.dtype} does not match weight dtype {weight.dtype}; "
            f"convert the input (x.to({str(weight.dtype)!r})) or the layer (.to(...))"
        )
    if bias is not None and bias.shape != (out_features,):
        raise ValueError(f"{op}: bias of shape {bias.shape} should be ({out_features},)")


def _affine(x: Array, w: Array, b: Array | None) -> Array:
    # BEGIN SOLUTION fused-affine
    # HINT: x @ w.T + b on the rows of x (all leading dims flattened), the product written
    # HINT: straight into a workspace buffer and the bias added in place: no extra array.
    # TESTS: linear or test_accelerate or flops_unchanged or test_workspace or only_needed
    rows = x.reshape(-1, x.shape[-1])
    out = workspace.empty((rows.shape[0], w.shape[0]), np.result_type(rows, w))
    np.matmul(rows, w.T, out=out)
    if b is not None:
        out += b
    return out
    # END SOLUTION


def _input_grad(g: Array, w: Array, shape: tuple[int, ...]) -> Array:
    """``g @ w`` into a workspace buffer: the gradient flowing back to the layer's input,
    consumed by the rule before (and then free again), or kept by whatever holds it."""
    out = workspace.empty((g.shape[0], w.shape[1]), np.result_type(g, w))
    np.matmul(g, w, out=out)
    return out.reshape(shape)


def _weight_grad(rows: Array, g: Array) -> Array:
    """``g^T @ rows``, computed as ``(rows^T @ g)^T``: the product the composed graph's matmul
    rule forms (for ``x @ W.T``), so the weight gradient is bit-identical to it."""
    out: Array = (rows.T @ g).T
    return out


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` as one op (``torch.nn.functional.linear``).

    Example:
        >>> from tinytorch.tensor import ones
        >>> linear(ones(2, 3), ones(4, 3), ones(4)).data.tolist()
        [[4.0, 4.0, 4.0, 4.0], [4.0, 4.0, 4.0, 4.0]]
    """
    _check_linear("linear", x, weight, bias)
    out = _affine(x.data, weight.data, None if bias is None else bias.data)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return record("linear", out.reshape(*x.shape[:-1], weight.shape[0]), inputs)


@register_gradient("linear")
def _linear_grad(grad: Array, node: Node) -> tuple[Array | None, ...]:
    # BEGIN SOLUTION linear-grad
    # HINT: on rows: dx = g @ W, dW = g^T @ x (formed as the composed matmul rule forms it, see
    # HINT: _weight_grad, for bit-identical results), db = the sum of g over rows; compute only
    # HINT: the gradients whose input requires grad (None for the others).
    # TESTS: linear or test_accelerate or flops_unchanged or test_workspace or only_needed
    x, w = node.inputs[0], node.inputs[1]
    g = grad.reshape(-1, grad.shape[-1])
    rows = x.data.reshape(-1, x.shape[-1])
    grads: list[Array | None] = [
        _input_grad(g, w.data, x.shape) if x.requires_grad else None,
        _weight_grad(rows, g) if w.requires_grad else None,
    ]
    if len(node.inputs) == 3:
        grads.append(g.sum(axis=0) if node.inputs[2].requires_grad else None)
    return tuple(grads)
    # END SOLUTION


def linear_gelu(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``gelu(x @ weight.T + bias, approximate="tanh")`` as one op: the GPT MLP's first half.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> y = linear_gelu(Tensor([[1.0]]), Tensor([[1.0]]))
        >>> round(float(y.data[0, 0]), 4)
        0.8412
    """
    _check_linear("linear_gelu", x, weight, bias)
    # BEGIN SOLUTION linear-gelu-forward
    # HINT: h = the affine product; then GELU's tanh form 0.5 h (1 + tanh(sqrt(2/pi) (hc + c hc^3)))
    # HINT: with hc = h clipped to +-GELU_TANH_CAP, every step in place on workspace buffers, in
    # HINT: the composed gelu's order so the result is bit-identical. Keep tanh(...) and hc for
    # HINT: the rule (LinearGeluAttrs): it then never recomputes them.
    # TESTS: linear_gelu or mlp or gpt or flops_unchanged or test_workspace or only_needed
    h = _affine(x.data, weight.data, None if bias is None else bias.data)
    dt = h.dtype.type
    # Every step in place on workspace buffers: tanh(sqrt(2/pi) (h + c h^3)) on the capped h.
    capped = np.clip(h, -GELU_TANH_CAP, GELU_TANH_CAP, out=workspace.empty(h.shape, h.dtype))
    t = np.multiply(capped, capped, out=workspace.empty(h.shape, h.dtype))
    t *= dt(GELU_TANH_COEFF)
    t += 1
    t *= capped
    t *= dt(SQRT_2_OVER_PI)
    np.tanh(t, out=t)
    out = np.add(t, 1, out=workspace.empty(h.shape, h.dtype))
    out *= dt(0.5)
    out *= h
    del h  # back to the workspace: the backward needs only capped and t
    inputs = (x, weight) if bias is None else (x, weight, bias)
    shape = (*x.shape[:-1], weight.shape[0])
    attrs: LinearGeluAttrs = {"tanh": t, "capped": capped}
    return record("linear_gelu", out.reshape(shape), inputs, **attrs)
    # END SOLUTION


class LinearGeluAttrs(TypedDict):
    """What ``linear_gelu`` records beside its inputs ``(x, weight[, bias])``, for its rule:
    ``tanh``, the forward's ``tanh(sqrt(2/pi) (hc + c hc**3))``, and ``capped``, the
    pre-activation ``hc`` clipped to ``+-GELU_TANH_CAP``; both ``(rows, out_features)``
    workspace buffers."""

    tanh: Array
    capped: Array


@register_gradient("linear_gelu")
def _linear_gelu_grad(grad: Array, node: Node) -> tuple[Array | None, ...]:
    # f'(h) = (1 + t) / 2 + h_c (1 - t^2) sqrt(2/pi) (1 + 3 c h_c^2) / 2, with t kept by the
    # forward; h_c is the capped h (past the cap 1 - t^2 is exactly 0, as in the gelu rule).
    # BEGIN SOLUTION linear-gelu-grad
    # HINT: gelu'(h) = (1 + t) / 2 + hc (1 - t^2) sqrt(2/pi) (1 + 3 c hc^2) / 2 from the kept t
    # HINT: and hc, in place on workspace buffers and in the composed gelu rule's order; dh is
    # HINT: that times grad, then the linear rule's three gradients from dh.
    # TESTS: linear_gelu or mlp or gpt or flops_unchanged or test_workspace or only_needed
    x, w = node.inputs[0], node.inputs[1]
    attrs = cast(LinearGeluAttrs, node.attrs)
    t, hc = attrs["tanh"], attrs["capped"]
    dt = t.dtype.type
    # The same operations in the same order as module 05's gelu rule, so the result is
    # bit-identical to the composed graph's; only tanh is not recomputed.
    square = np.multiply(hc, hc, out=workspace.empty(t.shape, t.dtype))
    square *= dt(3 * GELU_TANH_COEFF)
    square += 1
    slope = np.multiply(t, t, out=workspace.empty(t.shape, t.dtype))
    np.subtract(1, slope, out=slope)
    slope *= hc
    slope *= square
    slope *= dt(0.5 * SQRT_2_OVER_PI)
    half = np.add(t, 1, out=square)  # square is spent: reuse its buffer
    half *= dt(0.5)
    slope += half
    slope *= grad.reshape(slope.shape)
    dh = slope
    rows = x.data.reshape(-1, x.shape[-1])
    grads: list[Array | None] = [
        _input_grad(dh, w.data, x.shape) if x.requires_grad else None,
        _weight_grad(rows, dh) if w.requires_grad else None,
    ]
    if len(node.inputs) == 3:
        grads.append(dh.sum(axis=0) if node.inputs[2].requires_grad else None)
    return tuple(grads)
    # END SOLUTION


def causal_self_attention(packed: Tensor, num_heads: int) -> Tensor:
    """Causal multi-head self-attention from the packed projection ``[q | k | v]``.

    ``packed`` is ``(N, L, 3E)`` (``in_proj(x)`` of :class:`tinytorch.attention.MultiHeadAttention`,
    PyTorch's layout); the result is the heads merged, ``(N, L, E)``, ready for ``out_proj``.
    Equal to splitting, reshaping to ``num_heads`` heads, ``scaled_dot_product_attention(...,
    is_causal=True)`` and merging, in one node.

    Example:
        >>> from tinytorch.tensor import randn
        >>> causal_self_attention(randn(2, 5, 24), num_heads=2).shape
        (2, 5, 8)
    """
    op = "causal_self_attention"
    p = packed.data
    if p.ndim != 3 or p.shape[-1] % 3:
        raise ValueError(
            f"{op}: packed must be (batch, length, 3 * embed_dim), got shape {p.shape}"
        )
    if p.dtype.kind != "f":
        raise TypeError(f"{op}: packed must be floating, got {p.dtype}")
    n, length, e3 = p.shape
    e = e3 // 3
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads <= 0:
        raise ValueError(f"{op}: num_heads must be a positive int, got {num_heads!r}")
    if e % num_heads:
        raise ValueError(f"{op}: embed_dim={e} is not divisible by num_heads={num_heads}")
    # BEGIN SOLUTION causal-attention-forward
    # HINT: q, k, v as strided views of the packed array (reshape to (N, L, 3, heads, d) and
    # HINT: transpose, no copy); scores = q k^T / sqrt(d) into a workspace buffer, the upper
    # HINT: triangle set to -inf, softmax in place; probs @ v written straight into the merged
    # HINT: (N, L, heads, d) layout. Keep probs for the rule (CausalSelfAttentionAttrs).
    # TESTS: causal_self_attention or attention or gpt or flops_unchanged or only_needed
    d = e // num_heads
    qkv = p.reshape(n, length, 3, num_heads, d).transpose(2, 0, 3, 1, 4)  # views
    q, k, v = qkv[0], qkv[1], qkv[2]
    factor = 1.0 / math.sqrt(d)
    scores = workspace.empty((n, num_heads, length, length), p.dtype)
    np.matmul(q, np.ascontiguousarray(np.swapaxes(k, -1, -2)), out=scores)
    scores *= scores.dtype.type(factor)
    np.copyto(scores, -np.inf, where=_above_diagonal(length))
    probs = softmax_array(scores, -1, masked_rows="zero", out=scores)
    out = workspace.empty((n, length, num_heads, d), p.dtype)
    np.matmul(probs, v, out=out.transpose(0, 2, 1, 3))  # written straight in merged order
    attrs: CausalSelfAttentionAttrs = {"probs": probs, "num_heads": num_heads, "scale": factor}
    return record(op, out.reshape(n, length, e), (packed,), **attrs)
    # END SOLUTION


class CausalSelfAttentionAttrs(TypedDict):
    """What ``causal_self_attention`` records beside its input ``packed``, for its rule: the
    softmax ``probs`` ``(N, heads, L, L)`` (zeros above the diagonal), ``num_heads`` and the
    ``scale`` the scores were multiplied by."""

    probs: Array
    num_heads: int
    scale: float


@functools.lru_cache(maxsize=16)
def _above_diagonal(length: int) -> Array:
    mask = ~np.tri(length, dtype=np.bool_)
    mask.flags.writeable = False  # cached: shared by every call
    return mask


@register_gradient("causal_self_attention")
def _causal_self_attention_grad(grad: Array, node: Node) -> tuple[Array]:
    # BEGIN SOLUTION causal-attention-grad
    # HINT: the attention rule (dV = P^T dO, dP = dO V^T, dS = P (dP - sum(dP P)), dQ = dS K
    # HINT: scale, dK = dS^T Q scale), with dQ, dK and dV written into the three views of one
    # HINT: gradient array in the packed (N, L, 3E) layout.
    # TESTS: causal_self_attention or attention or gpt or flops_unchanged or only_needed
    (packed,) = node.inputs
    p = packed.data
    n, length, e3 = p.shape
    attrs = cast(CausalSelfAttentionAttrs, node.attrs)
    heads = attrs["num_heads"]
    d = e3 // (3 * heads)
    probs = attrs["probs"]
    factor = probs.dtype.type(attrs["scale"])
    qkv = p.reshape(n, length, 3, heads, d).transpose(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    g = grad.reshape(n, length, heads, d).transpose(0, 2, 1, 3)
    # One gradient array in the packed layout; dQ, dK, dV are written into its three views.
    packed_grad = workspace.empty((n, length, 3, heads, d), p.dtype)
    dq, dk, dv = packed_grad.transpose(2, 0, 3, 1, 4)
    np.matmul(np.swapaxes(probs, -1, -2), g, out=dv)
    dprobs = workspace.empty(probs.shape, probs.dtype)
    np.matmul(g, np.ascontiguousarray(np.swapaxes(v, -1, -2)), out=dprobs)
    dprobs -= np.einsum("...ij,...ij->...i", dprobs, probs)[..., None]
    dprobs *= probs
    np.matmul(dprobs, k, out=dq)
    dq *= factor
    np.matmul(np.swapaxes(dprobs, -1, -2), q, out=dk)
    dk *= factor
    return (packed_grad.reshape(n, length, e3),)
    # END SOLUTION


def relu_max_pool2d(x: Tensor) -> Tensor:
    """``max_pool2d(relu(x), 2)`` as one op, computed as ``relu(max_pool2d(x, 2))``.

    ReLU is monotone, so the two orders give the same values, and the gradient goes to the
    same element (the first maximum of each window when it is positive; nothing otherwise);
    pooling first runs the ReLU on a quarter of the elements and keeps no full-size mask.
    Needs an ``(N, C, H, W)`` input with even ``H`` and ``W`` (the 2x2, stride-2 windows tile
    it exactly).

    Example:
        >>> from tinytorch.tensor import arange
        >>> relu_max_pool2d(arange(-8.0, 8.0).reshape(1, 1, 4, 4)).data.ravel().tolist()
        [0.0, 0.0, 5.0, 7.0]
    """
    op = "relu_max_pool2d"
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expects a Tensor input, got {type(x).__name__}")
    data = x.data
    if data.ndim != 4 or data.shape[2] % 2 or data.shape[3] % 2:
        raise ValueError(
            f"{op}: expects an (N, C, H, W) input with even H and W, got shape {data.shape}"
        )
    if data.dtype.kind != "f":
        raise TypeError(f"{op}: expects a floating input, got dtype {data.dtype}")
    # BEGIN SOLUTION relu-max-pool-forward
    # HINT: pool first, then ReLU the quarter-size result. Take the maximum of each horizontal
    # HINT: pair, then of each vertical pair of those, and remember which of the 4 positions
    # HINT: won (0..3, the first maximum in row-major order; a NaN window: its last NaN) for the
    # HINT: rule (ReluMaxPool2dAttrs).
    # TESTS: relu_max_pool2d or lenet or odd_sized
    n, c, h, w = data.shape
    # Separable: the maximum of each horizontal pair, then of each vertical pair of those.
    # A strictly greater right (then lower) element wins, which picks the first maximum in
    # row-major order, as max_pool2d's running maximum does: its ties break the same way.
    pairs = data.reshape(n, c, h, w // 2, 2)
    left, right = pairs[..., 0], pairs[..., 1]
    right_wins = right > left
    row_max = np.maximum(left, right).reshape(n, c, h // 2, 2, w // 2)
    top, bottom = row_max[:, :, :, 0], row_max[:, :, :, 1]
    bottom_wins = bottom > top
    out = np.maximum(top, bottom)
    wins = right_wins.reshape(n, c, h // 2, 2, w // 2)
    arg = np.where(bottom_wins, wins[:, :, :, 1], wins[:, :, :, 0]).astype(np.uint8)
    arg += 2 * bottom_wins.astype(np.uint8)
    nan = np.isnan(out)
    if nan.any():  # max_pool2d's rule: a NaN window's gradient goes to its last NaN
        view = data.reshape(n, c, h // 2, 2, w // 2, 2)
        for k in range(4):
            np.copyto(arg, k, where=nan & np.isnan(view[:, :, :, k // 2, :, k % 2]))
    np.maximum(out, 0, out=out)
    attrs: ReluMaxPool2dAttrs = {"arg": arg}
    return record(op, out, (x,), **attrs)
    # END SOLUTION


class ReluMaxPool2dAttrs(TypedDict):
    """What ``relu_max_pool2d`` records beside its input: ``arg``, for each 2x2 window
    ``(N, C, H/2, W/2)``, which of its four elements (0..3 in row-major order) the maximum
    came from (uint8)."""

    arg: Array


@register_gradient("relu_max_pool2d")
def _relu_max_pool2d_grad(grad: Array, node: Node) -> tuple[Array]:
    # BEGIN SOLUTION relu-max-pool-grad
    # HINT: ReLU's rule on the pooled output (pass where it is > 0), then each window's
    # HINT: gradient goes to the element recorded in arg, zeros elsewhere.
    # TESTS: relu_max_pool2d or lenet or odd_sized
    (x,) = node.inputs
    arg = cast(ReluMaxPool2dAttrs, node.attrs)["arg"]
    n, c, h, w = x.shape
    passed = grad * (node.out > 0)  # relu's rule, on the pooled values
    grad_x = np.empty((n, c, h, w), dtype=grad.dtype)
    view = grad_x.reshape(n, c, h // 2, 2, w // 2, 2)
    for k in range(4):
        np.multiply(passed, arg == k, out=view[:, :, :, k // 2, :, k % 2])
    return (grad_x,)
    # END SOLUTION
