"""Gradient rules of the ops of tinytorch.tensor, in the order of their forwards.

Each rule receives ``grad``, the gradient of the op's output, and the recorded ``node``, and
returns one gradient per input: the vector-Jacobian product ``grad . d(out)/d(input)``, an array
of the input's shape, or ``None`` where the input takes no gradient. A rule skips the work for an
input that does not require grad (the data of a first layer, a constant operand): in a training
step that halves the cost of ``x @ W.T`` for the input batch.

Rules run in every training step, so they avoid needless copies: broadcasts back to an input's
shape are read-only views (``np.broadcast_to``), and an input's gradient may be ``grad`` itself.
The engine copies before storing anything in ``leaf.grad``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor.graph import Node, register_gradient, unbroadcast

Array = npt.NDArray[Any]
Grads = tuple["Array | None", ...]


def _expand_reduced(grad: Array, node: Node) -> Array:
    """``grad`` of a reduction's output, with the reduced axes put back as size-1 dimensions.

    A full reduction's 0-d gradient broadcasts against the input as it is.
    """
    axis = node.attrs["axis"]
    if axis is None or node.attrs["keepdims"]:
        return grad
    shape = node.inputs[0].shape
    return grad.reshape([1 if i in axis else n for i, n in enumerate(shape)])


def _reduced_count(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> int:
    """How many elements a reduction over ``axis`` combines into each output element."""
    if axis is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in axis)


# ---- conversion -------------------------------------------------------------------------------
@register_gradient("cast")
def cast(grad: Array, node: Node) -> Grads:
    (x,) = node.inputs
    return (grad.astype(x.dtype, copy=False),)


# ---- elementwise arithmetic (broadcasting) ------------------------------------------------------
@register_gradient("add")
def add(grad: Array, node: Node) -> Grads:
    # BEGIN SOLUTION add-grad
    # HINT: d(a + b)/da = d(a + b)/db = 1, so each input receives grad itself, summed back over the
    # HINT: dimensions broadcasting added (graph.unbroadcast does that). Return None for an input
    # HINT: that does not require grad.
    # TESTS: add or broadcast or test_arithmetic
    a, b = node.inputs
    return (
        unbroadcast(grad, a.shape) if a.requires_grad else None,
        unbroadcast(grad, b.shape) if b.requires_grad else None,
    )
    # END SOLUTION


@register_gradient("sub")
def sub(grad: Array, node: Node) -> Grads:
    a, b = node.inputs
    return (
        unbroadcast(grad, a.shape) if a.requires_grad else None,
        np.negative(unbroadcast(grad, b.shape)) if b.requires_grad else None,
    )


@register_gradient("mul")
def mul(grad: Array, node: Node) -> Grads:
    # BEGIN SOLUTION mul-grad
    # HINT: Each factor's gradient is grad times the other factor, unbroadcast to its own shape;
    # HINT: None for an input that does not require grad.
    # TESTS: mul or test_arithmetic or rules_return_none
    a, b = node.inputs
    return (
        unbroadcast(grad * b.data, a.shape) if a.requires_grad else None,
        unbroadcast(grad * a.data, b.shape) if b.requires_grad else None,
    )
    # END SOLUTION


@register_gradient("div")
def div(grad: Array, node: Node) -> Grads:
    # out = a / b: d/da = 1 / b and d/db = -a / b**2 = -(1 / b) * out, so one division serves both.
    # BEGIN SOLUTION div-grad
    # HINT: For out = a / b: d/da = 1 / b and d/db = -a / b^2, which is -(1 / b) * out: one
    # HINT: division, grad / b, serves both. Unbroadcast each to its input's shape.
    # TESTS: div or test_arithmetic or rules_return_none
    a, b = node.inputs
    over_b = grad / b.data
    return (
        unbroadcast(over_b, a.shape) if a.requires_grad else None,
        unbroadcast(-(over_b * node.out), b.shape) if b.requires_grad else None,
    )
    # END SOLUTION


@register_gradient("pow")
def pow(grad: Array, node: Node) -> Grads:
    (x,) = node.inputs
    exponent = node.attrs["exponent"]
    if exponent == 0:
        # x**0 is constant; exponent * x**-1 would make 0 * inf = nan at x = 0 (PyTorch gives 0).
        return (np.zeros_like(grad),)
    if exponent == 2:
        return (grad * (2 * x.data),)
    # x ** (e - 1) is infinite at x = 0 for e < 1, as in PyTorch; that is no cause for a warning.
    with np.errstate(divide="ignore", invalid="ignore"):
        return (grad * (exponent * x.data ** (exponent - 1)),)


@register_gradient("pow_tensor")
def pow_tensor(grad: Array, node: Node) -> Grads:
    # out = a ** b: d/da = b * a ** (b - 1), d/db = out * log(a). PyTorch's conventions at the
    # edges: no gradient to a where b == 0, none to b where a == 0 and b >= 0 (0 ** b is flat
    # there), nan for b where a < 0 (no real logarithm).
    a, b = node.inputs
    grad_a = grad_b = None
    with np.errstate(divide="ignore", invalid="ignore"):
        if a.requires_grad:
            local = b.data * a.data ** (b.data - 1)
            grad_a = unbroadcast(grad * np.where(b.data == 0, 0, local), a.shape)
        if b.requires_grad:
            local = node.out * np.log(a.data)
            flat = (a.data == 0) & (b.data >= 0)
            grad_b = unbroadcast(grad * np.where(flat, 0, local), b.shape)
    return grad_a, grad_b


@register_gradient("neg")
def neg(grad: Array, node: Node) -> Grads:
    return (np.negative(grad),)


# ---- elementwise functions --------------------------------------------------------------------
@register_gradient("exp")
def exp(grad: Array, node: Node) -> Grads:
    # BEGIN SOLUTION exp-grad
    # HINT: exp is its own derivative, and its value is the op's output.
    # TESTS: exp
    return (grad * node.out,)
    # END SOLUTION


@register_gradient("log")
def log(grad: Array, node: Node) -> Grads:
    # BEGIN SOLUTION log-grad
    # HINT: d log(x)/dx = 1 / x. At x = 0 that is inf, as PyTorch gives: silence NumPy's division
    # HINT: warning with np.errstate.
    # TESTS: log and not softmax and not test_versions
    (x,) = node.inputs
    # 1 / 0 = inf at x = 0, as the forward's -inf; no warning, as in the forward.
    with np.errstate(divide="ignore", invalid="ignore"):
        return (grad / x.data,)
    # END SOLUTION


@register_gradient("sqrt")
def sqrt(grad: Array, node: Node) -> Grads:
    with np.errstate(divide="ignore", invalid="ignore"):
        return ((0.5 * grad) / node.out,)


@register_gradient("abs")
def abs(grad: Array, node: Node) -> Grads:
    (x,) = node.inputs
    # sign(0) = 0: the subgradient PyTorch picks at the kink.
    return (grad * np.sign(x.data),)


@register_gradient("clip")
def clip(grad: Array, node: Node) -> Grads:
    # The gradient passes where min <= x <= max, bounds included (PyTorch's clamp).
    (x,) = node.inputs
    low, high = node.attrs["min"], node.attrs["max"]
    if low is None:
        inside = x.data <= high
    elif high is None:
        inside = x.data >= low
    else:
        inside = (x.data >= low) & (x.data <= high)
    return (np.where(inside, grad, 0),)


# ---- reductions -------------------------------------------------------------------------------
@register_gradient("sum")
def sum(grad: Array, node: Node) -> Grads:
    # BEGIN SOLUTION sum-grad
    # HINT: Every element summed gets the output's gradient: put the reduced axes back as size-1
    # HINT: dimensions (_expand_reduced does it from node.attrs) and broadcast to x's shape, a view.
    # TESTS: sum
    (x,) = node.inputs
    return (np.broadcast_to(_expand_reduced(grad, node), x.shape),)
    # END SOLUTION


@register_gradient("mean")
def mean(grad: Array, node: Node) -> Grads:
    # BEGIN SOLUTION mean-grad
    # HINT: Like sum, divided by how many elements each output averaged (_reduced_count). An empty
    # HINT: axis averages nothing: do not divide by 0.
    # TESTS: mean
    (x,) = node.inputs
    count = _reduced_count(x.shape, node.attrs["axis"])
    # Scale the small reduced gradient, then broadcast it as a view. An empty reduction has no
    # element to receive a gradient, so the scale does not matter there.
    scaled = _expand_reduced(grad, node) * (1.0 / count if count else 0.0)
    return (np.broadcast_to(scaled, x.shape),)
    # END SOLUTION


@register_gradient("var")
def var(grad: Array, node: Node) -> Grads:
    # out = sum((x - mean)**2) / (n - correction); the mean's own gradient term vanishes
    # because the centred values sum to zero.
    (x,) = node.inputs
    axis = node.attrs["axis"]
    count = _reduced_count(x.shape, axis)
    if count == 0:
        return (np.zeros(x.shape, dtype=grad.dtype),)  # nothing was reduced: x is empty
    dof = count - node.attrs["correction"]
    centred = x.data - x.data.mean(axis=axis, keepdims=True)
    scale = 2.0 / dof if dof > 0 else np.nan  # the forward is inf/nan there too
    return (centred * (_expand_reduced(grad, node) * scale),)


def _extremum(grad: Array, node: Node) -> Grads:
    # The gradient is shared equally among the elements that tie for the extremum (PyTorch's
    # amax/amin, and max()/min() over all elements), over the full tensor or along axis.
    (x,) = node.inputs
    axis = node.attrs["axis"]
    hit = x.data == _expand_reduced(node.out, node)
    # At least 1: a NaN extremum equals nothing, and then no element takes a gradient.
    ties = np.maximum(hit.sum(axis=axis, keepdims=True), 1)
    return (np.where(hit, _expand_reduced(grad, node) / ties, 0),)


register_gradient("max")(_extremum)
register_gradient("min")(_extremum)


# ---- shape ------------------------------------------------------------------------------------
@register_gradient("reshape")
def reshape(grad: Array, node: Node) -> Grads:
    (x,) = node.inputs
    return (grad.reshape(x.shape),)


@register_gradient("permute")
def permute(grad: Array, node: Node) -> Grads:
    dims = node.attrs["dims"]
    inverse = sorted(range(len(dims)), key=dims.__getitem__)
    return (grad.transpose(inverse),)


@register_gradient("expand")
def expand(grad: Array, node: Node) -> Grads:
    (x,) = node.inputs
    return (unbroadcast(grad, x.shape),)


def _may_repeat(index: Any) -> bool:
    """Whether ``index`` can select one element twice: it holds an integer array or list."""
    for part in index if isinstance(index, tuple) else (index,):
        if isinstance(part, (int, np.integer, slice)) or part is None or part is Ellipsis:
            continue
        if np.asarray(part).dtype != np.bool_:
            return True
    return False


@register_gradient("getitem")
def getitem(grad: Array, node: Node) -> Grads:
    (x,) = node.inputs
    index = node.attrs["index"]
    full = np.zeros(x.shape, dtype=grad.dtype)
    if _may_repeat(index):
        # x[[0, 0]] reads element 0 twice, so it receives both gradients: assignment would
        # keep only the last one. np.add.at sums repeats, at many times the cost.
        np.add.at(full, index, grad)
    else:
        full[index] = grad
    return (full,)


# ---- matmul -----------------------------------------------------------------------------------
@register_gradient("matmul")
def matmul(grad: Array, node: Node) -> Grads:
    # BEGIN SOLUTION matmul-grad
    # HINT: For out = A @ B: dA = grad @ B^T and dB = A^T @ grad, with ^T swapping the last two
    # HINT: axes. A 1-D operand is a matrix whose size-1 dimension the forward dropped: add it back
    # HINT: (to the operand and to grad) first, so that one formula covers every case, then reshape
    # HINT: each gradient to its input's shape. Batch dimensions that broadcast are summed back with
    # HINT: unbroadcast. Skip an input that does not require grad.
    # TESTS: matmul or linear
    a, b = node.inputs
    a_data, b_data = a.data, b.data
    # A 1-D operand is a matrix with a size-1 dimension that the forward dropped; restore it so
    # that one formula covers every case: dA = dOut @ B^T, dB = A^T @ dOut.
    # (b first: for vector @ vector the output gradient is 0-d and gains both dimensions.)
    if b_data.ndim == 1:
        b_data = b_data[:, np.newaxis]
        grad = grad[..., np.newaxis]
    if a_data.ndim == 1:
        a_data = a_data[np.newaxis, :]
        grad = grad[..., np.newaxis, :]
    grad_a = grad_b = None
    if a.requires_grad:
        if b_data.ndim == 2 and grad.ndim > 2:
            # As in the forward: fold the batch into rows for one BLAS call, not one per matrix.
            rows = math.prod(grad.shape[:-1])
            folded = grad.reshape(rows, grad.shape[-1]) @ b_data.T
            grad_a = folded.reshape(a_data.shape).reshape(a.shape)
        else:
            grad_a = unbroadcast(grad @ b_data.swapaxes(-1, -2), a_data.shape).reshape(a.shape)
    if b.requires_grad:
        if b_data.ndim == 2 and a_data.ndim > 2:
            # A batch of matrices times one matrix (a Linear layer on a sequence): fold the batch
            # into the rows, one (n, rows) @ (rows, m) product instead of a stack of them summed.
            rows = math.prod(a_data.shape[:-1])
            grad_rows = grad.reshape(rows, grad.shape[-1])
            grad_b = (a_data.reshape(rows, a_data.shape[-1]).T @ grad_rows).reshape(b.shape)
        else:
            grad_b = unbroadcast(a_data.swapaxes(-1, -2) @ grad, b_data.shape).reshape(b.shape)
    return grad_a, grad_b
    # END SOLUTION


# ---- ops over several tensors -----------------------------------------------------------------
@register_gradient("cat")
def cat(grad: Array, node: Node) -> Grads:
    # Each input's extent along axis, from the inputs themselves: the rule needs nothing else.
    axis = node.attrs["axis"]
    bounds = np.cumsum([x.shape[axis] for x in node.inputs])[:-1]
    return tuple(np.split(grad, bounds, axis=axis))


@register_gradient("stack")
def stack(grad: Array, node: Node) -> Grads:
    # Views, one per input: the stacked axis moved to the front and iterated over.
    return tuple(np.moveaxis(grad, node.attrs["axis"], 0))


@register_gradient("where")
def where(grad: Array, node: Node) -> Grads:
    a, b = node.inputs
    condition = node.attrs["condition"]
    return (
        unbroadcast(np.where(condition, grad, 0), a.shape) if a.requires_grad else None,
        unbroadcast(np.where(condition, 0, grad), b.shape) if b.requires_grad else None,
    )


# ---- rules of the PyTorch API ops (masked_fill, gather, topk, std, ...) -------------------
@register_gradient("masked_fill")
def masked_fill(grad: Array, node: Node) -> Grads:
    # Filled elements came from the 0-d value, the others from x: each gets its share.
    x, value = node.inputs
    mask = node.attrs["mask"]
    grad_value = None
    if value.requires_grad:
        grad_value = np.asarray(np.sum(grad, where=mask), dtype=value.dtype)
    return (
        unbroadcast(np.where(mask, 0, grad), x.shape) if x.requires_grad else None,
        grad_value,
    )


@register_gradient("narrow")
def narrow(grad: Array, node: Node) -> Grads:
    # The pieces of split and chunk: each puts its gradient back into its slice of x.
    (x,) = node.inputs
    dim, start = node.attrs["dim"], node.attrs["start"]
    full = np.zeros(x.shape, dtype=grad.dtype)
    full[(slice(None),) * dim + (slice(start, start + grad.shape[dim]),)] = grad
    return (full,)


def _scatter_along(grad: Array, node: Node) -> Grads:
    # gather and topk read x[..., index, ...] along dim; an element read k times receives the
    # sum of its k gradients. One bincount over flat positions sums repeats without the cost
    # of np.add.at.
    (x,) = node.inputs
    dim, index = node.attrs["dim"], node.attrs["index"]
    shape = x.shape if x.ndim else (1,)
    coords = list(np.indices(index.shape, sparse=True))
    coords[dim] = index
    strides = np.cumprod((1, *shape[:0:-1]))[::-1]
    flat = np.zeros(index.shape, dtype=np.int64)
    for c, stride in zip(coords, strides, strict=True):
        flat = flat + c * stride
    total = math.prod(shape)
    summed = np.bincount(flat.ravel(), weights=grad.reshape(index.shape).ravel(), minlength=total)
    return (summed.astype(grad.dtype, copy=False).reshape(x.shape),)


register_gradient("gather")(_scatter_along)
register_gradient("topk")(_scatter_along)


@register_gradient("std")
def std(grad: Array, node: Node) -> Grads:
    # out = sqrt(var): d out = d var / (2 out), and d var / dx = 2 (x - mean) / dof.
    (x,) = node.inputs
    axis = node.attrs["axis"]
    count = _reduced_count(x.shape, axis)
    if count == 0:
        return (np.zeros(x.shape, dtype=grad.dtype),)
    dof = count - node.attrs["correction"]
    centred = x.data - x.data.mean(axis=axis, keepdims=True)
    out = _expand_reduced(node.out, node)
    # PyTorch's conventions: 0 where std is 0 (a constant input, where the derivative does not
    # exist); nan where dof <= 0, as the forward.
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(out == 0, 0, _expand_reduced(grad, node) / (out * dof))
    return (centred * scale,)


@register_gradient("contiguous")
def contiguous(grad: Array, node: Node) -> Grads:
    return (grad,)


@register_gradient("clone")
def clone(grad: Array, node: Node) -> Grads:
    return (grad,)


@register_gradient("tril")
def tril(grad: Array, node: Node) -> Grads:
    return (np.tril(grad, node.attrs["diagonal"]),)


@register_gradient("triu")
def triu(grad: Array, node: Node) -> Grads:
    return (np.triu(grad, node.attrs["diagonal"]),)
