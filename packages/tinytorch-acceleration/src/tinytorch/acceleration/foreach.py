"""A multi-tensor ("foreach") AdamW: every parameter a view of one flat buffer, one update.

``torch.optim.AdamW(foreach=True)`` launches one kernel per operation over a list of tensors;
NumPy has no list kernels, so here the list *is* one array: the parameters are re-pointed at
slices of a flat buffer (same ``Parameter`` objects, same values), the moments live in flat
buffers of the same layout, and a step gathers the gradients into one flat gradient and runs
each of Adam's dozen ufuncs once per parameter group instead of once per parameter.
The update is :class:`tinytorch.optimizers.Adam`'s own ``_update``, called on spans of the flat
buffers, so the updated weights are bit-identical.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.optimizers import Adam, AdamW, ParamGroup
from tinytorch.tensor import Tensor, graph

__all__ = ["ForeachAdamW"]

Array = npt.NDArray[Any]


class ForeachAdamW(Adam):
    """AdamW (or Adam, ``decoupled=False``) stepping one flat buffer per dtype.

    Build it from an existing optimizer with :meth:`from_optimizer` (what ``accelerate`` does):
    it takes over the groups, hyperparameters and any state. Parameters whose gradient is
    ``None`` at a step are skipped, exactly as the per-parameter loop skips them.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> w = Tensor([1.0, -2.0], requires_grad=True)
        >>> (w * w).sum().backward()
        >>> ForeachAdamW([w], lr=0.1, weight_decay=0.5).step()
        >>> w
        tensor([ 0.85, -1.8 ], requires_grad=True)
    """

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        *,
        decoupled: bool = True,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad=False)
        self.decoupled = bool(decoupled)
        self._decoupled = self.decoupled  # what Adam's update reads
        self._flatten()

    @classmethod
    def from_optimizer(cls, optimizer: Adam) -> ForeachAdamW:
        """The foreach twin of ``optimizer`` (an Adam or AdamW without amsgrad), its state
        carried over.

        Example:
            >>> from tinytorch.tensor import ones
            >>> opt = AdamW([ones(3, requires_grad=True)], lr=0.1)
            >>> ForeachAdamW.from_optimizer(opt).param_groups[0]["lr"]
            0.1
        """
        if not isinstance(optimizer, Adam):
            raise TypeError(
                f"ForeachAdamW.from_optimizer: expects an Adam or AdamW, got "
                f"{type(optimizer).__name__}"
            )
        if any(g["amsgrad"] for g in optimizer.param_groups):
            raise ValueError("ForeachAdamW.from_optimizer: amsgrad has no foreach step here")
        groups = [dict(g) for g in optimizer.param_groups]
        new = cls(groups, decoupled=isinstance(optimizer, AdamW))
        saved = optimizer.state_dict()
        if saved["state"]:
            new.load_state_dict(saved)
        return new

    def _check_group(self, group: ParamGroup) -> None:
        super()._check_group(group)
        if group["amsgrad"]:
            raise ValueError("ForeachAdamW: amsgrad is not supported")

    def _flatten(self) -> None:
        params = [p for g in self.param_groups for p in g["params"]]
        dtypes = {p.dtype for p in params}
        if len(dtypes) != 1:
            raise TypeError(f"ForeachAdamW: parameters must share one dtype, got {dtypes}")
        (dtype,) = dtypes
        total = sum(p.data.size for p in params)
        self._flat = np.empty(total, dtype=dtype)
        self._grad = np.empty(total, dtype=dtype)
        self._m = np.zeros(total, dtype=dtype)
        self._v = np.zeros(total, dtype=dtype)
        self._spans: list[tuple[int, int]] = []  # each group's [start, stop)
        self._offsets: dict[int, tuple[int, int]] = {}
        start = 0
        for group in self.param_groups:
            group_start = start
            for p in group["params"]:
                view = self._flat[start : start + p.data.size].reshape(p.shape)
                view[...] = p.data
                p.data = view  # the same Parameter, now a view into the flat buffer
                self._offsets[id(p)] = (start, start + p.data.size)
                start += p.data.size
            self._spans.append((group_start, start))
        self._steps = [0] * len(self.param_groups)

    @property
    def flat_parameters(self) -> Array:
        """The one buffer every parameter views (read it, do not resize it)."""
        return self._flat

    def _step_all(self) -> None:
        for gi, group in enumerate(self.param_groups):
            lo, hi = self._spans[gi]
            present = [p for p in group["params"] if p.grad is not None]
            if not present:
                continue
            state = self.state.setdefault(_span_key(self, gi), {"step": 0})
            state["step"] = step = state["step"] + 1
            for p in present:
                a, b = self._offsets[id(p)]
                self._gather(p, a, b)
            if len(present) == len(group["params"]):
                self._update_span(lo, hi, group, step)
            else:
                # Some have no gradient: step each present one alone. (The group keeps one
                # step count, so a parameter that skips steps is bias-corrected as if it had
                # not: the one difference from the per-parameter loop.)
                for p in present:
                    self._update_span(*self._offsets[id(p)], group, step)
            for p in present:
                graph.bump_version(p)

    def _gather(self, p: Tensor, a: int, b: int) -> None:
        assert p.grad is not None
        g = p.grad.data
        if g.shape != p.shape:
            raise RuntimeError(
                f"ForeachAdamW.step: gradient of shape {g.shape} for a parameter of shape {p.shape}"
            )
        self._grad[a:b].reshape(p.shape)[...] = g

    def _update_span(self, a: int, b: int, group: ParamGroup, step: int) -> None:
        # Adam's own update (its arithmetic, operation for operation), on a span of the flat
        # buffers: the moments are views, so it updates them in place.
        state = {"step": step - 1, "exp_avg": self._m[a:b], "exp_avg_sq": self._v[a:b]}
        self._update(self._flat[a:b], self._grad[a:b], state, group)

    # ---- state dicts in the per-parameter layout, so checkpoints stay interchangeable ----
    def state_dict(self) -> dict[str, Any]:
        """The state in :class:`AdamW`'s per-parameter layout (copies).

        Example:
            >>> from tinytorch.tensor import ones
            >>> ForeachAdamW([ones(2, requires_grad=True)]).state_dict()["state"]
            {}
        """
        groups = []
        state: dict[int, dict[str, Any]] = {}
        index = 0
        for gi, group in enumerate(self.param_groups):
            saved = {k: v for k, v in group.items() if k != "params"}
            ids = []
            step = self.state.get(_span_key(self, gi), {}).get("step", 0)
            for p in group["params"]:
                a, b = self._offsets[id(p)]
                if step:
                    state[index] = {
                        "step": step,
                        "exp_avg": self._m[a:b].reshape(p.shape).copy(),
                        "exp_avg_sq": self._v[a:b].reshape(p.shape).copy(),
                    }
                ids.append(index)
                index += 1
            saved["params"] = ids
            groups.append(saved)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Any) -> None:
        """Load an :class:`AdamW` (or this class's) state dict.

        Example:
            >>> from tinytorch.tensor import ones
            >>> opt = ForeachAdamW([ones(2, requires_grad=True)])
            >>> opt.load_state_dict(opt.state_dict())
        """
        groups = list(state_dict["param_groups"])
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"ForeachAdamW.load_state_dict: {len(groups)} groups in the state dict, "
                f"{len(self.param_groups)} here"
            )
        saved_state = state_dict["state"]
        for gi, (group, saved) in enumerate(zip(self.param_groups, groups, strict=True)):
            for key, value in saved.items():
                if key != "params":
                    group[key] = value
            steps = set()
            for p, i in zip(group["params"], saved["params"], strict=True):
                entry = saved_state.get(i)
                if entry is None:
                    continue
                a, b = self._offsets[id(p)]
                self._m[a:b] = np.asarray(entry["exp_avg"]).reshape(-1)
                self._v[a:b] = np.asarray(entry["exp_avg_sq"]).reshape(-1)
                steps.add(int(entry["step"]))
            if len(steps) > 1:
                raise ValueError(
                    f"ForeachAdamW.load_state_dict: group {gi} has parameters at different "
                    f"steps {sorted(steps)}; a foreach step needs one count per group"
                )
            if steps:
                self.state[_span_key(self, gi)] = {"step": steps.pop()}


def _span_key(opt: ForeachAdamW, gi: int) -> Tensor:
    # Optimizer.state is keyed by tensor; a group's step count sits under its first parameter.
    first: Tensor = opt.param_groups[gi]["params"][0]
    return first
