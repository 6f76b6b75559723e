"""The extension point through which later modules give Tensor ops their gradients.

Module 01 computes forwards only. Every differentiable op, wherever it lives, ends in
:func:`tinytorch.tensor.record`, which names the op and, when some input requires a gradient and
grad mode is on, remembers a :class:`Node`: the op's name, its input tensors, its keyword
attributes and its output array. Nothing here knows how to differentiate anything.

A later module supplies that knowledge by registering into two tables:

- :func:`register_gradient` adds the gradient rule of one op, keyed by the op's name. A rule
  maps the gradient of the op's output to the gradients of its inputs (``None`` for an input
  that takes none). ``tinytorch-autograd`` registers the rules of every op of modules 01-04;
  modules 09 and later register the rules of the ops they own beside their forwards.
- :func:`register_backward_engine` installs the function that ``Tensor.backward()`` calls.

Beside the registry sits the observation point: an :class:`Observer` added with
:func:`add_observer` is told of every recorded op, every gradient rule the engine runs, and every
:func:`record_function` region, with their times. The profiler of module 14 is built on it;
nothing is wrapped or patched, and with no observer an op pays one check.

``tinytorch-autograd`` advertises itself under the entry-point group ``tinytorch.autograd``, so
``Tensor.backward()`` finds it when it is installed without the user importing it, and says which
distribution to install when it is not. Registering changes no forward result: code that asks for
no gradient behaves the same whether or not autograd is installed.

Example (what a module that owns an op writes)::

    from tinytorch.tensor import Tensor, record
    from tinytorch.tensor.graph import Node, register_gradient

    def square(x: Tensor) -> Tensor:
        return record("square", x.data * x.data, (x,))

    @register_gradient("square")
    def _square_grad(grad, node: Node):
        (x,) = node.inputs
        return (2.0 * x.data * grad,)
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from tinytorch.tensor._tensor import Tensor

__all__ = [
    "BackwardEngine",
    "GradientRule",
    "Node",
    "Observer",
    "RemovableHandle",
    "add_observer",
    "bump_version",
    "gradient_rule",
    "is_grad_enabled",
    "mark",
    "notify_op",
    "notify_rule",
    "observer_time_ns",
    "record_function",
    "register_backward_engine",
    "register_gradient",
    "registered_ops",
    "set_grad_enabled",
    "unbroadcast",
    "version_of",
]

Array = npt.NDArray[Any]

ENTRY_POINT_GROUP = "tinytorch.autograd"
AUTOGRAD_DISTRIBUTION = "tinytorch-autograd"


class Node:
    """One recorded application of an op: what backward needs to differentiate it.

    ``inputs`` are the op's tensor inputs in call order, ``attrs`` its non-tensor arguments
    (axis, shape, index, ...), ``out`` the array the forward produced. ``versions`` holds the
    version counter (``Tensor._version``) of each input at the time the op ran; the output was
    then at version 0, or it views an input's memory and shares that input's counter. The
    engine compares them before it runs the op's rule, so a tensor written in place after the
    op read it is an error at backward, not a silently wrong gradient.

    Example:
        >>> from tinytorch.tensor import Tensor, record
        >>> x = Tensor([1.0, 2.0], requires_grad=True)
        >>> node = record("doc_scale", x.data * 3, (x,), factor=3).node
        >>> node, node.attrs
        (Node(doc_scale, inputs=[(2,)], out=(2,)), {'factor': 3})
    """

    __slots__ = ("attrs", "inputs", "op", "out", "versions")

    def __init__(
        self,
        op: str,
        inputs: tuple[Tensor, ...],
        attrs: dict[str, Any],
        out: Array,
        versions: tuple[int, ...] = (),
    ):
        self.op = op
        self.inputs = inputs
        self.attrs = attrs
        self.out = out
        self.versions = versions

    def name(self) -> str:
        """PyTorch's style of name for the op's backward, e.g. ``'MulBackward'``.

        Example:
            >>> from tinytorch.tensor import Tensor
            >>> (Tensor([1.0], requires_grad=True) * 2).grad_fn.name()
            'MulBackward'
        """
        return "".join(part.capitalize() for part in self.op.split("_")) + "Backward"

    def __repr__(self) -> str:
        shapes = ", ".join(str(t.shape) for t in self.inputs)
        return f"Node({self.op}, inputs=[{shapes}], out={self.out.shape})"


def version_of(t: Tensor) -> int:
    """How many times ``t``'s memory has been written in place (``t._version``).

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> x = Tensor([1.0, 2.0])
        >>> x += 1.0
        >>> version_of(x)
        1
    """
    counter = t._vc
    return 0 if counter is None else counter[0]


def bump_version(t: Tensor) -> None:
    """Record that ``t.data`` was written in place, for code that writes the array directly.

    Every in-place method of ``Tensor`` (``+=``, ``x[i] = v``, ``add_``, ``copy_``, ...) calls
    this; code that writes ``t.data`` itself (an optimizer's update, a loader filling a
    buffer) must call it too, so that a backward through an op that read the old values raises
    instead of computing a wrong gradient. The counter is shared with every view of ``t``.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> w = Tensor([1.0, 2.0])
        >>> w.data -= 0.1
        >>> bump_version(w)
        >>> w._version
        1
    """
    counter = t._vc
    if counter is None:
        t._vc = [1]
    else:
        counter[0] += 1


def share_version(view: Tensor, base: Tensor) -> None:
    """Make ``view`` share ``base``'s version counter (``view`` looks at ``base``'s memory)."""
    counter = base._vc
    if counter is None:
        counter = base._vc = [0]
    view._vc = counter


class RemovableHandle:
    """What ``Tensor.register_hook``, ``Module.register_forward_hook`` and :func:`add_observer`
    return: ``remove()`` unregisters what was registered.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> x = Tensor([1.0], requires_grad=True)
        >>> handle = x.register_hook(lambda g: g * 2)
        >>> handle.remove()
        >>> x._hooks is None or not x._hooks.hooks
        True
    """

    __slots__ = ("_hooks", "_key")

    def __init__(self, hooks: dict[int, Any], key: int) -> None:
        self._hooks = hooks
        self._key = key

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self._hooks.pop(self._key, None)


class TensorHooks:
    """The backward hooks of one tensor, in registration order, and its ``retain_grad`` flag.

    Storage only: ``Tensor.register_hook`` and ``Tensor.retain_grad`` fill it, the backward
    engine runs it.
    """

    __slots__ = ("hooks", "next_key", "retains_grad")

    def __init__(self) -> None:
        self.hooks: dict[int, Callable[..., Any]] = {}
        self.next_key = 0
        self.retains_grad = False


GradientRule = Callable[[Array, Node], Sequence["Array | None"]]
"""``rule(grad_of_output, node) -> one gradient (or None) per input of node``."""

BackwardEngine = Callable[["Tensor", "Array | None", bool], None]
"""``engine(root, gradient, retain_graph)``: fills ``.grad`` of the leaves that need it."""

_rules: dict[str, GradientRule] = {}
_engine: list[BackwardEngine] = []
_entry_points_loaded = False
_entry_point_error: list[BaseException] = []  # why loading the autograd entry point failed


def register_gradient(op: str) -> Callable[[GradientRule], GradientRule]:
    """Decorator: register ``rule`` as the gradient of the op named ``op``.

    Registering a second, different rule for a name already taken is an error: two modules that
    both claim an op would otherwise silently decide the gradient by import order.

    Example:
        >>> from tinytorch.tensor import Tensor, record
        >>> def cube(x):
        ...     return record("doc_cube", x.data**3, (x,))
        >>> @register_gradient("doc_cube")
        ... def _cube_grad(grad, node):
        ...     (x,) = node.inputs
        ...     return (3 * x.data**2 * grad,)
        >>> gradient_rule("doc_cube")(np.ones(2), cube(Tensor([1.0, 2.0], requires_grad=True)).node)
        (array([ 3., 12.]),)
    """

    def decorate(rule: GradientRule) -> GradientRule:
        existing = _rules.get(op)
        if existing is not None and _qualname(existing) != _qualname(rule):
            raise ValueError(
                f"a gradient rule for op {op!r} is already registered "
                f"({_qualname(existing)}); refusing {_qualname(rule)}"
            )
        _rules[op] = rule
        return rule

    return decorate


def gradient_rule(op: str) -> GradientRule:
    """The registered gradient rule of ``op``; raises ``RuntimeError`` saying why there is none.

    Example:
        >>> try:
        ...     gradient_rule("no_such_op")
        ... except RuntimeError as err:
        ...     print(str(err).split(";")[0])
        no gradient rule is registered for op 'no_such_op'
    """
    rule = _rules.get(op)
    if rule is None:
        _load_entry_points()
        rule = _rules.get(op)
    if rule is None:
        raise RuntimeError(
            f"no gradient rule is registered for op {op!r}; ops of tinytorch modules 01-04 get "
            f"theirs from {AUTOGRAD_DISTRIBUTION} (pip install {AUTOGRAD_DISTRIBUTION})"
        )
    return rule


def registered_ops() -> frozenset[str]:
    """Names of every op that has a gradient rule (loading autograd if it is installed).

    Example:
        >>> isinstance(registered_ops(), frozenset)
        True
    """
    _load_entry_points()
    return frozenset(_rules)


def register_backward_engine(engine: BackwardEngine) -> None:
    """Install the function ``Tensor.backward()`` delegates to.

    A second, different engine is refused, as a second rule for one op is: two packages that
    both claimed backward would otherwise decide it by import order. Registering the same
    function again (a module imported twice) is allowed.

    Example (what ``tinytorch-autograd`` does on import)::

        from tinytorch.autograd.engine import backward
        register_backward_engine(backward)
    """
    if _engine and _qualname(_engine[0]) != _qualname(engine):
        raise ValueError(
            f"a backward engine is already registered ({_qualname(_engine[0])}); "
            f"refusing {_qualname(engine)}"
        )
    _engine[:] = [engine]


def backward_engine() -> BackwardEngine:
    """The installed backward engine; raises ``RuntimeError`` naming the package to install."""
    if not _engine:
        _load_entry_points()
    if not _engine:
        raise RuntimeError(
            "Tensor.backward() needs the autograd module, which is not installed: "
            f"pip install {AUTOGRAD_DISTRIBUTION}"
        )
    return _engine[0]


def _load_entry_points() -> None:
    """Import what advertises itself under :data:`ENTRY_POINT_GROUP` (tinytorch-autograd), once.

    Why discovery rather than ``import tinytorch.autograd`` here: autograd depends on this
    package, so this package importing it would make the dependency circular, and a
    tensor-only install (module 01 alone) must still work. A failed import is remembered and
    raised again on every later call, so the second ``backward()`` shows the same real error as
    the first, not a misleading "not installed".
    """
    global _entry_points_loaded
    if _entry_point_error:
        raise _entry_point_error[0]
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            point.load()
        except Exception as err:
            _entry_point_error.append(err)
            raise


def _qualname(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


# ---- observers ------------------------------------------------------------------------------
# The second extension point beside the gradient registry: tools that measure (the profiler of
# module 14, a FLOP counter, a tracer) register an Observer and are told of every op, every
# gradient rule the engine runs, and every named region. With none registered, ``record`` pays
# one check of ``_observers`` and nothing more.


class Observer:
    """Told of what the framework runs, while registered with :func:`add_observer`.

    Subclass it and override what you need; the defaults do nothing. Times are
    ``time.perf_counter_ns()`` readings. The time of an op runs from the previous observed
    event (the op before it, a region's entry or exit, a gradient rule's end) to the moment its
    output was recorded: its own compute plus the Python that prepared its arguments. The time
    observers themselves spend is charged to nothing, so measuring does not inflate the next op.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> class Names(Observer):
        ...     def __init__(self):
        ...         self.seen = []
        ...
        ...     def on_op(self, op, inputs, attrs, out, start_ns, end_ns):
        ...         self.seen.append((op, [x.shape for x in inputs], out.shape))
        >>> names = Names()
        >>> handle = add_observer(names)
        >>> _ = Tensor([[1.0, 2.0]]) @ Tensor([[3.0], [4.0]])
        >>> handle.remove()
        >>> names.seen
        [('matmul', [(1, 2), (2, 1)], (1, 1))]
    """

    def on_op(
        self,
        op: str,
        inputs: tuple[Tensor, ...],
        attrs: dict[str, Any],
        out: Tensor,
        start_ns: int,
        end_ns: int,
    ) -> None:
        """An op recorded ``out`` from ``inputs`` (with its keyword attributes ``attrs``)."""

    def on_rule(
        self, node: Node, grads: Sequence[Array | None], start_ns: int, end_ns: int
    ) -> None:
        """The engine ran ``node``'s gradient rule and summed the ``grads`` it returned."""

    def on_region(self, name: str, entering: bool, t_ns: int) -> None:
        """A :func:`record_function` region named ``name`` was entered or left."""


