"""Forward values of the activation ops against NumPy / math references, and their edge cases."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinytorch.activations as A
from tinytorch.activations.functional import (
    _gelu_tanh_textbook,
    log_softmax_array,
    softmax,
    softmax_array,
)
from tinytorch.tensor import Tensor, graph

X = np.array([[-3.0, -1.0, -0.5, 0.0], [0.5, 1.0, 3.0, 7.5]])
INF = float("inf")


def sigmoid_ref(v):
    return 1.0 / (1.0 + math.exp(-v))


def gelu_ref(v):
    # erfc keeps the far left tail that 1 + erf(v / sqrt 2) cancels to 0.
    return 0.5 * v * math.erfc(-v / math.sqrt(2.0))


def gelu_tanh_ref(v):
    return 0.5 * v * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (v + 0.044715 * v**3)))


def softmax_ref(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


ELEMENTWISE = [
    (A.relu, lambda v: max(v, 0.0)),
    (A.leaky_relu, lambda v: v if v > 0 else 0.01 * v),
    (lambda x: A.leaky_relu(x, negative_slope=0.2), lambda v: v if v > 0 else 0.2 * v),
    (A.sigmoid, sigmoid_ref),
    (A.tanh, math.tanh),
    (A.gelu, gelu_ref),
    (lambda x: A.gelu(x, approximate="tanh"), gelu_tanh_ref),
]


@pytest.mark.parametrize(("fn", "ref"), ELEMENTWISE)
def test_elementwise_values_float64(fn, ref):
    out = fn(Tensor(X))
    assert out.dtype == np.float64
    want = np.vectorize(ref)(X)
    np.testing.assert_allclose(out.data, want, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(("fn", "ref"), ELEMENTWISE)
def test_elementwise_values_float32(fn, ref):
    out = fn(Tensor(X.astype(np.float32)))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, np.vectorize(ref)(X), rtol=2e-6, atol=1e-6)


def test_gelu_matches_pytorch():
    # torch.nn.functional.gelu in float64 (PyTorch 2.13), both approximations.
    x = Tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0], dtype=np.float64)
    exact = [
        -0.00404969409489031,
        -0.15865525393145702,
        -0.15426876936299344,
        0.0,
        0.34573123063700656,
        0.841344746068543,
        2.99595030590511,
    ]
    tanh = [
        -0.0036373920817729943,
        -0.15880800939172324,
        -0.15428599017485606,
        0.0,
        0.34571400982514394,
        0.8411919906082768,
        2.996362607918227,
    ]
    np.testing.assert_allclose(A.gelu(x).data, exact, rtol=1e-14, atol=1e-17)
    np.testing.assert_allclose(A.gelu(x, "tanh").data, tanh, rtol=1e-14, atol=1e-17)


def test_gelu_exact_on_a_dense_grid():
    grid = np.linspace(-12.0, 12.0, 4801)
    want = np.array([gelu_ref(v) for v in grid])
    np.testing.assert_allclose(A.gelu(Tensor(grid)).data, want, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(
        A.gelu(Tensor(grid.astype(np.float32))).data, want, rtol=1e-6, atol=1e-7
    )


def test_gelu_tanh_is_close_to_exact():
    grid = Tensor(np.linspace(-6.0, 6.0, 1201))
    gap = np.abs(A.gelu(grid, "tanh").data - A.gelu(grid).data).max()
    assert 1e-5 < gap < 5e-4


def test_relu_keeps_integers_others_compute_in_float32():
    ints = Tensor([-2, 0, 3])
    assert A.relu(ints).dtype == np.int64
    assert A.relu(ints).tolist() == [0, 0, 3]
    for fn in (A.leaky_relu, A.sigmoid, A.tanh, A.gelu, A.softmax, A.log_softmax):
        assert fn(ints).dtype == np.float32
    assert A.sigmoid(Tensor([0])).tolist() == [0.5]


def test_accepts_anything_tensor_accepts():
    assert A.relu([-1.0, 2.0]).tolist() == [0.0, 2.0]
    assert A.softmax([0.0, 0.0]).tolist() == [0.5, 0.5]
    assert A.sigmoid(0.0).item() == 0.5


def test_relu_propagates_nan():
    assert np.isnan(A.relu(Tensor([np.nan])).data[0])
    assert np.isnan(A.sigmoid(Tensor([np.nan])).data[0])


# ---- stability ----------------------------------------------------------------------------
# pytest turns every NumPy warning into an error, so these also prove no overflow warning.


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturating_functions_at_extremes(dtype):
    x = Tensor(np.array([-1e4, 1e4], dtype=dtype))
    assert A.sigmoid(x).tolist() == [0.0, 1.0]
    assert A.tanh(x).tolist() == [-1.0, 1.0]
    for approximate in ("none", "tanh"):
        assert A.gelu(x, approximate).tolist() == [0.0, 1e4]
    assert A.leaky_relu(x).tolist() == [-100.0, 1e4]


def test_sigmoid_keeps_relative_precision_in_the_left_tail():
    out = A.sigmoid(Tensor([-80.0, -30.0], dtype=np.float64)).data
    np.testing.assert_allclose(out, [math.exp(-80.0), sigmoid_ref(-30.0)], rtol=1e-14)
    out32 = A.sigmoid(Tensor([-80.0])).data
    np.testing.assert_allclose(out32, [math.exp(-80.0)], rtol=1e-6)


def test_gelu_at_the_float32_limits():
    big = np.finfo(np.float32).max
    x = Tensor(np.array([-big, big], dtype=np.float32))
    for approximate in ("none", "tanh"):
        out = A.gelu(x, approximate).data
        assert out.tolist() == [0.0, float(big)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_tanh_textbook_equals_optimized(dtype):
    # The in-place forward and the one-expression form a student writes: the same numbers.
    big = float(np.finfo(dtype).max)
    grid = np.concatenate([np.linspace(-12.0, 12.0, 2397), [-big, big, 0.0]]).astype(dtype)
    for x in (grid, grid.reshape(5, -1), np.asarray(grid[3], dtype=dtype)):
        fused = A.gelu(Tensor(x), approximate="tanh").data
        textbook = _gelu_tanh_textbook(x)
        assert textbook.dtype == fused.dtype == dtype
        assert textbook.shape == fused.shape
        tol = 1e-14 if dtype == np.float64 else 2e-7
        np.testing.assert_allclose(textbook, fused, rtol=tol, atol=tol)


def test_softmax_of_huge_logits():
    assert A.softmax(Tensor([1e4, 0.0])).tolist() == [1.0, 0.0]
    assert A.softmax(Tensor([1e4, 1e4])).tolist() == [0.5, 0.5]
    out = A.softmax(Tensor([-1e4, -1e4 - math.log(3.0)], dtype=np.float64)).data
    np.testing.assert_allclose(out, [0.75, 0.25], rtol=1e-12)
    out = A.softmax(Tensor([[1e4, 1e4 - 1.0], [-1e4, -1e4 + 2.0]], dtype=np.float64)).data
    np.testing.assert_allclose(out, softmax_ref(np.array([[1.0, 0.0], [0.0, 2.0]]), -1))


def test_log_softmax_of_huge_logits():
    assert A.log_softmax(Tensor([0.0, -1e4])).tolist() == [0.0, -1e4]
    out = A.log_softmax(Tensor([1e4, 1e4], dtype=np.float64)).data
    np.testing.assert_allclose(out, [-math.log(2.0)] * 2, rtol=1e-15)


def test_softmax_with_masked_entries():
    x = Tensor([[0.0, -INF, 0.0], [-INF, 1.0, -INF], [2.0, -INF, -INF]])
    assert A.softmax(x).tolist() == [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    lsm = A.log_softmax(x).data
    np.testing.assert_allclose(lsm[0], [-math.log(2.0), -INF, -math.log(2.0)], rtol=1e-6)
    assert lsm[1].tolist() == [-INF, 0.0, -INF]


def test_a_slice_with_no_finite_maximum_is_nan_as_in_pytorch():
    # PyTorch: softmax([-inf, -inf]) = [nan, nan], softmax([inf, 1]) = [nan, nan].
    x = Tensor([[-INF, -INF], [INF, 1.0], [0.0, 1.0]])
    out = A.softmax(x).data
    assert np.isnan(out[:2]).all()
    np.testing.assert_allclose(out[2], softmax_ref(np.array([0.0, 1.0]), -1), rtol=1e-6)
    assert np.isnan(A.log_softmax(x).data[:2]).all()


# ---- dims ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3])
def test_softmax_and_log_softmax_along_each_dim(dim):
    x = np.random.default_rng(0).standard_normal((2, 3, 4)) * 5
    s = A.softmax(Tensor(x), dim=dim)
    np.testing.assert_allclose(s.data, softmax_ref(x, dim), rtol=1e-13)
    np.testing.assert_allclose(s.data.sum(axis=dim), 1.0, rtol=1e-13)
    ls = A.log_softmax(Tensor(x), dim)
    np.testing.assert_allclose(ls.data, np.log(softmax_ref(x, dim)), rtol=1e-12, atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(
    x=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=4, max_side=5),
        elements=st.floats(-50, 50),
    ),
    data=st.data(),
)
def test_softmax_rows_sum_to_one(x, data):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    s = A.softmax(Tensor(x), dim).data
    assert ((s >= 0) & (s <= 1)).all()
    np.testing.assert_allclose(s.sum(axis=dim), 1.0, rtol=1e-12)
    np.testing.assert_allclose(A.log_softmax(Tensor(x), dim).data, np.log(s), atol=1e-12)


def test_softmax_of_a_scalar_and_of_an_empty_dim():
    assert A.softmax(Tensor(3.0)).item() == 1.0
    assert A.softmax(Tensor(3.0), dim=0).item() == 1.0
    assert A.log_softmax(Tensor(3.0)).item() == 0.0
    assert A.softmax(Tensor(np.zeros((2, 0)))).shape == (2, 0)
    assert A.log_softmax(Tensor(np.zeros((2, 0)))).shape == (2, 0)


@pytest.mark.parametrize("fn", [A.softmax, A.log_softmax])
@pytest.mark.parametrize("dim", [2, -3])
def test_dim_out_of_range(fn, dim):
    name = fn.__name__
    with pytest.raises(IndexError, match=rf"^{name}: dim {dim} is out of range .* 2 dimensions"):
        fn(Tensor(np.zeros((2, 3))), dim)


def test_dim_must_be_an_integer():
    with pytest.raises(TypeError):
        A.softmax(Tensor([1.0, 2.0]), 0.5)


def test_gelu_rejects_unknown_approximations():
    with pytest.raises(ValueError, match=r"^gelu: approximate must be 'none' or 'tanh', got 'erf'"):
        A.gelu(Tensor([1.0]), approximate="erf")


# ---- ops and the graph --------------------------------------------------------------------

OPS = [
    ("relu", A.relu, {}),
    ("leaky_relu", A.leaky_relu, {"negative_slope": 0.01}),
    ("leaky_relu", lambda x: A.leaky_relu(x, np.float64(0.5)), {"negative_slope": 0.5}),
    ("sigmoid", A.sigmoid, {}),
    ("tanh", A.tanh, {}),
    ("gelu", A.gelu, {"approximate": "none"}),
    ("gelu", lambda x: A.gelu(x, approximate="tanh"), {"approximate": "tanh"}),
    ("softmax", A.softmax, {"dim": 1}),
    ("softmax", lambda x: A.softmax(x, dim=0), {"dim": 0}),
    ("log_softmax", A.log_softmax, {"dim": 1}),
    ("log_softmax", lambda x: A.log_softmax(x, -2), {"dim": 0}),
]


@pytest.mark.parametrize(("name", "fn", "attrs"), OPS)
def test_each_function_is_one_recorded_op(name, fn, attrs):
    x = Tensor(X, requires_grad=True)
    out = fn(x)
    assert out.requires_grad
    assert out.node.op == name
    assert out.node.inputs == (x,)
    assert out.node.attrs == attrs
    assert out.node.out is out.data


@pytest.mark.parametrize(("name", "fn", "attrs"), OPS)
def test_nothing_recorded_without_grad(name, fn, attrs):
    assert fn(Tensor(X)).node is None
    previous = graph.set_grad_enabled(False)
    try:
        assert fn(Tensor(X, requires_grad=True)).node is None
    finally:
        graph.set_grad_enabled(previous)


def test_leaky_relu_slope_keeps_float32():
    assert A.leaky_relu(Tensor([-1.0]), np.float64(0.5)).dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("fn", "ref"), ELEMENTWISE)
def test_zero_dimensional_inputs(fn, ref, dtype):
    # 0-d arrays and NumPy scalars (what a Tensor holds after a full reduction) both work.
    for data in (np.asarray(-1.5, dtype=dtype), dtype(-1.5)):
        out = fn(Tensor(data))
        assert out.shape == ()
        assert out.dtype == dtype
        np.testing.assert_allclose(out.item(), ref(-1.5), rtol=1e-6)


# ---- the one softmax kernel -------------------------------------------------------------------
def test_softmax_array_has_two_documented_rules_for_a_fully_masked_row():
    rows = np.array([[2.0, -np.inf, 0.0], [-np.inf, -np.inf, -np.inf]], dtype=np.float32)
    safe = softmax_array(rows, masked_rows="zero")
    np.testing.assert_allclose(safe[0], [1 / (1 + np.exp(-2.0)), 0.0, 1 / (1 + np.exp(2.0))])
    assert safe[1].tolist() == [0.0, 0.0, 0.0]
    strict = softmax_array(rows)
    np.testing.assert_array_equal(strict[0], safe[0])
    assert np.isnan(strict[1]).all()  # torch.softmax's rule, which the op follows
    assert np.isnan(softmax(Tensor(rows)).data[1]).all()
    with pytest.raises(ValueError, match="masked_rows must be 'nan' or 'zero', got 'skip'"):
        softmax_array(rows, masked_rows="skip")


def test_softmax_array_in_place_and_stable_at_extreme_logits():
    scores = np.array([[1e4, 0.0, -1e4], [5e3, 5e3, -5e3]])
    out = softmax_array(scores, out=scores, masked_rows="zero")
    assert out is scores
    np.testing.assert_allclose(scores, [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    assert log_softmax_array(np.array([0.0, -1e4])).tolist() == [0.0, -10000.0]
    assert softmax_array(np.zeros((2, 0)), masked_rows="zero").shape == (2, 0)
