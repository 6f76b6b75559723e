"""Batch normalization (Ioffe & Szegedy, 2015), with PyTorch's train/eval semantics.

In training, each channel is normalized by the mean and the biased variance of the batch (over
N and every spatial position), and the running estimates move towards the batch's mean and its
*unbiased* variance by ``momentum``. In evaluation the running estimates are used instead, so
the output of a sample no longer depends on the rest of its batch.
"""

from __future__ import annotations

from typing import Any, TypedDict, cast

import numpy as np
import numpy.typing as npt

from tinytorch.layers import Module, Parameter, init
from tinytorch.tensor import Tensor, record
from tinytorch.tensor.graph import Node, register_gradient

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNormAttrs", "batch_norm"]

Array = npt.NDArray[Any]
Grads = tuple["Array | None", ...]


class BatchNormAttrs(TypedDict):
    """What ``batch_norm`` records on its node (``node.attrs``) for its gradient rule. The
    node's inputs are x, then weight and bias where given.

    Example:
        >>> from tinytorch.tensor import randn, zeros, ones
        >>> x = randn(4, 3, 2, 2, requires_grad=True)
        >>> a = batch_norm(x, zeros(3), ones(3), training=True).node.attrs
        >>> a["xhat"].shape, a["inv_std"].shape, a["axes"], a["shape"]
        ((4, 3, 2, 2), (3,), (0, 2, 3), (1, 3, 1, 1))
    """

    training: bool  # batch statistics (which depend on x) rather than running ones
    xhat: Array  # the normalized input (x - mean) * inv_std, x's shape
    inv_std: Array  # (C,): 1 / sqrt(var + eps) of the statistics used
    axes: tuple[int, ...]  # the axes the statistics reduce over: all but the channel axis 1
    shape: tuple[int, ...]  # (1, C, 1, ...): a per-channel vector reshaped to broadcast
    has_weight: bool
    has_bias: bool


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
        # BEGIN SOLUTION batch-norm-statistics
        # HINT: Training: the mean and the biased variance of each channel over N and every spatial
        # HINT: position (axes). Move the running estimates, in place, towards the batch: r = (1 -
        # HINT: momentum) r + momentum * batch, using the unbiased variance (times count / (count -
        # HINT: 1)) for running_var, as PyTorch does. Keep each running buffer's dtype.
        # TESTS: test_batchnorm or batch_norm
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
        # END SOLUTION
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                f"{op}: evaluation (training=False) needs running_mean and running_var; "
                "pass training=True to use the batch's statistics"
            )
        centered = x.data - running_mean.data.astype(x.dtype).reshape(shape)
        var = running_var.data.astype(x.dtype)

    # BEGIN SOLUTION batch-norm-normalize
    # HINT: xhat = centered * 1 / sqrt(var + eps), per channel (reshape per-channel vectors to
    # HINT: shape), then scale by weight and shift by bias where given. Keep x's dtype.
    # TESTS: test_batchnorm or batch_norm
    inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
    xhat = centered * inv_std.reshape(shape)
    out = xhat
    if weight is not None:
        out = out * weight.data.reshape(shape)
    if bias is not None:
        out = out + bias.data.reshape(shape)
    # END SOLUTION
    inputs = tuple(t for t in (x, weight, bias) if t is not None)
    attrs: BatchNormAttrs = {
        "training": training,
        "xhat": xhat,
        "inv_std": inv_std,
        "axes": axes,
        "shape": shape,
        "has_weight": weight is not None,
        "has_bias": bias is not None,
    }
    return record(op, out, inputs, **attrs)


@register_gradient("batch_norm")
def _batch_norm_grad(grad: Array, node: Node) -> Grads:
    a = cast(BatchNormAttrs, node.attrs)
    axes, shape = a["axes"], a["shape"]
    xhat = a["xhat"]
    inv_std = a["inv_std"].reshape(shape)
    # BEGIN SOLUTION batch-norm-grad
    # HINT: From BatchNormAttrs: g_hat is grad times the weight (if any). In eval the statistics are
    # HINT: constants: the input gradient is g_hat * inv_std. In training they depend on x too:
    # HINT: inv_std * (g_hat - mean(g_hat) - xhat * mean(g_hat * xhat)), the means per channel over
    # HINT: axes. The weight gradient sums grad * xhat over axes, the bias gradient sums grad;
    # HINT: return one gradient per input (x, then weight and bias where given).
    # TESTS: gradcheck or gradients or batch_norm
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
    # END SOLUTION


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
