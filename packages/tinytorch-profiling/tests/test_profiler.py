"""profile(): every op, rule and module seen, attributed to module paths, and nothing changed."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.activations import ReLU
from tinytorch.layers import Linear, Module, Sequential
from tinytorch.profiling import profile
from tinytorch.tensor import Generator, Tensor, graph, ones


class Block(Module):
    def __init__(self, g: Generator) -> None:
        super().__init__()
        self.fc = Linear(4, 4, generator=g)
        self.act = ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.fc(x)) + x  # the residual add is the block's own op


def _model() -> Sequential:
    g = Generator(0)
    return Sequential(Block(g), Block(g), Linear(4, 2, generator=g))


def test_ops_are_attributed_to_the_innermost_module_path() -> None:
    model = _model()
    with profile() as prof:
        model(ones(3, 4))
    where = [(e.op, e.module) for e in prof.ops]
    assert where == [
        ("permute", "0.fc"),
        ("matmul", "0.fc"),
        ("add", "0.fc"),
        ("relu", "0"),  # activations are plain callables: their op belongs to the caller
        ("add", "0"),
        ("permute", "1.fc"),
        ("matmul", "1.fc"),
        ("add", "1.fc"),
        ("relu", "1"),
        ("add", "1"),
        ("permute", "2"),
        ("matmul", "2"),
        ("add", "2"),
    ]
    assert {e.root for e in prof.ops} == {"Sequential"}
    modules = [(r.name, r.label, r.depth) for r in prof.regions if r.kind == "module"]
    assert modules == [
        ("0.fc", "Linear", 2),
        ("0", "Block", 1),
        ("1.fc", "Linear", 2),
        ("1", "Block", 1),
        ("2", "Linear", 1),
        ("Sequential", "Sequential", 0),
    ]


def test_ops_outside_any_module_have_no_module() -> None:
    with profile() as prof:
        _ = ones(2) * 3.0
    assert [(e.op, e.module, e.root) for e in prof.ops] == [("mul", None, None)]


def test_each_backward_rule_is_recorded_against_its_forward() -> None:
    model = _model()
    x = Tensor(np.ones((3, 4), dtype=np.float32))
    with profile() as prof:
        model(x).sum().backward()
    # One rule per op (the sum included), each tied to the very event of its forward.
    assert sorted(id(r.forward) for r in prof.rules) == sorted(id(e) for e in prof.ops)
    first_fc_matmul = next(r for r in prof.rules if r.op == "matmul" and r.module == "0.fc")
    assert first_fc_matmul.computed == (False, True)  # x needs no gradient, the weight does
    assert all(r.duration_ns > 0 for r in prof.rules)
    names = [r.name for r in prof.regions if r.kind == "region"]
    assert names.count("AccumulateGrad") == len(list(model.parameters()))
    assert names[-1] == "autograd::backward"


def test_a_rule_of_a_graph_recorded_before_the_profile_is_still_reported() -> None:
    w = Tensor(np.ones(3), requires_grad=True)
    loss = (w * 2.0).sum()
    with profile() as prof:
        loss.backward()
    assert [(r.op, r.forward.input_shapes) for r in prof.rules] == [
        ("sum", ((3,),)),
        ("mul", ((3,), ())),
    ]


def test_profiling_changes_no_loss_and_no_gradient() -> None:
    def run(profiled: bool) -> tuple[float, list[np.ndarray]]:
        model = _model()
        x = Tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
        if profiled:
            with profile():
                loss = (model(x) ** 2).mean()
                loss.backward()
        else:
            loss = (model(x) ** 2).mean()
            loss.backward()
        return loss.item(), [p.grad.data.copy() for p in model.parameters() if p.grad is not None]

    plain, observed = run(False), run(True)
    assert plain[0] == observed[0]
    for a, b in zip(plain[1], observed[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_forward_that_raises_leaves_the_profile_consistent() -> None:
    model = Sequential(Linear(4, 3), Linear(5, 2))
    with profile() as prof:
        with pytest.raises(ValueError, match=r"Linear: input of shape \(2, 3\)"):
            model(ones(2, 4))
        _ = ones(2) + 1.0
    assert [r.name for r in prof.regions if r.kind == "module"][-1] == "Sequential"
    assert prof.ops[-1].module is None  # the stack of modules was closed
    assert not graph._observers


def test_the_profiler_leaves_nothing_registered_and_refuses_reentry() -> None:
    prof = profile()
    with prof, pytest.raises(RuntimeError, match="already running"):
        prof.__enter__()
    assert not graph._observers


def test_wall_clock_excludes_the_profilers_own_time() -> None:
    with profile() as prof:
        for _ in range(50):
            _ = ones(4, 4) + 1.0
    assert 0 < prof.overhead_ns < prof.end_ns - prof.start_ns
    assert prof.wall_ns == prof.end_ns - prof.start_ns - prof.overhead_ns
    c = prof.coverage()
    assert 0.0 < c.fraction <= 1.0 + 1e-9
