"""Each update rule against its equations, on small cases worked out by hand.

Gradients are set directly (``p.grad = ...``) so each test isolates the optimizer: two steps with
the gradients g1 then g2, parameters in float64, expected values written out term by term.
"""

import math

import numpy as np
import pytest

from tinytorch.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop
from tinytorch.tensor import Tensor

G1 = [0.5, 1.0]
G2 = [-1.0, 2.0]


def run(opt_factory, grads, start=(1.0, -2.0)):
    """Apply one step per gradient in ``grads``; return the parameter after each step."""
    p = Tensor(np.array(start, dtype=np.float64), requires_grad=True)
    opt = opt_factory([p])
    seen = []
    for g in grads:
        p.grad = Tensor(np.array(g, dtype=np.float64))
        opt.step()
        seen.append(p.data.copy())
    return seen, opt, p


def close(actual, expected):
    np.testing.assert_allclose(actual, np.array(expected, dtype=np.float64), rtol=1e-12, atol=0)


# ---- SGD -------------------------------------------------------------------------------------
def test_sgd_plain_step_is_minus_lr_times_gradient():
    (p1, p2), _, _ = run(lambda ps: SGD(ps, lr=0.1), [G1, G2])
    close(p1, [1.0 - 0.05, -2.0 - 0.1])
    close(p2, [0.95 + 0.1, -2.1 - 0.2])


def test_sgd_momentum_with_weight_decay():
    (p1, p2), opt, p = run(lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1), [G1, G2])
    # step 1: d = g1 + 0.1 p0 = [0.6, 0.8]; the buffer starts as d; p1 = p0 - 0.1 d
    close(p1, [0.94, -2.08])
    # step 2: d = g2 + 0.1 p1 = [-0.906, 1.792]; b = 0.9 [0.6, 0.8] + d = [-0.366, 2.512]
    close(opt.state[p]["momentum_buffer"], [-0.366, 2.512])
    close(p2, [0.94 + 0.0366, -2.08 - 0.2512])


def test_sgd_dampening_scales_only_later_gradients():
    (p1, p2), opt, p = run(lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.5), [G1, G2])
    close(p1, [0.95, -2.1])  # the first buffer is the undamped gradient
    # b = 0.9 [0.5, 1] + 0.5 [-1, 2] = [-0.05, 1.9]
    close(opt.state[p]["momentum_buffer"], [-0.05, 1.9])
    close(p2, [0.955, -2.29])


def test_sgd_nesterov():
    (p1, p2), _, _ = run(lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True), [G1, G2])
    # step 1: b = g1; d = g1 + 0.9 b = [0.95, 1.9]
    close(p1, [0.905, -2.19])
    # step 2: b = 0.9 [0.5, 1] + g2 = [-0.55, 2.9]; d = g2 + 0.9 b = [-1.495, 4.61]
    close(p2, [0.905 + 0.1495, -2.19 - 0.461])


# ---- Adam / AdamW ----------------------------------------------------------------------------
def adam_reference(p, grads, lr, beta1, beta2, eps, weight_decay=0.0, decoupled=False):
    """Adam's equations, one scalar at a time, in plain Python floats."""
    m = v = 0.0
    out = []
    for t, g in enumerate(grads, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        denom = math.sqrt(v) / math.sqrt(1 - beta2**t) + eps
        p = p - lr * m_hat / denom
        out.append(p)
    return out


def test_adam_two_steps_by_hand():
    (p1, p2), opt, p = run(lambda ps: Adam(ps, lr=0.1), [G1, G2])
    # step 1: the bias-corrected moments are g1 and g1**2, so each weight moves by lr (minus eps)
    close(p1, [1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 - 0.1 * 1.0 / (1.0 + 1e-8)])
    # step 2: m = 0.9 m1 + 0.1 g2, v = 0.999 v1 + 0.001 g2**2
    close(opt.state[p]["exp_avg"], [-0.055, 0.29])
    close(opt.state[p]["exp_avg_sq"], [0.00124975, 0.004999])
    assert opt.state[p]["step"] == 2
    m_hat = np.array([-0.055, 0.29]) / 0.19  # 1 - 0.9**2
    v_hat = np.array([0.00124975, 0.004999]) / (1 - 0.999**2)
    close(p2, p1 - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8))