_observers: dict[int, Observer] = {}
_observer_keys = itertools.count()
_last_event_ns = [0]  # when the previous observed event ended: the start of the next op
_observer_ns = [0]  # the time observers have taken, in all: what observing costs a run


def add_observer(observer: Observer) -> RemovableHandle:
    """Tell ``observer`` of every op, gradient rule and region until the handle is removed.

    Example:
        >>> handle = add_observer(Observer())
        >>> handle.remove()
    """
    if not isinstance(observer, Observer):
        raise TypeError(f"add_observer: expected an Observer, got {type(observer).__name__}")
    if not _observers:
        _last_event_ns[0] = time.perf_counter_ns()
    key = next(_observer_keys)
    _observers[key] = observer
    return RemovableHandle(_observers, key)


def mark() -> None:
    """Start the next op's time now: what an observer calls after an event of its own (a
    profiler entering a module through a forward hook), so the time before it is charged to no
    op.

    Example:
        >>> mark()
    """
    _last_event_ns[0] = time.perf_counter_ns()


def notify_op(op: str, inputs: tuple[Tensor, ...], attrs: dict[str, Any], out: Tensor) -> None:
    """Tell the observers that ``op`` just recorded ``out`` (``record`` calls this)."""
    end = time.perf_counter_ns()
    start = _last_event_ns[0]
    for observer in list(_observers.values()):
        observer.on_op(op, inputs, attrs, out, start, end)
    _resume(end)


