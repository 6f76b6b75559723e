"""The loss Modules: same numbers as the functions, options kept, weights as buffers."""

import numpy as np
import pytest

from tinytorch.layers import Linear, Module
from tinytorch.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    MSELoss,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
)
from tinytorch.tensor import Generator, Tensor, randn

RNG = np.random.default_rng(1)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_each_module_computes_its_function(reduction):
    x = Tensor(RNG.standard_normal((4, 3)))
    t = Tensor(RNG.random((4, 3)))
    p = Tensor(RNG.random((4, 3)) * 0.9 + 0.05)
    labels = Tensor([0, 2, 1, 2])
    w = Tensor([0.2, 1.0, 3.0], dtype=np.float64)
    pairs = [
        (MSELoss(reduction)(x, t), mse_loss(x, t, reduction)),
        (
            CrossEntropyLoss(w, ignore_index=1, reduction=reduction, label_smoothing=0.1)(
                x, labels
            ),
            cross_entropy(x, labels, w, 1, reduction, 0.1),
        ),
        (BCELoss(w, reduction)(p, t), binary_cross_entropy(p, t, w, reduction)),
        (
            BCEWithLogitsLoss(w, reduction, pos_weight=w)(x, t),
            binary_cross_entropy_with_logits(x, t, w, reduction, pos_weight=w),
        ),
    ]
    for got, expected in pairs:
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got.data, expected.data)


def test_weights_are_buffers_not_parameters():
    loss_fn = BCEWithLogitsLoss(weight=Tensor([1.0, 2.0]), pos_weight=[3.0, 4.0])
    assert list(loss_fn.state_dict()) == ["weight", "pos_weight"]
    assert list(loss_fn.parameters()) == []
    assert isinstance(loss_fn.pos_weight, Tensor)
    assert list(CrossEntropyLoss().state_dict()) == []
    assert list(CrossEntropyLoss(weight=[1.0, 2.0]).state_dict()) == ["weight"]


def test_loss_modules_compose_with_models():
    class Classifier(Module):
        def __init__(self):
            super().__init__()
            self.fc = Linear(4, 3, generator=Generator(0))
            self.loss = CrossEntropyLoss()

        def forward(self, x, y):
            return self.loss(self.fc(x), y)

    model = Classifier()
    x = randn(5, 4, generator=Generator(1))
    y = Tensor([0, 1, 2, 0, 1])
    assert float(model(x, y)) == pytest.approx(float(cross_entropy(model.fc(x), y)))
    assert [n for n, _ in model.named_parameters()] == ["fc.weight", "fc.bias"]


def test_options_are_validated_at_construction():
    for cls in (MSELoss, BCELoss):
        with pytest.raises(ValueError, match=f"{cls.__name__}: reduction must be one of"):
            cls(reduction="avg")
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction"):
        CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match="BCEWithLogitsLoss: reduction"):
        BCEWithLogitsLoss(reduction="avg")
    with pytest.raises(ValueError, match="CrossEntropyLoss: label_smoothing"):
        CrossEntropyLoss(label_smoothing=-0.1)


def test_repr():
    assert repr(CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"


def test_errors_from_the_function_come_through():
    with pytest.raises(ValueError, match=r"cross_entropy: target shape \(2,\)"):
        CrossEntropyLoss()(Tensor(np.zeros((3, 2))), Tensor([0, 1]))
