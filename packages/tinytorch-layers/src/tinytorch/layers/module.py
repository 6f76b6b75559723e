"""Module: the base class of every layer and model.

A Module keeps three ordered tables, filled by plain attribute assignment: its parameters (what an
optimizer updates), its buffers (state saved with the model but not learned, such as BatchNorm's
running statistics) and its submodules. Everything else (``parameters()``, ``state_dict()``,
``train()``, the nested repr) is a walk over those tables.
"""

from __future__ import annotations

import inspect
import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

import numpy as np
import numpy.typing as npt

from tinytorch.layers.parameter import Parameter
from tinytorch.tensor import Tensor, graph, parse_to_args, to_numpy, type_name

__all__ = [
    "ForwardHook",
    "ForwardPreHook",
    "IncompatibleKeys",
    "Module",
    "StateDictError",
    "register_module_forward_hook",
    "register_module_forward_pre_hook",
]

M = TypeVar("M", bound="Module")

ForwardPreHook = Callable[["Module", tuple[Any, ...]], Any]
"""``hook(module, args) -> None or new args``: runs before ``forward`` (a non-tuple result is
taken as the one positional argument)."""

ForwardHook = Callable[["Module", tuple[Any, ...], Any], Any]
"""``hook(module, args, output) -> None or new output``: runs after ``forward``."""

# Hooks on every module, run before each module's own (PyTorch's global module hooks): what a
# profiler registers to see every module call without being handed the model.
_global_pre_hooks: dict[int, ForwardPreHook] = {}
_global_hooks: dict[int, ForwardHook] = {}
_always_called: set[int] = set()  # keys of forward hooks that also run when forward raises
_hook_keys = itertools.count()


def register_module_forward_pre_hook(hook: ForwardPreHook) -> graph.RemovableHandle:
    """Run ``hook(module, args)`` before the forward of every module, until removed.

    Example:
        >>> from tinytorch.layers import Linear
        >>> from tinytorch.tensor import ones
        >>> called = []
        >>> handle = register_module_forward_pre_hook(lambda m, args: called.append(type(m)))
        >>> _ = Linear(2, 1)(ones(1, 2))
        >>> handle.remove()
        >>> called
        [<class 'tinytorch.layers.linear.Linear'>]
    """
    return _add_hook(_global_pre_hooks, hook)


def register_module_forward_hook(
    hook: ForwardHook, *, always_call: bool = False
) -> graph.RemovableHandle:
    """Run ``hook(module, args, output)`` after the forward of every module, until removed;
    with ``always_call=True`` also when forward raises (then ``output`` is ``None``).

    Example:
        >>> from tinytorch.layers import Linear
        >>> from tinytorch.tensor import ones
        >>> shapes = []
        >>> handle = register_module_forward_hook(lambda m, a, out: shapes.append(out.shape))
        >>> _ = Linear(2, 3)(ones(4, 2))
        >>> handle.remove()
        >>> shapes
        [(4, 3)]
    """
    return _add_hook(_global_hooks, hook, always_call)


