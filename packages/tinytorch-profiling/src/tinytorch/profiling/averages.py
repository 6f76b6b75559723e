"""``key_averages()``: a profile's ops grouped by name, and the table it prints.

One row per op (or per op and input shapes): how often it ran, its forward time, the time of
its gradient rule in backward, their sum and share of the whole, its FLOPs (forward and
backward, from :mod:`tinytorch.profiling.flops`) and the bytes of its outputs. Each
``record_function`` region (the optimizer's step, the engine's ``autograd::backward``, each
leaf's ``AccumulateGrad``) has a row too, with its self time: what it cost apart from its ops.
Rows sort by any column (:data:`SORT_KEYS`), as ``torch.profiler``'s
``table(sort_by=..., row_limit=...)`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tinytorch.profiling.events import Shape
from tinytorch.profiling.flops import Flops, backward_flops, forward_flops

if TYPE_CHECKING:
    from tinytorch.profiling.profiler import profile

__all__ = ["SORT_KEYS", "EventList", "OpAverage"]


@dataclass
class OpAverage:
    """The totals of one op (and, when grouped so, one set of input shapes).

    Example:
        >>> row = OpAverage("matmul", count=2, forward_ns=3_000, backward_ns=5_000)
        >>> row.total_ns, row.forward_avg_ns
        (8000, 1500.0)
    """

    key: str
    input_shapes: tuple[Shape, ...] | None = None
    count: int = 0
    forward_ns: int = 0
    backward_ns: int = 0
    backward_count: int = 0
    region_ns: int = 0  # a region's self time (a region row has no forward or backward)
    flops: Flops = field(default_factory=Flops)
    output_bytes: int = 0
    is_region: bool = False

    @property
    def total_ns(self) -> int:
        """Forward plus backward nanoseconds (a region's self time, for a region row)."""
        return self.forward_ns + self.backward_ns + self.region_ns

    @property
    def forward_avg_ns(self) -> float:
        """Mean forward nanoseconds per call."""
        return self.forward_ns / self.count if self.count else 0.0


#: ``table(sort_by=...)`` keys (PyTorch's names where PyTorch has one), each largest first.
SORT_KEYS: dict[str, Callable[[OpAverage], float]] = {
    "cpu_time_total": lambda r: r.total_ns,
    "self_cpu_time_total": lambda r: r.forward_ns,
    "backward_time_total": lambda r: r.backward_ns,
    "region_time_total": lambda r: r.region_ns,
    "cpu_time": lambda r: r.forward_avg_ns,
    "count": lambda r: r.count,
    "flops": lambda r: r.flops.total,
    "output_bytes": lambda r: r.output_bytes,
}


class EventList:
    """The rows of :meth:`profile.key_averages`, in first-seen order; iterate or print them.

    Example:
        >>> from tinytorch.profiling import profile
        >>> from tinytorch.tensor import ones
        >>> with profile() as prof:
        ...     _ = (ones(4, 4) @ ones(4, 4)).exp()
        >>> print(prof.key_averages().table(sort_by="flops", row_limit=1).splitlines()[2][:6])
        matmul
    """

    def __init__(self, rows: list[OpAverage], wall_ns: int) -> None:
        self.rows = rows
        self.wall_ns = wall_ns

    @classmethod
    def from_profile(cls, prof: profile, group_by_input_shape: bool = False) -> EventList:
        """Group ``prof``'s ops and rules by op name (and input shapes)."""
        rows: dict[tuple[str, tuple[Shape, ...] | None], OpAverage] = {}

        def row(op: str, shapes: tuple[Shape, ...]) -> OpAverage:
            key = (op, shapes if group_by_input_shape else None)
            found = rows.get(key)
            if found is None:
                found = rows[key] = OpAverage(op, key[1])
            return found

        from tinytorch.profiling.profiler import region_self_times

        # BEGIN SOLUTION key-averages
        # HINT: one row per op name (and input shapes, when grouping by them): each forward
        # HINT: event adds a call, its time, its FLOPs and its output bytes; each backward rule
        # HINT: adds to its forward op's row a backward call, its time and its FLOPs; each
        # HINT: record_function region gets its own row with its self time.
        # TESTS: table or rows or grouping or trace or workloads or command
        for e in prof.ops:
            r = row(e.op, e.input_shapes)
            r.count += 1
            r.forward_ns += e.duration_ns
            r.flops = r.flops + forward_flops(e)
            r.output_bytes += e.out_nbytes
        for rule in prof.rules:
            r = row(rule.op, rule.forward.input_shapes)
            r.backward_count += 1
            r.backward_ns += rule.duration_ns
            r.flops = r.flops + backward_flops(rule)
        for region, self_ns in region_self_times(prof):
            key = (region.name, None)
            found = rows.get(key)
            if found is None:
                found = rows[key] = OpAverage(region.name, is_region=True)
            found.count += 1
            found.region_ns += self_ns
        # END SOLUTION
        return cls(list(rows.values()), prof.wall_ns)

    def __iter__(self) -> Iterator[OpAverage]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def sorted(self, sort_by: str = "cpu_time_total") -> list[OpAverage]:
        """The rows, largest first by ``sort_by`` (one of :data:`SORT_KEYS`)."""
        key = SORT_KEYS.get(sort_by)
        if key is None:
            raise ValueError(
                f"table: unknown sort_by {sort_by!r}; valid keys are {', '.join(SORT_KEYS)}"
            )
        return sorted(self.rows, key=key, reverse=True)

    def table(self, sort_by: str = "cpu_time_total", row_limit: int = 100) -> str:
        """The rows as an aligned text table, ``row_limit`` of them (``-1``: all), and a total.

        Times are in milliseconds; "% total" is the row's forward + backward time over the
        profile's wall-clock time; FLOPs count forward and backward.
        """
        if not isinstance(row_limit, int) or row_limit < -1:
            raise ValueError(f"table: row_limit must be an int >= -1, got {row_limit!r}")
        rows = self.sorted(sort_by)
        shown = rows if row_limit == -1 else rows[:row_limit]
        with_shapes = any(r.input_shapes is not None for r in shown)
        header = [
            "Name",
            "Calls",
            "Forward ms",
            "Fwd avg us",
            "Backward ms",
            "Region ms",
            "Total ms",
            "% total",
            "FLOPs",
            "Output MB",
        ]
        if with_shapes:
            header.append("Input shapes")
        lines = [header]
        for r in shown:
            cells = [
                r.key,
                str(r.count),
                f"{r.forward_ns / 1e6:.3f}",
                f"{r.forward_avg_ns / 1e3:.1f}",
                f"{r.backward_ns / 1e6:.3f}",
                f"{r.region_ns / 1e6:.3f}",
                f"{r.total_ns / 1e6:.3f}",
                f"{r.total_ns / self.wall_ns:.1%}" if self.wall_ns else "-",
                _si(r.flops.total),
                f"{r.output_bytes / 1e6:.3f}",
            ]
            if with_shapes:
                cells.append(str(list(r.input_shapes or ())))
            lines.append(cells)
        total_ns = sum(r.total_ns for r in rows)
        footer = (
            f"{len(shown)} of {len(rows)} rows shown; all rows: {total_ns / 1e6:.3f} ms of "
            f"{self.wall_ns / 1e6:.3f} ms wall-clock, "
            f"{_si(sum(r.flops.total for r in rows))} FLOPs "
            f"({_si(sum(r.flops.matmul for r in rows))} in matmul-like ops)"
        )
        return _render(lines) + "\n" + footer


def _si(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def aligned_rows(cells: Sequence[Sequence[str]]) -> list[str]:
    """Rows of cells as text, the first column left-aligned, the others right-aligned: the one
    layout of every table this package prints.

    Example:
        >>> aligned_rows([["op", "ms"], ["matmul", "1.5"]])
        ['op       ms', 'matmul  1.5']
    """
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return [
        "  ".join(
            [
                row[0].ljust(widths[0]),
                *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
            ]
        )
        for row in cells
    ]


def _render(lines: list[list[str]]) -> str:
    """The header, a rule of dashes under each column, the rows."""
    dashes = [["-" * max(len(line[i]) for line in lines) for i in range(len(lines[0]))]]
    header, rule, *rows = aligned_rows([lines[0], *dashes, *lines[1:]])
    return "\n".join(line.rstrip() for line in (header, rule, *rows))
