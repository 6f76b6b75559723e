"""Every gradient rule of tinytorch.tensor against central differences, in float64.

Shapes come from hypothesis (broadcast pairs, size-1 and empty dimensions); values from a
seeded NumPy generator, kept away from the points where an op has no derivative (0 for division
and logarithms, ties for max, the bounds of clip). Those points get their own tests, of the
convention each rule follows there (PyTorch's).
"""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinytorch.autograd as ag
import tinytorch.tensor as tt
from tinytorch.autograd import gradcheck
from tinytorch.autograd.strategies import (
    FAST,
    away_from_zero,
    axis_args,
    broadcast_pairs,
    distinct,
    normal,
    positive,
    seeds,
    shapes,
)
from tinytorch.tensor import Tensor, graph


def f64(values, requires_grad=True):
    return Tensor(values, dtype=tt.float64, requires_grad=requires_grad)


# ---- cast ---------------------------------------------------------------------------------------
@FAST
@given(shape=shapes, seed=seeds)
def test_cast(shape, seed):
    x = normal(np.random.default_rng(seed), shape)
    # float64 -> float32 -> float64: the gradient flows back through both casts, as float64.
    # float32 rounding would swamp a 1e-6 step; the function is linear, so a large one is exact.
    assert gradcheck(lambda x: x.to(tt.float32).to(tt.float64) * 2.0, [x], eps=1e-2, atol=1e-4)


def test_cast_gradient_takes_the_input_dtype():
    x = Tensor([1.0, 2.0], dtype=tt.float32, requires_grad=True)
    x.double().sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


# ---- binary arithmetic --------------------------------------------------------------------------
@FAST
@given(pair=broadcast_pairs, seed=seeds)
@pytest.mark.parametrize(
    "op", [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b], ids=["add", "sub", "mul"]
)
def test_add_sub_mul(op, pair, seed):
    rng = np.random.default_rng(seed)
    a, b = (normal(rng, s) for s in pair.input_shapes)
    assert gradcheck(op, [a, b])


@FAST
@given(pair=broadcast_pairs, seed=seeds)
def test_div(pair, seed):
    rng = np.random.default_rng(seed)
    a = normal(rng, pair.input_shapes[0])
    b = away_from_zero(rng, pair.input_shapes[1])
    assert gradcheck(lambda a, b: a / b, [a, b])


@FAST
@given(shape=shapes, seed=seeds)
def test_arithmetic_with_python_numbers(shape, seed):
    x = away_from_zero(np.random.default_rng(seed), shape)
    assert gradcheck(lambda x: (2.0 - x) * 3.0 + 1.0 / x - x / 4.0, [x])


@FAST
@given(shape=shapes, seed=seeds, exponent=st.sampled_from([2, 3, -1, 0.5, -1.5, 1, 0]))
def test_pow_scalar_exponent(shape, seed, exponent):
    x = positive(np.random.default_rng(seed), shape)
    assert gradcheck(lambda x: x**exponent, [x])


@FAST
@given(shape=shapes, seed=seeds, exponent=st.sampled_from([2, 3]))
def test_pow_integer_exponent_of_negative_base(shape, seed, exponent):
    x = away_from_zero(np.random.default_rng(seed), shape)
    assert gradcheck(lambda x: x**exponent, [x])


@FAST
@given(pair=broadcast_pairs, seed=seeds)
def test_pow_tensor(pair, seed):
    rng = np.random.default_rng(seed)
    a = positive(rng, pair.input_shapes[0])
    b = normal(rng, pair.input_shapes[1])
    assert gradcheck(lambda a, b: a**b, [a, b])


def test_rpow_of_a_python_number():
    x = Tensor(np.linspace(-1.0, 1.0, 5), requires_grad=True)
    assert gradcheck(lambda x: 2.0**x, [x])


def test_pow_at_zero_follows_pytorch():
    x = f64([0.0, 0.0, 0.0])
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])  # not 0 * inf = nan
    x.grad = None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x**0.5).sum().backward()  # d/dx sqrt(x) at 0 is inf, silently, as in the forward
    assert np.isposinf(x.grad.data).all()


