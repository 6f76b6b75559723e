"""The ops PyTorch code reaches for: masked_fill, split, chunk, gather, topk, std, t, clone, ...

Forwards against NumPy expressions, PyTorch's conventions (uneven splits, tie-free topk, index
rules of gather) against PyTorch itself where it is importable, and the error each bad input
raises. Gradients are checked in tinytorch-autograd (tests/test_rules_api_ops.py).
"""

import math

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.tensor import Tensor

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.standard_normal(shape)


# ---- masked_fill --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "mask_shape"), [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 5)), ((), ())]
)
def test_masked_fill_matches_numpy_where(shape, mask_shape):
    x, mask = normal(*shape), rng.random(mask_shape) > 0.5
    out = Tensor(x).masked_fill(Tensor(mask), -7.5)
    np.testing.assert_array_equal(out.data, np.where(mask, -7.5, x))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(tt.masked_fill(Tensor(x), Tensor(mask), -7.5).data, out.data)


def test_masked_fill_keeps_the_tensor_dtype():
    x = Tensor([1.0, 2.0], dtype=tt.float32)
    assert x.masked_fill(Tensor([True, False]), 3).dtype == np.float32
    assert Tensor([1, 2]).masked_fill(Tensor([True, False]), 1.7).tolist() == [1, 2]
    assert x.masked_fill(Tensor([True, False]), Tensor(5.0)).tolist() == [5.0, 2.0]
    # A Python float is not rounded through float32 on its way into a float64 tensor.
    assert Tensor([1.0], dtype=tt.float64).masked_fill(Tensor([True]), 0.1).item() == 0.1
    attention = Tensor(np.zeros((2, 2), dtype=np.float32)).masked_fill(
        Tensor(np.triu(np.ones((2, 2), dtype=bool), 1)), float("-inf")
    )
    assert attention.tolist() == [[0.0, -math.inf], [0.0, 0.0]]


def test_masked_fill_errors():
    x = Tensor(np.zeros((2, 3)))
    with pytest.raises(TypeError, match=r"^masked_fill: mask must be a bool tensor, got float64"):
        x.masked_fill(Tensor(np.ones((2, 3))), 1.0)
    with pytest.raises(ValueError, match=r"^masked_fill: mask of shape \(2,\) .* \(2, 3\)"):
        x.masked_fill(Tensor([True, False]), 1.0)
    with pytest.raises(ValueError, match=r"^masked_fill: value must be .* got shape \(2,\)"):
        x.masked_fill(Tensor([True, False, True]), Tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match=r"^masked_fill: value must be .* got list of shape \(2,\)"):
        x.masked_fill(Tensor([True, False, True]), [1.0, 2.0])
    with pytest.raises(TypeError, match=r"^masked_fill: value must be .* got str"):
        x.masked_fill(Tensor([True, False, True]), "a")
    with pytest.raises(ValueError, match=r"^masked_fill: value -inf cannot be stored .* int64"):
        Tensor([1, 2]).masked_fill(Tensor([True, False]), float("-inf"))
    with pytest.raises(ValueError, match=r"^masked_fill: value 1e\+30 cannot be stored .* int32"):
        Tensor([1, 2], dtype=tt.int32).masked_fill(Tensor([True, False]), 1e30)


# ---- narrow, split, chunk ---------------------------------------------------------------------
def test_narrow_is_a_view_of_the_slice():
    x = Tensor(np.arange(12).reshape(3, 4))
    piece = x.narrow(1, -3, 2)
    np.testing.assert_array_equal(piece.data, x.data[:, 1:3])
    assert np.shares_memory(piece.data, x.data)
    assert tt.narrow(x, 0, 2, 1).tolist() == [[8, 9, 10, 11]]
    with pytest.raises(IndexError, match=r"^narrow: start 3 and length 2 .* size 4"):
        x.narrow(1, 3, 2)