def notify_rule(node: Node, grads: Sequence[Array | None], start_ns: int) -> None:
    """Tell the observers that ``node``'s rule ran from ``start_ns`` until now (the engine's
    report; it times the rule itself, so the gap before it is charged to no op)."""
    end = time.perf_counter_ns()
    for observer in list(_observers.values()):
        observer.on_rule(node, grads, start_ns, end)
    _resume(end)


class record_function:  # lower case: PyTorch's name, torch.profiler.record_function
    """A named region of the run, seen by observers: ``with record_function("data"): ...``.

    ``Optimizer.step`` and the backward engine mark their work this way; a profiler shows the
    region around the ops run inside it. Without observers it costs two dict checks.

    Example:
        >>> with record_function("my_block"):
        ...     pass
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> record_function:
        if _observers:
            _notify_region(self.name, True)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if _observers:
            _notify_region(self.name, False)


def _notify_region(name: str, entering: bool) -> None:
    now = time.perf_counter_ns()
    for observer in list(_observers.values()):
        observer.on_region(name, entering, now)
    _resume(now)


def _resume(event_ns: int) -> None:
    """Back to the run after the observers of an event at ``event_ns``: their time is counted
    in ``_observer_ns`` and the next op's time starts now."""
    now = time.perf_counter_ns()
    _observer_ns[0] += now - event_ns
    _last_event_ns[0] = now