def test_pow_tensor_at_zero_base_follows_pytorch():
    # 0 ** b is flat in b for b >= 0, so b gets no gradient there (not 0 * log 0 = nan),
    # and a gets none where b == 0 (not 0 * 0 ** -1 = nan).
    # Below zero, 0 ** b is a pole: both gradients are -inf there, as in PyTorch.
    a = f64([0.0, 0.0, 2.0, 0.0])
    b = f64([0.0, 2.0, 0.0, -1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (a**b).sum().backward()
    np.testing.assert_array_equal(b.grad.data, [0.0, 0.0, np.log(2.0), -np.inf])
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.0, 0.0, -np.inf])


@FAST
@given(shape=shapes, seed=seeds)
def test_neg(shape, seed):
    assert gradcheck(lambda x: -x, [normal(np.random.default_rng(seed), shape)])


# ---- elementwise functions ----------------------------------------------------------------------
@FAST
@given(shape=shapes, seed=seeds)
def test_exp(shape, seed):
    assert gradcheck(lambda x: x.exp(), [normal(np.random.default_rng(seed), shape)])


@FAST
@given(shape=shapes, seed=seeds)
def test_log(shape, seed):
    assert gradcheck(lambda x: x.log(), [positive(np.random.default_rng(seed), shape)])


@FAST
@given(shape=shapes, seed=seeds)
def test_sqrt(shape, seed):
    assert gradcheck(lambda x: x.sqrt(), [positive(np.random.default_rng(seed), shape)])


@FAST
@given(shape=shapes, seed=seeds)
def test_abs(shape, seed):
    assert gradcheck(lambda x: x.abs(), [away_from_zero(np.random.default_rng(seed), shape)])


def test_log_and_sqrt_at_zero_are_infinite_without_warning():
    x = f64([0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x.log() + x.sqrt()).sum().backward()
    assert np.isposinf(x.grad.data[0])
    assert x.grad.data[1] == pytest.approx(1.5)


def test_abs_at_zero_has_zero_gradient():
    x = f64([-2.0, 0.0, 3.0])
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.data, [-1.0, 0.0, 1.0])


@FAST
@given(shape=shapes, seed=seeds, bounds=st.sampled_from([(-0.5, 0.5), (None, 0.3), (-0.2, None)]))
def test_clip(shape, seed, bounds):
    rng = np.random.default_rng(seed)
    low, high = bounds
    x = normal(rng, shape)
    # Keep every element at least 0.01 from a bound: the kink is not differentiable.
    for bound in (low, high):
        if bound is not None:
            near = np.abs(x.data - bound) < 0.01
            x.data[near] += 0.02
    assert gradcheck(lambda x: x.clip(low, high), [x])


def test_clip_passes_the_gradient_at_the_bounds():
    # PyTorch's clamp: min <= x <= max, both bounds included, receives the gradient.
    x = f64([-2.0, -1.0, 0.0, 1.0, 2.0])
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 1.0, 1.0, 0.0])
    y = f64([-1.0, 1.0])
    (y.clip(min=-1.0) + y.clip(max=1.0)).sum().backward()
    np.testing.assert_array_equal(y.grad.data, [2.0, 2.0])


# ---- reductions ---------------------------------------------------------------------------------
@st.composite
def shape_and_axis(draw, min_side=0):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=min_side, max_side=3))
    return shape, axis_args(draw, len(shape)), draw(st.booleans())


@FAST
@given(case=shape_and_axis(), seed=seeds)
def test_sum(case, seed):
    shape, axis, keepdims = case
    x = normal(np.random.default_rng(seed), shape)
    assert gradcheck(lambda x: x.sum(axis=axis, keepdims=keepdims), [x])


@FAST
@given(case=shape_and_axis(min_side=1), seed=seeds)
def test_mean(case, seed):
    shape, axis, keepdims = case
    x = normal(np.random.default_rng(seed), shape)
    assert gradcheck(lambda x: x.mean(axis=axis, keepdims=keepdims), [x])


def test_mean_of_an_empty_axis_gives_an_empty_gradient():
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the forward's "mean of empty slice"
        out = x.mean(axis=1)
    out.backward(np.ones(0))
    assert x.grad.shape == (0, 3)