@pytest.mark.parametrize(
    ("n", "split", "sizes"),
    [
        (5, 2, [2, 2, 1]),
        (6, 3, [3, 3]),
        (2, 5, [2]),
        (0, 2, [0]),
        (0, 0, [0]),
        (5, [1, 0, 4], [1, 0, 4]),
    ],
)
def test_split_sizes_follow_torch(n, split, sizes):
    x = Tensor(np.arange(2 * n).reshape(2, n))
    pieces = x.split(split, dim=1)
    assert isinstance(pieces, tuple)
    assert [p.shape[1] for p in pieces] == sizes
    np.testing.assert_array_equal(np.concatenate([p.data for p in pieces], axis=1), x.data)
    assert all(np.shares_memory(p.data, x.data) for p in pieces if p.data.size)
    assert [p.shape for p in tt.split(x, split, -1)] == [p.shape for p in pieces]


@pytest.mark.parametrize(
    ("n", "chunks", "sizes"),
    [(5, 4, [2, 2, 1]), (6, 4, [2, 2, 2]), (6, 3, [2, 2, 2]), (2, 5, [1, 1]), (0, 3, [0, 0, 0])],
)
def test_chunk_sizes_follow_torch(n, chunks, sizes):
    x = Tensor(np.arange(n))
    assert [p.shape[0] for p in x.chunk(chunks)] == sizes
    assert [p.shape[0] for p in tt.chunk(x, chunks, 0)] == sizes


def test_split_and_chunk_errors():
    x = Tensor(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"^split: split size must be positive, got 0"):
        x.split(0, dim=1)
    with pytest.raises(ValueError, match=r"^split: sections \(2, 2\) must .* sum to the size 5"):
        x.split([2, 2], dim=1)
    with pytest.raises(IndexError, match=r"^split: dimension 2 is out of range"):
        x.split(1, dim=2)
    with pytest.raises(ValueError, match=r"^split: needs a tensor of at least 1 dimension"):
        Tensor(1.0).split(1)
    with pytest.raises(ValueError, match=r"^chunk: chunks must be at least 1, got 0"):
        x.chunk(0)


def test_split_and_chunk_against_torch():
    torch = pytest.importorskip("torch")
    x = normal(3, 7)
    for args in [(2,), (3, 1), ([2, 5], 1), (7, 1), (1, 0)]:
        ours = [p.data for p in Tensor(x).split(*args)]
        theirs = [p.numpy() for p in torch.from_numpy(x).split(*args)]
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b)
    for chunks, dim in [(2, 0), (4, 1), (5, 1), (3, -1), (10, 0)]:
        ours = [p.data for p in Tensor(x).chunk(chunks, dim)]
        theirs = [p.numpy() for p in torch.from_numpy(x).chunk(chunks, dim)]
        assert [a.shape for a in ours] == [b.shape for b in theirs]


# ---- gather -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "dim", "index_shape"),
    [((3, 4), 1, (3, 2)), ((3, 4), 0, (5, 4)), ((3, 4), 1, (2, 6)), ((2, 3, 4), -1, (2, 1, 3))],
)
def test_gather_matches_take_along_axis(shape, dim, index_shape):
    x = normal(*shape)
    d = dim % len(shape)
    index = rng.integers(0, shape[d], index_shape)
    out = Tensor(x).gather(dim, Tensor(index))
    cut = x[tuple(slice(None) if a == d else slice(0, n) for a, n in enumerate(index_shape))]
    np.testing.assert_array_equal(out.data, np.take_along_axis(cut, index, axis=d))
    assert out.shape == index_shape
    np.testing.assert_array_equal(tt.gather(Tensor(x), dim, Tensor(index)).data, out.data)


def test_gather_of_a_0d_tensor():
    assert Tensor(3.0).gather(0, Tensor(0)).tolist() == 3.0


