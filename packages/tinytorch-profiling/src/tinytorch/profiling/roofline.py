"""The roofline of this machine, measured, and where each op of a profile sits under it.

The roofline model (Williams, Waterman and Patterson, 2009): an op doing ``F`` FLOPs over ``B``
bytes has the arithmetic intensity ``I = F / B`` (FLOP/byte) and can run no faster than
``min(peak, I * bandwidth)``. Below the *ridge* ``peak / bandwidth`` the memory bounds it, above
it the arithmetic does.

Both roofs are measured here, never taken from a data sheet (:func:`measure_machine`): the peak
is the best of several timed ``np.matmul`` of square float32 matrices (``2 * n**3`` FLOPs each,
``torch.utils.flop_counter``'s convention), the bandwidth the best of several ``np.copyto`` of
an array far bigger than any cache, counting ``2 * nbytes`` per copy (one read and one write, the
convention of STREAM's Copy; the cache line a write first loads is not counted). Being the
best NumPy achieved, they are what NumPy can reach on this machine, which is the roof that
matters for TinyTorch's ops. The bandwidth is that of main memory, so a small op whose data sits
in cache can beat its roof: its ``fraction`` is then above 1, a sign of cache, not an error.

:func:`place` puts ops (name, FLOPs, bytes moved, seconds; e.g. one per op kind of a profile)
under the roofs; :func:`write_svg` draws them. The picture is an SVG written by hand, not a
matplotlib figure: NumPy is the package's only runtime dependency, the picture is a few lines
and circles, and an SVG opens in any browser with nothing installed.
"""

from __future__ import annotations

import json
import math
import operator
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import IO, Any, Literal, TypeAlias

import numpy as np

from tinytorch.profiling.latency import describe_threads, thread_settings
from tinytorch.profiling.svg import figure, roofline_document
from tinytorch.training.checkpoint import atomic_write

Bound: TypeAlias = Literal["memory", "compute", "no arithmetic"]


@dataclass(frozen=True)
class Machine:
    """A machine's two roofs: float32 matmul ``peak_gflops`` and memory ``bandwidth_gbs``.

    The other fields say how :func:`measure_machine` got them (matrix size, runs, best time;
    bytes of the copied array, runs, best time) and the thread settings; they are ``None`` for
    a machine given by hand, which the picture then labels "given, not measured".

    >>> m = Machine(peak_gflops=100.0, bandwidth_gbs=10.0)
    >>> m.ridge, Machine.from_json(m.to_json()) == m
    (10.0, True)
    """

    peak_gflops: float
    bandwidth_gbs: float
    matmul_n: int | None = None
    matmul_runs: int | None = None
    matmul_seconds: float | None = None
    copy_bytes: int | None = None
    copy_runs: int | None = None
    copy_seconds: float | None = None
    threads: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        for name in ("peak_gflops", "bandwidth_gbs"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value < math.inf):
                raise ValueError(f"Machine: {name} must be finite and > 0, got {value!r}")

    @property
    def ridge(self) -> float:
        """The arithmetic intensity (FLOP/byte) where the two roofs meet.

        >>> Machine(peak_gflops=200.0, bandwidth_gbs=40.0).ridge
        5.0
        """
        return self.peak_gflops / self.bandwidth_gbs

    @property
    def measured(self) -> bool:
        """Whether :func:`measure_machine` produced these figures (rather than a person).

        >>> Machine(peak_gflops=200.0, bandwidth_gbs=40.0).measured
        False
        """
        return self.matmul_seconds is not None and self.copy_seconds is not None

    def to_json(self) -> str:
        """The machine as a JSON object (its fields, plus ``ridge`` for a reader's benefit).

        >>> json.loads(Machine(peak_gflops=200.0, bandwidth_gbs=40.0).to_json())["ridge"]
        5.0
        """
        return json.dumps({**asdict(self), "ridge": self.ridge}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Machine:
        """The machine that :meth:`to_json` wrote (``ridge`` is recomputed, not read).

        >>> Machine.from_json('{"peak_gflops": 200.0, "bandwidth_gbs": 40.0}').ridge
        5.0
        """
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(
                f"Machine.from_json: expected a JSON object, got {type(data).__name__}"
            )
        data.pop("ridge", None)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Machine.from_json: unknown keys {unknown}; known: {sorted(known)}")
        missing = sorted({"peak_gflops", "bandwidth_gbs"} - set(data))
        if missing:
            raise ValueError(f"Machine.from_json: missing keys {missing}")
        return cls(**data)

    def caption(self) -> str:
        """One line for a picture: the two roofs, measured or given, and the threads.

        >>> Machine(peak_gflops=100.0, bandwidth_gbs=12.5).caption()
        'given, not measured: peak 100 GFLOP/s, bandwidth 12.5 GB/s'
        """
        peak, bandwidth = figure(self.peak_gflops), figure(self.bandwidth_gbs)
        if not self.measured:
            return f"given, not measured: peak {peak} GFLOP/s, bandwidth {bandwidth} GB/s"
        return (
            f"measured: peak {peak} GFLOP/s float32 matmul, bandwidth {bandwidth} GB/s copy, "
            f"{describe_threads(self.threads)}"
        )

    def method(self) -> str:
        """How the roofs were measured, in one line (``""`` for a machine given by hand).

        >>> Machine(100.0, 10.0, 1024, 5, 0.02, 2**28, 4, 0.05).method()
        'matmul n=1024, best of 5 runs; copy of 256 MiB (bytes = read + write), best of 4 runs'
        """
        if not self.measured:
            return ""
        return (
            f"matmul n={self.matmul_n}, best of {self.matmul_runs} runs; copy of "
            f"{_mib(self.copy_bytes or 0)} (bytes = read + write), best of {self.copy_runs} runs"
        )


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:.4g} MiB"


