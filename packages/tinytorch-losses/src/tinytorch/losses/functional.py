"""The loss functions: each one fused op, its forward a few stable NumPy lines.

Each loss is recorded as a single op (``tinytorch.tensor.record``) whose gradient rule lives in
``tinytorch.autograd.rules.losses``. Targets, class weights and options travel in the node's
attrs; so does what the backward reuses (cross-entropy's log-probabilities). Fusing keeps the
graph to one node per loss and makes the stable form (log-sum-exp, the softplus form of BCE with
logits) the only form: there is no unstable composition for a user to fall into.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

import numpy as np
import numpy.typing as npt

from tinytorch.activations.functional import log_softmax_array
from tinytorch.tensor import Tensor, TensorLike, record
from tinytorch.tensor.graph import is_grad_enabled

__all__ = [
    "BCEAttrs",
    "BCEWithLogitsAttrs",
    "CrossEntropyAttrs",
    "MSELossAttrs",
    "Reduction",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "mse_loss",
]

Array = npt.NDArray[Any]
Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS = ("mean", "sum", "none")


# What each loss records on its node (``node.attrs``): the contract between a loss's forward
# here and its gradient rule in tinytorch-autograd, which reads these keys and nothing else.
class MSELossAttrs(TypedDict):
    """``mse_loss``'s node attributes. Its inputs are ``(input, target)``.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> x = Tensor([1.0, 2.0], requires_grad=True)
        >>> mse_loss(x, Tensor([0.0, 0.0])).node.attrs
        {'reduction': 'mean'}
    """

    reduction: str  # "mean", "sum" or "none"


class CrossEntropyAttrs(TypedDict):
    """``cross_entropy``'s node attributes, in the batched form ``(N, C, d1, ...)`` even for a
    ``(C,)`` input. Its one input is the logits. ``log_probs`` is saved by the forward so that
    the rule need not recompute the log-softmax.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> x = Tensor([[1.0, 2.0]], requires_grad=True)
        >>> attrs = cross_entropy(x, Tensor([1])).node.attrs
        >>> sorted(attrs) == sorted(CrossEntropyAttrs.__annotations__), attrs["log_probs"].shape
        (True, (1, 2))
    """

    target: Array  # (N, d1, ...) int64 class indices, ignored entries replaced by 0
    keep: Array  # (N, d1, ...) bool: False where the target was ignore_index
    weight: Array | None  # (C,) class weights in the input's dtype, or None
    ignore_index: int
    reduction: str
    label_smoothing: float
    log_probs: Array  # (N, C, d1, ...): log-softmax of the logits along the class axis
    denom: Array  # 0-d, the input's dtype: what reduction="mean" divides the summed loss by


class BCEAttrs(TypedDict):
    """``binary_cross_entropy``'s node attributes. Its one input is the probabilities.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> p = Tensor([0.5], requires_grad=True)
        >>> sorted(binary_cross_entropy(p, Tensor([1.0])).node.attrs)
        ['reduction', 'target', 'weight']
    """

    target: Array  # the input's shape and dtype
    weight: Array | None  # broadcasts to the input's shape, its dtype; or None
    reduction: str


class BCEWithLogitsAttrs(TypedDict):
    """``binary_cross_entropy_with_logits``'s node attributes. Its one input is the logits.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> z = Tensor([0.5], requires_grad=True)
        >>> sorted(binary_cross_entropy_with_logits(z, Tensor([1.0])).node.attrs)
        ['pos_weight', 'reduction', 'target', 'weight']
    """

    target: Array  # the input's shape and dtype
    weight: Array | None  # broadcasts to the input's shape, its dtype; or None
    pos_weight: Array | None  # broadcasts to the input's shape, its dtype; or None
    reduction: str


def check_reduction(op: str, reduction: str) -> None:
    """Raise ``ValueError``, naming ``op``, unless ``reduction`` is "mean", "sum" or "none"."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of 'mean', 'sum', 'none', got {reduction!r}")


def _float_input(op: str, x: object) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be a floating tensor, got {x.dtype}")
    return x


def _no_grad_argument(op: str, name: str, t: Tensor) -> None:
    # These arguments are recorded as constants: a gradient asked of them would silently be
    # missing, so say so instead.
    if t.requires_grad and is_grad_enabled():
        raise ValueError(
            f"{op}: {name} takes no gradient here, but it requires grad; pass {name}.detach()"
        )


