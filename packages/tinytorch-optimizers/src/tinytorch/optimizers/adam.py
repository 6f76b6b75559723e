"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

import math
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

__all__ = ["Adam", "AdamW"]

Array = npt.NDArray[Any]


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``), with PyTorch's update equations.

    At step ``t``, with ``g`` the gradient (plus ``weight_decay * p``, an L2 penalty)::

        m <- beta1 * m + (1 - beta1) * g          (as m.lerp_(g, 1 - beta1))
        v <- beta2 * v + (1 - beta2) * g * g
        v_max <- max(v_max, v)                    (amsgrad only; used in place of v below)
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> w = Tensor([1.0, -2.0], requires_grad=True)
        >>> (w * w).sum().backward()
        >>> Adam([w], lr=0.1).step()   # the first Adam step moves every weight by about lr
        >>> w
        tensor([ 0.9, -1.9], requires_grad=True)
    """

    _decoupled = False

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
        }
        super().__init__(params, defaults)

    def _check_group(self, group: ParamGroup) -> None:
        name = type(self).__name__
        check_nonnegative(name, group, "lr", "eps", "weight_decay")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair, got {betas!r}")
        for i, beta in enumerate(betas):
            if isinstance(beta, bool) or not isinstance(beta, (int, float)):
                raise ValueError(f"{name}: betas[{i}] must be a number, got {beta!r}")
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name}: invalid beta parameter at index {i}: {beta}")

    def _update(self, p: Array, g: Array, state: dict[str, Any], group: ParamGroup) -> None:
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        # BEGIN SOLUTION adam-update
        # HINT: On the first step create state: step 0 and zero first and second moments (exp_avg,
        # HINT: exp_avg_sq; and max_exp_avg_sq for amsgrad). Each step: count it; L2 decay enters
        # HINT: the gradient, or, for AdamW (self._decoupled), shrinks p by (1 - lr * weight_decay)
        # HINT: first. Update m with lerp_ and v with square_average_; for amsgrad keep the running
        # HINT: maximum of v and use it instead. Then p -= lr / (1 - beta1^t) * m / (sqrt(v) /
        # HINT: sqrt(1 - beta2^t) + eps), in place.
        # TESTS: adam
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        tmp, grad = self._buffers(p, 2)
        state["step"] = step = state["step"] + 1

        if not self._decoupled:
            g = weight_decayed(p, g, weight_decay, out=grad)
        elif weight_decay != 0:
            p *= 1 - lr * weight_decay

        m, v = state["exp_avg"], state["exp_avg_sq"]
        lerp_(m, g, 1 - beta1, tmp)
        square_average_(v, g, beta2, tmp)

        if group["amsgrad"]:
            v_max = state.get("max_exp_avg_sq")
            if v_max is None:  # amsgrad switched on mid-run (a loaded group): start from v
                v_max = state["max_exp_avg_sq"] = v.copy()
            np.maximum(v_max, v, out=v_max)
            v = v_max
        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = math.sqrt(1 - beta2**step)
        denom = tmp
        np.sqrt(v, out=denom)
        denom /= bias_correction2_sqrt
        denom += eps
        np.divide(m, denom, out=tmp)
        tmp *= -step_size
        p += tmp
        # END SOLUTION


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``; Loshchilov and Hutter).

    The decay shrinks the weights directly, ``p <- p * (1 - lr * weight_decay)``, before the
    Adam step, instead of entering the gradient and being rescaled by the moment estimates.
    The default ``weight_decay`` is 1e-2, as in PyTorch.

    Example:
        >>> from tinytorch.tensor import Tensor
        >>> w = Tensor([1.0, -2.0], requires_grad=True)
        >>> (w * w).sum().backward()
        >>> AdamW([w], lr=0.1, weight_decay=0.5).step()   # 0.95 * w, then the Adam step
        >>> w
        tensor([ 0.85, -1.8 ], requires_grad=True)
    """

    _decoupled = True

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
