"""Layer normalization as one op, with its gradient rule beside it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Tensor, record
from tinytorch.tensor.graph import Node, register_gradient

__all__ = ["layer_norm"]

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
    return record(
        "layer_norm",
        out.reshape(x.shape),
        inputs,
        normed=normed,
        rstd=rstd,
        has_weight=weight is not None,
        has_bias=bias is not None,
    )


@register_gradient("layer_norm")
def _layer_norm_grad(grad: Array, node: Node) -> tuple[Array, ...]:
    normed: Array = node.attrs["normed"]
    rstd: Array = node.attrs["rstd"]
    x = node.inputs[0]
    width = normed.shape[1]
    g = grad.reshape(-1, width)
    grads: list[Array] = []

    if node.attrs["has_weight"]:
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

    if node.attrs["has_weight"]:
        w = node.inputs[1]
        grads.append(np.einsum("ij,ij->j", g, normed).reshape(w.shape))
    if node.attrs["has_bias"]:
        b = node.inputs[-1]
        grads.append(g.sum(axis=0).reshape(b.shape))
    return tuple(grads)
