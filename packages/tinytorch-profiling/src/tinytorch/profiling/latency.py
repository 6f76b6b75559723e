"""Latency of a callable, measured: warm-up, enough runs, percentiles, and the thread settings.

:func:`latency` runs a function ``warmup`` times untimed (first calls pay for allocation, caches
and lazy imports), then times each further call with :func:`time.perf_counter_ns` until it has
at least ``min_runs`` samples *and* ``min_seconds`` of wall-clock time have passed (or
``max_runs`` samples). The report keeps every sample, so any other statistic can be computed
later, and the thread settings in force, since a BLAS-bound time depends on them.

Percentiles use linear interpolation between the closest ranks, the default method of
``numpy.percentile``: for ``n`` sorted samples ``x[0..n-1]`` and ``q`` in ``[0, 100]``, the
position is ``h = (n - 1) * q / 100`` and the value ``x[floor(h)] + (h - floor(h)) *
(x[floor(h) + 1] - x[floor(h)])``.
"""

from __future__ import annotations

import importlib
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The environment variables that set the thread count of NumPy's BLAS (read at its import).
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def thread_settings() -> dict[str, Any]:
    """The thread settings in force: each of :data:`THREAD_VARIABLES` (its value or ``None``),
    ``cpu_count`` (``os.cpu_count()``) and, only if the optional ``threadpoolctl`` is
    importable, ``threadpools``: each loaded native library's ``num_threads``, keyed
    ``"internal_api:prefix"`` (e.g. ``"openblas:libscipy_openblas"``).

    >>> settings = thread_settings()
    >>> settings["cpu_count"] == os.cpu_count(), "OMP_NUM_THREADS" in settings
    (True, True)
    """
    settings: dict[str, Any] = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    settings["cpu_count"] = os.cpu_count()
    pools = _threadpools()
    if pools is not None:
        settings["threadpools"] = pools
    return settings


def _threadpools() -> dict[str, int] | None:
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:
        return None
    return {
        f"{info['internal_api']}:{info['prefix']}": int(info["num_threads"])
        for info in threadpoolctl.threadpool_info()
    }


def describe_threads(threads: Mapping[str, Any]) -> str:
    """A few words for :func:`thread_settings`' dict: the BLAS thread count where it is known.

    >>> describe_threads({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": None, "cpu_count": 8})
    '1 thread (OPENBLAS_NUM_THREADS=1), 8 CPUs'
    >>> describe_threads({"OPENBLAS_NUM_THREADS": None, "cpu_count": 2})
    'BLAS default threads, 2 CPUs'
    >>> describe_threads({"cpu_count": 2, "threadpools": {"openblas:libopenblas": 2}})
    '2 threads (threadpoolctl: openblas:libopenblas=2), 2 CPUs'
    """
    cpus = f"{threads.get('cpu_count')} CPUs"
    pools: Mapping[str, int] = threads.get("threadpools") or {}
    if pools:
        counts = sorted(set(pools.values()))
        n = "/".join(str(c) for c in counts)
        libs = ", ".join(f"{lib}={count}" for lib, count in pools.items())
        return f"{n} thread{'' if counts == [1] else 's'} (threadpoolctl: {libs}), {cpus}"
    for name in THREAD_VARIABLES:
        value = threads.get(name)
        if value:
            plural = "" if value == "1" else "s"
            return f"{value} thread{plural} ({name}={value}), {cpus}"
    return f"BLAS default threads, {cpus}"


def percentiles(samples: Iterable[float], qs: Iterable[float]) -> tuple[float, ...]:
    """The ``qs`` percentiles (each in ``[0, 100]``) of ``samples``, by linear interpolation
    between closest ranks (``numpy.percentile``'s default; see the module docstring).

    >>> percentiles(range(1, 101), (50, 90, 99))
    (50.5, 90.1, 99.01)
    >>> percentiles([3.0, 1.0, 2.0], (0, 25, 100))
    (1.0, 1.5, 3.0)
    """
    xs = sorted(float(x) for x in samples)
    if not xs:
        raise ValueError("percentiles: no samples")
    if any(math.isnan(x) for x in xs):
        raise ValueError("percentiles: the samples hold NaN")
    result = []
    for q in qs:
        if not 0 <= q <= 100:
            raise ValueError(f"percentiles: q={q!r} is outside [0, 100]")
        # BEGIN SOLUTION percentile-interpolate
        # HINT: the q-th percentile sits at fractional rank h = (n - 1) * q / 100 of the sorted
        # HINT: samples: interpolate linearly between the samples at floor(h) and the next one.
        # TESTS: percentiles or report_statistics
        h = (len(xs) - 1) * q / 100
        lo = math.floor(h)
        hi = min(lo + 1, len(xs) - 1)
        result.append(xs[lo] + (h - lo) * (xs[hi] - xs[lo]))
        # END SOLUTION
    return tuple(result)


