"""A benchmark's result: measured, judged VALID or INVALID, written as JSON and as a summary.

:func:`benchmark` runs a performance run (:func:`~tinytorch.benchmarking.harness.
run_performance`) and, where the sample set has labels, the accuracy mode, and judges the run
as MLPerf's LoadGen does. A result is INVALID, with one reason each, when it answered fewer
queries (SingleStream) or samples (Offline) than ``min_query_count``, ran shorter than
``min_duration``, or scored below the accuracy target: ``accuracy_target`` (99%) of the
reference system's accuracy.

The JSON document (:meth:`BenchmarkResult.to_dict`, format ``"tinytorch-benchmarking/1"``)::

    {"format": "tinytorch-benchmarking/1",
     "system": str, "scenario": "SingleStream" | "Offline",
     "metric": "p90_latency_s" | "samples_per_second", "value": float,
     "valid": bool, "reasons": [str, ...],
     "performance": {"queries": int, "samples": int, "duration_s": float,
                     "stopped_by": str, "samples_per_second": float,
                     "latency_s": {"p50", "p90", "p99", "mean", "std", "cv", "min", "max"},
                     "timings_s": [float, ...]},
     "accuracy": null | {"metric": str, "value": float, "reference": float | null,
                         "target": float | null, "target_ratio": float},
     "nbytes": int | null, "settings": {TestSettings fields}, "environment": {...}}

``latency_s`` summarises ``timings_s`` (one per query: a sample in SingleStream, a batch in
Offline) with :class:`tinytorch.profiling.latency.LatencyReport`. :func:`save` writes the
document with :func:`tinytorch.training.checkpoint.atomic_write`, so a failed write leaves no
partial file; :func:`load` reads it back to an equal :class:`BenchmarkResult`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from tinytorch.benchmarking.harness import (
    Metric,
    Performance,
    TestSettings,
    run_accuracy,
    run_performance,
)
from tinytorch.benchmarking.machine import environment as current_environment
from tinytorch.benchmarking.sut import SampleSet, SystemUnderTest
from tinytorch.profiling.latency import LatencyReport, describe_threads
from tinytorch.training.checkpoint import atomic_write

__all__ = ["FORMAT", "BenchmarkResult", "benchmark", "check", "load", "save"]

FORMAT = "tinytorch-benchmarking/1"
_STATS = ("p50", "p90", "p99", "mean", "std", "cv", "min", "max")
_FIELDS = ("system", "scenario", "metric", "value", "valid", "reasons", "performance",
           "accuracy", "nbytes", "settings", "environment")  # fmt: skip


@dataclass(frozen=True)
class BenchmarkResult:
    """One system's result in one scenario (see the module docstring for the fields)."""

    system: str
    scenario: str
    metric: str
    value: float
    valid: bool
    reasons: tuple[str, ...]
    performance: Mapping[str, Any] = field(hash=False)
    accuracy: Mapping[str, Any] | None = field(hash=False)
    nbytes: int | None
    settings: Mapping[str, Any] = field(hash=False)
    environment: Mapping[str, Any] = field(hash=False)

    @property
    def timings(self) -> tuple[float, ...]:
        """The seconds of each timed query.

        >>> len(_example().timings)
        4
        """
        return tuple(self.performance["timings_s"])

    @property
    def latency(self) -> Mapping[str, float]:
        """p50/p90/p99/mean/std/cv/min/max of :attr:`timings`, in seconds.

        >>> sorted(_example().latency)
        ['cv', 'max', 'mean', 'min', 'p50', 'p90', 'p99', 'std']
        """
        return dict(self.performance["latency_s"])

    def to_dict(self) -> dict[str, Any]:
        """The JSON document, as a dict (see the module docstring).

        >>> _example().to_dict()["format"]
        'tinytorch-benchmarking/1'
        """
        doc: dict[str, Any] = {"format": FORMAT}
        for name in _FIELDS:
            value = getattr(self, name)
            doc[name] = list(value) if name == "reasons" else _plain(value)
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> BenchmarkResult:
        """The result a :meth:`to_dict` document describes; a missing field or a wrong format
        is refused, naming it.

        >>> r = _example()
        >>> BenchmarkResult.from_dict(r.to_dict()) == r
        True
        >>> BenchmarkResult.from_dict({"format": FORMAT, "system": "x"})
        Traceback (most recent call last):
        ...
        ValueError: BenchmarkResult.from_dict: missing field(s) scenario, metric, value, valid, \
reasons, performance, accuracy, nbytes, settings, environment
        """
        if not isinstance(doc, Mapping):
            raise ValueError(f"BenchmarkResult.from_dict: expected an object, got "
                             f"{type(doc).__name__}")  # fmt: skip
        if doc.get("format") != FORMAT:
            raise ValueError(f"BenchmarkResult.from_dict: field 'format' must be {FORMAT!r}, "
                             f"got {doc.get('format')!r}")  # fmt: skip
        missing = [name for name in _FIELDS if name not in doc]
        if missing:
            raise ValueError(f"BenchmarkResult.from_dict: missing field(s) {', '.join(missing)}")
        values = {name: doc[name] for name in _FIELDS}
        values["reasons"] = tuple(values["reasons"])
        values["value"] = float(values["value"])
        return cls(**values)

    def summary(self) -> str:
        """The result in the spirit of MLPerf's ``mlperf_log_summary.txt`` (:func:`summary`).

        >>> "Result is VALID" in _example().summary()
        True
        """
        return summary(self)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def check(
    performance: Performance,
    settings: TestSettings,
    accuracy: float | None = None,
    reference: float | None = None,
    target_ratio: float = 0.99,
) -> tuple[str, ...]:
    """The reasons a run is INVALID (none: VALID), as MLPerf's LoadGen judges it.

    >>> p = Performance("SingleStream", (0.1,) * 5, 5, 5, 0.5, "max_query_count")
    >>> for reason in check(p, TestSettings(min_query_count=10, min_duration=1.0), 0.9, 1.0):
    ...     print(reason)
    too few queries: 5 < min_query_count 10
    too short: 0.500 s < min_duration 1.000 s
    accuracy 0.9000 is below the target 0.9900 (99% of the reference accuracy 1.0000)
    """
    # BEGIN SOLUTION validity-reasons
    # HINT: one plain sentence per rule broken, with the numbers: too few queries (SingleStream)
    # HINT: or samples (Offline) against min_query_count, a run shorter than min_duration, and
    # HINT: (when both are known) an accuracy below target_ratio of the reference's.
    # TESTS: invalid or too_short or too_few or valid or test_results or real_mlp
    reasons = []
    single = performance.scenario == "SingleStream"
    count, what = (performance.queries, "queries") if single else (performance.samples, "samples")
    if count < settings.min_query_count:
        reasons.append(f"too few {what}: {count} < min_query_count {settings.min_query_count}")
    if performance.duration < settings.min_duration:
        reasons.append(
            f"too short: {performance.duration:.3f} s < min_duration {settings.min_duration:.3f} s"
        )
    if reference is not None and accuracy is not None:
        target = target_ratio * reference
        if accuracy < target:
            reasons.append(
                f"accuracy {accuracy:.4f} is below the target {target:.4f} "
                f"({target_ratio:.0%} of the reference accuracy {reference:.4f})"
            )
    return tuple(reasons)
    # END SOLUTION


