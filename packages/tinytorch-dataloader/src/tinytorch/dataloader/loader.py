"""The DataLoader: batches of a dataset, in order or reshuffled every epoch, collated to Tensors."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.dataloader.dataset import BatchDataset, Dataset
from tinytorch.tensor import Generator, Tensor, default_generator, from_numpy

__all__ = ["DataLoader", "default_collate", "default_convert"]

Array = npt.NDArray[Any]


def _stack(arrays: list[Array]) -> Array:
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        listed = ", ".join(str(s) for s in sorted(shapes))
        raise ValueError(f"default_collate: samples have different shapes: {listed}")
    return np.stack(arrays)


def default_collate(samples: Sequence[Any]) -> Any:
    """Batch a list of samples: arrays, Tensors and numbers stack into one Tensor per field.

    Tuples and lists are collated field by field (keeping their type), dicts key by key;
    Python ints become int64, floats float32 and bools bool; strings stay a list.

    Example:
        >>> import numpy as np
        >>> xs, ys = default_collate([(np.zeros(3), 0), (np.ones(3), 1)])
        >>> xs.shape, ys.tolist()
        ((2, 3), [0, 1])
    """
    if len(samples) == 0:
        raise ValueError("default_collate: cannot collate an empty list of samples")
    first = samples[0]
    if isinstance(first, Tensor):
        return from_numpy(_stack([_as_array(s, first) for s in samples]))
    if isinstance(first, np.ndarray):
        return from_numpy(_stack([_as_array(s, first) for s in samples]))
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, (bool, np.bool_)):
        return from_numpy(np.asarray(samples, dtype=np.bool_))
    if isinstance(first, np.generic):
        return from_numpy(np.asarray(samples, dtype=first.dtype))
    if isinstance(first, int):
        return from_numpy(np.asarray(samples, dtype=np.int64))
    if isinstance(first, float):
        return from_numpy(np.asarray(samples, dtype=np.float32))
    if isinstance(first, Mapping):
        keys = set(first)
        for s in samples:
            if not isinstance(s, Mapping) or set(s) != keys:
                raise ValueError(
                    f"default_collate: samples are dicts with different keys: "
                    f"{sorted(map(str, keys))} and "
                    f"{sorted(map(str, s)) if isinstance(s, Mapping) else type(s).__name__}"
                )
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        width = len(first)
        for s in samples:
            if not isinstance(s, (tuple, list)) or len(s) != width:
                raise ValueError(
                    f"default_collate: samples have different numbers of fields: {width} and "
                    f"{len(s) if isinstance(s, (tuple, list)) else type(s).__name__}"
                )
        fields = [default_collate([s[k] for s in samples]) for k in range(width)]
        if isinstance(first, list):
            return fields
        if hasattr(first, "_fields"):  # a namedtuple keeps its type
            return type(first)(*fields)
        return tuple(fields)
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}")


def _as_array(sample: Any, first: Any) -> Array:
    if isinstance(sample, Tensor):
        return sample.data
    if isinstance(sample, np.ndarray):
        return sample
    raise TypeError(
        f"default_collate: samples mix {type(first).__name__} with {type(sample).__name__}"
    )


def default_convert(batch: Any) -> Any:
    """Wrap the arrays of an already-batched structure as Tensors (Tensors pass through).

    Example:
        >>> import numpy as np
        >>> default_convert({"x": np.zeros((2, 3))})["x"].shape
        (2, 3)
    """
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, np.ndarray):
        return from_numpy(batch)
    if isinstance(batch, Mapping):
        return {k: default_convert(v) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(default_convert(v) for v in batch))
    if isinstance(batch, (tuple, list)):
        return type(batch)(default_convert(v) for v in batch)
    return batch


class DataLoader:
    """Iterate over a dataset in batches (``torch.utils.data.DataLoader``, single process).

    With ``shuffle=True`` each epoch draws a fresh permutation from ``generator`` (the default
    generator when omitted), so a loader built with ``Generator(seed)`` yields the same batches
    in the same order on every run. When the dataset implements ``__getitems__`` and no
    ``collate_fn`` is given, each batch is fetched in one call (fancy indexing for
    :class:`~tinytorch.dataloader.TensorDataset`); otherwise samples are fetched one by one and
    passed, as a list, to ``collate_fn`` (``default_collate`` by default).

    Example:
        >>> from tinytorch.tensor import Generator, arange
        >>> from tinytorch.dataloader import TensorDataset
        >>> loader = DataLoader(TensorDataset(arange(10)), batch_size=4, shuffle=True,
        ...                     generator=Generator(0))
        >>> len(loader), [len(b) for (b,) in loader]
        (3, [4, 4, 2])
    """

    def __init__(
        self,
        dataset: Dataset[Any],
        batch_size: int = 1,
        shuffle: bool = False,
        *,
        drop_last: bool = False,
        generator: Generator | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(
                f"DataLoader: batch_size must be a positive int, got {type(batch_size).__name__}"
            )
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size}")
        if not isinstance(dataset, Dataset):
            raise TypeError(
                f"DataLoader: the dataset needs __len__ and __getitem__, "
                f"got {type(dataset).__name__}"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator
        self.collate_fn = collate_fn

    def __len__(self) -> int:
        """Batches per epoch."""
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)

    def _order(self) -> npt.NDArray[np.int64]:
        n = len(self.dataset)
        if self.shuffle:
            rng = (self.generator or default_generator).rng
            return rng.permutation(n).astype(np.int64)
        return np.arange(n, dtype=np.int64)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        fetch_batch = self.collate_fn is None and isinstance(self.dataset, BatchDataset)
        collate = self.collate_fn or default_collate
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            if fetch_batch:
                yield default_convert(self.dataset.__getitems__(idx))  # type: ignore[attr-defined]
            else:
                yield collate([self.dataset[int(i)] for i in idx])

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last})"
        )
