"""The Pareto frontier on hand-made points, and its picture."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tinytorch.benchmarking import (
    ParetoPoint,
    dominates,
    pareto_frontier,
    pareto_svg,
    write_pareto_svg,
)

POINTS = [
    ParetoPoint("float32", 0.975, 30e-6, 38_440),  # most accurate: optimal
    ParetoPoint("int8", 0.970, 75e-6, 10_608),  # smallest: optimal
    ParetoPoint("pruned", 0.972, 20e-6, 19_240),  # fastest: optimal
    ParetoPoint("worse", 0.960, 80e-6, 20_000),  # beaten by int8 on all three
    ParetoPoint("copy", 0.975, 30e-6, 38_440),  # equal to float32: neither dominates
    ParetoPoint("slow-float", 0.975, 40e-6, 38_440),  # float32 ties two, wins latency
]


def test_frontier_on_hand_made_points() -> None:
    names = [p.name for p in pareto_frontier(POINTS)]
    assert names == ["float32", "int8", "pruned", "copy"]
    assert dominates(POINTS[1], POINTS[3])
    assert not dominates(POINTS[3], POINTS[1])
    assert not dominates(POINTS[0], POINTS[4])
    assert dominates(POINTS[0], POINTS[5])
    assert pareto_frontier([POINTS[3]]) == [POINTS[3]]


def test_svg_marks_the_optimal_points(tmp_path: Path) -> None:
    text = pareto_svg(POINTS, "systems & trade-offs", caption="measured")
    root = ET.fromstring(text.split("\n", 1)[1])  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    circles = root.findall(f"{ns}circle")
    assert len(circles) == 6
    assert [c.get("class") for c in circles].count("optimal") == 4
    titles = [c.find(f"{ns}title").text for c in circles]  # type: ignore[union-attr]
    assert sum("(Pareto-optimal)" in t for t in titles if t) == 4
    assert "systems &amp; trade-offs" in text
    path = tmp_path / "p.svg"
    write_pareto_svg(path, POINTS, "t")
    assert path.read_text() == pareto_svg(POINTS, "t")


def test_bad_points() -> None:
    with pytest.raises(ValueError, match="latency must be finite and > 0"):
        ParetoPoint("x", 0.9, 0.0, 10)
    with pytest.raises(ValueError, match="nbytes must be > 0"):
        ParetoPoint("x", 0.9, 1.0, 0)
    with pytest.raises(ValueError, match="no points"):
        pareto_svg([], "t")