def test_gather_errors():
    x = Tensor(np.zeros((3, 4)))
    with pytest.raises(TypeError, match=r"^gather: index must be an int64 tensor, got float64"):
        x.gather(1, Tensor(np.zeros((3, 1))))
    with pytest.raises(ValueError, match=r"^gather: index of shape \(2,\) needs as many dim"):
        x.gather(1, Tensor([0, 1]))
    with pytest.raises(ValueError, match=r"^gather: index of shape \(4, 1\) is larger .* dim"):
        x.gather(1, Tensor(np.zeros((4, 1), dtype=np.int64)))
    with pytest.raises(IndexError, match=r"^gather: index 4 is out of bounds for dimension 1"):
        x.gather(1, Tensor([[0, 4]]))
    with pytest.raises(IndexError, match=r"^gather: index -1 is out of bounds"):
        x.gather(1, Tensor([[0, -1]]))


def test_gather_against_torch():
    torch = pytest.importorskip("torch")
    x = normal(4, 5, 3)
    index = rng.integers(0, 5, (3, 7, 2))
    ours = Tensor(x).gather(1, Tensor(index)).data
    theirs = torch.from_numpy(x).gather(1, torch.from_numpy(index)).numpy()
    np.testing.assert_array_equal(ours, theirs)


# ---- topk -------------------------------------------------------------------------------------
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize(
    ("shape", "dim", "k"), [((6,), 0, 3), ((3, 5), 1, 5), ((4, 3), 0, 1), ((2, 3, 4), -1, 0)]
)
def test_topk_matches_a_full_sort(shape, dim, k, largest):
    x = rng.permutation(math.prod(shape)).reshape(shape).astype(np.float64)  # no ties
    values, indices = Tensor(x).topk(k, dim=dim, largest=largest)
    order = np.argsort(-x if largest else x, axis=dim)
    expected = np.take(order, np.arange(k), axis=dim)
    np.testing.assert_array_equal(indices.data, expected)
    np.testing.assert_array_equal(values.data, np.take_along_axis(x, expected, axis=dim))
    assert indices.dtype == np.int64
    result = tt.topk(Tensor(x), k, dim, largest)
    assert result.values.tolist() == values.tolist()
    assert result.indices.tolist() == indices.tolist()


def test_topk_unsorted_returns_the_same_set():
    x = rng.permutation(50).astype(np.float64)
    values, indices = Tensor(x).topk(5, sorted=False)
    assert sorted(values.tolist()) == [45.0, 46.0, 47.0, 48.0, 49.0]
    np.testing.assert_array_equal(x[indices.data], values.data)


def test_topk_returns_a_named_tuple_and_handles_nan_and_0d():
    result = Tensor([1.0, math.nan, 3.0]).topk(2)
    assert isinstance(result, tt.ValuesIndices)
    assert result.indices.tolist() == [1, 2]  # NaN is the largest, as in PyTorch
    scalar = Tensor(5.0).topk(1)
    assert scalar.values.shape == ()
    assert scalar.indices.tolist() == 0


def test_topk_errors():
    with pytest.raises(ValueError, match=r"^topk: k=4 is out of range for dimension 0 of size 3"):
        Tensor([1.0, 2.0, 3.0]).topk(4)
    with pytest.raises(IndexError, match=r"^topk: dimension 2 is out of range"):
        Tensor(np.zeros((2, 2))).topk(1, dim=2)


def test_topk_against_torch():
    torch = pytest.importorskip("torch")
    x = rng.permutation(60).reshape(3, 4, 5).astype(np.float64)
    for k, dim, largest in [(2, -1, True), (3, 1, False), (3, 0, True)]:
        ours = Tensor(x).topk(k, dim, largest)
        theirs = torch.from_numpy(x).topk(k, dim, largest)
        np.testing.assert_array_equal(ours.values.data, theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.data, theirs.indices.numpy())


# ---- std ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dim", "keepdim"), [(None, False), (0, False), (1, True), ((0, 2), False)]
)
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_std_matches_numpy(dim, keepdim, correction):
    x = normal(3, 4, 5)
    out = Tensor(x).std(dim, keepdim=keepdim, correction=correction)
    np.testing.assert_allclose(out.data, np.std(x, axis=dim, keepdims=keepdim, ddof=correction))
    np.testing.assert_array_equal(
        tt.std(Tensor(x), dim, keepdim=keepdim, correction=correction).data, out.data
    )


