"""The Chrome trace is valid Trace Event JSON with ops nested in their modules; the table sorts,
limits and refuses unknown keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinytorch.activations import Tanh
from tinytorch.layers import Linear, Sequential
from tinytorch.optimizers import SGD
from tinytorch.profiling import SORT_KEYS, profile
from tinytorch.profiling.trace import BACKWARD_TRACK, FORWARD_TRACK
from tinytorch.tensor import Generator, Tensor


def _profiled_step() -> profile:
    g = Generator(0)
    model = Sequential(Linear(8, 16, generator=g), Tanh(), Linear(16, 4, generator=g))
    opt = SGD(model.parameters(), lr=0.1)
    x = Tensor(np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32))
    with profile() as prof:
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
    return prof


def _spans(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in doc["traceEvents"] if e["ph"] == "X"]


def test_the_trace_is_trace_event_json_with_every_op_and_rule(tmp_path: Path) -> None:
    prof = _profiled_step()
    path = prof.export_chrome_trace(tmp_path / "sub" / "trace.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["displayTimeUnit"] == "ms"
    spans = _spans(doc)
    for e in spans:
        assert set(e) >= {"name", "cat", "ph", "pid", "tid", "ts", "dur", "args"}
        assert isinstance(e["ts"], float)
        assert e["ts"] >= 0.0
        assert e["dur"] > 0.0, e
    ops = [e for e in spans if e["cat"] == "op"]
    rules = [e for e in spans if e["cat"] == "backward"]
    assert sorted(e["name"] for e in ops) == sorted(ev.op for ev in prof.ops)
    assert sorted(e["name"] for e in rules) == sorted(f"{r.op} backward" for r in prof.rules)
    assert {e["tid"] for e in ops} == {FORWARD_TRACK}
    assert {e["tid"] for e in rules} == {BACKWARD_TRACK}
    threads = {
        e["tid"]: e["args"]["name"] for e in doc["traceEvents"] if e["name"] == "thread_name"
    }
    assert set(threads) == {FORWARD_TRACK, BACKWARD_TRACK}
    assert not list(tmp_path.glob("sub/.*"))  # written atomically: no temporary file left


def _contains(outer: dict[str, Any], inner: dict[str, Any]) -> bool:
    eps = 1e-3  # microseconds: the float rounding of ts + dur
    return (
        outer["ts"] <= inner["ts"] + eps
        and inner["ts"] + inner["dur"] <= outer["ts"] + outer["dur"] + eps
    )


def test_each_op_lies_inside_its_module_and_each_rule_inside_backward(tmp_path: Path) -> None:
    doc = json.loads(_profiled_step().export_chrome_trace(tmp_path / "t.json").read_text())
    spans = _spans(doc)
    modules = {e["name"].split(" (")[0]: e for e in spans if e["cat"] == "module"}
    assert set(modules) == {"Sequential", "0", "2"}
    for op in (e for e in spans if e["cat"] == "op"):
        where = op["args"]["module"]
        if where is None:
            assert not any(_contains(m, op) for m in modules.values())
            continue
        assert _contains(modules[where or "Sequential"], op), op
        assert _contains(modules["Sequential"], op)
    (backward,) = (e for e in spans if e["name"] == "autograd::backward")
    assert backward["tid"] == BACKWARD_TRACK
    for rule in (e for e in spans if e["cat"] == "backward"):
        assert _contains(backward, rule)
    # Events of one track never partly overlap, so a viewer can nest them.
    for track in (FORWARD_TRACK, BACKWARD_TRACK):
        mine = [e for e in spans if e["tid"] == track]
        for a in mine:
            for b in mine:
                if a is not b and a["ts"] < b["ts"] < a["ts"] + a["dur"]:
                    assert _contains(a, b), (a["name"], b["name"])


def test_the_table_sorts_by_each_key_and_limits_rows() -> None:
    averages = _profiled_step().key_averages()
    for key, value in SORT_KEYS.items():
        rows = averages.sorted(key)
        assert [value(r) for r in rows] == sorted((value(r) for r in rows), reverse=True)
    table = averages.table(sort_by="flops", row_limit=2)
    body = table.splitlines()[2:-1]
    assert len(body) == 2
    assert body[0].split()[0] == "matmul"
    assert f"2 of {len(averages)} rows shown" in table.splitlines()[-1]
    assert len(averages.table(row_limit=-1).splitlines()) == len(averages) + 3


def test_rows_count_calls_and_regions_their_self_time() -> None:
    prof = _profiled_step()
    rows = {r.key: r for r in prof.key_averages()}
    assert rows["matmul"].count == 2
    assert rows["matmul"].backward_count == 2
    assert rows["matmul"].forward_ns == sum(e.duration_ns for e in prof.ops if e.op == "matmul")
    step = rows["Optimizer.step#SGD.step"]
    assert step.is_region
    assert step.count == 1
    assert step.forward_ns == 0
    assert step.region_ns > 0
    assert rows["AccumulateGrad"].count == 4


def test_grouping_by_input_shape_splits_rows() -> None:
    rows = _profiled_step().key_averages(group_by_input_shape=True)
    matmuls = [r for r in rows if r.key == "matmul"]
    assert sorted(r.input_shapes for r in matmuls) == [((5, 8), (8, 16)), ((5, 16), (16, 4))]
    assert "Input shapes" in rows.table()


def test_an_unknown_sort_key_names_the_valid_ones() -> None:
    averages = _profiled_step().key_averages()
    with pytest.raises(ValueError, match="unknown sort_by 'time'; valid keys are cpu_time_total"):
        averages.table(sort_by="time")
    with pytest.raises(ValueError, match="row_limit must be an int >= -1"):
        averages.table(row_limit=-5)
