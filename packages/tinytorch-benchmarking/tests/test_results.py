"""Results as JSON (round trip, atomic) and as an MLPerf-style summary."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from tinytorch.benchmarking import (
    FORMAT,
    BenchmarkResult,
    SampleSet,
    SystemUnderTest,
    TestSettings,
    benchmark,
    load,
    save,
)
from tinytorch.training.checkpoint import temp_path


def _own_version() -> str:
    """This package's version as its pyproject.toml declares it (what installing it reports)."""
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^version = "([^"]+)"', text, re.MULTILINE)
    assert match is not None
    return match.group(1)


def _result(**kw: object) -> BenchmarkResult:
    s = SampleSet(np.eye(3)[[0, 1, 2, 1]], np.array([0, 1, 2, 1]), name="toy")
    settings = TestSettings(min_query_count=10, min_duration=0.0)
    return benchmark(SystemUnderTest("id", lambda x: x, nbytes=123), s, settings,
                     reference_accuracy=1.0, **kw)  # type: ignore[arg-type]  # fmt: skip


def test_json_round_trip(tmp_path: Path) -> None:
    r = _result()
    path = tmp_path / "r.json"
    save(r, path)
    doc = json.loads(path.read_text())
    assert doc["format"] == FORMAT
    assert doc["system"] == "id"
    assert doc["valid"] is True
    assert doc["performance"]["timings_s"] == list(r.timings)
    assert doc["environment"]["tinytorch"]["tinytorch-benchmarking"] == _own_version()
    back = load(path)
    assert back == r
    assert back.summary() == r.summary()


def test_atomic_write_leaves_no_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old")
    r = _result()
    broken = BenchmarkResult(**{**r.__dict__, "environment": {"x": object()}})
    with pytest.raises(TypeError, match="not JSON serializable"):
        save(broken, path)
    assert path.read_text() == "old"
    assert not os.path.exists(temp_path(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
    fresh = tmp_path / "new.json"
    with pytest.raises(TypeError):
        save(broken, fresh)
    assert not fresh.exists()


def test_load_refuses_bad_documents(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not JSON"):
        load(path)
    doc = _result().to_dict()
    del doc["reasons"]
    with pytest.raises(ValueError, match="missing field"):
        BenchmarkResult.from_dict(doc)
    with pytest.raises(ValueError, match="field 'format' must be"):
        BenchmarkResult.from_dict({**doc, "format": "mlperf"})
    with pytest.raises(ValueError, match="expected an object, got list"):
        BenchmarkResult.from_dict([])  # type: ignore[arg-type]


def test_summary_valid() -> None:
    text = _result().summary()
    for line in ("SUT name : id", "Scenario : SingleStream", "Result is VALID",
                 "  Min duration satisfied : Yes", "  Min queries satisfied : Yes",
                 "  Accuracy target satisfied : Yes", "Held bytes : 123"):  # fmt: skip
        assert line in text.splitlines()
    assert "90th percentile latency : " in text
    assert "INVALID" not in text
    assert "Environment" in text
    assert "numpy : " in text