def test_std_unbiased_spelling_and_dtype():
    x = Tensor(normal(4, 3))
    np.testing.assert_allclose(x.std(0, False).data, np.std(x.data, axis=0))
    np.testing.assert_allclose(x.std(unbiased=True).data, np.std(x.data, ddof=1))
    assert Tensor(normal(3), dtype=tt.float32).std().dtype == np.float32
    with pytest.raises(ValueError, match=r"^std: give unbiased or correction, not both"):
        x.std(unbiased=False, correction=0)
    with pytest.raises(TypeError, match=r"^std: needs a floating tensor, got int64"):
        Tensor([1, 2]).std()


def test_std_is_nan_without_warning_where_torch_is():
    assert math.isnan(Tensor([2.0]).std().item())  # one element, correction 1
    assert math.isnan(Tensor(np.zeros(0)).std().item())
    assert Tensor(np.zeros((2, 0))).std(1).tolist() == pytest.approx([math.nan] * 2, nan_ok=True)


def test_std_against_torch():
    torch = pytest.importorskip("torch")
    x = normal(3, 4)
    for kwargs in [{}, {"dim": 1}, {"dim": 0, "keepdim": True}, {"correction": 0}]:
        np.testing.assert_allclose(
            Tensor(x).std(**kwargs).data, torch.from_numpy(x).std(**kwargs).numpy()
        )
    np.testing.assert_allclose(
        Tensor(x).std(1, False).data, torch.from_numpy(x).std(1, False).numpy()
    )


# ---- t, contiguous, clone, tril, triu ----------------------------------------------------------
def test_t_transposes_matrices_only():
    x = normal(2, 3)
    np.testing.assert_array_equal(Tensor(x).t().data, x.T)
    np.testing.assert_array_equal(tt.t(Tensor(x)).data, x.T)
    assert Tensor([1.0, 2.0]).t().shape == (2,)
    assert Tensor(1.0).t().shape == ()
    with pytest.raises(
        ValueError, match=r"^t: expects a tensor of at most 2 dimensions, got shape \(2, 3, 4\)"
    ):
        Tensor(np.zeros((2, 3, 4))).t()


def test_contiguous_copies_only_when_needed():
    x = Tensor(normal(3, 4))
    assert x.contiguous() is x
    strided = x.t()
    assert not strided.is_contiguous()
    packed = strided.contiguous()
    assert packed.is_contiguous()
    assert packed.data.flags.c_contiguous
    np.testing.assert_array_equal(packed.data, x.data.T)
    assert not x.expand(2, 3, 4).is_contiguous()


def test_clone_is_an_independent_copy():
    x = Tensor(normal(2, 2))
    y = x.clone()
    assert not np.shares_memory(x.data, y.data)
    np.testing.assert_array_equal(x.data, y.data)
    np.testing.assert_array_equal(tt.clone(x).data, x.data)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4), (4, 2), (2, 3, 3), (0, 2)])
@pytest.mark.parametrize("diagonal", [-1, 0, 2])
def test_tril_triu_match_numpy(shape, diagonal):
    x = normal(*shape)
    np.testing.assert_array_equal(Tensor(x).tril(diagonal).data, np.tril(x, diagonal))
    np.testing.assert_array_equal(Tensor(x).triu(diagonal).data, np.triu(x, diagonal))
    np.testing.assert_array_equal(tt.tril(Tensor(x), diagonal).data, np.tril(x, diagonal))
    np.testing.assert_array_equal(tt.triu(Tensor(x), diagonal=diagonal).data, np.triu(x, diagonal))


