"""The training loop: forward, loss, backward, (accumulate, clip,) step; validate; repeat."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from typing import Any

import numpy as np

from tinytorch.autograd import no_grad
from tinytorch.layers import Module
from tinytorch.optimizers import Optimizer
from tinytorch.tensor import Generator, Tensor
from tinytorch.training.callbacks import Callback
from tinytorch.training.checkpoint import (
    CheckpointError,
    PathLike,
    _PendingLoad,
    _prepare,
    save_checkpoint,
)
from tinytorch.training.clip import clip_grad_norm_
from tinytorch.training.progress import Progress
from tinytorch.training.schedulers import LRScheduler

__all__ = ["History", "Trainer"]

LossFn = Callable[[Any, Any], Tensor]
Metric = Callable[[Any, Any], float]
Batches = Iterable[Sequence[Any]]


class History:
    """What a run measured: one record per epoch, and the loss of every optimizer step.

    ``history["val_loss"]`` is that column over the epochs (``None`` where an epoch lacks it).

    Example:
        >>> h = History()
        >>> h.epochs.append({"epoch": 1, "train_loss": 0.5})
        >>> h["train_loss"], len(h)
        ([0.5], 1)
    """

    def __init__(self) -> None:
        self.epochs: list[dict[str, Any]] = []
        self.steps: list[float] = []

    def __getitem__(self, key: str) -> list[Any]:
        if not any(key in record for record in self.epochs):
            raise KeyError(f"History: no {key!r} recorded; have {self.keys()}")
        return [record.get(key) for record in self.epochs]

    def keys(self) -> list[str]:
        """Every column seen so far, in order of first appearance."""
        seen: list[str] = []
        for record in self.epochs:
            seen.extend(k for k in record if k not in seen)
        return seen

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        return f"History({len(self.epochs)} epochs, {len(self.steps)} steps)"


class Trainer:
    """Fit a model with an optimizer: the loop every later module trains with.

    Each batch is an ``(inputs, targets)`` pair; ``model(inputs)`` gives the outputs and
    ``loss_fn(outputs, targets)`` a scalar loss. ``train_batches`` may be any re-iterable (a
    list, a DataLoader); it is iterated once per epoch.

    - ``accumulation_steps=k`` sums the gradients of ``k`` batches and steps once with their
      mean, as one batch ``k`` times larger would (a short last group is averaged over its own
      count).
    - ``grad_clip`` clips the total gradient norm before each step (:func:`clip_grad_norm_`).
    - ``scheduler`` steps once per epoch, or once per optimizer step with
      ``scheduler_interval="step"``.
    - ``metrics`` (name -> ``fn(outputs, targets)``) are computed by :meth:`evaluate`, on the
      validation batches as ``val_<name>``.
    - ``callbacks`` see every step and epoch (:class:`Callback`); ``progress`` shows a status
      line on stderr (default: only when it is a terminal).
    - ``generators`` names extra random generators whose state checkpoints keep.

    Example:
        >>> from tinytorch.layers import Linear
        >>> from tinytorch.losses import MSELoss
        >>> from tinytorch.optimizers import SGD
        >>> from tinytorch.tensor import Generator, randn
        >>> g = Generator(0)
        >>> x = randn(64, 3, generator=g)
        >>> y = x @ randn(3, 1, generator=g)
        >>> model = Linear(3, 1, generator=g)
        >>> trainer = Trainer(model, SGD(model.parameters(), lr=0.1), MSELoss())
        >>> history = trainer.fit([(x[:32], y[:32]), (x[32:], y[32:])], epochs=50)
        >>> history["train_loss"][-1] < 1e-4
        True
    """

    def __init__(
        self,
        model: Module,
        optimizer: Optimizer,
        loss_fn: LossFn,
        scheduler: LRScheduler | None = None,
        grad_clip: float | None = None,
        accumulation_steps: int = 1,
        callbacks: Sequence[Callback] = (),
        *,
        metrics: Mapping[str, Metric] | None = None,
        scheduler_interval: str = "epoch",
        progress: bool | None = None,
        generators: Mapping[str, Generator] | None = None,
    ) -> None:
        if (
            isinstance(accumulation_steps, bool)
            or not isinstance(accumulation_steps, int)
            or (accumulation_steps < 1)
        ):
            raise ValueError(
                f"Trainer: accumulation_steps must be an integer >= 1, got {accumulation_steps!r}"
            )
        if grad_clip is not None and not grad_clip > 0:
            raise ValueError(f"Trainer: grad_clip must be > 0 (or None), got {grad_clip}")
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(
                f"Trainer: scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}"
            )
        if scheduler is not None and scheduler.optimizer is not optimizer:
            raise ValueError("Trainer: the scheduler drives a different optimizer")
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.scheduler = scheduler
        self.grad_clip = grad_clip
        self.accumulation_steps = accumulation_steps
        self.callbacks = list(callbacks)
        self.metrics = dict(metrics or {})
        self.scheduler_interval = scheduler_interval
        self.progress = Progress(enabled=progress)
        self.generators = dict(generators or {})
        self.history = History()
        self.epoch = 0
        self.global_step = 0
        self.stop_training = False

    # ---- training ---------------------------------------------------------------------------
    def fit(
        self, train_batches: Batches, epochs: int = 1, val_batches: Batches | None = None
    ) -> History:
        """Train for ``epochs`` more epochs; returns :attr:`history`.

        Each epoch's record holds ``epoch``, ``train_loss`` (mean over samples), ``lr`` (the
        rate of the first group during the epoch), ``time_s`` and, given ``val_batches``,
        ``val_loss`` and ``val_<metric>``. Epochs are numbered on from earlier ``fit`` calls
        (and from a loaded checkpoint).
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"fit: epochs must be an integer >= 0, got {epochs!r}")
        for name, batches in (("train_batches", train_batches), ("val_batches", val_batches)):
            if isinstance(batches, Iterator) and epochs > 1:
                raise TypeError(
                    f"fit: {name} is a one-shot iterator, exhausted after the first epoch; pass "
                    "a list or another re-iterable (a DataLoader)"
                )
        self.stop_training = False
        for cb in self.callbacks:
            cb.on_fit_start(self)
        self.optimizer.zero_grad()
        try:
            for _ in range(epochs):
                self.epoch += 1
                for cb in self.callbacks:
                    cb.on_epoch_start(self, self.epoch)
                start = time.perf_counter()
                lr = float(self.optimizer.param_groups[0]["lr"])
                record: dict[str, Any] = {
                    "epoch": self.epoch,
                    "train_loss": self._train_epoch(train_batches, epochs),
                }
                record["lr"] = lr
                if val_batches is not None:
                    scores = self.evaluate(val_batches)
                    record.update({f"val_{k}": v for k, v in scores.items()})
                record["time_s"] = time.perf_counter() - start
                if self.scheduler is not None and self.scheduler_interval == "epoch":
                    self.scheduler.step()
                self.history.epochs.append(record)
                for cb in self.callbacks:
                    cb.on_epoch_end(self, record)
                if self.stop_training:
                    break
        finally:
            self.model.train()
        for cb in self.callbacks:
            cb.on_fit_end(self)
        return self.history

    def _train_epoch(self, batches: Batches, epochs: int) -> float:
        self.model.train()
        total = 0.0
        count = 0
        pending = 0
        pending_loss = 0.0
        length = len(batches) if isinstance(batches, Sized) else None
        self.progress.start(self.epoch, epochs, length)
        step_in_epoch = 0
        for step_in_epoch, (inputs, targets) in enumerate(_pairs(batches), start=1):
            # BEGIN SOLUTION train-forward
            # HINT: The forward half of a training step: run the model on the inputs, score its
            # HINT: outputs with the loss function, and read the loss as a Python float (for the
            # HINT: running mean and the finiteness check below).
            # TESTS: test_trainer and not evaluate_is
            loss = self.loss_fn(self.model(inputs), targets)
            value = float(loss.item())
            # END SOLUTION
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"Trainer: the loss is {value} at epoch {self.epoch}, batch {step_in_epoch} "
                    "(try a smaller learning rate or grad_clip)"
                )
            # BEGIN SOLUTION train-backward-and-accumulate
            # HINT: Backpropagate the loss, add value * batch size to total and the batch size to
            # HINT: count (the epoch's loss is the sample-weighted mean), and count the micro-batch.
            # HINT: Once accumulation_steps micro-batches have backpropagated (their gradients
            # HINT: summed in .grad), take one optimizer step with self._step(their count, their
            # HINT: mean loss) and start counting again.
            # TESTS: test_trainer and not evaluate_is
            loss.backward()
            n = _batch_size(targets)
            total += value * n
            count += n
            pending += 1
            pending_loss += value
            if pending == self.accumulation_steps:
                self._step(pending, pending_loss / pending)
                pending, pending_loss = 0, 0.0
            # END SOLUTION
            self.progress.update(step_in_epoch, total / count)
        if pending:
            self._step(pending, pending_loss / pending)
        if count == 0:
            raise ValueError("fit: train_batches yielded no batches")
        mean = total / count
        self.progress.end(f"epoch {self.epoch}/{epochs}  {step_in_epoch} steps  loss {mean:.4f}")
        return mean

    def _step(self, micro_batches: int, loss: float) -> None:
        # BEGIN SOLUTION optimizer-step
        # HINT: One update from the summed gradients of micro_batches micro-batches: divide them by
        # HINT: that count (so accumulation equals one big batch), clip their joint norm to
        # HINT: grad_clip if set, note the rate used (group 0's lr), step the optimizer and clear
        # HINT: the gradients. Then count the step, record the loss in history.steps, and step a
        # HINT: per-step scheduler (scheduler_interval == 'step').
        # TESTS: test_trainer and not evaluate_is
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        if micro_batches > 1:
            scale = 1.0 / micro_batches
            for p in params:
                if p.grad is not None:
                    p.grad.data *= scale
        if self.grad_clip is not None:
            clip_grad_norm_(params, self.grad_clip)
        lr = float(self.optimizer.param_groups[0]["lr"])
        self.optimizer.step()
        self.optimizer.zero_grad()
        self.global_step += 1
        self.history.steps.append(loss)
        if self.scheduler is not None and self.scheduler_interval == "step":
            self.scheduler.step()
        # END SOLUTION
        logs = {"step": self.global_step, "epoch": self.epoch, "loss": loss, "lr": lr}
        for cb in self.callbacks:
            cb.on_step_end(self, logs)

    # ---- evaluation -------------------------------------------------------------------------
    def evaluate(
        self, batches: Batches, metrics: Mapping[str, Metric] | None = None
    ) -> dict[str, float]:
        """Mean loss and metrics over ``batches``, in eval mode, without recording the graph.

        Each batch counts in proportion to its number of samples. ``metrics`` defaults to the
        trainer's. The model's train/eval mode is restored afterwards.

        Example:
            >>> from tinytorch.layers import Linear
            >>> from tinytorch.losses import MSELoss
            >>> from tinytorch.optimizers import SGD
            >>> from tinytorch.tensor import zeros
            >>> model = Linear(2, 1)
            >>> t = Trainer(model, SGD(model.parameters(), lr=0.1), MSELoss())
            >>> sorted(t.evaluate([(zeros(4, 2), zeros(4, 1))]))
            ['loss']
        """
        chosen = self.metrics if metrics is None else dict(metrics)
        was_training = self.model.training
        self.model.eval()
        sums = dict.fromkeys(["loss", *chosen], 0.0)
        count = 0
        try:
            with no_grad():
                # BEGIN SOLUTION evaluate-batches
                # HINT: For each batch: the model's outputs, the loss and every metric, each
                # HINT: weighted by the batch's number of samples (_batch_size), summed into sums;
                # HINT: count the samples. This runs under no_grad, in eval mode.
                # TESTS: evaluate or metrics or early_stopping or fit_learns
                for inputs, targets in _pairs(batches):
                    outputs = self.model(inputs)
                    n = _batch_size(targets)
                    sums["loss"] += float(self.loss_fn(outputs, targets).item()) * n
                    for name, fn in chosen.items():
                        sums[name] += float(fn(outputs, targets)) * n
                    count += n
                # END SOLUTION
        finally:
            self.model.train(was_training)
        if count == 0:
            raise ValueError("evaluate: the batches yielded no samples")
        return {name: total / count for name, total in sums.items()}

    # ---- checkpoints --------------------------------------------------------------------------
    def save_checkpoint(self, path: PathLike, extra: Mapping[str, Any] | None = None) -> None:
        """Save model, optimizer, scheduler, RNG states, epoch, step count and history.

        A trainer built the same way and given :meth:`load_checkpoint` continues the run
        exactly as if it had never stopped.
        """
        state = {
            "epoch": self.epoch,
            "global_step": self.global_step,
            "history": {"epochs": self.history.epochs, "steps": self.history.steps},
        }
        save_checkpoint(
            path,
            self.model,
            self.optimizer,
            self.scheduler,
            step=self.global_step,
            extra={"trainer": state, "user": dict(extra or {})},
            generators=self.generators,
        )

    def load_checkpoint(self, path: PathLike) -> dict[str, Any]:
        """Restore a :meth:`save_checkpoint` file; returns the ``extra`` it was saved with.

        All or nothing: the trainer's own fields (epoch, step count, history) are checked with
        the model, optimizer, scheduler and generators before any of them changes, so a file
        that does not fit raises :class:`CheckpointError` and leaves the trainer as it was.
        """
        pending = _prepare(path, self.model, self.optimizer, self.scheduler, self.generators)
        epoch, global_step, epochs, steps, user = _trainer_fields(pending.where, pending)
        pending.apply()
        self.epoch = epoch
        self.global_step = global_step
        self.history.epochs = epochs
        self.history.steps = steps
        return user


