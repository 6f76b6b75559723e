"""Gradient rules of the ops of tinytorch.losses, in the order of their forwards.

Each loss is one fused op. ``grad`` is the gradient of the loss output: a scalar for
``reduction="mean"`` or ``"sum"``, one value per element (per sample for cross-entropy) for
``"none"``. Targets, weights and options come from the node's attrs; none of them takes a gradient.
Each rule reads the attrs through the TypedDict that tinytorch.losses declares beside the loss
(``CrossEntropyAttrs``, ...): the keys a loss's forward must record, checked by mypy on both sides.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import numpy.typing as npt

from tinytorch.losses.functional import (
    BCEAttrs,
    BCEWithLogitsAttrs,
    CrossEntropyAttrs,
    MSELossAttrs,
)
from tinytorch.tensor.graph import Node, register_gradient

Array = npt.NDArray[Any]
Grads = tuple["Array | None", ...]


def _per_element(grad: Array, reduction: str, n: int) -> Array:
    """The output's gradient as seen by each element of the unreduced loss."""
    if reduction == "mean":
        return grad / n if n else grad
    return grad  # "sum" broadcasts the scalar; "none" already has the elementwise shape


def _weighted(g: Array, w: Array | None, node: Node) -> Grads:
    """The input gradient ``g`` of a binary cross-entropy, scaled by its element weight ``w``."""
    if w is not None:
        g = g * w
    return (g.astype(node.inputs[0].dtype, copy=False),)


@register_gradient("mse_loss")
def mse_loss(grad: Array, node: Node) -> Grads:
    # d/dx (x - t)^2 = 2 (x - t); the target gets the negation.
    # BEGIN SOLUTION mse-loss-grad
    # HINT: d/dx (x - t)^2 = 2 (x - t), times the output's gradient as each element sees it
    # HINT: (_per_element handles the reduction); the target gets the negation, if it requires grad.
    # HINT: Keep the input's dtype.
    # TESTS: mse
    x, t = node.inputs
    a = cast(MSELossAttrs, node.attrs)
    g = 2.0 * (x.data - t.data) * _per_element(grad, a["reduction"], x.numel())
    g = g.astype(x.dtype, copy=False)
    return g, (-g if t.requires_grad else None)
    # END SOLUTION


@register_gradient("cross_entropy")
def cross_entropy(grad: Array, node: Node) -> Grads:
    # Per sample, with p = softmax(x), w the class weights (1 if none), y the target, e the
    # smoothing and C the classes, the loss is (1 - e) w_y (-log p_y) + (e / C) sum_c w_c
    # (-log p_c), whose gradient in x_k is (1 - e) w_y (p_k - [k = y]) + (e / C) (W p_k - w_k),
    # with W = sum_c w_c. Ignored samples get zero.
    # BEGIN SOLUTION cross-entropy-grad
    # HINT: Read what the forward saved through CrossEntropyAttrs (tinytorch.losses): with p =
    # HINT: exp(log_probs), the gradient of -log p_y in the logits is p - onehot(y). Start from the
    # HINT: plain case (no weight, no smoothing): scale the upstream gradient by the reduction (mean
    # HINT: divides by attrs['denom']), zero the ignored samples (attrs['keep']), then subtract 1 at
    # HINT: each sample's target class. Then add class weights (each sample's row scaled by w_y) and
    # HINT: label smoothing, following the formula in the comment above. Return the input's shape
    # HINT: and dtype.
    # TESTS: cross_entropy
    (x,) = node.inputs
    a = cast(CrossEntropyAttrs, node.attrs)
    log_probs = a["log_probs"]  # (N, C, *d): the batched form, even for a (C,) input
    target = a["target"]  # (N, *d), ignored entries replaced by 0
    keep = a["keep"]
    w = a["weight"]
    eps = a["label_smoothing"]
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
    # END SOLUTION


@register_gradient("binary_cross_entropy")
def binary_cross_entropy(grad: Array, node: Node) -> Grads:
    # d/dp -(t log p + (1 - t) log(1 - p)) = (p - t) / (p (1 - p)); the denominator is floored
    # at 1e-12 as in PyTorch, so p = 0 or 1 gives a large finite gradient, not inf or nan.
    (x,) = node.inputs
    # BEGIN SOLUTION bce-grad
    # HINT: d/dp of -(t log p + (1 - t) log(1 - p)) is (p - t) / (p (1 - p)); floor the denominator
    # HINT: at 1e-12 (PyTorch's choice) so p = 0 or 1 stays finite. Scale by _per_element and the
    # HINT: element weight (_weighted).
    # TESTS: bce and not logits
    a = cast(BCEAttrs, node.attrs)
    p, t = x.data, a["target"]
    g = (p - t) / np.maximum(p * (1.0 - p), 1e-12) * _per_element(grad, a["reduction"], x.numel())
    return _weighted(g, a["weight"], node)
    # END SOLUTION


@register_gradient("binary_cross_entropy_with_logits")
def binary_cross_entropy_with_logits(grad: Array, node: Node) -> Grads:
    # loss = (1 - t) z + L softplus(-z) with L = 1 + (pos_weight - 1) t, so
    # d/dz = (1 - t) - L sigmoid(-z); without pos_weight (L = 1) that is sigmoid(z) - t.
    (x,) = node.inputs
    # BEGIN SOLUTION bce-with-logits-grad
    # HINT: With L = 1 + (pos_weight - 1) t (L = 1 without pos_weight), d/dz of (1 - t) z + L
    # HINT: softplus(-z) is (1 - t) - L sigmoid(-z). Compute sigmoid(-z) from e = exp(-|z|) so
    # HINT: nothing overflows at huge logits. Scale by _per_element and the element weight
    # HINT: (_weighted).
    # TESTS: bce_with_logits
    a = cast(BCEWithLogitsAttrs, node.attrs)
    z, t, pw = x.data, a["target"], a["pos_weight"]
    e = np.exp(-np.abs(z))  # in (0, 1]: sigmoid from it never overflows
    sig_neg = np.where(z >= 0, e / (1.0 + e), 1.0 / (1.0 + e))
    log_weight = 1.0 if pw is None else 1.0 + (pw - 1.0) * t
    g = ((1.0 - t) - log_weight * sig_neg) * _per_element(grad, a["reduction"], x.numel())
    return _weighted(g, a["weight"], node)
    # END SOLUTION
