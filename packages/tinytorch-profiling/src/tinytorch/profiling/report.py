"""From a profile to its roofline and its top costs: what ``python -m tinytorch.profiling`` prints.

Each op kind becomes one roofline point from its forward calls: the FLOPs counted by
:mod:`tinytorch.profiling.flops`, the bytes of its tensor inputs and outputs, and the measured
forward seconds. (Backward rules move arrays the events do not describe byte by byte, so they
are timed in the table but not placed; an op's backward does the same kind of arithmetic as
its forward, and the top costs take its class from there.)
"""

from __future__ import annotations

from dataclasses import dataclass

from tinytorch.profiling.averages import OpAverage
from tinytorch.profiling.flops import bytes_moved, forward_flops
from tinytorch.profiling.profiler import profile
from tinytorch.profiling.roofline import Machine, OpCost, RooflinePoint, place

__all__ = ["TopCost", "roofline_costs", "roofline_points", "top_costs"]


def roofline_costs(prof: profile) -> list[OpCost]:
    """One :class:`OpCost` per op kind of ``prof``, from its forward calls, in first-run order.

    Example:
        >>> from tinytorch.tensor import ones
        >>> with profile() as prof:
        ...     _ = ones(8, 8) @ ones(8, 8)
        >>> cost = roofline_costs(prof)[0]
        >>> cost.name, cost.flops, cost.bytes_moved
        ('matmul', 1024, 768)
    """
    totals: dict[str, list[int]] = {}
    for e in prof.ops:
        flops, nbytes, ns = totals.setdefault(e.op, [0, 0, 0])
        totals[e.op] = [flops + forward_flops(e).total, nbytes + bytes_moved(e), ns + e.duration_ns]
    return [OpCost(op, f, b, ns / 1e9) for op, (f, b, ns) in totals.items()]


def roofline_points(prof: profile, machine: Machine) -> list[RooflinePoint]:
    """``prof``'s op kinds placed under ``machine``'s measured roofs."""
    return place(roofline_costs(prof), machine)


@dataclass(frozen=True)
class TopCost:
    """One of the largest rows of a profile, with its share of the wall-clock time and the
    roofline class of its forward ("memory", "compute", "no arithmetic", or "region")."""

    row: OpAverage
    share: float
    bound: str

    def __str__(self) -> str:
        return (
            f"{self.row.key}: {self.row.total_ns / 1e6:.3f} ms, {self.share:.1%} of the step "
            f"({self.bound}{'-bound' if self.bound in ('memory', 'compute') else ''})"
        )


def top_costs(prof: profile, machine: Machine, count: int = 3) -> list[TopCost]:
    """The ``count`` rows of ``prof.key_averages()`` that took the most time.

    Example:
        >>> from tinytorch.tensor import ones
        >>> with profile() as prof:
        ...     _ = ones(64, 64) @ ones(64, 64)
        >>> [c.row.key for c in top_costs(prof, Machine(100.0, 10.0), 1)]
        ['matmul']
    """
    bounds = {p.name: p.bound for p in roofline_points(prof, machine)}
    rows = prof.key_averages().sorted("cpu_time_total")[:count]
    wall = prof.wall_ns
    return [
        TopCost(r, r.total_ns / wall if wall else 0.0, "region" if r.is_region else bounds[r.key])
        for r in rows
    ]
