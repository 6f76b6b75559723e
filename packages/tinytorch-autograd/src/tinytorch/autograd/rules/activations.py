"""Gradient rules of the ops of tinytorch.activations, in the order of their forwards.

Each activation has one input, so a rule runs only when that input requires grad. Where the
derivative is a function of the output (sigmoid, tanh, softmax, log_softmax), the rule reads
``node.out`` rather than recomputing the forward.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.activations.functional import GELU_TANH_CAP, GELU_TANH_COEFF, SQRT_2_OVER_PI
from tinytorch.activations.special import normal_cdf, normal_pdf
from tinytorch.tensor.graph import Node, register_gradient

Array = npt.NDArray[Any]
Grads = tuple["Array | None", ...]


@register_gradient("relu")
def relu(grad: Array, node: Node) -> Grads:
    # 0 at x = 0, as in PyTorch.
    (x,) = node.inputs
    return (grad * (x.data > 0),)


@register_gradient("leaky_relu")
def leaky_relu(grad: Array, node: Node) -> Grads:
    # 1 where x > 0, the slope elsewhere (PyTorch's choice at 0), as arithmetic on a 0/1 mask.
    (x,) = node.inputs
    slope = node.attrs["negative_slope"]
    positive = (x.data > 0).astype(grad.dtype)
    return (grad * (slope + (1 - slope) * positive),)


@register_gradient("sigmoid")
def sigmoid(grad: Array, node: Node) -> Grads:
    # s' = s (1 - s): finite everywhere, 0 where s saturated to 0 or 1.
    s = node.out
    return (grad * s * (1 - s),)


@register_gradient("tanh")
def tanh(grad: Array, node: Node) -> Grads:
    t = node.out
    return (grad * (1 - t * t),)


@register_gradient("gelu")
def gelu(grad: Array, node: Node) -> Grads:
    # Exact: f = x Phi(x), so f' = Phi(x) + x phi(x), with phi = Phi' the normal density.
    # tanh:  f = x (1 + tanh u) / 2 with u = sqrt(2/pi) (x + c x^3), so
    #        f' = (1 + tanh u) / 2 + x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 c x^2) / 2.
    # Both are recomputed from x: what the forward kept (the output) does not give Phi back at
    # x = 0. The tanh form uses the forward's capped x: past the cap, 1 - tanh^2 u is exactly 0.
    (x,) = node.inputs
    data = x.data
    if node.attrs["approximate"] == "none":
        return (grad * (normal_cdf(data) + data * normal_pdf(data)),)
    # In place on three buffers: on a GPT's (32, 64, 512) activations this is 3x faster than
    # the same formula with a fresh temporary per operation.
    dt = data.dtype.type
    capped = np.clip(data.reshape(-1), -GELU_TANH_CAP, GELU_TANH_CAP)  # 1-D: 0-d gives scalars
    square = capped * capped
    u = square * dt(GELU_TANH_COEFF)
    u += 1
    u *= capped
    u *= dt(SQRT_2_OVER_PI)
    t = np.tanh(u, out=u)
    square *= dt(3 * GELU_TANH_COEFF)
    square += 1
    slope = t * t
    np.subtract(1, slope, out=slope)
    slope *= capped
    slope *= square
    slope *= dt(0.5 * SQRT_2_OVER_PI)
    t += 1
    t *= dt(0.5)
    slope += t
    slope *= grad.reshape(-1)
    return (slope.reshape(data.shape),)


@register_gradient("softmax")
def softmax(grad: Array, node: Node) -> Grads:
    # Jacobian diag(s) - s s^T along dim: the product is s * (g - <g, s>), no matrix built.
    s = node.out
    axis = node.attrs["dim"]
    return (s * (grad - np.sum(grad * s, axis=axis, keepdims=True)),)


@register_gradient("log_softmax")
def log_softmax(grad: Array, node: Node) -> Grads:
    # out = x - logsumexp(x): d/dx = I - softmax 1^T, so the product is g - softmax * sum(g).
    # softmax = exp(out) is at most 1, and exactly 0 (not NaN) at -inf inputs.
    axis = node.attrs["dim"]
    return (grad - np.exp(node.out) * np.sum(grad, axis=axis, keepdims=True),)
