"""An optimizer step writes its parameters in place: it bumps their version counters, so a
backward through a graph recorded before the step raises instead of using the new weights."""

import numpy as np
import pytest

from tinytorch.optimizers import SGD, Adam, AdamW, RMSprop
from tinytorch.tensor import Tensor


def model():
    w = Tensor(np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32), requires_grad=True)
    b = Tensor(np.array([0.1, 0.2], dtype=np.float32), requires_grad=True)
    return w, b


def forward(w, b):
    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    return ((x @ w.T + b) ** 2).sum()


@pytest.mark.parametrize("make", [lambda p: SGD(p, lr=0.1, momentum=0.9), Adam, AdamW, RMSprop])
def test_a_step_between_forward_and_backward_raises(make):
    w, b = model()
    opt = make([w, b])
    forward(w, b).backward()
    loss = forward(w, b)
    opt.step()
    assert w._version == 1
    assert b._version == 1
    with pytest.raises(RuntimeError, match=r"^backward: input \d of op '\w+', a tensor of shape "):
        loss.backward()


def test_the_usual_loop_still_trains():
    w, b = model()
    opt = SGD([w, b], lr=0.01)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = forward(w, b)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses == sorted(losses, reverse=True)
    assert w._version == 5


def test_parameters_without_a_gradient_are_not_bumped():
    w, b = model()
    opt = SGD([w, b], lr=0.1)
    (w * 2).sum().backward()
    opt.step()
    assert (w._version, b._version) == (1, 0)
