"""Exact sparsity, per tensor and overall, and an iterative pruning schedule.

Sparsity is counted, never assumed: the zeros of the weight the forward uses (``orig * mask``
for a pruned tensor, the parameter itself otherwise), over the number of its entries. A weight
that is zero without being masked counts as zero too, as ``(module.weight == 0).sum()`` does in
PyTorch's pruning tutorial.

:func:`iterative_pruning` is the "prune a little, fine-tune, repeat" loop: at step ``k`` of
``steps`` the tensors together reach ``round(target_k * total)`` masked entries, ``target_k``
growing linearly to ``amount`` or along Zhu and Gupta's cubic schedule (2017), each step pruning
globally by magnitude among what is still kept, then calling ``fine_tune``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tinytorch.compression.prune import (
    BasePruningMethod,
    L1Unstructured,
    _hook_of,
    global_unstructured,
    validate_amount,
)
from tinytorch.layers import Module

__all__ = [
    "LayerSparsity",
    "SparsityReport",
    "effective_weight",
    "iterative_pruning",
    "prunable_parameters",
    "sparsity_report",
]

Array = npt.NDArray[Any]


def effective_weight(module: Module, name: str) -> Array:
    """What the forward multiplies by: ``orig * mask`` if ``name`` is pruned, else the parameter.

    Example:
        >>> from tinytorch.layers import Linear
        >>> effective_weight(Linear(3, 2), "weight").shape
        (2, 3)
    """
    if _hook_of(module, name) is not None:
        result: Array = getattr(module, name + "_orig").data * getattr(module, name + "_mask").data
        return result
    param = module._parameters.get(name)
    if param is None:
        raise ValueError(f"effective_weight: {type(module).__name__} has no parameter {name!r}")
    return param.data


def prunable_parameters(model: Module) -> list[tuple[Module, str]]:
    """``(module, "weight")`` for every module whose weight has 2 or more dimensions (Linear,
    Conv2d, Embedding), pruned or not, in the order of ``model.modules()``.

    Example:
        >>> from tinytorch.layers import Linear, Sequential
        >>> [n for _, n in prunable_parameters(Sequential(Linear(2, 3), Linear(3, 1)))]
        ['weight', 'weight']
    """
    found = []
    for module in model.modules():
        has = _hook_of(module, "weight") is not None or module._parameters.get("weight") is not None
        if has and effective_weight(module, "weight").ndim >= 2:
            found.append((module, "weight"))
    return found


@dataclass(frozen=True)
class LayerSparsity:
    """The zeros of one tensor: ``zeros`` of ``total`` entries.

    Example:
        >>> LayerSparsity("0.weight", 3, 4).fraction
        0.75
    """

    name: str
    zeros: int
    total: int

    @property
    def fraction(self) -> float:
        """``zeros / total`` (0 for an empty tensor)."""
        return self.zeros / self.total if self.total else 0.0


@dataclass(frozen=True)
class SparsityReport:
    """Per-tensor sparsity and the total over the tensors reported.

    Example:
        >>> r = SparsityReport((LayerSparsity("a", 1, 4), LayerSparsity("b", 3, 4)))
        >>> r.zeros, r.total, r.fraction
        (4, 8, 0.5)
    """

    layers: tuple[LayerSparsity, ...]

    @property
    def zeros(self) -> int:
        """Zero entries, all tensors together."""
        return sum(layer.zeros for layer in self.layers)

    @property
    def total(self) -> int:
        """Entries, all tensors together."""
        return sum(layer.total for layer in self.layers)

    @property
    def fraction(self) -> float:
        """Overall sparsity: ``zeros / total``."""
        return self.zeros / self.total if self.total else 0.0

    def __str__(self) -> str:
        width = max([len(layer.name) for layer in self.layers] + [7])
        lines = [f"{'tensor':<{width}}  {'zeros':>8}  {'of':>8}  sparsity"]
        for layer in [*self.layers, LayerSparsity("overall", self.zeros, self.total)]:
            lines.append(
                f"{layer.name:<{width}}  {layer.zeros:>8}  {layer.total:>8}  {layer.fraction:>8.2%}"
            )
        return "\n".join(lines)


def sparsity_report(
    model: Module, parameters: Iterable[tuple[Module, str]] | None = None
) -> SparsityReport:
    """The exact sparsity of ``parameters`` (default: :func:`prunable_parameters`), each named
    by its dotted path in ``model``.

    Example:
        >>> from tinytorch.layers import Linear, Sequential
        >>> from tinytorch.compression import l1_unstructured
        >>> model = Sequential(Linear(4, 4), Linear(4, 2))
        >>> _ = l1_unstructured(model[0], "weight", 0.5)
        >>> print(sparsity_report(model))
        tensor       zeros        of  sparsity
        0.weight         8        16    50.00%
        1.weight         0         8     0.00%
        overall          8        24    33.33%
    """
    targets = prunable_parameters(model) if parameters is None else list(parameters)
    paths = {id(m): p for p, m in model.named_modules()}
    layers = []
    for module, name in targets:
        w = effective_weight(module, name)
        prefix = paths.get(id(module), type(module).__name__)
        label = f"{prefix}.{name}" if prefix else name
        layers.append(LayerSparsity(label, int(np.count_nonzero(w == 0)), int(w.size)))
    return SparsityReport(tuple(layers))


def _masked(targets: Sequence[tuple[Module, str]]) -> int:
    """Entries the masks in place already prune."""
    return sum(
        int(np.count_nonzero(getattr(m, n + "_mask").data == 0))
        for m, n in targets
        if _hook_of(m, n) is not None
    )


def iterative_pruning(
    parameters: Iterable[tuple[Module, str]],
    amount: float,
    steps: int,
    fine_tune: Callable[[int], object] | None = None,
    *,
    pruning_method: type[BasePruningMethod] = L1Unstructured,
    schedule: Literal["linear", "cubic"] = "linear",
) -> list[SparsityReport]:
    """Prune ``parameters`` globally to the fraction ``amount`` in ``steps`` steps, calling
    ``fine_tune(step)`` after each (1-based); returns the sparsity after each step.

    ``schedule="cubic"`` prunes most at the start: ``target_k = amount * (1 - (1 - k/steps)**3)``.

    Example:
        >>> from tinytorch.layers import Linear
        >>> layer = Linear(10, 10)
        >>> reports = iterative_pruning([(layer, "weight")], 0.9, steps=3)
        >>> [round(r.fraction, 2) for r in reports]
        [0.3, 0.6, 0.9]
    """
    targets = list(parameters)
    fraction = validate_amount("iterative_pruning", amount)
    if isinstance(fraction, int):
        raise TypeError(f"iterative_pruning: amount must be a fraction in [0, 1], got {amount!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"iterative_pruning: steps must be an int >= 1, got {steps!r}")
    if schedule not in ("linear", "cubic"):
        raise ValueError(
            f"iterative_pruning: schedule must be 'linear' or 'cubic', got {schedule!r}"
        )
    if not targets:
        raise ValueError("iterative_pruning: no parameters to prune")
    total = sum(effective_weight(m, n).size for m, n in targets)
    reports = []
    for k in range(1, steps + 1):
        progress = k / steps if schedule == "linear" else 1 - (1 - k / steps) ** 3
        goal = round(fraction * progress * total)
        # A count, not a fraction: each step's fraction of what remains would round on its own.
        global_unstructured(targets, pruning_method, amount=max(goal - _masked(targets), 0))
        if fine_tune is not None:
            fine_tune(k)
        reports.append(SparsityReport(tuple(_report_layers(targets))))
    return reports


def _report_layers(targets: Sequence[tuple[Module, str]]) -> list[LayerSparsity]:
    out = []
    for i, (module, name) in enumerate(targets):
        w = effective_weight(module, name)
        out.append(
            LayerSparsity(f"{i}:{type(module).__name__}.{name}", int(np.sum(w == 0)), w.size)
        )
    return out
