"""Count a model's FLOPs by running it (``count_flops``) and summarize it layer by layer, like
torchinfo (``summary``).

Both run the model once under :class:`~tinytorch.profiling.profiler.profile` and add up the
formulas of :mod:`tinytorch.profiling.flops` over the ops it recorded: what ran is what is
counted, so a branch not taken or a layer called twice is counted as it ran.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.layers import Module, register_module_forward_hook
from tinytorch.profiling.averages import aligned_rows
from tinytorch.profiling.events import OpEvent, RuleEvent, Shape
from tinytorch.profiling.flops import Flops, backward_flops, forward_flops, unknown_ops
from tinytorch.profiling.profiler import profile
from tinytorch.tensor import Tensor

__all__ = ["FlopCount", "Summary", "SummaryRow", "count_flops", "summary", "tally"]

NO_MODULE = "(no module)"


@dataclass(frozen=True)
class FlopCount:
    """The FLOPs of one run, by class, pass, op and module.

    ``total`` is the matmul class over forward and backward: the number
    ``torch.utils.flop_counter.FlopCounterMode.get_total_flops()`` gives for the same model.
    ``by_module`` is keyed by the innermost module each op ran in (``""`` the root model's
    own ops, ``"(no module)"`` ops outside every module); it does not include children, so its
    values add up to the whole. ``unknown`` lists op names the tables count as zero.

    Example:
        >>> from tinytorch.tensor import ones
        >>> fc = count_flops(lambda a, b: a @ b + 1, ones(2, 3), ones(3, 4))
        >>> fc.total, fc.elementwise, fc.by_module
        (48, 8, {'(no module)': Flops(matmul=48, elementwise=8, reduction=0)})
    """

    forward: Flops
    backward: Flops
    by_op: dict[str, Flops] = field(default_factory=dict)
    by_module: dict[str, Flops] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        """Matmul-class FLOPs, forward plus backward (PyTorch's counter's number)."""
        return self.forward.matmul + self.backward.matmul

    @property
    def elementwise(self) -> int:
        """Elementwise FLOPs, forward plus backward."""
        return self.forward.elementwise + self.backward.elementwise

    @property
    def reduction(self) -> int:
        """Reduction FLOPs, forward plus backward."""
        return self.forward.reduction + self.backward.reduction

    def table(self) -> str:
        """One row per op (most FLOPs first), then the totals by pass.

        Example:
            >>> from tinytorch.tensor import ones
            >>> print(count_flops(lambda a, b: a @ b, ones(2, 3), ones(3, 4)).table())
            op        matmul  elementwise  reduction  total
            -----------------------------------------------
            matmul        48            0          0     48
            -----------------------------------------------
            forward       48            0          0     48
            backward       0            0          0      0
        """
        ranked = sorted(self.by_op.items(), key=lambda kv: (-kv[1].total, kv[0]))
        passes = [("forward", self.forward), ("backward", self.backward)]
        cells = [("op", "matmul", "elementwise", "reduction", "total")] + [
            (name, *(str(n) for n in (f.matmul, f.elementwise, f.reduction, f.total)))
            for name, f in [*ranked, *passes]
        ]
        text = aligned_rows(cells)
        rule = "-" * len(text[0])
        lines = [text[0], rule, *text[1 : 1 + len(ranked)], rule, *text[1 + len(ranked) :]]
        if self.unknown:
            lines.append(f"not counted (unknown ops): {', '.join(self.unknown)}")
        return "\n".join(lines)


def tally(ops: Iterable[OpEvent], rules: Iterable[RuleEvent] = ()) -> FlopCount:
    """Add up the FLOPs of recorded ops and gradient rules (what :func:`count_flops` does with
    a profile's events).

    Example:
        >>> e = OpEvent("matmul", "fc", ((7, 3), (3, 4)), ("float32",) * 2, (False, True), {},
        ...             (7, 4), "float32", 112, 0, 1)
        >>> fc = tally([e], [RuleEvent(e, (False, True), 2, 3)])
        >>> fc.total, fc.by_module["fc"].matmul
        (336, 336)
    """
    ops, rules = list(ops), list(rules)
    by_op: dict[str, Flops] = {}
    by_module: dict[str, Flops] = {}

    def add(op: str, module: str | None, flops: Flops) -> Flops:
        by_op[op] = by_op.get(op, Flops()) + flops
        where = NO_MODULE if module is None else module
        by_module[where] = by_module.get(where, Flops()) + flops
        return flops

    forward = sum((add(e.op, e.module, forward_flops(e)) for e in ops), Flops())
    backward = sum((add(r.op, r.module, backward_flops(r)) for r in rules), Flops())
    return FlopCount(forward, backward, by_op, by_module, tuple(unknown_ops([*ops, *rules])))


def count_flops(model_or_fn: Callable[..., Any], *inputs: Any, backward: bool = False) -> FlopCount:
    """Run ``model_or_fn(*inputs)`` and count the FLOPs of every op it ran; with
    ``backward=True`` also of the backward pass from its output.

    The backward pass starts from a gradient of ones (what ``out.sum().backward()`` gives,
    without recording the sum) and accumulates into the parameters' ``.grad`` as a training
    step would. The output must then be one Tensor that requires grad; for a model returning
    several, pass a function that picks one (``lambda x: model(x)[0]``).

    Example:
        >>> from tinytorch.layers import Linear
        >>> from tinytorch.tensor import ones
        >>> fc = count_flops(Linear(3, 4), ones(7, 3), backward=True)
        >>> fc.forward.matmul, fc.backward.matmul, fc.total
        (168, 168, 336)
    """
    with profile() as prof:
        out = model_or_fn(*inputs)
        if backward:
            root = _backward_root(out)
            root.backward(_ones_like(root))
    return tally(prof.ops, prof.rules)


def _backward_root(out: Any) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(
            f"count_flops: backward=True needs the model to return one Tensor, got "
            f"{type(out).__name__}; pass a function that returns the one to differentiate "
            "(e.g. lambda x: model(x)[0])"
        )
    if not out.requires_grad:
        raise ValueError(
            f"count_flops: backward=True but the output (shape {out.shape}) does not require "
            "grad: no parameter or input it depends on requires grad"
        )
    return out


def _ones_like(t: Tensor) -> npt.NDArray[Any]:
    return np.ones(t.shape, dtype=t.dtype)


# ---- summary ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SummaryRow:
    """One module of a :class:`Summary`: its own parameters (not its children's), and the
    forward FLOPs (matmul class) and output of its whole call, children included.

    Example:
        >>> SummaryRow("0", "Linear", ((2, 3),), 15, 60, 24, 24).params
        15
    """

    path: str
    cls: str
    output_shapes: tuple[Shape, ...]
    params: int
    param_bytes: int
    flops: int
    activation_bytes: int
    leaf: bool = True


@dataclass(frozen=True)
class Summary:
    """A torchinfo-style table of a model run on given inputs; ``str()`` renders it.

    Totals: parameters counted once each (a tied weight once), ``trainable_params`` those that
    require grad, ``param_bytes`` from ``p.data.nbytes``, ``flops`` the forward's matmul class,
    ``activation_bytes`` the outputs of the leaf modules (modules without children), as
    torchinfo sums its forward pass size. A module called more than once shows the output of
    its last call, and the FLOPs of all its calls. Activations (``tinytorch.activations``) are
    not Modules: their ops belong to the module that calls them.

    Example:
        >>> from tinytorch.layers import Linear, Sequential
        >>> from tinytorch.tensor import ones
        >>> s = summary(Sequential(Linear(4, 3), Linear(3, 2)), ones(5, 4))
        >>> [(r.path, r.params, r.flops) for r in s.rows]
        [('', 0, 180), ('0', 15, 120), ('1', 8, 60)]
        >>> s.total_params, s.param_bytes, s.flops, s.activation_bytes
        (23, 92, 180, 100)
    """

    rows: tuple[SummaryRow, ...]
    total_params: int
    trainable_params: int
    param_bytes: int
    flops: int
    activation_bytes: int

    def __str__(self) -> str:
        header = ("Layer (path)", "Output shape", "Params", "Param bytes", "FLOPs", "Act. bytes")
        cells = [header] + [
            (
                f"{r.path or '(root)'} ({r.cls})",
                ", ".join(str(s) for s in r.output_shapes) or "--",
                f"{r.params:,}",
                f"{r.param_bytes:,}",
                f"{r.flops:,}",
                f"{r.activation_bytes:,}",
            )
            for r in self.rows
        ]
        text = aligned_rows(cells)
        rule = "=" * len(text[0])
        return "\n".join(
            [
                rule,
                text[0],
                rule,
                *text[1:],
                rule,
                f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                f"Param bytes: {self.param_bytes:,}",
                f"Forward FLOPs (matmul class): {self.flops:,}",
                f"Forward activation bytes (leaf outputs): {self.activation_bytes:,}",
                rule,
            ]
        )


def summary(model: Module, *inputs: Any) -> Summary:
    """Run ``model(*inputs)`` once and tabulate every module: output shapes, parameters,
    parameter bytes, forward FLOPs and output bytes (see :class:`Summary`).

    An input the model rejects raises the model's own error, unchanged.

    Example:
        >>> from tinytorch.layers import Linear
        >>> from tinytorch.tensor import ones
        >>> row = summary(Linear(4, 3), ones(2, 4)).rows[0]
        >>> row.cls, row.output_shapes, row.params, row.param_bytes, row.flops
        ('Linear', ((2, 3),), 15, 60, 48)
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected a Module, got {type(model).__name__}")
    outputs: dict[int, tuple[tuple[Shape, ...], int]] = {}

    def keep_output(module: Module, args: tuple[Any, ...], output: Any) -> None:
        tensors = list(_tensors(output))
        outputs[id(module)] = (tuple(t.shape for t in tensors), sum(t.data.nbytes for t in tensors))

    handle = register_module_forward_hook(keep_output)
    try:
        count = count_flops(model, *inputs)
    finally:
        handle.remove()

    rows = []
    for path, module in model.named_modules():
        own = list(module.parameters(recurse=False))
        shapes, nbytes = outputs.get(id(module), ((), 0))
        rows.append(
            SummaryRow(
                path=path,
                cls=type(module).__name__,
                output_shapes=shapes,
                params=sum(p.data.size for p in own),
                param_bytes=sum(p.data.nbytes for p in own),
                flops=sum(f.matmul for where, f in count.by_module.items() if _under(where, path)),
                activation_bytes=nbytes,
                leaf=next(iter(module.children()), None) is None,
            )
        )
    params = list(model.parameters())
    return Summary(
        rows=tuple(rows),
        total_params=sum(p.data.size for p in params),
        trainable_params=sum(p.data.size for p in params if p.requires_grad),
        param_bytes=sum(p.data.nbytes for p in params),
        flops=count.forward.matmul,
        activation_bytes=sum(r.activation_bytes for r in rows if r.leaf),
    )


def _under(where: str, path: str) -> bool:
    """Whether ops attributed to module path ``where`` ran inside the module at ``path``."""
    if where == NO_MODULE:
        return False
    return path == "" or where == path or where.startswith(path + ".")


def _tensors(output: Any) -> Iterable[Tensor]:
    if isinstance(output, Tensor):
        yield output
    elif isinstance(output, (tuple, list)):
        for item in output:
            yield from _tensors(item)
    elif isinstance(output, dict):
        for item in output.values():
            yield from _tensors(item)
