"""PyTorch as the oracle: forward and gradients of every tensor op, in float64.

Skipped where torch is not importable (it is never a dependency). Besides smooth points, the
cases include the points where a convention decides the gradient (ties of max, the bounds of
clip, abs at 0, powers at 0, repeated indices) so the conventions are PyTorch's.
"""

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.tensor import Tensor

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 5.0, 0.5, 5.0]])
EDGES = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])

# name: (tinytorch fn, torch fn, input arrays). Both fns take tensors of their library.
CASES = {
    "cast": (lambda x: x.float().double(), lambda x: x.float().double(), [normal(3, 4)]),
    "add": (lambda a, b: a + b, lambda a, b: a + b, [normal(2, 1, 3), normal(4, 1)]),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, [normal(3), normal(2, 1)]),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, [normal(2, 3), normal(1, 3)]),
    "div": (lambda a, b: a / b, lambda a, b: a / b, [normal(2, 3), positive(3)]),
    "pow": (lambda x: x**3 + x**2 + x**-1.5, lambda x: x**3 + x**2 + x**-1.5, [positive(5)]),
    "pow_edges": (lambda x: x**0 + x**2 + x**1, lambda x: x**0 + x**2 + x**1, [EDGES]),
    "pow_tensor": (lambda a, b: a**b, lambda a, b: a**b, [positive(2, 3), normal(3)]),
    "pow_tensor_edges": (
        lambda a, b: a**b,
        lambda a, b: a**b,
        [np.array([0.0, 0.0, 0.0, 2.0, 1.5]), np.array([0.0, 2.0, 1.0, 0.0, -1.0])],
    ),
    "rpow": (lambda x: 2.0**x, lambda x: 2.0**x, [normal(4)]),
    "neg": (lambda x: -x, lambda x: -x, [normal(3)]),
    "exp": (lambda x: x.exp(), lambda x: x.exp(), [normal(2, 3)]),
    "log": (lambda x: x.log(), lambda x: x.log(), [positive(2, 3)]),
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt(), [positive(2, 3)]),
    "abs": (lambda x: x.abs(), lambda x: x.abs(), [EDGES]),
    "clip": (lambda x: x.clip(-1.0, 0.5), lambda x: x.clamp(-1.0, 0.5), [EDGES]),
    "clip_min": (lambda x: x.clip(min=0.0), lambda x: x.clamp(min=0.0), [EDGES]),
    "clip_max": (lambda x: x.clip(max=0.5), lambda x: x.clamp(max=0.5), [EDGES]),
    "sum": (lambda x: x.sum(), lambda x: x.sum(), [normal(2, 3)]),
    "sum_axes": (
        lambda x: x.sum(axis=(0, 2), keepdims=True),
        lambda x: x.sum(dim=(0, 2), keepdim=True),
        [normal(2, 3, 4)],
    ),
    "mean": (lambda x: x.mean(axis=-1), lambda x: x.mean(dim=-1), [normal(2, 3, 4)]),
    "var": (lambda x: x.var(), lambda x: x.var(), [normal(3, 4)]),
    "var_axis": (
        lambda x: x.var(axis=1, keepdims=True, correction=0),
        lambda x: x.var(dim=1, keepdim=True, correction=0),
        [normal(3, 4)],
    ),
    "max_ties": (lambda x: x.max(), lambda x: x.max(), [TIES]),
    "min_ties": (lambda x: x.min(), lambda x: x.min(), [TIES]),
    # torch.max(x, dim) sends a tie's gradient to one index; tinytorch's max(axis) returns only
    # values and shares it, as torch.amax does.
    "max_axis_ties": (lambda x: x.amax(dim=1), lambda x: x.amax(dim=1), [TIES]),
    "min_axis_ties": (
        lambda x: x.amin(dim=0, keepdim=True),
        lambda x: x.amin(dim=0, keepdim=True),
        [TIES],
    ),
    "reshape": (lambda x: x.reshape(4, 3), lambda x: x.reshape(4, 3), [normal(2, 6)]),
    "permute": (lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1), [normal(2, 3, 4)]),
    "transpose": (lambda x: x.T, lambda x: x.mT, [normal(2, 3)]),
    "expand": (lambda x: x.expand(2, 3, 4), lambda x: x.expand(2, 3, 4), [normal(3, 1)]),
    "getitem_basic": (
        lambda x: x[1:, None, ::2],
        lambda x: x[1:, None, ::2],
        [normal(3, 4)],
    ),
    "getitem_repeats": (
        lambda x: x[[2, 0, 2, 2]],
        lambda x: x[[2, 0, 2, 2]],
        [normal(3, 4)],
    ),
    "getitem_mask": (lambda x: x[x.data > 0], lambda x: x[x > 0], [normal(3, 4)]),
    "getitem_pairs": (
        lambda x: x[[0, 0, 1], [1, 1, 2]],
        lambda x: x[[0, 0, 1], [1, 1, 2]],
        [normal(3, 4)],
    ),
    "matmul_vv": (lambda a, b: a @ b, lambda a, b: a @ b, [normal(4), normal(4)]),
    "matmul_vm": (lambda a, b: a @ b, lambda a, b: a @ b, [normal(4), normal(3, 4, 2)]),
    "matmul_mv": (lambda a, b: a @ b, lambda a, b: a @ b, [normal(3, 2, 4), normal(4)]),
    "matmul_linear": (lambda a, b: a @ b, lambda a, b: a @ b, [normal(5, 2, 4), normal(4, 3)]),
    "matmul_broadcast": (
        lambda a, b: a @ b,
        lambda a, b: a @ b,
        [normal(2, 1, 3, 4), normal(5, 4, 2)],
    ),
    "cat": (
        lambda a, b: tt.cat([a, b, a], axis=1),
        lambda a, b: torch.cat([a, b, a], dim=1),
        [normal(2, 3), normal(2, 1)],
    ),
    "stack": (
        lambda a, b: tt.stack([a, b], axis=-1),
        lambda a, b: torch.stack([a, b], dim=-1),
        [normal(2, 3), normal(2, 3)],
    ),
    "where": (
        lambda a, b: tt.where(a > 0, a, b),
        lambda a, b: torch.where(a > 0, a, b),
        [normal(2, 3), normal(3)],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_gradients_match_torch(name):
    ours, theirs, arrays = CASES[name]
    mine = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*mine), theirs(*ref)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)

    upstream = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for i, (m, r) in enumerate(zip(mine, ref, strict=True)):
        want = np.zeros(arrays[i].shape) if r.grad is None else r.grad.numpy()
        got = np.zeros(arrays[i].shape) if m.grad is None else m.grad.data
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=f"input {i}")


