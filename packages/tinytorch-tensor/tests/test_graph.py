"""record(), the graph extension point, grad mode, and backward() without autograd."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra import numpy as hnp

import tinytorch.tensor as tt
from tinytorch.tensor import Tensor, graph, record
from tinytorch.tensor.graph import Node, unbroadcast


@pytest.fixture
def no_grad_mode():
    previous = graph.set_grad_enabled(False)
    yield
    graph.set_grad_enabled(previous)


@pytest.fixture
def empty_registry(monkeypatch):
    """The extension point as it is with no autograd installed, restored after the test."""
    monkeypatch.setattr(graph, "_rules", {})
    monkeypatch.setattr(graph, "_engine", [])
    monkeypatch.setattr(graph, "_entry_points_loaded", True)


# ---- record --------------------------------------------------------------------------------


def test_record_keeps_a_node_only_when_an_input_requires_grad():
    a, b = tt.ones(2), tt.ones(2, requires_grad=True)
    out = np.zeros(2, dtype=np.float32)
    plain = record("myop", out, (a,), k=1)
    assert plain.node is None
    assert not plain.requires_grad
    assert plain.data is out
    tracked = record("myop", out, (a, b), k=1)
    assert tracked.requires_grad
    assert not tracked.is_leaf
    node = tracked.node
    assert isinstance(node, Node)
    assert (node.op, node.attrs) == ("myop", {"k": 1})
    assert node.inputs[0] is a
    assert node.inputs[1] is b
    assert node.out is out
    assert repr(node) == "Node(myop, inputs=[(2,), (2,)], out=(2,))"


def test_recording_a_graph_needs_no_autograd():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert y.node is not None
    assert y.node.op == "mul"
    assert y.node.inputs[0] is x
    z = (y + 1).sum()
    assert z.node.op == "sum"
    assert z.node.inputs[0].node.op == "add"
    assert z.node.inputs[0].node.inputs[0] is y


def test_no_node_with_grad_mode_off(no_grad_mode):
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert y.node is None
    assert not y.requires_grad
    assert not graph.is_grad_enabled()


def test_set_grad_enabled_returns_the_previous_setting():
    assert graph.is_grad_enabled()
    assert graph.set_grad_enabled(False) is True
    try:
        assert graph.set_grad_enabled(False) is False
    finally:
        assert graph.set_grad_enabled(True) is False
    assert graph.is_grad_enabled()


def _x():
    return Tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)


# Every op of module 01 and the name its gradient rule must be registered under.
OPS = [
    ("add", lambda x: x + 1.0),
    ("sub", lambda x: 1.0 - x),
    ("mul", lambda x: x * x),
    ("div", lambda x: x / 2.0),
    ("neg", lambda x: -x),
    ("pow", lambda x: x**2),
    ("pow_tensor", lambda x: 2.0**x),
    ("matmul", lambda x: x @ x.T),
    ("exp", lambda x: x.exp()),
    ("log", lambda x: x.log()),
    ("sqrt", lambda x: x.sqrt()),
    ("abs", lambda x: x.abs()),
    ("clip", lambda x: x.clip(0.0, 1.0)),
    ("sum", lambda x: x.sum()),
    ("mean", lambda x: x.mean(axis=0)),
    ("var", lambda x: x.var()),
    ("max", lambda x: x.max(axis=1).values),
    ("min", lambda x: x.min()),
    ("reshape", lambda x: x.reshape(3, 2)),
    ("reshape", lambda x: x.flatten()),
    ("reshape", lambda x: x.unsqueeze(0)),
    ("permute", lambda x: x.T),
    ("permute", lambda x: x.transpose()),
    ("expand", lambda x: x.expand(4, 2, 3)),
    ("getitem", lambda x: x[0, 1:]),
    ("cast", lambda x: x.float()),
    ("cat", lambda x: tt.cat([x, x])),
    ("stack", lambda x: tt.stack([x, x])),
    ("where", lambda x: tt.where(x > 2.0, x, 0.0)),
]


@pytest.mark.parametrize(("name", "fn"), OPS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPS)])
def test_every_op_records_its_name(name, fn):
    x = _x()
    out = fn(x)
    assert out.node is not None
    assert out.node.op == name
    assert any(t is x for t in out.node.inputs)
    assert out.node.out is out.data


def test_non_differentiable_results_are_never_recorded():
    x = _x()
    for out in (x > 1.0, x.argmax(), x.argmin(axis=0), x.detach()):
        assert out.node is None
        assert not out.requires_grad


# ---- gradient registry ---------------------------------------------------------------------


def test_register_and_look_up_a_rule(empty_registry):
    @graph.register_gradient("square")
    def square(grad, node):
        return (2.0 * node.inputs[0].data * grad,)

    assert graph.gradient_rule("square") is square
    assert graph.registered_ops() == frozenset({"square"})


def test_registering_the_same_rule_again_is_harmless(empty_registry):
    def rule(grad, node):
        return (grad,)

    graph.register_gradient("ident")(rule)
    graph.register_gradient("ident")(rule)
    assert graph.gradient_rule("ident") is rule


def test_a_second_rule_for_an_op_is_refused(empty_registry):
    graph.register_gradient("twice")(lambda grad, node: (grad,))

    def other(grad, node):
        return (grad,)

    with pytest.raises(ValueError, match=r"'twice' is already registered"):
        graph.register_gradient("twice")(other)


def test_missing_rule_names_the_package(empty_registry):
    with pytest.raises(RuntimeError, match=r"'nosuchop'.*pip install tinytorch-autograd"):
        graph.gradient_rule("nosuchop")


def test_backward_delegates_to_the_registered_engine(empty_registry):
    calls = []

    def engine(*args):
        calls.append(("engine", args))

    graph.register_backward_engine(engine)
    graph.register_backward_engine(engine)  # the same function again: a re-import, allowed
    y = Tensor([1.0, 2.0], requires_grad=True) * 2
    y.backward([1, 1], retain_graph=True)
    y.backward()
    assert [c[0] for c in calls] == ["engine", "engine"]
    root, seed, retain = calls[0][1]
    assert root is y
    assert seed.dtype == np.float32  # the seed takes the output's dtype
    assert seed.tolist() == [1.0, 1.0]
    assert retain is True
    assert calls[1][1][1:] == (None, False)


def test_a_second_engine_is_refused_naming_both(empty_registry):
    def first(*args):
        pass

    def second(*args):
        pass

    graph.register_backward_engine(first)
    with pytest.raises(
        ValueError, match=r"engine is already registered \(.*first\); refusing .*second"
    ):
        graph.register_backward_engine(second)
    assert graph.backward_engine() is first


def test_a_failed_entry_point_is_remembered_and_raised_again(monkeypatch):
    monkeypatch.setattr(graph, "_rules", {})
    monkeypatch.setattr(graph, "_engine", [])
    monkeypatch.setattr(graph, "_entry_points_loaded", False)
    monkeypatch.setattr(graph, "_entry_point_error", [])

    class Broken:
        def load(self):
            raise ImportError("tinytorch.autograd is broken: No module named 'numpyy'")

    monkeypatch.setattr(graph, "entry_points", lambda group: [Broken()])
    y = (Tensor([1.0], requires_grad=True) * 2).sum()
    for _ in range(2):  # the second call must show the same real error, not "not installed"
        with pytest.raises(ImportError, match="No module named 'numpyy'"):
            y.backward()


def test_backward_without_an_engine_names_the_package(empty_registry):
    y = (Tensor([1.0], requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError, match=r"pip install tinytorch-autograd"):
        y.backward()


def test_backward_when_autograd_is_not_installed():
    # The real thing, with no simulation: runs in the tensor-only tox env.
    if importlib.util.find_spec("tinytorch.autograd") is not None:
        pytest.skip("tinytorch-autograd is installed here; this runs in the tensor-only env")
    y = (Tensor([1.0], requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError, match=r"tinytorch-autograd"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"tinytorch-autograd"):
        graph.gradient_rule("mul")


def test_using_tensor_ops_does_not_import_autograd():
    code = (
        "import sys, tinytorch.tensor as tt\n"
        "x = tt.ones(2, requires_grad=True)\n"
        "y = (x * 2 + 1).sum()\n"
        "assert y.node is not None\n"
        "print('tinytorch.autograd' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


# ---- unbroadcast ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4))
def test_unbroadcast_sums_each_copy_back(shapes):
    full = shapes.result_shape
    grad = np.ones(full)
    for shape in shapes.input_shapes:
        out = unbroadcast(grad, shape)
        assert out.shape == shape
        # Every element of the input was broadcast to size(full) / size(input) places.
        copies = np.prod(full) / max(np.prod(shape), 1) if np.prod(full) else 0
        np.testing.assert_array_equal(out, np.full(shape, copies))


def test_unbroadcast_matches_explicit_sums():
    grad = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(unbroadcast(grad, (3, 4)), grad.sum(axis=0))
    np.testing.assert_array_equal(unbroadcast(grad, (3, 1)), grad.sum(axis=(0, 2))[:, None])
    np.testing.assert_array_equal(unbroadcast(grad, (1, 1, 4)), grad.sum(axis=(0, 1))[None, None])
    np.testing.assert_array_equal(unbroadcast(grad, ()), grad.sum())
    assert unbroadcast(grad, ()).shape == ()
    assert isinstance(unbroadcast(grad, ()), np.ndarray)
    assert unbroadcast(grad, (2, 3, 4)) is grad
