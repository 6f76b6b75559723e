"""The load generator: MLPerf's SingleStream and Offline scenarios, and the accuracy mode.

- **SingleStream** issues one query of one sample, waits for its answer, then issues the next
  (a phone app classifying one photo at a time). Every query's latency is timed with
  :func:`time.perf_counter_ns`; the metric is their 90th percentile. Samples are drawn from the
  sample set in a seeded random order, cycling.
- **Offline** issues every sample at once (or in batches of ``batch_size``), pass after pass (a
  photo library indexed overnight), and stops only after a whole pass. The metric is the
  throughput: samples answered per second of wall clock, from the first issue to the last
  answer.

Both first run ``warmup`` untimed queries (first calls pay for allocation, caches and lazy
imports), then go on until there are at least ``min_query_count`` queries (SingleStream) or
samples (Offline) *and* ``min_duration`` seconds have passed, as MLPerf requires both. The
optional ``max_query_count`` / ``max_duration`` stop a run early (a quick run, as LoadGen's
``max_query_count`` does); a run stopped before the minimums is reported INVALID with the
reason (see :func:`tinytorch.benchmarking.results.check`).

The **accuracy mode** runs the whole sample set once through the system and scores the
predictions against the labels: classification accuracy (the arg-max of logits, or the labels
predicted) by default, or any ``metric(predictions, labels) -> float``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.benchmarking.sut import SampleSet, SystemUnderTest

__all__ = [
    "SCENARIOS",
    "Performance",
    "TestSettings",
    "classification_accuracy",
    "run_accuracy",
    "run_performance",
]

SCENARIOS = ("SingleStream", "Offline")

Metric = Callable[[npt.NDArray[Any], npt.NDArray[Any]], float]


def _int(name: str, value: object, least: int, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"TestSettings: {name} must be an int >= {least}, got {value!r}")


def _seconds(name: str, value: object, optional: bool = False) -> None:
    if optional and value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (0 <= value < math.inf)
    ):
        raise ValueError(f"TestSettings: {name} must be finite seconds >= 0, got {value!r}")


@dataclass(frozen=True)
class TestSettings:
    """How a performance run goes (LoadGen's ``TestSettings``, scaled for a CPU classroom:
    MLPerf asks 1024 queries and 600 s; here 1024 and 10 s by default).

    ``min_query_count`` counts queries in SingleStream and samples in Offline. ``batch_size``
    is Offline's batch (``None``: every sample in one batch).

    >>> TestSettings("Offline", min_query_count=64, min_duration=0.0).scenario
    'Offline'
    >>> TestSettings("Server")
    Traceback (most recent call last):
    ...
    ValueError: TestSettings: unknown scenario 'Server'; choose one of SingleStream, Offline
    """

    __test__ = False  # not a pytest class, despite the name

    scenario: str = "SingleStream"
    min_query_count: int = 1024
    min_duration: float = 10.0
    max_query_count: int | None = None
    max_duration: float | None = None
    warmup: int = 10
    batch_size: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS:
            raise ValueError(
                f"TestSettings: unknown scenario {self.scenario!r}; choose one of "
                f"{', '.join(SCENARIOS)}"
            )
        _int("min_query_count", self.min_query_count, 1)
        _seconds("min_duration", self.min_duration)
        _int("max_query_count", self.max_query_count, 1, optional=True)
        _seconds("max_duration", self.max_duration, optional=True)
        _int("warmup", self.warmup, 0)
        _int("batch_size", self.batch_size, 1, optional=True)
        _int("seed", self.seed, 0)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict.

        >>> TestSettings().to_dict()["min_duration"]
        10.0
        """
        return asdict(self)


@dataclass(frozen=True)
class Performance:
    """What a performance run measured: ``timings`` (seconds of each timed query: one sample
    in SingleStream, one batch in Offline), ``queries`` and ``samples`` answered, ``duration``
    (seconds from the first timed issue to the last answer) and ``stopped_by`` (``"minimums"``
    when both minimums were met, else ``"max_query_count"`` or ``"max_duration"``)."""

    scenario: str
    timings: tuple[float, ...]
    queries: int
    samples: int
    duration: float
    stopped_by: str

    @property
    def samples_per_second(self) -> float:
        """Samples answered per second of the run.

        >>> Performance("Offline", (0.5,), 1, 100, 0.5, "minimums").samples_per_second
        200.0
        """
        return self.samples / self.duration if self.duration > 0 else math.inf


def _answer(sut: SystemUnderTest, batch: npt.NDArray[Any]) -> npt.NDArray[Any]:
    predictions = sut(batch)
    if predictions.ndim == 0 or predictions.shape[0] != batch.shape[0]:
        raise ValueError(
            f"run: system {sut.name!r} returned predictions of shape {predictions.shape} for "
            f"a batch of {batch.shape[0]} samples (shape {batch.shape}); expected one per sample"
        )
    return predictions


def _check(sut: object, samples: object, settings: object) -> None:
    if not isinstance(sut, SystemUnderTest):
        raise TypeError(
            f"run: sut must be a SystemUnderTest, got {type(sut).__name__} {sut!r}"
            + (" (wrap it: SystemUnderTest(name, fn))" if callable(sut) else "")
        )
    if not isinstance(samples, SampleSet):
        raise TypeError(f"run: samples must be a SampleSet, got {type(samples).__name__}")
    if not isinstance(settings, TestSettings):
        raise TypeError(f"run: settings must be TestSettings, got {type(settings).__name__}")


