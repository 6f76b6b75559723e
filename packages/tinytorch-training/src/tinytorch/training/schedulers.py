"""Learning-rate schedules with PyTorch's names, arguments and stepping convention.

A scheduler sets ``group["lr"]`` of every parameter group of its optimizer. Constructing it
applies the schedule's value at step 0; each ``step()`` advances ``last_epoch`` by one and
applies the next value. Unlike PyTorch's schedulers (which multiply the current rate by a
factor each step), each value here comes from a closed form of ``(base_lr, last_epoch)``, so a
schedule resumed from a state dict, or jumped with ``step(epoch)``, lands on exactly the rate an
uninterrupted run would have.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from tinytorch.optimizers import Optimizer

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LinearLR",
    "SequentialLR",
    "StepLR",
]


class LRScheduler:
    """Base class: subclasses define :meth:`lr_at`, the rate of one group at a given step.

    Example:
        >>> from tinytorch.tensor import ones
        >>> from tinytorch.optimizers import SGD
        >>> opt = SGD([ones(1, requires_grad=True)], lr=1.0)
        >>> sched = StepLR(opt, step_size=2, gamma=0.5)
        >>> rates = []
        >>> for _ in range(5):
        ...     rates.append(sched.get_last_lr()[0])
        ...     opt.step()
        ...     sched.step()
        >>> rates
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expects an Optimizer, got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{type(self).__name__}: param 'initial_lr' is not specified in "
                        f"param_groups[{i}] when resuming with last_epoch={last_epoch}"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = []
        self.step()

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The learning rate of a group whose initial rate is ``base_lr``, at step ``epoch``."""
        raise NotImplementedError

    def get_lr(self) -> list[float]:
        """The rate of each group at the current ``last_epoch``."""
        return [self.lr_at(base, self.last_epoch) for base in self.base_lrs]

    def get_last_lr(self) -> list[float]:
        """The rates the last :meth:`step` set, one per parameter group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance one step (or jump to ``epoch``) and set every group's learning rate."""
        # BEGIN SOLUTION scheduler-step
        # HINT: Advance last_epoch by one (or jump to epoch), compute each group's rate with get_lr,
        # HINT: write it into the group's 'lr', and remember the list for get_last_lr.
        # TESTS: by_hand and not clip or schedules_match or every_group or jumping or resum
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        rates = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, rates, strict=True):
            group["lr"] = lr
        self._last_lr = rates
        # END SOLUTION

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer, as plain numbers and lists (JSON-serialisable)."""
        return {k: _plain(v) for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`; its keys must be this scheduler's, or nothing changes."""
        own = self.state_dict()
        missing = set(own) - set(state_dict)
        unexpected = set(state_dict) - set(own)
        if missing or unexpected:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: missing keys {sorted(missing)}, "
                f"unexpected keys {sorted(unexpected)}"
            )
        if len(state_dict["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: {len(state_dict['base_lrs'])} base "
                f"rates for {len(self.optimizer.param_groups)} parameter groups"
            )
        self._load(dict(state_dict))

    def _load(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, list(value) if isinstance(value, (list, tuple)) else value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _check_positive_int(owner: str, name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` steps (``torch.optim.lr_scheduler``).

    ``lr = base_lr * gamma ** (last_epoch // step_size)``.

    Example:
        >>> from tinytorch.tensor import ones
        >>> from tinytorch.optimizers import SGD
        >>> opt = SGD([ones(1, requires_grad=True)], lr=0.1)
        >>> sched = StepLR(opt, step_size=30, gamma=0.1)
        >>> sched.step(60)
        >>> round(sched.get_last_lr()[0], 6)
        0.001
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        _check_positive_int("StepLR", "step_size", step_size)
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        # BEGIN SOLUTION step-lr
        # HINT: Multiply by gamma once every step_size steps (integer division counts how many
        # HINT: times).
        # TESTS: step_lr or schedules_match or state_dict_resumes
        return base_lr * self.gamma ** (epoch // self.step_size)
        # END SOLUTION


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every step: ``lr = base_lr * gamma ** last_epoch``.

    Example:
        >>> from tinytorch.tensor import ones
        >>> from tinytorch.optimizers import SGD
        >>> opt = SGD([ones(1, requires_grad=True)], lr=1.0)
        >>> sched = ExponentialLR(opt, gamma=0.5)
        >>> sched.step(); sched.step()
        >>> sched.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        # BEGIN SOLUTION exponential-lr
        # HINT: Multiply by gamma at every step.
        # TESTS: exponential or schedules_match or state_dict_resumes
        return base_lr * self.gamma**epoch
        # END SOLUTION


class CosineAnnealingLR(LRScheduler):
    """Cosine decay from the base rate to ``eta_min`` over ``T_max`` steps (SGDR, no restarts).

    ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * last_epoch / T_max)) / 2``; past
    ``T_max`` it rises again along the same cosine, as PyTorch's does.

    Example:
        >>> from tinytorch.tensor import ones
        >>> from tinytorch.optimizers import SGD
        >>> opt = SGD([ones(1, requires_grad=True)], lr=1.0)
        >>> sched = CosineAnnealingLR(opt, T_max=4)
        >>> sched.step(2)
        >>> round(sched.get_last_lr()[0], 6)
        0.5
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        _check_positive_int("CosineAnnealingLR", "T_max", T_max)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        # BEGIN SOLUTION cosine-lr
        # HINT: Half a cosine from 1 down to 0 over T_max steps scales the distance between base_lr
        # HINT: and eta_min.
        # TESTS: cosine or schedules_match or state_dict_resumes
        cosine = (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0
        return self.eta_min + (base_lr - self.eta_min) * cosine
        # END SOLUTION


class LinearLR(LRScheduler):
    """Scale the rate linearly from ``start_factor`` to ``end_factor`` over ``total_iters``
    steps, then hold it: PyTorch's linear warm-up.

    ``lr = base_lr * (start + (end - start) * min(last_epoch, total_iters) / total_iters)``.

    Example:
        >>> from tinytorch.tensor import ones
        >>> from tinytorch.optimizers import SGD
        >>> opt = SGD([ones(1, requires_grad=True)], lr=1.0)
        >>> sched = LinearLR(opt, start_factor=0.25, total_iters=3)
        >>> rates = [sched.get_last_lr()[0]]
        >>> for _ in range(4):
        ...     sched.step()
        ...     rates.append(sched.get_last_lr()[0])
        >>> rates
        [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0.0 < start_factor <= 1.0:
            raise ValueError(
                f"LinearLR: start_factor must be in (0, 1] (a zero rate would make the first "
                f"step a no-op), got {start_factor}"
            )
        if not 0.0 <= end_factor <= 1.0:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        _check_positive_int("LinearLR", "total_iters", total_iters)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        # BEGIN SOLUTION linear-lr
        # HINT: The factor moves linearly from start_factor to end_factor over total_iters steps,
        # HINT: then stays at end_factor.
        # TESTS: linear or warmup or schedules_match or state_dict_resumes
        progress = min(max(epoch, 0), self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)
        # END SOLUTION


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at each of ``milestones``.

    Each scheduler counts its own steps from 0 when its turn starts. Warm-up then cosine decay
    (what nanoGPT does) is ``SequentialLR(opt, [LinearLR(...), CosineAnnealingLR(...)],
    milestones=[warmup_steps])``.

    Example:
        >>> from tinytorch.tensor import ones
        >>> from tinytorch.optimizers import SGD
        >>> opt = SGD([ones(1, requires_grad=True)], lr=1.0)
        >>> warm = LinearLR(opt, start_factor=0.5, total_iters=2)
        >>> decay = StepLR(opt, step_size=1, gamma=0.5)
        >>> sched = SequentialLR(opt, [warm, decay], milestones=[2])
        >>> rates = [sched.get_last_lr()[0]]
        >>> for _ in range(4):
        ...     sched.step()
        ...     rates.append(sched.get_last_lr()[0])
        >>> rates
        [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        schedulers = list(schedulers)
        milestones = [int(m) for m in milestones]
        if not schedulers:
            raise ValueError("SequentialLR: needs at least one scheduler")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} "
                f"milestones, got {len(milestones)}"
            )
        if any(b <= a for a, b in itertools.pairwise(milestones)) or any(
            m <= 0 for m in milestones
        ):
            raise ValueError(
                f"SequentialLR: milestones must be positive and increasing: {milestones}"
            )
        for i, s in enumerate(schedulers):
            if s.optimizer is not optimizer:
                raise ValueError(
                    f"SequentialLR: scheduler {i} ({type(s).__name__}) drives another optimizer"
                )
            if isinstance(s, SequentialLR):
                raise TypeError("SequentialLR: nesting SequentialLR is not supported")
        self._schedulers = schedulers
        self.milestones = milestones
        super().__init__(optimizer, last_epoch)

    def _current(self, epoch: int) -> tuple[LRScheduler, int]:
        start = 0
        index = 0
        for i, m in enumerate(self.milestones):
            if epoch >= m:
                start, index = m, i + 1
        return self._schedulers[index], epoch - start

    def lr_at(self, base_lr: float, epoch: int) -> float:
        scheduler, local = self._current(epoch)
        return scheduler.lr_at(base_lr, local)

    def step(self, epoch: int | None = None) -> None:
        super().step(epoch)
        scheduler, local = self._current(self.last_epoch)
        scheduler.last_epoch = local
        scheduler._last_lr = self.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        state = {
            k: _plain(v) for k, v in vars(self).items() if k not in ("optimizer", "_schedulers")
        }
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def _load(self, state: dict[str, Any]) -> None:
        inner = state.pop("_schedulers")
        if len(inner) != len(self._schedulers):
            raise ValueError(
                f"SequentialLR.load_state_dict: {len(inner)} schedulers saved, "
                f"{len(self._schedulers)} here"
            )
        before = [s.state_dict() for s in self._schedulers]
        try:
            for s, saved in zip(self._schedulers, inner, strict=True):
                s.load_state_dict(saved)
        except ValueError:
            for s, saved in zip(self._schedulers, before, strict=True):
                s.load_state_dict(saved)
            raise
        super()._load(state)
