"""The two reference systems, trained by their milestones' recipes (module 14's ``trained``).

- ``"lenet"``: :func:`tinytorch.profiling.trained.train_classifier` ``("lenet")``: 30 epochs
  (``quick``: 3), evaluated on the 364 held-out digits.
- ``"gpt"``: :func:`tinytorch.profiling.trained.train_char_gpt`: 600 steps (``quick``: 20),
  evaluated on the held-out tenth of the text.

They are retrained on every submission (nothing is cached): both recipes are seeded, so the
same command gives the same weights, and a submission ships its baseline's weights anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.profiling.trained import train_char_gpt, train_classifier

__all__ = ["RECIPES", "Reference", "eval_arrays", "train_reference"]

#: kind -> (full, quick) epochs or steps
RECIPES: dict[str, tuple[int, int]] = {"lenet": (30, 3), "gpt": (600, 20)}


@dataclass
class Reference:
    """A trained reference: its kind, the float model, the trained bundle of module 14
    (:class:`~tinytorch.profiling.trained.TrainedClassifier` or ``TrainedGPT``: data,
    tokenizer, loaders), the epochs or steps it trained and the seconds it took."""

    kind: str
    model: Any
    trained: Any
    budget: int
    seconds: float


def train_reference(kind: str, quick: bool = False, budget: int | None = None) -> Reference:
    """Train the reference ``kind`` (``"lenet"`` or ``"gpt"``); ``budget`` overrides the
    recipe's epochs (LeNet) or steps (GPT).

    Example:
        >>> ref = train_reference("lenet", budget=1)
        >>> ref.kind, ref.budget, 0.0 <= ref.trained.accuracy <= 1.0
        ('lenet', 1, True)
    """
    if kind not in RECIPES:
        raise ValueError(f"train_reference: unknown model {kind!r}; choose lenet or gpt")
    full, short = RECIPES[kind]
    n = budget if budget is not None else (short if quick else full)
    if kind == "lenet":
        t: Any = train_classifier("lenet", epochs=n)
    else:
        t = train_char_gpt(steps=n)
    return Reference(kind, t.model, t, n, t.seconds)


def eval_arrays(kind: str) -> tuple[npt.NDArray[Any], ...]:
    """The evaluation data as the verifier rebuilds it from what ships with the packages:
    the held-out digits' images and labels, or the held-out text's ids.

    >>> x, y = eval_arrays("lenet")
    >>> x.shape, y.shape
    ((364, 1, 8, 8), (364,))
    """
    if kind == "lenet":
        from tinytorch.profiling.workloads import digits

        x, y = digits(flatten=False)[1].tensors
        return np.asarray(x.data), np.asarray(y.data)
    from tinytorch.profiling.workloads import char_gpt

    _, _, data = char_gpt()
    # The split of train_char_gpt: the last tenth is held out.
    return (data[int(0.9 * len(data)) :],)
