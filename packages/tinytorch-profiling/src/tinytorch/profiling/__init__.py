"""TinyTorch module 14: profiling. Measure where time, FLOPs and memory go, then optimize.

- :func:`profile`: every op, gradient rule, module and region of a run with its time
  (``torch.profiler.profile``'s shape: ``key_averages().table(...)``, ``export_chrome_trace``).
- :func:`count_flops` and :func:`summary`: exact, batch-aware FLOP counts with
  ``torch.utils.flop_counter``'s conventions, per op and per module; a torchinfo-style table.
- :func:`latency`: percentiles of repeated calls, with warm-up and the thread settings.
- :func:`measure_machine`, :func:`roofline_points`, :func:`write_svg`: this machine's measured
  roofs and where each op sits under them.

Nothing is patched: the profiler observes through tinytorch-tensor's observer point, the
engine's rule reports and Module forward hooks.

Example:
    >>> from tinytorch.layers import Linear
    >>> from tinytorch.tensor import ones
    >>> layer = Linear(64, 32)
    >>> count_flops(layer, ones(8, 64)).total  # 2 * 8 * 64 * 32
    32768
    >>> with profile() as prof:
    ...     layer(ones(8, 64)).sum().backward()
    >>> [row.key for row in prof.key_averages()][:3]
    ['permute', 'matmul', 'add']
"""

from tinytorch.profiling.averages import SORT_KEYS, EventList, OpAverage
from tinytorch.profiling.counting import FlopCount, Summary, SummaryRow, count_flops, summary
from tinytorch.profiling.events import OpEvent, RegionEvent, RuleEvent
from tinytorch.profiling.flops import Flops, backward_flops, bytes_moved, forward_flops
from tinytorch.profiling.latency import LatencyReport, latency, percentiles
from tinytorch.profiling.profiler import Coverage, profile, region_self_times
from tinytorch.profiling.report import TopCost, roofline_costs, roofline_points, top_costs
from tinytorch.profiling.roofline import (
    Machine,
    OpCost,
    RooflinePoint,
    measure_machine,
    place,
    write_svg,
)
from tinytorch.tensor.graph import record_function

__all__ = [
    "SORT_KEYS",
    "Coverage",
    "EventList",
    "FlopCount",
    "Flops",
    "LatencyReport",
    "Machine",
    "OpAverage",
    "OpCost",
    "OpEvent",
    "RegionEvent",
    "RooflinePoint",
    "RuleEvent",
    "Summary",
    "SummaryRow",
    "TopCost",
    "backward_flops",
    "bytes_moved",
    "count_flops",
    "forward_flops",
    "latency",
    "measure_machine",
    "percentiles",
    "place",
    "profile",
    "record_function",
    "region_self_times",
    "roofline_costs",
    "roofline_points",
    "summary",
    "top_costs",
    "write_svg",
]
