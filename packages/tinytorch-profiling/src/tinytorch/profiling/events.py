"""What a profile records: one event per op run, per gradient rule run, per region.

The profiler turns what the observation point of tinytorch-tensor reports into these plain,
frozen records, which hold no tensor and no array: shapes, dtypes, byte counts, the op's
scalar attributes and the clock. Everything downstream (the FLOP formulas, the tables, the
trace, the roofline) reads only these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Shape = tuple[int, ...]


@dataclass(frozen=True)
class OpEvent:
    """One op's forward, as recorded.

    ``module`` is the dotted path of the innermost module running when the op ran
    (``"h.0.attn"``; the root model's own ops have ``""``; an op outside every module ``None``).
    ``attrs`` keeps the op's public scalar attributes (ints, floats, strings, tuples of them);
    arrays it saved for backward are left out. ``start_ns``/``end_ns`` are
    ``time.perf_counter_ns()`` readings (see :class:`tinytorch.tensor.graph.Observer`).

    Example:
        >>> e = OpEvent("matmul", "fc", ((2, 3), (3, 4)), ("float32", "float32"), (False, True),
        ...             {}, (2, 4), "float32", 32, 0, 1_000)
        >>> e.duration_ns, e.input_bytes
        (1000, 72)
    """

    op: str
    module: str | None
    input_shapes: tuple[Shape, ...]
    input_dtypes: tuple[str, ...]
    requires_grad: tuple[bool, ...]
    attrs: Mapping[str, Any]
    out_shape: Shape
    out_dtype: str
    out_nbytes: int
    start_ns: int
    end_ns: int
    root: str | None = None  # the class of the outermost module running (``"GPT"``)

    @property
    def duration_ns(self) -> int:
        """Nanoseconds from the previous observed event to this op's record."""
        return self.end_ns - self.start_ns

    @property
    def input_bytes(self) -> int:
        """Bytes of the op's tensor inputs (shape times dtype size)."""
        return sum(
            _numel(shape) * _itemsize(dtype)
            for shape, dtype in zip(self.input_shapes, self.input_dtypes, strict=True)
        )


@dataclass(frozen=True)
class RuleEvent:
    """One gradient rule the backward engine ran, for the op of ``forward``.

    ``computed[i]`` says whether the rule returned a gradient for input ``i`` (an input that
    needs none gets ``None``, and costs nothing).

    Example:
        >>> f = OpEvent("mul", None, ((3,), (3,)), ("float32",) * 2, (True, False), {}, (3,),
        ...             "float32", 12, 0, 10)
        >>> RuleEvent(f, (True, False), 50, 80).duration_ns
        30
    """

    forward: OpEvent
    computed: tuple[bool, ...]
    start_ns: int
    end_ns: int
    # Time inside the rule that other events account for: ops and rules it ran itself (a
    # checkpoint's recompute) and the profiler's own time meanwhile.
    nested_ns: int = 0

    @property
    def op(self) -> str:
        """The op whose gradient this is."""
        return self.forward.op

    @property
    def module(self) -> str | None:
        """The module path the op's forward ran in."""
        return self.forward.module

    @property
    def duration_ns(self) -> int:
        """Nanoseconds the rule itself took (summing its gradients into the pending ones
        included, what it ran through other ops and rules excluded)."""
        return self.end_ns - self.start_ns - self.nested_ns


@dataclass(frozen=True)
class RegionEvent:
    """A region: a module's forward (``kind="module"``, ``name`` its path, ``label`` its
    class), or a :func:`record_function` region (``kind="region"``: the optimizer step, the
    backward pass, a user's block).

    Example:
        >>> RegionEvent("module", "h.0", "Block", 0, 2_000, depth=1).duration_ns
        2000
    """

    kind: str
    name: str
    label: str
    start_ns: int
    end_ns: int
    depth: int = 0
    overhead_ns: int = 0  # the profiler's own time inside the region

    @property
    def duration_ns(self) -> int:
        """Nanoseconds from entry to exit, less the profiler's own time inside."""
        return self.end_ns - self.start_ns - self.overhead_ns


def _numel(shape: Shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _itemsize(dtype: str) -> int:
    return int(np.dtype(dtype).itemsize)
