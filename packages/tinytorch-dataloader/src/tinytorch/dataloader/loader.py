"""The DataLoader: batches of a dataset, in order or reshuffled every epoch, collated to Tensors."""

from __future__ import annotations

import hashlib
import multiprocessing
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from multiprocessing.context import BaseContext
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.dataloader.dataset import BatchDataset, Dataset
from tinytorch.dataloader.worker import WorkerPool, _unpack, _WorkerError
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
    # BEGIN SOLUTION collate-leaves
    # HINT: Samples that are Tensors or arrays stack along a new first axis (_stack checks their
    # HINT: shapes; _as_array refuses a mix) into one Tensor; strings stay a list; Python bools,
    # HINT: ints and floats become a bool, int64 and float32 Tensor, NumPy scalars keep their dtype.
    # HINT: Test bool before int: True is an int.
    # TESTS: collate or plain_dataset or subset_of_plain
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
    # END SOLUTION
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
        # BEGIN SOLUTION collate-fields
        # HINT: Collate each field position separately (recursively), then give back the samples'
        # HINT: container: a list, the same namedtuple type, or a tuple.
        # TESTS: collate or plain_dataset or subset_of_plain
        fields = [default_collate([s[k] for s in samples]) for k in range(width)]
        if isinstance(first, list):
            return fields
        if hasattr(first, "_fields"):  # a namedtuple keeps its type
            return type(first)(*fields)
        return tuple(fields)
        # END SOLUTION
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


def _fetch(dataset: Any, collate_fn: Any, indices: npt.NDArray[np.int64]) -> Any:
    """One batch: in one ``__getitems__`` call when the dataset has one and no ``collate_fn``
    is given, else sample by sample through ``collate_fn`` (``default_collate`` by default).
    The same function builds batches in the main process and in worker processes."""
    if collate_fn is None and isinstance(dataset, BatchDataset):
        return default_convert(dataset.__getitems__(indices))
    return (collate_fn or default_collate)([dataset[int(i)] for i in indices])


