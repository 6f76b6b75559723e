"""Low-rank factorization: the best rank-r approximation, the rank an energy threshold picks, and
the FLOPs the profiler counts."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.activations import Sigmoid
from tinytorch.autograd import no_grad
from tinytorch.compression import factorize_linear, low_rank, rank_for_energy
from tinytorch.layers import Linear, Sequential
from tinytorch.profiling import count_flops
from tinytorch.tensor import Generator, randn


def test_factors_are_the_truncated_svd() -> None:
    layer = Linear(64, 128, generator=Generator(0))
    w = layer.weight.data.astype(np.float64)
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    for r in (1, 7, 42, 64):
        pair = factorize_linear(layer, rank=r)
        first, second = pair[0], pair[1]
        assert first.weight.shape == (r, 64)
        assert first.bias is None
        assert second.weight.shape == (128, r)
        best = (u[:, :r] * s[:r]) @ vt[:r]
        product = second.weight.data.astype(np.float64) @ first.weight.data
        np.testing.assert_allclose(product, best, atol=1e-5)
        # Eckart-Young: the error's Frobenius norm is that of the dropped singular values.
        assert np.linalg.norm(w - product) == pytest.approx(np.sqrt(np.sum(s[r:] ** 2)), abs=1e-4)
    x = randn(5, 64, generator=Generator(1))
    with no_grad():
        np.testing.assert_allclose(factorize_linear(layer, energy=1.0)(x).data, layer(x).data,
                                   atol=1e-5)  # fmt: skip


def test_rank_for_energy() -> None:
    s = np.array([4.0, 2.0, 1.0, 1.0])  # squares 16, 4, 1, 1 of 22
    assert [rank_for_energy(s, e) for e in (0.5, 16 / 22, 0.8, 0.95, 0.99, 1.0)] == [
        1, 1, 2, 3, 4, 4,
    ]  # fmt: skip
    with pytest.raises(ValueError, match="energy must be in \\(0, 1\\], got 0"):
        rank_for_energy(s, 0)


def test_flops_of_the_factorized_mlp() -> None:
    g = Generator(0)
    model = Sequential(Linear(64, 128, generator=g), Sigmoid(), Linear(128, 10, generator=g))
    small = low_rank(model, 0.5, [0])
    r = small[0][0].out_features
    x = randn(364, 64, generator=Generator(2))
    assert count_flops(small, x).forward.matmul == 2 * 364 * (r * (64 + 128) + 128 * 10)
    assert count_flops(model, x).forward.matmul == 2 * 364 * (64 * 128 + 128 * 10)
    assert model[0].weight.shape == (128, 64)  # the original is left alone


def test_errors() -> None:
    layer = Linear(4, 3)
    with pytest.raises(ValueError, match="give exactly one of rank and energy"):
        factorize_linear(layer)
    with pytest.raises(ValueError, match=r"rank must be an int in \[1, 3\] for weight shape"):
        factorize_linear(layer, rank=4)
    with pytest.raises(TypeError, match="expects a Linear"):
        factorize_linear(Sigmoid(), rank=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="layer 1 is not a Linear"):
        low_rank(Sequential(layer, Sigmoid()), 0.9, [1])