def _best_seconds(run: Callable[[], object], min_runs: int, budget_s: float) -> tuple[float, int]:
    """The fastest of at least ``min_runs`` timed calls of ``run``, repeated for ``budget_s``."""
    run()  # untimed: first touch of the output's pages, BLAS's thread start-up
    best_ns, runs = math.inf, 0
    first = time.perf_counter_ns()
    while runs < min_runs or time.perf_counter_ns() - first < budget_s * 1e9:
        start = time.perf_counter_ns()
        run()
        best_ns = min(best_ns, time.perf_counter_ns() - start)
        runs += 1
    if best_ns <= 0:
        raise RuntimeError("measure_machine: a run took 0 ns on this clock; use bigger sizes")
    return best_ns / 1e9, runs


def _time_matmul(n: int, min_runs: int, budget_s: float) -> tuple[float, int]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    product = np.empty_like(a)
    return _best_seconds(lambda: np.matmul(a, b, out=product), min_runs, budget_s)


def _time_copy(elements: int, min_runs: int, budget_s: float) -> tuple[float, int]:
    source = np.ones(elements, dtype=np.float32)
    target = np.empty_like(source)
    return _best_seconds(lambda: np.copyto(target, source), min_runs, budget_s)


def measure_machine(
    seconds: float = 1.0,
    *,
    matmul_n: int = 1024,
    copy_bytes: int = 256 * 2**20,
    min_runs: int = 3,
) -> Machine:
    """Measure this machine's float32 matmul peak and memory bandwidth, in about ``seconds``
    (half each; at least ``min_runs`` timed runs of each, the best one kept).

    ``matmul_n`` is the side of the square matrices; ``copy_bytes`` the size of the copied
    array (the default, 256 MiB, is far bigger than any cache). Both roofs are what NumPy
    achieves here; see the module docstring for the conventions.

    >>> m = measure_machine(0.01, matmul_n=32, copy_bytes=2**16, min_runs=2)
    >>> m.peak_gflops > 0 and m.bandwidth_gbs > 0, m.matmul_n, m.copy_bytes
    (True, 32, 65536)
    """
    if not (isinstance(seconds, (int, float)) and 0 <= seconds < math.inf):
        raise ValueError(f"measure_machine: seconds must be finite and >= 0, got {seconds!r}")
    for name, value, least in (("matmul_n", matmul_n, 1), ("copy_bytes", copy_bytes, 4)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"measure_machine: {name} must be an int >= {least}, got {value!r}")
    if isinstance(min_runs, bool) or not isinstance(min_runs, int) or min_runs < 1:
        raise ValueError(f"measure_machine: min_runs must be an int >= 1, got {min_runs!r}")

    matmul_s, matmul_runs = _time_matmul(matmul_n, min_runs, seconds / 2)
    copy_s, copy_runs = _time_copy(copy_bytes // 4, min_runs, seconds / 2)
    copied = copy_bytes // 4 * 4
    return Machine(
        peak_gflops=2 * matmul_n**3 / matmul_s / 1e9,
        bandwidth_gbs=2 * copied / copy_s / 1e9,
        matmul_n=matmul_n,
        matmul_runs=matmul_runs,
        matmul_seconds=matmul_s,
        copy_bytes=copied,
        copy_runs=copy_runs,
        copy_seconds=copy_s,
        threads=thread_settings(),
    )


@dataclass(frozen=True)
class OpCost:
    """What :func:`place` needs of one op (or one op kind, aggregated): its FLOPs (counted),
    the bytes it moves (counted), and the seconds it took (measured).

    >>> OpCost("matmul", 2_000, 400, 1e-6)
    OpCost(name='matmul', flops=2000, bytes_moved=400, seconds=1e-06)
    """

    name: str
    flops: int
    bytes_moved: int
    seconds: float


@dataclass(frozen=True)
class RooflinePoint:
    """One op under the roofs.

    ``intensity`` is ``flops / bytes_moved`` (FLOP/byte), ``achieved_gflops`` is
    ``flops / seconds / 1e9``, ``attainable_gflops`` is ``min(peak, intensity * bandwidth)``,
    ``fraction`` is achieved over attainable, ``share`` the op's part of the seconds of all the
    points placed together. ``bound`` is ``"memory"`` below the ridge, ``"compute"`` at or
    above it, and ``"no arithmetic"`` for an op of 0 FLOPs (a reshape, a copy), which has no
    intensity and is not plotted (its intensity, attainable and fraction are ``None``).

    >>> (p,) = place([("gelu", 8_000, 8_000, 4e-6)], Machine(peak_gflops=100.0, bandwidth_gbs=10.0))
    >>> p.intensity, p.achieved_gflops, p.attainable_gflops, p.fraction, p.bound, p.plotted
    (1.0, 2.0, 10.0, 0.2, 'memory', True)
    """

    name: str
    flops: int
    bytes_moved: int
    seconds: float
    share: float
    intensity: float | None
    achieved_gflops: float
    attainable_gflops: float | None
    fraction: float | None
    bound: Bound

    @property
    def plotted(self) -> bool:
        """Whether the op has arithmetic, so a place on the roofline picture (see the class
        example)."""
        return self.bound != "no arithmetic"

    def __str__(self) -> str:
        time_part = f"{self.seconds * 1e3:.4g} ms ({self.share:.1%} of time)"
        if self.intensity is None or self.attainable_gflops is None or self.fraction is None:
            return f"{self.name}: no arithmetic, {time_part}"
        return (
            f"{self.name}: {self.bound}-bound, {self.intensity:.3g} FLOP/byte, "
            f"{figure(self.achieved_gflops)} GFLOP/s of {figure(self.attainable_gflops)} "
            f"attainable ({self.fraction:.0%}), {time_part}"
        )


def _count(where: str, name: str, value: object) -> int:
    try:
        count = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"place: {where}: {name} must be an integer, got {value!r}") from None
    if count < 0:
        raise ValueError(f"place: {where}: {name} must be >= 0, got {count}")
    return count


