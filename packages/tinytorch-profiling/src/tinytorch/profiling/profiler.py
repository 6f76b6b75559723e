"""``profile()``: record every op, gradient rule, module and region of a run, with its time.

Nothing is wrapped or patched. The profiler is an :class:`~tinytorch.tensor.graph.Observer` of
tinytorch-tensor's observation point (every op passes through ``record``; the backward engine
reports each rule it runs; ``record_function`` marks regions such as the optimizer step), and it
attributes ops to module paths through the global forward hooks of tinytorch-layers.

How time is attributed. An op's time runs from the previous observed event (the op before it,
a module's entry or exit, a region's boundary, the end of a gradient rule) to the moment its
output is recorded: its own compute plus the Python that prepared its arguments. A gradient
rule is timed by the engine around the rule and the summing of what it returned. Time the
profiler spends in its own callbacks is measured (``overhead_ns``), charged to no op, and taken
out of ``wall_ns``, so the coverage ``(forward + backward) / wall`` compares like with like.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tinytorch.layers import (
    Module,
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from tinytorch.profiling.events import OpEvent, RegionEvent, RuleEvent
from tinytorch.tensor import Tensor, graph

if TYPE_CHECKING:
    from tinytorch.profiling.averages import EventList

__all__ = ["Coverage", "profile"]

Array = npt.NDArray[Any]
_SCALARS = (bool, int, float, str, type(None), np.integer, np.floating, np.bool_)


@dataclass(frozen=True)
class Coverage:
    """How much of a profiled run's wall-clock time its measured events account for.

    ``forward_ns`` sums the ops' times, ``backward_ns`` the gradient rules', ``regions_ns`` the
    self time of ``record_function`` regions (the optimizer's update, the engine's bookkeeping,
    each leaf's AccumulateGrad). What none covers is the caller's own Python between them.

    Example:
        >>> c = Coverage(forward_ns=60, backward_ns=30, regions_ns=5, wall_ns=100)
        >>> c.ops_fraction, c.fraction
        (0.9, 0.95)
    """

    forward_ns: int
    backward_ns: int
    regions_ns: int
    wall_ns: int

    @property
    def ops_fraction(self) -> float:
        """(forward op time + backward rule time) / wall-clock time."""
        return (self.forward_ns + self.backward_ns) / self.wall_ns if self.wall_ns else 0.0

    @property
    def fraction(self) -> float:
        """(ops + rules + regions' self time) / wall-clock time: all the profile measured."""
        measured = self.forward_ns + self.backward_ns + self.regions_ns
        return measured / self.wall_ns if self.wall_ns else 0.0

    def __str__(self) -> str:
        ms = 1e-6
        return (
            f"measured {self.fraction:.1%} of {self.wall_ns * ms:.3f} ms wall-clock: ops "
            f"{self.ops_fraction:.1%} (forward {self.forward_ns * ms:.3f} ms, backward rules "
            f"{self.backward_ns * ms:.3f} ms), regions' own time {self.regions_ns * ms:.3f} ms"
        )


class profile(graph.Observer):  # lower case: PyTorch's name, torch.profiler.profile
    """Record what runs inside the ``with`` block, op by op and module by module.

    ``ops``, ``rules`` and ``regions`` hold the events in the order they ended;
    :meth:`key_averages` groups them into a table, :meth:`export_chrome_trace` writes a trace
    that Perfetto (ui.perfetto.dev) and chrome://tracing open, :meth:`coverage` says how much
    of the time the ops account for.

    Example:
        >>> from tinytorch.layers import Linear, Sequential
        >>> from tinytorch.tensor import Generator, ones
        >>> model = Sequential(Linear(4, 8, generator=Generator(0)), Linear(8, 1))
        >>> with profile() as prof:
        ...     model(ones(2, 4)).sum().backward()
        >>> [(e.op, e.module) for e in prof.ops][:3]
        [('permute', '0'), ('matmul', '0'), ('add', '0')]
        >>> [r.op for r in prof.rules][:2]
        ['sum', 'add']
    """

    def __init__(self) -> None:
        self.ops: list[OpEvent] = []
        self.rules: list[RuleEvent] = []
        self.regions: list[RegionEvent] = []
        self.start_ns = 0
        self.end_ns = 0
        self._hook_ns = 0  # time in the profiler's module hooks
        self._observed_at_start = 0
        self._observed_at_end = 0
        self._forward_of: dict[int, tuple[graph.Node, OpEvent]] = {}
        # (module, path, class, start, overhead so far): the modules running, outermost first
        self._modules: list[tuple[Module, str, str, int, int]] = []
        self._root_names: dict[int, dict[int, str]] = {}
        self._open_regions: list[tuple[str, int, int]] = []  # (name, start, overhead so far)
        self._handles: list[graph.RemovableHandle] = []
        self._active = False
        # (time, profiler's time so far) at the end of each op and rule: what a rule that
        # nests others subtracts.
        self._overhead_log_t: list[int] = []
        self._overhead_log_v: list[int] = []

    # ---- the context manager --------------------------------------------------------------
    def __enter__(self) -> profile:
        if self._active:
            raise RuntimeError("profile: this profiler is already running")
        self._active = True
        self._handles = [
            register_module_forward_pre_hook(self._enter_module),
            register_module_forward_hook(self._exit_module, always_call=True),
            graph.add_observer(self),
        ]
        self._observed_at_start = graph.observer_time_ns()
        self.start_ns = time.perf_counter_ns()
        graph.mark()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.end_ns = time.perf_counter_ns()
        self._observed_at_end = graph.observer_time_ns()
        for handle in self._handles:
            handle.remove()
        self._handles = []
        # A forward that raised never reached its modules' exit hooks: close them here.
        while self._modules:
            self._close_module(self.end_ns)
        while self._open_regions:
            name, start, before = self._open_regions.pop()
            spent = self.overhead_ns - before
            self.regions.append(RegionEvent("region", name, name, start, self.end_ns, 0, spent))
        self._forward_of.clear()  # the graph's nodes are not kept alive by the profile
        self._active = False

    # ---- what the observation point reports ----------------------------------------------
    def on_op(
        self,
        op: str,
        inputs: tuple[Tensor, ...],
        attrs: dict[str, Any],
        out: Tensor,
        start_ns: int,
        end_ns: int,
    ) -> None:
        module, root = self._where()
        event = _op_event(op, inputs, attrs, out, module, root, start_ns, end_ns)
        self.ops.append(event)
        node = out._node
        if node is not None:
            self._forward_of[id(node)] = (node, event)
        self._log_overhead(end_ns)

    def on_rule(
        self, node: graph.Node, grads: Sequence[Array | None], start_ns: int, end_ns: int
    ) -> None:
        known = self._forward_of.get(id(node))
        if known is not None and known[0] is node:
            forward = known[1]
        else:  # recorded before the profile began: its shapes are still on the node
            forward = _op_event(
                node.op, node.inputs, node.attrs, Tensor._wrap(node.out), None, None, 0, 0
            )
        computed = tuple(g is not None for g in grads)
        nested = self._nested_ns(start_ns)
        self.rules.append(RuleEvent(forward, computed, start_ns, end_ns, nested))
        self._log_overhead(end_ns)

    def on_region(self, name: str, entering: bool, t_ns: int) -> None:
        if entering:
            self._open_regions.append((name, t_ns, self._overhead_now()))
            return
        for i in range(len(self._open_regions) - 1, -1, -1):
            if self._open_regions[i][0] == name:
                _, start, before = self._open_regions.pop(i)
                spent = self._overhead_now() - before
                depth = len(self._modules)
                self.regions.append(RegionEvent("region", name, name, start, t_ns, depth, spent))
                break

    def _nested_ns(self, start_ns: int) -> int:
        """Time of the events that ran inside a rule begun at ``start_ns`` (a rule that runs
        ops and a backward of its own, as checkpoint's does), with the profiler's time then.

        Events are appended as they end, so the nested ones are the last ones, ended after
        ``start_ns``; most rules have none and stop at the first look. A nested region (the
        inner backward) counts whole, the ops and rules inside it with it; the first op of a
        recompute began at the previous event, before the rule: only its part inside counts."""
        regions = []
        for r in reversed(self.regions):
            if r.end_ns <= start_ns:
                break
            if r.kind == "region" and r.start_ns >= start_ns:
                regions.append(r)
        outer = [r for r in regions if not any(o is not r and _inside(r, o) for o in regions)]
        nested = sum(r.duration_ns for r in outer)
        nested += _time_since(self.ops, start_ns, outer) + _time_since(self.rules, start_ns, outer)
        if nested:
            spent = self._overhead_now() - self._overhead_before(start_ns)
            nested += spent - sum(r.overhead_ns for r in outer)
        return nested

    def _log_overhead(self, t_ns: int) -> None:
        self._overhead_log_t.append(t_ns)
        self._overhead_log_v.append(self._overhead_now())

    def _overhead_before(self, t_ns: int) -> int:
        """The profiler's own time up to ``t_ns``, from the log kept at each event's end."""
        i = bisect.bisect_right(self._overhead_log_t, t_ns)
        return self._overhead_log_v[i - 1] if i else 0

    def _overhead_now(self) -> int:
        """The profiler's own time since it started, up to the event being reported."""
        return graph.observer_time_ns() - self._observed_at_start + self._hook_ns

    # ---- modules, through the global forward hooks ---------------------------------------
    def _enter_module(self, module: Module, args: tuple[Any, ...]) -> None:
        now = time.perf_counter_ns()
        if not self._modules:
            names = self._root_names.get(id(module))
            if names is None:
                names = {id(m): name for name, m in module.named_modules()}
                self._root_names[id(module)] = names
            path = ""
        else:
            parent_path = self._modules[-1][1]
            names = self._root_names[id(self._modules[0][0])]
            path = names.get(id(module)) or ".".join(
                p for p in (parent_path, type(module).__name__) if p
            )
        self._modules.append((module, path, type(module).__name__, now, self._overhead_now()))
        graph.mark()
        self._hook_ns += time.perf_counter_ns() - now

    def _exit_module(self, module: Module, args: tuple[Any, ...], output: Any) -> None:
        now = time.perf_counter_ns()
        # Pop to this module (a child's exit always runs, even when its forward raised, so
        # this is a guard against a module left open by a hook registered mid-forward).
        while self._modules and self._modules[-1][0] is not module:
            self._close_module(now)
        if self._modules:
            self._close_module(now)
        graph.mark()
        self._hook_ns += time.perf_counter_ns() - now

    def _close_module(self, end_ns: int) -> None:
        _module, path, label, start, before = self._modules.pop()
        root = self._modules[0][2] if self._modules else label
        spent = self._overhead_now() - before
        depth = len(self._modules)
        self.regions.append(RegionEvent("module", path or root, label, start, end_ns, depth, spent))

    def _where(self) -> tuple[str | None, str | None]:
        if not self._modules:
            return None, None
        return self._modules[-1][1], self._modules[0][2]

    # ---- results ------------------------------------------------------------------------
    @property
    def overhead_ns(self) -> int:
        """Nanoseconds the profiler itself took (its observer callbacks and module hooks)."""
        end = self._observed_at_end if not self._active else graph.observer_time_ns()
        return end - self._observed_at_start + self._hook_ns

    @property
    def wall_ns(self) -> int:
        """Nanoseconds the ``with`` block ran, less the profiler's own measured overhead."""
        return self.end_ns - self.start_ns - self.overhead_ns

    def coverage(self) -> Coverage:
        """How much of :attr:`wall_ns` the ops' forward times and the backward rules cover.

        Example:
            >>> from tinytorch.tensor import ones
            >>> with profile() as prof:
            ...     _ = ones(256, 256) @ ones(256, 256)
            >>> 0.0 < prof.coverage().fraction <= 1.0
            True
        """
        forward = sum(e.duration_ns for e in self.ops)
        backward = sum(r.duration_ns for r in self.rules)
        in_regions = sum(t for _, t in region_self_times(self))
        return Coverage(forward, backward, in_regions, self.wall_ns)

    def key_averages(self, group_by_input_shape: bool = False) -> EventList:
        """The ops grouped by name (and input shapes, if asked), with calls, forward and
        backward time, FLOPs and output bytes; ``.table(sort_by=..., row_limit=...)`` prints.

        Example:
            >>> from tinytorch.tensor import ones
            >>> with profile() as prof:
            ...     _ = ones(2, 3) @ ones(3, 4)
            >>> [row.key for row in prof.key_averages()]
            ['matmul']
        """
        from tinytorch.profiling.averages import EventList

        return EventList.from_profile(self, group_by_input_shape)

    def export_chrome_trace(self, path: str | Path) -> Path:
        """Write the run as Trace Event Format JSON (Perfetto, chrome://tracing): modules
        with their ops nested inside on the forward track, regions beside them, the gradient
        rules on a backward track.

        Example:
            >>> import json, tempfile
            >>> from tinytorch.tensor import ones
            >>> with profile() as prof:
            ...     _ = ones(2, 3) @ ones(3, 4)
            >>> out = prof.export_chrome_trace(Path(tempfile.mkdtemp()) / "t.json")
            >>> [e["name"] for e in json.loads(out.read_text())["traceEvents"] if e["ph"] == "X"]
            ['matmul']
        """
        from tinytorch.profiling.trace import write_chrome_trace

        return write_chrome_trace(self, Path(path))


def _inside(e: OpEvent | RuleEvent | RegionEvent, outer: RegionEvent) -> bool:
    return outer.start_ns <= e.start_ns and e.end_ns <= outer.end_ns


def _time_since(
    events: Sequence[OpEvent | RuleEvent], start_ns: int, regions: list[RegionEvent]
) -> int:
    """The time of the last ``events``, those that ended after ``start_ns`` (only their part
    after it), that none of ``regions`` already holds."""
    total = 0
    for e in reversed(events):
        if e.end_ns <= start_ns:
            break
        if not any(_inside(e, r) for r in regions):
            total += min(e.duration_ns, e.end_ns - start_ns)
    return total


def _op_event(
    op: str,
    inputs: tuple[Tensor, ...],
    attrs: dict[str, Any],
    out: Tensor,
    module: str | None,
    root: str | None,
    start_ns: int,
    end_ns: int,
) -> OpEvent:
    data = out.data
    return OpEvent(
        op,
        module,
        tuple([x.data.shape for x in inputs]),
        tuple([_dtype_name(x.data.dtype) for x in inputs]),
        tuple([x.requires_grad for x in inputs]),
        {k: v for k, v in attrs.items() if _is_scalar(v) and not k.startswith("_")},
        data.shape,
        _dtype_name(data.dtype),
        data.nbytes,
        start_ns,
        end_ns,
        root,
    )


_dtype_names: dict[np.dtype[Any], str] = {}


def _dtype_name(dtype: np.dtype[Any]) -> str:
    # dtype.name builds a new string on every read (about 1.5 us): once per dtype is enough.
    name = _dtype_names.get(dtype)
    if name is None:
        name = _dtype_names[dtype] = dtype.name
    return name


def _is_scalar(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_is_scalar(v) for v in value)
    return isinstance(value, _SCALARS)


def region_self_times(prof: profile) -> list[tuple[RegionEvent, int]]:
    """Each ``record_function`` region with its self time: its duration less the ops, rules and
    regions inside it (what the optimizer's update, the engine's own bookkeeping or a leaf's
    AccumulateGrad cost, apart from the ops they ran).

    Example:
        >>> from tinytorch.tensor import graph, ones
        >>> with profile() as prof:
        ...     with graph.record_function("outer"):
        ...         _ = ones(2) + 1
        >>> [(r.name, 0 <= t <= r.duration_ns) for r, t in region_self_times(prof)]
        [('outer', True)]
    """
    regions = sorted(
        (r for r in prof.regions if r.kind == "region"), key=lambda r: (r.start_ns, -r.end_ns)
    )
    timed: list[OpEvent | RuleEvent] = [*prof.ops, *prof.rules]
    result = []
    # BEGIN SOLUTION region-self-time
    # HINT: a region's self time is its duration less every op and rule inside it, less its
    # HINT: direct child regions' own self time (a grandchild's is already out of its parent's);
    # HINT: never below zero.
    # TESTS: regions or rows_count or workloads or command
    for i, region in enumerate(regions):
        inside = region.duration_ns
        for e in timed:
            if region.start_ns <= e.start_ns and e.end_ns <= region.end_ns:
                inside -= e.duration_ns
        # Direct children only: a grandchild's time is already out of its parent's.
        children = [
            r
            for r in regions[i + 1 :]
            if region.start_ns <= r.start_ns and r.end_ns <= region.end_ns and r is not region
        ]
        for child in children:
            if not any(
                other is not child
                and other.start_ns <= child.start_ns
                and child.end_ns <= other.end_ns
                for other in children
            ):
                inside -= child.duration_ns - sum(
                    t.duration_ns
                    for t in timed
                    if child.start_ns <= t.start_ns and t.end_ns <= child.end_ns
                )
        result.append((region, max(inside, 0)))
    # END SOLUTION
    return result


def profiled(fn: Callable[[], Any]) -> profile:
    """Run ``fn()`` under a fresh :class:`profile` and return the profile.

    Example:
        >>> from tinytorch.tensor import ones
        >>> profiled(lambda: ones(2, 2) + 1).ops[0].op
        'add'
    """
    with profile() as prof:
        fn()
    return prof
