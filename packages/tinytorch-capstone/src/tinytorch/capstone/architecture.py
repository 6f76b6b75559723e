"""Architecture specs: a model described as JSON data, and rebuilt from it with no pickle.

A submission names its model by a spec, not by code: the verifier rebuilds an empty model of
exactly that shape and loads the shipped weights into it strictly, so a weights file that does
not fit the declared architecture is refused.

- ``"lenet"``: ``{"kind": "lenet", "executor": "module" | "compile_inference", "layers":
  [layer, ...]}``, the ``Sequential``'s layers in order. A layer is ``{"type": name, ...}``
  with its sizes: ``Conv2d`` / ``QuantizedConv2d`` / ``WeightOnlyInt8Conv2d`` (``in_channels``,
  ``out_channels``, ``kernel_size``, ``stride``, ``padding``, ``dilation``, ``bias``, and
  ``per_channel`` for the int8 ones), ``Linear`` / ``QuantizedLinear`` /
  ``DynamicQuantizedLinear`` / ``WeightOnlyInt8Linear`` (``in_features``,
  ``out_features``, ``bias``, ``per_channel``), ``ReLU``, ``Sigmoid``, ``MaxPool2d``
  (``kernel_size``, ``stride``, ``padding``), ``Flatten`` (``start_dim``, ``end_dim``),
  ``Dropout`` (``p``) and a nested ``Sequential`` (``layers``; what low-rank factorization
  makes).
- ``"gpt"``: ``{"kind": "gpt", "executor": "generate" | "kv-cache", "config": {GPTConfig
  fields}, "dynamic_int8": [{"path": "h.0.mlp.c_fc", "per_channel": true}, ...]}``: the GPT
  and which of its Linear layers are :class:`~tinytorch.quantization.DynamicQuantizedLinear`.

Example:
    >>> from tinytorch.activations import ReLU
    >>> from tinytorch.layers import Linear, Sequential
    >>> spec = spec_of("lenet", Sequential(Linear(4, 3), ReLU(), Linear(3, 2)))
    >>> [layer["type"] for layer in spec["layers"]]
    ['Linear', 'ReLU', 'Linear']
    >>> spec_of("lenet", build(spec)) == spec
    True
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tinytorch.activations import ReLU, Sigmoid
from tinytorch.convolutions import Conv2d, Flatten, MaxPool2d
from tinytorch.layers import Dropout, Linear, Module, Sequential
from tinytorch.quantization import (
    DynamicQuantizedLinear,
    QuantizedLinear,
    WeightOnlyInt8Linear,
    swap_modules,
)
from tinytorch.quantization.vision import QuantizedConv2d, WeightOnlyInt8Conv2d
from tinytorch.transformers import GPT, GPTConfig

__all__ = ["SpecError", "build", "float_skeleton", "spec_of"]

Spec = dict[str, Any]

EXECUTORS = {"lenet": ("module", "compile_inference"), "gpt": ("generate", "kv-cache")}


class SpecError(ValueError):
    """A spec that does not describe a model this module can build, naming the field."""


def _conv(m: Any) -> Spec:
    return {
        "in_channels": m.in_channels,
        "out_channels": m.out_channels,
        "kernel_size": list(m.kernel_size),
        "stride": list(m.stride),
        "padding": list(m.padding),
        "dilation": list(m.dilation),
        "bias": m.bias is not None,
    }


def _linear(m: Any) -> Spec:
    return {
        "in_features": m.in_features,
        "out_features": m.out_features,
        "bias": m.bias is not None,
    }


_INT8_LINEARS: dict[str, Any] = {
    cls.__name__: cls for cls in (QuantizedLinear, DynamicQuantizedLinear, WeightOnlyInt8Linear)
}
_INT8_CONVS: dict[str, Any] = {cls.__name__: cls for cls in (QuantizedConv2d, WeightOnlyInt8Conv2d)}


def _per_channel(m: Any) -> bool:
    return bool(m.weight_scale.data.size > 1)


def layer_spec(layer: Any) -> Spec:
    """The spec of one layer (the types of the module docstring; others are refused)."""
    kind: type = type(layer)
    if kind is Conv2d:
        return {"type": "Conv2d", **_conv(layer)}
    if kind in (QuantizedConv2d, WeightOnlyInt8Conv2d):
        return {"type": kind.__name__, **_conv(layer), "per_channel": _per_channel(layer)}
    if kind is Linear:
        return {"type": "Linear", **_linear(layer)}
    if kind in _INT8_LINEARS.values():
        return {"type": kind.__name__, **_linear(layer), "per_channel": _per_channel(layer)}
    if kind in (ReLU, Sigmoid):
        return {"type": kind.__name__}
    if isinstance(layer, MaxPool2d):
        return {
            "type": "MaxPool2d",
            "kernel_size": list(layer.kernel_size),
            "stride": list(layer.stride),
            "padding": list(layer.padding),
        }
    if kind is Flatten:
        return {"type": "Flatten", "start_dim": layer.start_dim, "end_dim": layer.end_dim}
    if kind is Dropout:
        return {"type": "Dropout", "p": layer.p}
    if isinstance(layer, Sequential):
        return {"type": "Sequential", "layers": [layer_spec(m) for m in layer]}
    raise SpecError(f"spec_of: layer type {kind.__name__} has no spec (see architecture.py)")


def spec_of(kind: str, model: Module, executor: str | None = None) -> Spec:
    """The spec of ``model`` (a ``Sequential`` for ``"lenet"``, a ``GPT`` for ``"gpt"``)."""
    executor = executor or EXECUTORS[kind][0]
    if kind == "lenet":
        if not isinstance(model, Sequential):
            raise SpecError(f"spec_of: a lenet model is a Sequential, got {type(model).__name__}")
        return {"kind": kind, "executor": executor, "layers": [layer_spec(m) for m in model]}
    if kind == "gpt":
        if not isinstance(model, GPT):
            raise SpecError(f"spec_of: a gpt model is a GPT, got {type(model).__name__}")
        dynamic = [
            {"path": path, "per_channel": _per_channel(m)}
            for path, m in model.named_modules()
            if isinstance(m, DynamicQuantizedLinear)
        ]
        return {
            "kind": kind,
            "executor": executor,
            "config": asdict(model.config),
            "dynamic_int8": dynamic,
        }
    raise SpecError(f"spec_of: unknown model kind {kind!r}; choose lenet or gpt")


def _get(spec: Spec, name: str, where: str) -> Any:
    if name not in spec:
        raise SpecError(f"{where}.{name}: missing")
    return spec[name]


def _build_layer(spec: Spec, where: str) -> Any:
    if not isinstance(spec, dict):
        raise SpecError(f"{where}: expected an object, got {type(spec).__name__}")
    kind = _get(spec, "type", where)

    def g(name: str) -> Any:
        return _get(spec, name, where)

    try:
        if kind == "Conv2d" or kind in _INT8_CONVS:
            sizes: dict[str, Any] = {
                "in_channels": g("in_channels"),
                "out_channels": g("out_channels"),
                "kernel_size": tuple(g("kernel_size")),
                "stride": tuple(g("stride")),
                "padding": tuple(g("padding")),
                "dilation": tuple(g("dilation")),
                "bias": g("bias"),
            }
            if kind == "Conv2d":
                return Conv2d(**sizes)
            return _INT8_CONVS[kind](**sizes, per_channel=g("per_channel"))
        if kind == "Linear":
            return Linear(g("in_features"), g("out_features"), g("bias"))
        if kind in _INT8_LINEARS:
            cls = _INT8_LINEARS[kind]
            return cls(g("in_features"), g("out_features"), g("bias"), g("per_channel"))
        if kind == "ReLU":
            return ReLU()
        if kind == "Sigmoid":
            return Sigmoid()
        if kind == "MaxPool2d":
            return MaxPool2d(tuple(g("kernel_size")), tuple(g("stride")), tuple(g("padding")))
        if kind == "Flatten":
            return Flatten(g("start_dim"), g("end_dim"))
        if kind == "Dropout":
            return Dropout(g("p"))
        if kind == "Sequential":
            return _build_sequential(g("layers"), f"{where}.layers")
    except (TypeError, ValueError) as err:
        if isinstance(err, SpecError):
            raise
        raise SpecError(f"{where}: cannot build a {kind}: {err}") from err
    raise SpecError(f"{where}.type: unknown layer type {kind!r}")


def _build_sequential(layers: Any, where: str) -> Sequential:
    if not isinstance(layers, list) or not layers:
        raise SpecError(f"{where}: expected a non-empty list of layers")
    return Sequential(*(_build_layer(s, f"{where}[{i}]") for i, s in enumerate(layers)))


def build(spec: Spec, where: str = "model") -> Module:
    """An untrained model of exactly the shape ``spec`` describes, in eval mode (load the
    weights with ``load_state_dict(..., strict=True)``)."""
    kind = _get(spec, "kind", where)
    if kind == "lenet":
        return _build_sequential(_get(spec, "layers", where), f"{where}.layers").eval()
    if kind != "gpt":
        raise SpecError(f"{where}.kind: unknown model kind {kind!r}; choose lenet or gpt")
    config = _get(spec, "config", where)
    try:
        model = GPT(GPTConfig(**config))
    except (TypeError, ValueError) as err:
        raise SpecError(f"{where}.config: {err}") from err
    wanted = {d["path"]: bool(d["per_channel"]) for d in _get(spec, "dynamic_int8", where)}
    paths = {id(m): p for p, m in model.named_modules()}
    known = {p for p, m in model.named_modules() if isinstance(m, Linear)}
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise SpecError(f"{where}.dynamic_int8: {unknown[0]!r} is not a Linear layer of the GPT")

    def replace(m: Module) -> Module | None:
        path = paths.get(id(m))
        if path not in wanted or not isinstance(m, Linear):
            return None
        return DynamicQuantizedLinear(
            m.in_features, m.out_features, m.bias is not None, wanted[path]
        )

    return swap_modules(model, replace).eval()


def float_skeleton(spec: Spec) -> list[Any]:
    """The layer structure with quantization undone and widths dropped: what the closed
    division holds equal to the reference's (types and kernels; widths may only shrink).

    >>> float_skeleton({"kind": "lenet", "layers": [{"type": "QuantizedLinear",
    ...     "in_features": 4, "out_features": 2, "bias": True, "per_channel": True}]})
    [('Linear', True)]
    """
    if spec["kind"] == "gpt":
        return [sorted(spec["config"].items())]
    out: list[Any] = []
    for layer in spec["layers"]:
        kind = layer["type"]
        for prefix in ("WeightOnlyInt8", "Quantized", "Dynamic"):
            kind = kind.replace(prefix, "")
        if kind == "Sequential":
            out.append(("Sequential", float_skeleton({"kind": "lenet", **layer})))
        elif kind == "Conv2d":
            out.append(
                (kind, layer["kernel_size"], layer["stride"], layer["padding"], layer["bias"])
            )
        elif kind == "Linear":
            out.append((kind, layer["bias"]))
        else:
            out.append((kind, *sorted((k, v) for k, v in layer.items() if k != "type")))
    return out


def widths(spec: Spec) -> list[int]:
    """Every layer's output width, in order (``out_channels`` / ``out_features``)."""
    out: list[int] = []
    for layer in spec.get("layers", []):
        if "out_channels" in layer:
            out.append(layer["out_channels"])
        elif "out_features" in layer:
            out.append(layer["out_features"])
    return out
