"""The losses as Modules (``torch.nn.MSELoss`` and friends), each a thin call of its function.

Class weights are registered as buffers, as in PyTorch, so they are saved in ``state_dict`` and
follow ``.to(dtype)``, and never show up in ``parameters()``.
"""

from __future__ import annotations

from tinytorch.layers import Module
from tinytorch.losses.functional import (
    Reduction,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    check_reduction,
    cross_entropy,
    mse_loss,
)
from tinytorch.tensor import Tensor, TensorLike

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "MSELoss"]


def _as_tensor(value: TensorLike | None) -> Tensor | None:
    if value is None or isinstance(value, Tensor):
        return value
    return Tensor(value)


class _Loss(Module):
    def __init__(self, op: str, reduction: Reduction) -> None:
        super().__init__()
        check_reduction(op, reduction)
        self.reduction: Reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error as a Module; see :func:`tinytorch.losses.mse_loss`.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> MSELoss(reduction="sum")(Tensor([1.0, 2.0]), Tensor([0.0, 0.0]))
        tensor(5.)
    """

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__("MSELoss", reduction)

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:
        return mse_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits against class indices as a Module; see
    :func:`tinytorch.losses.cross_entropy`. ``weight`` is kept as a buffer.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> loss_fn = CrossEntropyLoss(label_smoothing=0.1)
        >>> loss_fn(Tensor([[5.0, 0.0], [0.0, 5.0]]), Tensor([0, 1])).shape
        ()
    """

    weight: Tensor | None

    def __init__(
        self,
        weight: TensorLike | None = None,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__("CrossEntropyLoss", reduction)
        if isinstance(label_smoothing, bool) or not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing!r}"
            )
        self.register_buffer("weight", _as_tensor(weight))
        self.ignore_index = ignore_index
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:
        return cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities as a Module; see
    :func:`tinytorch.losses.binary_cross_entropy`. ``weight`` is kept as a buffer.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> BCELoss()(Tensor([1.0, 0.0]), Tensor([0.0, 1.0]))
        tensor(100.)
    """

    weight: Tensor | None

    def __init__(self, weight: TensorLike | None = None, reduction: Reduction = "mean") -> None:
        super().__init__("BCELoss", reduction)
        self.register_buffer("weight", _as_tensor(weight))

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:
        return binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid plus binary cross-entropy on logits, stable, as a Module; see
    :func:`tinytorch.losses.binary_cross_entropy_with_logits`. ``weight`` and ``pos_weight``
    are kept as buffers.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> loss_fn = BCEWithLogitsLoss(pos_weight=Tensor([3.0]))
        >>> loss_fn(Tensor([[0.0], [0.0]]), Tensor([[1.0], [0.0]]))
        tensor(1.3863)
    """

    weight: Tensor | None
    pos_weight: Tensor | None

    def __init__(
        self,
        weight: TensorLike | None = None,
        reduction: Reduction = "mean",
        pos_weight: TensorLike | None = None,
    ) -> None:
        super().__init__("BCEWithLogitsLoss", reduction)
        self.register_buffer("weight", _as_tensor(weight))
        self.register_buffer("pos_weight", _as_tensor(pos_weight))

    def forward(self, input: Tensor, target: TensorLike) -> Tensor:
        return binary_cross_entropy_with_logits(
            input,
            target,
            weight=self.weight,
            reduction=self.reduction,
            pos_weight=self.pos_weight,
        )
