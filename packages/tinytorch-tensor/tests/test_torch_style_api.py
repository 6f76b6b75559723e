"""The Tensor API as PyTorch code writes it (issue 9): size()/dim()/numel(), dim=/keepdim=,
max/min with a dim, device and to(), format specs, numpy() and view() refusals, in-place
methods and version counters, and the defects that hostile input found."""

import re

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.tensor import Tensor, graph

X = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)


# ---- size(), dim(), numel() -------------------------------------------------------------------
def test_size_is_a_method_with_an_optional_dim():
    x = Tensor(X)
    assert x.size() == (2, 3, 4)
    assert (x.size(0), x.size(1), x.size(-1), x.size(-3)) == (2, 3, 4, 2)
    assert (x.dim(), x.numel()) == (3, 24)
    assert Tensor(1.0).size() == ()
    assert Tensor(1.0).dim() == 0
    assert Tensor(1.0).numel() == 1
    with pytest.raises(IndexError, match=r"^size: dimension 3 is out of range"):
        x.size(3)


# ---- dim= / keepdim= and their NumPy aliases --------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "var", "amax", "amin"])
def test_reductions_take_dim_and_keepdim_and_the_numpy_spelling(name):
    x = Tensor(X)
    torch_style = getattr(x, name)(dim=1, keepdim=True)
    positional = getattr(x, name)(1, True) if name != "var" else x.var(1, None, True)
    numpy_style = getattr(x, name)(axis=1, keepdims=True)
    assert torch_style.shape == positional.shape == numpy_style.shape == (2, 1, 4)
    np.testing.assert_array_equal(torch_style.data, numpy_style.data)
    np.testing.assert_array_equal(torch_style.data, positional.data)
    with pytest.raises(TypeError, match=rf"^{name}: got both dim= and axis="):
        getattr(x, name)(dim=1, axis=1)
    with pytest.raises(TypeError, match=rf"^{name}: got both keepdim= and keepdims="):
        getattr(x, name)(dim=1, keepdim=True, keepdims=True)


def test_argmax_argmin_squeeze_unsqueeze_take_dim():
    x = Tensor(X)
    np.testing.assert_array_equal(x.argmax(dim=2).data, X.argmax(axis=2))
    np.testing.assert_array_equal(x.argmin(1, keepdim=True).data, X.argmin(1, keepdims=True))
    np.testing.assert_array_equal(x.argmax(axis=0).data, X.argmax(axis=0))
    assert x.unsqueeze(dim=1).shape == (2, 1, 3, 4) == x.unsqueeze(axis=1).shape
    assert x.unsqueeze(-1).shape == (2, 3, 4, 1)
    y = Tensor(np.zeros((1, 3, 1)))
    assert y.squeeze(dim=0).shape == (3, 1) == y.squeeze(axis=0).shape
    with pytest.raises(TypeError, match=r"^unsqueeze: missing the dim"):
        x.unsqueeze()
    with pytest.raises(TypeError, match=r"^squeeze: got both"):
        y.squeeze(0, axis=0)


def test_cat_and_stack_take_dim():
    a, b = tt.ones(2, 3), tt.zeros(2, 3)
    assert tt.cat([a, b], dim=1).shape == (2, 6) == tt.cat([a, b], axis=1).shape
    assert tt.stack([a, b], dim=2).shape == (2, 3, 2) == tt.stack([a, b], axis=2).shape
    with pytest.raises(TypeError, match=r"^cat: got both"):
        tt.cat([a, b], dim=1, axis=1)
    with pytest.raises(TypeError, match=r"^stack: got both"):
        tt.stack([a, b], dim=1, axis=1)