def _batches(n: int, settings: TestSettings) -> list[npt.NDArray[np.intp]]:
    # BEGIN SOLUTION scenario-batches
    # HINT: SingleStream issues one sample per query, every sample once in a seeded random
    # HINT: order; Offline issues the whole set in order, in batches of batch_size (all at
    # HINT: once when it is None).
    # TESTS: single_stream or offline or test_harness or test_results or test_stats
    if settings.scenario == "SingleStream":
        order = np.random.default_rng(settings.seed).permutation(n)
        return [order[i : i + 1] for i in range(n)]
    size = settings.batch_size or n
    return [np.arange(i, min(i + size, n)) for i in range(0, n, size)]
    # END SOLUTION


def run_performance(
    sut: SystemUnderTest, samples: SampleSet, settings: TestSettings
) -> Performance:
    """Run ``settings.scenario`` against ``sut`` on ``samples`` (see the module docstring).

    >>> sut = SystemUnderTest("sum", lambda x: x.sum(axis=1))
    >>> s = SampleSet(np.ones((8, 3)))
    >>> p = run_performance(sut, s, TestSettings(min_query_count=20, min_duration=0.0))
    >>> p.queries, p.samples, len(p.timings), p.stopped_by
    (20, 20, 20, 'minimums')
    >>> run_performance(sut, s, TestSettings("Offline", min_query_count=20, min_duration=0.0,
    ...                                      batch_size=5)).samples  # 3 passes of 8
    24
    """
    _check(sut, samples, settings)
    batches = [samples.batch(ix) for ix in _batches(len(samples), settings)]
    # BEGIN SOLUTION scenario-loop
    # HINT: warm up untimed; then issue batches in turn, timing each query alone, until the
    # HINT: minimums are met (queries in SingleStream, samples in Offline, and min_duration
    # HINT: since the first issue), or a maximum stops it (say which). Offline stops only after
    # HINT: whole passes over the set. Check each answer has one prediction per sample.
    # TESTS: single_stream or offline or min_duration or test_harness or test_results
    for i in range(settings.warmup):
        _answer(sut, batches[i % len(batches)])
    clock = time.perf_counter_ns
    timings_ns: list[int] = []
    answered = 0
    max_ns = math.inf if settings.max_duration is None else settings.max_duration * 1e9
    min_ns = settings.min_duration * 1e9
    first = clock()
    end = first
    stopped_by = "minimums"
    while True:
        batch = batches[len(timings_ns) % len(batches)]
        start = clock()
        predictions = sut(batch)
        end = clock()
        timings_ns.append(end - start)
        if predictions.ndim == 0 or predictions.shape[0] != batch.shape[0]:
            _answer(sut, batch)  # raises, naming the shapes
        answered += batch.shape[0]
        if settings.scenario == "Offline" and len(timings_ns) % len(batches):
            continue  # Offline stops only after whole passes over the sample set
        count = len(timings_ns) if settings.scenario == "SingleStream" else answered
        if count >= settings.min_query_count and end - first >= min_ns:
            break
        if settings.max_query_count is not None and count >= settings.max_query_count:
            stopped_by = "max_query_count"
            break
        if end - first >= max_ns:
            stopped_by = "max_duration"
            break
    # END SOLUTION
    return Performance(
        scenario=settings.scenario,
        timings=tuple(ns / 1e9 for ns in timings_ns),
        queries=len(timings_ns),
        samples=answered,
        duration=(end - first) / 1e9,
        stopped_by=stopped_by,
    )


def classification_accuracy(predictions: npt.NDArray[Any], labels: npt.NDArray[Any]) -> float:
    """The fraction of samples classified right: ``predictions`` are logits ``(n, classes)``
    (their arg-max is the class) or predicted labels ``(n,)``.

    >>> classification_accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
    0.5
    """
    # BEGIN SOLUTION classification-accuracy
    # HINT: logits (n, classes) give their arg-max class; compare with the labels and average.
    # TESTS: accuracy or real_mlp
    predicted = np.argmax(predictions, axis=-1) if predictions.ndim > 1 else predictions
    if predicted.shape != labels.shape:
        raise ValueError(
            f"classification_accuracy: predictions of shape {predictions.shape} do not match "
            f"labels of shape {labels.shape}"
        )
    return float(np.mean(predicted == labels))
    # END SOLUTION


def run_accuracy(
    sut: SystemUnderTest,
    samples: SampleSet,
    metric: Metric | None = None,
    batch_size: int | None = None,
) -> float:
    """Score ``sut`` on every sample of ``samples`` once (in batches of ``batch_size``; all
    at once by default): ``metric(predictions, labels)``, classification accuracy by default.

    >>> s = SampleSet(np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]), np.array([1, 0, 1]))
    >>> run_accuracy(SystemUnderTest("id", lambda x: x), s)
    0.6666666666666666
    """
    _check(sut, samples, TestSettings())
    if samples.labels is None:
        raise ValueError(
            f"run_accuracy: sample set {samples.name!r} has no labels; the accuracy mode needs "
            "held-out labels"
        )
    if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
        raise ValueError(f"run_accuracy: batch_size must be >= 1, got {batch_size!r}")
    n = len(samples)
    size = batch_size or n
    parts = [_answer(sut, samples.batch(np.arange(i, min(i + size, n)))) for i in range(0, n, size)]
    predictions = np.concatenate(parts, axis=0)
    score = (metric or classification_accuracy)(predictions, samples.labels)
    return float(score)
