"""The roofline: placing ops under a machine's roofs, the SVG picture, measuring the machine."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinytorch.profiling.roofline import (
    Machine,
    OpCost,
    RooflinePoint,
    measure_machine,
    place,
    write_svg,
)

SVG = "{http://www.w3.org/2000/svg}"
# ridge = 100 / 10 = 10 FLOP/byte
HAND = Machine(peak_gflops=100.0, bandwidth_gbs=10.0)


def by_name(points: list[RooflinePoint]) -> dict[str, RooflinePoint]:
    return {p.name: p for p in points}


# --- place ------------------------------------------------------------------------------------


def test_place_classifies_by_the_ridge_with_exact_attainable_values():
    points = by_name(
        place(
            [
                ("elementwise", 1_000, 1_000, 1e-6),  # AI 1: 1 GFLOP/s achieved
                ("matmul", 100_000, 1_000, 1e-5),  # AI 100: 10 GFLOP/s achieved
                ("at_ridge", 10_000, 1_000, 1e-6),  # AI 10 = ridge: compute
                ("below_ridge", 9_999, 1_000, 1e-6),
            ],
            HAND,
        )
    )
    low, high = points["elementwise"], points["matmul"]
    assert (low.intensity, low.bound) == (1.0, "memory")
    assert low.attainable_gflops == 10.0  # 1 FLOP/byte * 10 GB/s
    assert low.achieved_gflops == pytest.approx(1.0, rel=1e-12)
    assert low.fraction == pytest.approx(0.1, rel=1e-12)
    assert (high.intensity, high.bound) == (100.0, "compute")
    assert high.attainable_gflops == 100.0  # capped at the peak
    assert high.achieved_gflops == pytest.approx(10.0, rel=1e-12)
    assert high.fraction == pytest.approx(0.1, rel=1e-12)
    assert points["at_ridge"].bound == "compute"
    assert points["below_ridge"].bound == "memory"
    assert points["below_ridge"].attainable_gflops == pytest.approx(99.99, rel=1e-12)


def test_ops_without_flops_have_no_arithmetic_and_shares_cover_all_time():
    points = place(
        [OpCost("matmul", 100_000, 1_000, 3e-6), ("reshape", 0, 0, 1e-6), ("copy", 0, 800, 1e-6)],
        HAND,
    )
    matmul, reshape, copy = points
    assert [p.name for p in points] == ["matmul", "reshape", "copy"]  # order kept
    assert (reshape.bound, reshape.plotted, copy.bound) == ("no arithmetic", False, "no arithmetic")
    assert (reshape.intensity, reshape.attainable_gflops, reshape.fraction) == (None, None, None)
    assert copy.bytes_moved == 800
    assert matmul.plotted
    assert matmul.share == pytest.approx(0.6, rel=1e-12)
    assert reshape.share == pytest.approx(0.2, rel=1e-12)
    assert math.fsum(p.share for p in points) == pytest.approx(1.0, rel=1e-12)


def test_place_takes_numpy_integers_and_an_empty_list():
    (p,) = place([("mm", np.int64(2_000), np.int64(1_000), np.float64(1e-6))], HAND)
    assert (p.flops, p.bytes_moved, p.intensity) == (2_000, 1_000, 2.0)
    assert type(p.flops) is int
    assert place([], HAND) == []


@pytest.mark.parametrize(
    ("point", "error", "message"),
    [
        (("mm", -1, 10, 1e-6), ValueError, "'mm': flops must be >= 0, got -1"),
        (("mm", 1.5, 10, 1e-6), TypeError, "'mm': flops must be an integer, got 1.5"),
        (("mm", 10, -8, 1e-6), ValueError, "'mm': bytes_moved must be >= 0, got -8"),
        (("mm", 10, 0, 1e-6), ValueError, "'mm' has 10 FLOPs but bytes_moved=0"),
        (("mm", 10, 8, 0.0), ValueError, "'mm' has 10 FLOPs but .*seconds=0.0"),
        (("mm", 10, 8, -1.0), ValueError, "'mm': seconds must be finite and >= 0, got -1.0"),
        (("mm", 10, 8, math.inf), ValueError, "'mm': seconds must be finite"),
        (("mm", 10, 8, "soon"), TypeError, "'mm': seconds must be a number, got 'soon'"),
        (("mm", 10, 8), TypeError, r"each point must be an OpCost or \(name"),
    ],
)
def test_place_rejects_bad_points_naming_them(point, error, message):
    with pytest.raises(error, match=f"^place: {message}"):
        place([point], HAND)


@pytest.mark.parametrize("field", ["peak_gflops", "bandwidth_gbs"])
@pytest.mark.parametrize("value", [0.0, -1.0, math.inf, math.nan])
def test_machine_rejects_roofs_that_are_not_positive(field, value):
    figures = {"peak_gflops": 100.0, "bandwidth_gbs": 10.0, field: value}
    with pytest.raises(ValueError, match=f"^Machine: {field} must be finite and > 0"):
        Machine(**figures)


# --- JSON -------------------------------------------------------------------------------------


def test_json_round_trip_keeps_every_field():
    measured = Machine(
        peak_gflops=231.5,
        bandwidth_gbs=38.25,
        matmul_n=1024,
        matmul_runs=52,
        matmul_seconds=0.0093,
        copy_bytes=2**28,
        copy_runs=35,
        copy_seconds=0.0138,
        threads={"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": None, "cpu_count": 2},
    )
    text = measured.to_json()
    assert json.loads(text)["ridge"] == 231.5 / 38.25
    again = Machine.from_json(text)
    assert again == measured
    assert again.threads == measured.threads
    assert again.measured


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"peak_gflops": 1.0, "bandwidth_gbs": 1.0, "speed": 3}', r"unknown keys \['speed'\]"),
        ('{"peak_gflops": 1.0}', r"missing keys \['bandwidth_gbs'\]"),
    ],
)
def test_from_json_rejects_what_to_json_does_not_write(text, message):
    with pytest.raises(ValueError, match=f"^Machine.from_json: {message}"):
        Machine.from_json(text)


# --- measure_machine --------------------------------------------------------------------------


def test_measure_machine_with_tiny_sizes_gives_positive_finite_figures():
    m = measure_machine(0.02, matmul_n=48, copy_bytes=3 * 2**16 + 2, min_runs=3)
    assert m.measured
    assert 0 < m.peak_gflops < math.inf
    assert 0 < m.bandwidth_gbs < math.inf
    assert m.ridge == m.peak_gflops / m.bandwidth_gbs
    assert m.matmul_n == 48
    assert m.copy_bytes == 3 * 2**16  # whole float32 elements only
    assert m.matmul_runs is not None
    assert m.matmul_runs >= 3
    assert m.copy_runs is not None
    assert m.copy_runs >= 3
    # The figures are exactly the conventions applied to the best times.
    assert m.matmul_seconds is not None
    assert m.copy_seconds is not None
    assert m.peak_gflops == 2 * 48**3 / m.matmul_seconds / 1e9
    assert m.bandwidth_gbs == 2 * (3 * 2**16) / m.copy_seconds / 1e9
    assert m.threads["cpu_count"] is not None
    assert "OPENBLAS_NUM_THREADS" in m.threads
    assert Machine.from_json(m.to_json()) == m


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seconds": -1.0}, "seconds must be finite and >= 0, got -1.0"),
        ({"matmul_n": 0}, "matmul_n must be an int >= 1, got 0"),
        ({"copy_bytes": 2}, "copy_bytes must be an int >= 4, got 2"),
        ({"min_runs": 0}, "min_runs must be an int >= 1, got 0"),
    ],
)
def test_measure_machine_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=f"^measure_machine: {message}$"):
        measure_machine(**kwargs)


# --- the SVG ----------------------------------------------------------------------------------

OPS = [
    ("add", 1_000, 1_000, 1e-6),
    ("matmul", 100_000, 1_000, 4e-6),
    ("a<b & c>", 50_000, 10_000, 1e-6),
    ("reshape", 0, 0, 1e-6),
]


def texts(root: ET.Element, cls: str | None = None) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text") if cls is None or t.get("class") == cls]


def test_svg_parses_with_a_circle_per_plotted_op_and_their_labels(tmp_path):
    points = place(OPS, HAND)
    path = write_svg(points, HAND, tmp_path / "roof.svg", title="step")
    assert path == tmp_path / "roof.svg"
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    circles = list(root.iter(f"{SVG}circle"))
    assert len(circles) == 3  # reshape has no arithmetic: not plotted
    assert all(c.get("class") == "op" for c in circles)
    assert sorted(texts(root, "label")) == sorted(["add", "matmul", "a<b & c>"])
    legend = " ".join(texts(root, "legend"))
    assert "not plotted: 1 op with no arithmetic" in legend
    assert "reshape" in legend
    assert "reshape" not in texts(root, "label")
    assert texts(root)[0] == "step"
    assert "given, not measured: peak 100 GFLOP/s, bandwidth 10 GB/s" in texts(root, "caption")


def test_svg_places_and_sizes_circles_by_intensity_speed_and_time(tmp_path):
    root = ET.parse(write_svg(place(OPS, HAND), HAND, tmp_path / "r.svg")).getroot()
    circles = {c.find(f"{SVG}title").text.split(":")[0]: c for c in root.iter(f"{SVG}circle")}
    add, matmul = circles["add"], circles["matmul"]
    assert float(matmul.get("cx")) > float(add.get("cx"))  # AI 100 right of AI 1
    assert float(matmul.get("cy")) < float(add.get("cy"))  # 25 GFLOP/s above 1 (y grows down)
    assert add.get("fill") != matmul.get("fill")  # memory and compute in two colours
    # Area in proportion to time: matmul took 4x add's time.
    ratio = (float(matmul.get("r")) / float(add.get("r"))) ** 2
    assert ratio == pytest.approx(4.0, rel=1e-3)


def test_svg_escapes_text(tmp_path):
    path = write_svg(place(OPS, HAND), HAND, tmp_path / "r.svg", title="GPT <step> & more")
    raw = path.read_text(encoding="utf-8")
    assert "a&lt;b &amp; c&gt;" in raw
    assert "<b" not in raw
    assert "GPT &lt;step&gt; &amp; more" in raw
    ET.fromstring(raw)  # well-formed


def test_svg_of_a_measured_machine_says_so_and_write_is_atomic(tmp_path):
    measured = Machine(231.0, 38.8, 1024, 52, 0.0093, 2**28, 35, 0.0138, {"cpu_count": 2})
    path = tmp_path / "r.svg"
    path.write_text("old")
    write_svg(place(OPS, measured), measured, path)
    captions = texts(ET.parse(path).getroot(), "caption")
    assert captions[0] == (
        "measured: peak 231 GFLOP/s float32 matmul, bandwidth 38.8 GB/s copy, "
        "BLAS default threads, 2 CPUs"
    )
    assert "n=1024" in captions[1]
    assert "256 MiB" in captions[1]
    assert [f.name for f in tmp_path.iterdir()] == ["r.svg"]  # no temporary file left


def test_svg_with_nothing_to_plot_still_draws_the_roofs(tmp_path):
    root = ET.parse(write_svg(place([("view", 0, 0, 1e-6)], HAND), HAND, tmp_path / "r.svg"))
    assert list(root.iter(f"{SVG}circle")) == []
    assert len(list(root.iter(f"{SVG}polyline"))) == 1
    assert "no op with arithmetic to plot" in texts(root.getroot())
