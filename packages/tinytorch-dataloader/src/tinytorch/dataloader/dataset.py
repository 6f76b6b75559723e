"""Datasets: the protocol, tensors as a dataset, subsets and random splits.

A dataset is anything with ``__len__`` and ``__getitem__``. One that can also fetch a whole batch
at once implements ``__getitems__(indices)`` (PyTorch 2's name): :class:`TensorDataset` and
:class:`Subset` do, so a :class:`~tinytorch.dataloader.DataLoader` over arrays gathers each batch
with one fancy-indexing call per tensor instead of a Python loop over samples.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Generator, Tensor, default_generator, from_numpy

__all__ = [
    "BatchDataset",
    "Dataset",
    "Subset",
    "TensorDataset",
    "TransformDataset",
    "random_split",
]

T_co = TypeVar("T_co", covariant=True)
Array = npt.NDArray[Any]
IndexArray = npt.NDArray[np.int64]


@runtime_checkable
class Dataset(Protocol[T_co]):
    """What a data loader needs of a dataset: a length, and the sample at each index.

    Any class with these two methods is a dataset; subclassing is optional.

    Example:
        >>> class Squares:
        ...     def __len__(self) -> int:
        ...         return 4
        ...     def __getitem__(self, i: int) -> int:
        ...         return i * i
        >>> isinstance(Squares(), Dataset)
        True
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> T_co: ...


