"""The error function and the normal distribution, vectorized over NumPy arrays.

The exact GELU is ``x * Phi(x)`` with ``Phi`` the standard normal CDF, which needs ``erf``. NumPy
has none and SciPy is not a dependency, so here is one, in two precisions:

- float64: W. J. Cody's rational Chebyshev approximations ("Rational Chebyshev approximations for
  the error function", Math. Comp. 23, 1969; the coefficients of SPECFUN's CALERF) on three
  intervals of ``|x|``. erf is within 2.3e-16 of ``math.erf``; erfc within a relative 6e-14 of
  ``math.erfc`` down to 1e-300. Gradient checks run here.
- float32: the one-formula Chebyshev fit of Numerical Recipes (Press et al., 2nd ed., section
  6.2, ``erfcc``), ``erfc(z) = t exp(-z^2 + P(t))`` with ``t = 1 / (1 + z/2)``, whose relative
  error is below 1.2e-7 for every z. Evaluated in float32, erf is within 4e-7 of ``math.erf``
  (absolute; 3 float32 steps at 1) and erfc within a relative 2e-5 down to its float32 underflow;
  it takes a third of the NumPy passes of Cody's form and ran 2.5-5x faster on float32
  activations.

Inputs keep their float dtype (float16 computes as float32; integers as float64). These are
NumPy-level helpers: arrays in, arrays out, no Tensor and no graph. The gelu op and its gradient
rule both use them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["erf", "erfc", "normal_cdf", "normal_pdf"]

Array = npt.NDArray[Any]

# Polynomial coefficients, highest power first. On |x| <= 0.46875, erf(x) = x P(x^2) / Q(x^2).
_NEAR_P = (
    1.85777706184603153e-1,
    3.16112374387056560e00,
    1.13864154151050156e02,
    3.77485237685302021e02,
    3.20937758913846947e03,
)
_NEAR_Q = (
    1.0,
    2.36012909523441209e01,
    2.44024637934444173e02,
    1.28261652607737228e03,
    2.84423683343917062e03,
)
# On 0.46875 < x <= 4, erfc(x) = exp(-x^2) P(x) / Q(x).
_MID_P = (
    2.15311535474403846e-8,
    5.64188496988670089e-1,
    8.88314979438837594e00,
    6.61191906371416295e01,
    2.98635138197400131e02,
    8.81952221241769090e02,
    1.71204761263407058e03,
    2.05107837782607147e03,
    1.23033935479799725e03,
)
_MID_Q = (
    1.0,
    1.57449261107098347e01,
    1.17693950891312499e02,
    5.37181101862009858e02,
    1.62138957456669019e03,
    3.29079923573345963e03,
    4.36261909014324716e03,
    3.43936767414372164e03,
    1.23033935480374942e03,
)
# On x > 4, erfc(x) = exp(-x^2) / x (1 / sqrt(pi) - s P(s) / Q(s)) with s = 1 / x^2.
_FAR_P = (
    1.63153871373020978e-2,
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
)
_FAR_Q = (
    1.0,
    2.56852019228982242e00,
    1.87295284992346047e00,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
)
# Numerical Recipes' erfcc, highest power first: erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z/2).
_SINGLE_P = (
    0.17087277,
    -0.82215223,
    1.48851587,
    -1.13520398,
    0.27886807,
    -0.18628806,
    0.09678418,
    0.37409196,
    1.00002368,
    -1.26551223,
)
# erfc(11) < 1e-54 is 0 in float32; capping there keeps z * z finite for any float32 z.
_SINGLE_CAP = 11.0
_NEAR = 0.46875
_MID = 4.0
# Beyond 26.55, erfc is below the smallest normal float64: it is taken as 0 there, and capping
# the argument keeps x * x from overflowing for huge (or infinite) x.
_CAP = 26.55
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _horner(coeffs: tuple[float, ...], v: Array) -> Array:
    acc = np.full_like(v, coeffs[0])
    for c in coeffs[1:]:
        acc *= v
        acc += c
    return acc


def _floating(x: npt.ArrayLike) -> Array:
    """``x`` as a floating array of at least one dimension (NumPy turns 0-d results into
    scalars, which in-place operations cannot write to); callers reshape back to ``x``'s shape."""
    a = np.atleast_1d(np.asarray(x))
    if a.dtype.kind != "f":
        return a.astype(np.float64)
    return a.astype(np.float32) if a.dtype.itemsize < 4 else a


def _erfc_single(y: Array) -> Array:
    """erfc(y) for float32 ``y >= 0`` (or NaN), by Numerical Recipes' erfcc. Overwrites ``y``.

    In place on three buffers, ``y`` included: on arrays the size of a layer's activations, a
    fresh temporary per step costs more in page faults than the arithmetic does.
    """
    z = np.minimum(y, _SINGLE_CAP, out=y)
    t = z * 0.5
    t += 1
    np.reciprocal(t, out=t)
    exponent = _horner(_SINGLE_P, t)
    z *= z
    exponent -= z
    np.exp(exponent, out=exponent)
    exponent *= t
    return exponent


