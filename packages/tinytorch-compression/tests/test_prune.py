"""Unstructured pruning: PyTorch's masks on the same weights, its reparametrisation, masks that
hold through fine-tuning, composition of repeated pruning, and clear errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from tinytorch.compression import (
    L1Unstructured,
    PruningContainer,
    global_unstructured,
    is_pruned,
    l1_unstructured,
    random_unstructured,
    remove,
)
from tinytorch.layers import Linear, Parameter, Sequential
from tinytorch.losses.functional import cross_entropy
from tinytorch.optimizers import SGD, AdamW
from tinytorch.tensor import Generator, Tensor, randint, randn


def _linear(out_f: int = 6, in_f: int = 5, seed: int = 0) -> Linear:
    return Linear(in_f, out_f, generator=Generator(seed))


def _torch_mask(weight: np.ndarray, amount: float | int) -> np.ndarray:
    torch = pytest.importorskip("torch")
    prune = pytest.importorskip("torch.nn.utils.prune")
    module = torch.nn.Module()
    module.weight = torch.nn.Parameter(torch.tensor(weight))
    prune.l1_unstructured(module, "weight", amount)
    return module.weight_mask.numpy()


@pytest.mark.parametrize("shape", [(6, 5), (10, 128), (4, 3, 3, 3), (17,)])
@pytest.mark.parametrize("amount", [0.0, 0.1, 0.5, 0.9, 1.0, 3, 0.33])
def test_l1_mask_equals_torch(shape: tuple[int, ...], amount: float | int) -> None:
    w = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    layer = Linear(1, 1)
    layer.weight = Parameter(w.copy())
    l1_unstructured(layer, "weight", amount)
    np.testing.assert_array_equal(layer.weight_mask.data, _torch_mask(w, amount))


def test_l1_mask_equals_torch_with_ties() -> None:
    rng = np.random.default_rng(2)
    # One decimal: many equal magnitudes (and equal magnitudes of opposite sign).
    w = np.round(rng.standard_normal((12, 10)), 1).astype(np.float32)
    mags = np.sort(np.abs(w).ravel())
    # Counts that end exactly at a group of ties: every tied entry on one side, so the mask is
    # defined whatever order a sort gives equal values, and must be torch's exactly.
    bounds = [k for k in range(1, w.size) if mags[k - 1] != mags[k]]
    for k in bounds[::5]:
        layer = Linear(1, 1)
        layer.weight = Parameter(w.copy())
        l1_unstructured(layer, "weight", k)
        np.testing.assert_array_equal(layer.weight_mask.data, _torch_mask(w, k), err_msg=f"k={k}")
    # A count inside a group of ties: the same mask away from the tie, the same count, and the
    # entries pruned within the tie are the lowest flat indices (our documented rule).
    k = next(k for k in range(1, w.size) if k not in bounds and k - 1 in bounds)
    layer = Linear(1, 1)
    layer.weight = Parameter(w.copy())
    l1_unstructured(layer, "weight", k)
    ours, theirs = layer.weight_mask.data, _torch_mask(w, k)
    tie = np.abs(w) == mags[k - 1]
    np.testing.assert_array_equal(ours[~tie], theirs[~tie])
    assert ours.sum() == theirs.sum() == w.size - k
    pruned_in_tie = np.flatnonzero((ours == 0) & tie)
    assert list(pruned_in_tie) == list(np.flatnonzero(tie)[: pruned_in_tie.size])


def test_repeated_pruning_composes_as_torch() -> None:
    torch = pytest.importorskip("torch")
    prune = pytest.importorskip("torch.nn.utils.prune")
    w = np.random.default_rng(3).standard_normal((8, 9)).astype(np.float32)
    t = torch.nn.Module()
    t.weight = torch.nn.Parameter(torch.tensor(w))
    layer = Linear(1, 1)
    layer.weight = Parameter(w.copy())
    for amount in (0.5, 0.3, 5):
        prune.l1_unstructured(t, "weight", amount)
        method = L1Unstructured.apply(layer, "weight", amount=amount)
        np.testing.assert_array_equal(layer.weight_mask.data, t.weight_mask.numpy())
    assert isinstance(method, PruningContainer)
    assert len(method) == 3
    # 0.5 of 72 = 36 pruned, then round(0.3 * 36) = 11 of what is left, then 5: 52 in all.
    assert int((layer.weight_mask.data == 0).sum()) == 52


def test_global_unstructured_equals_torch() -> None:
    torch = pytest.importorskip("torch")
    prune = pytest.importorskip("torch.nn.utils.prune")
    rng = np.random.default_rng(4)
    ws = [rng.standard_normal(s).astype(np.float32) * f for s, f in (((6, 5), 1), ((4, 6), 3))]
    ours = [Linear(1, 1) for _ in ws]
    theirs = [torch.nn.Linear(1, 1) for _ in ws]
    for o, t, w in zip(ours, theirs, ws, strict=True):
        o.weight = Parameter(w.copy())
        t.weight = torch.nn.Parameter(torch.tensor(w))
    for amount in (0.6, 7):
        global_unstructured([(m, "weight") for m in ours], L1Unstructured, amount=amount)
        prune.global_unstructured(
            [(m, "weight") for m in theirs], prune.L1Unstructured, amount=amount
        )
        for o, t in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(o.weight_mask.data, t.weight_mask.numpy())
    total = sum(int((m.weight_mask.data == 0).sum()) for m in ours)
    assert total == round(0.6 * 54) + 7


def test_reparametrisation_as_torch() -> None:
    layer = _linear()
    weight = layer.weight
    l1_unstructured(layer, "weight", 0.5)
    assert list(layer.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    assert layer.weight_orig is weight  # the same Parameter: an optimizer keeps updating it
    assert [n for n, _ in layer.named_parameters()] == ["bias", "weight_orig"]
    assert not isinstance(layer.weight, Parameter)
    np.testing.assert_array_equal(layer.weight.data, weight.data * layer.weight_mask.data)
    x = randn(3, 5, generator=Generator(1))
    out = layer(x)
    expected = x.data @ (weight.data * layer.weight_mask.data).T + layer.bias.data
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)
    out.sum().backward()
    grad = weight.grad.data
    assert np.all(grad[layer.weight_mask.data == 0] == 0)
    np.testing.assert_allclose(
        grad, np.broadcast_to(x.data.sum(0), (6, 5)) * layer.weight_mask.data, rtol=1e-6
    )


@pytest.mark.parametrize("make", ["sgd", "adamw"])
def test_masks_hold_through_fine_tuning(make: str) -> None:
    model = Sequential(_linear(8, 5, 0), _linear(3, 8, 1))
    global_unstructured([(model[0], "weight"), (model[1], "weight")], L1Unstructured, amount=0.7)
    masks = [m.weight_mask.data.copy() for m in (model[0], model[1])]
    params = list(model.parameters())
    if make == "sgd":
        optimizer = SGD(params, lr=0.5, momentum=0.9, weight_decay=1e-2)
    else:
        optimizer = AdamW(params, lr=0.1, weight_decay=0.5)
    g = Generator(3)
    before = model[0].weight_orig.data.copy()
    for _ in range(6):
        x, y = randn(16, 5, generator=g), randint(0, 3, (16,), generator=g)
        optimizer.zero_grad()
        cross_entropy(model(x), y).backward()
        optimizer.step()
        model(x)  # the forward pre-hook recomputes weight from weight_orig
        for layer, mask in zip((model[0], model[1]), masks, strict=True):
            assert np.all(layer.weight.data[mask == 0] == 0)
            effective = layer.weight_orig.data * layer.weight_mask.data
            assert np.all(effective[mask == 0] == 0)
            np.testing.assert_array_equal(layer.weight_mask.data, mask)
    kept = masks[0] == 1
    assert not np.allclose(model[0].weight_orig.data[kept], before[kept])  # it did train


def test_remove_makes_it_permanent() -> None:
    layer = _linear()
    orig = layer.weight
    l1_unstructured(layer, "weight", 10)
    mask = layer.weight_mask.data.copy()
    remove(layer, "weight")
    assert layer.weight is orig
    assert isinstance(layer.weight, Parameter)
    assert list(layer.state_dict()) == ["bias", "weight"]
    assert int((layer.weight.data == 0).sum()) == 10
    assert np.all(layer.weight.data[mask == 0] == 0)
    assert not is_pruned(layer)
    with pytest.raises(ValueError, match="has to be pruned before pruning can be removed"):
        remove(layer, "weight")


def test_is_pruned_and_deepcopy() -> None:
    model = Sequential(_linear(), _linear(2, 6))
    assert not is_pruned(model)
    l1_unstructured(model[1], "weight", 0.5)
    assert is_pruned(model)
    twin = copy.deepcopy(model)
    twin[1].weight_orig.data[...] = 1.0
    twin(randn(2, 5))
    np.testing.assert_array_equal(twin[1].weight.data, twin[1].weight_mask.data)


def test_random_unstructured_counts_and_composes() -> None:
    layer = _linear(10, 10)
    random_unstructured(layer, "weight", 0.3, generator=Generator(0))
    random_unstructured(layer, "weight", 0.5, generator=Generator(1))
    assert int((layer.weight_mask.data == 0).sum()) == 30 + 35


def test_importance_scores_decide() -> None:
    layer = _linear(2, 3)
    scores = np.array([[5.0, 4.0, 3.0], [2.0, 1.0, 0.0]])
    l1_unstructured(layer, "weight", 2, importance_scores=scores)
    assert layer.weight_mask.data.tolist() == [[1, 1, 1], [1, 0, 0]]


@pytest.mark.parametrize(
    ("amount", "error", "message"),
    [
        (-0.1, ValueError, "amount=-0.1 should be a float in \\[0, 1\\] or an int >= 0"),
        (1.5, ValueError, "amount=1.5"),
        (-2, ValueError, "amount=-2"),
        (float("nan"), ValueError, "amount=nan"),
        ("0.5", TypeError, "amount must be an int"),
        (True, TypeError, "amount must be an int"),
        (31, ValueError, "amount=31 is more than the 30 entries"),
    ],
)
def test_bad_amounts_are_refused(amount: object, error: type[Exception], message: str) -> None:
    layer = _linear()
    state = {k: v.data.copy() for k, v in layer.state_dict().items()}
    with pytest.raises(error, match=message):
        l1_unstructured(layer, "weight", amount)  # type: ignore[arg-type]
    assert not is_pruned(layer)
    assert list(layer.state_dict()) == list(state)


def test_pruning_twice_counts_what_remains() -> None:
    layer = _linear()  # 30 weights
    l1_unstructured(layer, "weight", 20)
    mask = layer.weight_mask.data.copy()
    with pytest.raises(ValueError, match="amount=11 is more than the 10 entries"):
        l1_unstructured(layer, "weight", 11)
    np.testing.assert_array_equal(layer.weight_mask.data, mask)  # nothing changed
    l1_unstructured(layer, "weight", 10)
    assert int(layer.weight_mask.data.sum()) == 0


def test_unknown_names_are_refused() -> None:
    layer = _linear()
    with pytest.raises(ValueError, match="Linear has no parameter named 'wieght'"):
        l1_unstructured(layer, "wieght", 0.5)
    with pytest.raises(ValueError, match="global_unstructured: Linear has no parameter"):
        global_unstructured([(layer, "gain")], L1Unstructured, amount=0.5)
    with pytest.raises(ValueError, match="remove: parameter 'weight' of Linear has to be pruned"):
        remove(layer, "weight")
    with pytest.raises(TypeError, match="module must be a Module"):
        l1_unstructured(Tensor([1.0]), "weight", 0.5)  # type: ignore[arg-type]
