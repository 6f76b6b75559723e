"""Whole-model quantization: :func:`quantize_dynamic`, :func:`prepare` / :func:`convert`
(static post-training quantization) and :func:`prepare_qat` (quantization-aware training),
with ``torch.ao.quantization``'s names.

Each function returns a new model (the input is deep-copied, never changed) in which layers
are *replaced* by their quantized counterparts, found by type in a mapping; nothing is
patched. The mappings name ``Linear`` always and ``Conv2d`` when tinytorch-convolutions is
installed (the ``vision`` extra), so this module imports without it.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tinytorch.layers import Linear, Module, ModuleDict, ModuleList, Sequential
from tinytorch.quantization.linear import (
    DynamicQuantizedLinear,
    ObservedLinear,
    QATLinear,
    QuantizedLinear,
)
from tinytorch.quantization.qconfig import QConfig, default_qat_qconfig, default_qconfig
from tinytorch.quantization.qtypes import qint8, resolve_dtype

__all__ = [
    "convert",
    "default_convert_mapping",
    "default_qat_mapping",
    "default_static_mapping",
    "prepare",
    "prepare_qat",
    "quantize_dynamic",
    "swap_modules",
]

Replace = Callable[[Module], "Module | None"]


def _vision() -> Any:
    """The convolution half of the mappings, or None without tinytorch-convolutions."""
    try:
        from tinytorch.quantization import vision
    except ImportError:
        return None
    return vision


def default_static_mapping() -> dict[type, Callable[..., Module]]:
    """Float layer type -> its observed version's builder, for :func:`prepare`.

    >>> Linear in default_static_mapping()
    True
    """
    mapping: dict[type, Callable[..., Module]] = {Linear: ObservedLinear.from_float}
    vision = _vision()
    if vision is not None:
        mapping[vision.Conv2d] = vision.ObservedConv2d.from_float
    return mapping


def default_qat_mapping() -> dict[type, Callable[..., Module]]:
    """Float layer type -> its QAT version's builder, for :func:`prepare_qat`.

    >>> Linear in default_qat_mapping()
    True
    """
    mapping: dict[type, Callable[..., Module]] = {Linear: QATLinear.from_float}
    vision = _vision()
    if vision is not None:
        mapping[vision.Conv2d] = vision.QATConv2d.from_float
    return mapping


def default_convert_mapping() -> dict[type, Callable[..., Module]]:
    """Observed / QAT layer type -> the int8 layer's builder, for :func:`convert`.

    >>> ObservedLinear in default_convert_mapping()
    True
    """
    mapping: dict[type, Callable[..., Module]] = {
        ObservedLinear: QuantizedLinear.from_observed,
        QATLinear: QuantizedLinear.from_observed,
    }
    vision = _vision()
    if vision is not None:
        mapping[vision.ObservedConv2d] = vision.QuantizedConv2d.from_observed
        mapping[vision.QATConv2d] = vision.QuantizedConv2d.from_observed
    return mapping


def _rebuild(seq: Sequential, layers: list[Any]) -> Sequential:
    """A Sequential of ``layers`` under ``seq``'s layer names (positional, or those of an
    OrderedDict of Modules)."""
    names = {id(m): name for name, m in seq.named_children()}
    positional = all(
        names.get(id(layer)) == str(i) for i, layer in enumerate(seq) if isinstance(layer, Module)
    )
    if positional:
        return Sequential(*layers)
    if len(names) == len(seq) and all(isinstance(layer, Module) for layer in seq):
        return Sequential(OrderedDict(zip((names[id(m)] for m in seq), layers, strict=True)))
    raise TypeError(
        "swap_modules: cannot rebuild a Sequential with named layers and plain callables; "
        "use Modules, or positional names"
    )


def swap_modules(model: Module, replace: Replace) -> Module:
    """``model`` with every submodule ``m`` for which ``replace(m)`` gives a module replaced
    by it (depth first; a replaced module's children are not visited). Changes ``model`` in
    place, except a ``Sequential``, which is rebuilt (it keeps its layers in a list of its
    own); returns the result.

    >>> from tinytorch.layers import Identity
    >>> swapped = swap_modules(Sequential(Linear(2, 2), Identity()),
    ...                        lambda m: Identity() if isinstance(m, Linear) else None)
    >>> [type(m).__name__ for m in swapped]
    ['Identity', 'Identity']
    """
    new = replace(model)
    if new is not None:
        return new
    if isinstance(model, Sequential):
        layers = [swap_modules(m, replace) if isinstance(m, Module) else m for m in model]
        if all(a is b for a, b in zip(layers, model, strict=True)):
            return model
        rebuilt = _rebuild(model, layers)
        rebuilt.train(model.training)
        return rebuilt
    for name, child in list(model.named_children()):
        swapped = swap_modules(child, replace)
        if swapped is child:
            continue
        if isinstance(model, ModuleList):
            model[int(name)] = swapped
        elif isinstance(model, ModuleDict):
            model[name] = swapped
        else:
            setattr(model, name, swapped)
    return model


def _check_model(op: str, model: object) -> Module:
    if not isinstance(model, Module):
        raise TypeError(f"{op}: expects a Module, got {type(model).__name__}")
    return model


def _count(op: str, model: Module, types: Iterable[type], what: str) -> None:
    kinds = tuple(types)
    if not any(isinstance(m, kinds) for m in model.modules()):
        names = ", ".join(sorted(t.__name__ for t in kinds))
        raise ValueError(f"{op}: the model has no {what} layer ({names}); nothing to quantize")


def quantize_dynamic(
    model: Module,
    qconfig_spec: Iterable[type] | None = None,
    dtype: object = qint8,
) -> Module:
    """A copy of ``model`` whose Linear layers (every one of ``qconfig_spec``, by default
    ``{Linear}``) are :class:`DynamicQuantizedLinear`: int8 weights, activations quantized per
    batch at run time (``torch.ao.quantization.quantize_dynamic``). A Linear that shares its
    weight with another layer (a GPT's tied head) gets its own int8 copy; the other layer
    keeps the float one.

    >>> from tinytorch.activations import ReLU
    >>> q = quantize_dynamic(Sequential(Linear(4, 8), ReLU(), Linear(8, 2)))
    >>> [type(m).__name__ for m in q]
    ['DynamicQuantizedLinear', 'ReLU', 'DynamicQuantizedLinear']
    """
    op = "quantize_dynamic"
    _check_model(op, model)
    if resolve_dtype(op, dtype) is not qint8:
        raise TypeError(f"{op}: unsupported dtype {dtype!r}; dynamic quantization is qint8")
    spec = {Linear} if qconfig_spec is None else set(qconfig_spec)
    for kind in spec:
        if kind is not Linear:
            name = getattr(kind, "__name__", repr(kind))
            raise TypeError(
                f"{op}: unsupported layer {name}; dynamic quantization covers Linear only "
                "(convolutions quantize statically: prepare, calibrate, convert)"
            )
    _count(op, model, spec, "Linear")
    copied = copy.deepcopy(model)
    copied.eval()
    return swap_modules(
        copied,
        lambda m: (
            DynamicQuantizedLinear.from_float(m)
            if type(m) in spec and isinstance(m, Linear)
            else None
        ),
    )


def _mapped(
    op: str, model: Module, mapping: Mapping[type, Callable[..., Module]], qconfig: QConfig
) -> Module:
    _check_model(op, model)
    if not isinstance(qconfig, QConfig):
        raise TypeError(f"{op}: qconfig must be a QConfig, got {type(qconfig).__name__}")
    _count(op, model, mapping, "quantizable")
    copied = copy.deepcopy(model)
    return swap_modules(
        copied,
        lambda m: mapping[type(m)](m, qconfig) if type(m) in mapping else None,
    )


def prepare(
    model: Module,
    qconfig: QConfig = default_qconfig,
    mapping: Mapping[type, Callable[..., Module]] | None = None,
) -> Module:
    """A copy of ``model`` with observers around each Linear (and Conv2d): run calibration
    batches through it, then :func:`convert` (``torch.ao.quantization.prepare``).

    >>> from tinytorch.tensor import randn
    >>> observed = prepare(Sequential(Linear(4, 2)))
    >>> _ = observed(randn(8, 4))
    >>> type(convert(observed)[0]).__name__
    'QuantizedLinear'
    """
    prepared = _mapped("prepare", model, mapping or default_static_mapping(), qconfig)
    return prepared.eval()


def prepare_qat(
    model: Module,
    qconfig: QConfig = default_qat_qconfig,
    mapping: Mapping[type, Callable[..., Module]] | None = None,
) -> Module:
    """A copy of ``model`` whose Linear (and Conv2d) layers train with fake quantization
    (``torch.ao.quantization.prepare_qat``): fine-tune it, then :func:`convert`.

    >>> type(prepare_qat(Sequential(Linear(4, 2)))[0]).__name__
    'QATLinear'
    """
    prepared = _mapped("prepare_qat", model, mapping or default_qat_mapping(), qconfig)
    return prepared.train()


def convert(model: Module, mapping: Mapping[type, Callable[..., Module]] | None = None) -> Module:
    """A copy of a calibrated (or QAT-trained) model with every observed layer replaced by its
    int8 layer, which holds no float weight (``torch.ao.quantization.convert``).

    >>> try:
    ...     convert(Sequential(Linear(2, 2)))
    ... except ValueError as err:
    ...     print(str(err)[:45])
    convert: the model has no prepared layer (Obs
    """
    op = "convert"
    _check_model(op, model)
    table = mapping or default_convert_mapping()
    if not any(type(m) in table for m in model.modules()):
        names = ", ".join(sorted(t.__name__ for t in table if "Linear" in t.__name__))
        raise ValueError(
            f"{op}: the model has no prepared layer ({names}); run prepare() or prepare_qat() first"
        )
    copied = copy.deepcopy(model)
    copied.eval()
    return swap_modules(copied, lambda m: table[type(m)](m) if type(m) in table else None)
