"""The backward engine: order, accumulation, errors, retained and freed graphs."""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.autograd import backward, topological_order
from tinytorch.tensor import Tensor, graph, record


def f64(values, requires_grad=True):
    return Tensor(values, dtype=tt.float64, requires_grad=requires_grad)


def test_the_engine_is_registered_behind_tensor_backward():
    assert graph.backward_engine() is backward


# ---- gradients ----------------------------------------------------------------------------------
def test_a_chain_of_10000_ops_needs_no_recursion():
    x = f64(1.0)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001**10_000, rel=1e-9)


def test_a_deep_graph_is_deallocated_without_recursion():
    # Never backpropagated, the graph is freed by reference counting when y goes: 10,000
    # nested Tensor -> Node -> inputs links must not overflow the C stack.
    x = f64(1.0)
    y = x
    for _ in range(10_000):
        y = y + 1.0
    probe = weakref.ref(x)
    del x, y
    gc.collect()
    assert probe() is None


def test_a_tensor_used_several_times_gets_every_paths_gradient():
    x = f64([1.0, -2.0, 3.0])
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 1)


def test_a_shared_subexpression_is_differentiated_once_per_path():
    # y feeds two branches that meet again: d/dx (y * y + y.exp()) with y = 3x.
    x = f64([0.1, 0.2])
    y = x * 3.0
    (y * y + y.exp()).sum().backward()
    np.testing.assert_allclose(x.grad.data, 3.0 * (2 * y.data + np.exp(y.data)))


def test_each_rule_runs_once_even_with_many_paths():
    calls = []

    def counted(x):
        return record("test_counted_identity", x.data, (x,))

    @graph.register_gradient("test_counted_identity")
    def _counted(grad, node):
        calls.append(grad.copy())
        return (grad,)

    x = f64([1.0, 2.0])
    h = counted(x)
    out = h
    for _ in range(20):
        out = out + h  # 21 paths from out to h
    out.sum().backward()
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], [21.0, 21.0])
    np.testing.assert_array_equal(x.grad.data, [21.0, 21.0])


def test_gradients_reduce_over_broadcast_dimensions():
    w = f64(np.ones((1, 3)))
    b = f64(2.0)
    x = f64(np.arange(12.0).reshape(4, 3), requires_grad=False)
    (x * w + b).sum().backward()
    assert w.grad.shape == (1, 3)
    np.testing.assert_allclose(w.grad.data, x.data.sum(axis=0, keepdims=True))
    assert b.grad.shape == ()
    assert b.grad.item() == 12.0


def test_grad_keeps_the_leafs_dtype():
    w = Tensor([1.0, 2.0], requires_grad=True)  # float32
    (w.double() * f64([3.0, 4.0], requires_grad=False)).sum().backward()
    assert w.grad.dtype == np.float32


def test_a_gradient_reaching_an_op_has_that_ops_dtype():
    seen = []

    def probe(x):
        return record("test_dtype_probe", x.data, (x,))

    @graph.register_gradient("test_dtype_probe")
    def _probe(grad, node):
        seen.append(grad.dtype)
        return (grad,)

    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)  # float32
    (probe(x) * Tensor([1, 0, 2])).sum().backward()  # the mul rule computes in float64
    assert seen == [np.float32]
    assert x.grad.dtype == np.float32


# ---- backward's arguments -----------------------------------------------------------------------
def test_backward_of_a_scalar_seeds_one():
    x = f64([1.0, 2.0])
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    y = f64([[2.0]])  # one element, any shape
    (y * 5.0).backward()
    np.testing.assert_array_equal(y.grad.data, [[5.0]])


