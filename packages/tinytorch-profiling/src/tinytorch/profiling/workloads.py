"""The training steps of the milestone models, ready to profile: ``mlp``, ``lenet``, ``gpt``.

Each is one step exactly as its milestone trains: the 1986 MLP (64-128-10, sigmoid, SGD with
momentum, batch 32 of the shipped digits), the 1998 LeNet (two 3x3 convolutions with pooling,
three Linear layers, AdamW, batch 32 of the digits as standardised 1x8x8 images) and the 2017
character GPT (4 layers, 4 heads, 128 wide, context 64, batch 32, AdamW as nanoGPT configures
it, on windows of the Python documentation's text). LeNet needs the ``vision`` extra
(tinytorch-convolutions), the GPT the ``language`` extra (tinytorch-transformers).
:mod:`tinytorch.profiling.trained` trains the same models by the same recipes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.dataloader import Normalize, TensorDataset, tiny_digits
from tinytorch.layers import Module
from tinytorch.optimizers import Optimizer
from tinytorch.tensor import Generator, Tensor

__all__ = ["WORKLOADS", "Workload", "char_gpt", "digits", "lenet_model", "mlp_model", "workload"]

BATCH = 32


@dataclass
class Workload:
    """A model, its optimizer and one training step (forward, loss, backward, update).

    Example:
        >>> w = workload("mlp")
        >>> w.name, round(w.step(), 1) > 0.0
        ('mlp', True)
    """

    name: str
    description: str
    model: Module
    optimizer: Optimizer
    inputs: tuple[Any, ...]
    step: Callable[[], float]  # returns the step's loss


def digits(flatten: bool) -> tuple[TensorDataset, TensorDataset]:
    """The shipped digits as the milestones feed them: (train, test). The LeNet's 1x8x8
    images are standardised with the training set's mean and deviation; the MLP's 64 pixels
    are left in [0, 1]."""
    train, test = tiny_digits("train", flatten=flatten), tiny_digits("test", flatten=flatten)
    if flatten:
        return train, test
    pixels = train.tensors[0].data
    normalize = Normalize(float(pixels.mean()), float(pixels.std()))
    return (
        TensorDataset(normalize(train.tensors[0]), train.tensors[1]),
        TensorDataset(normalize(test.tensors[0]), test.tensors[1]),
    )


def _digits_batch(flatten: bool) -> tuple[Tensor, Tensor]:
    images, labels = digits(flatten)[0].__getitems__(list(range(BATCH)))
    return images, labels


def mlp_model(generator: Generator) -> Module:
    """The 1986 milestone's network: 64 -> 128 sigmoid -> 10."""
    from tinytorch.activations import Sigmoid
    from tinytorch.layers import Linear, Sequential

    g = generator
    return Sequential(Linear(64, 128, generator=g), Sigmoid(), Linear(128, 10, generator=g))


def lenet_model(generator: Generator) -> Module:
    """The 1998 milestone's LeNet for 1x8x8 digits (needs tinytorch-profiling[vision])."""
    try:
        from tinytorch.convolutions import Conv2d, Flatten, MaxPool2d
    except ImportError as err:
        raise ImportError(
            "the LeNet needs tinytorch-convolutions: pip install 'tinytorch-profiling[vision]'"
        ) from err
    from tinytorch.activations import ReLU
    from tinytorch.layers import Dropout, Linear, Sequential

    g = generator
    return Sequential(
        Conv2d(1, 16, 3, padding=1, generator=g),  # 16 x 8 x 8
        ReLU(),
        MaxPool2d(2),  # 16 x 4 x 4
        Conv2d(16, 32, 3, padding=1, generator=g),  # 32 x 4 x 4
        ReLU(),
        MaxPool2d(2),  # 32 x 2 x 2
        Flatten(),  # 128
        Linear(128, 120, generator=g),
        ReLU(),
        Dropout(0.3, generator=g),
        Linear(120, 84, generator=g),
        ReLU(),
        Linear(84, 10, generator=g),
    )