def test_adam_l2_weight_decay_enters_the_gradient():
    grads = [[0.5], [-1.0], [0.25]]
    seen, _, _ = run(lambda ps: Adam(ps, lr=0.1, weight_decay=0.5), grads, start=(1.0,))
    expected = adam_reference(1.0, [g[0] for g in grads], 0.1, 0.9, 0.999, 1e-8, 0.5)
    close(np.concatenate(seen), expected)


def test_adamw_decays_the_weights_directly():
    grads = [[0.5], [-1.0], [0.25]]
    seen, _, _ = run(lambda ps: AdamW(ps, lr=0.1, weight_decay=0.5), grads, start=(1.0,))
    expected = adam_reference(
        1.0, [g[0] for g in grads], 0.1, 0.9, 0.999, 1e-8, 0.5, decoupled=True
    )
    close(np.concatenate(seen), expected)
    # step 1 by hand: 1.0 * (1 - 0.05) = 0.95, then the unit Adam step of lr
    close(seen[0], [0.95 - 0.1 * 0.5 / (0.5 + 1e-8)])


def test_adamw_default_weight_decay_is_pytorchs():
    p = Tensor([1.0], requires_grad=True)
    assert AdamW([p]).param_groups[0]["weight_decay"] == 1e-2
    assert Adam([p]).param_groups[0]["weight_decay"] == 0.0


def test_amsgrad_keeps_the_largest_second_moment():
    # betas (0.5, 0.5): v1 = 0.5 * 2**2 = 2, then v2 = 0.5 * v1 = 1 < v1 for a zero gradient
    factory = lambda ps: Adam(ps, lr=0.1, betas=(0.5, 0.5), eps=0.0, amsgrad=True)  # noqa: E731
    (p1, p2), opt, p = run(factory, [[2.0], [0.0]], start=(1.0,))
    close(p1, [1.0 - 0.1 * 2.0 / 2.0])  # m_hat = 2, sqrt(v_hat) = 2
    close(opt.state[p]["max_exp_avg_sq"], [2.0])
    close(opt.state[p]["exp_avg_sq"], [1.0])
    # step 2: m = 0.5, bias corrections 0.75; the denominator uses max(v) = 2, not v = 1
    close(p2, p1 - (0.1 / 0.75) * 0.5 / (math.sqrt(2.0) / math.sqrt(0.75)))
    # without amsgrad the smaller v gives a larger step
    plain = lambda ps: Adam(ps, lr=0.1, betas=(0.5, 0.5), eps=0.0)  # noqa: E731
    (_, q2), _, _ = run(plain, [[2.0], [0.0]], start=(1.0,))
    close(q2, p1 - (0.1 / 0.75) * 0.5 / (1.0 / math.sqrt(0.75)))


# ---- RMSprop ---------------------------------------------------------------------------------
def test_rmsprop_plain():
    (p1, p2), opt, p = run(lambda ps: RMSprop(ps, lr=0.1, alpha=0.5, eps=0.0), [G1, G2])
    # s1 = 0.5 * g1**2 = [0.125, 0.5]
    close(p1, [1.0 - 0.1 * 0.5 / math.sqrt(0.125), -2.0 - 0.1 * 1.0 / math.sqrt(0.5)])
    # s2 = 0.5 s1 + 0.5 g2**2 = [0.5625, 2.25], whose roots are [0.75, 1.5]
    close(opt.state[p]["square_avg"], [0.5625, 2.25])
    close(p2, p1 - 0.1 * np.array([-1.0 / 0.75, 2.0 / 1.5]))


def test_rmsprop_centered():
    factory = lambda ps: RMSprop(ps, lr=0.1, alpha=0.5, eps=0.0, centered=True)  # noqa: E731
    (p1, p2), opt, p = run(factory, [G1, G2])
    # gbar1 = 0.5 g1 = [0.25, 0.5]; s1 - gbar1**2 = [0.0625, 0.25], roots [0.25, 0.5]
    close(p1, [1.0 - 0.1 * 0.5 / 0.25, -2.0 - 0.1 * 1.0 / 0.5])
    # gbar2 = 0.5 gbar1 + 0.5 g2 = [-0.375, 1.25]; s2 - gbar2**2 = [0.421875, 0.6875]
    close(opt.state[p]["grad_avg"], [-0.375, 1.25])
    close(p2, p1 - 0.1 * np.array([-1.0 / math.sqrt(0.421875), 2.0 / math.sqrt(0.6875)]))


