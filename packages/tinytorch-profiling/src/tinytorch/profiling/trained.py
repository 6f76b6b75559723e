"""The milestone models, trained as their milestones train them: the baselines of modules 15-19.

Quantization, compression, memoization and acceleration each measure what they keep of a
trained model (accuracy on held-out digits, validation loss of the character GPT), so they all
start from the same recipes, kept here once:

- :func:`train_classifier` ``("mlp")``: the 1986 MLP, SGD (lr 0.1, momentum 0.9), batch 32, 40
  epochs; ``("lenet")``: the 1998 LeNet, AdamW (lr 2e-3, weight decay 1e-2) with a cosine
  schedule, batch 32, 30 epochs. Both on the shipped digits, accuracy on the 364 held-out ones.
- :func:`train_char_gpt`: the 2017 character GPT (4 layers, 4 heads, 128 wide, context 64,
  batch 32, AdamW as nanoGPT configures it, warm-up then cosine decay, gradient clipping at 1),
  on the Python documentation's text split 90/10, and :func:`validation_loss` over every whole
  window of the held-out tenth.

Fewer epochs or steps make a quicker, weaker baseline for tests; the figures a README reports
come from the full recipes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.autograd import no_grad
from tinytorch.dataloader import DataLoader, TensorDataset
from tinytorch.layers import Module
from tinytorch.losses import CrossEntropyLoss
from tinytorch.profiling.workloads import char_gpt, digits, lenet_model, mlp_model
from tinytorch.tensor import Generator, Tensor
from tinytorch.training import CosineAnnealingLR, Trainer

__all__ = [
    "RECIPES",
    "TrainedClassifier",
    "TrainedGPT",
    "classifier_accuracy",
    "train_char_gpt",
    "train_classifier",
    "validation_loss",
]

Ids = npt.NDArray[np.int64]

#: name -> (full epochs, what the recipe is)
RECIPES: dict[str, tuple[int, str]] = {
    "mlp": (40, "1986 MLP 64-128-10, SGD lr 0.1 momentum 0.9, batch 32"),
    "lenet": (30, "1998 LeNet, AdamW lr 2e-3 wd 1e-2, cosine schedule, batch 32"),
}


@dataclass
class TrainedClassifier:
    """A trained milestone classifier with its data and its measured held-out accuracy."""

    name: str
    model: Module
    train: TensorDataset
    test: TensorDataset
    accuracy: float  # on the held-out digits, measured after training
    epochs: int
    seconds: float

    def loader(self, batch_size: int = 32, seed: int = 0) -> DataLoader:
        """A shuffling loader over the training digits (for fine-tuning)."""
        return DataLoader(
            self.train, batch_size=batch_size, shuffle=True, generator=Generator(seed)
        )


def classifier_accuracy(model: Module, dataset: TensorDataset) -> float:
    """The fraction of ``dataset`` that ``model`` (in eval mode, no graph) classifies right.

    Example:
        >>> from tinytorch.tensor import Generator
        >>> model = mlp_model(Generator(0))
        >>> 0.0 <= classifier_accuracy(model, digits(flatten=True)[1]) <= 1.0
        True
    """
    x, y = dataset.tensors
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            predicted = np.argmax(model(x).data, axis=-1)
    finally:
        model.train(was_training)
    return float(np.mean(predicted == y.data))


def train_classifier(name: str, epochs: int | None = None, seed: int = 0) -> TrainedClassifier:
    """Train the milestone classifier ``name`` (``"mlp"`` or ``"lenet"``) by its recipe.

    Example:
        >>> trained = train_classifier("mlp", epochs=5)
        >>> trained.accuracy > 0.5, trained.epochs
        (True, 5)
    """
    from tinytorch.optimizers import SGD, AdamW

    if name not in RECIPES:
        raise ValueError(f"train_classifier: unknown {name!r}; choose one of {', '.join(RECIPES)}")
    full_epochs, _ = RECIPES[name]
    epochs = full_epochs if epochs is None else epochs
    generator = Generator(seed)
    train, test = digits(flatten=name == "mlp")
    loader = DataLoader(train, batch_size=32, shuffle=True, generator=generator)
    start = time.perf_counter()
    if name == "mlp":
        model = mlp_model(generator)
        optimizer: Any = SGD(model.parameters(), lr=0.1, momentum=0.9)
        trainer = Trainer(model, optimizer, CrossEntropyLoss(), progress=False)
    else:
        model = lenet_model(generator)
        optimizer = AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2)
        schedule = CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
        trainer = Trainer(model, optimizer, CrossEntropyLoss(), scheduler=schedule, progress=False)
    trainer.fit(loader, epochs=epochs)
    seconds = time.perf_counter() - start
    model.eval()
    return TrainedClassifier(
        name, model, train, test, classifier_accuracy(model, test), epochs, seconds
    )


@dataclass
class TrainedGPT:
    """The trained character GPT, its tokenizer, its data and its measured validation loss."""

    model: Any  # tinytorch.transformers.GPT (an extra: not imported at module level)
    tokenizer: Any
    train_ids: Ids
    val_ids: Ids
    val_loss: float
    steps: int
    seconds: float


def validation_loss(model: Any, ids: Ids, block: int, batch: int = 64) -> float:
    """Mean loss per character over every whole window of ``block + 1`` ids, side by side
    (deterministic, and covering the whole held-out text), in eval mode without a graph."""
    count = (len(ids) - 1) // block
    starts = np.arange(count) * block
    total, tokens = 0.0, 0
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            for i in range(0, count, batch):
                windows = ids[starts[i : i + batch, None] + np.arange(block + 1)]
                _, loss = model(Tensor(windows[:, :-1]), Tensor(windows[:, 1:]))
                total += float(loss.item()) * windows[:, 1:].size
                tokens += windows[:, 1:].size
    finally:
        model.train(was_training)
    return total / tokens


def train_char_gpt(steps: int = 600, seed: int = 0) -> TrainedGPT:
    """Train the 2017 milestone's character GPT for ``steps`` steps by its recipe (needs
    tinytorch-profiling[language]); 600 steps take a few minutes on two cores."""
    from tinytorch.training import CosineAnnealingLR, LinearLR, SequentialLR, clip_grad_norm_

    model, tokenizer, data = char_gpt(seed)
    split = int(0.9 * len(data))
    train_ids, val_ids = data[:split], data[split:]
    block, batch, lr, warmup = model.config.block_size, 32, 2e-3, 30
    optimizer = model.configure_optimizers(weight_decay=0.1, lr=lr, betas=(0.9, 0.99))
    schedule = SequentialLR(
        optimizer,
        [
            LinearLR(optimizer, start_factor=0.1, total_iters=warmup),
            CosineAnnealingLR(optimizer, T_max=max(steps - warmup, 1), eta_min=lr * 0.1),
        ],
        milestones=[warmup],
    )
    rng = np.random.default_rng(seed)
    offsets = np.arange(block + 1)
    start = time.perf_counter()
    for _ in range(steps):
        windows = train_ids[rng.integers(0, len(train_ids) - block - 1, batch)[:, None] + offsets]
        _, loss = model(Tensor(windows[:, :-1]), Tensor(windows[:, 1:]))
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
    seconds = time.perf_counter() - start
    model.eval()
    val = validation_loss(model, val_ids, block)
    return TrainedGPT(model, tokenizer, train_ids, val_ids, val, steps, seconds)
