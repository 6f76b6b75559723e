"""``gradcheck``: compare every analytic gradient with central finite differences.

A gradient rule is checked through the one thing backward computes, the vector-Jacobian
product: for a fixed random upstream gradient ``v`` of the output's shape, the gradient of the
scalar ``<v, fn(x)>`` with respect to each input element. The engine gives it in one backward
pass; central differences give it as ``(<v, fn(x + eps e_i)> - <v, fn(x - eps e_i)>) / 2 eps``,
two forward passes per element. Both are exact up to O(eps**2) truncation and float64 rounding,
so a disagreement beyond ``atol + rtol * |numeric|`` means a wrong rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.autograd.engine import topological_order
from tinytorch.layers import Module
from tinytorch.tensor import Tensor, graph

__all__ = ["checked_ops", "gradcheck"]

Array = npt.NDArray[Any]

_SEED = 0
_checked: set[str] = set()  # ops whose rules a passing gradcheck has run, in this process


def checked_ops() -> frozenset[str]:
    """The ops whose gradient rules some passing :func:`gradcheck` has exercised so far in
    this process: what a test session compares with ``graph.registered_ops()`` to find rules
    nothing checks.

    Example:
        >>> from tinytorch.tensor import randn, float64
        >>> _ = gradcheck(lambda x: x.exp(), [randn(2, dtype=float64, requires_grad=True)])
        >>> "exp" in checked_ops()
        True
    """
    return frozenset(_checked)


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    *,
    parameters: Module | Iterable[tuple[str, Tensor]] | None = None,
    samples: int | None = None,
) -> bool:
    """Check the gradients backward gives ``fn`` at ``inputs`` against central differences.

    ``inputs`` are the tensors passed to ``fn`` in order; each that requires grad must be
    float64 and has every element perturbed by ``+-eps``, the others (indices, masks, constants)
    pass through unchanged. ``fn`` must return one floating Tensor. Returns ``True`` when every
    analytic gradient is within ``atol + rtol * |numeric|`` of the numeric one; otherwise raises
    ``AssertionError`` naming the input, the element and both values (or returns ``False`` when
    ``raise_exception`` is false). An input the output does not depend on must get a zero (or
    no) gradient. The caller's tensors are not modified and their ``.grad`` is left alone.

    A :class:`~tinytorch.layers.Module` as ``fn`` has its parameters checked too (each must be
    float64: ``model.to(dtype=float64)``), as does any module passed as ``parameters`` when
    ``fn`` is a function that calls it (``lambda i, t: gpt(i, t)[1]``). Parameters are perturbed
    in place and restored bit for bit, and their ``.grad`` is put back as it was. ``samples``
    checks at most that many elements of each tensor, chosen by a fixed seed, for models too big
    to check element by element.

    Example:
        >>> from tinytorch.layers import Linear
        >>> from tinytorch.tensor import randn, float64
        >>> x = randn(3, 4, dtype=float64, requires_grad=True)
        >>> w = randn(4, 2, dtype=float64, requires_grad=True)
        >>> gradcheck(lambda x, w: (x @ w).exp(), [x, w])
        True
        >>> gradcheck(Linear(4, 2).to(dtype=float64), [x])  # x, the weight and the bias
        True
    """
    leaves = _fresh_leaves(inputs)
    targets: list[tuple[str, Tensor]] = [
        (f"input {i}", t) for i, t in enumerate(leaves) if t.requires_grad
    ]
    if parameters is None and isinstance(fn, Module):
        parameters = fn
    named = _named_parameters(parameters)
    targets += named
    if not targets:
        raise ValueError("gradcheck: no input requires grad, so there is no gradient to check")
    if samples is not None and (isinstance(samples, bool) or samples < 1):
        raise ValueError(f"gradcheck: samples must be a positive int or None, got {samples!r}")

    saved_grads = [p.grad for _, p in named]
    previous = graph.set_grad_enabled(True)
    try:
        for _, p in named:
            p.grad = None
        out = _call(fn, leaves)
        upstream = np.random.default_rng(_SEED).standard_normal(out.shape).astype(out.dtype)
        ops = {t._node.op for t in topological_order(out) if t._node is not None}
        if out.requires_grad:
            out.backward(upstream)
        analytic = [_gradient_or_zeros(t) for _, t in targets]
    finally:
        graph.set_grad_enabled(previous)
        for (_, p), saved in zip(named, saved_grads, strict=True):
            p.grad = saved

    # The numeric side needs forward values only: recording a graph per call would be waste.
    picker = np.random.default_rng(_SEED + 1)
    previous = graph.set_grad_enabled(False)
    try:
        for (label, t), grad in zip(targets, analytic, strict=True):
            where = _elements(t.data.size, samples, picker)
            numeric = _central_differences(fn, leaves, t, where, upstream, eps)
            failure = _compare(label, grad.reshape(-1)[where], numeric, t.shape, where, atol, rtol)
            if failure is not None:
                if raise_exception:
                    raise AssertionError(failure)
                return False
    finally:
        graph.set_grad_enabled(previous)
    _checked.update(ops)
    return True


def _named_parameters(
    parameters: Module | Iterable[tuple[str, Tensor]] | None,
) -> list[tuple[str, Tensor]]:
    if parameters is None:
        return []
    pairs = list(parameters.named_parameters() if isinstance(parameters, Module) else parameters)
    named = []
    for name, p in pairs:
        if not p.requires_grad:
            continue
        if p.dtype != np.float64:
            raise TypeError(
                f"gradcheck: parameter {name!r} (shape {p.shape}) has dtype {p.dtype}; it must "
                "be float64, or rounding swamps the finite differences "
                "(model.to(dtype=tinytorch.tensor.float64))"
            )
        if not p.data.flags.c_contiguous:
            raise ValueError(f"gradcheck: parameter {name!r} is not C-contiguous")
        named.append((f"parameter {name!r}", p))
    return named


def _elements(size: int, samples: int | None, picker: np.random.Generator) -> Array:
    """The flat indices to perturb: all of them, or ``samples`` chosen without repetition."""
    if samples is None or samples >= size:
        return np.arange(size)
    return np.sort(picker.choice(size, samples, replace=False))


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
    fn: Callable[..., Tensor],
    leaves: list[Tensor],
    target: Tensor,
    where: Array,
    upstream: Array,
    eps: float,
) -> Array:
    """d<upstream, fn(...)>/d(target) at the flat indices ``where``: two forward calls each.

    ``target`` is one of the private leaves or a module's parameter; its data is perturbed in
    place and each element is put back exactly as it was."""
    flat = target.data.reshape(-1)  # a view: leaves are private copies, parameters C-contiguous
    numeric = np.empty(len(where), dtype=np.float64)
    # BEGIN SOLUTION central-differences
    # HINT: For each flat index k in where: move element k of flat up by eps, evaluate <upstream,
    # HINT: fn(...)> with _weighted, move it down by eps, evaluate again, put the original value
    # HINT: back exactly, and store (plus - minus) / (2 eps) in numeric.
    # TESTS: test_gradcheck
    for n, k in enumerate(where):
        original = flat[k]
        flat[k] = original + eps
        plus = _weighted(fn, leaves, upstream)
        flat[k] = original - eps
        minus = _weighted(fn, leaves, upstream)
        flat[k] = original
        numeric[n] = (plus - minus) / (2 * eps)
    # END SOLUTION
    return numeric


def _weighted(fn: Callable[..., Tensor], leaves: list[Tensor], upstream: Array) -> float:
    out = _call(fn, leaves)
    if out.shape != upstream.shape:
        raise ValueError(
            f"gradcheck: fn's output changed shape from {upstream.shape} to {out.shape} "
            "when an input was perturbed"
        )
    return float(np.sum(upstream * out.data, dtype=np.float64))


def _compare(
    label: str,
    analytic: Array,
    numeric: Array,
    shape: tuple[int, ...],
    where: Array,
    atol: float,
    rtol: float,
) -> str | None:
    """A message describing the mismatch of ``label``'s gradients at the flat indices
    ``where``, or None if they agree."""
    bad = ~np.isclose(analytic, numeric, rtol=rtol, atol=atol)
    if not bad.any():
        return None
    first = int(np.flatnonzero(bad)[0])
    index = tuple(int(n) for n in np.unravel_index(int(where[first]), shape))
    with np.errstate(invalid="ignore"):  # inf - inf is nan, which is what to report
        worst = float(np.abs(analytic - numeric)[bad].max())
    return (
        f"gradcheck: gradient of {label} (shape {shape}) is wrong at element {index}: "
        f"analytic {float(analytic[first])!r} vs numeric {float(numeric[first])!r} "
        f"({int(bad.sum())} of {bad.size} elements checked differ by more than atol={atol} + "
        f"rtol={rtol} * |numeric|; largest difference {worst:.3g})"
    )
