"""What profiling costs: each milestone model's training step with and without a profile.

Run:  python -m tools bench profiling   (or this file directly: [--repeats N] [--threads N])

For the 1986 MLP, the 1998 LeNet and the 2017 character GPT (those whose extras are installed),
one training step timed bare and inside ``profile()``, interleaved; the ratio is what a profile
slows a step down by. Also printed: how much of the profiled step's wall-clock time (the
profiler's own time taken out) the measured events cover. BLAS runs on one thread unless
``--threads`` says otherwise.

The cost of the observation point when nothing observes (one check per op) cannot be timed from
inside one build; it was measured against the build before it, and the package README gives
that figure.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from tinytorch.profiling import profile
from tinytorch.profiling.workloads import WORKLOADS, Workload

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repo root, for tools/
from tools import benchmark as bench


def _available() -> list[Workload]:
    found = []
    for build in WORKLOADS.values():
        try:
            found.append(build())
        except ImportError as err:
            print(f"skipped: {err}")
    return found


def main() -> None:
    args = bench.parse(bench.parser(__doc__, threads=1, repeats=20))
    print(bench.environment(torch=False))
    for w in _available():
        coverages: list[float] = []

        def profiled(w: Workload = w, coverages: list[float] = coverages) -> None:
            with profile() as prof:
                w.step()
            coverages.append(prof.coverage().fraction)

        contenders: dict[str, Callable[[], object]] = {"bare": w.step, "profiled": profiled}
        repeats = max(args.repeats // 4, 3) if w.name == "gpt" else args.repeats
        times = bench.compare(contenders, repeat=repeats, warmup=2)
        print(bench.ratio_table(f"{w.description}: one step", times, reference="bare", unit="ms"))
        print(f"  profile covers {statistics.median(coverages):.1%} of the step (median)\n")


if __name__ == "__main__":
    main()
