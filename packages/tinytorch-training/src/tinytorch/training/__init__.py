"""TinyTorch module 07: training.

The loop that turns a model, a loss and an optimizer into a trained model (:class:`Trainer`),
and what a real run needs around it: learning-rate schedules, gradient clipping, callbacks
(early stopping, history files, periodic checkpoints), metrics, a progress line, and
checkpoints that are atomic, verified and pickle-free, from which a run resumes bit-exactly,
and ``save`` / ``load`` for state dicts in the same format (``torch.save`` / ``torch.load``).

Example:
    >>> from tinytorch.layers import Linear, Sequential
    >>> from tinytorch.activations import ReLU
    >>> from tinytorch.losses import CrossEntropyLoss
    >>> from tinytorch.optimizers import AdamW
    >>> from tinytorch.tensor import Generator, randn
    >>> g = Generator(0)
    >>> x = randn(128, 4, generator=g)
    >>> y = x[:, :3].argmax(axis=1)   # the class is the largest of the first three features
    >>> model = Sequential(Linear(4, 32, generator=g), ReLU(), Linear(32, 3, generator=g))
    >>> trainer = Trainer(model, AdamW(model.parameters(), lr=1e-2), CrossEntropyLoss(),
    ...                   metrics={"accuracy": accuracy})
    >>> _ = trainer.fit([(x, y)], epochs=100)
    >>> trainer.evaluate([(x, y)])["accuracy"] > 0.9
    True
"""

from tinytorch.training.callbacks import Callback, EarlyStopping, HistoryWriter, ModelCheckpoint
from tinytorch.training.checkpoint import (
    CheckpointError,
    load,
    load_arrays,
    load_checkpoint,
    save,
    save_arrays,
    save_checkpoint,
)
from tinytorch.training.clip import clip_grad_norm_, clip_grad_value_
from tinytorch.training.metrics import accuracy, binary_accuracy
from tinytorch.training.progress import Progress
from tinytorch.training.schedulers import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    SequentialLR,
    StepLR,
)
from tinytorch.training.trainer import History, Trainer

__all__ = [
    "Callback",
    "CheckpointError",
    "CosineAnnealingLR",
    "EarlyStopping",
    "ExponentialLR",
    "History",
    "HistoryWriter",
    "LRScheduler",
    "LinearLR",
    "ModelCheckpoint",
    "Progress",
    "SequentialLR",
    "StepLR",
    "Trainer",
    "accuracy",
    "binary_accuracy",
    "clip_grad_norm_",
    "clip_grad_value_",
    "load",
    "load_arrays",
    "load_checkpoint",
    "save",
    "save_arrays",
    "save_checkpoint",
]
