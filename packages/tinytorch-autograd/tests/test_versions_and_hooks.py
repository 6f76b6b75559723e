"""In-place writes caught at backward by version counters; register_hook, retain_grad and grad_fn
against PyTorch's behaviour; the gradients of the issue-9 API (max/min with a dim)."""

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.autograd import gradcheck, no_grad
from tinytorch.tensor import Tensor, graph

MODIFIED = r"^backward: input {i} of op '{op}', a tensor of shape {shape}, was modified in place"


def f64(data, requires_grad=True):
    return Tensor(np.asarray(data, dtype=np.float64), requires_grad=requires_grad)


# ---- writes after the forward are caught ------------------------------------------------------
def test_the_issue_example_raises_instead_of_a_wrong_gradient():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    x = tt.tensor([3.0, 4.0])
    y = (w * x).sum()
    x *= 10
    with pytest.raises(RuntimeError) as err:
        y.backward()
    message = str(err.value)
    assert message.startswith(
        "backward: input 1 of op 'mul', a tensor of shape (2,), was modified in place after "
        "the op used it (now at version 1, saved at version 0)"
    )
    assert w.grad is None  # nothing wrong was accumulated


def test_setitem_after_the_forward_raises():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    x = tt.tensor([3.0, 4.0])
    y = (w * x).sum()
    x[0] = 1.0
    with pytest.raises(RuntimeError, match=MODIFIED.format(i=1, op="mul", shape=r"\(2,\)")):
        y.backward()


def test_a_write_through_a_view_raises():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    x = tt.tensor([3.0, 4.0])
    y = (w * x).sum()
    v = x[0:1]
    v *= 2.0
    with pytest.raises(RuntimeError, match=r"now at version 1, saved at version 0"):
        y.backward()


def test_a_write_into_a_view_taken_before_the_forward_raises():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    base = tt.tensor([[3.0, 4.0], [5.0, 6.0]])
    row = base[1]  # a view of base
    y = (w * base).sum()  # the op saved base itself
    row.fill_(0.0)
    with pytest.raises(RuntimeError, match=MODIFIED.format(i=1, op="mul", shape=r"\(2, 2\)")):
        y.backward()


def test_a_write_into_the_base_of_a_saved_view_raises():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    base = tt.tensor([[3.0, 4.0], [5.0, 6.0]])
    y = (w * base[1]).sum()  # the op saved the view
    base.zero_()
    with pytest.raises(RuntimeError, match=MODIFIED.format(i=1, op="mul", shape=r"\(2,\)")):
        y.backward()


def test_detach_then_write_raises():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    d = w.detach()
    d += 1.0  # allowed (d does not require grad), but it is w's memory
    with pytest.raises(RuntimeError, match=MODIFIED.format(i=0, op="mul", shape=r"\(2,\)")):
        y.backward()


def test_a_write_under_no_grad_of_a_parameter_raises():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    y = w.exp().sum()
    with no_grad():
        w -= 0.1
    with pytest.raises(RuntimeError, match=MODIFIED.format(i=0, op="exp", shape=r"\(2,\)")):
        y.backward()


def test_a_write_into_a_saved_output_raises():
    # exp's rule reads its output: writing into it under no_grad would corrupt the gradient.
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    e = w.exp()
    y = e.sum()
    with no_grad():
        e.mul_(0.0)
    with pytest.raises(RuntimeError, match=r"^backward: the output of op 'exp', a tensor of shape"):
        y.backward()


