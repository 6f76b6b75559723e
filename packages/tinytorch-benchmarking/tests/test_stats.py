"""Statistics on synthetic timings with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinytorch.benchmarking import (
    SampleSet,
    SystemUnderTest,
    TestSettings,
    benchmark,
    bootstrap_ratio,
)
from tinytorch.profiling.latency import percentiles


def test_percentiles_known_answers() -> None:
    # 1..100: linear interpolation between closest ranks (numpy.percentile's default).
    assert percentiles(range(1, 101), (50, 90, 99)) == (50.5, 90.1, 99.01)
    assert percentiles([5.0], (50, 90)) == (5.0, 5.0)


def test_result_latency_stats_are_the_timings_percentiles() -> None:
    s = SampleSet(np.ones((4, 2)))
    r = benchmark(
        SystemUnderTest("sum", lambda x: x.sum(axis=1)),
        s,
        TestSettings(min_query_count=50, min_duration=0.0),
        record_environment=False,
    )
    t = np.asarray(r.timings)
    assert len(t) == 50
    p50, p90, p99 = np.percentile(t, (50, 90, 99))
    assert r.latency["p50"] == pytest.approx(p50, rel=1e-12)
    assert r.value == r.latency["p90"] == pytest.approx(p90, rel=1e-12)
    assert r.latency["p99"] == pytest.approx(p99, rel=1e-12)
    assert r.latency["mean"] == pytest.approx(t.mean(), rel=1e-12)
    assert r.latency["cv"] == pytest.approx(t.std(ddof=1) / t.mean(), rel=1e-9)


def _pair(seed: int, n: int, true_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    # Lognormal timings: the median of exp(N(mu, s)) is exp(mu), so the medians' ratio is known.
    rng = np.random.default_rng(1000 + seed)
    slow = np.exp(rng.normal(math.log(2e-3 * true_ratio), 0.4, n))
    fast = np.exp(rng.normal(math.log(2e-3), 0.4, n))
    return slow, fast


def test_point_estimate_is_the_ratio_of_medians() -> None:
    slow, fast = _pair(0, 301, 3.0)
    r = bootstrap_ratio(slow, fast, resamples=100)
    assert r.ratio == pytest.approx(np.median(slow) / np.median(fast), rel=1e-12)
    p90 = bootstrap_ratio(slow, fast, statistic="p90", resamples=100)
    assert p90.ratio == pytest.approx(np.percentile(slow, 90) / np.percentile(fast, 90))


@pytest.mark.parametrize("statistic", ["median", "p90"])
def test_interval_covers_the_true_ratio_over_seeds(statistic: str) -> None:
    # For lognormal(mu, s) the p90 is exp(mu + 1.2816 s): with equal s the p90 ratio is the
    # median ratio too. A 95% interval should miss it about 1 time in 20; over 20 seeds
    # P(3 or more misses) is 0.075 for exact coverage, so allow at most 3.
    true_ratio, misses = 2.5, 0
    for seed in range(20):
        slow, fast = _pair(seed, 400, true_ratio)
        r = bootstrap_ratio(slow, fast, statistic=statistic, resamples=1000, seed=seed)
        assert r.low < r.ratio < r.high
        misses += not r.contains(true_ratio)
    assert misses <= 3


def test_interval_narrows_with_more_samples() -> None:
    # The width shrinks like 1/sqrt(n): 16x the samples, about 1/4 the width.
    def width(n: int) -> float:
        widths = []
        for seed in range(5):
            slow, fast = _pair(seed, n, 2.0)
            r = bootstrap_ratio(slow, fast, resamples=500, seed=seed)
            widths.append(r.high - r.low)
        return float(np.mean(widths))

    small, large = width(100), width(1600)
    assert large < small / 2.5


def test_bootstrap_is_seeded() -> None:
    slow, fast = _pair(0, 50, 2.0)
    a = bootstrap_ratio(slow, fast, resamples=300, seed=7)
    b = bootstrap_ratio(slow, fast, resamples=300, seed=7)
    c = bootstrap_ratio(slow, fast, resamples=300, seed=8)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)


def test_bootstrap_bad_input() -> None:
    with pytest.raises(ValueError, match="numerator must be a non-empty"):
        bootstrap_ratio([], [1.0])
    with pytest.raises(ValueError, match="denominator must hold finite timings > 0"):
        bootstrap_ratio([1.0], [0.0])
    with pytest.raises(ValueError, match="unknown statistic 'mean'"):
        bootstrap_ratio([1.0], [1.0], statistic="mean")
    with pytest.raises(ValueError, match="confidence must be in"):
        bootstrap_ratio([1.0], [1.0], confidence=95)
    with pytest.raises(ValueError, match="resamples must be an int >= 1"):
        bootstrap_ratio([1.0], [1.0], resamples=0)
