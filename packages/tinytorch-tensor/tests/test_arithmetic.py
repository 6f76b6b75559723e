"""Elementwise arithmetic, broadcasting, in-place forms, comparisons, elementwise functions."""

import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinytorch.tensor as tt
from tinytorch.tensor import Tensor, graph

BINARY = [
    ("add", operator.add),
    ("sub", operator.sub),
    ("mul", operator.mul),
    ("div", operator.truediv),
]


def _floats(shape):
    # Kept away from zero so that division stays finite.
    return hnp.arrays(np.float64, shape, elements=st.floats(0.1, 10) | st.floats(-10, -0.1))


# ---- broadcasting --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4))
def test_binary_ops_broadcast_like_numpy(data, shapes):
    a = data.draw(_floats(shapes.input_shapes[0]))
    b = data.draw(_floats(shapes.input_shapes[1]))
    for _, op in BINARY:
        out = op(Tensor(a), Tensor(b))
        assert out.shape == shapes.result_shape
        np.testing.assert_allclose(out.data, op(a, b), rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4))
def test_incompatible_shapes_name_op_and_both_shapes(shape):
    a_shape = (*shape[:-1], max(shape[-1], 2))
    bad = (*a_shape[:-1], a_shape[-1] + 1)  # last dims differ and neither is 1
    a, b = Tensor(np.ones(a_shape)), Tensor(np.ones(bad))
    for name, op in BINARY:
        with pytest.raises(ValueError, match=rf"^{name}: shapes") as info:
            op(a, b)
        assert str(a_shape) in str(info.value)
        assert str(bad) in str(info.value)


@pytest.mark.parametrize(
    ("name", "op"), [*BINARY, ("pow", operator.pow), ("lt", operator.lt), ("eq", operator.eq)]
)
def test_mismatch_error_message(name, op):
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(2, 3\) and \(4, 3\) cannot be"):
        op(tt.ones(2, 3), tt.ones(4, 3))


# ---- operands of every kind, both sides ----------------------------------------------------


@pytest.mark.parametrize(("name", "op"), [*BINARY, ("pow", operator.pow)])
def test_forward_and_reflected_forms(name, op):
    x = np.array([[1.0, 2.0, 4.0], [0.5, 3.0, 1.5]])
    y = np.array([2.0, 0.5, 1.0])
    t = Tensor(x)
    cases = [
        (op(t, Tensor(y)), op(x, y)),
        (op(t, 3.0), op(x, 3.0)),
        (op(3.0, t), op(3.0, x)),
        (op(t, 2), op(x, 2)),
        (op(2, t), op(2, x)),
        (op(t, y), op(x, y)),
        (op(y, t), op(y, x)),  # ndarray on the left defers to Tensor
        (op(t, [2.0, 0.5, 1.0]), op(x, y)),
    ]
    for got, want in cases:
        assert isinstance(got, Tensor)
        np.testing.assert_allclose(got.data, want, rtol=1e-6)


def test_unary_operators():
    t = Tensor([-1.5, 2.0])
    assert (-t).tolist() == [1.5, -2.0]
    assert +t is t
    assert abs(t).tolist() == [1.5, 2.0]


# ---- result dtypes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "dtype"),
    [
        (lambda: tt.ones(2) * 2.5, np.float32),  # a Python number takes the tensor's dtype
        (lambda: 2.5 * tt.ones(2), np.float32),
        (lambda: tt.ones(2) + 1, np.float32),
        (lambda: tt.ones(2) * np.float64(2.0), np.float32),
        (lambda: np.int64(2) * tt.ones(2), np.float32),
        (lambda: Tensor([1, 2]) + 2, np.int64),
        (lambda: Tensor([1, 2]) * 0.5, np.float32),  # PyTorch: float32, NumPy alone: float64
        (lambda: Tensor([1, 2]) / Tensor([2, 2]), np.float32),
        (lambda: Tensor([1, 2]) + tt.ones(2), np.float32),
        (lambda: Tensor([1, 4]) ** 0.5, np.float32),
        (lambda: Tensor([True]) + 1, np.int64),
        (lambda: tt.ones(2) + tt.ones(2, dtype=tt.float64), np.float64),
        (lambda: tt.ones(2, dtype=tt.float64) * 2.0, np.float64),
        (lambda: tt.ones(2, dtype=tt.float64) ** 2, np.float64),
        (lambda: tt.ones(2) ** 2, np.float32),
    ],
)
def test_result_dtype(expr, dtype):
    assert expr().dtype == dtype