def test_load_state_dict_after_the_forward_makes_that_backward_refuse():
    """load_state_dict writes parameters in place: a graph recorded through the old values must
    not quietly give gradients for the new ones."""
    from tinytorch.layers import Linear

    layer = Linear(2, 1, generator=tt.Generator(0))
    loss = layer(tt.ones(3, 2)).sum()
    layer.load_state_dict({"weight": np.ones((1, 2), np.float32), "bias": np.zeros(1, np.float32)})
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_a_parameter_list_trains_through_its_owner():
    from tinytorch.layers import Module, ParameterList

    class Mixture(Module):
        def __init__(self):
            super().__init__()
            self.weights = ParameterList([tt.randn(3) for _ in range(2)])

        def forward(self, x):
            return sum(x * w for w in self.weights)

    m = Mixture()
    m(tt.ones(3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_the_check_matches_torch():
    torch = pytest.importorskip("torch")
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([3.0, 4.0])
    ty = (tw * tx).sum()
    tx *= 10
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.backward()
    assert tx._version == 1
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    x = tt.tensor([3.0, 4.0])
    y = (w * x).sum()
    x *= 10
    assert x._version == tx._version
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


# ---- what stays legitimate --------------------------------------------------------------------
def test_writes_before_the_forward_and_after_the_backward_are_fine():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    x = tt.tensor([3.0, 4.0])
    x *= 10
    x[0] = 5.0
    (w * x).sum().backward()
    assert w.grad.tolist() == [5.0, 40.0]
    x.zero_()
    with no_grad():
        w -= 1.0
    w.grad = None
    (w * x).sum().backward()  # a new graph, after the writes
    assert w.grad.tolist() == [0.0, 0.0]


def test_no_grad_updates_of_unrelated_tensors_are_fine():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    x = tt.tensor([3.0, 4.0])
    ema = tt.tensor([0.0, 0.0])
    other = tt.tensor([1.0, 1.0], requires_grad=True)
    y = (w * x).sum()
    with no_grad():
        ema.mul_(0.9).add_(w, alpha=0.1)
        other.copy_(ema)
    y.backward()
    assert w.grad.tolist() == [3.0, 4.0]


def test_writing_an_input_of_an_op_that_saves_no_values_is_fine_as_in_torch():
    # add's gradient needs only shapes (PyTorch saves nothing for it), so this is correct.
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    b = tt.tensor([3.0, 4.0])
    y = (w + b).sum()
    b += 1.0
    y.backward()
    assert w.grad.tolist() == [1.0, 1.0]


def test_retain_graph_backward_twice_then_a_write_raises_on_the_third():
    w = tt.tensor([1.0, 2.0], requires_grad=True)
    x = tt.tensor([3.0, 4.0])
    y = (w * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    assert w.grad.tolist() == [6.0, 8.0]
    x.add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


# ---- register_hook ----------------------------------------------------------------------------
def test_hooks_on_leaves_and_computed_tensors_match_torch():
    torch = pytest.importorskip("torch")
    data = np.array([1.0, -2.0, 3.0])
    seen_mine, seen_theirs = [], []

    def run(lib, make, seen):
        x = make(data)
        y = x * 2
        z = (y * y).sum()
        x.register_hook(lambda g: seen.append(("x", np.array(g.tolist()))))
        y.register_hook(lambda g: g * 10)  # replaces the gradient flowing on to x
        y.register_hook(lambda g: seen.append(("y", np.array(g.tolist()))))  # sees the new one
        z.backward()
        return np.array(x.grad.tolist())

    mine = run(tt, lambda d: f64(d), seen_mine)
    theirs = run(torch, lambda d: torch.tensor(d, requires_grad=True), seen_theirs)
    np.testing.assert_allclose(mine, theirs)
    assert [k for k, _ in seen_mine] == [k for k, _ in seen_theirs] == ["y", "x"]
    for (_, a), (_, b) in zip(seen_mine, seen_theirs, strict=True):
        np.testing.assert_allclose(a, b)


def test_a_leaf_hook_replaces_what_is_accumulated_and_a_handle_removes_it():
    x = f64([1.0, 2.0])
    handle = x.register_hook(lambda g: g * 0 + 7)
    (x * 3).sum().backward()
    assert x.grad.tolist() == [7.0, 7.0]
    handle.remove()
    handle.remove()  # twice is harmless
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_a_hook_returning_none_only_observes_and_hooks_run_once_per_backward():
    x = f64([1.0, 2.0])
    calls = []
    x.register_hook(lambda g: calls.append(g.tolist()))
    y = x * x + x  # x is used twice: the hook sees the summed gradient, once
    y.sum().backward()
    assert calls == [[3.0, 5.0]]
    assert x.grad.tolist() == [3.0, 5.0]


def test_a_hook_on_the_root_sees_the_seed():
    x = f64([1.0, 2.0])
    y = x * 2
    y.register_hook(lambda g: g * 3)
    y.backward(np.array([1.0, 1.0]))
    assert x.grad.tolist() == [6.0, 6.0]


def test_hook_errors():
    with pytest.raises(RuntimeError, match=r"^register_hook: .*does not require grad"):
        Tensor([1.0]).register_hook(lambda g: g)
    x = f64([1.0, 2.0])
    x.register_hook(lambda g: Tensor(np.ones(3)))
    with pytest.raises(
        RuntimeError, match=r"^backward: hook <lambda> returned a gradient of shape"
    ):
        (x * 2).sum().backward()
    y = f64([1.0])
    y.register_hook(lambda g: g.add_(1.0))  # the gradient handed to a hook is read-only
    with pytest.raises(ValueError, match=r"read-only"):
        (y * 2).sum().backward()


# ---- retain_grad and grad_fn ------------------------------------------------------------------
def test_retain_grad_fills_grad_of_a_computed_tensor_as_torch():
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 2.0], [3.0, -1.0]])
    x, tx = f64(data), torch.tensor(data, requires_grad=True)
    h, th = x * 3, tx * 3
    out, tout = h.exp(), th.exp()
    h.retain_grad()
    th.retain_grad()
    not_retained = out * 1
    assert h.retains_grad
    assert th.retains_grad
    assert not x.retains_grad
    assert not not_retained.retains_grad
    (out.sum() * 2).backward(retain_graph=True)
    (tout.sum() * 2).backward(retain_graph=True)
    np.testing.assert_allclose(h.grad.data, th.grad.numpy())
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy())
    assert not_retained.grad is None
    (out.sum() * 2).backward()  # retained gradients accumulate, as leaves' do
    (tout.sum() * 2).backward()
    np.testing.assert_allclose(h.grad.data, th.grad.numpy())