def _count(where: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CheckpointError(f"{where}: trainer field {name!r} is {value!r}, not a count >= 0")
    return value


def _trainer_fields(
    where: str, pending: _PendingLoad
) -> tuple[int, int, list[dict[str, Any]], list[float], dict[str, Any]]:
    """The trainer's fields from a checkpoint, each checked; CheckpointError names a bad one."""
    extra = pending.extra
    state = extra.get("trainer", {})
    user = extra.get("user", {})
    if not isinstance(state, dict):
        raise CheckpointError(f"{where}: the trainer state is a {type(state).__name__}")
    if not isinstance(user, dict):
        raise CheckpointError(f"{where}: the user's extra is a {type(user).__name__}")
    epoch = _count(where, "epoch", state.get("epoch", 0))
    global_step = _count(where, "global_step", state.get("global_step", pending.step))
    history = state.get("history", {})
    if not isinstance(history, dict):
        raise CheckpointError(f"{where}: trainer field 'history' is a {type(history).__name__}")
    epochs = history.get("epochs", [])
    if not isinstance(epochs, list) or not all(isinstance(r, dict) for r in epochs):
        raise CheckpointError(f"{where}: trainer field 'history.epochs' is not a list of records")
    raw_steps = history.get("steps", [])
    if not isinstance(raw_steps, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw_steps
    ):
        raise CheckpointError(f"{where}: trainer field 'history.steps' is not a list of losses")
    return epoch, global_step, list(epochs), [float(v) for v in raw_steps], user


def _pairs(batches: Batches) -> Iterator[tuple[Any, Any]]:
    for i, batch in enumerate(batches):
        try:
            inputs, targets = batch
        except (TypeError, ValueError):
            raise TypeError(
                f"Trainer: batch {i} is not an (inputs, targets) pair: {type(batch).__name__}"
            ) from None
        if isinstance(inputs, np.ndarray):
            inputs = Tensor(inputs)
        if isinstance(targets, np.ndarray):
            targets = Tensor(targets)
        yield inputs, targets


def _batch_size(targets: Any) -> int:
    shape = getattr(targets, "shape", None)
    if shape:
        return int(shape[0])
    return 1
