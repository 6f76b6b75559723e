"""The ``Optimizer`` base class: parameter groups, per-parameter state, state dicts.

An optimizer never goes through the graph. Its update is plain NumPy on ``p.data`` and
``p.grad.data``, written in place with ``out=`` into buffers that live as long as the
optimizer, so a step allocates (almost) nothing and records nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Union

import numpy as np
import numpy.typing as npt

from tinytorch.autograd import enable_grad
from tinytorch.tensor import Tensor, graph

__all__ = ["Optimizer", "ParamGroup", "ParamsT", "StateDict"]

Array = npt.NDArray[Any]
ParamGroup = dict[str, Any]
"""One parameter group: ``"params"`` (a list of tensors) plus its hyperparameters."""
ParamsT = Union[Iterable[Tensor], Iterable[Mapping[str, Any]]]  # noqa: UP007 (runtime alias)
"""What an optimizer accepts: tensors, or dicts each describing a parameter group."""
StateDict = dict[str, Any]

_LAYOUT_SLOT = 8  # scratch slot of a reordered gradient, clear of the update's own slots


class _Required:
    """Marker for a hyperparameter with no default (a group must give it)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class of every optimizer (``torch.optim.Optimizer``).

    ``params`` is an iterable of tensors, or of dicts that each define a parameter group:
    ``{"params": [...], "lr": 0.1}``. A group's missing hyperparameters are taken from
    ``defaults``. ``state[p]`` holds a parameter's buffers (momentum, moments, step count).

    Subclasses implement :meth:`_update` for one parameter and may override
    :meth:`_check_group` to validate hyperparameters.

    Example:
        >>> from tinytorch.tensor import ones
        >>> from tinytorch.optimizers import SGD
        >>> w, b = ones(2, 2, requires_grad=True), ones(2, requires_grad=True)
        >>> opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.5]
    """

    def __init__(self, params: ParamsT, defaults: Mapping[str, Any]) -> None:
        self.defaults: dict[str, Any] = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[ParamGroup] = []
        # Scratch arrays for the update arithmetic, shared by every parameter of one dtype.
        self._scratch: dict[tuple[np.dtype[Any], int], Array] = {}
        if isinstance(params, (Tensor, set, frozenset)) or not isinstance(params, Iterable):
            raise TypeError(
                f"{type(self).__name__}: params must be an ordered iterable of Tensors or of "
                f"dicts, got {type(params).__name__}"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], Mapping):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)  # type: ignore[arg-type]

    # ---- groups -----------------------------------------------------------------------------
    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. unfreezing layers).

        Example:
            >>> from tinytorch.tensor import ones
            >>> from tinytorch.optimizers import SGD
            >>> opt = SGD([ones(2, requires_grad=True)], lr=0.1)
            >>> opt.add_param_group({"params": [ones(3, requires_grad=True)], "lr": 0.01})
            >>> len(opt.param_groups)
            2
        """
        name = type(self).__name__
        if not isinstance(param_group, Mapping):
            raise TypeError(f"{name}: a parameter group must be a dict, got {type(param_group)}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry")
        group: ParamGroup = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: a group's params must be ordered (a list), not a set")
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (shape {p.shape})")
            if p.dtype.kind != "f":
                raise TypeError(f"{name}: can only optimize floating tensors, got {p.dtype}")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter group lists the same parameter twice")
        group["params"] = params

        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of {key!r}")
            group.setdefault(key, default)
        self._check_group(group)

        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def _check_group(self, group: ParamGroup) -> None:
        """Raise ``ValueError`` for a hyperparameter outside its valid range."""

    # ---- the update -------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: drop it (default) or fill it with zeros."""
        with graph.record_function(f"Optimizer.zero_grad#{type(self).__name__}.zero_grad"):
            # BEGIN SOLUTION zero-grad
            # HINT: For each parameter of each group that has a gradient: drop it (None), or, with
            # HINT: set_to_none=False, zero its data in place.
            # TESTS: zero_grad or test_the_usual_loop
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.data[...] = 0
            # END SOLUTION

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` when given.

        ``closure`` re-evaluates the model and returns the loss (for optimizers that need it
        several times per step); it runs with grad mode on.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        # PyTorch's region name, so a profile shows the update beside the ops.
        with graph.record_function(f"Optimizer.step#{type(self).__name__}.step"):
            self._step_all()
        return loss

    def _step_all(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if grad.shape != p.shape:
                    raise RuntimeError(
                        f"{type(self).__name__}.step: gradient of shape {grad.shape} for a "
                        f"parameter of shape {p.shape}"
                    )
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {}
                self._update(p.data, self._same_layout(grad.data, p.data), state, group)
                graph.bump_version(p)  # a backward through the old values must now refuse

    def _same_layout(self, g: Array, p: Array) -> Array:
        """``g``, copied into a scratch array if its memory order differs from ``p``'s.

        The gradient of ``x @ W.T`` arrives as a transposed (Fortran-ordered) array; a dozen
        ufuncs mixing it with the C-ordered weight and state would each walk one operand
        against its strides, about 3x slower than one copy that puts it in order.
        """
        if p.flags.c_contiguous and not g.flags.c_contiguous:
            (copy,) = self._buffers(p, 1, first_slot=_LAYOUT_SLOT)
            np.copyto(copy, g)
            return copy
        return g

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: ParamGroup) -> None:
        """Update one parameter array ``p`` in place, given its gradient ``g``."""
        raise NotImplementedError

    def _buffers(self, like: Array, count: int, first_slot: int = 0) -> list[Array]:
        """``count`` scratch arrays of ``like``'s shape and dtype (reused across parameters).

        Each is a view into one flat array per (dtype, slot), grown to the largest parameter
        seen, so the update allocates nothing once the first step has run.
        """
        out = []
        for slot in range(first_slot, first_slot + count):
            key = (like.dtype, slot)
            flat = self._scratch.get(key)
            if flat is None or flat.size < like.size:
                flat = self._scratch[key] = np.empty(like.size, dtype=like.dtype)
            out.append(flat[: like.size].reshape(like.shape))
        return out

    # ---- state dicts --------------------------------------------------------------------------
    def state_dict(self) -> StateDict:
        """The optimizer's state in PyTorch's layout, as copies.

        ``{"state": {index: {name: value}}, "param_groups": [{..., "params": [index, ...]}]}``;
        parameters are numbered in group order, so the dict holds no tensor identities and can
        be loaded into an optimizer built over another copy of the same model.

        Example:
            >>> from tinytorch.tensor import ones
            >>> from tinytorch.optimizers import SGD
            >>> opt = SGD([ones(2, requires_grad=True)], lr=0.1)
            >>> opt.state_dict()["param_groups"][0]["params"]
            [0]
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                ids.append(index.setdefault(id(p), len(index)))
            saved = {k: _copy_value(v) for k, v in group.items() if k != "params"}
            saved["params"] = ids
            groups.append(saved)
        state = {
            index[id(p)]: {k: _copy_value(v) for k, v in st.items()}
            for p, st in self.state.items()
            if id(p) in index
        }
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a :meth:`state_dict`; checks everything first, so a bad one changes nothing.

        The groups must match this optimizer's in number and size, and every state array must
        have its parameter's shape; arrays are copied and cast to the parameter's dtype.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups'")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: the state dict has {len(saved_groups)} parameter groups, the "
                f"optimizer has {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        new_groups: list[ParamGroup] = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups, strict=True)):
            if not isinstance(saved, Mapping) or "params" not in saved:
                raise ValueError(f"{name}: parameter group {i} has no 'params' list")
            ids = list(saved["params"])
            if len(ids) != len(group["params"]):
                raise ValueError(
                    f"{name}: parameter group {i} has {len(ids)} parameters in the state dict "
                    f"and {len(group['params'])} in the optimizer"
                )
            for saved_id, p in zip(ids, group["params"], strict=True):
                by_index[int(saved_id)] = p
            new_group = {k: _copy_value(v) for k, v in saved.items() if k != "params"}
            if isinstance(new_group.get("betas"), list):
                new_group["betas"] = tuple(new_group["betas"])  # JSON turns tuples into lists
            new_group["params"] = group["params"]
            try:
                self._check_group(new_group)
            except ValueError as err:
                raise ValueError(f"{name}: parameter group {i}: {err}") from None
            new_groups.append(new_group)

        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, entries in dict(state_dict["state"]).items():
            try:
                p = by_index[int(key)]
            except (KeyError, ValueError):
                raise ValueError(
                    f"{name}: state for parameter {key!r}, which no parameter group lists"
                ) from None
            new_state[p] = {k: _load_value(name, key, k, v, p) for k, v in entries.items()}

        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _copy_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, Tensor):
        return value.data.copy()
    if isinstance(value, list):
        return list(value)
    return value


def _load_value(name: str, index: Any, key: str, value: Any, p: Tensor) -> Any:
    if key == "step":
        step = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
        if isinstance(step, float) and step.is_integer():
            step = int(step)  # PyTorch stores the step count as a float tensor
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise ValueError(f"{name}: parameter {index}: 'step' must be a count, got {value!r}")
        return step
    if value is None:
        return None
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"{name}: parameter {index}: {key!r} is {value}")
        return value
    array = np.asarray(value)
    if array.shape != p.shape:
        raise ValueError(
            f"{name}: state {key!r} of parameter {index} has shape {array.shape}, but the "
            f"parameter has shape {p.shape}"
        )
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{name}: state {key!r} of parameter {index} has dtype {array.dtype}")
    return np.array(array, dtype=p.dtype, copy=True)


def check_nonnegative(optimizer: str, group: ParamGroup, *keys: str) -> None:
    """Raise ``ValueError`` unless each of ``group[key]`` is a finite number >= 0."""
    for key in keys:
        value = group[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{optimizer}: {key} must be a number, got {value!r}")
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"{optimizer}: invalid {key}: {value} (must be >= 0)")


# ---- update arithmetic shared by the optimizers, in place and in PyTorch's operation order ---
def weight_decayed(p: Array, g: Array, weight_decay: float, out: Array) -> Array:
    """``g + weight_decay * p`` (the gradient of an L2 penalty added) written into ``out``; ``g``
    itself, unwritten, when ``weight_decay`` is 0."""
    # BEGIN SOLUTION weight-decay
    # HINT: L2 weight decay adds weight_decay * p to the gradient. Write the sum into out (never
    # HINT: into g, the parameter's own gradient), and return g itself when there is no decay.
    # TESTS: weight_decay or sgd or adam or rms
    if weight_decay == 0:
        return g
    np.multiply(p, weight_decay, out=out)
    out += g
    return out
    # END SOLUTION


def lerp_(start: Array, end: Array, weight: float, tmp: Array) -> None:
    """``start <- start + weight * (end - start)`` in place, in PyTorch's two-branch form.

    ``torch.lerp`` switches to ``end - (end - start) * (1 - weight)`` for weights >= 0.5 so the
    result is exact at weight 1; matching it keeps trajectories close to PyTorch's.
    """
    # BEGIN SOLUTION lerp
    # HINT: Move start toward end by weight, in place, with tmp as scratch. PyTorch uses start +
    # HINT: weight (end - start) for weight < 0.5 and end - (1 - weight) (end - start) otherwise
    # HINT: (exact at weight 1); matching it keeps the trajectories equal to PyTorch's.
    # TESTS: adam or rms
    np.subtract(end, start, out=tmp)
    if weight < 0.5:
        tmp *= weight
        start += tmp
    else:
        tmp *= 1 - weight
        np.subtract(end, tmp, out=start)
    # END SOLUTION


def square_average_(avg: Array, g: Array, decay: float, tmp: Array) -> None:
    """``avg <- decay * avg + (1 - decay) * g * g`` in place (PyTorch's ``mul_`` then
    ``addcmul_``): Adam's second moment, RMSprop's mean square."""
    # BEGIN SOLUTION square-average
    # HINT: An exponential moving average of the squared gradient, in place: avg = decay avg + (1 -
    # HINT: decay) g^2 (tmp is scratch).
    # TESTS: adam or rms
    avg *= decay
    np.multiply(g, 1 - decay, out=tmp)
    tmp *= g
    avg += tmp
    # END SOLUTION