@dataclass(frozen=True)
class LatencyReport:
    """What :func:`latency` measured: every sample (seconds) and its statistics.

    ``p50``/``p90``/``p99`` are :func:`percentiles` of the samples; ``std`` is the sample
    standard deviation (``ddof=1``; 0 for one run) and ``cv = std / mean``. ``threads`` is
    :func:`thread_settings` at the time of the measurement.

    >>> r = LatencyReport.of("f", (0.001, 0.002, 0.003), warmup=1, threads={"cpu_count": 2})
    >>> r.runs, r.p50, r.mean, r.std, round(r.cv, 3)
    (3, 0.002, 0.002, 0.001, 0.5)
    """

    name: str
    samples: tuple[float, ...]
    runs: int
    p50: float
    p90: float
    p99: float
    mean: float
    std: float
    cv: float
    min: float
    max: float
    warmup: int
    threads: Mapping[str, Any] = field(hash=False)

    @classmethod
    def of(
        cls, name: str, samples: Sequence[float], *, warmup: int, threads: Mapping[str, Any]
    ) -> LatencyReport:
        """The report of ``samples`` (seconds, in run order).

        >>> LatencyReport.of("g", [2.0], warmup=0, threads={}).std
        0.0
        """
        xs = tuple(float(x) for x in samples)
        if not xs:
            raise ValueError(f"LatencyReport.of: no samples for {name!r}")
        p50, p90, p99 = percentiles(xs, (50, 90, 99))
        mean = math.fsum(xs) / len(xs)
        var = math.fsum((x - mean) ** 2 for x in xs) / (len(xs) - 1) if len(xs) > 1 else 0.0
        std = math.sqrt(var)
        return cls(
            name=name,
            samples=xs,
            runs=len(xs),
            p50=p50,
            p90=p90,
            p99=p99,
            mean=mean,
            std=std,
            cv=std / mean if mean > 0 else math.nan,
            min=min(xs),
            max=max(xs),
            warmup=warmup,
            threads=dict(threads),
        )

    def __str__(self) -> str:
        scale, unit = _unit(self.p50)

        def t(seconds: float) -> str:
            return f"{seconds * scale:.4g} {unit}"

        return (
            f"latency of {self.name}: p50 {t(self.p50)}, p90 {t(self.p90)}, p99 {t(self.p99)}; "
            f"mean {t(self.mean)} +- {t(self.std)} (cv {self.cv:.1%}), "
            f"min {t(self.min)}, max {t(self.max)}; {self.runs} timed runs after "
            f"{self.warmup} warm-up; {describe_threads(self.threads)}"
        )


def _unit(seconds: float) -> tuple[float, str]:
    for scale, unit in ((1.0, "s"), (1e3, "ms"), (1e6, "us")):
        if seconds >= 1 / scale:
            return scale, unit
    return 1e9, "ns"


def _count(value: object, name: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"latency: {name} must be an int >= {least}, got {value!r}")
    return value


def latency(
    fn: Callable[..., object],
    /,
    *args: object,
    warmup: int = 10,
    min_runs: int = 30,
    min_seconds: float = 1.0,
    max_runs: int = 100_000,
) -> LatencyReport:
    """Time ``fn(*args)``: ``warmup`` untimed calls, then timed calls until there are at least
    ``min_runs`` of them and ``min_seconds`` have passed since the first timed call began, or
    until ``max_runs`` (which must be ``>= min_runs``).

    Each sample is one call's ``perf_counter_ns`` difference, in seconds.

    >>> r = latency(sum, [1, 2, 3], warmup=2, min_runs=5, min_seconds=0.0)
    >>> r.runs, r.warmup, r.p50 > 0
    (5, 2, True)
    """
    if not callable(fn):
        raise TypeError(f"latency: fn must be callable, got {fn!r}")
    warmup = _count(warmup, "warmup", 0)
    min_runs = _count(min_runs, "min_runs", 1)
    max_runs = _count(max_runs, "max_runs", min_runs)
    if isinstance(min_seconds, bool) or not (
        isinstance(min_seconds, (int, float)) and 0 <= min_seconds < math.inf
    ):
        raise ValueError(f"latency: min_seconds must be finite and >= 0, got {min_seconds!r}")
    # BEGIN SOLUTION latency-loop
    # HINT: call fn warmup times untimed; then time each call alone (perf_counter_ns around
    # HINT: it) until there are min_runs samples and min_seconds have passed since the first
    # HINT: timed call began, or max_runs samples. Report the samples in seconds.
    # TESTS: warmup or max_runs or min_seconds or latency
    for _ in range(warmup):
        fn(*args)
    clock = time.perf_counter_ns
    budget_ns = min_seconds * 1e9
    samples_ns: list[int] = []
    first = clock()
    while len(samples_ns) < max_runs:
        start = clock()
        fn(*args)
        end = clock()
        samples_ns.append(end - start)
        if len(samples_ns) >= min_runs and end - first >= budget_ns:
            break
    # END SOLUTION
    name = getattr(fn, "__qualname__", None) or repr(fn)
    return LatencyReport.of(
        name, [ns / 1e9 for ns in samples_ns], warmup=warmup, threads=thread_settings()
    )
