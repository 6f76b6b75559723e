"""RMSprop: divide the gradient by a running root mean square of its recent values."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.optimizers.optimizer import (
    Optimizer,
    ParamGroup,
    ParamsT,
    check_nonnegative,
    lerp_,
    square_average_,
    weight_decayed,
)

__all__ = ["RMSprop"]

Array = npt.NDArray[Any]


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``; Hinton's lecture 6e), with PyTorch's equations.

    With ``g`` the gradient (plus ``weight_decay * p``)::

        s <- alpha * s + (1 - alpha) * g * g
        a <- sqrt(s - gbar * gbar) + eps, gbar <- lerp(gbar, g, 1 - alpha)   (centered)
        a <- sqrt(s) + eps                                                  (otherwise)
        b <- momentum * b + g / a;  p <- p - lr * b                         (momentum > 0)
        p <- p - lr * g / a                                                 (otherwise)

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> w = Tensor([1.0, -2.0], requires_grad=True)
        >>> (w * w).sum().backward()
        >>> RMSprop([w], lr=0.01).step()   # the first step is lr / sqrt(1 - alpha) = 0.1
        >>> w
        tensor([ 0.9, -1.9], requires_grad=True)
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: ParamGroup) -> None:
        check_nonnegative("RMSprop", group, "lr", "alpha", "eps", "weight_decay", "momentum")

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: ParamGroup) -> None:
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        # BEGIN SOLUTION rmsprop-update
        # HINT: Keep a running mean of g^2 (square_average_ with alpha); centered also keeps a
        # HINT: running mean of g (lerp_) and uses mean(g^2) - mean(g)^2. Divide g by sqrt of that
        # HINT: plus eps. With momentum, accumulate that quotient into state['momentum_buffer'] (buf
        # HINT: = momentum buf + g / denom) and step by it. p -= lr * step, in place.
        # TESTS: rms
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        avg, grad = self._buffers(p, 2)

        g = weight_decayed(p, g, weight_decay, out=grad)
        square_avg = state["square_avg"]
        square_average_(square_avg, g, alpha, avg)

        if group["centered"]:
            grad_avg = state.get("grad_avg")
            if grad_avg is None:
                grad_avg = state["grad_avg"] = np.zeros_like(p)
            lerp_(grad_avg, g, 1 - alpha, avg)
            np.multiply(grad_avg, grad_avg, out=avg)
            np.subtract(square_avg, avg, out=avg)
            np.sqrt(avg, out=avg)
        else:
            np.sqrt(square_avg, out=avg)
        avg += eps

        if momentum > 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.zeros_like(p)
            buf *= momentum
            np.divide(g, avg, out=avg)
            buf += avg
            np.multiply(buf, -lr, out=avg)
        else:
            np.divide(g, avg, out=avg)
            avg *= -lr
        p += avg
        # END SOLUTION
