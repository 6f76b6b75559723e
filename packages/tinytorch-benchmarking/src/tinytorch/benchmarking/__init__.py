"""TinyTorch module 19: an MLPerf-style benchmark harness.

A :class:`SystemUnderTest` (a named callable from a batch to predictions) is measured on a
:class:`SampleSet` (held-out data, never synthetic) in the SingleStream or Offline scenario
(:class:`TestSettings`, :func:`run_performance`) and in the accuracy mode
(:func:`run_accuracy`); :func:`benchmark` does both and judges the run VALID or INVALID with
its reasons. Results are JSON (:func:`save`, :func:`load`, written atomically) and an MLPerf-like
log summary (:func:`summary`); :func:`bootstrap_ratio` gives a confidence interval on the ratio
of two systems' medians or p90s; :func:`environment` records the machine; :func:`pareto_svg`
draws the accuracy / latency / size trade-off with the Pareto-optimal systems marked.
"""

from __future__ import annotations

from tinytorch.benchmarking.harness import (
    SCENARIOS,
    Performance,
    TestSettings,
    classification_accuracy,
    run_accuracy,
    run_performance,
)
from tinytorch.benchmarking.machine import environment
from tinytorch.benchmarking.pareto import (
    ParetoPoint,
    dominates,
    pareto_frontier,
    pareto_svg,
    write_pareto_svg,
)
from tinytorch.benchmarking.results import (
    FORMAT,
    BenchmarkResult,
    benchmark,
    check,
    load,
    save,
    summary,
)
from tinytorch.benchmarking.stats import STATISTICS, RatioInterval, bootstrap_ratio
from tinytorch.benchmarking.sut import SampleSet, SystemUnderTest

__all__ = [
    "FORMAT",
    "SCENARIOS",
    "STATISTICS",
    "BenchmarkResult",
    "ParetoPoint",
    "Performance",
    "RatioInterval",
    "SampleSet",
    "SystemUnderTest",
    "TestSettings",
    "benchmark",
    "bootstrap_ratio",
    "check",
    "classification_accuracy",
    "dominates",
    "environment",
    "load",
    "pareto_frontier",
    "pareto_svg",
    "run_accuracy",
    "run_performance",
    "save",
    "summary",
    "write_pareto_svg",
]