def test_backward_of_a_non_scalar_takes_a_gradient():
    x = f64([1.0, 2.0, 3.0])
    (x * x).backward(gradient=Tensor([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad.data, [2.0, 0.0, -6.0])
    x.grad = None
    (x * 2.0).backward(np.array([1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0, 2.0])


def test_backward_of_a_non_scalar_without_a_gradient_says_why():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"single-element.*shape \(2,\)"):
        (x * 2.0).backward()


def test_backward_with_a_gradient_of_the_wrong_shape_names_both():
    x = f64([1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (x * 2.0).backward(np.ones(3))


def test_backward_of_a_tensor_that_does_not_require_grad_says_why():
    x = f64([1.0, 2.0], requires_grad=False)
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2.0).sum().backward()


def test_backward_through_an_op_without_a_rule_names_it():
    x = f64([1.0])
    y = record("test_op_without_rule", x.data * 2.0, (x,))
    with pytest.raises(RuntimeError, match="test_op_without_rule"):
        y.sum().backward()


# ---- retained and freed graphs ------------------------------------------------------------------
def test_retain_graph_allows_a_second_backward():
    x = f64([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])  # accumulated twice


def test_a_second_backward_through_a_freed_graph_says_what_to_do():
    x = f64([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    # Also from another output sharing the freed part of the graph.
    x2 = f64([1.0])
    h = x2 * 2.0
    (h * 3.0).sum().backward()
    with pytest.raises(RuntimeError, match="already freed"):
        (h + 1.0).sum().backward()


def test_backward_frees_intermediates_even_when_the_loss_is_kept():
    w = f64(np.ones((3, 3)))
    x = f64(np.ones((2, 3)), requires_grad=False)
    hidden = x @ w
    loss = (hidden.exp() * 2.0).sum()
    probe = weakref.ref(hidden)
    del hidden
    loss.backward()
    gc.collect()
    assert probe() is None  # loss is alive, its graph is not

    hidden = x @ w
    loss = (hidden.exp() * 2.0).sum()
    probe = weakref.ref(hidden)
    del hidden
    loss.backward(retain_graph=True)
    gc.collect()
    assert probe() is not None  # retained, as asked


def _training_memory_growth(steps, retain_graph):
    """Bytes still allocated per step after ``steps`` small training steps whose losses are
    all kept (the classic ``losses.append(loss)`` logging leak)."""
    rng = np.random.default_rng(0)
    w1 = f64(rng.standard_normal((8, 16)) * 0.1)
    w2 = f64(rng.standard_normal((16, 1)) * 0.1)
    x = f64(rng.standard_normal((32, 8)), requires_grad=False)
    y = f64(rng.standard_normal((32, 1)), requires_grad=False)
    losses = []

    def step():
        w1.grad = w2.grad = None
        loss = (((x @ w1).clip(min=0.0) @ w2 - y) ** 2).mean()
        loss.backward(retain_graph=retain_graph)
        losses.append(loss)

    for _ in range(50):  # warm up allocator and caches
        step()
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(steps):
            step()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    return grown / steps


def test_memory_stays_flat_over_2000_training_steps():
    per_step = _training_memory_growth(2000, retain_graph=False)
    # What remains of a step is its kept loss: a 0-d tensor and an emptied node.
    assert per_step < 1_000, f"{per_step:.0f} bytes kept per step"
    # The measurement can see a leak: retaining each graph keeps the activations (32x16 and
    # 32x1 float64 arrays, several of each) alive.
    retained = _training_memory_growth(200, retain_graph=True)
    assert retained > 10 * max(per_step, 100), f"{retained:.0f} vs {per_step:.0f} bytes per step"


# ---- leaves, detach, recording ------------------------------------------------------------------
def test_grad_accumulates_across_backward_calls():
    x = f64([1.0, 2.0])
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [5.0, 5.0])
    x.zero_grad()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_only_leaves_get_grad():
    x = f64([1.0, 2.0])
    h = x * 2.0
    (h * h).sum().backward()
    assert x.grad is not None
    assert h.grad is None
    assert not h.is_leaf


def test_the_grad_is_a_copy_not_a_view_of_a_rules_array():
    # add's rule passes the upstream gradient through as it is; the leaf must own its grad.
    x = f64([1.0, 2.0])
    seed = np.array([1.0, 1.0])
    (x + 0.0).backward(seed)
    seed[:] = 9.0
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])
    assert x.grad.data.flags.writeable


def test_detach_cuts_the_graph_and_shares_data():
    x = f64([1.0, 2.0])
    d = (x * 2.0).detach()
    assert not d.requires_grad
    assert d.is_leaf
    y = (x * d).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.data, d.data)  # d counts as a constant
    shared = x.detach()
    shared.data[0] = 7.0
    assert x.data[0] == 7.0


def test_ops_record_no_graph_when_no_input_requires_grad():
    a = f64([1.0, 2.0], requires_grad=False)
    b = f64([3.0, 4.0], requires_grad=False)
    out = (a * b + a).exp().sum()
    assert out.node is None
    assert not out.requires_grad
    w = f64([1.0, 1.0])
    recorded = a * w
    assert recorded.node is not None
    assert recorded.node.op == "mul"
    assert recorded.requires_grad


def test_a_leaf_that_does_not_require_grad_gets_no_grad():
    w = f64([1.0, 2.0])
    c = f64([3.0, 4.0], requires_grad=False)
    (w * c).sum().backward()
    assert c.grad is None


def test_topological_order_puts_consumers_before_producers():
    x = f64([1.0])
    a = x * 2.0
    b = a + x
    c = b * a
    order = topological_order(c)
    position = {id(t): i for i, t in enumerate(order)}
    assert order[0] is c
    assert len(order) == 4  # c, b, a, x: the constants 2.0 need no gradient
    for t in (c, b, a):
        for parent in t.node.inputs:
            if parent.requires_grad:
                assert position[id(t)] < position[id(parent)]
