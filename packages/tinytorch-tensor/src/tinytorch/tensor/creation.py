"""Functions that make tensors, and the seeded random number generators they draw from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor._tensor import (
    Tensor,
    TensorLike,
    _check_device,
    _shape_arg,
    float32,
    int64,
)

__all__ = [
    "Generator",
    "arange",
    "default_generator",
    "from_numpy",
    "full",
    "manual_seed",
    "multinomial",
    "ones",
    "ones_like",
    "rand",
    "randint",
    "randn",
    "randperm",
    "tensor",
    "zeros",
    "zeros_like",
]


class Generator:
    """A seeded source of random numbers (``torch.Generator``), over NumPy's PCG64.

    Example:
        >>> g = Generator().manual_seed(0)
        >>> randn(2, generator=g).shape
        (2,)
    """

    def __init__(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def manual_seed(self, seed: int) -> Generator:
        """Restart this generator from ``seed``; returns it, as ``torch.Generator`` does."""
        self.rng = np.random.default_rng(seed)
        return self

    def get_state(self) -> dict[str, Any]:
        """The generator's state, JSON-serialisable (for checkpoints)."""
        return dict(self.rng.bit_generator.state)

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`get_state`: the draws that follow repeat exactly."""
        self.rng.bit_generator.state = state


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Reseed the default generator, which every random function uses unless given another.

    Example:
        >>> _ = manual_seed(0); a = randn(3)
        >>> _ = manual_seed(0); bool((randn(3) == a).all())
        True
    """
    return default_generator.manual_seed(seed)


def _rng(generator: Generator | None) -> np.random.Generator:
    return (generator or default_generator).rng


def tensor(
    data: TensorLike,
    dtype: npt.DTypeLike | None = None,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """A new tensor from a list, number or array (``torch.tensor``); floats become float32.

    Like ``torch.tensor`` it always copies: use :func:`from_numpy` to share an array's memory.

    Example:
        >>> tensor([[1, 2], [3, 4]]).dtype
        dtype('int64')
    """
    _check_device("tensor", device)
    source = data.data if isinstance(data, Tensor) else data
    t = Tensor(data, dtype=dtype)
    if isinstance(source, np.ndarray) and np.may_share_memory(t.data, source):
        t.data = t.data.copy()
    return t.requires_grad_(requires_grad)


def from_numpy(array: npt.NDArray[Any]) -> Tensor:
    """A tensor sharing ``array``'s memory and keeping its dtype (``torch.from_numpy``).

    Example:
        >>> a = np.zeros(2)
        >>> t = from_numpy(a)
        >>> a[0] = 5.0
        >>> t
        tensor([5., 0.], dtype=float64)
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def zeros(
    *shape: int | Sequence[int],
    dtype: npt.DTypeLike = float32,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """A tensor of zeros; the shape as separate ints or one sequence (``torch.zeros``).

    Example:
        >>> zeros(2, 3).shape, zeros((2, 3), device="cpu").dtype
        ((2, 3), dtype('float32'))
    """
    _check_device("zeros", device)
    return Tensor(np.zeros(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


def ones(
    *shape: int | Sequence[int],
    dtype: npt.DTypeLike = float32,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """A tensor of ones (``torch.ones``).

    Example:
        >>> ones(2, dtype=int64)
        tensor([1, 1])
    """
    _check_device("ones", device)
    return Tensor(np.ones(_shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


def full(
    shape: int | Sequence[int],
    fill_value: float,
    dtype: npt.DTypeLike = float32,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (``torch.full``).

    Example:
        >>> full((2,), 0.5)
        tensor([0.5, 0.5])
    """
    _check_device("full", device)
    return Tensor(
        np.full(_shape_arg((shape,)), fill_value, dtype=dtype), requires_grad=requires_grad
    )


def zeros_like(t: Tensor, dtype: npt.DTypeLike | None = None, device: Any = None) -> Tensor:
    """Zeros of ``t``'s shape and (unless ``dtype`` says otherwise) dtype.

    Example:
        >>> zeros_like(ones(2, 2, dtype=int64))
        tensor([[0, 0],
                [0, 0]])
    """
    _check_device("zeros_like", device)
    return Tensor(np.zeros(t.shape, dtype=dtype or t.dtype))


def ones_like(t: Tensor, dtype: npt.DTypeLike | None = None, device: Any = None) -> Tensor:
    """Ones of ``t``'s shape and (unless ``dtype`` says otherwise) dtype.

    Example:
        >>> ones_like(zeros(3))
        tensor([1., 1., 1.])
    """
    _check_device("ones_like", device)
    return Tensor(np.ones(t.shape, dtype=dtype or t.dtype))


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: npt.DTypeLike | None = None,
    device: Any = None,
) -> Tensor:
    """Evenly spaced values in [start, end); int64 when every argument is an int.

    Example:
        >>> arange(4), arange(0, 1, 0.25)
        (tensor([0, 1, 2, 3]), tensor([0.  , 0.25, 0.5 , 0.75]))
    """
    _check_device("arange", device)
    # BEGIN SOLUTION arange-forward
    # HINT: values start, start + step, ... below end, and one argument alone is the end. Without a
    # HINT: dtype the result is int64 when start, end and step are all ints, else float32.
    # TESTS: arange
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, int) for v in (start, end, step))
        dtype = int64 if is_int else float32
    return Tensor(np.arange(start, end, step, dtype=dtype))
    # END SOLUTION


