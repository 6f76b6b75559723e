"""Stochastic gradient descent, with momentum, dampening, Nesterov and L2 weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.optimizers.optimizer import (
    Optimizer,
    ParamGroup,
    ParamsT,
    check_nonnegative,
    weight_decayed,
)

__all__ = ["SGD"]

Array = npt.NDArray[Any]


class SGD(Optimizer):
    """Stochastic gradient descent (``torch.optim.SGD``), with PyTorch's update equations.

    With ``d = g + weight_decay * p``: without momentum ``p <- p - lr * d``. With momentum the
    buffer starts as ``b = d`` and then follows ``b <- momentum * b + (1 - dampening) * d``;
    the step uses ``d = b``, or ``d = d + momentum * b`` with ``nesterov=True``.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> w = Tensor([1.0, -2.0], requires_grad=True)
        >>> (w * w).sum().backward()
        >>> SGD([w], lr=0.1).step()
        >>> w
        tensor([ 0.8, -1.6], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: ParamGroup) -> None:
        check_nonnegative("SGD", group, "lr", "momentum", "weight_decay")
        if not isinstance(group["dampening"], (int, float)):
            raise ValueError(f"SGD: dampening must be a number, got {group['dampening']!r}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: ParamGroup) -> None:
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        # BEGIN SOLUTION sgd-update
        # HINT: Update the array p in place (p is the parameter's data). d is the gradient plus
        # HINT: weight decay (weight_decayed). With momentum, the buffer kept in
        # HINT: state['momentum_buffer'] starts as a copy of d and then becomes momentum * buf + (1
        # HINT: - dampening) * d; the step uses the buffer, or d + momentum * buf with nesterov.
        # HINT: Then p -= lr * d. self._buffers(p, n) gives scratch arrays of p's shape, reused
        # HINT: across steps, so that a step allocates nothing.
        # TESTS: sgd
        tmp, d = self._buffers(p, 2)
        d = weight_decayed(p, g, weight_decay, out=d)  # g itself is only ever read
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = d.copy()
            else:
                buf *= momentum
                dampening = group["dampening"]
                if dampening == 0:
                    buf += d
                else:
                    np.multiply(d, 1 - dampening, out=tmp)
                    buf += tmp
            if group["nesterov"]:
                np.multiply(buf, momentum, out=tmp)
                tmp += d
                d = tmp
            else:
                d = buf
        if d is tmp:
            tmp *= -lr
        else:
            np.multiply(d, -lr, out=tmp)
        p += tmp
        # END SOLUTION
