"""Activation functions as ops: each one NumPy expression passed to ``record``.

Every function here is one op whose name is the function's name; its gradient rule is registered
under that name by ``tinytorch-autograd`` (``rules/activations.py``, in the same order). Inputs
may be Tensors or anything ``Tensor()`` accepts. Floating inputs keep their dtype (float32 stays
float32, float64 stays float64 for gradient checks); integer inputs compute in float32, as in
PyTorch, except for ``relu``, which keeps them integer.

Each forward is written to be stable at the extremes, without a NumPy warning: ``sigmoid`` never
exponentiates a positive number, ``softmax`` and ``log_softmax`` subtract the row maximum first,
and the tanh-GELU caps the argument of its cube.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.activations.special import normal_cdf
from tinytorch.tensor import Tensor, TensorLike, record

__all__ = [
    "gelu",
    "leaky_relu",
    "log_softmax",
    "log_softmax_array",
    "relu",
    "sigmoid",
    "softmax",
    "softmax_array",
    "tanh",
]

Array = npt.NDArray[Any]

GELU_APPROXIMATIONS = ("none", "tanh")
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_TANH_COEFF = 0.044715
# tanh(sqrt(2/pi) (x + 0.044715 x^3)) is exactly +-1 in float64 once |x| >= 10: capping x there
# changes no result, and keeps x^3 finite for any float32 input.
GELU_TANH_CAP = 10.0


def _tensor(x: TensorLike) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _floating(x: TensorLike) -> tuple[Tensor, Array]:
    """``x`` as a Tensor, and its data as a floating array (integers become float32)."""
    t = _tensor(x)
    data = t.data
    return t, (data if data.dtype.kind == "f" else data.astype(np.float32))


def _axis(op: str, dim: int, ndim: int) -> int | None:
    """``dim`` as a non-negative axis; ``None`` for a 0-d tensor (its one element is the row)."""
    d = operator.index(dim)
    if not -max(ndim, 1) <= d < max(ndim, 1):
        raise IndexError(f"{op}: dim {d} is out of range for a tensor of {ndim} dimensions")
    return None if ndim == 0 else d % ndim


def relu(x: TensorLike) -> Tensor:
    """``max(x, 0)`` elementwise (``torch.nn.functional.relu``).

    Example:
        >>> relu(Tensor([-1.0, 0.0, 2.0]))
        tensor([0., 0., 2.])
    """
    # BEGIN SOLUTION relu-forward
    # HINT: keep each element where it is positive and put 0 elsewhere (one NumPy call on
    # HINT: t.data, which keeps integers integer), then record the op "relu" with record().
    # TESTS: relu and not leaky
    t = _tensor(x)
    return record("relu", np.maximum(t.data, 0), (t,))
    # END SOLUTION


def leaky_relu(x: TensorLike, negative_slope: float = 0.01) -> Tensor:
    """``x`` where positive, ``negative_slope * x`` elsewhere.

    Example:
        >>> leaky_relu(Tensor([-2.0, 3.0]), negative_slope=0.1)
        tensor([-0.2,  3. ])
    """
    # BEGIN SOLUTION leaky-relu-forward
    # HINT: the positive part of x plus negative_slope times its negative part. Convert the
    # HINT: slope to a Python float first (so float32 stays float32) and record it as the op's
    # HINT: attribute negative_slope: the gradient rule reads it from there.
    # TESTS: leaky
    t, data = _floating(x)
    slope = float(negative_slope)  # a Python float, so that float32 stays float32
    # Arithmetic, not np.where: where() on a random sign pattern is several times slower.
    out = np.maximum(data, 0) + slope * np.minimum(data, 0)
    return record("leaky_relu", out, (t,), negative_slope=slope)
    # END SOLUTION


def sigmoid(x: TensorLike) -> Tensor:
    """The logistic function ``1 / (1 + exp(-x))``, in (0, 1).

    Computed as ``exp(min(x, 0)) / (1 + exp(-|x|))``: that is ``1 / (1 + exp(-x))`` for
    ``x >= 0`` and ``exp(x) / (1 + exp(x))`` below, and neither exponent is ever positive, so
    nothing overflows (sigmoid(-1e4) is 0, sigmoid(1e4) is 1) and the left tail keeps its
    relative precision (sigmoid(-80) is 1.8e-35, not 0).

    Example:
        >>> sigmoid(Tensor([-1e4, 0.0, 1e4]))
        tensor([0. , 0.5, 1. ])
    """
    # BEGIN SOLUTION sigmoid-forward
    # HINT: 1 / (1 + exp(-x)) overflows for very negative x. Write it so that exp only ever
    # HINT: sees a number <= 0: the numerator uses min(x, 0), the denominator -|x|.
    # TESTS: sigmoid or saturating
    t, data = _floating(x)
    out = np.exp(np.minimum(data, 0)) / (1 + np.exp(-np.abs(data)))
    return record("sigmoid", out, (t,))
    # END SOLUTION


def tanh(x: TensorLike) -> Tensor:
    """The hyperbolic tangent, in (-1, 1).

    Example:
        >>> tanh(Tensor([0.0, 100.0]))
        tensor([0., 1.])
    """
    # BEGIN SOLUTION tanh-forward
    # HINT: NumPy has the function; take the floating data and record the op "tanh".
    # TESTS: tanh and not gelu
    t, data = _floating(x)
    return record("tanh", np.tanh(data), (t,))
    # END SOLUTION


def gelu(x: TensorLike, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit ``x * Phi(x)``, ``Phi`` the standard normal CDF.

    ``approximate="none"`` computes ``Phi`` exactly (through erfc); ``"tanh"`` uses GPT-2's
    ``0.5 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``, which is within 5e-4 of it.

    Example:
        >>> gelu(Tensor([-1.0, 0.0, 1.0]))
        tensor([-0.1587,  0.    ,  0.8413])
        >>> gelu(Tensor([1.0]), approximate="tanh")
        tensor([0.8412])
    """
    if approximate not in GELU_APPROXIMATIONS:
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    t, data = _floating(x)
    if approximate == "none":
        # BEGIN SOLUTION gelu-exact-forward
        # HINT: x times the standard normal CDF of x: special.normal_cdf is imported for you.
        # TESTS: gelu and not gelu_tanh_ref
        out = normal_cdf(data)
        out *= data
        # END SOLUTION
    else:
        # BEGIN SOLUTION gelu-tanh-forward-fused
        # HINT: the in-place form of the tanh approximation; the exercise is the textbook form.
        # TESTS: gelu and (tanh or limits or pytorch)
        # STUDENT: out = _gelu_tanh_textbook(data)
        # In place on one buffer: each fresh temporary of a big activation costs page faults.
        # And x * x * x rather than x**3, which NumPy computes 250x slower in float32.
        capped = np.clip(data, -GELU_TANH_CAP, GELU_TANH_CAP)
        out = np.asarray(capped * capped)
        out *= GELU_TANH_COEFF
        out += 1
        out *= capped
        out *= SQRT_2_OVER_PI  # sqrt(2/pi) (x + 0.044715 x^3)
        np.tanh(out, out=out)
        out += 1
        out *= 0.5  # before the multiply by x: (1 + tanh) x would overflow at float32's max
        out *= data
        # END SOLUTION
    return record("gelu", out, (t,), approximate=approximate)


