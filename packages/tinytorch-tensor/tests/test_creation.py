"""Creation functions and seeded generators."""

import json

import numpy as np
import pytest

import tinytorch.tensor as tt
from tinytorch.tensor import Tensor


@pytest.mark.parametrize("make", [tt.zeros, tt.ones])
def test_zeros_ones(make):
    fill = 0.0 if make is tt.zeros else 1.0
    for args in [(2, 3), ((2, 3),), ([2, 3],)]:
        t = make(*args)
        assert t.shape == (2, 3)
        assert t.dtype == np.float32
        assert (t.data == fill).all()
    assert make(4, dtype=tt.int64).dtype == np.int64
    assert make(2, requires_grad=True).requires_grad
    assert make().shape == ()


def test_full():
    t = tt.full((2, 3), 7.5)
    assert t.shape == (2, 3)
    assert t.dtype == np.float32
    assert (t.data == 7.5).all()
    assert tt.full(4, 1).shape == (4,)
    assert tt.full(2, 3, dtype=tt.int64).tolist() == [3, 3]
    assert tt.full(2, 0.0, requires_grad=True).requires_grad


def test_like_functions_keep_shape_and_dtype():
    src = Tensor(np.ones((2, 3), dtype=np.float64))
    for fn, fill in [(tt.zeros_like, 0.0), (tt.ones_like, 1.0)]:
        t = fn(src)
        assert (t.shape, t.dtype) == ((2, 3), np.float64)
        assert (t.data == fill).all()
        assert fn(src, dtype=tt.float32).dtype == np.float32
        assert not np.shares_memory(t.data, src.data)


@pytest.mark.parametrize(
    ("args", "dtype"),
    [((5,), np.int64), ((2, 7), np.int64), ((1, 10, 3), np.int64), ((0.0, 1.0, 0.25), np.float32)],
)
def test_arange(args, dtype):
    t = tt.arange(*args)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.data, np.arange(*args).astype(dtype))


def test_arange_with_dtype():
    assert tt.arange(3, dtype=tt.float64).tolist() == [0.0, 1.0, 2.0]
    assert tt.arange(3, dtype=tt.float64).dtype == np.float64
    assert tt.arange(2.5).tolist() == [0.0, 1.0, 2.0]


def test_from_numpy_shares_memory_and_keeps_dtype():
    a = np.zeros(3, dtype=np.float64)
    t = tt.from_numpy(a)
    assert t.dtype == np.float64
    a[0] = 1.0
    assert t.tolist() == [1.0, 0.0, 0.0]
    with pytest.raises(TypeError, match=r"^from_numpy: expected a numpy.ndarray, got list"):
        tt.from_numpy([1.0])


def test_tensor_copies_like_torch_tensor():
    a = np.zeros(3, dtype=np.float32)
    t = tt.tensor(a)
    t += 1.0
    assert a.tolist() == [0.0, 0.0, 0.0]
    src = Tensor([1.0, 2.0])
    u = tt.tensor(src)
    assert not np.shares_memory(u.data, src.data)
    assert u.dtype == np.float32


def test_tensor_dtype_rules_and_flags():
    assert tt.tensor([1.0, 2.0]).dtype == np.float32
    assert tt.tensor([1, 2]).dtype == np.int64
    assert tt.tensor([1, 2], dtype=tt.float64).dtype == np.float64
    assert tt.tensor(np.zeros(2, dtype=np.float64)).dtype == np.float64
    assert tt.tensor([1.0], requires_grad=True).requires_grad
    with pytest.raises(TypeError, match=r"floating"):
        tt.tensor([1], requires_grad=True)


# ---- random --------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [tt.randn, tt.rand])
def test_random_shapes_and_dtypes(fn):
    g = tt.Generator(0)
    assert fn(2, 3, generator=g).shape == (2, 3)
    assert fn((2, 3), generator=g).shape == (2, 3)
    assert fn(4, generator=g).dtype == np.float32
    assert fn(4, generator=g, dtype=tt.float64).dtype == np.float64
    assert fn(4, generator=g, requires_grad=True).requires_grad


@pytest.mark.parametrize(
    "draw",
    [
        lambda g: tt.randn(5, generator=g),
        lambda g: tt.rand(5, generator=g),
        lambda g: tt.randint(0, 100, (5,), generator=g),
        lambda g: tt.randperm(10, generator=g),
    ],
)
def test_same_seed_same_numbers(draw):
    a, b, c = draw(tt.Generator(42)), draw(tt.Generator(42)), draw(tt.Generator(43))
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(a.data, c.data)


def test_manual_seed_reseeds_a_generator():
    g = tt.Generator(0)
    first = tt.randn(4, generator=g).tolist()
    assert g.manual_seed(0) is g
    assert tt.randn(4, generator=g).tolist() == first


def test_module_manual_seed_drives_the_default_generator():
    assert tt.manual_seed(7) is tt.default_generator
    a = tt.randn(3).tolist()
    tt.manual_seed(7)
    assert tt.randn(3).tolist() == a
    assert tt.randn(3, generator=tt.Generator(7)).tolist() == a


def test_generator_state_round_trips_through_json():
    g = tt.Generator(3)
    tt.rand(10, generator=g)
    state = json.loads(json.dumps(g.get_state()))
    expected = tt.randn(5, generator=g).tolist()
    other = tt.Generator(99)
    other.set_state(state)
    assert tt.randn(5, generator=other).tolist() == expected
    g.set_state(state)
    assert tt.randn(5, generator=g).tolist() == expected


def test_distributions():
    g = tt.Generator(0)
    n = tt.randn(20_000, generator=g).data
    assert abs(n.mean()) < 0.03
    assert abs(n.std() - 1.0) < 0.03
    u = tt.rand(20_000, generator=g).data
    assert u.min() >= 0.0
    assert u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01


def test_randint_and_randperm():
    g = tt.Generator(0)
    r = tt.randint(-3, 3, (1000,), generator=g)
    assert r.dtype == np.int64
    assert set(r.tolist()) == set(range(-3, 3))
    p = tt.randperm(50, generator=g)
    assert p.dtype == np.int64
    assert sorted(p.tolist()) == list(range(50))
    assert p.tolist() != list(range(50))