def observer_time_ns() -> int:
    """Nanoseconds observers have spent being told of events since the process began (a
    profiler reads it before and after, and takes the difference out of its wall-clock time).

    Example:
        >>> observer_time_ns() >= 0
        True
    """
    return _observer_ns[0]


# Grad mode: a process-wide switch, read by every op. tinytorch-autograd wraps it as
# ``no_grad()`` / ``enable_grad()``; it lives here because the ops that read it live here.
_grad_enabled = [True]


def is_grad_enabled() -> bool:
    """Whether ops record the graph for inputs that require a gradient.

    Example:
        >>> is_grad_enabled()
        True
    """
    return _grad_enabled[0]


def set_grad_enabled(enabled: bool) -> bool:
    """Switch recording on or off; returns the previous setting so callers can restore it.

    Example:
        >>> previous = set_grad_enabled(False)
        >>> is_grad_enabled()
        False
        >>> _ = set_grad_enabled(previous)
    """
    previous = _grad_enabled[0]
    _grad_enabled[0] = bool(enabled)
    return previous


def unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum ``grad`` down to ``shape``, undoing NumPy broadcasting (used by gradient rules).

    Example:
        >>> unbroadcast(np.ones((4, 2, 3)), (2, 1)).tolist()
        [[12.0], [12.0]]
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    kept = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if kept:
        grad = grad.sum(axis=kept, keepdims=True)
    # asarray, not ascontiguousarray: a full sum gives a NumPy scalar, which must stay 0-d.
    return np.asarray(grad) if grad.shape == shape else grad.reshape(shape)