# ---- pow -----------------------------------------------------------------------------------


def test_pow_forms_and_their_op_names():
    x = Tensor([1.0, 4.0, 9.0], requires_grad=True)
    np.testing.assert_allclose((x**0.5).data, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(x.pow(2).data, [1.0, 16.0, 81.0])
    np.testing.assert_allclose((2**x).data, 2.0 ** np.array([1.0, 4.0, 9.0]))
    assert (x**2).node.op == "pow"
    assert (x**2).node.attrs == {"exponent": 2}
    assert (x**2).node.inputs == (x,)
    assert (x ** Tensor([1.0, 2.0, 3.0])).node.op == "pow_tensor"
    assert (2**x).node.op == "pow_tensor"
    assert (x**True).node.op == "pow_tensor"  # a bool is not a numeric exponent


# ---- in-place ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "want"),
    [
        (operator.iadd, [[3.0, 4.0], [5.0, 6.0]]),
        (operator.isub, [[-1.0, 0.0], [1.0, 2.0]]),
        (operator.imul, [[2.0, 4.0], [6.0, 8.0]]),
        (operator.itruediv, [[0.5, 1.0], [1.5, 2.0]]),
    ],
)
def test_inplace_forms_write_into_the_same_array(op, want):
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    data = t.data
    out = op(t, 2.0)
    assert out is t
    assert t.data is data
    assert t.tolist() == want
    assert t.dtype == np.float32


def test_inplace_broadcasts_the_other_operand():
    t = tt.zeros(2, 3)
    t += Tensor([1.0, 2.0, 3.0])
    assert t.tolist() == [[1.0, 2.0, 3.0]] * 2


def test_inplace_cannot_grow_the_tensor():
    t = tt.zeros(3)
    with pytest.raises(ValueError, match=r"add_: cannot broadcast shape \(2, 3\) into .*\(3,\)"):
        t += tt.ones(2, 3)


def test_inplace_cannot_narrow_the_dtype():
    t = Tensor([1, 2])
    with pytest.raises(TypeError, match=r"^add_: .*int64"):
        t += 1.5
    assert t.tolist() == [1, 2]


def test_inplace_into_an_expanded_view_is_refused():
    t = tt.ones(3).expand(2, 3)
    with pytest.raises(ValueError, match=r"^mul_: .*read-only"):
        t *= 2.0


@pytest.mark.parametrize("op", [operator.iadd, operator.isub, operator.imul, operator.itruediv])
def test_inplace_refused_on_tensors_requiring_grad(op):
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"in-place .*requires grad"):
        op(w, 1.0)
    assert w.tolist() == [1.0, 2.0]


def test_inplace_allowed_on_tensors_requiring_grad_with_grad_mode_off():
    w = Tensor([1.0, 2.0], requires_grad=True)
    previous = graph.set_grad_enabled(False)
    try:
        w -= 0.5
        w[0] = 7.0
    finally:
        graph.set_grad_enabled(previous)
    assert w.tolist() == [7.0, 1.5]


def test_setitem_refused_on_tensors_requiring_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"in-place setitem"):
        w[0] = 3.0


# ---- comparisons ---------------------------------------------------------------------------

COMPARISONS = [
    operator.eq,
    operator.ne,
    operator.lt,
    operator.le,
    operator.gt,
    operator.ge,
]


@pytest.mark.parametrize("op", COMPARISONS)
def test_comparisons_match_numpy_and_return_bool(op):
    x = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    y = np.array([2.0, 2.0, 2.0])
    t = Tensor(x, requires_grad=True)
    for got, want in [
        (op(t, Tensor(y)), op(x, y)),
        (op(t, 2.0), op(x, 2.0)),
        (op(2.0, t), op(2.0, x)),
        (op(y, t), op(y, x)),
    ]:
        assert isinstance(got, Tensor)
        assert got.dtype == np.bool_
        assert got.node is None
        assert not got.requires_grad
        np.testing.assert_array_equal(got.data, want)


def test_any_all():
    assert Tensor([False, True]).any() is True
    assert Tensor([False, True]).all() is False
    assert (tt.ones(3) > 0).all() is True