def test_var_keeps_its_correction_and_takes_unbiased_as_pytorch():
    x = Tensor(X)
    np.testing.assert_allclose(x.var(dim=2).data, X.var(axis=2, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(x.var(2, correction=0).data, X.var(axis=2), rtol=1e-5)
    # torch: x.var(2, False) is the population variance (the second argument is unbiased).
    np.testing.assert_allclose(x.var(2, False).data, X.var(axis=2), rtol=1e-5)
    with pytest.raises(TypeError, match=r"^var: give unbiased or correction"):
        x.var(2, unbiased=True, correction=1)


# ---- max / min with a dim return (values, indices) --------------------------------------------
@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_a_dim_return_values_and_indices(name, dim, keepdim):
    x = Tensor(X)
    out = getattr(x, name)(dim, keepdim=keepdim)
    values, indices = out
    assert out.values is values
    assert out.indices is indices
    np.testing.assert_array_equal(values.data, getattr(np, name)(X, axis=dim, keepdims=keepdim))
    arg = np.argmax if name == "max" else np.argmin
    np.testing.assert_array_equal(indices.data, arg(X, axis=dim, keepdims=keepdim))
    assert indices.dtype == np.int64
    assert values.dtype == np.float32
    # The functions, as torch.max(x, dim), and the NumPy spelling give the same pair.
    by_function = getattr(tt, name)(x, dim, keepdim)
    by_alias = getattr(x, name)(axis=dim, keepdims=keepdim)
    for other in (by_function, by_alias):
        np.testing.assert_array_equal(other.values.data, values.data)
        np.testing.assert_array_equal(other.indices.data, indices.data)


def test_the_issue_unpacking_gives_values_and_indices_for_a_batch_of_two():
    logits = Tensor([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1]])
    v, i = logits.max(1)
    assert v.tolist() == pytest.approx([0.9, 0.8])
    assert i.tolist() == [1, 0]


def test_max_min_without_a_dim_stay_0d_tensors():
    x = Tensor(X)
    assert isinstance(x.max(), Tensor)
    assert x.max().shape == ()
    assert tt.min(x).item() == pytest.approx(float(X.min()))
    with pytest.raises(TypeError, match=r"^max: dim must be one int"):
        x.max(dim=(0, 1))  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"^min: keepdim needs a dim"):
        x.min(keepdim=True)


def test_max_min_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).integers(0, 3, size=(4, 5)).astype(np.float32)  # with ties
    for name in ("max", "min"):
        for dim in (0, 1):
            mine = getattr(Tensor(x), name)(dim)
            theirs = getattr(torch.from_numpy(x), name)(dim)
            np.testing.assert_array_equal(mine.values.data, theirs.values.numpy())
            np.testing.assert_array_equal(mine.indices.data, theirs.indices.numpy())


# ---- device, to(), cpu(), cuda() --------------------------------------------------------------
def test_device_and_to():
    x = Tensor([1.5, 2.5])
    assert x.device == "cpu"
    assert x.cpu() is x
    assert x.to("cpu") is x
    assert x.to(device="cpu") is x
    assert x.to("cpu:0") is x
    assert x.to(tt.float64).dtype == np.float64
    assert x.to("cpu", tt.int64).tolist() == [1, 2]
    assert x.to(device="cpu", dtype=tt.float64).dtype == np.float64
    assert x.to(Tensor([1], dtype=tt.int64)).dtype == np.int64
    for device in ("cuda", "cuda:0", "mps"):
        with pytest.raises(
            RuntimeError, match=rf"^to: TinyTorch runs on the CPU only; got device '{device}'"
        ):
            x.to(device)
    with pytest.raises(RuntimeError, match=r"^to: TinyTorch runs on the CPU only"):
        x.to(device="cuda", dtype=tt.float64)
    with pytest.raises(RuntimeError, match=r"^cuda: TinyTorch runs on the CPU only"):
        x.cuda()


# ---- format specs -----------------------------------------------------------------------------
def test_format_spec_on_a_single_element_tensor():
    loss = Tensor(2.0 / 3.0)
    assert f"{loss:.3f}" == "0.667"
    assert f"{Tensor([[7]]):>4d}" == "   7"
    assert f"{loss}" == str(loss)
    with pytest.raises(TypeError, match=r"^format: spec '.3f' applies to a single-element"):
        f"{Tensor([1.0, 2.0]):.3f}"


# ---- numpy() and view() -----------------------------------------------------------------------
def test_numpy_refuses_a_tensor_that_requires_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError, match=r"^numpy: .*requires grad; use tensor.detach\(\).numpy\(\)"
    ):
        w.numpy()
    assert w.detach().numpy() is w.data
    forced = w.numpy(force=True)
    assert forced is not w.data
    assert forced.tolist() == [1.0, 2.0]
    assert Tensor([1.0]).numpy() is not None


def test_view_never_copies_and_refuses_what_cannot_be_viewed():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    v = x.view(3, 2)
    assert np.shares_memory(v.data, x.data)
    assert v.shape == (3, 2)
    assert x.view(-1).shape == (6,)
    assert x.view((6, 1)).shape == (6, 1)
    with pytest.raises(
        RuntimeError, match=r"^view: a tensor of shape \(3, 2\) .*as \(6,\).*reshape"
    ):
        x.T.view(6)
    with pytest.raises(ValueError, match=r"^view: cannot view a tensor of shape \(2, 3\)"):
        x.view(4, 2)
    r = x.T.reshape(6)  # reshape still copies where it must
    assert r.tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    assert x.T.contiguous().view(6).tolist() == r.tolist()