def _classifier_step(
    model: Module, optimizer: Optimizer, x: Tensor, y: Tensor
) -> Callable[[], float]:
    from tinytorch.losses import CrossEntropyLoss

    loss_fn = CrossEntropyLoss()

    def step() -> float:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return float(loss.item())

    return step


def mlp() -> Workload:
    """The 1986 milestone's MLP step."""
    from tinytorch.optimizers import SGD

    model = mlp_model(Generator(0))
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = _digits_batch(flatten=True)
    return Workload(
        "mlp",
        "1986 MLP 64-128-10, sigmoid, SGD momentum, batch 32",
        model,
        optimizer,
        (x,),
        _classifier_step(model, optimizer, x, y),
    )


def lenet() -> Workload:
    """The 1998 milestone's LeNet step (needs tinytorch-profiling[vision])."""
    from tinytorch.optimizers import AdamW

    model = lenet_model(Generator(0))
    optimizer = AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2)
    x, y = _digits_batch(flatten=False)
    return Workload(
        "lenet",
        "1998 LeNet (conv 16, conv 32, fc 120-84-10) on 1x8x8 digits, AdamW, batch 32",
        model,
        optimizer,
        (x,),
        _classifier_step(model, optimizer, x, y),
    )


def char_gpt(seed: int = 0) -> tuple[Any, Any, npt.NDArray[np.int64]]:
    """The 2017 milestone's character GPT, untrained, with its tokenizer and its text as ids:
    (model, tokenizer, ids). The text is the Python documentation's topics (``pydoc_data``,
    which ships with Python); the model 4 layers x 4 heads x 128 wide, context 64, no dropout.
    Needs tinytorch-profiling[language]."""
    try:
        from tinytorch.tokenization import CharTokenizer
        from tinytorch.transformers import GPT, GPTConfig
    except ImportError as err:
        raise ImportError(
            "the character GPT needs tinytorch-transformers: "
            "pip install 'tinytorch-profiling[language]'"
        ) from err
    import pydoc_data.topics

    topics = pydoc_data.topics.topics
    text = "".join(topics[k] for k in sorted(topics))
    tokenizer = CharTokenizer.from_text(text)
    data = np.asarray(tokenizer.encode(text), dtype=np.int64)
    config = GPTConfig(
        vocab_size=tokenizer.vocab_size, block_size=64, n_layer=4, n_head=4, n_embd=128,
        dropout=0.0,
    )  # fmt: skip
    return GPT(config, generator=Generator(seed)), tokenizer, data


def gpt() -> Workload:
    """The 2017 milestone's character GPT step (needs tinytorch-profiling[language])."""
    model, _, data = char_gpt()
    optimizer = model.configure_optimizers(weight_decay=0.1, lr=2e-3, betas=(0.9, 0.99))
    block = model.config.block_size
    rng = np.random.default_rng(0)
    starts = rng.integers(0, len(data) - block - 1, BATCH)
    windows = data[starts[:, None] + np.arange(block + 1)]
    x, y = Tensor(windows[:, :-1]), Tensor(windows[:, 1:])

    def step() -> float:
        optimizer.zero_grad()
        _, loss = model(x, y)
        assert loss is not None
        loss.backward()
        optimizer.step()
        return float(loss.item())

    return Workload(
        "gpt",
        "2017 character GPT, 4 layers x 4 heads x 128 wide, context 64, AdamW, batch 32",
        model,
        optimizer,
        (x,),
        step,
    )


WORKLOADS: dict[str, Callable[[], Workload]] = {"mlp": mlp, "lenet": lenet, "gpt": gpt}


def workload(name: str) -> Workload:
    """Build the workload called ``name`` (one of :data:`WORKLOADS`)."""
    build = WORKLOADS.get(name)
    if build is None:
        raise ValueError(f"workload: unknown {name!r}; choose one of {', '.join(WORKLOADS)}")
    return build()
