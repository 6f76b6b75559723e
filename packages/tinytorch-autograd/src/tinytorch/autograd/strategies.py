"""Hypothesis strategies and value makers for gradient checks, shared by every package's tests.

A gradient rule is only as trustworthy as the shapes it was checked on: broadcasting, size-1
dimensions, 0-d and empty tensors are where rules go wrong. These strategies draw exactly
those, and the value makers keep samples where the function is smooth (off kinks, poles and
ties), so a failure means a wrong rule rather than a bad sample. (minitorch's tensor strategies
are the model.) This module needs ``hypothesis``, a test dependency: nothing in the packages
imports it.

Example:
    >>> from hypothesis import given
    >>> from tinytorch.autograd import gradcheck
    >>> @FAST
    ... @given(shape=nonempty_shapes, seed=seeds)
    ... def check_exp(shape, seed):
    ...     x = normal(np.random.default_rng(seed), shape)
    ...     assert gradcheck(lambda t: t.exp(), [x])
    >>> check_exp()
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinytorch.tensor import Tensor

__all__ = [
    "FAST",
    "away_from_zero",
    "axis_args",
    "broadcast_pairs",
    "distinct",
    "last_dim_shapes",
    "nonempty_shapes",
    "normal",
    "positive",
    "seeds",
    "shapes",
]

#: Few examples, no deadline (a gradcheck runs two forwards per element), no example database.
FAST = settings(max_examples=15, deadline=None, database=None)

#: 0 to 3 dimensions of 0 to 3 elements: 0-d, empty and size-1 dimensions included.
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
#: As :data:`shapes`, with at least one element.
nonempty_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
#: At least one dimension (for ops over the last axis: softmax, layer_norm, losses).
last_dim_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
#: Two shapes that broadcast together (``.input_shapes``), 0-d and size-1 dimensions included.
broadcast_pairs = hnp.mutually_broadcastable_shapes(
    num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=3
)
#: Seeds of the NumPy generator that makes the values.
seeds = st.integers(0, 2**32 - 1)


def normal(rng: np.random.Generator, shape: tuple[int, ...], requires_grad: bool = True) -> Tensor:
    """Standard normal float64 values.

    Example:
        >>> normal(np.random.default_rng(0), (2,)).dtype
        dtype('float64')
    """
    return Tensor(rng.standard_normal(shape), requires_grad=requires_grad)


def away_from_zero(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    low: float = 0.5,
    high: float = 2.0,
    requires_grad: bool = True,
) -> Tensor:
    """Values of either sign with ``|x|`` in ``[low, high]``: no pole, no kink within eps.

    Example:
        >>> bool((abs(away_from_zero(np.random.default_rng(0), (50,)).data) >= 0.5).all())
        True
    """
    magnitude = rng.uniform(low, high, shape)
    sign = rng.choice([-1.0, 1.0], shape)
    return Tensor(magnitude * sign, requires_grad=requires_grad)


def positive(
    rng: np.random.Generator, shape: tuple[int, ...], low: float = 0.5, high: float = 2.0
) -> Tensor:
    """Values in ``[low, high]`` (for log, sqrt, division).

    Example:
        >>> bool((positive(np.random.default_rng(0), (5,)).data > 0).all())
        True
    """
    return Tensor(rng.uniform(low, high, shape), requires_grad=True)


def distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> Tensor:
    """Values at least 0.1 apart: no ties for max, min or sort within eps.

    Example:
        >>> v = np.sort(distinct(np.random.default_rng(0), (4,)).data)
        >>> bool((np.diff(v) > 0.09).all())
        True
    """
    size = int(np.prod(shape, dtype=np.int64))
    values = rng.permutation(size) * 0.1 + rng.uniform(0, 0.01, size)
    return Tensor(values.reshape(shape), requires_grad=True)


def axis_args(draw: Any, ndim: int) -> int | tuple[int, ...] | None:
    """An axis argument for a reduction over ``ndim`` dims: None, an int or a tuple (for use
    inside an ``st.composite`` or with ``st.data()``'s ``draw``).

    Example:
        >>> axis_args(lambda strategy: strategy.example(), 0) is None
        True
    """
    if ndim == 0:
        return None
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return int(draw(st.integers(-ndim, ndim - 1)))
    return tuple(draw(st.sets(st.integers(0, ndim - 1), min_size=1)))