@runtime_checkable
class BatchDataset(Protocol):
    """A dataset that can also return a whole batch, already collated, for an index array.

    ``__getitems__(indices)`` returns what ``default_collate`` would make of
    ``[ds[i] for i in indices]``, without the loop.

    Example:
        >>> from tinytorch.tensor import arange
        >>> isinstance(TensorDataset(arange(4)), BatchDataset), isinstance([1, 2], BatchDataset)
        (True, False)
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...

    def __getitems__(self, indices: Sequence[int] | IndexArray) -> Any: ...


def _index_array(op: str, indices: Sequence[int] | IndexArray, n: int) -> IndexArray:
    """Indices as an int64 array, checked against a dataset of ``n`` samples."""
    idx = np.asarray(indices)
    if idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    if idx.dtype.kind not in "iu" or idx.ndim != 1:
        raise TypeError(
            f"{op}: indices must be a 1-D sequence of integers, got dtype {idx.dtype} "
            f"and shape {idx.shape}"
        )
    lo, hi = int(idx.min()), int(idx.max())
    if lo < -n or hi >= n:
        bad = lo if lo < -n else hi
        raise IndexError(f"{op}: index {bad} is out of range for a dataset of {n} samples")
    return idx.astype(np.int64, copy=False)


def _check_index(op: str, index: int, n: int) -> int:
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"{op}: index must be an integer, got {type(index).__name__}")
    i = int(index)
    if not -n <= i < n:
        raise IndexError(f"{op}: index {i} is out of range for a dataset of {n} samples")
    return i


class TensorDataset:
    """Samples are the rows of one or more tensors sharing their first dimension.

    ``ds[i]`` is ``(t0[i], t1[i], ...)``; ``ds.__getitems__(idx)`` is ``(t0[idx], t1[idx], ...)``
    gathered by fancy indexing. NumPy arrays are accepted and wrapped (sharing memory).

    Example:
        >>> from tinytorch.tensor import arange, zeros
        >>> ds = TensorDataset(zeros(5, 3), arange(5))
        >>> len(ds), ds[2][1].item()
        (5, 2)
        >>> [t.shape for t in ds.__getitems__([4, 0])]
        [(2, 3), (2,)]
    """

    tensors: tuple[Tensor, ...]

    def __init__(self, *tensors: Tensor | Array) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        wrapped = tuple(t if isinstance(t, Tensor) else from_numpy(np.asarray(t)) for t in tensors)
        for t in wrapped:
            if t.ndim == 0:
                raise ValueError(
                    "TensorDataset: every tensor needs a first (sample) dimension, got a 0-d one"
                )
        if len({t.shape[0] for t in wrapped}) > 1:
            shapes = ", ".join(str(t.shape) for t in wrapped)
            raise ValueError(f"TensorDataset: tensors have different first dimensions: {shapes}")
        self.tensors = wrapped

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        i = _check_index("TensorDataset", index, len(self))
        return tuple(from_numpy(np.asarray(t.data[i])) for t in self.tensors)

    def __getitems__(self, indices: Sequence[int] | IndexArray) -> tuple[Tensor, ...]:
        # BEGIN SOLUTION tensor-dataset-batch
        # HINT: A whole batch at once: take the rows at the checked index array (_index_array) along
        # HINT: the first axis of every tensor, one NumPy call each, and return them as a tuple of
        # HINT: Tensors.
        # TESTS: tensor_dataset or batch_path or subset
        idx = _index_array("TensorDataset", indices, len(self))
        return tuple(from_numpy(np.take(t.data, idx, axis=0)) for t in self.tensors)
        # END SOLUTION

    def __repr__(self) -> str:
        shapes = ", ".join(str(t.shape) for t in self.tensors)
        return f"TensorDataset({shapes})"


class Subset:
    """The samples of ``dataset`` at ``indices``, in that order.

    Batches are fetched through the parent's ``__getitems__`` when it has one.

    Example:
        >>> from tinytorch.tensor import arange
        >>> sub = Subset(TensorDataset(arange(10)), [7, 3])
        >>> len(sub), sub[0][0].item()
        (2, 7)
    """

    dataset: Dataset[Any]
    indices: IndexArray

    def __init__(self, dataset: Dataset[Any], indices: Sequence[int] | IndexArray) -> None:
        self.dataset = dataset
        self.indices = _index_array("Subset", indices, len(dataset))

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, index: int) -> Any:
        i = _check_index("Subset", index, len(self))
        return self.dataset[int(self.indices[i])]

    def __getitems__(self, indices: Sequence[int] | IndexArray) -> Any:
        idx = self.indices[_index_array("Subset", indices, len(self))]
        if isinstance(self.dataset, BatchDataset):
            return self.dataset.__getitems__(idx)
        # A parent without a batch path: fall back to collating its samples one by one.
        from tinytorch.dataloader.loader import default_collate

        return default_collate([self.dataset[int(i)] for i in idx])

    def __repr__(self) -> str:
        return f"Subset({len(self)} of {len(self.dataset)} samples)"


class TransformDataset:
    """``dataset`` with ``transform`` applied to one field of every sample or batch.

    Made for the batch transforms of :mod:`tinytorch.dataloader.transforms`: through
    ``__getitems__`` the transform sees the whole batch at once, so a
    :class:`~tinytorch.dataloader.DataLoader` augments a batch in one vectorized call. The
    transform runs at every fetch, so random augmentations differ from epoch to epoch.

    Example:
        >>> from tinytorch.tensor import arange, ones
        >>> from tinytorch.dataloader.transforms import Normalize
        >>> ds = TransformDataset(TensorDataset(ones(4, 1, 2, 2), arange(4)), Normalize(1.0, 2.0))
        >>> ds.__getitems__([0, 1])[0].data.max()
        np.float32(0.0)
    """

    def __init__(
        self, dataset: Dataset[Any], transform: Callable[[Any], Any], field: int = 0
    ) -> None:
        self.dataset = dataset
        self.transform = transform
        self.field = field

    def __len__(self) -> int:
        return len(self.dataset)

    def _apply(self, item: Any) -> Any:
        if not isinstance(item, (tuple, list)):
            if self.field != 0:
                raise IndexError(
                    f"TransformDataset: field {self.field} asked of samples that are not tuples"
                )
            return self.transform(item)
        if not -len(item) <= self.field < len(item):
            raise IndexError(
                f"TransformDataset: field {self.field} is out of range for samples of "
                f"{len(item)} fields"
            )
        parts = list(item)
        parts[self.field] = self.transform(parts[self.field])
        return tuple(parts) if isinstance(item, tuple) else parts

    def __getitem__(self, index: int) -> Any:
        return self._apply(self.dataset[index])

    def __getitems__(self, indices: Sequence[int] | IndexArray) -> Any:
        if isinstance(self.dataset, BatchDataset):
            return self._apply(self.dataset.__getitems__(indices))
        from tinytorch.dataloader.loader import default_collate

        idx = _index_array("TransformDataset", indices, len(self))
        return self._apply(default_collate([self.dataset[int(i)] for i in idx]))


def image_dataset(images: npt.NDArray[np.uint8], labels: Array) -> TensorDataset:
    """8-bit ``images`` as float32 in [0, 1], with ``labels`` as int64: what the MNIST and
    CIFAR-10 loaders return.

    Example:
        >>> ds = image_dataset(np.full((2, 1, 2, 2), 255, dtype=np.uint8), np.array([3, 7]))
        >>> ds.tensors[0].data.max(), ds.tensors[1].dtype
        (np.float32(1.0), dtype('int64'))
    """
    pixels = images.astype(np.float32)
    pixels /= np.float32(255.0)  # in place: CIFAR-10's train split is 614 MB of float32
    return TensorDataset(from_numpy(pixels), from_numpy(labels.astype(np.int64)))


def random_split(
    dataset: Dataset[Any],
    lengths: Sequence[int] | Sequence[float],
    generator: Generator | None = None,
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets (``torch.utils.data.random_split``).

    ``lengths`` are sample counts summing to ``len(dataset)``, or fractions summing to 1; with
    fractions, each part gets ``floor(n * fraction)`` samples and what is left over is dealt one
    at a time to the parts in order, as in PyTorch.

    Example:
        >>> from tinytorch.tensor import Generator, arange
        >>> train, test = random_split(TensorDataset(arange(10)), [0.8, 0.2], Generator(0))
        >>> len(train), len(test)
        (8, 2)
    """
    n = len(dataset)
    values = list(lengths)
    if not values:
        raise ValueError("random_split: lengths is empty")
    if any(isinstance(v, float) for v in values):
        if any(v < 0 or v > 1 for v in values) or not math.isclose(sum(values), 1.0):
            raise ValueError(
                f"random_split: fractions {values} must lie in [0, 1] and sum to 1 "
                f"(dataset of {n} samples)"
            )
        # BEGIN SOLUTION split-fractions
        # HINT: Each part gets floor(n * fraction) samples; deal what is left over one sample at a
        # HINT: time to the parts in order (PyTorch's rule).
        # TESTS: random_split
        counts = [math.floor(n * v) for v in values]
        for k in range(n - sum(counts)):
            counts[k % len(counts)] += 1
        # END SOLUTION
    else:
        counts = [int(v) for v in values]
        if any(c < 0 for c in counts) or sum(counts) != n:
            raise ValueError(
                f"random_split: lengths {counts} sum to {sum(counts)}, "
                f"but the dataset has {n} samples"
            )
    # BEGIN SOLUTION split-subsets
    # HINT: Draw one permutation of the indices from the generator, and cut it into consecutive
    # HINT: pieces of the given counts, each a Subset of the dataset.
    # TESTS: random_split
    order = (generator or default_generator).rng.permutation(n).astype(np.int64)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[a:b]) for a, b in itertools.pairwise(bounds)]
    # END SOLUTION
