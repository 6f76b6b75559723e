"""Reverse-mode differentiation: a topological order of the graph, then one reverse walk.

Every gradient reaching a tensor is summed in ``pending`` before that tensor's own rule runs
(needle's dict of contributions), so a tensor used by several ops receives every path's gradient
and each rule runs exactly once. The order is computed with an explicit stack: a chain of
100,000 ops needs no recursion.

Before a node's rule runs, the engine compares the version counters its inputs and output had
when the op ran (``Node.versions``) with their counters now: a tensor written in place since
(``x *= 10``, ``x[0] = 1``, a write through a view, an optimizer step) would make the rule
compute with the new values, a silently wrong gradient, so it is an error naming the op, the
tensor and both versions, as in PyTorch.

The engine also runs the hooks that ``Tensor.register_hook`` stores, when a tensor's gradient
is complete (before it flows on through the tensor's own op, or into a leaf's ``.grad``), and
fills ``.grad`` of the computed tensors that asked for it with ``retain_grad()``.

When an observer is registered (``tinytorch.tensor.graph.add_observer``, what the profiler of
module 14 does), the walk runs inside a region named ``autograd::backward`` and reports each
rule it runs with its time, and each write into a leaf's ``.grad`` as a region named
``AccumulateGrad`` (as PyTorch names it), so backward is measured op by op rather than assumed.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Tensor, graph
from tinytorch.tensor.graph import Node, TensorHooks, gradient_rule, version_of

Array = npt.NDArray[Any]

# Ops whose rules read only their inputs' shapes and dtypes, never their values (nor the
# output's), as PyTorch saves no tensor for them: writing into an input after such an op is
# harmless, so their version checks are skipped (``w + b; b += 1`` still backpropagates).
_READS_NO_DATA = frozenset(
    {"add", "sub", "neg", "sum", "mean", "cast", "reshape", "permute", "expand", "getitem"}
    | {"cat", "stack", "where"}
)


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
        if root.data.size != 1:
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

    if graph._observers:
        # Observed (a profiler is on): the same walk, with each rule timed and reported.
        with graph.record_function("autograd::backward"):
            _walk(root, gradient, retain_graph, observed=True)
    else:
        _walk(root, gradient, retain_graph, observed=False)


def _walk(root: Tensor, gradient: Array, retain_graph: bool, observed: bool) -> None:
    pending: dict[int, Array] = {id(root): gradient}
    summed: set[int] = set()  # keys whose pending array the engine allocated, so may write into
    for t in topological_order(root):
        grad = pending.pop(id(t), None)
        node = t._node
        if grad is not None and t._hooks is not None:
            grad = _run_hooks(t, grad, t._hooks)
        if node is None:
            if grad is not None:
                if observed:  # PyTorch's name for this step: the leaf's AccumulateGrad node
                    with graph.record_function("AccumulateGrad"):
                        _accumulate(t, grad)
                else:
                    _accumulate(t, grad)
            continue
        if grad is not None:
            if not node.inputs:
                raise RuntimeError(
                    f"backward: the graph through op {node.op!r} was already freed by an earlier "
                    "backward(); pass retain_graph=True to the first call to backward twice"
                )
            if node.versions and node.op not in _READS_NO_DATA:
                _check_versions(t, node)
            if observed:
                start = time.perf_counter_ns()
            # BEGIN SOLUTION reverse-walk
            # HINT: Run the op's gradient rule (gradient_rule(node.op)(grad, node)) and add each
            # HINT: input's gradient into pending, keyed by id(input): a tensor used twice must
            # HINT: receive the sum of both paths. Skip None and inputs that do not require grad;
            # HINT: cast a gradient to its input's dtype. Never add into an array a rule returned
            # HINT: (it may be a view of grad, shared): the first sum makes a new array, which later
            # HINT: sums may update in place (remember its key in summed).
            # TESTS: test_engine or shared or several or dtype
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
            # END SOLUTION
            if observed:
                # The rule's time includes summing what it returned: backward through this op.
                graph.notify_rule(node, input_grads, start)
        # Freed even where no gradient arrived (a rule returned None for it): a root kept
        # alive for logging must not keep its whole graph alive too.
        if not retain_graph:
            node.inputs = ()
            node.attrs = {}
            node.out = _FREED
            node.versions = ()


_FREED: Array = np.empty(0)


def _check_versions(t: Tensor, node: Node) -> None:
    """Raise if an input or the output of ``node`` was written in place since the op ran."""
    saved = node.versions
    for i, x in enumerate(node.inputs):
        now = version_of(x)
        if now != saved[i]:
            what = f"input {i} of op {node.op!r}, a tensor of shape {x.shape},"
            raise RuntimeError(_modified(what, now, saved[i]))
    # The output was new (version 0) when the op ran, unless it views an input's memory and
    # shares its counter, which the loop above has checked already.
    counter = t._vc
    if counter is not None and counter[0] != 0 and all(counter is not x._vc for x in node.inputs):
        what = f"the output of op {node.op!r}, a tensor of shape {t.shape},"
        raise RuntimeError(_modified(what, counter[0], 0))


def _modified(what: str, now: int, saved: int) -> str:
    return (
        f"backward: {what} was modified in place after the op used it (now at version {now}, "
        f"saved at version {saved}); its gradient would use the new values. Do the in-place "
        "write after backward(), or write into a clone() of the tensor"
    )


def _run_hooks(t: Tensor, grad: Array, hooks: TensorHooks) -> Array:
    """``grad`` after ``t``'s hooks (each may replace it); kept in ``t.grad`` if retained."""
    for hook in list(hooks.hooks.values()):
        # A read-only view: ``grad`` may be shared with another path of the graph (add hands
        # the same array to both inputs), so a hook must return a new gradient, not edit it.
        seen = grad.view()
        seen.flags.writeable = False
        replaced = hook(Tensor._wrap(seen))
        if replaced is None:
            continue
        new = replaced.data if isinstance(replaced, Tensor) else np.asarray(replaced)
        if new.shape != t.shape:
            raise RuntimeError(
                f"backward: hook {getattr(hook, '__name__', repr(hook))} returned a gradient of "
                f"shape {new.shape} for a tensor of shape {t.shape}"
            )
        grad = new if new.dtype == t.data.dtype else new.astype(t.data.dtype)
    if hooks.retains_grad and t._node is not None:
        if t.grad is None:
            t.grad = Tensor(np.array(grad, dtype=t.dtype, order="C"))
        else:
            t.grad = Tensor(t.grad.data + grad)
    return grad


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
    # BEGIN SOLUTION topological-order
    # HINT: A depth-first search from root that appends a tensor only after everything it was
    # HINT: computed from (its node's inputs that require grad), then reverses that list. Use the
    # HINT: explicit stack of (tensor, children_done) pairs instead of recursion: a chain of 10,000
    # HINT: ops would overflow Python's stack. Visit each tensor once (seen holds ids).
    # TESTS: test_engine or topological
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
    # END SOLUTION


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
