"""Knowledge distillation (Hinton, Vinyals and Dean, 2015): a student learns from a teacher's
softened outputs as well as from the labels.

``loss = alpha * T**2 * KL(softmax(teacher / T) || softmax(student / T))
+ (1 - alpha) * cross_entropy(student, target)``

The KL term is ``sum p_t * (log p_t - log p_s)`` over classes, averaged over the batch
(PyTorch's ``kl_div(..., reduction="batchmean")``); ``T**2`` keeps its gradient's scale
independent of ``T``. It is built from recorded ops (``log_softmax``, ``exp``, ``sub``, ``mul``,
``sum``, ``cross_entropy``), so the gradient reaches the student through the same rules as any
other graph: no new op, no copy of the logits' data. Both log-probabilities come from
``log_softmax`` (log-sum-exp), so logits of 1e4 give finite values and gradients; the teacher's
probabilities that underflow to 0 contribute ``0 * finite = 0``. The teacher's logits are
detached: no gradient flows to the teacher.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tinytorch.activations.functional import log_softmax
from tinytorch.autograd import no_grad
from tinytorch.layers import Module
from tinytorch.losses.functional import cross_entropy
from tinytorch.optimizers import Optimizer
from tinytorch.tensor import Tensor

__all__ = ["DistillationLoss", "distillation_loss", "train_student"]


def distillation_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    target: Tensor | None = None,
    temperature: float = 4.0,
    alpha: float = 0.9,
) -> Tensor:
    """Hinton's distillation loss of ``(N, C)`` logits (see the module docstring). ``target``
    (class indices) may be omitted only when ``alpha == 1``.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> s = Tensor([[1.0, 2.0, 0.5]], requires_grad=True)
        >>> loss = distillation_loss(s, s.detach(), alpha=1.0)  # the same distribution: KL 0
        >>> abs(loss.item()) < 1e-6
        True
    """
    op = "distillation_loss"
    if not isinstance(student_logits, Tensor) or not isinstance(teacher_logits, Tensor):
        raise TypeError(f"{op}: the logits must be Tensors")
    if student_logits.ndim != 2 or student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"{op}: student logits of shape {student_logits.shape} and teacher logits of shape "
            f"{teacher_logits.shape} must both be (N, C)"
        )
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not (temperature > 0)
    ):
        raise ValueError(f"{op}: temperature must be > 0, got {temperature!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"{op}: alpha must be in [0, 1], got {alpha!r}")
    if target is None and alpha != 1:
        raise ValueError(f"{op}: a target is needed unless alpha == 1, got alpha={alpha}")
    # BEGIN SOLUTION distillation-loss
    # HINT: soften both with the temperature and take log_softmax (stable at large logits); the
    # HINT: KL term is sum p_t * (log p_t - log p_s) over the batch divided by N, times
    # HINT: alpha * T**2; add (1 - alpha) * cross_entropy with the labels unless alpha is 1.
    # HINT: Build it from recorded ops, and detach the teacher.
    # TESTS: test_distillation
    n = student_logits.shape[0]
    log_p_teacher = log_softmax(teacher_logits.detach() / temperature, dim=-1)
    log_p_student = log_softmax(student_logits / temperature, dim=-1)
    kl = (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum() / n
    loss: Tensor = kl * (alpha * temperature * temperature)
    if alpha != 1:
        assert target is not None
        loss = loss + cross_entropy(student_logits, target) * (1 - alpha)
    return loss
    # END SOLUTION


class DistillationLoss(Module):
    """:func:`distillation_loss` as a module: ``DistillationLoss(T, alpha)(s, t, target)``.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> loss = DistillationLoss(temperature=2.0, alpha=0.5)
        >>> s, t = Tensor([[0.0, 1.0]]), Tensor([[1.0, 0.0]])
        >>> round(loss(s, t, Tensor([1])).item(), 4)  # 0.5 * 4 * KL 0.1225 + 0.5 * CE 0.3133
        0.4015
    """

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9) -> None:
        super().__init__()
        self.temperature = temperature
        self.alpha = alpha

    def forward(self, student: Tensor, teacher: Tensor, target: Tensor | None = None) -> Tensor:
        return distillation_loss(student, teacher, target, self.temperature, self.alpha)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, alpha={self.alpha}"


def train_student(
    teacher: Module | None,
    student: Module,
    loader: Iterable[Any],
    optimizer: Optimizer,
    epochs: int = 1,
    temperature: float = 4.0,
    alpha: float = 0.9,
    on_epoch: Callable[[int, float], object] | None = None,
) -> list[float]:
    """Train ``student`` on ``loader``'s ``(x, y)`` batches with :func:`distillation_loss`
    against ``teacher`` (kept in eval mode, run without a graph); returns the mean loss of each
    epoch. With ``alpha=0`` (or ``teacher=None``, which needs ``alpha=0``) it is plain
    cross-entropy training: the same loop and steps, the baseline distillation is measured
    against.

    Example:
        >>> from tinytorch.dataloader import DataLoader, TensorDataset
        >>> from tinytorch.layers import Linear
        >>> from tinytorch.optimizers import SGD
        >>> from tinytorch.tensor import Generator, randint, randn
        >>> g = Generator(0)
        >>> data = TensorDataset(randn(64, 4, generator=g), randint(0, 3, (64,), generator=g))
        >>> teacher, student = Linear(4, 3, generator=g), Linear(4, 3, generator=g)
        >>> losses = train_student(teacher, student, DataLoader(data, batch_size=16),
        ...                        SGD(student.parameters(), lr=0.1), epochs=2)
        >>> len(losses)
        2
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"train_student: epochs must be an int >= 0, got {epochs!r}")
    if teacher is None and alpha != 0:
        raise ValueError(f"train_student: without a teacher alpha must be 0, got {alpha}")
    if teacher is not None:
        teacher.eval()
    student.train()
    history = []
    for epoch in range(epochs):
        total, batches = 0.0, 0
        for x, y in loader:
            logits = student(x)
            if alpha == 0:
                loss = cross_entropy(logits, y)
            else:
                assert teacher is not None
                with no_grad():
                    soft = teacher(x)
                loss = distillation_loss(logits, soft, y, temperature, alpha)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.item())
            batches += 1
        history.append(total / max(batches, 1))
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    student.eval()
    return history