def test_max_along_an_axis_differs_from_torch_max_with_dim_only_at_ties():
    # The documented difference: torch.max(x, dim) routes a tied gradient to one index.
    x = Tensor(TIES.copy(), requires_grad=True)
    x.max(dim=1).values.sum().backward()
    r = torch.tensor(TIES, requires_grad=True)
    r.max(dim=1).values.sum().backward()
    assert not np.allclose(x.grad.data, r.grad.numpy())  # ties split here, not there
    np.testing.assert_allclose(x.grad.data.sum(axis=1), r.grad.numpy().sum(axis=1))


def test_an_mlp_training_step_matches_torch():
    x, y = normal(16, 8), normal(16, 2)
    params = [normal(32, 8) * 0.3, normal(32) * 0.1, normal(2, 32) * 0.3, normal(2) * 0.1]
    mine = [Tensor(p.copy(), requires_grad=True) for p in params]
    ref = [torch.tensor(p, requires_grad=True) for p in params]

    def mlp(lib_x, lib_y, w1, b1, w2, b2, relu):
        hidden = relu(lib_x @ w1.T + b1)
        return ((hidden @ w2.T + b2 - lib_y) ** 2).mean()

    loss = mlp(Tensor(x), Tensor(y), *mine, relu=lambda h: h.clip(min=0.0))
    expected = mlp(torch.tensor(x), torch.tensor(y), *ref, relu=torch.relu)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    loss.backward()
    expected.backward()
    for m, r in zip(mine, ref, strict=True):
        np.testing.assert_allclose(m.grad.data, r.grad.numpy(), rtol=1e-10, atol=1e-12)
