"""The accuracy / latency / size trade-off of the systems compared, and its Pareto frontier.

A system is *Pareto-optimal* when no other is at least as good on all three axes (accuracy
higher or equal, latency and bytes lower or equal) and strictly better on one: those are the
only systems worth choosing between; every other one is beaten outright by some system.

:func:`pareto_svg` draws the systems as hand-written SVG (with the pieces of
:mod:`tinytorch.profiling.svg`, as the roofline is drawn): latency on a log x axis, accuracy on
a linear y axis, circle area in proportion to the bytes held; Pareto-optimal systems filled and
ringed, the others hollow and grey.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from tinytorch.profiling.svg import LogAxis, container, decade_label, element
from tinytorch.training.checkpoint import atomic_write

__all__ = ["ParetoPoint", "dominates", "pareto_frontier", "pareto_svg", "write_pareto_svg"]


@dataclass(frozen=True)
class ParetoPoint:
    """One system: its ``accuracy`` (higher is better), ``latency`` (seconds) and ``nbytes``
    (both lower is better).

    >>> ParetoPoint("int8", 0.97, 7e-5, 10_608).name
    'int8'
    """

    name: str
    accuracy: float
    latency: float
    nbytes: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latency) and self.latency > 0):
            raise ValueError(f"ParetoPoint {self.name!r}: latency must be finite and > 0, got "
                             f"{self.latency!r}")  # fmt: skip
        if not math.isfinite(self.accuracy):
            raise ValueError(f"ParetoPoint {self.name!r}: accuracy must be finite, got "
                             f"{self.accuracy!r}")  # fmt: skip
        if self.nbytes <= 0:
            raise ValueError(f"ParetoPoint {self.name!r}: nbytes must be > 0, got {self.nbytes}")


def dominates(a: ParetoPoint, b: ParetoPoint) -> bool:
    """Whether ``a`` is at least as good as ``b`` on every axis and better on one.

    >>> dominates(ParetoPoint("a", 0.9, 1.0, 10), ParetoPoint("b", 0.9, 2.0, 10))
    True
    >>> dominates(ParetoPoint("a", 0.9, 1.0, 10), ParetoPoint("a2", 0.9, 1.0, 10))
    False
    """
    # BEGIN SOLUTION pareto-dominates
    # HINT: higher accuracy is better, lower latency and fewer bytes are better: a dominates b
    # HINT: when it is no worse on all three and strictly better on at least one.
    # TESTS: test_pareto
    no_worse = a.accuracy >= b.accuracy and a.latency <= b.latency and a.nbytes <= b.nbytes
    better = a.accuracy > b.accuracy or a.latency < b.latency or a.nbytes < b.nbytes
    return no_worse and better
    # END SOLUTION


def pareto_frontier(points: Sequence[ParetoPoint]) -> list[ParetoPoint]:
    """The Pareto-optimal points, in the order given (ties: both stay).

    >>> pts = [ParetoPoint("big", 0.99, 1.0, 100), ParetoPoint("small", 0.95, 1.0, 10),
    ...        ParetoPoint("bad", 0.90, 2.0, 100)]
    >>> [p.name for p in pareto_frontier(pts)]
    ['big', 'small']
    """
    # BEGIN SOLUTION pareto-frontier
    # HINT: keep, in the given order, every point that no other point dominates.
    # TESTS: test_pareto
    return [p for p in points if not any(dominates(q, p) for q in points)]
    # END SOLUTION


_WIDTH, _HEIGHT = 960, 600
_LEFT, _RIGHT, _TOP, _BOTTOM = 80, 640, 50, 480
_MAX_RADIUS, _MIN_RADIUS = 28.0, 4.0
_OPTIMAL, _DOMINATED = "#d62728", "#888"


def _accuracy_axis(values: list[float]) -> tuple[float, float, list[float]]:
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.15, 0.005)
    lo, hi = max(0.0, lo - pad), min(1.0, hi + pad) if hi <= 1 else hi + pad
    step = 10 ** math.floor(math.log10((hi - lo) / 4))
    ticks = [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1)]
    return lo, hi, ticks


def pareto_svg(points: Sequence[ParetoPoint], title: str, caption: str = "") -> str:
    """The SVG document of ``points`` (see the module docstring), as text.

    >>> svg = pareto_svg([ParetoPoint("a", 0.9, 1e-4, 10), ParetoPoint("b", 0.8, 2e-4, 20)], "t")
    >>> svg.count("<circle"), svg.count('class="optimal"')
    (2, 1)
    """
    if not points:
        raise ValueError("pareto_svg: no points to draw")
    optimal = {id(p) for p in pareto_frontier(points)}
    x = LogAxis.covering([v for p in points for v in (p.latency / 2, p.latency * 2)],
                         _LEFT, _RIGHT)  # fmt: skip
    lo, hi, ticks = _accuracy_axis([p.accuracy for p in points])

    def y(accuracy: float) -> float:
        return _BOTTOM - (accuracy - lo) / (hi - lo) * (_BOTTOM - _TOP)

    largest = max(p.nbytes for p in points)
    body = [
        element("title", title),
        element("rect", x=0, y=0, width=_WIDTH, height=_HEIGHT, fill="#fff"),
        element("text", title, x=_LEFT, y=30, font_size=18, font_weight="bold"),
    ]
    for k in x.decades():
        px = x.pixel(10.0**k)
        body.append(element("line", x1=px, y1=_TOP, x2=px, y2=_BOTTOM, stroke="#ddd"))
        body.append(element("text", decade_label(k), x=px, y=_BOTTOM + 18, text_anchor="middle"))
    for t in ticks:
        body.append(element("line", x1=_LEFT, y1=y(t), x2=_RIGHT, y2=y(t), stroke="#ddd"))
        body.append(element("text", f"{t:.1%}", x=_LEFT - 6, y=y(t) + 4, text_anchor="end"))
    body += [
        element("rect", x=_LEFT, y=_TOP, width=_RIGHT - _LEFT, height=_BOTTOM - _TOP,
                fill="none", stroke="#333"),
        element("text", "latency (seconds, log scale; lower is better)",
                x=(_LEFT + _RIGHT) / 2, y=_BOTTOM + 40, text_anchor="middle"),
        element("text", "accuracy (higher is better)", x=20, y=(_TOP + _BOTTOM) / 2,
                text_anchor="middle", transform=f"rotate(-90 20 {(_TOP + _BOTTOM) / 2:.2f})"),
    ]  # fmt: skip
    circles, labels = [], []
    # Largest first, so that a small system drawn later stays visible on top of a big one.
    for p in sorted(points, key=lambda p: -p.nbytes):
        cx, cy = x.pixel(p.latency), y(p.accuracy)
        # Area, not radius, in proportion to bytes, as the eye compares areas.
        r = max(_MIN_RADIUS, _MAX_RADIUS * math.sqrt(p.nbytes / largest))
        best = id(p) in optimal
        colour = _OPTIMAL if best else _DOMINATED
        tip = (f"{p.name}: accuracy {p.accuracy:.2%}, latency {p.latency * 1e6:.4g} us, "
               f"{p.nbytes:,} bytes{' (Pareto-optimal)' if best else ''}")  # fmt: skip
        circles.append(container(
            "circle", [element("title", tip)], cx=cx, cy=cy, r=r, stroke=colour,
            fill=colour if best else "none", fill_opacity=0.45, stroke_width=3 if best else 1.5,
            class_="optimal" if best else "dominated",
        ))  # fmt: skip
        at = {"x": cx + r + 3, "y": cy + 4}
        labels.append(element("text", p.name, **at, stroke="#fff", stroke_width=3, class_="halo"))
        labels.append(element("text", p.name, **at, class_="label"))
    body += circles + labels
    legend: list[tuple[str | None, str]] = [
        (_OPTIMAL, "Pareto-optimal: no other system is as accurate,"),
        (None, "  as fast and as small, and better on one"),
        (_DOMINATED, "dominated (hollow): some system beats it on all three"),
        (None, "circle area: bytes held"),
    ]
    for i, (swatch, text) in enumerate(legend):
        ty = _TOP + 10 + 22 * i
        if swatch is not None:
            body.append(element("rect", x=_RIGHT + 30, y=ty - 10, width=12, height=12,
                                fill=swatch))  # fmt: skip
        body.append(element("text", text, x=_RIGHT + 48, y=ty, class_="legend"))
    for i, p in enumerate(points):
        mark = "*" if id(p) in optimal else " "
        line = f"{mark} {p.name}: {p.accuracy:.2%}, {p.latency * 1e6:.4g} us, {p.nbytes:,} B"
        body.append(element("text", line, x=_RIGHT + 30, y=_TOP + 120 + 18 * i, font_size=11))
    if caption:
        body.append(element("text", caption, x=_LEFT, y=_HEIGHT - 30, class_="caption"))
    svg = container(
        "svg", body, xmlns="http://www.w3.org/2000/svg", width=_WIDTH, height=_HEIGHT,
        viewBox=f"0 0 {_WIDTH} {_HEIGHT}", font_family="sans-serif", font_size=12,
    )  # fmt: skip
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n"


def write_pareto_svg(
    path: str | os.PathLike[str], points: Sequence[ParetoPoint], title: str, caption: str = ""
) -> None:
    """Write :func:`pareto_svg` to ``path``, all or nothing (``atomic_write``).

    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "pareto.svg"
    >>> write_pareto_svg(target, [ParetoPoint("a", 0.9, 1e-4, 10)], "t")
    >>> target.read_text().startswith("<?xml")
    True
    """
    data = pareto_svg(points, title, caption).encode("utf-8")

    def write(f: IO[bytes]) -> None:
        f.write(data)

    atomic_write(path, write)
