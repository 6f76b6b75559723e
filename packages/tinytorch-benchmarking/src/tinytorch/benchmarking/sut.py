"""What a benchmark measures and on what: the system under test and the sample set.

In MLPerf's LoadGen terms a *system under test* (SUT) answers queries, and a *query sample
library* (QSL) holds the samples that queries point at. Here a :class:`SystemUnderTest` is a
named callable from a batch of samples (an array whose first axis is the batch) to predictions
for that batch, and a :class:`SampleSet` is held-out data: inputs and, for the accuracy mode,
their labels. There is no synthetic fallback: a sample set is built from real arrays, and an
empty one, or one whose labels do not match its inputs, is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["SampleSet", "SystemUnderTest"]

Array = npt.NDArray[Any]


@dataclass(frozen=True, eq=False)
class SampleSet:
    """Held-out samples (MLPerf's query sample library): ``inputs`` (first axis: samples),
    optional ``labels`` (one per sample) and a ``name`` saying where they come from.

    >>> s = SampleSet(np.zeros((3, 2)), np.array([0, 1, 1]), name="toy")
    >>> len(s), s.batch(np.array([2])).shape
    (3, (1, 2))
    """

    inputs: Array
    labels: Array | None = None
    name: str = "samples"

    def __post_init__(self) -> None:
        inputs = np.asarray(self.inputs)
        if inputs.ndim == 0 or inputs.shape[0] == 0:
            raise ValueError(
                f"SampleSet {self.name!r}: no samples (inputs of shape {inputs.shape}); "
                "a benchmark needs real held-out data, there is no synthetic fallback"
            )
        object.__setattr__(self, "inputs", inputs)
        if self.labels is not None:
            labels = np.asarray(self.labels)
            if labels.ndim == 0 or labels.shape[0] != inputs.shape[0]:
                raise ValueError(
                    f"SampleSet {self.name!r}: {labels.shape[0] if labels.ndim else 0} labels "
                    f"(shape {labels.shape}) for {inputs.shape[0]} samples "
                    f"(inputs of shape {inputs.shape})"
                )
            object.__setattr__(self, "labels", labels)

    @classmethod
    def from_dataset(cls, dataset: Any, name: str = "samples") -> SampleSet:
        """The inputs and labels of a ``TensorDataset`` of two tensors (e.g. the held-out
        digits of :func:`tinytorch.profiling.workloads.digits`).

        >>> from tinytorch.dataloader import TensorDataset
        >>> from tinytorch.tensor import Tensor
        >>> len(SampleSet.from_dataset(TensorDataset(Tensor(np.ones((4, 2))), Tensor(np.ones(4)))))
        4
        """
        tensors = getattr(dataset, "tensors", None)
        if tensors is None or len(tensors) != 2:
            raise TypeError(
                f"SampleSet.from_dataset: expected a dataset of (inputs, labels) tensors, "
                f"got {type(dataset).__name__}"
            )
        x, y = tensors
        return cls(np.asarray(getattr(x, "data", x)), np.asarray(getattr(y, "data", y)), name)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def batch(self, indices: npt.NDArray[np.intp]) -> Array:
        """The inputs at ``indices``, as one batch.

        >>> SampleSet(np.arange(4.0)).batch(np.array([3, 0])).tolist()
        [3.0, 0.0]
        """
        return self.inputs[indices]


@dataclass(frozen=True, eq=False)
class SystemUnderTest:
    """A named system: ``fn(batch) -> predictions`` for that batch (first axis: samples), and
    optionally the bytes it holds (``nbytes``, for the size axis of a Pareto chart).

    >>> sut = SystemUnderTest("double", lambda x: 2 * x)
    >>> sut(np.ones((2, 1))).tolist(), sut.name
    ([[2.0], [2.0]], 'double')
    """

    name: str
    fn: Callable[[Array], Any]
    nbytes: int | None = None

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise TypeError(
                f"SystemUnderTest {self.name!r}: fn must be callable, got "
                f"{type(self.fn).__name__} {self.fn!r}"
            )
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"SystemUnderTest: name must be a non-empty str, got {self.name!r}")
        if self.nbytes is not None and (isinstance(self.nbytes, bool) or self.nbytes < 0):
            raise ValueError(
                f"SystemUnderTest {self.name!r}: nbytes must be >= 0, got {self.nbytes}"
            )

    def __call__(self, batch: Array) -> Array:
        return np.asarray(self.fn(batch))

    @classmethod
    def from_model(cls, name: str, model: Any, nbytes: int | None = None) -> SystemUnderTest:
        """A TinyTorch ``Module`` as a system: eval mode, no graph, ``Tensor`` in, array out.

        >>> from tinytorch.layers import Linear
        >>> from tinytorch.tensor import Generator
        >>> SystemUnderTest.from_model("lin", Linear(3, 2, generator=Generator(0)))(
        ...     np.ones((5, 3), np.float32)).shape
        (5, 2)
        """
        from tinytorch.autograd import no_grad
        from tinytorch.tensor import Tensor

        model.eval()

        def predict(batch: Array) -> Array:
            with no_grad():
                return np.asarray(model(Tensor(batch)).data)

        return cls(name, predict, nbytes)
