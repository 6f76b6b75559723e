"""Gradient rules of the PyTorch API ops (masked_fill, split, chunk, gather, topk, std, t, clone,
contiguous, tril, triu) against central differences in float64, and against PyTorch.

Shapes include broadcasting (masked_fill's mask), size-1 and empty dimensions; gather's indices
repeat so that summing repeated reads is checked; topk's inputs have no ties (there its
gradient is a choice, not a derivative).
"""

import contextlib
import math

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.autograd import gradcheck
from tinytorch.tensor import Tensor

rng = np.random.default_rng(0)


def leaf(*shape):
    return Tensor(rng.standard_normal(shape), requires_grad=True)


def distinct(*shape):
    """Values at least 0.1 apart: no tie for topk within eps."""
    values = rng.permutation(math.prod(shape)) * 0.1 + rng.uniform(0, 0.01, math.prod(shape))
    return Tensor(values.reshape(shape), requires_grad=True)


@pytest.mark.parametrize(
    ("shape", "mask_shape"),
    [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 5)), ((1,), (2, 3)), ((), ()), ((0, 2), (2,))],
)
def test_masked_fill_gradient(shape, mask_shape):
    mask = Tensor(rng.random(mask_shape) > 0.5)
    value = Tensor(np.float64(0.5), requires_grad=True)
    assert gradcheck(lambda x, v: x.masked_fill(mask, v), [leaf(*shape), value])
    assert gradcheck(lambda x: tt.masked_fill(x, mask, -3.0), [leaf(*shape)])


def test_masked_fill_value_without_grad_takes_none():
    x = leaf(2, 3)
    out = x.masked_fill(Tensor(np.eye(2, 3, dtype=bool)), Tensor(np.float64(1.0)))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, 1 - np.eye(2, 3))


def test_saved_masks_and_indices_are_not_the_callers():
    # Writing into the mask or index after the forward must not change the gradient.
    x = leaf(2, 3)
    mask = Tensor(np.array([True, False, False]))
    index = Tensor(np.array([[0, 0], [2, 1]]))
    out = x.masked_fill(mask, 0.0).gather(1, index)
    values, indices = x.topk(1)
    mask.data[:] = True
    index.data[:] = 1
    indices.data[:] = 0
    (out.sum() + values.sum()).backward()
    expected = np.zeros((2, 3))
    expected[1, 2] += 1
    expected[1, 1] += 1  # row 0 reads column 0 twice, but the mask blocks it
    expected[np.arange(2), np.argmax(x.data, axis=1)] += 1
    np.testing.assert_array_equal(x.grad.data, expected)


@pytest.mark.parametrize(
    ("shape", "split", "dim"),
    [((5,), 2, 0), ((3, 7), [2, 0, 5], 1), ((4, 1, 3), 1, -1), ((2, 3), 3, 0), ((0, 3), 2, 0)],
)
def test_split_gradient(shape, split, dim):
    weights = [rng.standard_normal(p.shape) for p in Tensor(np.zeros(shape)).split(split, dim)]

    def weighted(x):  # every piece in the result, each differently, so each piece's rule counts
        pieces = tt.split(x, split, dim)
        total = Tensor(np.float64(0.0))
        for piece, w in zip(pieces, weights, strict=True):
            total = total + (piece * Tensor(w)).sum()
        return total

    assert gradcheck(weighted, [leaf(*shape)])


@pytest.mark.parametrize(
    ("shape", "chunks", "dim"), [((5, 2), 4, 0), ((2, 6), 3, 1), ((1, 3), 2, 0)]
)
def test_chunk_gradient(shape, chunks, dim):
    assert gradcheck(lambda x: x.chunk(chunks, dim)[-1] * 2.0, [leaf(*shape)])
    assert gradcheck(lambda x: tt.chunk(x, chunks, dim)[0].exp(), [leaf(*shape)])


def test_narrow_gradient():
    assert gradcheck(lambda x: x.narrow(1, -3, 2), [leaf(2, 4)])


@pytest.mark.parametrize(
    ("shape", "dim", "index_shape"),
    [
        ((3, 4), 1, (3, 6)),
        ((3, 4), 0, (5, 2)),
        ((2, 3, 4), -1, (2, 1, 3)),
        ((4,), 0, (9,)),
        ((1, 3), 0, (1, 3)),
    ],
)
def test_gather_gradient_sums_repeated_reads(shape, dim, index_shape):
    d = dim % len(shape)
    index = Tensor(rng.integers(0, shape[d], index_shape))
    assert gradcheck(lambda x: x.gather(dim, index), [leaf(*shape)])
    assert gradcheck(lambda x: tt.gather(x, dim, index), [leaf(*shape)])


def test_gather_gradient_of_0d_and_empty():
    assert gradcheck(
        lambda x: x.gather(0, Tensor(0)) * 3.0, [Tensor(np.float64(2.0), requires_grad=True)]
    )
    empty = Tensor(np.zeros((2, 0), dtype=np.int64))
    assert gradcheck(lambda x: x.gather(1, empty), [leaf(2, 3)])


