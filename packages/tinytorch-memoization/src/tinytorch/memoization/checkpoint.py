"""Activation checkpointing: forget a function's activations in forward, recompute them in
backward (``torch.utils.checkpoint``).

The trade is the KV cache's, turned round: memoization keeps results to save compute,
checkpointing throws them away to save memory. ``checkpoint(fn, *inputs)`` runs ``fn`` under
``no_grad()``, so none of its intermediate arrays is kept, and records one op, ``checkpoint``,
whose node holds only the inputs and the output. Its gradient rule runs ``fn`` again with grad
enabled on detached copies of the inputs, then backpropagates the incoming gradient through that
recomputed graph with the ordinary engine: parameters inside ``fn`` get their ``.grad``
accumulated there, as in the plain run, and the inputs' gradients are what the rule returns.
The arithmetic is the same as without checkpointing, so the gradients are equal, bit for bit.

**Randomness.** A dropout inside ``fn`` must draw the same mask when recomputed.
``preserve_rng_state=True`` (the default, as in PyTorch) saves the state of the default
generator and of every ``Generator`` the modules of ``fn`` hold (``fn`` a ``Module`` or a bound
method of one) before the forward, restores it for the recomputation, and puts the generators
back where they were after it, so the recomputation draws nothing from the run's streams. The
rule also checks that the recomputed output equals the forward's, so a ``fn`` that draws from a
generator it does not expose (a lambda closing over a dropout's module) is an error, not a
silently wrong gradient.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypedDict, cast

import numpy as np
import numpy.typing as npt

from tinytorch.autograd import backward, enable_grad, no_grad
from tinytorch.layers import Module, Parameter, Sequential
from tinytorch.tensor import Generator, Tensor, default_generator, record
from tinytorch.tensor.graph import Node, is_grad_enabled, register_gradient

__all__ = ["CheckpointAttrs", "checkpoint", "checkpoint_sequential"]

Array = npt.NDArray[Any]

OP = "checkpoint"


def checkpoint(
    function: Callable[..., Tensor],
    *args: Any,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Tensor:
    """``function(*args, **kwargs)``, keeping none of its intermediate activations: backward
    recomputes them (``torch.utils.checkpoint.checkpoint``).

    ``function`` returns one Tensor. Tensor ``args`` get gradients; other arguments, and
    ``kwargs`` (which may not be tensors), pass through. When ``function`` is a ``Module`` (or
    a bound method of one) its parameters are inputs of the recorded op too, so the op is
    recorded even when no argument requires grad (the first block of a network, fed data), and
    writing into a parameter between forward and backward is caught as for any op. With grad
    mode off, this is just ``function(*args)``.

    Example:
        >>> from tinytorch.layers import Linear
        >>> from tinytorch.tensor import Generator, randn
        >>> layer = Linear(4, 3, generator=Generator(0))
        >>> x = randn(2, 4, requires_grad=True, generator=Generator(1))
        >>> y = checkpoint(layer, x)
        >>> y.grad_fn.name()
        'CheckpointBackward'
        >>> y.sum().backward()
        >>> x.grad.shape, layer.weight.grad.shape
        ((2, 4), (3, 4))
    """
    if not callable(function):
        raise TypeError(f"checkpoint: function must be callable, got {type(function).__name__}")
    if not is_grad_enabled():
        return function(*args, **kwargs)
    tensor_kwargs = sorted(k for k, v in kwargs.items() if isinstance(v, Tensor))
    if tensor_kwargs:
        # A keyword tensor would not be an input of the op, so its gradient would be lost.
        raise TypeError(
            f"checkpoint: pass tensors positionally, got tensor keyword argument(s) "
            f"{', '.join(tensor_kwargs)}"
        )
    owner = _module_of(function)
    # BEGIN SOLUTION checkpoint-forward
    # HINT: save the generators' states (when preserving them), run the function under no_grad
    # HINT: so it keeps no activation, and record one "checkpoint" op whose inputs are the tensor
    # HINT: arguments and the module's parameters, with what the rule needs to run it again
    # HINT: (CheckpointAttrs). If nothing can get a gradient, warn and return the output.
    # TESTS: test_checkpoint or checkpointed or checkpointing
    generators = _generators(owner) if preserve_rng_state else []
    states = [g.get_state() for g in generators]
    with no_grad():
        out = function(*args, **kwargs)
    if not isinstance(out, Tensor):
        raise TypeError(f"checkpoint: function must return one Tensor, got {type(out).__name__}")
    tensors = [a for a in args if isinstance(a, Tensor)]
    params: list[Parameter] = []
    if owner is not None:
        passed = {id(t) for t in tensors}
        params = [p for p in owner.parameters() if p.requires_grad and id(p) not in passed]
    if not params and not any(t.requires_grad for t in tensors):
        # As PyTorch's (reentrant) checkpoint warns: nothing here can receive a gradient.
        warnings.warn(
            "checkpoint: no input requires grad and function is not a Module, so nothing "
            "inside it will get a gradient",
            stacklevel=2,
        )
        return out
    attrs: CheckpointAttrs = {
        "function": function,
        "args": args,
        "kwargs": kwargs,
        "num_tensors": len(tensors),
        "generators": generators,
        "states": states,
    }
    return record(OP, out.data, (*tensors, *params), **attrs)
    # END SOLUTION


class CheckpointAttrs(TypedDict):
    """What :func:`checkpoint` records beside its inputs (the tensor arguments, then the
    parameters of ``function``'s module), for its rule to run ``function`` again.

    ``function``, ``args`` and ``kwargs``: the call, as given (``args`` with its non-tensor
    arguments); ``num_tensors``: how many of the inputs are tensor arguments; ``generators``
    and ``states``: the generators the call may draw from and their states before it.
    """

    function: Callable[..., Tensor]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    num_tensors: int
    generators: list[Generator]
    states: list[Any]


@register_gradient(OP)
def _checkpoint_grad(grad: Array, node: Node) -> tuple[Array | None, ...]:
    # BEGIN SOLUTION checkpoint-recompute
    # HINT: run the function again with grad enabled on detached copies of the tensor
    # HINT: arguments (fresh leaves, requiring grad where the originals did), with the
    # HINT: generators set back to their saved states (and restored after); refuse an output
    # HINT: that differs from the forward's; backpropagate grad through the new graph and
    # HINT: return the leaves' gradients (None for the parameters: they got theirs inside).
    # TESTS: test_checkpoint or checkpointed or checkpointing
    attrs = cast(CheckpointAttrs, node.attrs)
    function = attrs["function"]
    generators = attrs["generators"]
    # Fresh leaves on the same memory: the recomputed graph ends at them, not at the outer one.
    leaves: list[Tensor] = []
    rerun_args: list[Any] = []
    for a in attrs["args"]:
        if isinstance(a, Tensor):
            leaf = a.detach()
            if a.requires_grad:
                leaf.requires_grad_(True)
            leaves.append(leaf)
            rerun_args.append(leaf)
        else:
            rerun_args.append(a)
    now = [g.get_state() for g in generators]
    for g, state in zip(generators, attrs["states"], strict=True):
        g.set_state(state)
    try:
        with enable_grad():
            out = function(*rerun_args, **attrs["kwargs"])
    finally:
        for g, state in zip(generators, now, strict=True):
            g.set_state(state)
    if not isinstance(out, Tensor) or out.shape != node.out.shape:
        got = out.shape if isinstance(out, Tensor) else type(out).__name__
        raise RuntimeError(
            f"checkpoint: recomputing the function gave {got}, the forward gave {node.out.shape}"
        )
    if not np.array_equal(out.data, node.out, equal_nan=out.dtype.kind == "f"):
        raise RuntimeError(
            f"checkpoint: recomputing the function gave a different output of shape {out.shape} "
            "than the forward: it is not deterministic (a random op drawing from a generator "
            "that checkpoint cannot see: pass a Module, or a bound method of one, as function)"
        )
    if out.requires_grad:
        backward(out, grad)
    grads: list[Array | None] = [None if t.grad is None else t.grad.data for t in leaves]
    return (*grads, *([None] * (len(node.inputs) - attrs["num_tensors"])))
    # END SOLUTION


def checkpoint_sequential(
    functions: Sequential | Sequence[Callable[[Tensor], Tensor]],
    segments: int,
    input: Tensor,
    preserve_rng_state: bool = True,
) -> Tensor:
    """Run the layers of ``functions`` (a ``Sequential``, or a list of Modules and callables
    such as activations) in order, in ``segments`` checkpointed runs of about equal length;
    the last segment runs plainly, as backward needs its activations at once
    (``torch.utils.checkpoint.checkpoint_sequential``).

    Example:
        >>> from tinytorch.activations import ReLU
        >>> from tinytorch.layers import Linear, Sequential
        >>> from tinytorch.tensor import Generator, randn
        >>> g = Generator(0)
        >>> net = Sequential(Linear(4, 8, generator=g), ReLU(), Linear(8, 2, generator=g))
        >>> y = checkpoint_sequential(net, 2, randn(3, 4, generator=g))
        >>> y.shape
        (3, 2)
    """
    modules = list(functions)
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be an int >= 1, got {segments!r}")
    if not modules:
        raise ValueError("checkpoint_sequential: functions holds no module")
    if not all(callable(m) and not isinstance(m, Tensor) for m in modules):
        kinds = sorted({type(m).__name__ for m in modules if not callable(m)})
        raise TypeError(f"checkpoint_sequential: functions must be callable layers, got {kinds}")
    size = -(-len(modules) // segments)  # ceil: the segments PyTorch forms
    bounds = list(range(0, len(modules), size))
    x = input
    for start in bounds[:-1]:
        # A Sequential over the segment's layers (no copy): a Module, so that checkpoint finds
        # their parameters and generators.
        x = checkpoint(
            Sequential(*modules[start : start + size]), x, preserve_rng_state=preserve_rng_state
        )
    for module in modules[bounds[-1] :]:
        x = module(x)
    return x


def _module_of(function: Callable[..., Any]) -> Module | None:
    if isinstance(function, Module):
        return function
    owner = getattr(function, "__self__", None)
    return owner if isinstance(owner, Module) else None


def _generators(owner: Module | None) -> list[Generator]:
    """The default generator and every Generator held by the modules of ``owner``, once each."""
    found: dict[int, Generator] = {id(default_generator): default_generator}
    if owner is not None:
        for module in owner.modules():
            for value in vars(module).values():
                if isinstance(value, Generator):
                    found.setdefault(id(value), value)
    return list(found.values())
