"""PyTorch as the oracle: the same trajectories as torch.optim, when torch is importable."""

import numpy as np
import pytest

from tinytorch.optimizers import SGD, Adam, AdamW, RMSprop
from tinytorch.tensor import Tensor

torch = pytest.importorskip("torch")

CONFIGS = [
    (SGD, "SGD", {"lr": 0.05}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.01}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (Adam, "Adam", {}),
    (Adam, "Adam", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1, "amsgrad": True}),
    (AdamW, "AdamW", {"lr": 0.01}),
    (AdamW, "AdamW", {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True, "eps": 1e-6}),
    (RMSprop, "RMSprop", {}),
    (RMSprop, "RMSprop", {"lr": 0.001, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
]


@pytest.mark.parametrize(("ours", "theirs", "kwargs"), CONFIGS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trajectory_matches_torch_optim(ours, theirs, kwargs, dtype):
    rng = np.random.default_rng(0)
    shapes = [(5, 3), (3,), (1,)]
    start = [rng.standard_normal(s).astype(dtype) for s in shapes]
    targets = [rng.standard_normal(s).astype(dtype) for s in shapes]
    mine = [Tensor(a.copy(), requires_grad=True) for a in start]
    ref = [torch.tensor(a.copy(), requires_grad=True) for a in start]
    opt = ours(mine, **kwargs)
    ref_opt = getattr(torch.optim, theirs)(ref, **kwargs)
    for _ in range(25):
        # a bounded, nonlinear gradient, computed outside both frameworks
        for p, q, t in zip(mine, ref, targets, strict=True):
            g = np.sin(3.0 * p.data) + (p.data - t)
            p.grad = Tensor(g.astype(dtype))
            q.grad = torch.from_numpy(g.astype(dtype).copy())
        opt.step()
        ref_opt.step()
    tol = 1e-10 if dtype == np.float64 else 2e-5
    for p, q in zip(mine, ref, strict=True):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=tol, atol=tol)
    # and the state, under PyTorch's names
    sd, ref_sd = opt.state_dict(), ref_opt.state_dict()
    for index, entries in ref_sd["state"].items():
        for name, value in entries.items():
            if name == "step":
                assert sd["state"][index]["step"] == int(value)
            else:
                np.testing.assert_allclose(
                    sd["state"][index][name], value.numpy(), rtol=tol, atol=tol
                )