@FAST
@given(case=shape_and_axis(min_side=1), seed=seeds, correction=st.sampled_from([0, 1]))
def test_var(case, seed, correction):
    shape, axis, keepdims = case
    x = normal(np.random.default_rng(seed), shape)
    reduced = shape if axis is None else [shape[a] for a in np.atleast_1d(axis)]
    n = int(np.prod(reduced))
    if n <= correction:
        return  # the forward is nan there (no degrees of freedom left)
    assert gradcheck(lambda x: x.var(axis=axis, keepdims=keepdims, correction=correction), [x])


@FAST
@given(case=shape_and_axis(min_side=1), seed=seeds, op=st.sampled_from(["amax", "amin"]))
def test_max_min(case, seed, op):
    shape, axis, keepdims = case
    x = distinct(np.random.default_rng(seed), shape)
    assert gradcheck(lambda x: getattr(x, op)(axis=axis, keepdims=keepdims), [x])


def test_max_shares_the_gradient_among_ties():
    # Over all elements, as torch.max(x); along an axis, as torch.amax(x, dim) (torch.max(x, dim)
    # would route it to the first tied index instead).
    x = f64([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x.max().backward()
    np.testing.assert_allclose(x.grad.data, [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]])
    x.grad = None
    x.amax(dim=1).backward(np.array([1.0, 3.0]))
    np.testing.assert_allclose(x.grad.data, [[0.0, 0.5, 0.5], [1.0, 1.0, 1.0]])
    x.grad = None
    x.amin(dim=0, keepdim=True).backward(np.ones((1, 3)))
    np.testing.assert_allclose(x.grad.data, [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])


# ---- shape --------------------------------------------------------------------------------------
@FAST
@given(shape=shapes, seed=seeds)
def test_reshape_flatten_squeeze_unsqueeze(shape, seed):
    x = normal(np.random.default_rng(seed), shape)
    assert gradcheck(lambda x: x.reshape(-1, 1).flatten().unsqueeze(0).squeeze() * 1.0, [x])


@FAST
@given(shape=shapes, seed=seeds, data=st.data())
def test_permute_and_transpose(shape, seed, data):
    x = normal(np.random.default_rng(seed), shape)
    order = data.draw(st.permutations(range(len(shape))))
    assert gradcheck(lambda x: x.permute(*order) * 1.0, [x])
    if len(shape) >= 2:
        assert gradcheck(lambda x: x.T.transpose(0, -1), [x])


@FAST
@given(pair=broadcast_pairs, seed=seeds)
def test_expand(pair, seed):
    shape, _ = pair.input_shapes
    x = normal(np.random.default_rng(seed), shape)
    assert gradcheck(lambda x: x.expand(pair.result_shape), [x])


def test_expand_keeps_a_dimension_with_minus_one():
    x = Tensor(np.arange(3.0).reshape(3, 1), requires_grad=True)
    assert gradcheck(lambda x: x.expand(2, -1, 4), [x])


@pytest.mark.parametrize(
    "index",
    [
        1,
        -1,
        slice(1, None),
        (slice(None), 0),
        (Ellipsis, slice(None, None, -2)),
        (None, 1, slice(0, 3)),
        [0, 2],
        [2, 0, 2, 2],  # repeats: each read of an element brings it a gradient
        ([0, 0, 1], [1, 1, 3]),
        (slice(None), [3, 3]),
        np.array([[0, 1], [1, 1]]),
        np.array([True, False, True]),
        (np.array([True, False, True]), slice(1, 3)),
        (slice(0, 0),),
    ],
    ids=lambda index: repr(index).replace("\n", ""),
)
def test_getitem(index):
    x = Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(lambda x: x[index], [x])


def test_getitem_with_a_tensor_index_and_repeats():
    x = Tensor(np.arange(5.0), requires_grad=True)
    idx = tt.tensor([4, 0, 4, 4])
    x[idx].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 0.0, 0.0, 0.0, 3.0])


def test_getitem_of_an_empty_tensor():
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    assert gradcheck(lambda x: x[:, 1:], [x])


