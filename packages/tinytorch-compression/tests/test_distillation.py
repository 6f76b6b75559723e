"""Hinton's distillation loss: PyTorch's value and gradient, a float64 gradcheck, stability at
logits of 1e4, and a training loop whose gradient reaches the student."""

from __future__ import annotations

import numpy as np
import pytest

from tinytorch.autograd import gradcheck
from tinytorch.compression import DistillationLoss, distillation_loss, train_student
from tinytorch.dataloader import DataLoader, TensorDataset
from tinytorch.layers import Linear
from tinytorch.losses.functional import cross_entropy
from tinytorch.optimizers import SGD
from tinytorch.tensor import Generator, Tensor, float64, randint, randn


@pytest.mark.parametrize(("temperature", "alpha"), [(1.0, 0.5), (4.0, 0.9), (2.5, 1.0), (3.0, 0.0)])
def test_gradcheck(temperature: float, alpha: float) -> None:
    g = Generator(0)
    s = randn(5, 4, dtype=float64, requires_grad=True, generator=g)
    t = randn(5, 4, dtype=float64, generator=g) * 3
    y = randint(0, 4, (5,), generator=g)
    assert gradcheck(lambda s, t: distillation_loss(s, t, y, temperature, alpha), [s, t])


@pytest.mark.parametrize(("temperature", "alpha"), [(1.0, 0.5), (4.0, 0.9), (2.0, 1.0)])
def test_value_and_gradient_equal_torch(temperature: float, alpha: float) -> None:
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(1)
    s, t = rng.standard_normal((6, 5)) * 2, rng.standard_normal((6, 5)) * 2
    y = rng.integers(0, 5, 6)
    ours = Tensor(s, requires_grad=True)
    loss = distillation_loss(ours, Tensor(t), Tensor(y), temperature, alpha)
    loss.backward()
    ts = torch.tensor(s, requires_grad=True)
    kl = F.kl_div(
        F.log_softmax(ts / temperature, -1),
        F.log_softmax(torch.tensor(t) / temperature, -1),
        reduction="batchmean",
        log_target=True,
    )
    ref = alpha * temperature**2 * kl + (1 - alpha) * F.cross_entropy(ts, torch.tensor(y))
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(ours.grad.data, ts.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_stable_at_large_logits() -> None:
    s = Tensor([[1e4, -1e4, 0.0], [0.0, 1e4, 1e4]], requires_grad=True)
    t = Tensor([[-1e4, 1e4, 0.0], [1e4, 0.0, -1e4]])
    loss = distillation_loss(s, t, Tensor([0, 1]), temperature=2.0, alpha=0.7)
    loss.backward()
    assert np.isfinite(loss.item())
    assert loss.item() > 1e3
    assert np.all(np.isfinite(s.grad.data))
    same = distillation_loss(s.detach(), s.detach(), alpha=1.0)
    assert same.item() == 0.0


def test_no_gradient_reaches_the_teacher() -> None:
    s = randn(3, 4, requires_grad=True)
    t = randn(3, 4, requires_grad=True)
    distillation_loss(s, t, randint(0, 4, (3,))).backward()
    assert t.grad is None
    assert s.grad is not None


def test_errors() -> None:
    s, t = randn(3, 4), randn(3, 4)
    with pytest.raises(ValueError, match="temperature must be > 0, got 0"):
        distillation_loss(s, t, randint(0, 4, (3,)), temperature=0)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\], got 1\.5"):
        distillation_loss(s, t, randint(0, 4, (3,)), alpha=1.5)
    with pytest.raises(ValueError, match="a target is needed unless alpha == 1"):
        distillation_loss(s, t)
    with pytest.raises(ValueError, match=r"\(3, 4\) and teacher logits of shape \(3, 5\)"):
        distillation_loss(s, randn(3, 5), alpha=1.0)
    with pytest.raises(ValueError, match="without a teacher alpha must be 0"):
        train_student(None, Linear(4, 4), [], SGD(Linear(4, 4).parameters()), alpha=0.5)


def _data() -> TensorDataset:
    g = Generator(5)
    return TensorDataset(randn(96, 6, generator=g), randint(0, 3, (96,), generator=g))


def test_train_student_moves_the_student_toward_the_teacher() -> None:
    data = _data()
    teacher = Linear(6, 3, generator=Generator(6))
    student = Linear(6, 3, generator=Generator(7))
    x = data.tensors[0]
    loss_fn = DistillationLoss(temperature=2.0, alpha=1.0)
    before = loss_fn(student(x), teacher(x)).item()
    optimizer = SGD(student.parameters(), lr=0.5)
    history = train_student(teacher, student, DataLoader(data, batch_size=16), optimizer,
                            epochs=5, temperature=2.0, alpha=1.0)  # fmt: skip
    after = loss_fn(student(x), teacher(x)).item()
    assert len(history) == 5
    assert history[-1] < history[0]
    assert after < 0.5 * before


def test_alpha_zero_is_plain_cross_entropy_training() -> None:
    data = _data()
    a, b = Linear(6, 3, generator=Generator(8)), Linear(6, 3, generator=Generator(8))
    train_student(None, a, DataLoader(data, batch_size=32), SGD(a.parameters(), lr=0.1),
                  epochs=2, alpha=0.0)  # fmt: skip
    optimizer = SGD(b.parameters(), lr=0.1)
    for _ in range(2):
        for x, y in DataLoader(data, batch_size=32):
            optimizer.zero_grad()
            cross_entropy(b(x), y).backward()
            optimizer.step()
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