def _add_hook(
    table: dict[int, Any], hook: Callable[..., Any], always_call: bool = False
) -> graph.RemovableHandle:
    if not callable(hook):
        raise TypeError(f"a forward hook must be callable, got {type(hook).__name__}")
    key = next(_hook_keys)
    table[key] = hook
    if always_call:
        _always_called.add(key)  # keys are never reused, so a removed hook's key is harmless
    return graph.RemovableHandle(table, key)


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` did not match: keys the model has that the state lacks,
    and keys the state has that the model lacks.

    Example:
        >>> from tinytorch.layers import Linear
        >>> state = Linear(2, 1).state_dict()
        >>> del state["bias"]
        >>> Linear(2, 1).load_state_dict(state, strict=False)
        IncompatibleKeys(missing_keys=['bias'], unexpected_keys=[])
    """

    missing_keys: list[str]
    unexpected_keys: list[str]


class StateDictError(ValueError, RuntimeError):
    """A state dict that does not fit the model. A ``RuntimeError`` too, as in PyTorch.

    Example:
        >>> from tinytorch.layers import Linear
        >>> try:
        ...     Linear(2, 1).load_state_dict(Linear(3, 1).state_dict())
        ... except StateDictError as err:
        ...     print(str(err).splitlines()[1].strip())
        size mismatch for weight: the state has shape (1, 3), the model has shape (1, 2)
    """


class Module:
    """Base class of layers and models (``torch.nn.Module``).

    A subclass calls ``super().__init__()`` first, assigns its parameters and submodules as
    attributes, and defines ``forward``. Calling the module calls ``forward``.

    Example:
        >>> from tinytorch.tensor import ones
        >>> class Scale(Module):
        ...     def __init__(self, n: int) -> None:
        ...         super().__init__()
        ...         self.gain = Parameter(ones(n))
        ...
        ...     def forward(self, x):
        ...         return x * self.gain
        >>> m = Scale(3)
        >>> [name for name, _ in m.named_parameters()], m(ones(2, 3)).shape
        (['gain'], (2, 3))
    """

    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _non_persistent_buffers: set[str]
    _modules: dict[str, Module | None]
    _forward_pre_hooks: dict[int, ForwardPreHook]
    _forward_hooks: dict[int, ForwardHook]

    def __init__(self) -> None:
        # Set through object.__setattr__: our own __setattr__ needs these tables to exist.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_pre_hooks", {})
        object.__setattr__(self, "_forward_hooks", {})

    # ---- forward --------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation of this module; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__}: forward() is not defined")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._forward_pre_hooks or self._forward_hooks or _global_pre_hooks or _global_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # Snapshots: a hook may remove itself (or another) while running.
        for hook in [*_global_pre_hooks.values(), *self._forward_pre_hooks.values()]:
            new_args = hook(self, args)
            if new_args is not None:
                args = new_args if isinstance(new_args, tuple) else (new_args,)
        posts = [*_global_hooks.items(), *self._forward_hooks.items()]
        try:
            output = self.forward(*args, **kwargs)
        except BaseException:
            for key, post in posts:
                if key in _always_called:
                    post(self, args, None)
            raise
        for _, post in posts:
            new_output = post(self, args, output)
            if new_output is not None:
                output = new_output
        return output

    def register_forward_pre_hook(self, hook: ForwardPreHook) -> graph.RemovableHandle:
        """Run ``hook(module, args)`` before each ``forward`` of this module; returning a value
        replaces the positional arguments. ``handle.remove()`` unregisters it.

        Example:
            >>> from tinytorch.layers import Linear
            >>> from tinytorch.tensor import ones
            >>> layer = Linear(2, 1)
            >>> handle = layer.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
            >>> layer(ones(1, 2)).tolist() == [[layer.bias.item()]]
            True
            >>> handle.remove()
        """
        return _add_hook(self._forward_pre_hooks, hook)

    def register_forward_hook(
        self, hook: ForwardHook, *, always_call: bool = False
    ) -> graph.RemovableHandle:
        """Run ``hook(module, args, output)`` after each ``forward`` of this module; returning a
        value replaces the output. With ``always_call=True`` it runs when forward raises too
        (with ``output=None``), as in PyTorch. ``handle.remove()`` unregisters it.

        Example:
            >>> from tinytorch.layers import Linear
            >>> from tinytorch.tensor import ones
            >>> layer, seen = Linear(2, 3), []
            >>> handle = layer.register_forward_hook(lambda m, args, out: seen.append(out.shape))
            >>> _ = layer(ones(5, 2))
            >>> handle.remove()
            >>> _ = layer(ones(5, 2))
            >>> seen
            [(5, 3)]
        """
        return _add_hook(self._forward_hooks, hook, always_call)

    # ---- registration ---------------------------------------------------------------------
    def _tables(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}: cannot assign {what} before Module.__init__() is called; "
                "call super().__init__() first in __init__"
            )

    def _check_name(self, kind: str, name: object) -> str:
        if not isinstance(name, str):
            raise TypeError(f"register_{kind}: name must be a str, got {type(name).__name__}")
        if not name or "." in name:
            raise ValueError(f"register_{kind}: name {name!r} must be non-empty and have no '.'")
        return name

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` (or an empty slot, ``None``) under ``name``.

        Example:
            >>> from tinytorch.tensor import zeros
            >>> m = Module()
            >>> m.register_parameter("scale", Parameter(zeros(1)))
            >>> list(m.state_dict())
            ['scale']
        """
        self._tables("parameters")
        self._check_name("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} must be a Parameter or None, got "
                f"{type(param).__name__} (wrap a tensor in Parameter(...))"
            )
        if name not in self._parameters and (
            name in self.__dict__ or name in self._buffers or name in self._modules
        ):
            raise ValueError(f"register_parameter: attribute {name!r} already exists")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not learned: in ``state_dict()`` (unless
        ``persistent=False``), in ``buffers()``, never in ``parameters()``.

        Example:
            >>> from tinytorch.tensor import zeros
            >>> m = Module()
            >>> m.register_buffer("running_mean", zeros(3))
            >>> list(m.state_dict()), list(m.parameters())
            (['running_mean'], [])
        """
        self._tables("buffers")
        self._check_name("buffer", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}"
            )
        if isinstance(tensor, Parameter):
            raise TypeError(f"register_buffer: {name!r} is a Parameter; use register_parameter")
        if name not in self._buffers and (
            name in self.__dict__ or name in self._parameters or name in self._modules
        ):
            raise ValueError(f"register_buffer: attribute {name!r} already exists")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a submodule under ``name`` (what ``self.name = module`` does).

        Example:
            >>> m = Module()
            >>> m.add_module("inner", Module())
            >>> [name for name, _ in m.named_children()]
            ['inner']
        """
        self._tables("submodules")
        self._check_name("module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        if name not in self._modules and (
            name in self.__dict__ or name in self._parameters or name in self._buffers
        ):
            raise ValueError(f"add_module: attribute {name!r} already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            self._tables("parameters")
            self._forget(name)
            self._parameters[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} to parameter "
                    f"{name!r} (a Parameter or None is expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            self._tables("submodules")
            self._forget(name)
            self._modules[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} to submodule "
                    f"{name!r} (a Module or None is expected)"
                )
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} to buffer "
                    f"{name!r} (a Tensor or None is expected)"
                )
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        """Drop ``name`` from every table, so one name never lives in two of them."""
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent_buffers.discard(name)
        self._modules.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails. Read the tables through __dict__ so that a
        # half-built object (during copy.deepcopy, say) raises AttributeError, not recursion.
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            entries = d.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        own = [*self._parameters, *self._buffers, *self._modules]
        return sorted(set(super().__dir__()) | set(own))

    # ---- walking the tree -----------------------------------------------------------------
    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and every module below it, depth first, with dotted names ("" for self).

        A module reachable by two paths is listed once unless ``remove_duplicate=False``.

        Example:
            >>> from tinytorch.layers import Linear, Sequential
            >>> [name for name, _ in Sequential(Linear(2, 2)).named_modules()]
            ['', '0']
        """
        # BEGIN SOLUTION named-modules
        # HINT: Yield (prefix, self), then recurse into each submodule of self._modules (skip None
        # HINT: slots) with the dotted name prefix.name. memo holds the ids already yielded, so a
        # HINT: module reachable twice is listed once unless remove_duplicate is false.
        # TESTS: test_module or test_containers or test_dict_containers
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = f"{prefix}.{name}" if prefix else name
            yield from module.named_modules(memo, sub, remove_duplicate)
        # END SOLUTION

    def modules(self) -> Iterator[Module]:
        """This module and every module below it (see :meth:`named_modules`)."""
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct submodules, with their attribute names."""
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """The direct submodules."""
        for _, module in self.named_children():
            yield module

    def _named_members(
        self,
        table: Callable[[Module], Iterable[tuple[str, Any]]],
        prefix: str,
        recurse: bool,
        remove_duplicate: bool,
    ) -> Iterator[tuple[str, Any]]:
        # BEGIN SOLUTION named-members
        # HINT: For each module (all of them from named_modules when recurse, else only self), yield
        # HINT: each (name, value) of table(module) under the dotted name owner.name. Skip None
        # HINT: slots; a value seen before (tied weights) is skipped unless remove_duplicate is
        # HINT: false.
        # TESTS: parameters or buffers or tied or test_dict_containers
        seen: set[int] = set()
        owners = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else iter([(prefix, self)])
        )
        for owner_name, owner in owners:
            for name, value in table(owner):
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{owner_name}.{name}" if owner_name else name), value
        # END SOLUTION

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name; a parameter shared by two layers (tied weights)
        is listed once unless ``remove_duplicate=False``.

        Example:
            >>> from tinytorch.layers import Linear, Sequential
            >>> [name for name, _ in Sequential(Linear(2, 3)).named_parameters()]
            ['0.weight', '0.bias']
        """
        yield from self._named_members(
            lambda m: m._parameters.items(), prefix, recurse, remove_duplicate
        )

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter (what an optimizer is given), each once.

        Example:
            >>> from tinytorch.layers import Linear
            >>> sum(p.numel() for p in Linear(4, 3).parameters())
            15
        """
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """Every buffer with its dotted name (persistent or not)."""
        yield from self._named_members(
            lambda m: m._buffers.items(), prefix, recurse, remove_duplicate
        )

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer (state that is saved but not learned)."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self: M, fn: Callable[[Module], None]) -> M:
        """Call ``fn`` on every submodule and then on this module (for custom initialisation).

        Example:
            >>> from tinytorch.layers import Linear, Sequential, init
            >>> def zero_linear(m):
            ...     if isinstance(m, Linear):
            ...         init.zeros_(m.weight)
            >>> float(Sequential(Linear(2, 2)).apply(zero_linear)[0].weight.sum())
            0.0
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients --------------------------------------------------------------
    def train(self: M, mode: bool = True) -> M:
        """Put this module and all below it in training mode (``mode=False``: evaluation mode).

        Example:
            >>> from tinytorch.layers import Dropout, Sequential
            >>> model = Sequential(Dropout(0.5))
            >>> model.train(False)[0].training
            False
        """
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        # BEGIN SOLUTION train-mode
        # HINT: Set training on this module and every module below it. Use object.__setattr__:
        # HINT: Module's own __setattr__ sorts values into parameters, buffers and modules.
        # TESTS: train or eval
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self
        # END SOLUTION

    def eval(self: M) -> M:
        """Evaluation mode: ``train(False)``. Dropout becomes the identity."""
        return self.train(False)

    def requires_grad_(self: M, requires_grad: bool = True) -> M:
        """Switch gradient tracking of every parameter on or off (to freeze a part of a model)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of every parameter (``None``, or zeros if ``set_to_none=False``).

        Example:
            >>> from tinytorch.layers import Linear
            >>> layer = Linear(2, 1)
            >>> layer.weight.grad = layer.weight.detach()
            >>> layer.zero_grad()
            >>> layer.weight.grad is None
            True
        """
        # BEGIN SOLUTION zero-grad
        # HINT: For every parameter that has a gradient: forget it (None), or, with
        # HINT: set_to_none=False, replace it by zeros of its shape.
        # TESTS: zero_grad
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad = Tensor(np.zeros_like(param.grad.data))
        # END SOLUTION

    def to(self: M, *args: Any, device: Any = None, dtype: npt.DTypeLike | None = None) -> M:
        """Cast every floating parameter and buffer to ``dtype`` in place (the objects stay the
        same, so an optimizer built before still holds them). Takes ``Tensor.to``'s forms:
        ``to(dtype)``, ``to("cpu")``, ``to("cpu", dtype)``, ``to(device=..., dtype=...)``; the
        CPU is the only device, so a device alone changes nothing.

        Example:
            >>> from tinytorch.layers import Linear
            >>> Linear(2, 1).to("float64").weight.dtype, Linear(2, 1).to("cpu").weight.dtype
            (dtype('float64'), dtype('float32'))
        """
        dtype = parse_to_args("to", args, device, dtype)
        if dtype is None:
            return self
        target = np.dtype(dtype)
        if target.kind != "f":
            raise TypeError(f"to: a module can be cast to a floating dtype only, not {target}")
        for tensor in [*self.parameters(), *self.buffers()]:
            if tensor.dtype.kind == "f" and tensor.dtype != target:
                tensor.data = tensor.data.astype(target)
                graph.bump_version(tensor)
                if tensor.grad is not None:
                    tensor.grad = Tensor(tensor.grad.data.astype(target))
        return self

    def cpu(self: M) -> M:
        """The module itself: everything already lives on the CPU (``Module.cpu()``)."""
        return self

    def float(self: M) -> M:
        """Cast floating parameters and buffers to float32."""
        return self.to(np.float32)

    def double(self: M) -> M:
        """Cast floating parameters and buffers to float64 (for gradient checks)."""
        return self.to(np.float64)

    # ---- state ----------------------------------------------------------------------------
    def state_dict(
        self,
        destination: OrderedDict[str, Tensor] | None = None,
        prefix: str = "",
        keep_vars: bool = False,
    ) -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name ("0.weight", "fc1.bias"), in
        registration order. Values share memory with the model but are detached from any graph
        (``keep_vars=True`` gives the Parameter objects themselves).

        Example:
            >>> from tinytorch.layers import Linear, Sequential
            >>> list(Sequential(Linear(2, 3), Linear(3, 1)).state_dict())
            ['0.weight', '0.bias', '1.weight', '1.bias']
        """
        # BEGIN SOLUTION state-dict
        # HINT: Fill one ordered dict: this module's parameters, then its persistent buffers (not
        # HINT: those in _non_persistent_buffers), each under prefix + name and detached unless
        # HINT: keep_vars; then recurse into each submodule with prefix + name + '.'. Skip None
        # HINT: slots.
        # TESTS: state_dict or round_trip or load
        out: OrderedDict[str, Tensor] = OrderedDict() if destination is None else destination
        for name, param in self._parameters.items():
            if param is not None:
                out[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                out[prefix + name] = buffer if keep_vars else buffer.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(out, prefix + name + ".", keep_vars)
        return out
        # END SOLUTION

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into this model's parameters and buffers, in place.

        Everything is checked before anything is written: with ``strict=True`` a missing or an
        unexpected key is an error; with either setting a shape mismatch or a non-numeric value
        is an error. On error nothing is changed. Values are cast to each parameter's dtype and
        may be Tensors, NumPy arrays (as loaded from an ``.npz``) or any array from another
        library that offers ``__dlpack__`` or ``__array__``: a PyTorch ``state_dict()`` loads as
        it is (a tensor that requires grad is read through its ``detach()``, as PyTorch's own
        ``load_state_dict`` copies without recording). A value that is none of these is refused,
        named by its full type (``builtins.str``). Returns the keys that did not match (both
        lists are empty after a strict load).

        Example:
            >>> from tinytorch.layers import Linear
            >>> a, b = Linear(2, 3), Linear(2, 3)
            >>> b.load_state_dict(a.state_dict())
            IncompatibleKeys(missing_keys=[], unexpected_keys=[])
            >>> bool((a.weight == b.weight).all())
            True
            >>> import numpy as np
            >>> _ = b.load_state_dict({"weight": np.ones((3, 2)), "bias": np.zeros(3)})
            >>> float(b.weight.sum())
            6.0
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict: expects a mapping of names to tensors, got "
                f"{type_name(state_dict)}"
            )
        own = self.state_dict(keep_vars=True)
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        errors: list[str] = []
        if strict:
            if unexpected:
                errors.append("unexpected key(s) in state_dict: " + ", ".join(unexpected))
            if missing:
                errors.append("missing key(s) in state_dict: " + ", ".join(missing))
        writes: list[tuple[Tensor, npt.NDArray[Any]]] = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            array, why = _as_array(state_dict[key])
            if array is None:
                errors.append(f"{key}: {why}")
                continue
            if array.shape != target.shape:
                errors.append(
                    f"size mismatch for {key}: the state has shape {array.shape}, "
                    f"the model has shape {target.shape}"
                )
                continue
            if array.dtype.kind not in "biuf":
                errors.append(f"{key}: cannot load values of dtype {array.dtype}")
                continue
            writes.append((target, array))
        if errors:
            raise StateDictError(
                f"load_state_dict: cannot load into {type(self).__name__}; nothing was changed:\n  "
                + "\n  ".join(errors)
            )
        for target, array in writes:
            if target.data.flags.writeable:
                # In place, so that the Parameter objects an optimizer holds see the new values.
                np.copyto(target.data, array, casting="unsafe")
            else:
                target.data = array.astype(target.dtype)
            # As PyTorch's copy_ does: a graph recorded through the old values must not
            # backpropagate through the new ones silently.
            graph.bump_version(target)
        return IncompatibleKeys(missing, unexpected)

    # ---- repr -----------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses (its configuration); empty by default."""
        return ""

    def _repr_children(self) -> Iterable[tuple[str, object]]:
        return ((name, m) for name, m in self._modules.items() if m is not None)

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [
            f"({name}): " + _child_repr(child).replace("\n", "\n  ")
            for name, child in self._repr_children()
        ]
        if not children and len(lines) <= 1:
            return f"{type(self).__name__}({extra})"
        body = "\n  ".join([*lines, *children])
        return f"{type(self).__name__}(\n  {body}\n)"


def _as_array(value: object) -> tuple[npt.NDArray[Any] | None, str]:
    """``value`` as a NumPy array (sharing memory where it can), or ``None`` and why not."""
    try:
        return to_numpy(value), ""
    except TypeError as err:
        return None, str(err)


def _child_repr(child: object) -> str:
    # A plain callable in a Sequential (an activation object, a function) may not have a
    # readable repr: show a function by its name, an object without its own repr by its type.
    if isinstance(child, Module):
        return repr(child)
    if inspect.isfunction(child) or inspect.isbuiltin(child):
        return child.__name__
    if type(child).__repr__ is object.__repr__:
        return f"{type(child).__name__}()"
    return repr(child)