# ---- matmul -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape_a", "shape_b"),
    [
        ((4,), (4,)),
        ((4,), (4, 3)),
        ((2, 4), (4,)),
        ((2, 4), (4, 3)),
        ((5, 2, 4), (4, 3)),  # a batch of matrices times one matrix (Linear on a sequence)
        ((2, 4), (5, 4, 3)),
        ((4,), (5, 4, 3)),
        ((5, 2, 4), (4,)),
        ((2, 1, 2, 4), (3, 4, 2)),  # broadcast batch dims on both sides
        ((1, 2, 4), (3, 4, 1)),
        ((0, 2, 4), (4, 3)),  # empty batch
        ((2, 0), (0, 3)),  # empty inner dimension: the product is all zeros
        ((1, 1), (1, 1)),
    ],
)
def test_matmul(shape_a, shape_b):
    rng = np.random.default_rng(1)
    a, b = normal(rng, shape_a), normal(rng, shape_b)
    assert gradcheck(lambda a, b: a @ b, [a, b])
    # With only one side requiring grad, the other side's product is skipped, not wrong.
    assert gradcheck(lambda a, b: a @ b, [a.detach(), b])
    assert gradcheck(lambda a, b: a @ b, [a, b.detach()])


@FAST
@given(
    batch=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, min_side=0, max_side=2),
    inner=st.integers(1, 3),
    rows=st.integers(1, 3),
    cols=st.integers(1, 3),
    seed=seeds,
)
def test_matmul_batched(batch, inner, rows, cols, seed):
    rng = np.random.default_rng(seed)
    a = normal(rng, (*batch.input_shapes[0], rows, inner))
    b = normal(rng, (*batch.input_shapes[1], inner, cols))
    assert gradcheck(lambda a, b: a @ b, [a, b])


# ---- ops over several tensors -------------------------------------------------------------------
@FAST
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3),
    sizes=st.lists(st.integers(0, 3), min_size=1, max_size=3),
    data=st.data(),
    seed=seeds,
)
def test_cat(shape, sizes, data, seed):
    rng = np.random.default_rng(seed)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for n in sizes:
        part_shape = list(shape)
        part_shape[axis] = n
        parts.append(normal(rng, tuple(part_shape)))
    assert gradcheck(lambda *parts: tt.cat(parts, axis=axis), parts)


@FAST
@given(shape=shapes, count=st.integers(1, 3), data=st.data(), seed=seeds)
def test_stack(shape, count, data, seed):
    rng = np.random.default_rng(seed)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    parts = [normal(rng, shape) for _ in range(count)]
    assert gradcheck(lambda *parts: tt.stack(parts, axis=axis), parts)


@FAST
@given(
    shapes3=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, min_side=0, max_side=3),
    seed=seeds,
)
def test_where(shapes3, seed):
    rng = np.random.default_rng(seed)
    cond_shape, a_shape, b_shape = shapes3.input_shapes
    condition = Tensor(rng.random(cond_shape) < 0.5)
    a, b = normal(rng, a_shape), normal(rng, b_shape)
    assert gradcheck(lambda c, a, b: tt.where(c, a, b), [condition, a, b])


def test_where_with_a_python_number():
    x = f64([-1.0, 2.0, -3.0])
    assert gradcheck(lambda x: tt.where(x > 0, x, 0.0), [x])
    assert gradcheck(lambda x: tt.where(x > 0, 1.0, x), [x])


# ---- every op is covered ------------------------------------------------------------------------
TENSOR_OPS = {
    "cast", "add", "sub", "mul", "div", "pow", "pow_tensor", "neg", "exp", "log", "sqrt", "abs",
    "clip", "sum", "mean", "var", "max", "min", "reshape", "permute", "expand", "getitem",
    "matmul", "cat", "stack", "where",
    # the PyTorch API ops (their tests: test_rules_api_ops.py)
    "masked_fill", "narrow", "gather", "topk", "std", "contiguous", "clone", "tril", "triu",
}  # fmt: skip


def test_every_tensor_op_has_a_rule_here():
    from tinytorch.autograd.rules import tensor as rules

    ops = graph.registered_ops()
    registered = {op for op in ops if graph.gradient_rule(op).__module__ == rules.__name__}
    assert registered == TENSOR_OPS


