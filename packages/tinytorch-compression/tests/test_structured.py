"""Structured pruning: a smaller dense model whose outputs are those of the original with the
removed neurons' contributions cut, bytes halved, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.activations import ReLU, Sigmoid
from tinytorch.autograd import no_grad
from tinytorch.compression import (
    held_bytes,
    l1_unstructured,
    output_norms,
    structured_prune,
)
from tinytorch.layers import Dropout, Linear, Sequential
from tinytorch.tensor import Generator, randn


def _mlp(seed: int = 0) -> Sequential:
    g = Generator(seed)
    return Sequential(Linear(64, 128, generator=g), Sigmoid(), Linear(128, 10, generator=g))


def test_mlp_hidden_layer_halved_keeps_the_largest_norms() -> None:
    model = _mlp()
    small = structured_prune(model, 0.5)
    first, second = small[0], small[2]
    assert isinstance(first, Linear)
    assert isinstance(second, Linear)
    assert first.weight.shape == (64, 64)
    assert second.weight.shape == (10, 64)
    norms = output_norms(model[0])
    kept = np.sort(np.argsort(-norms, kind="stable")[:64])
    np.testing.assert_array_equal(first.weight.data, model[0].weight.data[kept])
    np.testing.assert_array_equal(second.weight.data, model[2].weight.data[:, kept])
    assert norms[kept].min() >= np.delete(norms, kept).max()
    # The same function as the original with the removed neurons' outgoing columns cut.
    reference = _mlp()
    removed = np.setdiff1d(np.arange(128), kept)
    reference[2].weight.data[:, removed] = 0
    x = randn(7, 64, generator=Generator(1))
    with no_grad():
        np.testing.assert_allclose(small(x).data, reference(x).data, rtol=1e-5, atol=1e-6)
    # Held bytes halve exactly: 64*64 + 64 + 10*64 + 10 of 64*128 + 128 + 10*128 + 10 floats.
    assert held_bytes(small) == 4 * 4810
    assert held_bytes(model) == 4 * 9610
    assert model[0].weight.shape == (128, 64)  # the original is untouched


def test_counts_and_chosen_layers() -> None:
    g = Generator(2)
    model = Sequential(Linear(8, 20, generator=g), ReLU(), Dropout(0.1), Linear(20, 9, generator=g),
                       ReLU(), Linear(9, 3, generator=g))  # fmt: skip
    small = structured_prune(model, 5)
    assert [small[i].weight.shape for i in (0, 3, 5)] == [(15, 8), (4, 15), (3, 4)]
    only_second = structured_prune(model, 0.34, layers=[3])
    assert [only_second[i].weight.shape for i in (0, 3, 5)] == [(20, 8), (6, 20), (3, 6)]


def test_conv_channels_through_batchnorm_pool_and_flatten() -> None:
    conv = pytest.importorskip("tinytorch.convolutions")
    g = Generator(3)
    model = Sequential(
        conv.Conv2d(1, 6, 3, padding=1, generator=g),
        conv.BatchNorm2d(6),
        ReLU(),
        conv.MaxPool2d(2),
        conv.Conv2d(6, 8, 3, padding=1, generator=g),
        ReLU(),
        conv.MaxPool2d(2),
        conv.Flatten(),
        Linear(8 * 2 * 2, 5, generator=g),
    )
    x = randn(4, 1, 8, 8, generator=Generator(4))
    model.train()
    model(x)  # give the BatchNorm running statistics that differ per channel
    model.eval()
    small = structured_prune(model, 0.5)
    assert small[0].weight.shape == (3, 1, 3, 3)
    assert small[0].out_channels == 3
    assert small[1].num_features == 3
    assert small[1].running_mean.shape == (3,)
    assert small[4].weight.shape == (4, 3, 3, 3)
    assert small[4].in_channels == 3
    assert small[8].weight.shape == (5, 16)
    keep1 = np.sort(np.argsort(-output_norms(model[0]), kind="stable")[:3])
    keep2 = np.sort(np.argsort(-output_norms(model[4]), kind="stable")[:4])
    np.testing.assert_array_equal(small[1].running_var.data, model[1].running_var.data[keep1])
    # Flatten: channel c owns the 2*2 columns c*4 .. c*4+3 of the Linear.
    cols = (keep2[:, None] * 4 + np.arange(4)).ravel()
    np.testing.assert_array_equal(small[8].weight.data, model[8].weight.data[:, cols])
    # Same outputs as the original with the removed channels' consumers cut.
    reference = structured_prune(model, 0, layers=[])
    removed1 = np.setdiff1d(np.arange(6), keep1)
    removed2 = np.setdiff1d(np.arange(8), keep2)
    reference[4].weight.data[:, removed1] = 0
    reference[8].weight.data[:, (removed2[:, None] * 4 + np.arange(4)).ravel()] = 0
    with no_grad():
        np.testing.assert_allclose(small(x).data, reference(x).data, rtol=1e-4, atol=1e-5)


def test_errors() -> None:
    model = _mlp()
    with pytest.raises(ValueError, match=r"amount=1\.0 would remove 128 of the 128 outputs"):
        structured_prune(model, 1.0)
    with pytest.raises(ValueError, match="amount=128 would remove 128 of the 128"):
        structured_prune(model, 128)
    with pytest.raises(ValueError, match=r"amount=1\.5"):
        structured_prune(model, 1.5)
    with pytest.raises(ValueError, match="layer 2 is the last Linear/Conv2d"):
        structured_prune(model, 0.5, layers=[2])
    with pytest.raises(ValueError, match=r"layer 1 is not a Linear or Conv2d of the model; "
                       r"those are at \[0, 2\]"):  # fmt: skip
        structured_prune(model, 0.5, layers=[1])
    with pytest.raises(TypeError, match="expects a Sequential"):
        structured_prune(model[0], 0.5)  # type: ignore[arg-type]
    pruned = _mlp()
    l1_unstructured(pruned[0], "weight", 0.5)
    with pytest.raises(ValueError, match="holds pruning masks"):
        structured_prune(pruned, 0.5)
    odd = Sequential(Linear(4, 6), Linear(6, 6), Linear(6, 2))
    odd_inner = Sequential(Linear(4, 6), Sequential(Linear(6, 6)), Linear(6, 2))
    assert structured_prune(odd, 0.5, layers=[0])[1].weight.shape == (6, 3)
    with pytest.raises(ValueError, match=r"layer 1 \(Sequential\) sits between layer 0"):
        structured_prune(odd_inner, 0.5, layers=[0])
