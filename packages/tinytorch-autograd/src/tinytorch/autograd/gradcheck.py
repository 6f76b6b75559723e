"""``gradcheck``: compare every analytic gradient with central finite differences.

A gradient rule is checked through the one thing backward computes, the vector-Jacobian
product: for a fixed random upstream gradient ``v`` of the output's shape, the gradient of the
scalar ``<v, fn(x)>`` with respect to each input element. The engine gives it in one backward
pass; central differences give it as ``(<v, fn(x + eps e_i)> - <v, fn(x - eps e_i)>) / 2 eps``,
two forward passes per element. Both are exact up to O(eps**2) truncation and float64 rounding,
so a disagreement beyond ``atol + rtol * |numeric|`` means a wrong rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Tensor, graph

__all__ = ["gradcheck"]

Array = npt.NDArray[Any]

_SEED = 0


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check the gradients backward gives ``fn`` at ``inputs`` against central differences.

    ``inputs`` are the tensors passed to ``fn`` in order; each that requires grad must be
    float64 and has every element perturbed by ``+-eps``, the others (indices, masks, constants)
    pass through unchanged. ``fn`` must return one floating Tensor. Returns ``True`` when every
    analytic gradient is within ``atol + rtol * |numeric|`` of the numeric one; otherwise raises
    ``AssertionError`` naming the input, the element and both values (or returns ``False`` when
    ``raise_exception`` is false). An input the output does not depend on must get a zero (or
    no) gradient. The caller's tensors are not modified and their ``.grad`` is left alone.

    Example:
        >>> from tinytorch.tensor import randn, float64
        >>> x = randn(3, 4, dtype=float64, requires_grad=True)
        >>> w = randn(4, 2, dtype=float64, requires_grad=True)
        >>> gradcheck(lambda x, w: (x @ w).exp(), [x, w])
        True
    """
    leaves = _fresh_leaves(inputs)
    checked = [i for i, t in enumerate(leaves) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is no gradient to check")

    previous = graph.set_grad_enabled(True)
    try:
        out = _call(fn, leaves)
        upstream = np.random.default_rng(_SEED).standard_normal(out.shape).astype(out.dtype)
        if out.requires_grad:
            out.backward(upstream)
        analytic = [_gradient_or_zeros(leaves[i]) for i in checked]
    finally:
        graph.set_grad_enabled(previous)

    # The numeric side needs forward values only: recording a graph per call would be waste.
    previous = graph.set_grad_enabled(False)
    try:
        for i, grad in zip(checked, analytic, strict=True):
            numeric = _central_differences(fn, leaves, i, upstream, eps)
            failure = _compare(i, grad, numeric, atol, rtol)
            if failure is not None:
                if raise_exception:
                    raise AssertionError(failure)
                return False
    finally:
        graph.set_grad_enabled(previous)
    return True


def _fresh_leaves(inputs: Sequence[Tensor]) -> list[Tensor]:
    """Private float64 leaf copies of the inputs that require grad (the others as they are)."""
    if isinstance(inputs, Tensor):
        raise TypeError("gradcheck: inputs must be a sequence of Tensors, e.g. [x], not a Tensor")
    leaves = []
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: input {i} is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            leaves.append(t)
            continue
        if t.dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} (shape {t.shape}) has dtype {t.dtype}; inputs that "
                "require grad must be float64, or rounding swamps the finite differences "
                "(use .double())"
            )
        # A copy, so perturbing it cannot disturb the caller's tensor or its .grad.
        leaves.append(Tensor(t.data.copy(), requires_grad=True))
    return leaves


def _call(fn: Callable[..., Tensor], leaves: list[Tensor]) -> Tensor:
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, it returned {type(out).__name__}")
    if out.dtype.kind != "f":
        raise TypeError(f"gradcheck: fn must return a floating tensor, got dtype {out.dtype}")
    return out


def _gradient_or_zeros(leaf: Tensor) -> Array:
    # No gradient at all (the output does not depend on this input) means a zero gradient.
    if leaf.grad is None:
        return np.zeros(leaf.shape, dtype=leaf.dtype)
    return leaf.grad.data


def _central_differences(
    fn: Callable[..., Tensor], leaves: list[Tensor], i: int, upstream: Array, eps: float
) -> Array:
    """d<upstream, fn(...)>/d(leaves[i]), element by element: two forward calls per element."""
    flat = leaves[i].data.reshape(-1)  # a view: the data is a private contiguous copy
    numeric = np.empty(flat.size, dtype=np.float64)
    for k in range(flat.size):
        original = flat[k]
        flat[k] = original + eps
        plus = _weighted(fn, leaves, upstream)
        flat[k] = original - eps
        minus = _weighted(fn, leaves, upstream)
        flat[k] = original
        numeric[k] = (plus - minus) / (2 * eps)
    return numeric.reshape(leaves[i].shape)


def _weighted(fn: Callable[..., Tensor], leaves: list[Tensor], upstream: Array) -> float:
    out = _call(fn, leaves)
    if out.shape != upstream.shape:
        raise ValueError(
            f"gradcheck: fn's output changed shape from {upstream.shape} to {out.shape} "
            "when an input was perturbed"
        )
    return float(np.sum(upstream * out.data, dtype=np.float64))


def _compare(i: int, analytic: Array, numeric: Array, atol: float, rtol: float) -> str | None:
    """A message describing the mismatch of input ``i``'s gradients, or None if they agree."""
    if analytic.shape != numeric.shape:
        return (
            f"gradcheck: the gradient of input {i} has shape {analytic.shape}, "
            f"the input has shape {numeric.shape}"
        )
    bad = ~np.isclose(analytic, numeric, rtol=rtol, atol=atol)
    if not bad.any():
        return None
    first = np.unravel_index(int(np.flatnonzero(bad)[0]), bad.shape)
    index = tuple(int(n) for n in first)
    with np.errstate(invalid="ignore"):  # inf - inf is nan, which is what to report
        worst = float(np.abs(analytic - numeric)[bad].max())
    return (
        f"gradcheck: gradient of input {i} (shape {analytic.shape}) is wrong at element {index}: "
        f"analytic {float(analytic[index])!r} vs numeric {float(numeric[index])!r} "
        f"({int(bad.sum())} of {bad.size} elements differ by more than atol={atol} + "
        f"rtol={rtol} * |numeric|; largest difference {worst:.3g})"
    )