# ---- dtypes and construction (defects found by hostile input) ---------------------------------
@pytest.mark.parametrize("op", ["exp", "log", "sqrt"])
@pytest.mark.parametrize("data", [[1, 2, 3], [True, False, True]])
def test_float_valued_ops_of_integers_and_bools_give_float32(op, data):
    out = getattr(Tensor(data), op)()
    assert out.dtype == np.float32
    with np.errstate(divide="ignore"):
        want = getattr(np, op)(np.asarray(data, dtype=np.float32))
    np.testing.assert_allclose(out.data, want, rtol=1e-6)
    assert getattr(Tensor(np.array([1.0, 2.0])), op)().dtype == np.float64  # floats kept


def test_float_valued_ops_match_torch_dtypes():
    torch = pytest.importorskip("torch")
    for op in ("exp", "log", "sqrt"):
        assert str(getattr(Tensor([1, 2]), op)().dtype) == str(
            getattr(torch.tensor([1, 2]), op)().dtype
        ).removeprefix("torch.")


@pytest.mark.parametrize(
    "data",
    [
        np.array([object(), object()]),
        np.array(["a", "b"]),
        np.array([b"a"]),
        ["x", "y"],
        b"bytes",
        np.array([1 + 2j]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
    ],
)
def test_non_numeric_data_is_refused_naming_the_dtype(data):
    dtype = np.asarray(data).dtype
    for make in (Tensor, tt.tensor):
        with pytest.raises(
            TypeError, match="^tensor: cannot make a Tensor of dtype " + re.escape(str(dtype))
        ):
            make(data)


def test_a_non_numeric_dtype_argument_is_refused():
    with pytest.raises(TypeError, match=r"^tensor: cannot make a Tensor of dtype object"):
        Tensor([1, 2], dtype=object)


@pytest.mark.parametrize("data", [[[1, 2], [3]], [[1.0], [2.0, 3.0]], [1, [2, 3]]])
def test_a_ragged_nested_list_says_so(data):
    with pytest.raises(ValueError, match=r"^tensor: ragged nested sequence: "):
        Tensor(data)
    with pytest.raises(ValueError, match=r"^tensor: ragged nested sequence: "):
        Tensor(data, dtype=tt.float32)


def test_setitem_with_a_mismatched_shape_names_the_shapes():
    x = tt.zeros(3, 4)
    with pytest.raises(
        ValueError,
        match=r"^setitem: cannot assign shape \(3,\) into the indexed shape \(4,\) of a tensor "
        r"of shape \(3, 4\)",
    ):
        x[0] = Tensor([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^setitem: cannot assign shape \(2, 2\) into .*\(3, 4\)"):
        x[:, 1] = np.ones((2, 2))
    with pytest.raises(IndexError, match=r"^setitem: .*\(tensor of shape \(3, 4\)\)"):
        x[5] = 1.0
    x[0] = Tensor([1.0, 2.0, 3.0, 4.0])  # a matching shape, and broadcasting, still work
    x[1:] = 7.0
    assert x.tolist()[0] == [1.0, 2.0, 3.0, 4.0]
    assert x.tolist()[2] == [7.0] * 4


# ---- in-place methods -------------------------------------------------------------------------
def test_in_place_methods_write_and_return_self():
    x = Tensor([1.0, 2.0, 3.0])
    assert x.add_(Tensor([1.0, 1.0, 1.0])) is x
    assert x.tolist() == [2.0, 3.0, 4.0]
    assert x.add_(1.0, alpha=2).tolist() == [4.0, 5.0, 6.0]
    assert x.sub_(Tensor([1.0, 1.0, 1.0]), alpha=3).tolist() == [1.0, 2.0, 3.0]
    assert x.mul_(2.0).tolist() == [2.0, 4.0, 6.0]
    assert x.div_(2.0).tolist() == [1.0, 2.0, 3.0]
    assert x.fill_(5.0).tolist() == [5.0] * 3
    assert x.fill_(Tensor(6.0)).tolist() == [6.0] * 3
    assert x.zero_().tolist() == [0.0] * 3
    assert x.copy_(Tensor(np.array([1.5, 2.5, 3.5]))).tolist() == [1.5, 2.5, 3.5]
    assert x.copy_(Tensor([9.0])).tolist() == [9.0] * 3  # broadcasts, as torch's copy_
    i = Tensor([0, 0])
    assert i.copy_(Tensor([1.7, 2.2])).tolist() == [1, 2]  # converts the dtype, as torch
    with pytest.raises(ValueError, match=r"^copy_: cannot broadcast shape \(2,\) into .*\(3,\)"):
        x.copy_(Tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"^fill_: value must be a single number"):
        x.fill_(Tensor([1.0, 2.0]))


@pytest.mark.parametrize(
    "write",
    [
        lambda t: t.add_(1.0),
        lambda t: t.sub_(1.0),
        lambda t: t.mul_(2.0),
        lambda t: t.div_(2.0),
        lambda t: t.zero_(),
        lambda t: t.fill_(1.0),
        lambda t: t.copy_(Tensor([1.0, 2.0])),
        lambda t: t.__setitem__(0, 1.0),
    ],
)
def test_in_place_methods_refuse_a_leaf_that_requires_grad_and_read_only_views(write):
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"requires grad"):
        write(w)
    assert w.tolist() == [1.0, 2.0]
    previous = graph.set_grad_enabled(False)
    try:
        write(w)  # allowed with grad mode off, as a parameter update
    finally:
        graph.set_grad_enabled(previous)
    assert w._version == 1
    expanded = Tensor([1.0]).expand(2)
    with pytest.raises(ValueError, match=r"read-only view"):
        write(expanded)


# ---- version counters -------------------------------------------------------------------------
def test_every_in_place_write_bumps_the_version():
    x = Tensor([1.0, 2.0, 3.0])
    assert x._version == 0
    writes = [
        lambda: x.__iadd__(1.0),
        lambda: x.__isub__(1.0),
        lambda: x.__imul__(2.0),
        lambda: x.__itruediv__(2.0),
        lambda: x.__setitem__(0, 5.0),
        lambda: x.add_(1.0),
        lambda: x.sub_(1.0),
        lambda: x.mul_(1.0),
        lambda: x.div_(1.0),
        lambda: x.zero_(),
        lambda: x.fill_(1.0),
        lambda: x.copy_(Tensor([1.0, 2.0, 3.0])),
    ]
    for n, write in enumerate(writes, start=1):
        write()
        assert x._version == n
    # Out-of-place ops and failed writes do not count.
    _ = x + 1, x * 2, x.sum()
    with pytest.raises(ValueError):
        x.copy_(Tensor([1.0, 2.0]))
    assert x._version == len(writes)


def test_views_and_detach_share_the_version_counter_whatever_the_grad_mode():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    views = [x[0], x[:, 1:], x.T, x.reshape(3, 2), x.view(6), x.detach(), x.unsqueeze(0), Tensor(x)]
    views.append(views[0][1:])  # a view of a view
    previous = graph.set_grad_enabled(False)
    try:
        views.append(x.permute(1, 0))
    finally:
        graph.set_grad_enabled(previous)
    v = views[1]
    v *= 2.0
    assert x._version == 1
    assert all(w._version == 1 for w in views)
    x[0, 0] = -1.0
    assert all(w._version == 2 for w in views)
    # Copies have their own counter.
    copies = [x + 0, x.T.reshape(6), x[[0, 1]], x.to(tt.float32), x.clone()]
    x.zero_()
    assert all(c._version == 0 for c in copies)
    assert x._version == 3


def test_bump_version_is_the_hook_for_code_that_writes_data():
    x = Tensor([1.0, 2.0])
    v = x[0:1]
    x.data[:] = 0.0
    graph.bump_version(x)
    assert x._version == v._version == 1 == graph.version_of(v)


# ---- device= on the factories, and to()'s string forms ------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda d: tt.tensor([1.0], device=d),
        lambda d: tt.zeros(2, device=d),
        lambda d: tt.ones(2, device=d),
        lambda d: tt.full((2,), 3.0, device=d),
        lambda d: tt.zeros_like(tt.ones(2), device=d),
        lambda d: tt.ones_like(tt.ones(2), device=d),
        lambda d: tt.arange(3, device=d),
        lambda d: tt.randn(2, device=d),
        lambda d: tt.rand(2, device=d),
        lambda d: tt.randint(0, 5, (2,), device=d),
        lambda d: tt.randperm(3, device=d),
    ],
)
def test_factories_take_the_cpu_device_and_refuse_others(make):
    assert make("cpu").device == "cpu"
    assert make(None).device == "cpu"
    with pytest.raises(RuntimeError, match="CPU only; got device 'cuda:0'"):
        make("cuda:0")


def test_to_reads_a_dtype_name_as_a_dtype_and_a_device_name_as_a_device():
    x = tt.tensor([1.5])
    assert x.to("float64").dtype == tt.float64
    assert x.to("cpu") is x
    with pytest.raises(RuntimeError, match="got device 'mps'"):
        x.to("mps")