def test_retain_grad_keeps_the_gradient_after_the_hooks():
    x = f64([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g * 10)  # registered after retain_grad, still applied first
    y.sum().backward()
    assert y.grad.tolist() == [10.0, 10.0]
    assert x.grad.tolist() == [20.0, 20.0]


def test_retain_grad_on_a_leaf_is_a_no_op_and_on_a_constant_an_error():
    x = f64([1.0])
    x.retain_grad()
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0]
    with pytest.raises(RuntimeError, match=r"^retain_grad: .*does not require grad"):
        Tensor([1.0]).retain_grad()


def test_grad_fn():
    w = f64([1.0, 2.0])
    assert w.grad_fn is None
    assert Tensor([1.0]).grad_fn is None
    y = w * 2
    assert y.grad_fn is y.node
    assert y.grad_fn.op == "mul"
    assert y.grad_fn.name() == "MulBackward"
    assert (w.sum()).grad_fn.name() == "SumBackward"
    with no_grad():
        assert (w * 2).grad_fn is None
    assert y.detach().grad_fn is None


# ---- gradients of the new API -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_values_with_a_dim_gradcheck(name, dim, keepdim):
    rng = np.random.default_rng(3)
    x = f64(rng.permutation(24).reshape(2, 3, 4) * 0.1)  # distinct values: no ties
    assert gradcheck(lambda x: getattr(x, name)(dim, keepdim).values, [x])
    assert gradcheck(lambda x: getattr(tt, name)(x, dim=dim, keepdim=keepdim).values, [x])


def test_max_values_gradient_matches_torch_without_ties():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(4).standard_normal((3, 5))
    x, tx = f64(data), torch.tensor(data, requires_grad=True)
    (x.max(1).values * f64([1.0, 2.0, 3.0], False)).sum().backward()
    (tx.max(1).values * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy())


def test_to_and_sum_with_dim_keep_their_gradients():
    x = f64(np.random.default_rng(5).standard_normal((2, 3)))
    assert gradcheck(lambda x: x.to("cpu", tt.float64).sum(dim=1, keepdim=True), [x])
    assert gradcheck(lambda x: x.view(3, 2).var(dim=0, correction=0), [x])
    assert gradcheck(lambda x: tt.cat([x, x], dim=1).amax(dim=(0, 1)), [x])
    assert graph.version_of(x) == 0
