"""``python -m tinytorch.profiling {mlp,lenet,gpt}``: profile one training step of a milestone.

Prints the step's unprofiled latency, the op table, how much of the step the profile measured,
the three largest costs with their roofline class, and writes a Chrome trace and a roofline SVG
(paths printed). The machine's roofs are measured at the start (about two seconds) unless
``--machine FILE`` names a JSON file written by an earlier run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO

from tinytorch.profiling.averages import SORT_KEYS
from tinytorch.profiling.latency import latency
from tinytorch.profiling.profiler import profile
from tinytorch.profiling.report import roofline_points, top_costs
from tinytorch.profiling.roofline import Machine, measure_machine, write_svg
from tinytorch.profiling.workloads import WORKLOADS, workload
from tinytorch.training.checkpoint import atomic_write


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m tinytorch.profiling",
        description="Profile one training step of a milestone model.",
    )
    parser.add_argument("workload", choices=list(WORKLOADS))
    parser.add_argument("--out", type=Path, help="folder for the trace and the roofline")
    parser.add_argument("--sort-by", default="cpu_time_total", choices=list(SORT_KEYS))
    parser.add_argument("--row-limit", type=int, default=20, help="table rows (-1: all)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before profiling")
    parser.add_argument("--machine", type=Path, help="a machine JSON to reuse (else measured)")
    parser.add_argument("--shapes", action="store_true", help="group the table by input shapes")
    args = parser.parse_args(argv)

    try:
        w = workload(args.workload)
    except ImportError as err:
        print(f"python -m tinytorch.profiling: {err}", file=sys.stderr)
        return 2
    out = args.out or Path(f"profile-{w.name}")
    print(f"{w.name}: {w.description}")

    if args.machine is not None:
        machine = Machine.from_json(args.machine.read_text(encoding="utf-8"))
        print(f"machine (from {args.machine}): {machine.caption()}")
    else:
        machine = measure_machine()
        print(f"machine (measured now): {machine.caption()}")

    for _ in range(args.warmup):
        w.step()
    unprofiled = latency(w.step, warmup=0, min_runs=10, min_seconds=1.0)
    print(replace(unprofiled, name=f"one {w.name} step, unprofiled"))

    with profile() as prof:
        loss = w.step()
    print(f"\nprofiled step (loss {loss:.4f}):")
    print(prof.key_averages(group_by_input_shape=args.shapes).table(args.sort_by, args.row_limit))
    print(f"\ncoverage: {prof.coverage()}")
    print(f"profiler's own time, taken out of the wall-clock: {prof.overhead_ns / 1e6:.3f} ms")

    print("\ntop costs:")
    for i, cost in enumerate(top_costs(prof, machine), 1):
        print(f"  {i}. {cost}")

    out.mkdir(parents=True, exist_ok=True)
    trace = prof.export_chrome_trace(out / "trace.json")
    points = roofline_points(prof, machine)
    svg = write_svg(points, machine, out / "roofline.svg", title=f"{w.name}: {w.description}")
    machine_text = machine.to_json().encode("utf-8")

    def write_machine(f: IO[bytes]) -> None:
        f.write(machine_text)

    atomic_write(out / "machine.json", write_machine)
    print("\nroofline (forward of each op kind):")
    for p in sorted(points, key=lambda p: -p.seconds):
        print(f"  {p}")
    if any(p.fraction is not None and p.fraction > 1.0 for p in points):
        print(
            "  (above 100% of attainable: that op's data sat in cache, faster than the memory "
            "bandwidth measured, or the machine was busy when its roofs were measured)"
        )
    print(f"\nchrome trace: {trace}  (open in ui.perfetto.dev or chrome://tracing)")
    print(f"roofline:     {svg}")
    print(f"machine:      {out / 'machine.json'}  (reuse with --machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
