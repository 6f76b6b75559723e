"""The loss functions against hand-computed NumPy values, at extreme inputs, and on bad input."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
)
from tinytorch.tensor import Tensor, float32, float64

RNG = np.random.default_rng(0)


def reduce(loss, reduction):
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


# ---- mse_loss --------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(), (1,), (3, 1, 4)])
def test_mse_matches_numpy(reduction, shape):
    x, t = RNG.standard_normal(shape), RNG.standard_normal(shape)
    out = mse_loss(Tensor(x), Tensor(t), reduction=reduction)
    np.testing.assert_allclose(out.data, reduce((x - t) ** 2, reduction), rtol=1e-12)
    assert out.dtype == float64


def test_mse_hand_value_and_dtype():
    out = mse_loss(Tensor([1.0, 2.0, 3.0]), Tensor([1.0, 0.0, 0.0]))
    assert out.dtype == float32
    assert out.shape == ()
    assert float(out) == pytest.approx(13 / 3)
    # A float64 target is cast to the input's dtype; a list target is accepted.
    assert mse_loss(Tensor([1.0]), Tensor(np.array([3.0]))).dtype == float32
    assert float(mse_loss(Tensor([1.0, 1.0]), [0.0, 2.0], reduction="sum")) == 2.0


def test_mse_is_one_node_over_input_and_target():
    x = Tensor([1.0, 2.0], requires_grad=True)
    t = Tensor([0.0, 0.0])
    out = mse_loss(x, t)
    assert out.node.op == "mse_loss"
    assert out.node.inputs == (x, t)


def test_mse_errors():
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(4,\) .* input shape \(4, 1\)"):
        mse_loss(Tensor(np.zeros((4, 1))), Tensor(np.zeros(4)))
    with pytest.raises(TypeError, match="mse_loss: target must be a floating tensor, got int64"):
        mse_loss(Tensor([1.0]), Tensor([1]))
    with pytest.raises(TypeError, match="mse_loss: input must be a floating tensor"):
        mse_loss(Tensor([1]), Tensor([1.0]))
    with pytest.raises(TypeError, match="mse_loss: input must be a Tensor"):
        mse_loss([1.0], Tensor([1.0]))
    with pytest.raises(ValueError, match="mse_loss: reduction must be one of"):
        mse_loss(Tensor([1.0]), Tensor([1.0]), reduction="avg")
    with pytest.raises(TypeError, match="input is float32 but target is float64"):
        mse_loss(Tensor([1.0]), Tensor(np.ones(1), requires_grad=True))


# ---- cross_entropy ---------------------------------------------------------------------------
def ce_reference(x, t, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    """Straight from the definition, on (N, C) logits of moderate size: softmax, then logs."""
    n, c = x.shape
    probs = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    w = np.ones(c) if weight is None else weight
    losses, weights = [], []
    for i in range(n):
        if t[i] == ignore_index:
            losses.append(0.0)
            weights.append(0.0)
            continue
        nll = -w[t[i]] * np.log(probs[i, t[i]])
        uniform = -(w * np.log(probs[i])).sum() / c
        losses.append((1 - smoothing) * nll + smoothing * uniform)
        weights.append(w[t[i]])
    losses = np.array(losses)
    if reduction == "none":
        return losses
    total = losses.sum()
    return total if reduction == "sum" else total / np.sum(weights)


CASES = list(itertools.product(["mean", "sum", "none"], [False, True], [None, 2], [0.0, 0.3]))


@pytest.mark.parametrize(("reduction", "weighted", "ignore", "smoothing"), CASES)
def test_cross_entropy_matches_reference(reduction, weighted, ignore, smoothing):
    x = RNG.standard_normal((6, 4)) * 2
    t = np.array([0, 1, 2, 3, 2, 1])
    w = np.array([0.5, 1.0, 2.0, 3.0]) if weighted else None
    ignore_index = -100 if ignore is None else ignore
    out = cross_entropy(
        Tensor(x),
        Tensor(t),
        weight=None if w is None else Tensor(w),
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=smoothing,
    )
    expected = ce_reference(x, t, w, ignore_index, reduction, smoothing)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 6),
    c=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    weighted=st.booleans(),
    smoothing=st.sampled_from([0.0, 0.1, 1.0]),
)
def test_cross_entropy_matches_reference_on_random_shapes(
    n, c, seed, reduction, weighted, smoothing
):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c)) * 3
    t = rng.integers(0, c, n)
    t[rng.random(n) < 0.3] = -100
    if (t == -100).all() and reduction == "mean":
        t[0] = 0  # the all-ignored mean is nan, tested on its own
    w = rng.random(c) + 0.1 if weighted else None
    out = cross_entropy(
        Tensor(x),
        Tensor(t),
        weight=None if w is None else Tensor(w),
        reduction=reduction,
        label_smoothing=smoothing,
    )
    expected = ce_reference(x, t, w, -100, reduction, smoothing)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-12)


def test_cross_entropy_hand_value():
    # Row 1: logsumexp(2, 0, -1) - 2 = log(1 + e^-2 + e^-3); row 2: log 3.
    out = cross_entropy(Tensor([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]]), Tensor([0, 2]))
    expected = (np.log(1 + np.exp(-2) + np.exp(-3)) + np.log(3)) / 2
    assert out.dtype == float32
    assert float(out) == pytest.approx(expected, rel=1e-6)


def test_weighted_mean_divides_by_summed_weights_of_kept_targets():
    x = np.zeros((3, 2))  # every loss is log 2
    w = np.array([1.0, 3.0])
    out = cross_entropy(Tensor(x), Tensor([0, 1, 1]), weight=Tensor(w), ignore_index=0)
    # Kept: two targets of class 1, weight 3 each: (3 log 2 + 3 log 2) / 6
    assert float(out) == pytest.approx(np.log(2))
    out = cross_entropy(Tensor(x), Tensor([0, 1, 1]), weight=Tensor(w))
    assert float(out) == pytest.approx(7 * np.log(2) / 7)
    out = cross_entropy(Tensor(x), Tensor([0, 1, 1]), weight=Tensor(w), reduction="sum")
    assert float(out) == pytest.approx(7 * np.log(2))


def test_all_targets_ignored_mean_is_nan_sum_is_zero():
    x = Tensor(np.zeros((2, 3)))
    assert np.isnan(float(cross_entropy(x, Tensor([-100, -100]))))
    assert float(cross_entropy(x, Tensor([-100, -100]), reduction="sum")) == 0.0
    np.testing.assert_array_equal(
        cross_entropy(x, Tensor([-100, 1]), reduction="none").data, [0.0, np.log(3)]
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_finite_at_extreme_logits(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], dtype=dtype)
    out = cross_entropy(Tensor(x), Tensor([1, 1]), reduction="none")
    np.testing.assert_allclose(out.data, [2e4, 0.0])
    assert out.dtype == dtype
    smoothed = cross_entropy(Tensor(x), Tensor([1, 1]), label_smoothing=0.1)
    assert np.isfinite(float(smoothed))
    # smoothing part per row: (0.1 / 3) * (sum of -log p) = (0.1 / 3) * (2e4 + 1e4 + ...)
    row2 = 0.9 * 0.0 + 0.1 / 3 * (2e4 + 0.0 + 1e4)
    row1 = 0.9 * 2e4 + 0.1 / 3 * (0.0 + 2e4 + 1e4)
    assert float(smoothed) == pytest.approx((row1 + row2) / 2, rel=1e-6)


def test_spatial_input_matches_the_flattened_form():
    x = RNG.standard_normal((2, 3, 4, 5))
    t = RNG.integers(0, 3, (2, 4, 5))
    t[0, 0, 0] = -100
    w = np.array([1.0, 2.0, 0.5])
    flat_x = np.moveaxis(x, 1, -1).reshape(-1, 3)
    for reduction in ("mean", "sum", "none"):
        out = cross_entropy(
            Tensor(x), Tensor(t), weight=Tensor(w), reduction=reduction, label_smoothing=0.2
        )
        expected = ce_reference(flat_x, t.reshape(-1), w, -100, reduction, 0.2)
        if reduction == "none":
            expected = expected.reshape(2, 4, 5)
        np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_unbatched_input():
    x = np.array([1.0, 2.0, 3.0])
    out = cross_entropy(Tensor(x), Tensor(2))
    assert out.shape == ()
    assert float(out) == pytest.approx(ce_reference(x[None], np.array([2]))[()])
    assert cross_entropy(Tensor(x), Tensor(2), reduction="none").shape == ()
    with pytest.raises(ValueError, match=r"target shape \(1,\) does not match input shape \(3,\)"):
        cross_entropy(Tensor(x), Tensor([2]))


def test_integer_targets_of_other_widths_and_lists():
    x = Tensor(np.zeros((2, 3)))
    a = cross_entropy(x, Tensor(np.array([0, 2], dtype=np.int32)))
    b = cross_entropy(x, [0, 2])
    assert float(a) == float(b) == pytest.approx(np.log(3))


def test_cross_entropy_is_one_node_with_targets_in_attrs():
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    w = Tensor([1.0, 2.0, 3.0], dtype=np.float64)
    out = cross_entropy(x, Tensor([0, 2]), weight=w, label_smoothing=0.1)
    node = out.node
    assert node.op == "cross_entropy"
    assert node.inputs == (x,)
    np.testing.assert_array_equal(node.attrs["target"], [0, 2])
    np.testing.assert_array_equal(node.attrs["weight"], [1.0, 2.0, 3.0])
    assert node.attrs["label_smoothing"] == 0.1
    assert node.attrs["reduction"] == "mean"


def test_cross_entropy_errors():
    x = Tensor(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"cross_entropy: target shape \(3,\) .* \(4, 5\)"):
        cross_entropy(x, Tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"expected target shape \(4, 7\)"):
        cross_entropy(Tensor(np.zeros((4, 5, 7))), Tensor([0, 1, 2, 3]))
    with pytest.raises(IndexError, match="cross_entropy: target 5 is out of range for 5 classes"):
        cross_entropy(x, Tensor([0, 1, 5, 2]))
    with pytest.raises(IndexError, match="target -1 is out of range"):
        cross_entropy(x, Tensor([0, 1, -1, 2]))
    with pytest.raises(TypeError, match="cross_entropy: target must hold integer class indices"):
        cross_entropy(x, Tensor([0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="cross_entropy: input must be a floating tensor"):
        cross_entropy(Tensor([[1, 2]]), Tensor([0]))
    with pytest.raises(ValueError, match=r"weight of shape \(4,\) .* \(5,\)"):
        cross_entropy(x, Tensor([0, 1, 2, 3]), weight=Tensor([1.0, 1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        cross_entropy(x, Tensor([0, 1, 2, 3]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction must be one of"):
        cross_entropy(x, Tensor([0, 1, 2, 3]), reduction="batchmean")
    with pytest.raises(ValueError, match="must have a class dimension"):
        cross_entropy(Tensor(1.0), Tensor(0))
    with pytest.raises(ValueError, match="no classes"):
        cross_entropy(Tensor(np.zeros((2, 0))), Tensor([0, 0]))
    with pytest.raises(ValueError, match="weight takes no gradient"):
        cross_entropy(x, Tensor([0, 1, 2, 3]), weight=Tensor(np.ones(5), requires_grad=True))


# ---- binary_cross_entropy --------------------------------------------------------------------
def bce_reference(p, t, w=None):
    loss = -(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log(1 - p), -100))
    return loss if w is None else loss * w


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_matches_numpy(reduction, weighted):
    p = RNG.random((3, 4)) * 0.98 + 0.01
    t = RNG.random((3, 4))
    w = RNG.random(4) if weighted else None
    out = binary_cross_entropy(
        Tensor(p), Tensor(t), weight=None if w is None else Tensor(w), reduction=reduction
    )
    np.testing.assert_allclose(out.data, reduce(bce_reference(p, t, w), reduction), rtol=1e-12)


def test_bce_hand_value_and_clamped_edges():
    out = binary_cross_entropy(Tensor([0.9, 0.2]), Tensor([1.0, 0.0]))
    assert float(out) == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2, rel=1e-6)
    edges = binary_cross_entropy(
        Tensor([0.0, 1.0, 0.0, 1.0]), Tensor([0.0, 1.0, 1.0, 0.0]), reduction="none"
    )
    np.testing.assert_array_equal(edges.data, [0.0, 0.0, 100.0, 100.0])


def test_bce_errors():
    p = Tensor([0.5, 0.5])
    with pytest.raises(ValueError, match=r"binary_cross_entropy: target shape \(3,\) .* \(2,\)"):
        binary_cross_entropy(p, Tensor([1.0, 0.0, 1.0]))
    with pytest.raises(TypeError, match="binary_cross_entropy: target must be a floating tensor"):
        binary_cross_entropy(p, Tensor([1, 0]))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*with_logits"):
        binary_cross_entropy(Tensor([1.5, 0.5]), Tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"weight of shape \(3,\) does not broadcast"):
        binary_cross_entropy(p, Tensor([1.0, 0.0]), weight=Tensor([1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"weight of shape \(2, 2\) does not broadcast"):
        binary_cross_entropy(p, Tensor([1.0, 0.0]), weight=Tensor(np.ones((2, 2))))
    with pytest.raises(ValueError, match="target takes no gradient"):
        binary_cross_entropy(p, Tensor([1.0, 0.0], requires_grad=True))


# ---- binary_cross_entropy_with_logits --------------------------------------------------------
def bcel_reference(x, t, w=None, pw=None):
    s = 1 / (1 + np.exp(-x))
    pw = 1.0 if pw is None else pw
    loss = -(pw * t * np.log(s) + (1 - t) * np.log(1 - s))
    return loss if w is None else loss * w


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    ("weighted", "pos_weighted"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_bce_with_logits_matches_numpy(reduction, weighted, pos_weighted):
    x = RNG.standard_normal((5, 3)) * 3
    t = RNG.random((5, 3))
    w = RNG.random((5, 1)) if weighted else None
    pw = RNG.random(3) * 4 if pos_weighted else None
    out = binary_cross_entropy_with_logits(
        Tensor(x),
        Tensor(t),
        weight=None if w is None else Tensor(w),
        reduction=reduction,
        pos_weight=None if pw is None else Tensor(pw),
    )
    expected = reduce(bcel_reference(x, t, w, pw), reduction)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_exact_at_extreme_logits(dtype):
    x = Tensor(np.array([1e4, -1e4, 1e4, -1e4], dtype=dtype))
    t = Tensor(np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype))
    out = binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_array_equal(out.data, [0.0, 0.0, 1e4, 1e4])
    assert out.dtype == dtype
    out = binary_cross_entropy_with_logits(x, t, reduction="none", pos_weight=Tensor([3.0]))
    np.testing.assert_array_equal(out.data, [0.0, 0.0, 1e4, 3e4])


def test_bce_with_logits_hand_value():
    # log(1 + e^-10000) = 0 and -log(1 - sigmoid(-2)) = log(1 + e^-2)
    out = binary_cross_entropy_with_logits(Tensor([10000.0, -2.0]), Tensor([1.0, 0.0]))
    assert float(out) == pytest.approx(np.log1p(np.exp(-2.0)) / 2, rel=1e-6)


def test_bce_with_logits_keeps_targets_and_weights_in_attrs():
    x = Tensor([0.0, 1.0], requires_grad=True)
    out = binary_cross_entropy_with_logits(x, Tensor([1.0, 0.0]), pos_weight=Tensor([2.0]))
    assert out.node.op == "binary_cross_entropy_with_logits"
    assert out.node.inputs == (x,)
    np.testing.assert_array_equal(out.node.attrs["target"], [1.0, 0.0])
    np.testing.assert_array_equal(out.node.attrs["pos_weight"], [2.0])
    out = binary_cross_entropy(Tensor([0.5], requires_grad=True), Tensor([1.0]))
    assert out.node.op == "binary_cross_entropy"


def test_bce_with_logits_errors():
    x = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"with_logits: target shape \(2,\) .* \(2, 3\)"):
        binary_cross_entropy_with_logits(x, Tensor([1.0, 0.0]))
    with pytest.raises(TypeError, match="target must be a floating tensor"):
        binary_cross_entropy_with_logits(x, Tensor(np.zeros((2, 3), dtype=np.int64)))
    with pytest.raises(ValueError, match=r"pos_weight of shape \(2,\) does not broadcast"):
        binary_cross_entropy_with_logits(x, Tensor(np.zeros((2, 3))), pos_weight=Tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="pos_weight takes no gradient"):
        binary_cross_entropy_with_logits(
            x, Tensor(np.zeros((2, 3))), pos_weight=Tensor([1.0], requires_grad=True)
        )
    with pytest.raises(ValueError, match="reduction must be one of"):
        binary_cross_entropy_with_logits(x, Tensor(np.zeros((2, 3))), reduction="avg")
