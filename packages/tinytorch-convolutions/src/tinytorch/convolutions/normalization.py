"""Batch normalization (Ioffe & Szegedy, 2015), with PyTorch's train/eval semantics.

In training, each channel is normalized by the mean and the biased variance of the batch (over
N and every spatial position), and the running estimates move towards the batch's mean and its
*unbiased* variance by ``momentum``. In evaluation the running estimates are used instead, so
the output of a sample no longer depends on the rest of its batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.layers import Module, Parameter, init
from tinytorch.tensor import Tensor, record
from tinytorch.tensor.graph import Node, register_gradient

__all__ = ["BatchNorm1d", "BatchNorm2d", "batch_norm"]

Array = npt.NDArray[Any]
Grads = tuple["Array | None", ...]


def _channel_vector(op: str, name: str, t: Tensor | None, x: Tensor) -> None:
    if t is None:
        return
    if not isinstance(t, Tensor) or t.shape != (x.shape[1],):
        shape = t.shape if isinstance(t, Tensor) else type(t).__name__
        raise ValueError(
            f"{op}: {name} must have shape ({x.shape[1]},) for input of shape {x.shape}, "
            f"got {shape}"
        )


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel (axis 1) of an (N, C, ...) input (``F.batch_norm``).

    ``training=True`` uses the batch's statistics and, when given, updates ``running_mean`` and
    ``running_var`` in place: ``r = (1 - momentum) * r + momentum * batch`` with the unbiased
    batch variance. ``training=False`` uses the running statistics, which must then be given.
    ``weight`` and ``bias`` (shape (C,)) scale and shift the result.

    Example:
        >>> from tinytorch.tensor import Generator, randn, zeros, ones
        >>> x = randn(16, 3, 4, 4, generator=Generator(0)) * 5 + 2
        >>> y = batch_norm(x, zeros(3), ones(3), training=True)
        >>> bool(abs(y.mean()).item() < 1e-5), round(float(y.data.std()), 3)
        (True, 1.0)
    """
    op = "batch_norm"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expects a Tensor input, got {type(input).__name__}")
    x = input
    if x.ndim < 2:
        raise ValueError(f"{op}: expects an (N, C, ...) input, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expects a floating input, got dtype {x.dtype}")
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        _channel_vector(op, name, t, x)
    axes = (0, *range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    count = x.numel() // x.shape[1] if x.shape[1] else 0

    if training:
        if count <= 1:
            raise ValueError(
                f"{op}: expected more than 1 value per channel when training, got input of "
                f"shape {x.shape}"
            )
        mean = x.data.mean(axis=axes)
        centered = x.data - mean.reshape(shape)
        var = np.mean(centered * centered, axis=axes)
        if running_mean is not None:
            rm = running_mean.data
            rm *= 1 - momentum
            rm += (momentum * mean).astype(rm.dtype)
        if running_var is not None:
            rv = running_var.data
            rv *= 1 - momentum
            rv += (momentum * var * (count / (count - 1))).astype(rv.dtype)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                f"{op}: evaluation (training=False) needs running_mean and running_var; "
                "pass training=True to use the batch's statistics"
            )
        centered = x.data - running_mean.data.astype(x.dtype).reshape(shape)
        var = running_var.data.astype(x.dtype)

    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
    xhat = centered * inv_std.reshape(shape)
    out = xhat
    if weight is not None:
        out = out * weight.data.reshape(shape)
    if bias is not None:
        out = out + bias.data.reshape(shape)
    inputs = tuple(t for t in (x, weight, bias) if t is not None)
    return record(
        op,
        out,
        inputs,
        training=training,
        xhat=xhat,
        inv_std=inv_std,
        axes=axes,
        shape=shape,
        has_weight=weight is not None,
        has_bias=bias is not None,
    )


@register_gradient("batch_norm")
def _batch_norm_grad(grad: Array, node: Node) -> Grads:
    a = node.attrs
    axes, shape = a["axes"], a["shape"]
    xhat: Array = a["xhat"]
    inv_std: Array = a["inv_std"].reshape(shape)
    x = node.inputs[0]
    weight = node.inputs[1] if a["has_weight"] else None
    g_hat = grad if weight is None else grad * weight.data.reshape(shape)

    grad_x = None
    if x.requires_grad:
        if a["training"]:
            # The batch statistics depend on x too: subtract the gradient's mean and its
            # projection on xhat, per channel.
            mean_g = g_hat.mean(axis=axes, keepdims=True)
            mean_gx = (g_hat * xhat).mean(axis=axes, keepdims=True)
            grad_x = inv_std * (g_hat - mean_g - xhat * mean_gx)
        else:
            grad_x = g_hat * inv_std
    grads: list[Array | None] = [grad_x]
    if weight is not None:
        grads.append((grad * xhat).sum(axis=axes) if weight.requires_grad else None)
    if a["has_bias"]:
        grads.append(grad.sum(axis=axes) if node.inputs[-1].requires_grad else None)
    return tuple(grads)


class _BatchNorm(Module):
    expected_ndim: tuple[int, ...] = ()
    weight: Parameter | None
    bias: Parameter | None
    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        dtype: npt.DTypeLike = np.float32,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)):
            raise TypeError(f"{name}: num_features must be an int, got {num_features!r}")
        if num_features < 1:
            raise ValueError(f"{name}: num_features must be positive, got {num_features}")
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(self.num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(self.num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(self.num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches seen."""
        if self.running_mean is not None and self.running_var is not None:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self) -> None:
        """Running statistics reset; weight 1 and bias 0."""
        self.reset_running_stats()
        if self.weight is not None and self.bias is not None:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: expects a Tensor input, got {type(x).__name__}")
        if x.ndim not in self.expected_ndim:
            raise ValueError(
                f"{name}: expects a {' or '.join(f'{d}-D' for d in self.expected_ndim)} input, "
                f"got shape {x.shape}"
            )
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: input of shape {x.shape} has {x.shape[1]} channels, expected "
                f"num_features={self.num_features}"
            )
        use_batch_stats = self.training or self.running_mean is None
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                # A cumulative moving average: the running stats are the mean over all batches.
                momentum = 1.0 / float(self.num_batches_tracked.data)
        return batch_norm(
            x,
            self.running_mean,  # None when not tracked: then batch statistics, always
            self.running_var,
            self.weight,
            self.bias,
            training=use_batch_stats,
            momentum=momentum,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class BatchNorm2d(_BatchNorm):
    """Batch normalization over the channels of (N, C, H, W) input (``torch.nn.BatchNorm2d``).

    Buffers ``running_mean``, ``running_var`` and ``num_batches_tracked`` are saved in the
    ``state_dict`` under PyTorch's names. ``momentum=None`` makes the running statistics a
    cumulative average.

    Example:
        >>> from tinytorch.tensor import randn
        >>> bn = BatchNorm2d(4)
        >>> _ = bn(randn(8, 4, 5, 5) * 3 + 1)
        >>> sorted(bn.state_dict())
        ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']
        >>> bn.eval()(randn(1, 4, 5, 5)).shape
        (1, 4, 5, 5)
    """

    expected_ndim = (4,)


class BatchNorm1d(_BatchNorm):
    """Batch normalization over the features of (N, C) or (N, C, L) input
    (``torch.nn.BatchNorm1d``).

    Example:
        >>> from tinytorch.tensor import randn
        >>> BatchNorm1d(10)(randn(32, 10)).shape
        (32, 10)
    """

    expected_ndim = (2, 3)