def _float_target(op: str, target: TensorLike, x: Tensor) -> Array:
    """A probability-like target of the input's shape, as an array of the input's dtype."""
    t = target if isinstance(target, Tensor) else Tensor(target)
    if t.dtype.kind != "f":
        raise TypeError(
            f"{op}: target must be a floating tensor (probabilities / labels in [0, 1]), "
            f"got {t.dtype}"
        )
    if t.shape != x.shape:
        raise ValueError(
            f"{op}: target shape {t.shape} does not match input shape {x.shape}; they must be equal"
        )
    _no_grad_argument(op, "target", t)
    return t.data.astype(x.dtype, copy=False)


def _elementwise_weight(op: str, name: str, w: TensorLike | None, x: Tensor) -> Array | None:
    """A weight that broadcasts to the input's shape (without enlarging it), as an array."""
    if w is None:
        return None
    t = w if isinstance(w, Tensor) else Tensor(w)
    if t.dtype.kind not in "fiub":
        raise TypeError(f"{op}: {name} must be numeric, got {t.dtype}")
    try:
        shape = np.broadcast_shapes(t.shape, x.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ValueError(
            f"{op}: {name} of shape {t.shape} does not broadcast to input shape {x.shape}"
        )
    _no_grad_argument(op, name, t)
    return t.data.astype(x.dtype, copy=False)


def _binary_args(
    op: str, input: Tensor, target: TensorLike, weight: TensorLike | None, reduction: str
) -> tuple[Tensor, Array, Array | None]:
    """The checked input, target and element weight of a binary cross-entropy."""
    check_reduction(op, reduction)
    x = _float_input(op, input)
    return x, _float_target(op, target, x), _elementwise_weight(op, "weight", weight, x)


def _reduce(loss: Array, reduction: str, dtype: np.dtype[Any]) -> Array:
    # BEGIN SOLUTION reduce
    # HINT: 'mean' averages every element, 'sum' adds them, 'none' keeps the per-element loss; a
    # HINT: reduced loss is a 0-d array of dtype.
    # TESTS: reduction or mean or sum or none
    if reduction == "mean":
        return np.asarray(loss.mean(), dtype=dtype)
    if reduction == "sum":
        return np.asarray(loss.sum(), dtype=dtype)
    return loss
    # END SOLUTION


# -------------------------------------------------------------------------------------------
def mse_loss(input: Tensor, target: TensorLike, reduction: Reduction = "mean") -> Tensor:
    """Mean squared error ``(input - target) ** 2``, reduced (``torch.nn.functional.mse_loss``).

    The shapes must be equal: PyTorch broadcasts (N, 1) against (N,) into an (N, N) loss with
    a warning; here that common bug is an error. ``target`` receives a gradient too when it
    requires one.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> mse_loss(Tensor([1.0, 2.0, 3.0]), Tensor([1.0, 0.0, 0.0]))
        tensor(4.3333)
    """
    # Its own op rather than ((input - target) ** 2).mean(): one node instead of three, no
    # difference or square kept alive for backward (the rule recomputes input - target from the
    # inputs), and the three reductions in one place. The rule is two lines.
    op = "mse_loss"
    check_reduction(op, reduction)
    x = _float_input(op, input)
    t = target if isinstance(target, Tensor) else Tensor(target)
    if t.shape != x.shape:
        raise ValueError(
            f"{op}: target shape {t.shape} does not match input shape {x.shape}; they must be equal"
        )
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: target must be a floating tensor, got {t.dtype}")
    if t.dtype != x.dtype:
        if t.requires_grad:
            raise TypeError(f"{op}: input is {x.dtype} but target is {t.dtype}; convert one")
        t = Tensor(t.data.astype(x.dtype))
    # BEGIN SOLUTION mse-forward
    # HINT: The squared difference of input and target, reduced by _reduce; record the op with both
    # HINT: tensors as inputs (the target may take a gradient) and the attrs MSELossAttrs declares.
    # TESTS: mse
    diff = x.data - t.data
    out = _reduce(diff * diff, reduction, x.dtype)
    attrs: MSELossAttrs = {"reduction": reduction}
    return record(op, out, (x, t), **attrs)
    # END SOLUTION


# -------------------------------------------------------------------------------------------
def cross_entropy(
    input: Tensor,
    target: TensorLike,
    weight: TensorLike | None = None,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy of logits against integer class indices, fused and stable
    (``torch.nn.functional.cross_entropy``).

    ``input`` is ``(N, C)`` logits, ``(C,)`` for one sample, or ``(N, C, d1, ...)`` with the
    class dimension second; ``target`` holds class indices of shape ``(N,)`` / ``()`` /
    ``(N, d1, ...)``. Targets equal to ``ignore_index`` contribute nothing. ``weight`` (shape
    ``(C,)``) scales each class; ``reduction="mean"`` then divides by the summed weights of the
    targets that are not ignored, as PyTorch does. ``label_smoothing`` mixes the one-hot target
    with the uniform distribution. Log-sum-exp keeps it finite for any finite logits.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> logits = Tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
        >>> cross_entropy(logits, Tensor([0, 2]))
        tensor(0.6342)
    """
    op = "cross_entropy"
    check_reduction(op, reduction)
    x = _float_input(op, input)
    t = target if isinstance(target, Tensor) else Tensor(target)
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{op}: target must hold integer class indices (int64), got {t.dtype}; "
            "probability targets are not supported"
        )
    if isinstance(label_smoothing, bool) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    if x.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, got shape {x.shape}")
    unbatched = x.ndim == 1
    logits = x.data[None] if unbatched else x.data
    labels = t.data[None] if unbatched and t.ndim == 0 else t.data
    expected = (logits.shape[0], *logits.shape[2:])
    if labels.shape != expected or (unbatched and t.ndim != 0):
        want = () if unbatched else expected
        raise ValueError(
            f"{op}: target shape {t.shape} does not match input shape {x.shape}; "
            f"expected target shape {want}"
        )
    n_classes = logits.shape[1]
    if n_classes == 0:
        raise ValueError(f"{op}: input shape {x.shape} has no classes")
    labels = labels.astype(np.int64, copy=False)
    keep = labels != ignore_index
    everything_kept = bool(keep.all())
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = keep & ((labels < 0) | (labels >= n_classes))
        if bad.any():
            raise IndexError(
                f"{op}: target {int(labels[bad].flat[0])} is out of range for {n_classes} "
                f"classes (valid: 0 to {n_classes - 1}, or ignore_index={ignore_index})"
            )
    w: Array | None = None
    if weight is not None:
        wt = weight if isinstance(weight, Tensor) else Tensor(weight)
        if wt.shape != (n_classes,):
            raise ValueError(
                f"{op}: weight of shape {wt.shape} must have one entry per class, "
                f"shape ({n_classes},), for input shape {x.shape}"
            )
        if wt.dtype.kind not in "fiu":
            raise TypeError(f"{op}: weight must be numeric, got {wt.dtype}")
        _no_grad_argument(op, "weight", wt)
        w = wt.data.astype(x.dtype, copy=False)

    # BEGIN SOLUTION cross-entropy-per-sample
    # HINT: Per sample: take log_softmax_array of the logits along the class axis (axis 1), pick
    # HINT: each sample's log-probability at its target class (ignored targets pick class 0 and are
    # HINT: zeroed at the end), and negate. Then add the options: class weights scale each sample by
    # HINT: w[target]; label smoothing e mixes (1 - e) of that with e / C times the sum of -log p
    # HINT: over every class (weighted by w when given).
    # TESTS: cross_entropy or crossentropy or ignored or integer or spatial or unbatched or weighted
    # Log-softmax by log-sum-exp over the class axis (the one kernel of module 02): finite
    # for any finite logits, and the log never sees an underflowed 0.
    log_probs = log_softmax_array(logits, axis=1)

    # Ignored targets gather a valid entry (class 0) and are then zeroed.
    safe = labels if everything_kept else np.where(keep, labels, 0)
    if logits.ndim == 2:
        picked = log_probs[np.arange(len(safe)), safe]  # plain indexing: no per-call overhead
    else:
        picked = np.take_along_axis(log_probs, safe[:, None], axis=1)[:, 0]
    class_w = None if w is None else w[safe]
    loss = (
        -(1.0 - label_smoothing) * picked
        if class_w is None
        else -(1.0 - label_smoothing) * class_w * picked
    )
    if label_smoothing > 0.0:
        if w is None:
            spread = -log_probs.sum(axis=1)
        else:
            w_b = w.reshape((1, n_classes) + (1,) * (logits.ndim - 2))
            spread = -(log_probs * w_b).sum(axis=1)
        loss = loss + (label_smoothing / n_classes) * spread
    if not everything_kept:
        loss = np.where(keep, loss, 0.0)
    loss = loss.astype(x.dtype, copy=False)
    # END SOLUTION

    # BEGIN SOLUTION cross-entropy-reduce
    # HINT: The mean divides the summed loss by the number of kept targets, or by their summed class
    # HINT: weights when weight is given (PyTorch's rule; all ignored gives 0/0 = nan, quietly).
    # HINT: Record the op with every key CrossEntropyAttrs declares: the gradient rule of module 05
    # HINT: reads them, log_probs included.
    # TESTS: cross_entropy or crossentropy or ignored or integer or spatial or unbatched or weighted
    if class_w is None:
        denom = np.asarray(keep.sum(), dtype=x.dtype)
    else:
        denom = np.asarray(np.where(keep, class_w, 0.0).sum(), dtype=x.dtype)
    if reduction == "mean":
        # Every target ignored gives 0/0 = nan, as in PyTorch; quietly, it is not an accident.
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.asarray(loss.sum() / denom, dtype=x.dtype)
    elif reduction == "sum":
        out = np.asarray(loss.sum(), dtype=x.dtype)
    else:
        out = loss.reshape(()) if unbatched else loss
    attrs: CrossEntropyAttrs = {
        "target": safe,
        "keep": keep,
        "weight": w,
        "ignore_index": ignore_index,
        "reduction": reduction,
        "label_smoothing": float(label_smoothing),
        "log_probs": log_probs,
        "denom": denom,
    }
    return record(op, out, (x,), **attrs)
    # END SOLUTION


# -------------------------------------------------------------------------------------------
def binary_cross_entropy(
    input: Tensor,
    target: TensorLike,
    weight: TensorLike | None = None,
    reduction: Reduction = "mean",
) -> Tensor:
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against targets in [0, 1]
    (``torch.nn.functional.binary_cross_entropy``).

    Each log is clamped at -100, as in PyTorch, so a probability of exactly 0 or 1 gives a
    finite loss. ``weight`` broadcasts to the input's shape. Prefer
    :func:`binary_cross_entropy_with_logits` on logits: it is stable without the clamp.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> binary_cross_entropy(Tensor([0.9, 0.2]), Tensor([1.0, 0.0]))
        tensor(0.1643)
    """
    op = "binary_cross_entropy"
    x, t, w = _binary_args(op, input, target, weight, reduction)
    p = x.data
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(
            f"{op}: input must hold probabilities in [0, 1], got values from {p.min()} to "
            f"{p.max()} (for logits use binary_cross_entropy_with_logits)"
        )
    # BEGIN SOLUTION bce-forward
    # HINT: -(t log p + (1 - t) log(1 - p)), each log clamped at -100 as PyTorch does (so p = 0 or 1
    # HINT: stays finite; log1p for log(1 - p)), times the element weight if any, reduced; record
    # HINT: the attrs BCEAttrs declares.
    # TESTS: bce and not logits
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100.0)
        log_1mp = np.maximum(np.log1p(-p), -100.0)
    loss = -(t * log_p + (1.0 - t) * log_1mp)
    if w is not None:
        loss = loss * w
    out = _reduce(loss.astype(x.dtype, copy=False), reduction, x.dtype)
    attrs: BCEAttrs = {"target": t, "weight": w, "reduction": reduction}
    return record(op, out, (x,), **attrs)
    # END SOLUTION


# -------------------------------------------------------------------------------------------
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: TensorLike,
    weight: TensorLike | None = None,
    reduction: Reduction = "mean",
    pos_weight: TensorLike | None = None,
) -> Tensor:
    """Sigmoid and binary cross-entropy in one stable op
    (``torch.nn.functional.binary_cross_entropy_with_logits``).

    Computed as ``(1 - t) * x + (1 + (pos_weight - 1) * t) * softplus(-x)`` with
    ``softplus(-x) = log1p(exp(-|x|)) + max(-x, 0)``, which never exponentiates a positive
    number. ``pos_weight`` scales the positive term (one entry per class, broadcast over the
    last dimension); ``weight`` scales each element.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> binary_cross_entropy_with_logits(Tensor([10000.0, -2.0]), Tensor([1.0, 0.0]))
        tensor(0.0635)
    """
    op = "binary_cross_entropy_with_logits"
    x, t, w = _binary_args(op, input, target, weight, reduction)
    pw = _elementwise_weight(op, "pos_weight", pos_weight, x)
    # BEGIN SOLUTION bce-with-logits-forward
    # HINT: The loss is (1 - t) z + L softplus(-z), L = 1 + (pos_weight - 1) t (1 without
    # HINT: pos_weight). softplus(-z) = log(1 + exp(-z)) overflows for very negative z: write it as
    # HINT: log1p(exp(-|z|)) + max(-z, 0). Times the element weight, reduced; record the attrs
    # HINT: BCEWithLogitsAttrs declares.
    # TESTS: logits
    z = x.data
    softplus_neg = np.log1p(np.exp(-np.abs(z))) + np.maximum(-z, 0.0)  # log(1 + exp(-z))
    if pw is None:
        loss = (1.0 - t) * z + softplus_neg
    else:
        loss = (1.0 - t) * z + (1.0 + (pw - 1.0) * t) * softplus_neg
    if w is not None:
        loss = loss * w
    out = _reduce(loss.astype(x.dtype, copy=False), reduction, x.dtype)
    attrs: BCEWithLogitsAttrs = {"target": t, "weight": w, "pos_weight": pw, "reduction": reduction}
    return record(op, out, (x,), **attrs)
    # END SOLUTION
