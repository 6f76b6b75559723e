"""latency(): the stopping rule, the percentiles, the statistics, the thread record, bad input."""

from __future__ import annotations

import importlib.util
import math
import os
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinytorch.profiling.latency import (
    LatencyReport,
    describe_threads,
    latency,
    percentiles,
    thread_settings,
)

# --- percentiles ------------------------------------------------------------------------------


def test_percentiles_of_one_to_hundred_interpolate_linearly():
    # h = 99 * q / 100; the value is x[floor(h)] + frac(h) * (x[floor(h)+1] - x[floor(h)]).
    p50, p90, p99, p0, p100 = percentiles(range(1, 101), (50, 90, 99, 0, 100))
    assert p50 == 50.5
    assert p90 == pytest.approx(90.1, abs=1e-12)
    assert p99 == pytest.approx(99.01, abs=1e-12)
    assert (p0, p100) == (1.0, 100.0)


def test_percentiles_sort_their_input_and_handle_one_sample():
    assert percentiles([4.0, 1.0, 3.0, 2.0], (25, 50, 75)) == (1.75, 2.5, 3.25)
    assert percentiles([7.0], (0, 50, 99)) == (7.0, 7.0, 7.0)


@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50),
    st.lists(st.floats(0, 100), min_size=1, max_size=5),
)
def test_percentiles_match_numpy_default_method(samples, qs):
    expected = np.percentile(np.array(samples, dtype=np.float64), qs)
    np.testing.assert_allclose(percentiles(samples, qs), expected, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    ("samples", "qs", "message"),
    [
        ([], (50,), "no samples"),
        ([1.0, 2.0], (101,), "q=101"),
        ([1.0, 2.0], (-1,), "q=-1"),
        ([1.0, math.nan], (50,), "NaN"),
    ],
)
def test_percentiles_reject_bad_input(samples, qs, message):
    with pytest.raises(ValueError, match=f"percentiles: .*{message}"):
        percentiles(samples, qs)


# --- the report -------------------------------------------------------------------------------


def test_report_statistics_of_known_samples():
    r = LatencyReport.of("f", [0.004, 0.001, 0.003, 0.002], warmup=2, threads={"cpu_count": 2})
    assert r.samples == (0.004, 0.001, 0.003, 0.002)  # run order kept
    assert r.runs == 4
    assert (r.min, r.max) == (0.001, 0.004)
    assert r.mean == pytest.approx(0.0025, rel=1e-12)
    # Sample standard deviation (ddof=1): sqrt((1.5^2 + 0.5^2 + 0.5^2 + 1.5^2) / 3) ms.
    assert r.std == pytest.approx(math.sqrt(5 / 3) * 1e-3, rel=1e-12)
    assert r.cv == pytest.approx(math.sqrt(5 / 3) / 2.5, rel=1e-12)
    assert r.p50 == pytest.approx(0.0025, rel=1e-12)
    assert r.p90 == pytest.approx(0.0037, rel=1e-12)
    assert r.p99 == pytest.approx(0.00397, rel=1e-12)


def test_report_prints_one_paragraph_in_a_readable_unit():
    r = LatencyReport.of("step", [0.001, 0.002, 0.003], warmup=5, threads={"cpu_count": 4})
    assert str(r) == (
        "latency of step: p50 2 ms, p90 2.8 ms, p99 2.98 ms; mean 2 ms +- 1 ms (cv 50.0%), "
        "min 1 ms, max 3 ms; 3 timed runs after 5 warm-up; BLAS default threads, 4 CPUs"
    )
    micro = LatencyReport.of("op", [2e-6, 4e-6], warmup=0, threads={})
    assert "p50 3 us" in str(micro)


# --- the measurement --------------------------------------------------------------------------


class Counter:
    def __init__(self) -> None:
        self.calls = 0
        self.args: list[tuple[object, ...]] = []

    def __call__(self, *args: object) -> None:
        self.calls += 1
        self.args.append(args)


def test_warmup_calls_are_made_but_not_timed_and_min_runs_is_respected():
    fn = Counter()
    r = latency(fn, "a", 2, warmup=3, min_runs=7, min_seconds=0.0)
    assert fn.calls == 3 + 7
    assert r.runs == len(r.samples) == 7
    assert r.warmup == 3
    assert fn.args == [("a", 2)] * 10
    assert all(s >= 0 for s in r.samples)


def test_max_runs_stops_before_min_seconds():
    fn = Counter()
    started = time.perf_counter()
    r = latency(fn, warmup=0, min_runs=5, min_seconds=60.0, max_runs=5)
    assert r.runs == 5
    assert fn.calls == 5
    assert time.perf_counter() - started < 30  # it did not wait out the 60 s


def test_min_seconds_is_respected_with_a_sleeping_fn():
    def nap() -> None:
        time.sleep(0.005)

    started = time.perf_counter()
    r = latency(nap, warmup=1, min_runs=1, min_seconds=0.05)
    elapsed = time.perf_counter() - started
    assert elapsed >= 0.05
    assert r.runs >= 2  # one 5 ms nap cannot fill 50 ms
    assert r.min >= 0.005  # samples are in seconds: each covers its nap
    assert math.fsum(r.samples) <= elapsed
    assert r.name.endswith("nap")


def test_threads_record_the_environment(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    r = latency(lambda: None, warmup=0, min_runs=1, min_seconds=0.0)
    assert r.threads["OMP_NUM_THREADS"] == "3"
    assert r.threads["MKL_NUM_THREADS"] is None
    assert r.threads["OPENBLAS_NUM_THREADS"] == os.environ.get("OPENBLAS_NUM_THREADS")
    assert r.threads["cpu_count"] == os.cpu_count()


def test_threadpools_appear_only_with_threadpoolctl():
    settings = thread_settings()
    if importlib.util.find_spec("threadpoolctl") is None:
        assert "threadpools" not in settings
    else:
        pools = settings["threadpools"]
        assert all(isinstance(n, int) and n >= 1 for n in pools.values())


def test_describe_threads_prefers_threadpoolctl_then_the_environment():
    assert describe_threads({"OMP_NUM_THREADS": "4", "cpu_count": 8}) == (
        "4 threads (OMP_NUM_THREADS=4), 8 CPUs"
    )
    assert describe_threads(
        {"OMP_NUM_THREADS": "4", "cpu_count": 8, "threadpools": {"openblas:lib": 1}}
    ) == ("1 thread (threadpoolctl: openblas:lib=1), 8 CPUs")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"warmup": -1}, "warmup must be an int >= 0, got -1"),
        ({"warmup": 1.5}, "warmup must be an int >= 0, got 1.5"),
        ({"warmup": True}, "warmup must be an int >= 0, got True"),
        ({"min_runs": 0}, "min_runs must be an int >= 1, got 0"),
        ({"min_runs": 10, "max_runs": 9}, "max_runs must be an int >= 10, got 9"),
        ({"min_seconds": -0.5}, "min_seconds must be finite and >= 0, got -0.5"),
        ({"min_seconds": math.inf}, "min_seconds must be finite and >= 0, got inf"),
        ({"min_seconds": math.nan}, "min_seconds must be finite and >= 0, got nan"),
    ],
)
def test_bad_arguments_name_latency_and_the_value(kwargs, message):
    fn = Counter()
    with pytest.raises(ValueError, match=rf"^latency: {message}$"):
        latency(fn, **kwargs)
    assert fn.calls == 0  # rejected before any run


def test_a_non_callable_is_a_type_error():
    with pytest.raises(TypeError, match=r"latency: fn must be callable, got 42"):
        latency(42)  # type: ignore[arg-type]