def benchmark(
    sut: SystemUnderTest,
    samples: SampleSet,
    settings: TestSettings | None = None,
    *,
    reference_accuracy: float | None = None,
    accuracy_target: float = 0.99,
    metric: Metric | None = None,
    metric_name: str = "accuracy",
    record_environment: bool = True,
) -> BenchmarkResult:
    """Measure ``sut`` on ``samples`` in ``settings.scenario`` and judge it: the performance
    run, then (where ``samples`` has labels) the accuracy mode, scored by ``metric``
    (classification accuracy by default) against ``accuracy_target * reference_accuracy``.

    >>> import numpy as np
    >>> s = SampleSet(np.eye(2)[[0, 1, 1, 0]], np.array([0, 1, 1, 0]), name="toy")
    >>> r = benchmark(SystemUnderTest("id", lambda x: x), s,
    ...               TestSettings(min_query_count=8, min_duration=0.0), reference_accuracy=1.0)
    >>> r.valid, r.metric, r.accuracy["value"], r.performance["queries"]
    (True, 'p90_latency_s', 1.0, 8)
    """
    settings = settings if settings is not None else TestSettings()
    if not 0 < accuracy_target <= 1:
        raise ValueError(f"benchmark: accuracy_target must be in (0, 1], got {accuracy_target!r}")
    if reference_accuracy is not None and samples.labels is None:
        raise ValueError(f"benchmark: reference_accuracy given but sample set {samples.name!r} "
                         "has no labels to measure accuracy on")  # fmt: skip
    perf = run_performance(sut, samples, settings)
    score = run_accuracy(sut, samples, metric) if samples.labels is not None else None
    reasons = check(perf, settings, score, reference_accuracy, accuracy_target)
    report = LatencyReport.of(sut.name, perf.timings, warmup=settings.warmup, threads={})
    single = settings.scenario == "SingleStream"
    accuracy = None
    if score is not None:
        accuracy = {
            "metric": metric_name,
            "value": score,
            "reference": reference_accuracy,
            "target": None if reference_accuracy is None else accuracy_target * reference_accuracy,
            "target_ratio": accuracy_target,
        }
    return BenchmarkResult(
        system=sut.name,
        scenario=settings.scenario,
        metric="p90_latency_s" if single else "samples_per_second",
        value=report.p90 if single else perf.samples_per_second,
        valid=not reasons,
        reasons=reasons,
        performance={
            "queries": perf.queries,
            "samples": perf.samples,
            "duration_s": perf.duration,
            "stopped_by": perf.stopped_by,
            "samples_per_second": perf.samples_per_second,
            "latency_s": {name: getattr(report, name) for name in _STATS},
            "timings_s": list(perf.timings),
        },
        accuracy=accuracy,
        nbytes=sut.nbytes,
        settings=settings.to_dict(),
        environment=current_environment() if record_environment else {},
    )