def _gelu_tanh_textbook(data: Array) -> Array:
    """GPT-2's tanh GELU of an array, one readable expression: the form a student writes.

    ``gelu(approximate="tanh")`` computes the same in place on one buffer (faster on big
    activations); a test holds the two equal.

    Example:
        >>> _gelu_tanh_textbook(np.array([0.0, 1.0])).round(4).tolist()
        [0.0, 0.8412]
    """
    # BEGIN SOLUTION gelu-tanh-forward
    # HINT: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), using the constants above. Clip x
    # HINT: to +-GELU_TANH_CAP inside the tanh (the cube of a big float32 overflows), and halve
    # HINT: (1 + tanh) before multiplying by x, or x near float32's max overflows.
    # TESTS: gelu and (tanh or limits or pytorch)
    capped = np.clip(data, -GELU_TANH_CAP, GELU_TANH_CAP)
    inner = SQRT_2_OVER_PI * (capped + GELU_TANH_COEFF * (capped * capped * capped))
    out: Array = np.asarray(0.5 * (1 + np.tanh(inner)) * data)
    return out
    # END SOLUTION


def softmax_array(
    data: Array, axis: int | None = -1, *, masked_rows: str = "nan", out: Array | None = None
) -> Array:
    """The one softmax kernel of TinyTorch, on a NumPy array: the op :func:`softmax`, attention,
    and the GPT's sampling all call it.

    The slice maximum is subtracted before exponentiating, so no exponent is positive and
    nothing overflows (softmax of [1e4, 0] is [1, 0]); ``-inf`` entries (masked positions) get
    probability 0. A slice with no finite maximum (every entry ``-inf``: a fully masked row)
    has no distribution, and ``masked_rows`` says what it gets, as PyTorch has two rules too:

    - ``"nan"`` (``torch.softmax``): NaN, so a mistake cannot pass unnoticed;
    - ``"zero"`` (PyTorch's attention, its ``_safe_softmax``): zeros, so a query that may attend
      to nothing (a fully padded row) reads nothing instead of poisoning the batch with NaN.

    A ``+inf`` or NaN in a slice gives NaN under either rule. ``out`` may be ``data`` itself
    (in place, what attention does with its score array) or another array of its shape.

    Example:
        >>> rows = np.array([[1.0, 1.0], [-np.inf, -np.inf]])
        >>> softmax_array(rows, masked_rows="zero").tolist()
        [[0.5, 0.5], [0.0, 0.0]]
        >>> softmax_array(rows)[1].tolist()
        [nan, nan]
    """
    if masked_rows not in ("nan", "zero"):
        raise ValueError(f"softmax: masked_rows must be 'nan' or 'zero', got {masked_rows!r}")
    # BEGIN SOLUTION softmax-kernel
    # HINT: subtract each slice's maximum (keepdims, and initial=-inf for empty slices) so no
    # HINT: exponent is positive, exponentiate, divide by the slice's sum. For
    # HINT: masked_rows="zero", shift an all -inf slice by 0 and divide its zero sum by 1.
    # HINT: Write into out when it is given, and silence NumPy's invalid warning with errstate.
    # TESTS: (softmax and not log_softmax) or softmax_and_log_softmax or no_finite_maximum
    with np.errstate(invalid="ignore"):  # inf - inf in a slice without a finite maximum
        top = np.max(data, axis=axis, keepdims=True, initial=-np.inf)
        if masked_rows == "zero":
            # Shifting a fully masked row by 0 keeps exp(-inf) = 0 and avoids -inf - -inf.
            np.copyto(top, 0.0, where=np.isneginf(top))
        # asarray: a 0-d difference comes back as a NumPy scalar, which cannot take out=.
        e = np.asarray(np.subtract(data, top, out=out))
        np.exp(e, out=e)  # in place: attention's scores are the big array here
        total = np.sum(e, axis=axis, keepdims=True)
        if masked_rows == "zero":
            np.copyto(total, 1.0, where=total == 0)
        e /= total
    return e
    # END SOLUTION


