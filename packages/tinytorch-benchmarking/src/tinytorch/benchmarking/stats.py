"""Statistics a reader can trust: latency summaries and a bootstrap interval on a ratio.

Summaries reuse :class:`tinytorch.profiling.latency.LatencyReport` (p50/p90/p99, mean, sample
standard deviation, coefficient of variation) and its :func:`~tinytorch.profiling.latency.
percentiles` (linear interpolation between closest ranks, ``numpy.percentile``'s default).

:func:`bootstrap_ratio` answers "how much faster is A than B, and how sure are we?": the ratio
of a statistic (the median, or the 90th percentile) of B's timings to A's, and a percentile
bootstrap confidence interval (Efron): ``resamples`` times, draw each system's timings with
replacement (same size, independently, from a seeded generator), compute the ratio; the
interval is the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` percentiles of those
ratios. Timings are skewed (a long right tail from the OS and other processes), which is why a
percentile of them, not a mean with a normal-theory interval, is what is compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tinytorch.profiling.latency import percentiles

__all__ = ["STATISTICS", "RatioInterval", "bootstrap_ratio"]

_BLOCK_ELEMENTS = 1 << 22  # resampled timings held at once (32 MiB of float64)

#: statistic name -> the percentile it is
STATISTICS = {"median": 50.0, "p50": 50.0, "p90": 90.0, "p99": 99.0}


@dataclass(frozen=True)
class RatioInterval:
    """``ratio = statistic(numerator) / statistic(denominator)`` and its bootstrap interval.

    >>> RatioInterval(2.0, 1.8, 2.3, 0.95, 1000, "median", 0).contains(2.1)
    True
    """

    ratio: float
    low: float
    high: float
    confidence: float
    resamples: int
    statistic: str
    seed: int

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in ``[low, high]``.

        >>> RatioInterval(2.0, 1.8, 2.3, 0.95, 1000, "median", 0).contains(1.0)
        False
        """
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return (
            f"{self.statistic} ratio {self.ratio:.3f}x, {self.confidence:.0%} CI "
            f"[{self.low:.3f}, {self.high:.3f}] (percentile bootstrap, {self.resamples} "
            f"resamples, seed {self.seed})"
        )


def _timings(name: str, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
    xs = np.asarray(values, dtype=np.float64)
    if xs.ndim != 1 or xs.size == 0:
        raise ValueError(f"bootstrap_ratio: {name} must be a non-empty 1-d sequence, got shape "
                         f"{xs.shape}")  # fmt: skip
    if not np.all(np.isfinite(xs)) or np.any(xs <= 0):
        raise ValueError(f"bootstrap_ratio: {name} must hold finite timings > 0")
    return xs


def bootstrap_ratio(
    numerator: npt.ArrayLike,
    denominator: npt.ArrayLike,
    *,
    statistic: str = "median",
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> RatioInterval:
    """``statistic(numerator) / statistic(denominator)`` with its percentile bootstrap interval
    (see the module docstring). Pass the baseline's timings as ``numerator`` and the optimized
    system's as ``denominator`` to get a speed-up.

    >>> slow, fast = [2.0, 2.2, 2.1, 1.9, 2.0], [1.0, 1.1, 1.0, 0.9, 1.0]
    >>> r = bootstrap_ratio(slow, fast, resamples=200)
    >>> r.ratio, r.low <= r.ratio <= r.high
    (2.0, True)
    """
    if statistic not in STATISTICS:
        raise ValueError(f"bootstrap_ratio: unknown statistic {statistic!r}; choose one of "
                         f"{', '.join(STATISTICS)}")  # fmt: skip
    if not 0 < confidence < 1:
        raise ValueError(f"bootstrap_ratio: confidence must be in (0, 1), got {confidence!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValueError(f"bootstrap_ratio: resamples must be an int >= 1, got {resamples!r}")
    a, b = _timings("numerator", numerator), _timings("denominator", denominator)
    q = STATISTICS[statistic]
    # BEGIN SOLUTION bootstrap-ratio
    # HINT: the point estimate is the statistic's percentile of a over b's. Then, resamples
    # HINT: times, draw each side's timings with replacement (same size, a seeded generator),
    # HINT: take the ratio of their percentiles; the interval is the (1 - confidence) / 2 and
    # HINT: (1 + confidence) / 2 percentiles of those ratios. Draw in blocks of rows so memory
    # HINT: stays bounded (_BLOCK_ELEMENTS), vectorised with np.percentile along each row.
    # TESTS: bootstrap or interval or ratio_of_medians
    (qa,), (qb,) = percentiles(a, (q,)), percentiles(b, (q,))
    rng = np.random.default_rng(seed)
    ra, rb = np.empty(resamples), np.empty(resamples)
    # Resamples are drawn in blocks of rows, so that memory stays bounded (a 10 s SingleStream
    # run holds ~400k timings: 2000 resamples at once would be 6 GB of indices). np.percentile
    # along the rows uses the same linear interpolation as percentiles() above, vectorised.
    block = max(1, _BLOCK_ELEMENTS // max(a.size, b.size))
    for start in range(0, resamples, block):
        rows = min(block, resamples - start)
        ra[start : start + rows] = np.percentile(a[rng.integers(0, a.size, (rows, a.size))], q, 1)
        rb[start : start + rows] = np.percentile(b[rng.integers(0, b.size, (rows, b.size))], q, 1)
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(ra / rb, (tail, 100 - tail))
    # END SOLUTION
    return RatioInterval(
        ratio=qa / qb,
        low=float(low),
        high=float(high),
        confidence=confidence,
        resamples=resamples,
        statistic=statistic,
        seed=seed,
    )