def randn(
    *shape: int | Sequence[int],
    generator: Generator | None = None,
    dtype: npt.DTypeLike = float32,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Samples of the standard normal distribution (``torch.randn``).

    Example:
        >>> randn(2, 3, generator=Generator(0)).shape
        (2, 3)
    """
    _check_device("randn", device)
    data = _rng(generator).standard_normal(_shape_arg(shape), dtype=np.float64).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def rand(
    *shape: int | Sequence[int],
    generator: Generator | None = None,
    dtype: npt.DTypeLike = float32,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Samples of the uniform distribution on [0, 1) (``torch.rand``).

    Example:
        >>> r = rand(1000, generator=Generator(0)).data
        >>> bool(r.min() >= 0.0 and r.max() < 1.0)
        True
    """
    _check_device("rand", device)
    data = _rng(generator).random(_shape_arg(shape)).astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def randint(
    low: int = 0,
    high: int | Sequence[int] | None = None,
    size: int | Sequence[int] | None = None,
    generator: Generator | None = None,
    dtype: npt.DTypeLike = int64,
    requires_grad: bool = False,
    device: Any = None,
) -> Tensor:
    """Integers drawn uniformly from [low, high), int64 by default (``torch.randint``).

    Both of PyTorch's call forms work: ``randint(high, size)`` and ``randint(low, high, size)``.

    Example:
        >>> r = randint(0, 10, (4,), generator=Generator(0))
        >>> r.shape, r.dtype, 0 <= r.min().item() and r.max().item() < 10
        ((4,), dtype('int64'), True)
        >>> randint(3, (2, 2), generator=Generator(0)).shape
        (2, 2)
    """
    _check_device("randint", device)
    if size is None:
        if high is None or isinstance(high, (int, np.integer)):
            raise TypeError(
                "randint: needs a size, as randint(high, size) or randint(low, high, size)"
            )
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low  # randint(5, size=(3,))
    if not isinstance(high, (int, np.integer)):
        raise TypeError(f"randint: high must be an int, got {type(high).__name__}")
    if high <= low:
        raise ValueError(f"randint: needs low < high, got the range [{low}, {high})")
    shape = _shape_arg((size,))
    data = _rng(generator).integers(low, high, size=shape, dtype=np.int64)
    return Tensor(data.astype(dtype, copy=False), requires_grad=requires_grad)


def randperm(n: int, generator: Generator | None = None, device: Any = None) -> Tensor:
    """A random permutation of 0..n-1, as int64.

    Example:
        >>> sorted(randperm(5, generator=Generator(0)).tolist())
        [0, 1, 2, 3, 4]
    """
    _check_device("randperm", device)
    return Tensor(_rng(generator).permutation(n).astype(np.int64))


def multinomial(
    input: Tensor,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Indices drawn from the categories of each row, in proportion to its weights.

    ``input`` is 1-D (one distribution) or 2-D (one per row) of non-negative, finite floating
    weights that need not sum to one (``torch.multinomial``). Without ``replacement`` a row's
    draws are distinct, so it needs at least ``num_samples`` positive weights. The result is
    int64, of shape ``(num_samples,)`` or ``(rows, num_samples)``.

    Rows are drawn together, with no loop over them. Without replacement each category races
    an exponential clock of rate equal to its weight and the first ``num_samples`` to ring are
    taken (the Gumbel-top-k trick); with replacement uniform draws are looked up in each row's
    cumulative distribution, every row in one ``searchsorted``.

    Example:
        >>> w = Tensor([[0.0, 1.0, 0.0], [0.3, 0.0, 0.7]])
        >>> multinomial(w, 2, replacement=True, generator=Generator(0)).shape
        (2, 2)
        >>> sorted(multinomial(Tensor([1.0, 0.0, 2.0]), 2, generator=Generator(0)).tolist())
        [0, 2]
    """
    w = input.data
    if w.dtype.kind != "f":
        raise TypeError(f"multinomial: needs floating weights, got {w.dtype} (shape {w.shape})")
    if w.ndim not in (1, 2):
        raise ValueError(f"multinomial: needs a 1-D or 2-D tensor of weights, got shape {w.shape}")
    if num_samples < 1:
        raise ValueError(f"multinomial: num_samples must be positive, got {num_samples}")
    rows = w.reshape(1, -1) if w.ndim == 1 else w
    n_rows, n_categories = rows.shape
    if n_categories == 0:
        raise ValueError(f"multinomial: needs at least one category, got shape {w.shape}")
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise ValueError(f"multinomial: weights (shape {w.shape}) must be finite and non-negative")
    positive = np.count_nonzero(rows > 0, axis=1)
    if np.any(positive == 0):
        raise ValueError(
            f"multinomial: every row of weights (shape {w.shape}) needs a positive sum"
        )
    if not replacement and np.any(positive < num_samples):
        raise ValueError(
            f"multinomial: cannot draw {num_samples} distinct samples without replacement from a "
            f"row with only {int(positive.min())} positive weights (shape {w.shape})"
        )
    rng = _rng(generator)
    rows = rows.astype(np.float64)
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]
        # Shifting row r by r lays all rows' CDFs out in one increasing array.
        offset = np.arange(n_rows, dtype=np.float64)[:, None]
        draws = rng.random((n_rows, num_samples)) + offset
        flat = np.searchsorted((cdf + offset).ravel(), draws.ravel(), side="right")
        picks = flat.reshape(n_rows, num_samples) - n_categories * np.arange(n_rows)[:, None]
        # Rounding could land a draw past the row's last positive weight: pull it back.
        last = n_categories - 1 - np.argmax(rows[:, ::-1] > 0, axis=1)
        picks = np.minimum(picks, last[:, None])
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            clocks = rng.standard_exponential((n_rows, n_categories)) / rows
        if num_samples < n_categories:
            # Only the first num_samples clocks matter: partition in O(n), then order those.
            picks = np.argpartition(clocks, num_samples - 1, axis=1)[:, :num_samples]
        else:
            picks = np.broadcast_to(np.arange(n_categories), clocks.shape)
        order = np.argsort(np.take_along_axis(clocks, picks, axis=1), axis=1, kind="stable")
        picks = np.take_along_axis(picks, order, axis=1)
    picks = picks.astype(np.int64)
    return Tensor._wrap(picks.reshape(num_samples) if w.ndim == 1 else picks)