def _cost(point: OpCost | tuple[str, int, int, float]) -> OpCost:
    if not isinstance(point, OpCost):
        if not (isinstance(point, tuple) and len(point) == 4):
            raise TypeError(
                f"place: each point must be an OpCost or (name, flops, bytes_moved, seconds), "
                f"got {point!r}"
            )
        point = OpCost(*point)
    where = repr(point.name)
    flops = _count(where, "flops", point.flops)
    nbytes = _count(where, "bytes_moved", point.bytes_moved)
    try:
        seconds = float(point.seconds)
    except (TypeError, ValueError):
        raise TypeError(
            f"place: {where}: seconds must be a number, got {point.seconds!r}"
        ) from None
    if not 0 <= seconds < math.inf:
        raise ValueError(f"place: {where}: seconds must be finite and >= 0, got {point.seconds!r}")
    if flops and (nbytes == 0 or seconds == 0):
        raise ValueError(
            f"place: {where} has {flops} FLOPs but bytes_moved={nbytes}, seconds={seconds}: "
            "an op with arithmetic moves bytes and takes time"
        )
    return OpCost(str(point.name), flops, nbytes, seconds)


def place(
    points: Iterable[OpCost | tuple[str, int, int, float]], machine: Machine
) -> list[RooflinePoint]:
    """Each op's place under ``machine``'s roofs, in the order given.

    >>> m = Machine(peak_gflops=100.0, bandwidth_gbs=10.0)  # ridge at 10 FLOP/byte
    >>> low, high, view = place([("add", 1_000, 1_000, 1e-6), ("matmul", 100_000, 1_000, 3e-6),
    ...                          ("view", 0, 0, 1e-6)], m)
    >>> low.bound, low.attainable_gflops, high.bound, high.attainable_gflops, view.bound
    ('memory', 10.0, 'compute', 100.0, 'no arithmetic')
    >>> round(low.share, 12), round(high.share, 12)
    (0.2, 0.6)
    """
    costs = [_cost(p) for p in points]
    total = math.fsum(c.seconds for c in costs)
    placed = []
    for c in costs:
        share = c.seconds / total if total > 0 else 0.0
        if c.flops == 0:
            placed.append(
                RooflinePoint(
                    c.name, 0, c.bytes_moved, c.seconds, share, None, 0.0, None, None,
                    "no arithmetic",
                )
            )  # fmt: skip
            continue
        intensity = c.flops / c.bytes_moved
        achieved = c.flops / c.seconds / 1e9
        attainable = min(machine.peak_gflops, intensity * machine.bandwidth_gbs)
        bound: Bound = "memory" if intensity < machine.ridge else "compute"
        placed.append(
            RooflinePoint(
                c.name, c.flops, c.bytes_moved, c.seconds, share, intensity, achieved,
                attainable, achieved / attainable, bound,
            )
        )  # fmt: skip
    return placed


