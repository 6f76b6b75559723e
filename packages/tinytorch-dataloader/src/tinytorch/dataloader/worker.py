"""Worker processes for ``DataLoader(num_workers=N)``: the pool, the worker loop, worker info.

The main process keeps the sampler: it draws each epoch's order and sends every worker the
index chunks of the batches it is to build (batch ``b`` goes to worker ``b % N``). Workers only
turn indices into batches, so the batches, and their order, are those of ``num_workers=0``.

Channels. Each worker has two one-way pipes of its own, one for its tasks and one for its
batches, and both ends write from their main thread. A ``multiprocessing.Queue`` would send
from a feeder thread instead, and that thread has to win the GIL back from a worker busy in
Python after every chunk it writes: measured here, milliseconds lost per batch. The batch pipe is
enlarged to 1 MiB where Linux allows, so a worker can finish batches ahead of the loop without
waiting to be read; the main process reads whatever is ready whenever it waits, and waits on the
workers' process sentinels at the same time, so a worker that dies is noticed at once. A batch
is pickled before it is sent, so one that cannot be pickled is reported as that worker's error.

Shutdown. ``done`` (an event) tells every worker to stop taking tasks; a ``None`` task wakes
those waiting for one; the main process keeps reading (and dropping) batches so that no worker
stays blocked writing one. What is still running after a grace period is terminated, then every
process is joined, so no worker outlives its pool and none is left a zombie.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pickle
import random
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.tensor import Tensor, from_numpy, manual_seed

__all__ = ["WorkerInfo", "get_worker_info"]

# How often an idle worker checks that the process that started it is still there.
_IDLE_POLL_S = 1.0
# The batch pipe's capacity asked of Linux (its default is 64 KiB; 1 MiB is the unprivileged cap).
_PIPE_BYTES = 1 << 20
# How long stopping workers get to finish their current batch before they are terminated.
_SHUTDOWN_GRACE_S = 1.0

Fetch = Callable[[Any, Any, npt.NDArray[np.int64]], Any]


@dataclass(frozen=True)
class WorkerInfo:
    """Who this worker process is (``torch.utils.data.get_worker_info()``'s answer).

    ``id`` runs from 0 to ``num_workers - 1``; ``seed`` is what this worker's ``random``,
    NumPy and TinyTorch generators were seeded with (``base_seed + id``); ``dataset`` is this
    process's copy of the dataset.

    Example:
        >>> info = WorkerInfo(id=1, num_workers=2, seed=101, dataset=[0, 1, 2])
        >>> info.id, info.seed - info.id
        (1, 100)
    """

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """Inside a DataLoader worker, its :class:`WorkerInfo`; in any other process, ``None``.

    A dataset or ``worker_init_fn`` uses it to split work between workers, or to reseed a
    generator of its own from ``seed``.

    Example:
        >>> get_worker_info() is None  # the main process
        True
    """
    return _worker_info


def _seed_worker(seed: int) -> None:
    """Seed every generator a random transform may draw from, as PyTorch's workers do."""
    random.seed(seed)
    manual_seed(seed)
    # User transforms may call np.random.* directly: its legacy global state is seeded too, from
    # four 32-bit words that spread the 64-bit seed over them.
    words = np.random.SeedSequence(seed).generate_state(4, dtype=np.uint32)
    np.random.seed(words)  # noqa: NPY002


@dataclass(frozen=True)
class _WireTensor:
    """A Tensor as it crosses the process boundary: its array and its requires_grad flag only
    (its graph, hooks and version counter belong to the worker's process)."""

    data: npt.NDArray[Any]
    requires_grad: bool


def _pack(batch: Any) -> Any:
    if isinstance(batch, Tensor):
        return _WireTensor(batch.data, batch.requires_grad)
    if isinstance(batch, Mapping):
        return {k: _pack(v) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(_pack(v) for v in batch))
    if isinstance(batch, (tuple, list)):
        return type(batch)(_pack(v) for v in batch)
    return batch


def _unpack(batch: Any) -> Any:
    if isinstance(batch, _WireTensor):
        t = from_numpy(batch.data)
        return t.requires_grad_(True) if batch.requires_grad else t
    if isinstance(batch, Mapping):
        return {k: _unpack(v) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(_unpack(v) for v in batch))
    if isinstance(batch, (tuple, list)):
        return type(batch)(_unpack(v) for v in batch)
    return batch


@dataclass(frozen=True)
class _WorkerError:
    """An exception raised in a worker, carried to the main process as text and type."""

    worker_id: int
    where: str
    type_name: str
    exc_type: type[BaseException] | None  # None when the type cannot be pickled
    text: str

    @classmethod
    def capture(cls, worker_id: int, where: str, err: BaseException) -> _WorkerError:
        exc_type: type[BaseException] | None = type(err)
        try:
            pickle.dumps(exc_type)
        except Exception:  # a class defined in a function, say: re-raised as RuntimeError
            exc_type = None
        text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
        return cls(worker_id, where, type(err).__name__, exc_type, text)

    def reraise(self) -> None:
        message = (
            f"DataLoader: caught {self.type_name} in worker {self.worker_id} {self.where}.\n"
            f"Original traceback:\n{self.text}"
        )
        err: BaseException
        try:
            err = (self.exc_type or RuntimeError)(message)
        except Exception:  # a constructor that does not take one message
            err = RuntimeError(message)
        raise err


def _worker_loop(
    tasks: Connection,
    results: Connection,
    done: Any,
    epoch: Any,
    dataset: Any,
    collate_fn: Any,
    fetch: Fetch,
    worker_id: int,
    num_workers: int,
    seed: int,
    worker_init_fn: Callable[[int], object] | None,
) -> None:
    """The body of one worker process: seed, initialise, then build the batches it is sent."""
    global _worker_info
    parent = os.getppid()
    init_error: _WorkerError | None = None
    try:
        _seed_worker(seed)
        _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
        if worker_init_fn is not None:
            try:
                worker_init_fn(worker_id)
            except Exception as err:
                init_error = _WorkerError.capture(worker_id, "in worker_init_fn", err)
        while not done.is_set():
            try:
                if not tasks.poll(_IDLE_POLL_S):
                    if os.getppid() != parent:  # the main process is gone: nobody to serve
                        break
                    continue
                task = tasks.recv()
            except (EOFError, OSError):
                break
            if task is None or done.is_set():
                break
            task_epoch, number, indices = task
            if task_epoch != epoch.value:  # an epoch the main process has moved on from
                continue
            if init_error is not None:
                reply: Any = init_error
            else:
                try:
                    reply = _pack(fetch(dataset, collate_fn, indices))
                except Exception as err:
                    reply = _WorkerError.capture(worker_id, f"while fetching batch {number}", err)
            try:
                message = pickle.dumps((task_epoch, number, reply), pickle.HIGHEST_PROTOCOL)
            except Exception as err:
                reply = _WorkerError.capture(worker_id, f"while sending batch {number}", err)
                message = pickle.dumps((task_epoch, number, reply), pickle.HIGHEST_PROTOCOL)
            if done.is_set():
                break
            try:
                results.send_bytes(message)
            except OSError:  # the main process closed its end: it wants nothing more
                break
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the main one reports it
        pass
    finally:
        results.close()


class WorkerPool:
    """``num_workers`` processes serving one DataLoader: for one epoch, or for many when the
    loader has ``persistent_workers=True``.

    Not public API; :class:`~tinytorch.dataloader.DataLoader` builds and stops its pools.
    """

    def __init__(
        self,
        ctx: BaseContext,
        num_workers: int,
        dataset: Any,
        collate_fn: Any,
        fetch: Fetch,
        base_seed: int,
        worker_init_fn: Callable[[int], object] | None,
    ) -> None:
        self.closed = False
        self._done = ctx.Event()
        self._inbox: collections.deque[bytes] = collections.deque()
        self._results: list[Connection] = []
        self.epoch: Any = ctx.RawValue("q", 0)
        self.base_seed = base_seed
        self._tasks: list[Connection] = []
        self.processes: list[Any] = []
        self.pids: list[int] = []
        try:
            for worker_id in range(num_workers):
                reader, writer = ctx.Pipe(duplex=False)
                batches, batch_writer = ctx.Pipe(duplex=False)
                _enlarge_pipe(batch_writer)
                process = ctx.Process(  # type: ignore[attr-defined]
                    target=_worker_loop,
                    args=(
                        reader,
                        batch_writer,
                        self._done,
                        self.epoch,
                        dataset,
                        collate_fn,
                        fetch,
                        worker_id,
                        num_workers,
                        base_seed + worker_id,
                        worker_init_fn,
                    ),
                    name=f"tinytorch-dataloader-worker-{worker_id}",
                    daemon=True,
                )
                self._tasks.append(writer)
                self._results.append(batches)
                self.processes.append(process)
                try:
                    process.start()
                except (pickle.PicklingError, AttributeError, TypeError) as err:
                    method = ctx.get_start_method()
                    raise TypeError(
                        f"DataLoader: cannot start worker {worker_id} by {method!r}: its "
                        f"dataset, collate_fn and worker_init_fn must be picklable (module-level "
                        f"classes and functions, no lambdas): {err}"
                    ) from err
                self.pids.append(process.pid)
                # The worker has its copies. Closing these here also keeps workers forked later
                # from inheriting them, so a worker's batch pipe ends when that worker does.
                reader.close()
                batch_writer.close()
        except BaseException:
            self.shutdown()
            raise

    def new_epoch(self) -> int:
        """Start a new epoch: tasks still queued for an earlier one are skipped by the workers."""
        self.epoch.value += 1
        return int(self.epoch.value)

    def send(self, worker_id: int, task: tuple[int, int, npt.NDArray[np.int64]]) -> None:
        with contextlib.suppress(OSError):  # the worker is gone; receive() says how it ended
            self._tasks[worker_id].send(task)

    def receive(self, timeout: float, waiting_for: str) -> tuple[int, int, Any]:
        """The next result of any worker, as (epoch, batch number, batch or error); raises
        RuntimeError when a worker has died, or when ``timeout`` (> 0) passes first."""
        deadline = time.monotonic() + timeout if timeout > 0 else None
        sentinels = [p.sentinel for p in self.processes]
        while not self._inbox:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            ready = wait([*self._results, *sentinels], timeout=left)
            if not ready:
                raise RuntimeError(
                    f"DataLoader: timed out after {timeout} seconds waiting for {waiting_for}"
                )
            for conn in self._results:
                if conn in ready:
                    with contextlib.suppress(EOFError, OSError):  # its sentinel says why
                        self._inbox.append(conn.recv_bytes())
            if not self._inbox:  # only sentinels woke us: a worker has exited
                self._check_alive()
        epoch, number, reply = pickle.loads(self._inbox.popleft())
        return epoch, number, reply

    def _check_alive(self) -> None:
        for worker_id, process in enumerate(self.processes):
            code = process.exitcode
            if code is not None:
                how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
                self.shutdown()  # a pool short of a worker cannot serve: a persistent loader
                # starts a fresh one at its next iter()
                raise RuntimeError(
                    f"DataLoader: worker {worker_id} (pid {self.pids[worker_id]}) {how} "
                    f"unexpectedly"
                )

    def shutdown(self) -> None:
        """Stop every worker and reap it; idempotent, and safe from a finalizer."""
        if self.closed:
            return
        self.closed = True
        self._done.set()
        for conn in self._tasks:
            with contextlib.suppress(OSError):
                conn.send(None)
            conn.close()
        started = [p for p in self.processes if p.pid is not None]
        # Drain the batch pipes until every worker has exited, so that none stays blocked
        # writing a batch nobody will read; what is still running at the deadline is stopped.
        running = {p.sentinel: p for p in started}
        readers = list(self._results)
        deadline = time.monotonic() + _SHUTDOWN_GRACE_S
        while running and time.monotonic() < deadline:
            ready = wait([*readers, *running], timeout=max(deadline - time.monotonic(), 0.0))
            for obj in ready:
                if isinstance(obj, Connection):
                    try:
                        obj.recv_bytes()
                    except (EOFError, OSError):
                        readers.remove(obj)
                else:
                    running.pop(obj)
        for process in started:
            if process.is_alive():
                process.terminate()
                process.join(_SHUTDOWN_GRACE_S)
            if process.is_alive():
                process.kill()
            process.join()
            process.close()
        for conn in self._results:
            conn.close()
        self._inbox.clear()


def _enlarge_pipe(conn: Connection) -> None:
    """Ask Linux for a pipe of ``_PIPE_BYTES``; elsewhere, or when refused, keep the default."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass
