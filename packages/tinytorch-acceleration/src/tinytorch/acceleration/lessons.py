"""The lessons, as plain NumPy kernels to time against each other (the benchmark does).

- Loops against vectorized code: :func:`matmul_loops` / :func:`conv2d_loops` (Python loops
  over every output element) against ``np.matmul`` / an im2col GEMM.
- Cache blocking: :func:`matmul_tiled` really tiles: it walks ``B x B`` blocks of the output
  and accumulates ``A[i, k] @ B[k, j]`` block products into it, so each block's operands stay in
  cache while they are used; each block product is itself a BLAS call, so the lesson is the
  loop structure and what the Python around the blocks costs.
- Fusion: :func:`gelu_op_by_op` / :func:`gelu_fused` and :func:`adam_op_by_op` /
  :func:`adam_fused`: the same arithmetic written as one fresh array per operation, or in one
  pass over preallocated ``out=`` buffers. :func:`allocated_bytes` measures what each
  allocates (tracemalloc's peak).
"""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.activations.functional import GELU_TANH_COEFF, SQRT_2_OVER_PI

__all__ = [
    "adam_fused",
    "adam_op_by_op",
    "allocated_bytes",
    "conv2d_im2col",
    "conv2d_loops",
    "gelu_backward_fused",
    "gelu_backward_op_by_op",
    "gelu_fused",
    "gelu_op_by_op",
    "matmul_loops",
    "matmul_tiled",
]

Array = npt.NDArray[Any]


def matmul_loops(a: Array, b: Array) -> Array:
    """``a @ b`` with three Python loops: one multiply-add per iteration.

    Example:
        >>> a, b = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2)
        >>> bool(np.array_equal(matmul_loops(a, b), a @ b))
        True
    """
    m, k = a.shape
    k2, n = b.shape
    if k != k2:
        raise ValueError(f"matmul_loops: shapes {a.shape} and {b.shape} are not aligned")
    out = np.zeros((m, n), dtype=np.result_type(a, b))
    for i in range(m):
        for j in range(n):
            total = 0.0
            for p in range(k):
                total += float(a[i, p]) * float(b[p, j])
            out[i, j] = total
    return out


def matmul_tiled(a: Array, b: Array, block: int = 64) -> Array:
    """``a @ b`` by ``block x block`` tiles: ``C[i, j] += A[i, k] @ B[k, j]`` over tile
    indices, each tile product one BLAS call on operands that fit in cache.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.random((70, 50)), rng.random((50, 90))
        >>> bool(np.allclose(matmul_tiled(a, b, block=16), a @ b))
        True
    """
    m, k = a.shape
    k2, n = b.shape
    if k != k2:
        raise ValueError(f"matmul_tiled: shapes {a.shape} and {b.shape} are not aligned")
    if block <= 0:
        raise ValueError(f"matmul_tiled: block must be positive, got {block}")
    # BEGIN SOLUTION matmul-tiled
    # HINT: loop over output tiles (i, j) and, inside, over the shared dim's tiles p: add the
    # HINT: product of a's (i, p) tile and b's (p, j) tile (one BLAS call into one reused
    # HINT: scratch tile) to the (i, j) tile of the output. Edge tiles are smaller.
    # TESTS: tiled
    out = np.zeros((m, n), dtype=np.result_type(a, b))
    tile = np.empty((block, block), dtype=out.dtype)
    for i in range(0, m, block):
        for j in range(0, n, block):
            c = out[i : i + block, j : j + block]
            for p in range(0, k, block):
                t = tile[: c.shape[0], : c.shape[1]]
                np.matmul(a[i : i + block, p : p + block], b[p : p + block, j : j + block], out=t)
                c += t
    return out
    # END SOLUTION


def _windows(x: Array, kh: int, kw: int) -> Array:
    """(N, C, H, W) padded input -> (N, C, H_out, W_out, kh, kw) view of every window."""
    return np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))


def conv2d_loops(x: Array, w: Array, padding: int = 0) -> Array:
    """Stride-1 cross-correlation with Python loops over batch, channels and pixels.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x, w = rng.random((1, 2, 5, 5)), rng.random((3, 2, 3, 3))
        >>> bool(np.allclose(conv2d_loops(x, w, 1), conv2d_im2col(x, w, 1)))
        True
    """
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, h, wd = xp.shape
    f, c2, kh, kw = w.shape
    if c != c2:
        raise ValueError(f"conv2d_loops: input {x.shape} and weight {w.shape} channels differ")
    ho, wo = h - kh + 1, wd - kw + 1
    out = np.zeros((n, f, ho, wo), dtype=np.result_type(x, w))
    for b in range(n):
        for o in range(f):
            for i in range(ho):
                for j in range(wo):
                    out[b, o, i, j] = float(np.sum(xp[b, :, i : i + kh, j : j + kw] * w[o]))
    return out


def conv2d_im2col(x: Array, w: Array, padding: int = 0) -> Array:
    """The same convolution vectorized: every window gathered (im2col), then one GEMM.

    Example:
        >>> float(conv2d_im2col(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), 1)[0, 0, 1, 1])
        9.0
    """
    # BEGIN SOLUTION conv2d-im2col
    # HINT: pad, view every kh x kw window (_windows, no copy), lay them out as rows of
    # HINT: C*kh*kw (one row per output pixel), multiply by the (C*kh*kw, F) weight matrix in
    # HINT: one GEMM, and put the result back in (N, F, Ho, Wo).
    # TESTS: im2col
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    f, c, kh, kw = w.shape
    cols = _windows(xp, kh, kw)  # (N, C, Ho, Wo, kh, kw)
    n, _, ho, wo = cols.shape[:4]
    cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw)
    out: Array = (cols @ w.reshape(f, -1).T).reshape(n, ho, wo, f).transpose(0, 3, 1, 2)
    return out
    # END SOLUTION