def test_rmsprop_momentum_and_weight_decay():
    factory = lambda ps: RMSprop(  # noqa: E731
        ps, lr=0.1, alpha=0.5, eps=0.0, momentum=0.9, weight_decay=0.2
    )
    (p1, p2), _, _ = run(factory, [G1, G2])
    # step 1: d = g1 + 0.2 p0 = [0.7, 0.6]; s = 0.5 d**2; b = d / sqrt(s) = sqrt(2) each
    b1 = np.array([math.sqrt(2.0), math.sqrt(2.0)])
    close(p1, np.array([1.0, -2.0]) - 0.1 * b1)
    # step 2: d = g2 + 0.2 p1; s2 = 0.5 s1 + 0.5 d**2; b2 = 0.9 b1 + d / sqrt(s2)
    d = np.array(G2) + 0.2 * p1
    s2 = 0.5 * (0.5 * np.array([0.49, 0.36])) + 0.5 * d * d
    close(p2, p1 - 0.1 * (0.9 * b1 + d / np.sqrt(s2)))


# ---- what every optimizer shares -----------------------------------------------------------
ALL = [
    pytest.param(lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1), id="SGD"),
    pytest.param(lambda ps: Adam(ps, lr=0.1, weight_decay=0.1, amsgrad=True), id="Adam"),
    pytest.param(lambda ps: AdamW(ps, lr=0.1), id="AdamW"),
    pytest.param(lambda ps: RMSprop(ps, momentum=0.5, centered=True, weight_decay=0.1), id="RMS"),
]


@pytest.mark.parametrize("factory", ALL)
def test_step_leaves_gradient_graph_and_dtype_alone(factory):
    for dtype in (np.float32, np.float64):
        p = Tensor(np.array([[1.0, -2.0], [0.5, 3.0]], dtype=dtype), requires_grad=True)
        grad = np.array([[0.1, -0.2], [0.3, 0.4]], dtype=dtype)
        p.grad = Tensor(grad.copy())
        before = p.data.copy()
        opt = factory([p])
        opt.step()
        opt.step()
        np.testing.assert_array_equal(p.grad.data, grad)  # the update never writes .grad
        assert p.is_leaf
        assert p.requires_grad
        assert p.dtype == dtype
        assert not np.array_equal(p.data, before)
        for value in opt.state[p].values():
            if isinstance(value, np.ndarray):
                assert value.dtype == dtype
                assert value.shape == p.shape


@pytest.mark.parametrize("factory", ALL)
def test_parameters_without_gradient_are_skipped(factory):
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    a.grad = Tensor([0.5, 0.5])
    opt = factory([a, b])
    opt.step()
    np.testing.assert_array_equal(b.data, [3.0, 4.0])
    assert b not in opt.state
    assert a in opt.state


def test_step_accepts_a_closure_and_returns_its_loss():
    p = Tensor([1.0], requires_grad=True)
    opt = SGD([p], lr=0.5)
    calls = []

    def closure():
        calls.append(1)
        p.grad = Tensor([2.0])
        return 7.0

    assert opt.step(closure) == 7.0
    assert calls == [1]
    np.testing.assert_array_equal(p.data, [0.0])


def test_zero_grad_drops_or_zeroes():
    p = Tensor([1.0, 2.0], requires_grad=True)
    opt = SGD([p], lr=0.1)
    p.grad = Tensor([3.0, 4.0])
    kept = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is kept
    np.testing.assert_array_equal(p.grad.data, [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_the_base_class_has_no_update_rule():
    p = Tensor([1.0], requires_grad=True)
    p.grad = Tensor([1.0])
    with pytest.raises(NotImplementedError):
        Optimizer([p], {"lr": 0.1}).step()


def test_gradient_of_the_wrong_shape_is_refused():
    p = Tensor([1.0, 2.0], requires_grad=True)
    p.grad = Tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"SGD.step: gradient of shape \(3,\).*\(2,\)"):
        SGD([p], lr=0.1).step()
