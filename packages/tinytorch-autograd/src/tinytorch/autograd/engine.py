"""Reverse-mode differentiation: a topological order of the graph, then one reverse walk.

Every gradient reaching a tensor is summed in ``pending`` before that tensor's own rule runs
(needle's dict of contributions), so a tensor used by several ops receives every path's gradient
and each rule runs exactly once. The order is computed with an explicit stack: a chain of
100,000 ops needs no recursion.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Tensor
from tinytorch.tensor.graph import gradient_rule

Array = npt.NDArray[Any]


def backward(root: Tensor, gradient: Array | None = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for each leaf of root's graph needing it.

    Registered as the engine behind ``Tensor.backward()``. Unless ``retain_graph`` is true, the
    graph is freed on the way (each node drops its inputs and saved arrays), so memory does not
    grow across training steps and a second backward through the same graph raises.

    Example:
        >>> x = Tensor([3.0], requires_grad=True)
        >>> backward((x * x).sum())
        >>> x.grad
        tensor([6.])
    """
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no graph; set "
            "requires_grad=True on the leaves you want gradients for"
        )
    if gradient is None:
        if root.size != 1:
            raise RuntimeError(
                f"backward: a gradient can be created implicitly only for a single-element "
                f"output, this one has shape {root.shape}; pass gradient= of that shape"
            )
        gradient = np.ones_like(root.data)
    elif gradient.shape != root.shape:
        raise ValueError(
            f"backward: gradient of shape {gradient.shape} does not match the output's shape "
            f"{root.shape}"
        )

    pending: dict[int, Array] = {id(root): gradient}
    summed: set[int] = set()  # keys whose pending array the engine allocated, so may write into
    for t in topological_order(root):
        grad = pending.pop(id(t), None)
        node = t._node
        if node is None:
            if grad is not None:
                _accumulate(t, grad)
            continue
        if grad is not None:
            if not node.inputs:
                raise RuntimeError(
                    f"backward: the graph through op {node.op!r} was already freed by an earlier "
                    "backward(); pass retain_graph=True to the first call to backward twice"
                )
            input_grads = gradient_rule(node.op)(grad, node)
            for x, g in zip(node.inputs, input_grads, strict=True):
                if g is None or not x.requires_grad:
                    continue
                if g.dtype != x.data.dtype:
                    # As PyTorch's engine does: a gradient has its input's dtype. A float32
                    # input times an int64 mask would otherwise send float64 down the graph.
                    g = g.astype(x.data.dtype)
                key = id(x)
                previous = pending.get(key)
                if previous is None:
                    pending[key] = g
                elif key in summed:
                    np.add(previous, g, out=previous)
                else:
                    # A rule may hand back a view of its own input (add returns ``grad`` to
                    # both sides), so the first sum is a new array; later ones add into it.
                    pending[key] = np.add(previous, g, out=np.empty_like(previous))
                    summed.add(key)
        # Freed even where no gradient arrived (a rule returned None for it): a root kept
        # alive for logging must not keep its whole graph alive too.
        if not retain_graph:
            node.inputs = ()
            node.attrs = {}
            node.out = _FREED


_FREED: Array = np.empty(0)


def topological_order(root: Tensor) -> list[Tensor]:
    """Tensors of root's graph that require grad, each after every tensor computed from it.

    Example:
        >>> x = Tensor([1.0], requires_grad=True)
        >>> [t.node.op if t.node else "leaf" for t in topological_order((x * 2 + 1).sum())]
        ['sum', 'add', 'mul', 'leaf']
    """
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        t, children_done = stack.pop()
        if children_done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        node = t._node
        if node is not None:
            for x in node.inputs:
                if x.requires_grad and id(x) not in seen:
                    stack.append((x, False))
    order.reverse()
    return order


def _accumulate(leaf: Tensor, grad: Array) -> None:
    if grad.shape != leaf.shape:
        raise RuntimeError(
            f"backward: gradient of shape {grad.shape} for a leaf of shape {leaf.shape} "
            "(a gradient rule returned the wrong shape)"
        )
    if leaf.grad is None:
        # A C-ordered copy: rules may hand out views of shared or read-only arrays, and a
        # transposed view (the weight gradient of x @ W.T) would slow every optimizer update.
        leaf.grad = Tensor(np.array(grad, dtype=leaf.dtype, order="C"))
    else:
        leaf.grad = Tensor(leaf.grad.data + grad.astype(leaf.dtype, copy=False))
