"""erf / erfc / normal_cdf / normal_pdf against the math module."""

import math

import numpy as np
import pytest

from tinytorch.activations.special import erf, erfc, normal_cdf, normal_pdf

# Dense around the interval boundaries of the approximation (0.46875 and 4) and far beyond.
GRID = np.concatenate(
    [
        np.linspace(-30.0, 30.0, 60_001),
        np.linspace(0.46, 0.48, 2001),
        np.linspace(3.99, 4.01, 2001),
        [0.0, 1e-300, 5e-324, 1e-8, 26.5, 26.6, 27.0],
    ]
)
GRID = np.concatenate([GRID, -GRID])


def test_erf_matches_math_erf():
    want = np.array([math.erf(v) for v in GRID])
    got = erf(GRID)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=3e-16)


def test_erfc_matches_math_erfc_relatively():
    want = np.array([math.erfc(v) for v in GRID])
    got = erfc(GRID)
    normal = want > 1e-300
    np.testing.assert_allclose(got[normal], want[normal], rtol=1e-13)
    # Past 26.55 erfc is subnormal: taken as 0, an absolute error below 1e-307.
    np.testing.assert_allclose(got[~normal], want[~normal], rtol=0, atol=1e-307)


def test_float32_stays_float32_and_is_accurate():
    x = GRID[np.abs(GRID) < 10].astype(np.float16).astype(np.float32)
    got = erf(x)
    assert got.dtype == np.float32
    want = np.array([math.erf(float(v)) for v in x])
    # Three float32 ulps at 1: the cheaper float32 formula (PyTorch's float32 erf: about 3e-8).
    np.testing.assert_allclose(got, want, rtol=0, atol=5e-7)
    np.testing.assert_allclose(erf(x.astype(np.float16)), want, rtol=0, atol=5e-7)
    c = erfc(x)
    assert c.dtype == np.float32
    cwant = np.array([math.erfc(float(v)) for v in x])
    tiny = cwant < np.finfo(np.float32).tiny * 1e3
    np.testing.assert_allclose(c[~tiny], cwant[~tiny], rtol=2e-5)
    assert normal_cdf(x).dtype == np.float32
    assert normal_pdf(x).dtype == np.float32


def test_special_values():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0])
    e = erf(x)
    assert e[:2].tolist() == [1.0, -1.0]
    assert np.isnan(e[2])
    assert math.copysign(1.0, e[4]) == -1.0  # erf is odd, signed zeros included
    c = erfc(x)
    assert c[:2].tolist() == [0.0, 2.0]
    assert np.isnan(c[2])
    assert c[3] == 1.0


def test_integers_and_scalars_become_float64():
    assert erf([0, 1]).dtype == np.float64
    assert erf(0.5).shape == ()
    np.testing.assert_allclose(erf(0.5), math.erf(0.5), rtol=1e-15)


@pytest.mark.parametrize("v", [-40.0, -20.0, -8.0, -1.0, 0.0, 0.5, 3.0, 9.0])
def test_normal_cdf_and_pdf(v):
    cdf = 0.5 * math.erfc(-v / math.sqrt(2.0))
    pdf = math.exp(-v * v / 2.0) / math.sqrt(2.0 * math.pi)
    np.testing.assert_allclose(normal_cdf(np.array([v])), [cdf], rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(normal_pdf(np.array([v])), [pdf], rtol=1e-13, atol=1e-300)


def test_normal_cdf_keeps_the_left_tail():
    # (1 + erf(x / sqrt 2)) / 2 cancels to exactly 0 here; erfc does not.
    assert normal_cdf(np.array([-20.0]))[0] > 0
    np.testing.assert_allclose(normal_cdf(np.array([-20.0])), [2.7536241186062e-89], rtol=1e-12)


def test_normal_pdf_of_huge_inputs_is_zero_without_overflow():
    big = np.finfo(np.float32).max
    assert normal_pdf(np.array([-big, big], dtype=np.float32)).tolist() == [0.0, 0.0]
    assert normal_pdf(np.array([np.inf])).tolist() == [0.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_are_kept(dtype):
    for fn in (erf, erfc, normal_cdf, normal_pdf):
        assert fn(dtype(0.3)).shape == ()
        assert fn(np.ones((2, 3), dtype=dtype).T).shape == (3, 2)
        assert fn(np.ones((2, 0), dtype=dtype)).shape == (2, 0)
        assert fn(np.ones(4, dtype=dtype)).dtype == dtype
