"""Containers: Sequential (a pipeline of layers) and ModuleList (a list of registered modules)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Union, cast, overload

from tinytorch.layers.module import Module
from tinytorch.tensor import Tensor

__all__ = ["ModuleList", "Sequential"]

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
        for layer in self._layers:
            x = layer(x)
        return x

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