# ---- elementwise functions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "ref"),
    [("exp", np.exp), ("log", np.log), ("sqrt", np.sqrt), ("abs", np.abs)],
)
def test_elementwise_functions_match_numpy(method, ref):
    x = np.array([[0.5, 1.0, 2.0], [3.0, 0.1, 7.0]], dtype=np.float32)
    out = getattr(Tensor(x), method)()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.data, ref(x), rtol=1e-6)
    x64 = Tensor(x.astype(np.float64))
    assert getattr(x64, method)().dtype == np.float64


def test_extremes_give_ieee_values_without_warnings():
    # pytest turns warnings into errors, so each of these would fail if NumPy warned.
    assert Tensor([0.0]).log().tolist() == [-np.inf]
    assert np.isnan(Tensor([-1.0]).log().data[0])
    assert np.isnan(Tensor([-1.0]).sqrt().data[0])
    assert Tensor([1000.0]).exp().tolist() == [np.inf]
    assert Tensor([-1000.0]).exp().tolist() == [0.0]
    assert (Tensor([0.0]) ** -1).tolist() == [np.inf]
    assert np.isnan((Tensor([-8.0]) ** 0.5).data[0])
    assert (Tensor([10.0]) ** 400).tolist() == [np.inf]
    assert (Tensor([0.0]) ** Tensor([-1.0])).tolist() == [np.inf]
    assert (2.0 ** Tensor([1000.0])).tolist() == [np.inf]


def test_clip():
    x = Tensor([-2.0, 0.5, 3.0])
    assert x.clip(-1.0, 1.0).tolist() == [-1.0, 0.5, 1.0]
    assert x.clip(min=0.0).tolist() == [0.0, 0.5, 3.0]
    assert x.clip(max=0.0).tolist() == [-2.0, 0.0, 0.0]
    assert x.clamp(0.0, 1.0).tolist() == [0.0, 0.5, 1.0]
    assert x.clip(-1.0, 1.0).dtype == np.float32
    with pytest.raises(ValueError, match=r"^clip: "):
        x.clip()


# ---- matmul --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a_shape", "b_shape", "out_shape"),
    [
        ((2, 3), (3, 4), (2, 4)),
        ((8, 2, 3), (3, 4), (8, 2, 4)),
        ((8, 2, 3), (8, 3, 4), (8, 2, 4)),
        ((2, 1, 2, 3), (5, 3, 4), (2, 5, 2, 4)),
        ((3,), (3, 4), (4,)),
        ((2, 3), (3,), (2,)),
        ((3,), (3,), ()),
        ((4, 2, 3), (3,), (4, 2)),
    ],
)
def test_matmul_matches_numpy(a_shape, b_shape, out_shape):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    for out in (Tensor(a) @ Tensor(b), tt.matmul(Tensor(a), Tensor(b)), a @ Tensor(b)):
        assert isinstance(out, Tensor)
        assert out.shape == out_shape
        np.testing.assert_allclose(out.data, a @ b, rtol=1e-12)
    np.testing.assert_allclose((Tensor(a) @ b).data, a @ b, rtol=1e-12)


def test_matmul_keeps_float32():
    assert (tt.ones(2, 3) @ tt.ones(3, 2)).dtype == np.float32
    # NumPy widens float32 @ int64 to float64; like the elementwise ops, matmul keeps float32.
    assert (tt.ones(2, 3) @ Tensor([[1], [2], [3]])).dtype == np.float32
    assert (tt.ones(4, 2, 3) @ Tensor([[1], [2], [3]])).dtype == np.float32


def test_matmul_inner_dimension_mismatch():
    with pytest.raises(
        ValueError,
        match=r"^matmul: shapes \(2, 3\) and \(2, 3\) are not aligned \(inner dimensions 3 and 2\)",
    ):
        tt.ones(2, 3) @ tt.ones(2, 3)
    with pytest.raises(ValueError, match=r"^matmul: shapes \(3,\) and \(4,\)"):
        tt.ones(3) @ tt.ones(4)


def test_matmul_batch_mismatch():
    with pytest.raises(
        ValueError, match=r"^matmul: shapes \(2, 3, 4\) and \(5, 4, 6\) have batch dimensions"
    ):
        tt.ones(2, 3, 4) @ tt.ones(5, 4, 6)


def test_matmul_rejects_scalars():
    with pytest.raises(ValueError, match=r"^matmul: .*at least 1-D.*\(\) and \(3,\)"):
        tt.matmul(Tensor(2.0), tt.ones(3))