def _near(y: Array) -> Array:
    """erf(y) for |y| <= 0.46875."""
    t = y * y
    return y * _horner(_NEAR_P, t) / _horner(_NEAR_Q, t)


# Each interval's formula runs over the whole array with the argument clipped into its interval,
# and the results are combined by multiplying with 0/1 masks. Branch-free: NumPy's where() and
# boolean indexing cost 10x more than arithmetic on a random mask (branch mispredictions). Exact:
# each product is either the formula's value or an exact 0 (every formula is finite on its clipped
# argument), so a tiny erfc is not swamped by rounding of another interval's value. A NaN input
# makes every formula NaN and so stays NaN. An interval no element falls into is skipped.
def _erf_and_tail(y: Array) -> tuple[Array, Array]:
    """For ``y = |x|``: the 0/1 mask ``near`` of ``y <= 0.46875``, and an array holding erf(y)
    where ``near`` is 1 and erfc(y) where it is 0 (each computed the accurate way round)."""
    near = (y <= _NEAR).astype(y.dtype)
    value = near * _near(np.minimum(y, _NEAR)) if near.any() else np.zeros_like(y)
    mid = ((y > _NEAR) & (y <= _MID)).astype(y.dtype)
    if mid.any():
        ym = np.clip(y, _NEAR, _MID)
        value += mid * (np.exp(-ym * ym) * _horner(_MID_P, ym) / _horner(_MID_Q, ym))
    far = 1 - near - mid  # y > 4, or NaN
    if far.any():
        yf = np.clip(y, _MID, _CAP)
        s = 1.0 / (yf * yf)
        tail = np.exp(-yf * yf) / yf * (_INV_SQRT_PI - s * _horner(_FAR_P, s) / _horner(_FAR_Q, s))
        value += (far * (y < _CAP)) * tail
    return near, value


def erf(x: npt.ArrayLike) -> Array:
    """The error function, elementwise (``math.erf`` over an array).

    Example:
        >>> float(erf(np.array([0.5]))[0])
        0.5204998778130465
    """
    a = _floating(x)
    y = np.abs(a)
    if a.dtype == np.float32:
        out = 1 - _erfc_single(y)
    else:
        near, value = _erf_and_tail(y)
        out = near * value + (1 - near) * (1 - value)
    result: Array = np.copysign(out, a)
    return result.reshape(np.shape(x))


def erfc(x: npt.ArrayLike) -> Array:
    """The complementary error function ``1 - erf(x)``, accurate where it is tiny (large x).

    Example:
        >>> float(erfc(np.array([5.0]))[0])
        1.5374597944280347e-12
    """
    a = _floating(x)
    c = _erfc_abs(a)
    # erfc(x) = 2 - erfc(|x|) for negative x, selected by a 0/1 mask, as above, not where().
    flip = c * -2
    flip += 2
    flip *= a < 0
    c += flip
    return c.reshape(np.shape(x))


def _erfc_abs(a: Array, scale: float = 1.0) -> Array:
    """erfc(|a| * scale) as a fresh array (safe to modify in place)."""
    y = np.abs(a)
    if scale != 1.0:
        y *= scale
    if a.dtype == np.float32:
        return _erfc_single(y)
    near, value = _erf_and_tail(y)
    out: Array = near * (1 - value) + (1 - near) * value
    return out


def normal_cdf(x: npt.ArrayLike) -> Array:
    """``Phi(x)``, the standard normal CDF, as ``erfc(-x / sqrt(2)) / 2``.

    Written with erfc rather than ``(1 + erf(x / sqrt(2))) / 2`` so that the far left tail keeps
    its relative precision instead of cancelling to 0.

    Example:
        >>> print(normal_cdf(np.array([0.0, -10.0])))
        [5.00000000e-01 7.61985302e-24]
    """
    a = _floating(x)
    # Phi(-|x|) = erfc(|x| / sqrt 2) / 2, then Phi(x) = 1 - Phi(-|x|) where x > 0, in place.
    tail = _erfc_abs(a, _INV_SQRT_2)
    tail *= 0.5
    flip = tail * -2
    flip += 1
    flip *= a > 0
    tail += flip
    return tail.reshape(np.shape(x))


def normal_pdf(x: npt.ArrayLike) -> Array:
    """``phi(x) = exp(-x**2 / 2) / sqrt(2 pi)``, the standard normal density.

    Example:
        >>> round(float(normal_pdf(np.array([0.0]))[0]), 6)
        0.398942
    """
    a = _floating(x)
    capped = np.clip(a, -40.0, 40.0)  # phi(40) underflows to 0; capping avoids overflow in a*a
    out: Array = np.exp(-0.5 * capped * capped) * _INV_SQRT_2PI
    return out.reshape(np.shape(x))