def save(result: BenchmarkResult, path: str | os.PathLike[str]) -> None:
    """Write ``result`` as JSON to ``path``, all or nothing (``atomic_write``).

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "result.json")
    >>> r = _example()
    >>> save(r, path)
    >>> load(path) == r
    True
    """
    doc = result.to_dict()

    def write(f: IO[bytes]) -> None:
        # Streamed: an unserialisable value fails mid-file, which atomic_write then discards.
        for chunk in json.JSONEncoder(indent=1).iterencode(doc):
            f.write(chunk.encode("utf-8"))
        f.write(b"\n")

    atomic_write(path, write)


def load(path: str | os.PathLike[str]) -> BenchmarkResult:
    """The result :func:`save` wrote to ``path`` (an error naming the file if it is not JSON).

    >>> import tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "result.json")
    >>> save(_example(), path)
    >>> load(path).system
    'id'
    """
    with open(path, encoding="utf-8") as f:
        try:
            doc = json.load(f)
        except json.JSONDecodeError as error:
            raise ValueError(f"load: {os.fspath(path)!r} is not JSON: {error}") from error
    return BenchmarkResult.from_dict(doc)


def _time(seconds: float) -> str:
    for scale, unit in ((1.0, "s"), (1e3, "ms"), (1e6, "us")):
        if seconds >= 1 / scale:
            return f"{seconds * scale:.4g} {unit}"
    return f"{seconds * 1e9:.4g} ns"


