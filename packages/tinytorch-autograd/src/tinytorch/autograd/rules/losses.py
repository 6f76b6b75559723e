"""Gradient rules of the ops of tinytorch.losses, in the order of their forwards.

Each loss is one fused op. ``grad`` is the gradient of the loss output: a scalar for
``reduction="mean"`` or ``"sum"``, one value per element (per sample for cross-entropy) for
``"none"``. Targets, weights and options come from the node's attrs; none of them takes a gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor.graph import Node, register_gradient

Array = npt.NDArray[Any]
Grads = tuple["Array | None", ...]


def _per_element(grad: Array, node: Node, n: int) -> Array:
    """The output's gradient as seen by each element of the unreduced loss."""
    reduction = node.attrs["reduction"]
    if reduction == "mean":
        return grad / n if n else grad
    return grad  # "sum" broadcasts the scalar; "none" already has the elementwise shape


def _weighted(g: Array, node: Node) -> Grads:
    """The input gradient ``g`` of a binary cross-entropy, scaled by its element weight."""
    w: Array | None = node.attrs["weight"]
    if w is not None:
        g = g * w
    return (g.astype(node.inputs[0].dtype, copy=False),)


@register_gradient("mse_loss")
def mse_loss(grad: Array, node: Node) -> Grads:
    # d/dx (x - t)^2 = 2 (x - t); the target gets the negation.
    x, t = node.inputs
    g = 2.0 * (x.data - t.data) * _per_element(grad, node, x.numel())
    g = g.astype(x.dtype, copy=False)
    return g, (-g if t.requires_grad else None)


@register_gradient("cross_entropy")
def cross_entropy(grad: Array, node: Node) -> Grads:
    # Per sample, with p = softmax(x), w the class weights (1 if none), y the target, e the
    # smoothing and C the classes, the loss is (1 - e) w_y (-log p_y) + (e / C) sum_c w_c
    # (-log p_c), whose gradient in x_k is (1 - e) w_y (p_k - [k = y]) + (e / C) (W p_k - w_k),
    # with W = sum_c w_c. Ignored samples get zero.
    (x,) = node.inputs
    a = node.attrs
    log_probs: Array = a["log_probs"]  # (N, C, *d): the batched form, even for a (C,) input
    target: Array = a["target"]  # (N, *d), ignored entries replaced by 0
    keep: Array = a["keep"]
    w: Array | None = a["weight"]
    eps: float = a["label_smoothing"]
    n_classes = log_probs.shape[1]

    if a["reduction"] == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            upstream = np.broadcast_to(grad / a["denom"], keep.shape)
    elif a["reduction"] == "sum":
        upstream = np.broadcast_to(grad, keep.shape)
    else:
        upstream = grad.reshape(keep.shape)
    upstream = np.where(keep, upstream, 0.0)

    class_w = np.ones(target.shape, log_probs.dtype) if w is None else w[target]
    coef = (1.0 - eps) * class_w  # weight of the one-hot part, per sample
    total = float(n_classes) if w is None else float(w.sum())
    g = np.exp(log_probs) * (coef + (eps / n_classes) * total)[:, None]
    if eps > 0.0:
        smooth = 1.0 if w is None else w.reshape((1, n_classes) + (1,) * (log_probs.ndim - 2))
        g -= (eps / n_classes) * smooth
    if g.ndim == 2:
        g[np.arange(len(target)), target] -= coef  # one entry per row: no repeated index
    else:
        idx = target[:, None]
        np.put_along_axis(g, idx, np.take_along_axis(g, idx, axis=1) - coef[:, None], axis=1)
    g *= upstream[:, None]
    return (g.reshape(x.shape).astype(x.dtype, copy=False),)


@register_gradient("binary_cross_entropy")
def binary_cross_entropy(grad: Array, node: Node) -> Grads:
    # d/dp -(t log p + (1 - t) log(1 - p)) = (p - t) / (p (1 - p)); the denominator is floored
    # at 1e-12 as in PyTorch, so p = 0 or 1 gives a large finite gradient, not inf or nan.
    (x,) = node.inputs
    p = x.data
    t: Array = node.attrs["target"]
    g = (p - t) / np.maximum(p * (1.0 - p), 1e-12) * _per_element(grad, node, x.numel())
    return _weighted(g, node)


@register_gradient("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(grad: Array, node: Node) -> Grads:
    # loss = (1 - t) z + L softplus(-z) with L = 1 + (pos_weight - 1) t, so
    # d/dz = (1 - t) - L sigmoid(-z); without pos_weight (L = 1) that is sigmoid(z) - t.
    (x,) = node.inputs
    z = x.data
    t: Array = node.attrs["target"]
    pw: Array | None = node.attrs["pos_weight"]
    e = np.exp(-np.abs(z))  # in (0, 1]: sigmoid from it never overflows
    sig_neg = np.where(z >= 0, e / (1.0 + e), 1.0 / (1.0 + e))
    log_weight = 1.0 if pw is None else 1.0 + (pw - 1.0) * t
    g = ((1.0 - t) - log_weight * sig_neg) * _per_element(grad, node, x.numel())
    return _weighted(g, node)
