"""The harness every ``packages/*/benchmarks/bench_*.py`` script times with.

A script builds its command line with :func:`parser` (which adds ``--quick`` and ``--threads``),
reads it with :func:`parse` (which applies the thread policy), prints :func:`environment`, then
times with :func:`measure` (one callable), :func:`compare` (contenders interleaved),
:func:`measure_laps` (the phases of one call) or :func:`once` (a single cold call), and prints
with :func:`table` or :func:`ratio_table`. ``python -m tools bench NAME`` runs a package's
scripts with the repository root on ``PYTHONPATH``; run directly, a script puts the root on
``sys.path`` itself.

Statistics. Every sample is the seconds of one call (the mean over ``number`` back-to-back calls
when one call is too short for the clock). A :class:`Stats` keeps the median (what the tables
show: other processes on a shared machine add long, rare delays that a mean would absorb), the
minimum and the interquartile range (how far to trust the median).

Thread policy. ``--threads N`` pins both NumPy's BLAS and PyTorch to ``N`` threads; ``--threads 0``
leaves both libraries at their own defaults. The default is 0 unless a script asks for another
(a script whose ratios swing with a contended thread pool defaults to 1 and says so). BLAS reads
its thread count once, when NumPy loads it, from ``OPENBLAS_NUM_THREADS`` and its siblings: so a
script that already imported NumPy and is asked for a different count starts itself again with
those variables set (``os.execv``, same command line). PyTorch is set with
``torch.set_num_threads``. Whatever the setting, :func:`environment` prints the thread counts.

PyTorch is a point of comparison, never a dependency: :func:`optional_torch` imports it on first
use and answers ``None`` where it is not installed. The module itself needs only the standard
library (NumPy is imported by :func:`environment` alone), so ``tools`` stays importable anywhere.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

T = TypeVar("T")

#: What BLAS libraries and OpenMP read for their thread count (OpenBLAS, OpenMP, MKL, Accelerate).
THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)

#: Seconds to each unit the tables print in.
UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}

#: A phase marker: ``lap(name)`` ends the phase called ``name`` (see :func:`measure_laps`).
Lap = Callable[[str], None]

_pinned_threads = 0  # what parse()/pin_threads() asked for; 0: the libraries' defaults


@dataclass(frozen=True)
class Stats:
    """Seconds per call over the timed runs: their median, minimum and interquartile range.

    >>> s = Stats.of([0.3, 0.1, 0.2, 0.4])
    >>> s.median, s.min, round(s.iqr, 3), len(s.samples)
    (0.25, 0.1, 0.15, 4)
    """

    median: float
    min: float
    iqr: float
    samples: tuple[float, ...]

    @classmethod
    def of(cls, samples: Iterable[float]) -> Stats:
        """The statistics of ``samples`` (seconds per call, one per timed run).

        >>> Stats.of([2.0]).iqr
        0.0
        """
        values = tuple(samples)
        if not values:
            raise ValueError("Stats.of: no samples")
        if len(values) > 1:
            q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
        else:
            q1 = q3 = values[0]
        return cls(statistics.median(values), min(values), q3 - q1, values)


def _time_calls(fn: Callable[[], object], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def measure(
    fn: Callable[[], object],
    *,
    warmup: int = 1,
    repeat: int | None = None,
    min_time: float | None = None,
    number: int = 1,
) -> Stats:
    """Seconds per call of ``fn``, after ``warmup`` untimed calls.

    ``repeat`` timed runs, each of ``number`` back-to-back calls (a run's sample is their mean);
    with ``min_time``, runs go on until that many seconds have been timed (and there are at least
    ``repeat`` of them, when both are given).

    >>> s = measure(lambda: sum(range(100)), repeat=5, number=10)
    >>> len(s.samples), s.min <= s.median
    (5, True)
    >>> len(measure(lambda: None, min_time=0.001).samples) >= 1
    True
    """
    if repeat is None and min_time is None:
        raise ValueError("measure: give repeat (timed runs) or min_time (seconds), or both")
    if number < 1 or (repeat is not None and repeat < 1):
        raise ValueError(f"measure: repeat ({repeat}) and number ({number}) must be >= 1")
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    timed = 0.0
    while len(samples) < (repeat or 1) or (min_time is not None and timed < min_time):
        samples.append(_time_calls(fn, number))
        timed += samples[-1] * number
    return Stats.of(samples)


def compare(
    fns: Mapping[str, Callable[[], object]],
    *,
    repeat: int,
    warmup: int = 1,
    number: int = 1,
    block: int = 1,
) -> dict[str, Stats]:
    """Seconds per call of each contender, the contenders interleaved so that load from other
    processes falls on all of them alike.

    Each contender first gets ``warmup`` untimed calls. Then come rounds: in each, every
    contender takes ``block`` timed runs in a row (of ``number`` calls each), until each has
    ``repeat`` runs. Who goes first rotates from round to round, because the first of a round
    runs measurably slower (its caches are cold). ``block`` > 1 suits a contender whose calls
    leave state behind (an optimizer step, a training step) that a switch would disturb.

    >>> fns = {"sum": lambda: sum(range(50)), "list": lambda: list(range(50))}
    >>> times = compare(fns, repeat=4, number=10)
    >>> list(times), [len(s.samples) for s in times.values()]
    (['sum', 'list'], [4, 4])
    """
    if repeat < 1 or number < 1 or block < 1:
        raise ValueError(f"compare: repeat ({repeat}), number ({number}), block ({block}) >= 1")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    order = list(fns.items())
    for r in range(math.ceil(repeat / block)):
        turn = r % len(order) if order else 0
        for name, fn in order[turn:] + order[:turn]:
            for _ in range(min(block, repeat - len(samples[name]))):
                samples[name].append(_time_calls(fn, number))
    return {name: Stats.of(s) for name, s in samples.items()}


def no_lap(name: str) -> None:
    """A :data:`Lap` that records nothing: the default of a function also run untimed.

    >>> def step(lap=no_lap):
    ...     lap("all")
    ...     return 1
    >>> step()
    1
    """


def measure_laps(fn: Callable[[Lap], object], *, repeat: int, warmup: int = 1) -> dict[str, Stats]:
    """Seconds of each phase of ``fn``, which calls ``lap(name)`` as each of its phases ends.

    For one call split into parts (forward / backward / optimizer step): the clock restarts at
    each lap, so the phases add up to the call. Phases come out in the order ``fn`` ends them.

    >>> def step(lap):
    ...     sum(range(1000))
    ...     lap("sum")
    ...     sorted(range(1000))
    ...     lap("sort")
    >>> laps = measure_laps(step, repeat=3)
    >>> list(laps), len(laps["sort"].samples)
    (['sum', 'sort'], 3)
    """
    if repeat < 1:
        raise ValueError(f"measure_laps: repeat ({repeat}) must be >= 1")
    samples: dict[str, list[float]] = {}
    for _ in range(warmup):
        fn(no_lap)
    for _ in range(repeat):
        last = time.perf_counter()

        def lap(name: str) -> None:
            nonlocal last
            now = time.perf_counter()
            samples.setdefault(name, []).append(now - last)
            last = time.perf_counter()  # the bookkeeping above is no phase's time

        fn(lap)
    return {name: Stats.of(s) for name, s in samples.items()}


def once(fn: Callable[[], T]) -> tuple[float, T]:
    """Seconds of a single call of ``fn``, and what it returned: for work timed cold, or too
    long to repeat.

    >>> seconds, result = once(lambda: sum(range(10)))
    >>> result, seconds >= 0
    (45, True)
    """
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


# --- the command line and the thread policy -------------------------------------------------


def parser(
    doc: str | None, *, threads: int = 0, repeats: int | None = None, quick_repeats: int = 3
) -> argparse.ArgumentParser:
    """An argument parser, described by the first line of ``doc``, with the options every
    benchmark takes: ``--quick`` (a smoke run) and ``--threads`` (default ``threads``; see the
    module's thread policy); with ``repeats``, also ``--repeats`` (runs per measurement, that
    many by default), which ``--quick`` caps at ``quick_repeats`` (see :func:`parse`).

    >>> p = parser("Bench a thing.\\n\\nMore.", threads=1, repeats=9)
    >>> p.description, p.parse_args([]).threads, p.parse_args(["--quick"]).repeats
    ('Bench a thing.', 1, 9)
    """
    p = argparse.ArgumentParser(
        description=doc.strip().splitlines()[0] if doc and doc.strip() else None
    )
    p.add_argument("--quick", action="store_true", help="a smoke run: few repeats")
    p.add_argument(
        "--threads",
        type=int,
        default=threads,
        metavar="N",
        help="pin NumPy's BLAS and PyTorch to N threads each; 0 leaves both at their defaults "
        "(default: %(default)s)",
    )
    if repeats is not None:
        p.add_argument(
            "--repeats",
            type=int,
            default=repeats,
            metavar="N",
            help=f"runs per measurement (default: %(default)s; --quick: {quick_repeats} at most)",
        )
        p.set_defaults(quick_repeats=quick_repeats)
    return p


def parse(p: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line, cap ``--repeats`` under ``--quick``, and apply ``--threads``
    (see :func:`pin_threads`).

    >>> args = parse(parser("Demo.", repeats=15), ["--quick", "--threads", "0"])
    >>> args.repeats, args.threads
    (3, 0)
    """
    args = p.parse_args(argv)
    if args.threads < 0:
        p.error(f"--threads: {args.threads} is negative (0 leaves the libraries' defaults)")
    if getattr(args, "repeats", None) is not None:
        if args.repeats < 1:
            p.error(f"--repeats: {args.repeats} is not a count of runs")
        if args.quick:
            args.repeats = min(args.repeats, args.quick_repeats)
    pin_threads(args.threads)
    return args


def thread_environment(threads: int) -> dict[str, str]:
    """The environment variables that pin BLAS to ``threads`` when set before NumPy loads.

    >>> thread_environment(2)["OPENBLAS_NUM_THREADS"]
    '2'
    """
    return dict.fromkeys(THREAD_VARIABLES, str(threads))


def pin_threads(threads: int) -> None:
    """Pin NumPy's BLAS and PyTorch to ``threads`` threads; 0 leaves both as they are.

    BLAS takes its count from the environment when NumPy loads it. If NumPy is loaded already
    and the environment says otherwise, a script run as a file starts itself again with the
    variables set (same interpreter, same arguments); anywhere else that cannot be done, and it
    is an error. PyTorch is pinned now if imported, else when :func:`optional_torch` imports it.

    >>> pin_threads(0)  # the libraries' defaults: nothing to do
    """
    global _pinned_threads
    if threads <= 0:
        return
    wanted = thread_environment(threads)
    if any(os.environ.get(k) != v for k, v in wanted.items()):
        if "numpy" in sys.modules:
            _restart(threads)  # does not return
        os.environ.update(wanted)
    _pinned_threads = threads
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def _restart(threads: int) -> None:
    main = sys.modules.get("__main__")
    # Only a script run as a file (no __spec__; not `python -m`, not a REPL) is restarted: a
    # process that merely imported the harness must not be replaced under its caller's feet.
    as_file = getattr(main, "__file__", None) is not None and getattr(main, "__spec__", 1) is None
    if not as_file or sys.flags.interactive or not sys.orig_argv:
        raise RuntimeError(
            f"pin_threads({threads}): NumPy is loaded already, so its BLAS keeps the thread count "
            f"it started with; set {THREAD_VARIABLES[0]}={threads} before Python starts"
        )
    os.environ.update(thread_environment(threads))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


@functools.cache
def optional_torch() -> ModuleType | None:
    """PyTorch, imported on first use and pinned to the thread policy; ``None`` if absent.

    >>> torch = optional_torch()
    >>> torch is None or hasattr(torch, "set_num_threads")
    True
    """
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        return None
    if _pinned_threads:
        torch.set_num_threads(_pinned_threads)
    return torch


def describe_torch(torch: ModuleType | None) -> str:
    """PyTorch's version and thread count, for a header line.

    >>> describe_torch(None)
    'torch not installed'
    """
    if torch is None:
        return "torch not installed"
    n = torch.get_num_threads()
    return f"torch {torch.__version__} ({n} thread{'s' if n != 1 else ''})"


def _blas_threads() -> str:
    for name in THREAD_VARIABLES:
        if os.environ.get(name):
            return f"{os.environ[name]} ({name})"
    return f"default ({os.cpu_count()} CPUs)"


def environment(*, torch: bool = True) -> str:
    """One line saying where the numbers come from: machine, Python, NumPy with its BLAS and
    thread count, and (``torch=True``, importing it) PyTorch with its thread count.

    ``torch=False`` leaves PyTorch unimported, for a script that times something first that
    PyTorch's import would disturb; it can print :func:`describe_torch` later.

    Example (not run here: it imports NumPy)::

        >>> print(environment())  # doctest: +SKIP
        x86_64 Linux, 2 CPUs, Python 3.11.7; numpy 2.4.6 (scipy-openblas), BLAS threads
        default (2 CPUs); torch 2.13.0+cpu (2 threads)
    """
    import numpy as np

    config: Any = getattr(importlib.import_module("numpy.__config__"), "CONFIG", {})
    blas = config.get("Build Dependencies", {}).get("blas", {}).get("name", "BLAS")
    parts = [
        f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        f"numpy {np.__version__} ({blas}), BLAS threads {_blas_threads()}",
    ]
    if torch:
        parts.append(describe_torch(optional_torch()))
    return "; ".join(parts)


# --- tables -----------------------------------------------------------------------------------


def format_time(value: float | Stats | None, unit: str, digits: int | None = None) -> str:
    """Seconds (or a :class:`Stats`' median) in ``unit`` ("s", "ms", "us", "ns"), with
    ``digits`` decimals or, by default, about four significant figures; "-" for ``None``.

    >>> format_time(0.0123456, "ms"), format_time(Stats.of([2e-6]), "us"), format_time(None, "s")
    ('12.35', '2.000', '-')
    """
    if value is None:
        return "-"
    seconds = value.median if isinstance(value, Stats) else value
    if unit not in UNITS:
        raise ValueError(f"format_time: unit {unit!r} is none of {', '.join(UNITS)}")
    scaled = seconds * UNITS[unit]
    return f"{scaled:.{_digits(scaled) if digits is None else digits}f}"


def _digits(scaled: float) -> int:
    # Decimals for about four significant figures, at most three.
    return 3 if scaled == 0 else min(3, max(0, 3 - math.floor(math.log10(abs(scaled)))))


def format_ratio(
    value: float | Stats | None, reference: float | Stats | None, digits: int = 2
) -> str:
    """``value / reference`` (medians, for :class:`Stats`); "-" when either is missing.

    >>> format_ratio(3.0, 2.0), format_ratio(1.0, None)
    ('1.50', '-')
    """
    if value is None or reference is None:
        return "-"
    a = value.median if isinstance(value, Stats) else value
    b = reference.median if isinstance(reference, Stats) else reference
    return f"{a / b:.{digits}f}"


def table(
    title: str, header: Sequence[str], rows: Iterable[Sequence[str]], *, markdown: bool = False
) -> str:
    """A plain-text table under ``title``: first column left-aligned, the others right-aligned,
    a rule under the header; with ``markdown``, a Markdown table (to paste into a README).

    >>> print(table("demo", ("op", "us"), [("add", "1.5"), ("matmul", "120.0")]))
    demo
      op         us
      ------  -----
      add       1.5
      matmul  120.0
    >>> print(table("demo", ("op", "us"), [("add", "1.5")], markdown=True))
    demo
    | op | us |
    |---|---|
    | add | 1.5 |
    """
    body = [tuple(header), *(tuple(r) for r in rows)]
    if any(len(r) != len(header) for r in body):
        raise ValueError(f"table {title!r}: every row needs {len(header)} cells")
    lines = [title] if title else []
    if markdown:
        lines.append("| " + " | ".join(body[0]) + " |")
        lines.append("|" + "---|" * len(header))
        lines += ["| " + " | ".join(r) + " |" for r in body[1:]]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in body) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  " + "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    lines.append(line(body[0]))
    lines.append("  " + "  ".join("-" * w for w in widths))
    lines += [line(r) for r in body[1:]]
    return "\n".join(lines)