def summary(result: BenchmarkResult) -> str:
    """The result as MLPerf's log summary shows one: the scenario, the metric, VALID or
    INVALID with each reason, then the additional statistics.

    >>> print(summary(_example()).splitlines()[7])
    Result is VALID
    """
    perf, lat, settings = result.performance, result.latency, result.settings
    rule = "=" * 64
    single = result.scenario == "SingleStream"
    metric = (
        f"90th percentile latency : {_time(result.value)}"
        if single
        else f"Samples per second : {result.value:.6g}"
    )
    count = perf["queries"] if single else perf["samples"]
    lines = [
        rule,
        "TinyTorch benchmarking results summary",
        rule,
        f"SUT name : {result.system}",
        f"Scenario : {result.scenario}",
        "Mode     : PerformanceOnly" + (" + AccuracyOnly" if result.accuracy is not None else ""),
        metric,
        f"Result is {'VALID' if result.valid else 'INVALID'}",
        f"  Min duration satisfied : {_yes(perf['duration_s'] >= settings['min_duration'])}",
        f"  Min queries satisfied : {_yes(count >= settings['min_query_count'])}",
    ]
    acc = result.accuracy
    if acc is not None and acc.get("target") is not None:
        lines.append(f"  Accuracy target satisfied : {_yes(acc['value'] >= acc['target'])}")
    lines += [f"  INVALID: {reason}" for reason in result.reasons]
    lines += [rule, "Additional Stats", rule]
    lines += [
        f"{'Queries' if single else 'Batches'} issued : {perf['queries']}",
        f"Samples answered : {perf['samples']}",
        f"Duration : {perf['duration_s']:.3f} s (stopped by {perf['stopped_by']})",
        f"Samples per second : {perf['samples_per_second']:.6g}",
        f"Min latency : {_time(lat['min'])}",
        f"Max latency : {_time(lat['max'])}",
        f"Mean latency : {_time(lat['mean'])} (cv {lat['cv']:.1%})"
        if math.isfinite(lat["cv"])
        else f"Mean latency : {_time(lat['mean'])}",
        f"50.00 percentile latency : {_time(lat['p50'])}",
        f"90.00 percentile latency : {_time(lat['p90'])}",
        f"99.00 percentile latency : {_time(lat['p99'])}",
    ]
    if acc is not None:
        line = f"{acc['metric']} : {acc['value']:.4f}"
        if acc.get("reference") is not None:
            line += f" (target {acc['target']:.4f} = {acc['target_ratio']:.0%} of the "
            line += f"reference {acc['reference']:.4f})"
        lines.append(line)
    if result.nbytes is not None:
        lines.append(f"Held bytes : {result.nbytes:,}")
    lines += [rule, "Test Parameters Used", rule]
    lines += [f"{key} : {value}" for key, value in settings.items()]
    env = result.environment
    if env:
        lines += [rule, "Environment", rule]
        blas = env.get("blas", {})
        lines += [
            f"cpu : {env.get('cpu')} ({env.get('cores')} cores)",
            f"python : {env.get('python')}, numpy : {env.get('numpy')} "
            f"(BLAS {blas.get('name')} {blas.get('version')})",
            f"threads : {_threads(env.get('threads', {}))}",
            f"date : {env.get('date')}",
        ]
    return "\n".join([*lines, rule]) + "\n"


def _yes(flag: bool) -> str:
    return "Yes" if flag else "NO"


def _threads(threads: Mapping[str, Any]) -> str:
    return describe_threads(threads) if threads else "not recorded"


def _example() -> BenchmarkResult:
    # A fixed, fast result for the doctests: identity "predictions" on one-hot samples.
    import numpy as np

    s = SampleSet(np.eye(2)[[0, 1, 1, 0]], np.array([0, 1, 1, 0]), name="toy")
    settings = TestSettings(min_query_count=4, min_duration=0.0, warmup=0)
    return benchmark(SystemUnderTest("id", lambda x: x), s, settings, record_environment=False)
