"""The roofline picture as SVG text, and the few pieces of SVG it needs: escaped elements and a
log axis.

Written by hand rather than with a plotting library: see :mod:`tinytorch.profiling.roofline`,
whose :func:`~tinytorch.profiling.roofline.write_svg` writes :func:`roofline_document` to a file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

if TYPE_CHECKING:  # the drawing reads these records; roofline.py imports this module
    from tinytorch.profiling.roofline import Machine, RooflinePoint


def element(tag: str, text: str | None = None, /, **attrs: object) -> str:
    """One SVG element as a string: attributes quoted and text escaped. In an attribute name a
    trailing ``_`` is dropped and ``_`` becomes ``-`` (``class_`` gives ``class``, ``font_size``
    ``font-size``). Floats are written with 2 decimals.

    >>> element("text", "a<b", x=1.5, font_size=10, class_="label")
    '<text x="1.50" font-size="10" class="label">a&lt;b</text>'
    >>> element("circle", r=3)
    '<circle r="3"/>'
    """
    parts = [tag]
    for key, value in attrs.items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        parts.append(f"{key.rstrip('_').replace('_', '-')}={quoteattr(shown)}")
    opening = " ".join(parts)
    if text is None:
        return f"<{opening}/>"
    return f"<{opening}>{escape(text)}</{tag}>"


def container(tag: str, children: list[str], /, **attrs: object) -> str:
    """An element holding ``children`` (already strings, already escaped), one a line.

    >>> container("g", [element("circle", r=1)], fill="red")
    '<g fill="red">\\n<circle r="1"/>\\n</g>'
    """
    opening = element(tag, **attrs)[: -len("/>")]
    return "\n".join([opening + ">", *children, f"</{tag}>"])


@dataclass(frozen=True)
class LogAxis:
    """A base-10 log axis over the whole decades ``10**lo`` to ``10**hi``, drawn from pixel
    ``start`` to pixel ``end`` (``end < start`` for a y axis that grows upwards).

    >>> axis = LogAxis.covering([0.5, 30.0], 100, 400)
    >>> axis.lo, axis.hi, axis.pixel(1.0), axis.pixel(10.0)
    (-1, 2, 200.0, 300.0)
    """

    lo: int
    hi: int
    start: float
    end: float

    @classmethod
    def covering(cls, values: list[float], start: float, end: float) -> LogAxis:
        """The smallest range of whole decades holding every one of ``values`` (all > 0), at
        least one decade wide.

        >>> LogAxis.covering([3.0], 0, 100)
        LogAxis(lo=0, hi=1, start=0, end=100)
        """
        if not values or min(values) <= 0 or not all(math.isfinite(v) for v in values):
            raise ValueError(f"LogAxis.covering: values must be finite and > 0, got {values!r}")
        lo = math.floor(math.log10(min(values)))
        hi = math.ceil(math.log10(max(values)))
        return cls(lo, max(hi, lo + 1), start, end)

    def pixel(self, value: float) -> float:
        """Where ``value`` (> 0) falls on the axis, in pixels.

        >>> LogAxis(0, 2, 500, 100).pixel(10.0)
        300.0
        """
        fraction = (math.log10(value) - self.lo) / (self.hi - self.lo)
        return self.start + fraction * (self.end - self.start)

    def decades(self) -> range:
        """The exponents of the decade ticks, ``lo`` to ``hi`` inclusive.

        >>> list(LogAxis(-1, 2, 0, 100).decades())
        [-1, 0, 1, 2]
        """
        return range(self.lo, self.hi + 1)


def decade_label(exponent: int) -> str:
    """How the tick of ``10**exponent`` is labelled: plainly from 0.001 to 10000, else ``1e7``.

    >>> [decade_label(k) for k in (-4, -1, 0, 3, 5)]
    ['1e-4', '0.1', '1', '1000', '1e5']
    """
    if -3 <= exponent < 0:
        return f"{10.0**exponent:.{-exponent}f}"
    if 0 <= exponent <= 4:
        return str(10**exponent)
    return f"1e{exponent}"


def figure(value: float) -> str:
    """A GFLOP/s or GB/s figure as shown: whole numbers from 100 up, else 3 significant digits.

    >>> figure(231.49), figure(38.812), figure(0.67123)
    ('231', '38.8', '0.671')
    """
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


# --- the picture ------------------------------------------------------------------------------

COLOURS: Mapping[str, str] = {"memory": "#1f77b4", "compute": "#d62728"}
_WIDTH, _HEIGHT = 960, 600
_LEFT, _RIGHT, _TOP, _BOTTOM = 80, 640, 50, 480  # the plot area, in pixels
_MAX_RADIUS = 30.0  # the radius of an op that takes all the time
_MIN_RADIUS = 3.0
_CHAR_WIDTH = 7.0  # about what a character of the 12 px sans-serif labels takes


def _radius(share: float) -> float:
    # Area, not radius, in proportion to time, as the eye compares areas.
    return max(_MIN_RADIUS, _MAX_RADIUS * math.sqrt(share))


def _axes(x: LogAxis, y: LogAxis) -> list[str]:
    parts = []
    for k in x.decades():
        px = x.pixel(10.0**k)
        parts.append(element("line", x1=px, y1=_TOP, x2=px, y2=_BOTTOM, stroke="#ddd"))
        parts.append(element("text", decade_label(k), x=px, y=_BOTTOM + 18, text_anchor="middle"))
    for k in y.decades():
        py = y.pixel(10.0**k)
        parts.append(element("line", x1=_LEFT, y1=py, x2=_RIGHT, y2=py, stroke="#ddd"))
        parts.append(element("text", decade_label(k), x=_LEFT - 6, y=py + 4, text_anchor="end"))
    parts += [
        element("rect", x=_LEFT, y=_TOP, width=_RIGHT - _LEFT, height=_BOTTOM - _TOP,
                fill="none", stroke="#333"),
        element("text", "arithmetic intensity (FLOP/byte)", x=(_LEFT + _RIGHT) / 2,
                y=_BOTTOM + 40, text_anchor="middle"),
        element("text", "GFLOP/s", x=20, y=(_TOP + _BOTTOM) / 2, text_anchor="middle",
                transform=f"rotate(-90 20 {(_TOP + _BOTTOM) / 2:.2f})"),
    ]  # fmt: skip
    return parts


def _roof(x: LogAxis, y: LogAxis, machine: Machine) -> list[str]:
    # The slope starts where it enters the plot: at the left edge, or the bottom if lower.
    start = max(10.0**x.lo, 10.0**y.lo / machine.bandwidth_gbs)
    corners = [
        (start, start * machine.bandwidth_gbs),
        (machine.ridge, machine.peak_gflops),
        (10.0**x.hi, machine.peak_gflops),
    ]
    line = " ".join(f"{x.pixel(a):.2f},{y.pixel(g):.2f}" for a, g in corners)
    rx, ry = x.pixel(machine.ridge), y.pixel(machine.peak_gflops)
    ridge = f"ridge {machine.ridge:.3g} FLOP/byte"
    # The bandwidth is written along the slope, halfway up it.
    sx, sy = x.pixel(start), y.pixel(start * machine.bandwidth_gbs)
    mx, my = (sx + rx) / 2, (sy + ry) / 2
    angle = math.degrees(math.atan2(ry - sy, rx - sx))
    return [
        element("polyline", points=line, fill="none", stroke="#000", stroke_width=2),
        element("line", x1=rx, y1=ry, x2=rx, y2=_BOTTOM, stroke="#000", stroke_dasharray="4 3"),
        element("polygon", points=f"{rx:.2f},{ry - 6:.2f} {rx + 6:.2f},{ry:.2f} "
                f"{rx:.2f},{ry + 6:.2f} {rx - 6:.2f},{ry:.2f}", fill="#000"),
        element("text", ridge, x=rx + 4, y=_BOTTOM - 6),
        element("text", f"peak {figure(machine.peak_gflops)} GFLOP/s", x=_RIGHT - 4, y=ry - 6,
                text_anchor="end"),
        element("text", f"{figure(machine.bandwidth_gbs)} GB/s", x=mx, y=my - 6,
                text_anchor="middle", transform=f"rotate({angle:.2f} {mx:.2f} {my:.2f})"),
    ]  # fmt: skip


def _ops(x: LogAxis, y: LogAxis, points: Sequence[RooflinePoint]) -> list[str]:
    circles, labels = [], []
    # Largest first, so that a small op drawn later stays visible on top of a big one; the
    # labels come after every circle, each over a white halo, so that no circle hides one.
    for p in sorted(points, key=lambda p: -p.share):
        assert p.intensity is not None
        cx, cy, r = x.pixel(p.intensity), y.pixel(p.achieved_gflops), _radius(p.share)
        colour = COLOURS[p.bound]
        circles.append(
            container("circle", [element("title", str(p))], cx=cx, cy=cy, r=r, fill=colour,
                      fill_opacity=0.55, stroke=colour, class_="op")
        )  # fmt: skip
        # A label that would run out of the plot (into the legend) goes left of its circle.
        # The width is a rough guess for a 12 px sans-serif font: it only places the text.
        fits = cx + r + 3 + _CHAR_WIDTH * len(p.name) <= _RIGHT
        at = {
            "x": cx + r + 3 if fits else cx - r - 3,
            "y": cy + 4,
            "text_anchor": "start" if fits else "end",
        }
        labels.append(element("text", p.name, **at, stroke="#fff", stroke_width=3, class_="halo"))
        labels.append(element("text", p.name, **at, class_="label"))
    return circles + labels


def _legend(machine: Machine, points: Sequence[RooflinePoint]) -> list[str]:
    lx, parts = _RIGHT + 30, []
    rows: list[tuple[str | None, str]] = [
        (COLOURS["memory"], f"memory-bound: intensity < ridge ({machine.ridge:.3g})"),
        (COLOURS["compute"], "compute-bound: intensity >= ridge"),
        (None, "circle area: the op's share of time"),
        (None, "line: min(peak, intensity x bandwidth)"),
    ]
    skipped = [p for p in points if not p.plotted]
    if skipped:
        share = math.fsum(p.share for p in skipped)
        rows += [
            (None, f"not plotted: {_ops_word(len(skipped))} with no arithmetic"),
            (None, f"(0 FLOPs), {share:.1%} of time:"),
        ]
        shown = [p.name for p in skipped[:12]] + (["..."] if len(skipped) > 12 else [])
        rows += [(None, "  " + ", ".join(shown[i : i + 3])) for i in range(0, len(shown), 3)]
    else:
        rows.append((None, "every op has arithmetic: all plotted"))
    for i, (colour, text) in enumerate(rows):
        ty = _TOP + 10 + 22 * i
        if colour is not None:
            parts.append(element("rect", x=lx, y=ty - 10, width=12, height=12, fill=colour))
        parts.append(element("text", text, x=lx + (18 if colour else 0), y=ty, class_="legend"))
    return parts


def _ops_word(n: int) -> str:
    return f"{n} op{'' if n == 1 else 's'}"


def roofline_document(points: Sequence[RooflinePoint], machine: Machine, title: str) -> str:
    """The whole SVG document of :func:`tinytorch.profiling.roofline.write_svg`, as text.

    >>> from tinytorch.profiling.roofline import Machine, place
    >>> m = Machine(peak_gflops=100.0, bandwidth_gbs=10.0)
    >>> text = roofline_document(place([("add", 1_000, 1_000, 1e-6)], m), m, "a & b")
    >>> text.splitlines()[0], "<title>a &amp; b</title>" in text, text.count("<circle")
    ('<?xml version="1.0" encoding="UTF-8"?>', True, 1)
    """
    plotted = [p for p in points if p.plotted]
    intensities = [p.intensity for p in plotted if p.intensity is not None]
    # Each axis reaches at least 2x beyond every point, so that no circle sits on an edge.
    x = LogAxis.covering(
        [*(i * f for i in intensities for f in (0.5, 2)), machine.ridge / 10, machine.ridge * 10],
        _LEFT,
        _RIGHT,
    )
    achieved = [p.achieved_gflops for p in plotted]
    y = LogAxis.covering(
        [*(g * f for g in achieved for f in (0.5, 2)), machine.peak_gflops / 10,
         machine.peak_gflops * 2],
        _BOTTOM,
        _TOP,
    )  # fmt: skip
    body = [
        element("title", title),
        element("rect", x=0, y=0, width=_WIDTH, height=_HEIGHT, fill="#fff"),
        element("text", title, x=_LEFT, y=30, font_size=18, font_weight="bold"),
        *_axes(x, y),
        *_roof(x, y, machine),
        *_ops(x, y, plotted),
        *_legend(machine, points),
        element("text", machine.caption(), x=_LEFT, y=_HEIGHT - 50, class_="caption"),
        element("text", machine.method(), x=_LEFT, y=_HEIGHT - 30, class_="caption"),
    ]
    if not plotted:
        body.append(element("text", "no op with arithmetic to plot", x=_LEFT + 10, y=_TOP + 20))
    svg = container(
        "svg", body, xmlns="http://www.w3.org/2000/svg", width=_WIDTH, height=_HEIGHT,
        viewBox=f"0 0 {_WIDTH} {_HEIGHT}", font_family="sans-serif", font_size=12,
    )  # fmt: skip
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + svg + "\n"
