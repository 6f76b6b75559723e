"""Containers: Sequential (a pipeline of layers), ModuleList and ModuleDict (registered modules
by position or by name), ParameterList and ParameterDict (registered parameters likewise)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Union, cast, overload

from tinytorch.layers.module import Module
from tinytorch.layers.parameter import Parameter
from tinytorch.tensor import Tensor

__all__ = ["ModuleDict", "ModuleList", "ParameterDict", "ParameterList", "Sequential"]

Layer = Union[Module, Callable[[Tensor], Tensor]]  # noqa: UP007 (a runtime alias on 3.10)


class Sequential(Module):
    """Apply layers one after the other (``torch.nn.Sequential``).

    Layers may be Modules or any callable from Tensor to Tensor, such as the activation objects
    of ``tinytorch.activations`` or a plain function. Only Module layers are registered as
    submodules, so parameters and ``state_dict`` keys come from them, named by position
    ("0.weight", "2.bias") or by the keys of an ``OrderedDict`` given instead of positional layers.

    Example:
        >>> from tinytorch.layers import Linear
        >>> from tinytorch.tensor import randn
        >>> def relu(x):
        ...     return x * (x > 0).float()
        >>> model = Sequential(Linear(4, 8), relu, Linear(8, 2))
        >>> model(randn(3, 4)).shape, len(model), list(model.state_dict())[2]
        ((3, 2), 3, '2.weight')
    """

    _layers: list[Layer]
    _names: list[str]

    def __init__(self, *layers: Layer | OrderedDict[str, Layer]) -> None:
        super().__init__()
        self._layers = []
        self._names = []
        if len(layers) == 1 and isinstance(layers[0], OrderedDict):
            for name, named in layers[0].items():
                self._add(str(name), named)
        else:
            for layer in layers:
                self._add(str(len(self._layers)), cast(Layer, layer))

    def _add(self, name: str, layer: Layer) -> None:
        if not callable(layer) or isinstance(layer, Tensor):
            raise TypeError(
                f"Sequential: layer {name} must be a Module or a callable from Tensor to Tensor, "
                f"got {type(layer).__name__}"
            )
        if name in self._names:
            raise ValueError(f"Sequential: two layers named {name!r}")
        if isinstance(layer, Module):
            self.add_module(name, layer)
        self._layers.append(layer)
        self._names.append(name)

    def append(self, layer: Layer) -> Sequential:
        """Add ``layer`` at the end, named by its position.

        Example:
            >>> from tinytorch.layers import Identity
            >>> len(Sequential().append(Identity()))
            1
        """
        self._add(str(len(self._layers)), layer)
        return self

    def forward(self, x: Any) -> Any:
        # BEGIN SOLUTION sequential-forward
        # HINT: Feed the input through each layer in order, each one's output the next one's input.
        # TESTS: test_containers and (forward or empty or activation or train)
        for layer in self._layers:
            x = layer(x)
        return x
        # END SOLUTION

    @overload
    def __getitem__(self, index: int) -> Layer: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Layer | Sequential:
        if isinstance(index, slice):
            return Sequential(
                OrderedDict(zip(self._names[index], self._layers[index], strict=True))
            )
        try:
            return self._layers[index]
        except IndexError:
            raise IndexError(
                f"Sequential: index {index} is out of range for {len(self)} layers"
            ) from None

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self._layers)

    def _repr_children(self) -> Iterable[tuple[str, object]]:
        return zip(self._names, self._layers, strict=True)


class ModuleList(Module):
    """A list of Modules, each registered, so their parameters belong to the owner
    (``torch.nn.ModuleList``); a plain Python list would hide them. It has no forward: the owner
    decides how to call them (a transformer's stack of blocks, say).

    Example:
        >>> from tinytorch.layers import Linear
        >>> blocks = ModuleList([Linear(4, 4) for _ in range(3)])
        >>> len(blocks), len(list(blocks.parameters())), list(blocks.state_dict())[0]
        (3, 6, '0.weight')
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _check(self, module: object) -> Module:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: holds Modules only, got {type(module).__name__}")
        return module

    def _renumber(self, modules: list[Module]) -> None:
        self._modules.clear()
        for i, module in enumerate(modules):
            self._modules[str(i)] = module

    def _list(self) -> list[Module]:
        return [m for m in self._modules.values() if m is not None]

    def _index(self, index: int) -> int:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ModuleList: index {index} is out of range for {n} modules")
        return index % n

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end."""
        self._modules[str(len(self))] = self._check(module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add every module of ``modules`` at the end."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``."""
        modules = self._list()
        modules.insert(index, self._check(module))
        self._renumber(modules)

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> ModuleList: ...

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        if isinstance(index, slice):
            return ModuleList(self._list()[index])
        return self._list()[self._index(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        self._modules[str(self._index(index))] = self._check(module)

    def __delitem__(self, index: int | slice) -> None:
        modules = self._list()
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[self._index(index)]
        self._renumber(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._list())

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)


def _pairs(kind: str, items: object) -> list[tuple[object, object]]:
    """The (key, value) pairs of a mapping, or of an iterable of pairs, as ``dict.update`` takes."""
    if isinstance(items, (Mapping, ModuleDict, ParameterDict)):
        return list(items.items())
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(
            f"{kind}.update: expects a mapping or an iterable of (key, value) pairs, got "
            f"{type(items).__name__}"
        )
    pairs: list[tuple[object, object]] = []
    for i, pair in enumerate(items):
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Iterable):
            raise TypeError(
                f"{kind}.update: element {i} should be a (key, value) pair, got "
                f"{type(pair).__name__}"
            )
        entry = list(pair)
        if len(entry) != 2:
            raise ValueError(
                f"{kind}.update: element {i} should be a (key, value) pair, has length {len(entry)}"
            )
        pairs.append((entry[0], entry[1]))
    return pairs


def _key(kind: str, key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{kind}: keys must be str, got {type(key).__name__}")
    return key


class ModuleDict(Module):
    """Modules by name, each registered, so their parameters belong to the owner and their
    ``state_dict`` keys are ``<key>.<name>`` (``torch.nn.ModuleDict``). Insertion ordered; like
    ModuleList it has no forward.

    Example:
        >>> from tinytorch.layers import Identity, Linear
        >>> heads = ModuleDict({"cls": Linear(4, 3), "reg": Linear(4, 1)})
        >>> heads["aux"] = Identity()
        >>> list(heads), "cls" in heads, list(heads.state_dict())[:2]
        (['cls', 'reg', 'aux'], True, ['cls.weight', 'cls.bias'])
    """

    def __init__(
        self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None
    ) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        module = self._modules.get(key) if isinstance(key, str) else None
        if module is None:
            raise KeyError(f"ModuleDict: no module named {key!r}; have {list(self._modules)}")
        return module

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(
                f"ModuleDict: holds Modules only, got {type(module).__name__} for {key!r}"
            )
        self.add_module(_key("ModuleDict", key), module)

    def __delitem__(self, key: str) -> None:
        self[key]  # raises the KeyError that names what exists
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> list[str]:
        """The names, in insertion order."""
        return list(self._modules)

    def items(self) -> list[tuple[str, Module]]:
        """``(name, module)`` pairs, in insertion order."""
        return [(k, m) for k, m in self._modules.items() if m is not None]

    def values(self) -> list[Module]:
        """The modules, in insertion order."""
        return [m for m in self._modules.values() if m is not None]

    def clear(self) -> None:
        """Remove every module."""
        self._modules.clear()

    def pop(self, key: str) -> Module:
        """Remove the module named ``key`` and return it."""
        module = self[key]
        del self._modules[key]
        return module

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace modules from a mapping or from ``(name, module)`` pairs, in order.

        Example:
            >>> from tinytorch.layers import Identity
            >>> d = ModuleDict()
            >>> d.update([("a", Identity()), ("b", Identity())])
            >>> d.keys()
            ['a', 'b']
        """
        pairs = _pairs("ModuleDict", modules)
        for key, module in pairs:  # check all first: a bad entry adds nothing
            _key("ModuleDict", key)
            if not isinstance(module, Module):
                raise TypeError(
                    f"ModuleDict.update: holds Modules only, got {type(module).__name__} "
                    f"for {key!r}"
                )
        for key, module in pairs:
            self[cast(str, key)] = cast(Module, module)


def _as_parameter(kind: str, where: object, value: object) -> Parameter:
    # As in PyTorch, a plain tensor put into a parameter container becomes a Parameter over
    # the same storage.
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(
        f"{kind}: holds Parameters (or Tensors, wrapped in one), got {type(value).__name__} "
        f"for {where!r}"
    )


class ParameterList(Module):
    """A list of Parameters, each registered as ``"0"``, ``"1"``, ... so that they are in the
    owner's ``parameters()`` and ``state_dict()`` (``torch.nn.ParameterList``). A Tensor added
    is wrapped in a Parameter that shares its memory.

    Example:
        >>> from tinytorch.tensor import ones, zeros
        >>> scales = ParameterList([Parameter(ones(2)), zeros(3)])
        >>> len(scales), type(scales[1]).__name__, list(scales.state_dict())
        (2, 'Parameter', ['0', '1'])
    """

    def __init__(self, values: Iterable[Tensor] | None = None) -> None:
        super().__init__()
        if values is not None:
            self.extend(values)

    def _index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(
                f"ParameterList: indices must be integers or slices, got {type(index).__name__}"
            )
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ParameterList: index {index} is out of range for {n} parameters")
        return index % n

    def _list(self) -> list[Parameter]:
        return [p for p in self._parameters.values() if p is not None]

    @overload
    def __getitem__(self, index: int) -> Parameter: ...

    @overload
    def __getitem__(self, index: slice) -> ParameterList: ...

    def __getitem__(self, index: int | slice) -> Parameter | ParameterList:
        if isinstance(index, slice):
            return ParameterList(self._list()[index])
        return self._list()[self._index(index)]

    def __setitem__(self, index: int, value: Tensor) -> None:
        i = self._index(index)
        self._parameters[str(i)] = _as_parameter("ParameterList", i, value)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._list())

    def __iadd__(self, values: Iterable[Tensor]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Tensor) -> ParameterList:
        """Add ``value`` at the end."""
        n = len(self)
        self.register_parameter(str(n), _as_parameter("ParameterList", n, value))
        return self

    def extend(self, values: Iterable[Tensor]) -> ParameterList:
        """Add every tensor of ``values`` at the end (all checked before any is added)."""
        if isinstance(values, Tensor) or not isinstance(values, Iterable):
            raise TypeError(
                f"ParameterList.extend: expects an iterable of Parameters, got "
                f"{type(values).__name__}"
            )
        n = len(self)
        checked = [_as_parameter("ParameterList", n + i, v) for i, v in enumerate(values)]
        for param in checked:
            self.append(param)
        return self

    def extra_repr(self) -> str:
        return "\n".join(
            f"({i}): Parameter containing: [{p.dtype} of size {p.shape}]"
            for i, p in enumerate(self)
        )


class ParameterDict(Module):
    """Parameters by name, each registered under its key, so ``state_dict`` keys are
    ``<owner>.<key>`` (``torch.nn.ParameterDict``). Insertion ordered; a Tensor added is wrapped
    in a Parameter that shares its memory. Keys must be valid parameter names (no ``"."``). As in
    PyTorch, a plain dict given to the constructor or to :meth:`update` is added in sorted key
    order (an OrderedDict, a ParameterDict or a list of pairs in its own order).

    Example:
        >>> from tinytorch.tensor import ones
        >>> pd = ParameterDict({"gain": ones(3)})
        >>> pd["bias"] = Parameter(ones(3))
        >>> list(pd), "gain" in pd, list(pd.state_dict())
        (['gain', 'bias'], True, ['gain', 'bias'])
    """

    def __init__(
        self, parameters: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None
    ) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter:
        param = self._parameters.get(key) if isinstance(key, str) else None
        if param is None:
            raise KeyError(
                f"ParameterDict: no parameter named {key!r}; have {list(self._parameters)}"
            )
        return param

    def __setitem__(self, key: str, value: Tensor) -> None:
        name = _key("ParameterDict", key)
        self.register_parameter(name, _as_parameter("ParameterDict", name, value))

    def __delitem__(self, key: str) -> None:
        self[key]  # raises the KeyError that names what exists
        del self._parameters[key]

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._parameters))

    def __contains__(self, key: object) -> bool:
        return key in self._parameters

    def keys(self) -> list[str]:
        """The names, in insertion order."""
        return list(self._parameters)

    def items(self) -> list[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs, in insertion order."""
        return [(k, p) for k, p in self._parameters.items() if p is not None]

    def values(self) -> list[Parameter]:
        """The parameters, in insertion order."""
        return [p for p in self._parameters.values() if p is not None]

    def get(self, key: str, default: Parameter | None = None) -> Parameter | None:
        """The parameter named ``key``, or ``default``."""
        param = self._parameters.get(key)
        return default if param is None else param

    def clear(self) -> None:
        """Remove every parameter."""
        self._parameters.clear()

    def pop(self, key: str) -> Parameter:
        """Remove the parameter named ``key`` and return it."""
        param = self[key]
        del self._parameters[key]
        return param

    def update(self, parameters: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]]) -> None:
        """Add or replace parameters from a mapping or from ``(name, tensor)`` pairs, in order.

        Example:
            >>> from tinytorch.tensor import zeros
            >>> pd = ParameterDict()
            >>> pd.update([("a", zeros(1)), ("b", zeros(2))])
            >>> pd.keys()
            ['a', 'b']
        """
        pairs = [
            (_key("ParameterDict", k), _as_parameter("ParameterDict", k, v))
            for k, v in _pairs("ParameterDict", parameters)
        ]
        if isinstance(parameters, Mapping) and not isinstance(parameters, OrderedDict):
            # PyTorch's rule, kept so that state_dict keys come out in the same order: a plain
            # mapping is taken in sorted key order, an OrderedDict or pairs in their own.
            pairs.sort(key=lambda pair: pair[0])
        for key, param in pairs:
            self[key] = param

    def extra_repr(self) -> str:
        return "\n".join(
            f"({k}): Parameter containing: [{p.dtype} of size {p.shape}]" for k, p in self.items()
        )
