"""Callbacks: code that runs at fixed points of :meth:`Trainer.fit` without editing the loop."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from tinytorch.training.checkpoint import PathLike, atomic_write

if TYPE_CHECKING:
    from tinytorch.training.trainer import Trainer

__all__ = ["Callback", "EarlyStopping", "HistoryWriter", "ModelCheckpoint"]


class Callback:
    """Base class: override any of the hooks; each receives the trainer (and the logs so far).

    ``on_step_end`` gets ``{"step", "epoch", "loss", "lr"}`` after each optimizer step;
    ``on_epoch_end`` gets the epoch's record (``train_loss``, ``val_loss``, metrics, ``lr``).
    Setting ``trainer.stop_training = True`` ends ``fit`` after the current epoch.

    Example:
        >>> class PrintLoss(Callback):
        ...     def on_epoch_end(self, trainer, logs):
        ...         print(f"epoch {logs['epoch']}: {logs['train_loss']:.3f}")
    """

    def on_fit_start(self, trainer: Trainer) -> None:
        """Before the first epoch."""

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        """Before each epoch (numbered from 1)."""

    def on_step_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        """After each optimizer step."""

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        """After each epoch, its validation included."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """After the last epoch (or an early stop)."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``mode="min"`` for losses, ``"max"`` for accuracies. With ``restore_best_weights=True`` the
    model gets back the weights of its best epoch when training ends.

    Example:
        >>> stop = EarlyStopping(monitor="val_loss", patience=2)
        >>> stop.best
        inf
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 3,
        min_delta: float = 0.0,
        mode: str = "min",
        restore_best_weights: bool = False,
    ) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an integer >= 0, got {patience!r}")
        if min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta}")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = 0
        self.wait = 0
        self.stopped_epoch = 0
        self._best_weights: dict[str, np.ndarray[Any, Any]] | None = None

    def on_fit_start(self, trainer: Trainer) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = self.wait = self.stopped_epoch = 0
        self._best_weights = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        if self.monitor not in logs:
            raise KeyError(
                f"EarlyStopping: monitored value {self.monitor!r} is not in the epoch's logs "
                f"(available: {sorted(logs)}); pass val_batches to fit() for val_* values"
            )
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, int(logs["epoch"]), 0
            if self.restore_best_weights:
                state = trainer.model.state_dict()
                self._best_weights = {k: np.array(v.data, copy=True) for k, v in state.items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = int(logs["epoch"])
            trainer.stop_training = True

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.restore_best_weights and self._best_weights is not None:
            trainer.model.load_state_dict(self._best_weights)


class HistoryWriter(Callback):
    """Write the epoch history to ``path`` after every epoch: CSV or JSON by the suffix.

    Each write replaces the file atomically, so it can be watched (or plotted) while training
    runs and is never seen half-written.

    Example:
        >>> import os, tempfile
        >>> writer = HistoryWriter(os.path.join(tempfile.mkdtemp(), "history.csv"))
        >>> writer.format
        'csv'
    """

    def __init__(self, path: PathLike, format: str | None = None) -> None:
        self.path = path
        suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
        chosen = format or suffix
        if chosen not in ("csv", "json"):
            raise ValueError(
                f"HistoryWriter: cannot tell the format of {os.fspath(path)!r}; use a .csv or "
                ".json suffix, or format='csv'/'json'"
            )
        self.format = chosen

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.write(trainer.history.epochs)

    def write(self, records: list[dict[str, Any]]) -> None:
        """Write ``records`` (one dict per epoch) to the file now."""
        if self.format == "json":
            text = json.dumps(records, indent=2) + "\n"
        else:
            columns: list[str] = []
            for record in records:
                columns.extend(k for k in record if k not in columns)
            buffer = io.StringIO()
            out = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
            out.writeheader()
            out.writerows(records)
            text = buffer.getvalue()
        data = text.encode("utf-8")

        def write(f: IO[bytes]) -> None:
            f.write(data)

        atomic_write(self.path, write)


class ModelCheckpoint(Callback):
    """Save a resumable checkpoint (:meth:`Trainer.save_checkpoint`) every ``every_n_epochs``.

    ``path`` may contain ``{epoch}`` to keep one file per epoch; without it, each save
    atomically replaces the last.

    Example:
        >>> ModelCheckpoint("run/ckpt-{epoch}.npz").every_n_epochs
        1
    """

    def __init__(self, path: str, every_n_epochs: int = 1) -> None:
        if (
            isinstance(every_n_epochs, bool)
            or not isinstance(every_n_epochs, int)
            or (every_n_epochs < 1)
        ):
            raise ValueError(f"ModelCheckpoint: every_n_epochs must be >= 1, got {every_n_epochs}")
        self.path = path
        self.every_n_epochs = every_n_epochs
        self.saved: list[str] = []

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        epoch = int(logs["epoch"])
        if epoch % self.every_n_epochs == 0:
            path = self.path.format(epoch=epoch)
            trainer.save_checkpoint(path)
            self.saved.append(path)