def test_tril_triu_need_two_dimensions():
    with pytest.raises(ValueError, match=r"^tril: needs at least 2 dimensions, got shape \(3,\)"):
        Tensor([1.0, 2.0, 3.0]).tril()
    with pytest.raises(ValueError, match=r"^triu: needs at least 2 dimensions, got shape \(\)"):
        Tensor(1.0).triu()


def test_tril_triu_against_torch():
    torch = pytest.importorskip("torch")
    x = normal(2, 4, 5)
    for k in (-2, 0, 1):
        np.testing.assert_array_equal(Tensor(x).tril(k).data, torch.from_numpy(x).tril(k).numpy())
        np.testing.assert_array_equal(Tensor(x).triu(k).data, torch.from_numpy(x).triu(k).numpy())


# ---- functions, comparisons, dtype names ----------------------------------------------------
def test_unary_functions_are_the_methods():
    x = Tensor(rng.uniform(0.5, 2.0, (2, 3)))
    for name in ("exp", "log", "sqrt", "abs"):
        np.testing.assert_array_equal(getattr(tt, name)(x).data, getattr(x, name)().data)
    np.testing.assert_array_equal(tt.clamp(x, 0.8, 1.2).data, np.clip(x.data, 0.8, 1.2))


def test_allclose_equal_is_tensor():
    a = Tensor([1.0, 2.0])
    assert tt.allclose(a, Tensor([1.0, 2.0 + 1e-6]), rtol=1e-5)
    assert not tt.allclose(a, Tensor([1.0, 2.1]))
    assert tt.allclose(a, Tensor([[1.0, 2.0]]))  # broadcasts, as torch.allclose
    assert not tt.allclose(Tensor([math.nan]), Tensor([math.nan]))
    assert tt.allclose(Tensor([math.nan]), Tensor([math.nan]), equal_nan=True)
    assert a.allclose(Tensor([1.1, 2.0]), atol=0.2)
    with pytest.raises(ValueError, match=r"^allclose: shapes \(2,\) and \(3,\)"):
        tt.allclose(a, Tensor([1.0, 2.0, 3.0]))
    assert tt.equal(a, Tensor([1.0, 2.0]))
    assert not tt.equal(a, Tensor([1.0, 3.0]))
    assert not tt.equal(a, Tensor([[1.0, 2.0]]))  # shapes differ
    with pytest.raises(TypeError, match=r"^equal: expected a Tensor, got list"):
        a.equal([1.0, 2.0])
    assert tt.is_tensor(a)
    assert not tt.is_tensor(a.data)


def test_torch_dtype_names():
    assert tt.long == tt.int64 == np.int64
    assert tt.int == np.int32  # as torch.int
    assert tt.float == np.float32
    assert tt.double == np.float64
    assert tt.bool == np.bool_
    assert tt.zeros(2, dtype=tt.long).dtype == np.int64
    assert Tensor([1, 2], dtype=tt.float).dtype == np.float32


# ---- randint ----------------------------------------------------------------------------------
def test_randint_call_forms():
    g = tt.Generator
    a = tt.randint(0, 10, (50,), generator=g(1))
    np.testing.assert_array_equal(tt.randint(10, (50,), generator=g(1)).data, a.data)
    np.testing.assert_array_equal(tt.randint(high=10, size=(50,), generator=g(1)).data, a.data)
    np.testing.assert_array_equal(tt.randint(10, size=(50,), generator=g(1)).data, a.data)
    b = tt.randint(5, 8, size=(4, 3), generator=g(0))
    assert b.shape == (4, 3)
    assert b.dtype == np.int64
    assert b.data.min() >= 5
    assert b.data.max() < 8
    assert tt.randint(3, (2,), dtype=tt.int32).dtype == np.int32
    assert tt.randint(0, 3, 4).shape == (4,)  # a bare int size


def test_randint_errors():
    with pytest.raises(TypeError, match=r"^randint: needs a size"):
        tt.randint(10)
    with pytest.raises(ValueError, match=r"^randint: needs low < high, got the range \[5, 5\)"):
        tt.randint(5, 5, (2,))


# ---- multinomial ----------------------------------------------------------------------------
def test_multinomial_with_replacement_frequencies():
    weights = np.array([[1.0, 0.0, 3.0, 6.0], [0.0, 0.0, 5.0, 5.0]])
    n = 20_000
    samples = tt.multinomial(Tensor(weights), n, replacement=True, generator=tt.Generator(0))
    assert samples.shape == (2, n)
    assert samples.dtype == np.int64
    p = weights / weights.sum(axis=1, keepdims=True)
    counts = np.stack([np.bincount(row, minlength=4) for row in samples.data])
    sigma = np.sqrt(n * p * (1 - p))
    assert np.all(np.abs(counts - n * p) <= 5 * sigma + 1e-9)  # zero weights: never drawn
    assert counts[0, 1] == counts[1, 0] == counts[1, 1] == 0


def test_multinomial_without_replacement():
    weights = np.array([[1.0, 2.0, 0.0, 7.0], [4.0, 4.0, 1.0, 1.0]])
    trials = 4000
    # One call draws every trial: the two rows tiled, so row 2t + r is trial t of row r.
    draws = tt.multinomial(
        Tensor(np.tile(weights, (trials, 1))), 3, generator=tt.Generator(0)
    ).data.reshape(trials, 2, 3)
    for row in range(2):
        assert all(len(set(d)) == 3 for d in draws[:, row])  # distinct within a draw
    assert not np.any(draws[:, 0] == 2)  # zero weight never chosen
    # The first pick is drawn in proportion to the weights.
    p = weights / weights.sum(axis=1, keepdims=True)
    counts = np.stack([np.bincount(draws[:, r, 0], minlength=4) for r in range(2)])
    sigma = np.sqrt(trials * p * (1 - p))
    assert np.all(np.abs(counts - trials * p) <= 5 * sigma + 1e-9)
    # All categories without replacement: a permutation.
    assert sorted(tt.multinomial(Tensor([1.0, 1.0, 1.0]), 3).tolist()) == [0, 1, 2]


def test_multinomial_seeded_and_a_method():
    w = Tensor(rng.uniform(0.1, 1.0, (3, 10)))
    for replacement in (False, True):
        a = tt.multinomial(w, 4, replacement, generator=tt.Generator(7))
        b = w.multinomial(4, replacement, generator=tt.Generator(7))
        c = tt.multinomial(w, 4, replacement, generator=tt.Generator(8))
        np.testing.assert_array_equal(a.data, b.data)
        assert not np.array_equal(a.data, c.data)
    assert tt.multinomial(Tensor([0.2, 0.8]), 5, True).shape == (5,)


def test_multinomial_errors():
    with pytest.raises(TypeError, match=r"^multinomial: needs floating weights, got int64"):
        tt.multinomial(Tensor([1, 2]), 1)
    with pytest.raises(ValueError, match=r"^multinomial: needs a 1-D or 2-D tensor .* \(1, 1, 2\)"):
        tt.multinomial(Tensor(np.ones((1, 1, 2))), 1)
    with pytest.raises(ValueError, match=r"^multinomial: weights .* finite and non-negative"):
        tt.multinomial(Tensor([1.0, -1.0]), 1)
    with pytest.raises(ValueError, match=r"^multinomial: weights .* finite and non-negative"):
        tt.multinomial(Tensor([1.0, math.inf]), 1)
    with pytest.raises(ValueError, match=r"^multinomial: every row .* positive sum"):
        tt.multinomial(Tensor([[1.0, 0.0], [0.0, 0.0]]), 1)
    with pytest.raises(ValueError, match=r"^multinomial: cannot draw 2 distinct samples .* only 1"):
        tt.multinomial(Tensor([0.0, 1.0, 0.0]), 2)
    with pytest.raises(ValueError, match=r"^multinomial: num_samples must be positive, got 0"):
        tt.multinomial(Tensor([1.0]), 0)