def write_svg(
    points: Sequence[RooflinePoint],
    machine: Machine,
    path: str | Path,
    title: str = "Roofline",
) -> Path:
    """Draw ``points`` under ``machine``'s roofs as a self-contained SVG file at ``path``
    (written atomically, by :func:`tinytorch.training.checkpoint.atomic_write`: a temporary
    file in the same folder, then ``os.replace``); return the path.

    Log-log axes (FLOP/byte across, GFLOP/s up), the roofline and its ridge, each op with
    arithmetic a circle of area in proportion to its share of time (memory-bound and
    compute-bound in two colours, hover for its figures), a legend, and the machine's figures
    in a caption. Ops with no arithmetic are named in the legend, not plotted.

    >>> import tempfile, pathlib, xml.etree.ElementTree as ET
    >>> m = Machine(peak_gflops=100.0, bandwidth_gbs=10.0)
    >>> points = place([("add", 1_000, 1_000, 1e-6), ("matmul", 100_000, 1_000, 3e-6)], m)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     svg = ET.parse(write_svg(points, m, pathlib.Path(d) / "roofline.svg"))
    >>> len(svg.findall(".//{http://www.w3.org/2000/svg}circle"))
    2
    """
    data = roofline_document(points, machine, title).encode("utf-8")

    def write(file: IO[bytes]) -> None:
        file.write(data)

    atomic_write(path, write)
    return Path(path)