def _check_count(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"DataLoader: {name} must be an int >= {low}, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"DataLoader: {name} must be an int >= {low}, got {value}")
    return int(value)


class DataLoader:
    """Iterate over a dataset in batches (``torch.utils.data.DataLoader``).

    With ``shuffle=True`` each epoch (each call to ``iter``) draws a fresh permutation from
    ``generator`` (the default generator when omitted), so a loader built with
    ``Generator(seed)`` yields the same batches in the same order on every run. When the
    dataset implements ``__getitems__`` and no ``collate_fn`` is given, each batch is fetched in
    one call (fancy indexing for :class:`~tinytorch.dataloader.TensorDataset`); otherwise
    samples are fetched one by one and passed, as a list, to ``collate_fn``
    (``default_collate`` by default).

    Worker processes. With ``num_workers=N > 0`` batches are built by ``N`` processes (started
    by ``multiprocessing_context``, a start method name or context; the platform's default when
    omitted), up to ``prefetch_factor`` batches per worker ahead of the training loop. The order
    is still drawn in this process, so the batches and their order are exactly those of
    ``num_workers=0``. Each worker seeds Python's ``random``, NumPy's global generator and
    TinyTorch's default generator with ``base_seed + worker_id``, then calls
    ``worker_init_fn(worker_id)``; :func:`~tinytorch.dataloader.get_worker_info` tells code in
    a worker which one it is. The base seed is derived from ``generator``'s state and the epoch
    count without drawing from it, so turning workers on changes no random stream here.
    Without ``persistent_workers`` the workers are started at each ``iter`` and stopped when the
    epoch ends (or its iterator is dropped); with it they serve every epoch and stop when the
    loader is garbage collected. An exception in a worker is raised here, as the same type
    where it can be, with the worker id and the worker's traceback; ``timeout`` > 0 bounds the
    wait for any one batch. The dataset, ``collate_fn`` and ``worker_init_fn`` must be picklable
    under the ``spawn`` and ``forkserver`` start methods (module-level classes and functions).

    Example:
        >>> from tinytorch.tensor import Generator, arange
        >>> from tinytorch.dataloader import TensorDataset
        >>> loader = DataLoader(TensorDataset(arange(10)), batch_size=4, shuffle=True,
        ...                     generator=Generator(0))
        >>> len(loader), [len(b) for (b,) in loader]
        (3, [4, 4, 2])
        >>> two = DataLoader(TensorDataset(arange(10)), batch_size=4, num_workers=2)
        >>> [b.tolist() for (b,) in two]
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
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
        num_workers: int = 0,
        timeout: float = 0.0,
        worker_init_fn: Callable[[int], object] | None = None,
        multiprocessing_context: str | BaseContext | None = None,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
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
        workers = _check_count("num_workers", num_workers, 0)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"DataLoader: timeout must be a number, got {type(timeout).__name__}")
        if not timeout >= 0:
            raise ValueError(f"DataLoader: timeout must be >= 0 seconds, got {timeout}")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(
                f"DataLoader: worker_init_fn must be callable, got {type(worker_init_fn).__name__}"
            )
        if workers == 0:
            for name, given in (
                ("prefetch_factor", prefetch_factor is not None),
                ("persistent_workers", bool(persistent_workers)),
                ("multiprocessing_context", multiprocessing_context is not None),
            ):
                if given:
                    raise ValueError(
                        f"DataLoader: {name} needs worker processes (num_workers > 0), "
                        f"but num_workers is 0"
                    )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator
        self.collate_fn = collate_fn
        self.num_workers = workers
        self.timeout = float(timeout)
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = (
            None if workers == 0 else _check_count("prefetch_factor", prefetch_factor or 2, 1)
        )
        if prefetch_factor is not None:
            _check_count("prefetch_factor", prefetch_factor, 1)
        self.persistent_workers = bool(persistent_workers)
        self.multiprocessing_context = self._context(multiprocessing_context)
        self._epochs = 0
        self._pool: WorkerPool | None = None

    @staticmethod
    def _context(spec: str | BaseContext | None) -> BaseContext | None:
        if spec is None or isinstance(spec, BaseContext):
            return spec
        methods = multiprocessing.get_all_start_methods()
        if not isinstance(spec, str) or spec not in methods:
            raise ValueError(
                f"DataLoader: multiprocessing_context must be one of {methods} or a "
                f"multiprocessing context, got {spec!r}"
            )
        return multiprocessing.get_context(spec)

    def __len__(self) -> int:
        """Batches per epoch."""
        # BEGIN SOLUTION loader-len
        # HINT: Batches per epoch: the number of full batches with drop_last, else that plus one for
        # HINT: a short last batch (ceiling division).
        # TESTS: len_and_batch or drop_last or every_sample
        n = len(self.dataset)
        if self.drop_last:
            return n // self.batch_size
        return -(-n // self.batch_size)
        # END SOLUTION

    def _order(self) -> npt.NDArray[np.int64]:
        # BEGIN SOLUTION epoch-order
        # HINT: The order of the sample indices this epoch, as int64: 0..n-1, or with shuffle a
        # HINT: fresh permutation drawn from self.generator's rng (or the default generator's, so
        # HINT: manual_seed reproduces it).
        # TESTS: shuffle or order or every_sample or test_workers
        n = len(self.dataset)
        if self.shuffle:
            rng = (self.generator or default_generator).rng
            return rng.permutation(n).astype(np.int64)
        return np.arange(n, dtype=np.int64)
        # END SOLUTION

    def _base_seed(self) -> int:
        # A function of the generator's state, read before this epoch's permutation is drawn,
        # and of the epoch count (which moves it on when there is no shuffling to): reproducible
        # from the seed, different every epoch, and it leaves the generator's stream untouched.
        state = (self.generator or default_generator).rng.bit_generator.state
        digest = hashlib.sha256(repr((state, self._epochs)).encode()).digest()
        return int.from_bytes(digest[:8], "little") >> 2  # base_seed + worker_id stays in int64

    def __iter__(self) -> Iterator[Any]:
        base_seed = self._base_seed()
        self._epochs += 1
        order = self._order()
        # BEGIN SOLUTION batch-indices
        # HINT: Cut the epoch's order into consecutive slices of batch_size indices, len(self) of
        # HINT: them (so drop_last drops the short one).
        # TESTS: test_loader or test_workers
        bs = self.batch_size
        batches = [order[b * bs : (b + 1) * bs] for b in range(len(self))]
        # END SOLUTION
        if self.num_workers == 0:
            return self._in_process(batches)
        return _WorkerIterator(self, batches, base_seed)

    def _in_process(self, batches: list[npt.NDArray[np.int64]]) -> Iterator[Any]:
        for indices in batches:
            yield _fetch(self.dataset, self.collate_fn, indices)

    def _workers(self, base_seed: int) -> WorkerPool:
        """The pool for a new epoch: the persistent one (started on first use) or a fresh one."""
        if self._pool is not None and not self._pool.closed:
            return self._pool
        pool = WorkerPool(
            self.multiprocessing_context or multiprocessing.get_context(),
            self.num_workers,
            self.dataset,
            self.collate_fn,
            _fetch,
            base_seed,
            self.worker_init_fn,
        )
        if self.persistent_workers:
            self._pool = pool
            weakref.finalize(self, pool.shutdown)
        return pool

    def __repr__(self) -> str:
        workers = f", num_workers={self.num_workers}" if self.num_workers else ""
        return (
            f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
            f"batch_size={self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last}"
            f"{workers})"
        )


class _WorkerIterator:
    """One epoch of a loader with worker processes: sends index chunks ahead, yields the
    batches in order, and stops the workers at the end unless they are persistent."""

    def __init__(
        self, loader: DataLoader, batches: list[npt.NDArray[np.int64]], base_seed: int
    ) -> None:
        self._batches = batches
        self._timeout = loader.timeout
        self._pool = pool = loader._workers(base_seed)
        # A pool of one epoch stops when this iterator ends, or when it is garbage collected.
        self._stop = None if loader.persistent_workers else weakref.finalize(self, pool.shutdown)
        self._epoch = pool.new_epoch()
        self._workers = len(pool.pids)
        self._buffer: dict[int, Any] = {}
        self._sent = 0
        self._next = 0
        self._finished = False
        assert loader.prefetch_factor is not None
        for _ in range(loader.prefetch_factor * self._workers):
            self._send_one()

    def _send_one(self) -> None:
        if self._sent < len(self._batches):
            number = self._sent
            self._pool.send(number % self._workers, (self._epoch, number, self._batches[number]))
            self._sent += 1

    def _finish(self) -> None:
        self._finished = True
        if self._stop is not None:
            self._stop()

    def __iter__(self) -> _WorkerIterator:
        return self

    def __next__(self) -> Any:
        if self._finished:
            raise StopIteration
        if self._pool.closed or self._pool.epoch.value != self._epoch:
            self._finished = True
            raise RuntimeError(
                "DataLoader: this iterator's workers have moved on (a newer iter() of a loader "
                "with persistent_workers=True, or the loader was garbage collected)"
            )
        number = self._next
        if number >= len(self._batches):
            self._finish()
            raise StopIteration
        try:
            while number not in self._buffer:
                epoch, got, reply = self._pool.receive(
                    self._timeout, f"batch {number} from worker {number % self._workers}"
                )
                if epoch == self._epoch:
                    self._buffer[got] = reply
            reply = self._buffer.pop(number)
            if isinstance(reply, _WorkerError):
                reply.reraise()
        except BaseException:
            self._finish()
            raise
        self._next += 1
        self._send_one()
        return _unpack(reply)
