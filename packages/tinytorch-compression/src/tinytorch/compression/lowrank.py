"""Low-rank factorization: a Linear replaced by two thinner ones, from its SVD.

``W = U S V^T`` (``W`` is ``(out, in)``). Keeping the ``r`` largest singular values gives the best
rank-``r`` approximation (Eckart-Young) ``W_r = (U_r sqrt(S_r)) (sqrt(S_r) V_r^T)``: a first
Linear ``in -> r`` without bias holding ``sqrt(S_r) V_r^T`` and a second ``r -> out`` holding
``U_r sqrt(S_r)`` and the old bias. It costs ``r * (in + out)`` weights and
``2 * batch * r * (in + out)`` FLOPs instead of ``in * out`` and ``2 * batch * in * out``, so it
saves only when ``r < in * out / (in + out)``. ``r`` is chosen by an energy threshold: the
smallest ``r`` whose singular values hold that fraction of ``sum(S**2)`` (the squared Frobenius
norm of ``W``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.layers import Linear, Module, Parameter, Sequential

__all__ = ["factorize_linear", "low_rank", "rank_for_energy"]

Array = npt.NDArray[Any]


def rank_for_energy(singular_values: Array, energy: float) -> int:
    """The smallest ``r`` with ``sum(S[:r]**2) >= energy * sum(S**2)`` (``S`` descending).

    Example:
        >>> rank_for_energy(np.array([3.0, 2.0, 1.0]), 0.9)  # 9 + 4 = 13 of 14 >= 12.6
        2
    """
    if isinstance(energy, bool) or not isinstance(energy, (int, float)) or not 0 < energy <= 1:
        raise ValueError(f"rank_for_energy: energy must be in (0, 1], got {energy!r}")
    # BEGIN SOLUTION rank-for-energy
    # HINT: the share of the squared singular values the first r of them hold, for every r
    # HINT: (a cumulative sum); the first r reaching energy (allow 1e-12 of rounding, so 1.0
    # HINT: keeps full rank). At least 1.
    # TESTS: test_lowrank
    s2 = np.asarray(singular_values, dtype=np.float64) ** 2
    if s2.size == 0 or s2.sum() == 0:
        return 1
    cumulative = np.cumsum(s2) / s2.sum()
    # The tolerance keeps energy=1.0 at full rank despite the cumulative sum's rounding.
    return int(min(np.searchsorted(cumulative, energy - 1e-12) + 1, s2.size))
    # END SOLUTION


def factorize_linear(
    layer: Linear, *, rank: int | None = None, energy: float | None = None
) -> Sequential:
    """``layer`` as ``Sequential(Linear(in, r, bias=False), Linear(r, out))`` of rank ``r``:
    given, or the smallest holding ``energy`` of the squared singular values.

    Example:
        >>> from tinytorch.tensor import randn
        >>> layer = Linear(8, 6)
        >>> full = factorize_linear(layer, energy=1.0)
        >>> full[0].weight.shape, full[1].weight.shape
        ((6, 8), (6, 6))
        >>> x = randn(4, 8)
        >>> bool(np.allclose(full(x).data, layer(x).data, atol=1e-5))
        True
    """
    if not isinstance(layer, Linear):
        raise TypeError(f"factorize_linear: expects a Linear, got {type(layer).__name__}")
    if (rank is None) == (energy is None):
        raise ValueError("factorize_linear: give exactly one of rank and energy")
    w = layer.weight.data
    # BEGIN SOLUTION svd-split
    # HINT: W = U S V^T (float64, thin SVD). Keep r singular values and give each factor
    # HINT: sqrt(S): the first Linear's weight is sqrt(S_r) V_r^T (r, in), the second's
    # HINT: U_r sqrt(S_r) (out, r), which keeps the original bias. Refuse a rank outside
    # HINT: [1, len(S)] naming the weight's shape.
    # TESTS: test_lowrank
    u, s, vt = np.linalg.svd(w.astype(np.float64), full_matrices=False)
    if rank is None:
        assert energy is not None
        r = rank_for_energy(s, energy)
    else:
        if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= s.size:
            raise ValueError(
                f"factorize_linear: rank must be an int in [1, {s.size}] for weight shape "
                f"{w.shape}, got {rank!r}"
            )
        r = rank
    root = np.sqrt(s[:r])
    first = Linear(layer.in_features, r, bias=False, dtype=w.dtype)
    first.weight = Parameter((root[:, None] * vt[:r]).astype(w.dtype))
    second = Linear(r, layer.out_features, bias=layer.bias is not None, dtype=w.dtype)
    second.weight = Parameter((u[:, :r] * root).astype(w.dtype))
    if layer.bias is not None:
        second.bias = Parameter(layer.bias.data.copy())
    return Sequential(first, second).train(layer.training)
    # END SOLUTION


def low_rank(model: Sequential, energy: float, layers: Sequence[int]) -> Sequential:
    """A copy of ``model`` with the Linear layers at positions ``layers`` factorized at
    ``energy`` (:func:`factorize_linear`); each becomes a two-layer Sequential in its place.

    Example:
        >>> from tinytorch.activations import Sigmoid
        >>> model = Sequential(Linear(64, 128), Sigmoid(), Linear(128, 10))
        >>> type(low_rank(model, 0.9, [0])[0]).__name__
        'Sequential'
    """
    import copy

    if not isinstance(model, Sequential):
        raise TypeError(f"low_rank: expects a Sequential, got {type(model).__name__}")
    items = list(model)
    names = {id(m): n for n, m in model.named_children()}
    for i in layers:
        if not (isinstance(i, int) and 0 <= i < len(items) and isinstance(items[i], Linear)):
            raise ValueError(f"low_rank: layer {i!r} is not a Linear of the model")
    out: list[tuple[str, Any]] = []
    for i, layer in enumerate(items):
        if i in layers:
            new: Module | Any = factorize_linear(layer, energy=energy)  # type: ignore[arg-type]
        else:
            new = copy.deepcopy(layer) if isinstance(layer, Module) else layer
        out.append((names.get(id(layer), str(i)), new))
    return Sequential(OrderedDict(out)).train(model.training)
