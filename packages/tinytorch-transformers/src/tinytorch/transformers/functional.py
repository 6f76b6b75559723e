"""Layer normalization as one op, with its gradient rule beside it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict, cast

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Tensor, record
from tinytorch.tensor.graph import Node, register_gradient

__all__ = ["LayerNormAttrs", "layer_norm"]

Array = npt.NDArray[Any]


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dims, then scale and shift.

    ``(x - mean) / sqrt(var + eps) * weight + bias`` with the biased variance, as
    ``torch.nn.functional.layer_norm``. One op: forward and backward each make a few passes over
    the data instead of the dozen nodes of a composed mean/var/sqrt/div graph.

    Example:
        >>> from tinytorch.tensor import randn
        >>> y = layer_norm(randn(2, 5, 8), 8)
        >>> bool(abs(y.data.mean(axis=-1)).max() < 1e-5)
        True
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    x = input.data
    if x.dtype.kind != "f":
        raise TypeError(f"layer_norm: input must be floating, got {x.dtype}")
    if not shape or len(shape) > x.ndim or x.shape[x.ndim - len(shape) :] != shape:
        raise ValueError(
            f"layer_norm: normalized_shape {shape} does not match the trailing dims of the "
            f"input's shape {x.shape}"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and p.shape != shape:
            raise ValueError(f"layer_norm: {name} of shape {p.shape} should have shape {shape}")

    # BEGIN SOLUTION layer-norm-forward
    # HINT: view the input as rows of the normalized width; per row subtract the mean, divide
    # HINT: by sqrt(biased variance + eps), then scale by weight and shift by bias when given.
    # HINT: Record one "layer_norm" op, saving what the rule needs (LayerNormAttrs): the
    # HINT: normalized rows and 1/sqrt(var + eps) per row.
    # TESTS: layer_norm or gpt or block or mlp or nanogpt
    width = int(np.prod(shape))
    rows = x.reshape(-1, width)
    mean = rows.mean(axis=1, keepdims=True)
    centred = rows - mean
    var = np.einsum("ij,ij->i", centred, centred)[:, None]
    var /= width
    var += x.dtype.type(eps)
    rstd = 1.0 / np.sqrt(var)
    normed = centred
    normed *= rstd
    if weight is not None:
        out = normed * weight.data.reshape(-1)
        if bias is not None:
            out += bias.data.reshape(-1)
    elif bias is not None:
        out = normed + bias.data.reshape(-1)
    else:
        out = normed.copy()

    inputs = tuple(t for t in (input, weight, bias) if t is not None)
    attrs: LayerNormAttrs = {
        "normed": normed,
        "rstd": rstd,
        "has_weight": weight is not None,
        "has_bias": bias is not None,
    }
    return record("layer_norm", out.reshape(x.shape), inputs, **attrs)
    # END SOLUTION


class LayerNormAttrs(TypedDict):
    """What the ``layer_norm`` op records beside its inputs ``(input[, weight][, bias])``.

    ``normed``: the normalized input as ``(rows, width)`` rows, before weight and bias;
    ``rstd``: ``1 / sqrt(var + eps)`` per row, ``(rows, 1)``; ``has_weight`` / ``has_bias``:
    which of the optional inputs follow ``input``.
    """

    normed: Array
    rstd: Array
    has_weight: bool
    has_bias: bool


@register_gradient("layer_norm")
def _layer_norm_grad(grad: Array, node: Node) -> tuple[Array, ...]:
    # BEGIN SOLUTION layer-norm-grad
    # HINT: with n the normalized rows and dn = grad * weight: the input's gradient is
    # HINT: rstd * (dn - mean(dn) - n * mean(dn * n)) per row; weight's is sum over rows of
    # HINT: grad * n, bias's the sum of grad over rows. Return them in the inputs' order.
    # TESTS: layer_norm or gradcheck or gradient or training or nanogpt
    attrs = cast(LayerNormAttrs, node.attrs)
    normed, rstd = attrs["normed"], attrs["rstd"]
    x = node.inputs[0]
    width = normed.shape[1]
    g = grad.reshape(-1, width)
    grads: list[Array] = []

    if attrs["has_weight"]:
        w = node.inputs[1]
        dnormed = g * w.data.reshape(-1)
    else:
        dnormed = g.copy()
    # dx = rstd * (dn - mean(dn) - n * mean(dn * n)), all in place on dn.
    mean_d = dnormed.mean(axis=1, keepdims=True)
    mean_dn = np.einsum("ij,ij->i", dnormed, normed)[:, None]
    mean_dn /= width
    dnormed -= mean_d
    dnormed -= normed * mean_dn
    dnormed *= rstd
    grads.append(dnormed.reshape(x.shape))

    if attrs["has_weight"]:
        w = node.inputs[1]
        grads.append(np.einsum("ij,ij->j", g, normed).reshape(w.shape))
    if attrs["has_bias"]:
        b = node.inputs[-1]
        grads.append(g.sum(axis=0).reshape(b.shape))
    return tuple(grads)
    # END SOLUTION