def ratio_table(
    title: str,
    times: Mapping[str, Stats],
    *,
    reference: str | None,
    unit: str = "us",
    label: str = "",
    digits: int | None = None,
) -> str:
    """One row per contender: median and interquartile range in ``unit``, and the ratio of its
    median to ``reference``'s (no ratio column when ``reference`` is ``None``). The times take
    ``digits`` decimals; by default, as many as the largest median needs for about four
    significant figures, so that a column's decimal points line up.

    >>> times = {"ours": Stats.of([3e-6, 3e-6]), "numpy": Stats.of([2e-6, 2e-6])}
    >>> print(ratio_table("add", times, reference="numpy"))
    add
                us    IQR  / numpy
      -----  -----  -----  -------
      ours   3.000  0.000     1.50
      numpy  2.000  0.000     1.00
    """
    if reference is not None and reference not in times:
        raise ValueError(f"ratio_table {title!r}: no {reference!r} among {', '.join(times)}")
    header = [label, unit, "IQR"] + ([f"/ {reference}"] if reference is not None else [])
    if digits is None and times:
        digits = _digits(max(s.median for s in times.values()) * UNITS[unit])
    rows = []
    for name, stats in times.items():
        row = [name, format_time(stats, unit, digits), format_time(stats.iqr, unit, digits)]
        if reference is not None:
            row.append(format_ratio(stats, times[reference]))
        rows.append(row)
    return table(title, header, rows)
