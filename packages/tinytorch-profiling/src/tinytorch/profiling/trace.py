"""A profile as a Chrome trace: Trace Event Format JSON, which Perfetto and chrome://tracing open.

Every event is a complete event (``"ph": "X"``) with a start and a duration in microseconds
from the start of the profile. The forward track holds the modules, each op nested inside the
module it ran in (a viewer nests events of one track by time), and the regions (the optimizer
step); the backward track holds the ``autograd::backward`` region with each gradient rule inside
it. Each event's ``args`` carry what the table shows: module path, input shapes, FLOPs, bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tinytorch.profiling.flops import backward_flops, forward_flops
from tinytorch.training.checkpoint import atomic_write

if TYPE_CHECKING:
    from tinytorch.profiling.profiler import profile

__all__ = ["BACKWARD_TRACK", "FORWARD_TRACK", "trace_events", "write_chrome_trace"]

PID = 0
FORWARD_TRACK = 0
BACKWARD_TRACK = 1


def trace_events(prof: profile) -> list[dict[str, Any]]:
    """The profile's events as Trace Event Format dictionaries, sorted by start time.

    Example:
        >>> from tinytorch.profiling import profile
        >>> from tinytorch.tensor import ones
        >>> with profile() as prof:
        ...     _ = ones(2, 2) + 1
        >>> [(e["name"], e["cat"], e["tid"]) for e in trace_events(prof) if e["ph"] == "X"]
        [('add', 'op', 0)]
    """
    origin = prof.start_ns

    def span(name: str, cat: str, tid: int, start: int, end: int, **args: Any) -> dict[str, Any]:
        return {
            "name": name,
            "cat": cat,
            "ph": "X",
            "pid": PID,
            "tid": tid,
            "ts": (start - origin) / 1e3,
            "dur": (end - start) / 1e3,
            "args": args,
        }

    events = []
    for region in prof.regions:
        backward = region.name == "autograd::backward"
        tid = BACKWARD_TRACK if backward else FORWARD_TRACK
        name = region.name if region.kind == "region" else f"{region.name} ({region.label})"
        events.append(span(name, region.kind, tid, region.start_ns, region.end_ns))
    for e in prof.ops:
        events.append(
            span(
                e.op,
                "op",
                FORWARD_TRACK,
                e.start_ns,
                e.end_ns,
                module=e.module,
                input_shapes=[list(s) for s in e.input_shapes],
                input_dtypes=list(e.input_dtypes),
                flops=forward_flops(e).total,
                output_bytes=e.out_nbytes,
            )
        )
    for r in prof.rules:
        events.append(
            span(
                f"{r.op} backward",
                "backward",
                BACKWARD_TRACK,
                r.start_ns,
                r.end_ns,
                module=r.module,
                input_shapes=[list(s) for s in r.forward.input_shapes],
                computed=list(r.computed),
                flops=backward_flops(r).total,
            )
        )
    # Longer first at equal starts, so a viewer sees each parent before the child it holds.
    events.sort(key=lambda ev: (ev["tid"], ev["ts"], -ev["dur"]))
    names = [(FORWARD_TRACK, "forward: modules, ops, regions"), (BACKWARD_TRACK, "backward")]
    meta = [
        {"name": "thread_name", "ph": "M", "pid": PID, "tid": tid, "args": {"name": label}}
        for tid, label in names
    ]
    meta.append({"name": "process_name", "ph": "M", "pid": PID, "args": {"name": "tinytorch"}})
    return meta + events


def write_chrome_trace(prof: profile, path: Path) -> Path:
    """Write ``prof`` to ``path`` as ``{"traceEvents": [...]}``, atomically (a reader never
    sees half a file)."""
    document = {
        "traceEvents": trace_events(prof),
        "displayTimeUnit": "ms",
        "otherData": {"wall_ns": prof.wall_ns, "profiler_overhead_ns": prof.overhead_ns},
    }
    data = json.dumps(document).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(f: IO[bytes]) -> None:
        f.write(data)

    atomic_write(path, write)
    return path