@pytest.mark.parametrize(
    ("shape", "k", "dim", "largest"),
    [
        ((6,), 3, 0, True),
        ((3, 5), 2, 1, False),
        ((4, 1, 3), 1, 0, True),
        ((2, 3), 3, -1, True),
        ((), 1, 0, True),
        ((2, 3), 0, 1, True),
    ],
)
def test_topk_values_gradient(shape, k, dim, largest):
    assert gradcheck(lambda x: x.topk(k, dim, largest).values, [distinct(*shape)])
    assert gradcheck(lambda x: tt.topk(x, k, dim, largest, sorted=False)[0], [distinct(*shape)])


@pytest.mark.parametrize(
    ("shape", "dim", "keepdim"),
    [
        ((3, 4), None, False),
        ((3, 4), 1, False),
        ((2, 3, 4), (0, 2), True),
        ((1, 5), 0, False),
        ((5, 1), -1, True),
    ],
)
@pytest.mark.parametrize("correction", [0, 1])
def test_std_gradient(shape, dim, keepdim, correction):
    if correction == 1 and dim is not None and all(shape[a] == 1 for a in np.atleast_1d(dim)):
        correction = 0  # one element with correction 1 has std nan and no derivative
    assert gradcheck(lambda x: x.std(dim, keepdim=keepdim, correction=correction), [leaf(*shape)])
    assert gradcheck(lambda x: tt.std(x, dim, correction == 1, keepdim), [leaf(*shape)])


def test_std_gradient_where_it_has_no_derivative_follows_torch():
    # Zero at a constant input (std 0); nan for one element with correction 1 (std nan).
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    x.std(1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros((2, 3)))
    y = leaf(1, 3)
    y.std(0).sum().backward()
    assert np.isnan(y.grad.data).all()
    torch = pytest.importorskip("torch")
    for shape, dim in [((2, 3), 1), ((1, 3), 0)]:
        ours = Tensor(np.ones(shape), requires_grad=True)
        ours.std(dim).sum().backward()
        theirs = torch.ones(shape, dtype=torch.float64, requires_grad=True)
        with (
            pytest.warns(UserWarning, match="degrees of freedom")
            if shape[dim] == 1
            else contextlib.nullcontext()
        ):
            theirs.std(dim).sum().backward()
        np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())


@pytest.mark.parametrize("shape", [(2, 3), (1, 4), (3,), ()])
def test_t_contiguous_clone_gradients(shape):
    assert gradcheck(lambda x: x.t() * 2.0, [leaf(*shape)])
    assert gradcheck(lambda x: tt.t(x).contiguous().clone(), [leaf(*shape)])
    assert gradcheck(lambda x: tt.clone(x) * x, [leaf(*shape)])


def test_contiguous_of_a_broadcast_view_sums_back():
    assert gradcheck(lambda x: x.expand(3, 2).contiguous(), [leaf(1, 2)])


def test_clone_records_a_node_and_keeps_the_leaf():
    x = leaf(2)
    y = x.clone()
    assert y.node.op == "clone"
    assert x.is_leaf
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 1), (2, 3, 3), (0, 2)])
@pytest.mark.parametrize("diagonal", [-1, 0, 2])
def test_tril_triu_gradients(shape, diagonal):
    assert gradcheck(lambda x: x.tril(diagonal), [leaf(*shape)])
    assert gradcheck(lambda x: tt.triu(x, diagonal), [leaf(*shape)])


def test_gradients_match_torch():
    torch = pytest.importorskip("torch")
    x = distinct(3, 5).data
    index = rng.integers(0, 5, (3, 7))
    mask = rng.random((1, 5)) > 0.5
    cases = [
        (
            lambda t: t.masked_fill(Tensor(mask), 2.0),
            lambda t: t.masked_fill(torch.from_numpy(mask), 2.0),
        ),
        (lambda t: t.gather(1, Tensor(index)), lambda t: t.gather(1, torch.from_numpy(index))),
        (lambda t: t.topk(2, 1).values, lambda t: t.topk(2, 1).values),
        (lambda t: t.std(0), lambda t: t.std(0)),
        (lambda t: t.std(correction=0), lambda t: t.std(correction=0)),
        (lambda t: t.split([2, 3], 1)[1], lambda t: t.split([2, 3], 1)[1]),
        (lambda t: t.chunk(2, 0)[0], lambda t: t.chunk(2, 0)[0]),
        (lambda t: t.t().tril(-1) + t.triu(1).t(), lambda t: t.t().tril(-1) + t.triu(1).t()),
        (lambda t: t.clone().t().contiguous(), lambda t: t.clone().t().contiguous()),
    ]
    for ours_fn, torch_fn in cases:
        ours, theirs = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out_ours, out_theirs = ours_fn(ours), torch_fn(theirs)
        np.testing.assert_allclose(out_ours.data, out_theirs.detach().numpy(), rtol=1e-12)
        upstream = rng.standard_normal(out_ours.shape)
        out_ours.backward(upstream)
        out_theirs.backward(torch.from_numpy(upstream))
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12, atol=1e-15)