def log_softmax_array(data: Array, axis: int | None = -1) -> Array:
    """``log(softmax(data))`` along ``axis`` as ``x - max - log(sum(exp(x - max)))``: the one
    log-softmax kernel (the op :func:`log_softmax` and the cross-entropy losses call it).

    Never takes the log of a probability that underflowed: of [0, -1e4] it gives [0, -1e4],
    not [0, -inf]. ``-inf`` entries stay ``-inf``; a fully masked slice gives NaN.

    Example:
        >>> log_softmax_array(np.array([0.0, -1e4])).tolist()
        [0.0, -10000.0]
    """
    # BEGIN SOLUTION log-softmax-kernel
    # HINT: x - max - log(sum(exp(x - max))) along axis: never take the log of a softmax that
    # HINT: may have underflowed to 0. errstate silences inf - inf and log(0) warnings.
    # TESTS: log_softmax or logsoftmax or no_finite_maximum
    with np.errstate(invalid="ignore", divide="ignore"):  # and log(0) of an empty slice
        shifted = data - np.max(data, axis=axis, keepdims=True, initial=-np.inf)
        out: Array = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return out
    # END SOLUTION


def softmax(x: TensorLike, dim: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``: each slice along ``dim`` sums to 1.

    Stable at any finite logits; ``-inf`` entries (masked positions) get probability 0; a
    slice with no finite maximum (all ``-inf``, or a ``+inf`` or NaN in it) gives NaN, as in
    PyTorch (see :func:`softmax_array`, the kernel, for attention's other rule).

    Example:
        >>> softmax(Tensor([[1.0, 1.0], [0.0, -float("inf")]]), dim=-1)
        tensor([[0.5, 0.5],
                [1. , 0. ]])
    """
    t, data = _floating(x)
    axis = _axis("softmax", dim, t.ndim)
    return record("softmax", softmax_array(data, axis), (t,), dim=axis)


def log_softmax(x: TensorLike, dim: int = -1) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed as ``x - max - log(sum(exp(x - max)))``.

    Never takes the log of a probability that underflowed: log_softmax of [0, -1e4] is
    [0, -1e4], not [0, -inf]. ``-inf`` entries stay ``-inf``.

    Example:
        >>> log_softmax(Tensor([0.0, -1e4]))
        tensor([     0., -10000.])
    """
    t, data = _floating(x)
    axis = _axis("log_softmax", dim, t.ndim)
    return record("log_softmax", log_softmax_array(data, axis), (t,), dim=axis)