def test_the_op_list_is_what_tinytorch_tensor_records():
    # Read from the source, so that an op added to tinytorch-tensor without a rule fails here.
    source = Path(tt.__file__).parent
    recorded = set()
    for path in source.glob("*.py"):
        if path.name != "graph.py":  # its docstring records an example op
            recorded |= set(re.findall(r'record\(\s*"(\w+)"', path.read_text()))
    assert recorded == TENSOR_OPS


def test_every_op_recorded_by_tinytorch_tensor_has_a_rule():
    """Run an expression over every public op and collect the op names it records."""
    x = Tensor(np.linspace(0.5, 2.0, 6).reshape(2, 3), requires_grad=True)
    y = x.to(tt.float32).double()
    out = (
        (y + 1) - (y * 2) / (y**2) + y ** Tensor(2.0, dtype=tt.float64) - (-y).exp() + y.log()
        + y.sqrt() + y.abs().clip(0.0, 1.5)
    )  # fmt: skip
    parts = [
        out.sum(), out.mean(), out.var(), out.max(), out.min(), out.reshape(3, 2).sum(),
        out.T.sum(), out[0, 1:].sum(), (out @ out.T).sum(), tt.cat([out, out]).sum(),
        tt.stack([out, out]).sum(), tt.where(out.data > 1, out, y).sum(),
        out[:1].expand(4, 3).sum(),
        out.masked_fill(out.data > 1, 0.0).sum(), out.narrow(1, 0, 2).sum(),
        out.gather(1, tt.tensor([[0], [2]])).sum(), out.topk(2).values.sum(), out.std(),
        out.T.contiguous().sum(), out.clone().sum(), out.tril().sum(), out.triu().sum(),
    ]  # fmt: skip
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    recorded = set()
    frontier = [total]
    visited = set()
    while frontier:
        t = frontier.pop()
        if t.node is None or id(t) in visited:
            continue
        visited.add(id(t))
        recorded.add(t.node.op)
        frontier.extend(t.node.inputs)
    assert recorded == TENSOR_OPS
    total.backward()
    assert np.isfinite(x.grad.data).all()


# ---- rules skip inputs that take no gradient ----------------------------------------------------
@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a * b,
        lambda a, b: a / b,
        lambda a, b: a**b,
        lambda a, b: a @ b.T,
        lambda a, b: tt.where(a.data > 1, a, b),
    ],
    ids=["add", "sub", "mul", "div", "pow_tensor", "matmul", "where"],
)
def test_binary_rules_return_none_for_an_input_without_grad(op):
    a = Tensor(np.full((2, 3), 1.5), requires_grad=True)
    b = Tensor(np.full((2, 3), 0.5))
    out = op(a, b)
    grads = graph.gradient_rule(out.node.op)(np.ones(out.shape), out.node)
    assert grads[0] is not None
    assert grads[0].shape == a.shape
    assert grads[1] is None
    grads = graph.gradient_rule(out.node.op)(np.ones(out.shape), op(b, a).node)
    assert grads[0] is None


def test_autograd_is_what_registers_the_rules():
    assert ag.rules.tensor.matmul is graph.gradient_rule("matmul")


def test_0d_gradients_flow_through_every_rule():
    # NumPy turns 0-d results into scalars (np.float64, not ndarray); every rule must accept one
    # as its upstream gradient and hand one on.
    a = f64(1.3)
    c = f64(0.7)

    def chain(a, c):
        s = a * c
        out = tt.stack([s, c]).max() * s.mean() * s.var(correction=0) + s.reshape(1, 1).sum()
        out = out + tt.cat([s.reshape(1), c.reshape(1)]).sum() * s[...] * s[None].sum()
        out = out + tt.where(Tensor(True), s, c).clip(0.0, 10.0).abs().sqrt().log().exp() ** 2
        out = out / s - s**c + s.permute() - (-s).expand(2).sum() + s.double()
        return out

    assert gradcheck(chain, [a, c])
    v = f64([0.5, 1.5, 2.0])
    assert gradcheck(lambda v, c: (v @ v) * c + (v * c) @ v, [v, c])
