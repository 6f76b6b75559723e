"""The named techniques a submission may apply, in its order, each built on modules 15-18.

A :class:`System` is what is measured: the model, and how it runs (its ``executor``). Each
technique takes a system and the trained :class:`~tinytorch.capstone.references.Reference`
(for the training split: calibration, fine-tuning) and returns a new system; the input is
never changed.

LeNet (``"lenet"``):

- ``prune`` (closed): :func:`tinytorch.compression.structured_prune` removes ``amount`` of
  the conv channels and hidden neurons of lowest L2 norm (every Conv2d and Linear but the
  last), then fine-tunes ``epochs`` epochs on the *training* split with AdamW (``lr``, weight
  decay 1e-2) and a cosine schedule: the recipe of tinytorch-compression's benchmark. The
  closed division allows this fine-tune; the held-out digits are never trained on.
- ``quantize`` (closed): static post-training int8 (:func:`tinytorch.quantization.prepare`,
  per-channel symmetric weights, MinMax activations), calibrated on the training split, then
  :func:`~tinytorch.quantization.convert`.
- ``accelerate`` (closed): ``tinytorch.acceleration.compile_inference``, a graph-free
  executor sharing the model's arrays. It must come last.
- ``low-rank`` (open): :func:`tinytorch.compression.low_rank` of the hidden Linear layers
  (``energy`` of the squared singular values kept), then ``epochs`` of fine-tuning.

GPT (``"gpt"``):

- ``kv-cache`` (closed): generation through :func:`tinytorch.memoization.generate` with a
  :class:`~tinytorch.memoization.KVCache` (the same tokens as recomputation, for a float model).
- ``quantize-dynamic`` (closed): :func:`tinytorch.quantization.quantize_dynamic`: every
  Linear int8, activations quantized per batch.

Example:
    >>> sorted(TECHNIQUES["lenet"]), sorted(TECHNIQUES["gpt"])
    (['accelerate', 'low-rank', 'prune', 'quantize'], ['kv-cache', 'quantize-dynamic'])
    >>> parse_techniques("prune:amount=0.25:epochs=2,quantize")
    [('prune', {'amount': 0.25, 'epochs': 2}), ('quantize', {})]
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tinytorch.acceleration import compile_inference
from tinytorch.autograd import no_grad
from tinytorch.capstone.references import Reference
from tinytorch.compression import low_rank, structured_prune, train_student
from tinytorch.layers import Linear, Module, Sequential
from tinytorch.optimizers import AdamW
from tinytorch.quantization import (
    ObservedLinear,
    QuantizedLinear,
    convert,
    prepare,
    quantize_dynamic,
    quantize_weight_only,
)
from tinytorch.quantization.linear import Int8WeightLinear
from tinytorch.quantization.vision import Int8Conv2d, ObservedConv2d
from tinytorch.training import CosineAnnealingLR

__all__ = [
    "TECHNIQUES",
    "System",
    "Technique",
    "TechniqueError",
    "apply_techniques",
    "baseline_system",
    "parse_techniques",
]


class TechniqueError(ValueError):
    """A technique that cannot be applied as asked, naming it and why."""


@dataclass(frozen=True)
class System:
    """A model and how it runs: ``executor`` is ``"module"`` or ``"compile_inference"`` (LeNet),
    ``"generate"`` or ``"kv-cache"`` (GPT); ``plan`` is the compiled executor, if any."""

    kind: str
    model: Any
    executor: str
    plan: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class Technique:
    """A named technique: its model kind, whether the closed division allows it, its default
    parameters (and the ``--quick`` ones), what it does, and the function that applies it."""

    name: str
    kind: str
    closed: bool
    defaults: Mapping[str, Any]
    quick: Mapping[str, Any]
    description: str
    fn: Callable[[System, Reference, Mapping[str, Any]], System]


def _fine_tune(model: Module, ref: Reference, epochs: int, lr: float) -> None:
    # tinytorch-compression's benchmark recipe for the LeNet: AdamW with a cosine schedule (at
    # a constant rate its last epoch's accuracy wanders); the training split only.
    if epochs <= 0:
        return
    optimizer = AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    schedule = CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    loader = ref.trained.loader(seed=0)
    model.train()
    for _ in range(epochs):
        train_student(None, model, loader, optimizer, epochs=1, alpha=0.0)
        schedule.step()
    model.eval()


# Observed and QAT layers subclass ObservedLinear / ObservedConv2d; the int8 ones the rest.
_NOT_FLOAT = (ObservedLinear, ObservedConv2d, QuantizedLinear, Int8WeightLinear, Int8Conv2d)


def _float_sequential(name: str, system: System) -> Sequential:
    model = system.model
    if system.plan is not None:
        raise TechniqueError(f"{name}: comes after accelerate; accelerate must be the last")
    if not isinstance(model, Sequential) or any(isinstance(m, _NOT_FLOAT) for m in model.modules()):
        raise TechniqueError(
            f"{name}: needs the float model; apply it before quantize (got "
            f"{type(model).__name__} with int8 layers)"
        )
    return model


def _prune(system: System, ref: Reference, p: Mapping[str, Any]) -> System:
    model = _float_sequential("prune", system)
    if p["layers"] not in ("all", "conv"):
        raise TechniqueError(f"prune: layers must be 'all' or 'conv', got {p['layers']!r}")
    chosen = None
    if p["layers"] == "conv":  # the conv channels only (the fully connected widths stay)
        chosen = [i for i, m in enumerate(model) if type(m).__name__ == "Conv2d"]
    small = structured_prune(model, p["amount"], layers=chosen)
    _fine_tune(small, ref, int(p["epochs"]), float(p["lr"]))
    return replace(system, model=small.eval())


def _quantize(system: System, ref: Reference, p: Mapping[str, Any]) -> System:
    model = _float_sequential("quantize", system)
    if p["mode"] not in ("static", "weight-only"):
        raise TechniqueError(f"quantize: mode must be 'static' or 'weight-only', got {p['mode']!r}")
    if p["mode"] == "weight-only":  # int8 held, float32 computed: nothing to calibrate
        return replace(system, model=quantize_weight_only(model).eval())
    observed = prepare(model)
    with no_grad():
        observed(ref.trained.train.tensors[0])  # calibration: the training split, once
    return replace(system, model=convert(observed).eval())


def _accelerate(system: System, ref: Reference, p: Mapping[str, Any]) -> System:
    if system.plan is not None:
        raise TechniqueError("accelerate: applied twice")
    return replace(system, executor="compile_inference", plan=compile_inference(system.model))


def _low_rank(system: System, ref: Reference, p: Mapping[str, Any]) -> System:
    model = _float_sequential("low-rank", system)
    linears = [i for i, m in enumerate(model) if isinstance(m, Linear)][:-1]
    if not linears:
        raise TechniqueError("low-rank: the model has no hidden Linear layer to factorize")
    small = low_rank(model, float(p["energy"]), linears)
    _fine_tune(small, ref, int(p["epochs"]), float(p["lr"]))
    return replace(system, model=small.eval())


def _kv_cache(system: System, ref: Reference, p: Mapping[str, Any]) -> System:
    if system.executor == "kv-cache":
        raise TechniqueError("kv-cache: applied twice")
    return replace(system, executor="kv-cache")


def _quantize_dynamic(system: System, ref: Reference, p: Mapping[str, Any]) -> System:
    return replace(system, model=quantize_dynamic(system.model).eval())


TECHNIQUES: dict[str, dict[str, Technique]] = {"lenet": {}, "gpt": {}}
for _t in (
    Technique(
        "prune",
        "lenet",
        True,
        {"amount": 0.5, "layers": "all", "epochs": 15, "lr": 1e-3},
        {"epochs": 1},
        "structured pruning (L2 norm) of the conv channels and hidden neurons (layers='all') "
        "or of the conv channels only (layers='conv'), then a fine-tune on the training split "
        "(AdamW, cosine)",
        _prune,
    ),
    Technique(
        "quantize",
        "lenet",
        True,
        {"mode": "static"},
        {},
        "int8 PTQ with per-channel weights: mode='static' (int8 arithmetic, calibrated on the "
        "training split) or mode='weight-only' (int8 weights, float32 arithmetic)",
        _quantize,
    ),
    Technique(
        "accelerate",
        "lenet",
        True,
        {},
        {},
        "tinytorch.acceleration.compile_inference: a graph-free inference executor",
        _accelerate,
    ),
    Technique(
        "low-rank",
        "lenet",
        False,
        {"energy": 0.9, "epochs": 5, "lr": 1e-3},
        {"epochs": 1},
        "SVD factorization of the hidden Linear layers, then a fine-tune (open division)",
        _low_rank,
    ),
    Technique(
        "kv-cache",
        "gpt",
        True,
        {},
        {},
        "generation through tinytorch.memoization.generate with a KV cache",
        _kv_cache,
    ),
    Technique(
        "quantize-dynamic",
        "gpt",
        True,
        {},
        {},
        "dynamic int8 of every Linear (quantize_dynamic)",
        _quantize_dynamic,
    ),
):
    TECHNIQUES[_t.kind][_t.name] = _t


def parse_techniques(text: str) -> list[tuple[str, dict[str, Any]]]:
    """``"name[:key=value...],..."`` as ``[(name, params), ...]``; values are JSON (numbers,
    booleans) or else strings.

    >>> parse_techniques("")
    []
    """
    out: list[tuple[str, dict[str, Any]]] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, *pairs = item.split(":")
        params: dict[str, Any] = {}
        for pair in pairs:
            key, eq, value = pair.partition("=")
            if not eq or not key:
                raise TechniqueError(f"--techniques: {item!r}: expected key=value, got {pair!r}")
            try:
                params[key] = json.loads(value)
            except json.JSONDecodeError:
                params[key] = value
        out.append((name, params))
    return out


def resolve(
    kind: str, techniques: list[tuple[str, dict[str, Any]]], quick: bool
) -> list[tuple[Technique, dict[str, Any]]]:
    """Each named technique with its full parameters (defaults, then ``--quick``'s, then
    the given ones); an unknown name or parameter is refused, naming it."""
    table = TECHNIQUES.get(kind)
    if table is None:
        raise TechniqueError(f"unknown model kind {kind!r}; choose lenet or gpt")
    out = []
    for name, given in techniques:
        if name not in table:
            raise TechniqueError(
                f"unknown technique {name!r} for {kind}; choose one of {', '.join(table)}"
            )
        t = table[name]
        unknown = sorted(set(given) - set(t.defaults))
        if unknown:
            known = ", ".join(t.defaults) or "none"
            raise TechniqueError(f"{name}: unknown parameter {unknown[0]!r} (parameters: {known})")
        params = {**t.defaults, **(t.quick if quick else {}), **given}
        out.append((t, params))
    return out


def baseline_system(ref: Reference) -> System:
    """The reference as a system: a copy of its model, in eval mode, without the gradients
    training left on its parameters (a deployed model holds none; they would count as
    held bytes).

    >>> from tinytorch.capstone.references import train_reference
    >>> system = baseline_system(train_reference("lenet", budget=1))
    >>> system.executor, all(p.grad is None for p in system.model.parameters())
    ('module', True)
    """
    model = _without_grads(copy.deepcopy(ref.model).eval())
    return System(ref.kind, model, "module" if ref.kind == "lenet" else "generate")


def _without_grads(model: Any) -> Any:
    for p in model.parameters():
        p.grad = None
    return model


def apply_techniques(
    ref: Reference, techniques: list[tuple[str, dict[str, Any]]], quick: bool = False
) -> tuple[System, list[dict[str, Any]]]:
    """The baseline's model taken through ``techniques`` in order: the optimized system and
    the record of what was applied (name and full parameters). The reference is not changed.

    Example:
        >>> from tinytorch.capstone.references import train_reference
        >>> ref = train_reference("lenet", budget=1)
        >>> system, applied = apply_techniques(ref, [("quantize", {})])
        >>> type(system.model[0]).__name__, applied
        ('QuantizedConv2d', [{'name': 'quantize', 'params': {'mode': 'static'}}])
    """
    system = baseline_system(ref)
    applied = []
    for t, params in resolve(ref.kind, techniques, quick):
        try:
            system = t.fn(system, ref, params)
        except TechniqueError:
            raise
        except (TypeError, ValueError) as err:  # the module's own error, named and kept
            raise TechniqueError(f"{t.name}: {err}") from err
        applied.append({"name": t.name, "params": params})
    # A fine-tune leaves gradients on the parameters; the deployed system holds none.
    return replace(system, model=_without_grads(system.model)), applied
