"""Exact integer arithmetic on float32 BLAS.

NumPy's integer ``matmul`` is a plain loop with no BLAS behind it: an int8 product there is
tens of times slower than a float32 one. But float32 represents every integer up to 2**24
exactly, and the product of two int8 values is at most 128 * 128 = 2**14 in magnitude, so a
float32 dot product over ``K`` terms is exact as long as every partial sum stays within 2**24:
``K * max|a| * max|b| <= 2**24`` (K <= 1024 for int8 at its extremes), *whatever order* BLAS
adds in. :func:`int_matmul` splits K into chunks of that size, multiplies each in float32,
converts each chunk's result to int32 (exact) and adds the chunks in int32, so the result
equals an integer reference bit for bit.

:func:`requantize` maps an int32 accumulator back onto an 8-bit grid with a float multiplier,
as fbgemm's requantization does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.quantization.qtypes import QDtype

__all__ = ["EXACT_FLOAT32", "exact_chunk", "int_matmul", "requantize"]

Array = npt.NDArray[Any]

#: Every integer of magnitude at most this is exact in float32.
EXACT_FLOAT32 = 2**24


def exact_chunk(bound_a: int, bound_b: int) -> int:
    """The largest K for which a float32 dot product of K terms, each ``|a| <= bound_a`` times
    ``|b| <= bound_b``, is exact: every partial sum is at most ``K * bound_a * bound_b``.

    >>> exact_chunk(128, 128), exact_chunk(127, 127), exact_chunk(255, 128)
    (1024, 1040, 514)
    """
    # BEGIN SOLUTION exact-chunk
    # HINT: each term is at most bound_a * bound_b, so K terms stay exact while K times that
    # HINT: is at most 2**24; at least 1, and any K when a bound is 0.
    # TESTS: int_matmul or quantized or static or dynamic or gpt or models
    product = int(bound_a) * int(bound_b)
    return EXACT_FLOAT32 if product == 0 else max(1, EXACT_FLOAT32 // product)
    # END SOLUTION


def _bound(a: Array) -> int:
    return int(np.abs(a.astype(np.int64, copy=False)).max()) if a.size else 0


def int_matmul(a: Array, b: Array, chunk: int | None = None) -> Array:
    """``a @ b`` of integer matrices (M, K) and (K, N), exact, as int32.

    ``chunk`` (default: :func:`exact_chunk` of the operands' largest magnitudes) is how many
    of the K terms each float32 product sums; a larger one than exactness allows is refused.

    >>> a = np.full((1, 3000), -128, np.int8)
    >>> b = np.full((3000, 2), -128, np.int8)
    >>> int_matmul(a, b).tolist()  # 3000 * 16384, beyond float32's exact 2**24
    [[49152000, 49152000]]
    """
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"int_matmul: shapes {a.shape} and {b.shape} are not aligned (M,K)@(K,N)")
    for name, x in (("a", a), ("b", b)):
        if x.dtype.kind not in "iu":
            raise TypeError(f"int_matmul: {name} must be an integer array, got {x.dtype}")
    k = a.shape[1]
    safe = exact_chunk(_bound(a), _bound(b))
    if chunk is None:
        chunk = safe
    elif not 1 <= chunk <= safe:
        raise ValueError(
            f"int_matmul: chunk {chunk} is not in [1, {safe}], the largest exact one for these "
            f"operands (shapes {a.shape} and {b.shape})"
        )
    # BEGIN SOLUTION int-matmul-chunks
    # HINT: multiply in float32 (BLAS), but K terms at a time, chunk of them per product, so
    # HINT: every partial sum stays exact; convert each chunk's product to int32 and add the
    # HINT: chunks in int32.
    # TESTS: int_matmul or quantized or static or dynamic or gpt or models
    af = a.astype(np.float32)
    bf = b.astype(np.float32)
    if k <= chunk:
        return (af @ bf).astype(np.int32)
    out = np.zeros((a.shape[0], b.shape[1]), dtype=np.int32)
    for start in range(0, k, chunk):
        out += (af[:, start : start + chunk] @ bf[start : start + chunk]).astype(np.int32)
    return out
    # END SOLUTION


def requantize(acc: Array, multiplier: Array | float, zero_point: int, dtype: QDtype) -> Array:
    """``clamp(nearbyint(acc * multiplier) + zero_point)`` onto ``dtype``'s grid: the int32
    accumulator of scale ``s_in * s_w`` re-expressed in the output's scale
    (``multiplier = s_in * s_w / s_out``, float32).

    >>> from tinytorch.quantization.qtypes import quint8
    >>> requantize(np.array([100, -7, 10**6], np.int32), 0.5, 3, quint8).tolist()
    [53, 0, 255]
    """
    # BEGIN SOLUTION requantize
    # HINT: scale the int32 accumulator by the float32 multiplier, round half to even, add the
    # HINT: output's zero point, clamp to the dtype's range and store in its integer type.
    # TESTS: static or quantized or constant_and_zero or models
    scaled = acc.astype(np.float32) * np.asarray(multiplier, dtype=np.float32)
    q = np.rint(scaled) + np.float32(zero_point)
    out: Array = np.clip(q, dtype.qmin, dtype.qmax).astype(dtype.storage)
    return out
    # END SOLUTION