def gelu_op_by_op(x: Array) -> Array:
    """GELU (tanh form) written as a framework without fusion runs it: one new array per op.

    Example:
        >>> round(float(gelu_op_by_op(np.array([1.0]))[0]), 4)
        0.8412
    """
    cube = x * x * x
    inner = x + GELU_TANH_COEFF * cube
    scaled = SQRT_2_OVER_PI * inner
    t = np.tanh(scaled)
    one_plus = 1.0 + t
    half = 0.5 * one_plus
    return x * half


def gelu_fused(x: Array, out: Array) -> Array:
    """The same GELU in one buffer, every step written in place into ``out``.

    Example:
        >>> x = np.array([1.0, -1.0])
        >>> bool(np.allclose(gelu_fused(x, np.empty(2)), gelu_op_by_op(x)))
        True
    """
    # BEGIN SOLUTION gelu-fused
    # HINT: the op-by-op GELU rewritten so every step writes into out: x^2, times c, plus 1,
    # HINT: times x, times sqrt(2/pi), tanh, plus 1, times 1/2, times x. No new array.
    # TESTS: gelu_fused or gelu_forward
    dt = out.dtype.type
    np.multiply(x, x, out=out)
    out *= dt(GELU_TANH_COEFF)
    out += 1
    out *= x
    out *= dt(SQRT_2_OVER_PI)
    np.tanh(out, out=out)
    out += 1
    out *= dt(0.5)
    out *= x
    return out
    # END SOLUTION


def gelu_backward_op_by_op(x: Array, grad: Array) -> Array:
    """GELU's derivative times ``grad``, recomputed from ``x``, one new array per op.

    Example:
        >>> g = gelu_backward_op_by_op(np.array([0.0]), np.array([1.0]))
        >>> float(g[0])
        0.5
    """
    t = np.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_COEFF * x * x * x))
    d_inner = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_COEFF * x * x)
    return grad * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner)


def gelu_backward_fused(x: Array, t: Array, grad: Array, out: Array, tmp: Array) -> Array:
    """The same derivative from the forward's kept ``t = tanh(u)``, in two buffers.

    Example:
        >>> x = np.array([0.3])
        >>> t = np.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_COEFF * x**3))
        >>> g = gelu_backward_fused(x, t, np.ones(1), np.empty(1), np.empty(1))
        >>> bool(np.allclose(g, gelu_backward_op_by_op(x, np.ones(1))))
        True
    """
    # BEGIN SOLUTION gelu-backward-fused
    # HINT: the derivative from the kept t = tanh(u), in out and tmp only:
    # HINT: (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 c x^2) / 2, times grad.
    # TESTS: gelu_backward
    dt = out.dtype.type
    np.multiply(x, x, out=out)
    out *= dt(3 * GELU_TANH_COEFF)
    out += 1
    out *= x
    np.multiply(t, t, out=tmp)
    np.subtract(1, tmp, out=tmp)
    out *= tmp
    out *= dt(0.5 * SQRT_2_OVER_PI)
    np.add(t, 1, out=tmp)
    tmp *= dt(0.5)
    out += tmp
    out *= grad
    return out
    # END SOLUTION


def adam_op_by_op(
    p: Array, g: Array, m: Array, v: Array, step: int, lr: float = 1e-3, wd: float = 1e-2
) -> tuple[Array, Array, Array]:
    """One AdamW update as arithmetic on fresh arrays: returns new ``(p, m, v)``.

    Example:
        >>> p, m, v = adam_op_by_op(np.ones(2), np.ones(2), np.zeros(2), np.zeros(2), 1, lr=0.1)
        >>> np.round(p, 4).tolist()
        [0.899, 0.899]
    """
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    p = p * (1 - lr * wd)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    denom = np.sqrt(v) / math.sqrt(1 - beta2**step) + eps
    return p - lr / (1 - beta1**step) * m / denom, m, v


def adam_fused(
    p: Array,
    g: Array,
    m: Array,
    v: Array,
    step: int,
    tmp: Array,
    lr: float = 1e-3,
    wd: float = 1e-2,
) -> None:
    """The same AdamW update in place on ``p``, ``m``, ``v`` with one scratch ``tmp``.

    Example:
        >>> p, m, v = np.ones(2), np.zeros(2), np.zeros(2)
        >>> adam_fused(p, np.ones(2), m, v, 1, np.empty(2), lr=0.1)
        >>> np.round(p, 4).tolist()
        [0.899, 0.899]
    """
    # BEGIN SOLUTION adam-fused
    # HINT: the op-by-op AdamW step with every update in place on p, m and v and every
    # HINT: temporary in the one scratch array tmp: decay p, move m and v, divide the
    # HINT: bias-corrected m by the bias-corrected sqrt(v) plus eps, step p.
    # TESTS: adam_fused
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    p *= 1 - lr * wd
    m *= beta1
    np.multiply(g, 1 - beta1, out=tmp)
    m += tmp
    v *= beta2
    np.multiply(g, 1 - beta2, out=tmp)
    tmp *= g
    v += tmp
    np.sqrt(v, out=tmp)
    tmp /= math.sqrt(1 - beta2**step)
    tmp += eps
    np.divide(m, tmp, out=tmp)
    tmp *= -lr / (1 - beta1**step)
    p += tmp
    # END SOLUTION


def allocated_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes allocated while ``fn()`` runs (tracemalloc, which sees NumPy's buffers).

    Example:
        >>> allocated_bytes(lambda: np.empty(1000, dtype=np.float64)) >= 8000
        True
    """
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return max(peak - base, 0)
