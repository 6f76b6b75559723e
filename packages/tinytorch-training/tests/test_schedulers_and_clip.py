"""Learning-rate schedules and gradient clipping: by hand, by resume, and against PyTorch."""

import math

import numpy as np
import pytest

from tinytorch.optimizers import SGD
from tinytorch.tensor import Tensor
from tinytorch.training import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    SequentialLR,
    StepLR,
    clip_grad_norm_,
    clip_grad_value_,
)


def optimizer(lr=1.0, groups=1):
    params = [
        {"params": [Tensor([0.0], requires_grad=True)], "lr": lr * (i + 1)} for i in range(groups)
    ]
    return SGD(params, lr=lr)


def rates(sched, steps):
    out = [sched.get_last_lr()]
    for _ in range(steps):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr())
    return out


def test_step_lr_by_hand():
    sched = StepLR(optimizer(0.1), step_size=2, gamma=0.5)
    assert [r[0] for r in rates(sched, 5)] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_exponential_lr_by_hand():
    sched = ExponentialLR(optimizer(2.0), gamma=0.5)
    assert [r[0] for r in rates(sched, 3)] == [2.0, 1.0, 0.5, 0.25]


def test_cosine_by_hand():
    sched = CosineAnnealingLR(optimizer(1.0), T_max=4, eta_min=0.2)
    got = [r[0] for r in rates(sched, 6)]
    half = 0.2 + 0.8 * (1 + math.cos(math.pi / 4)) / 2
    assert got == pytest.approx([1.0, half, 0.6, 1.2 - half, 0.2, 1.2 - half, 0.6])


def test_linear_warmup_by_hand():
    sched = LinearLR(optimizer(1.0), start_factor=0.1, end_factor=1.0, total_iters=3)
    assert [r[0] for r in rates(sched, 5)] == pytest.approx([0.1, 0.4, 0.7, 1.0, 1.0, 1.0])


def test_warmup_then_cosine():
    opt = optimizer(1.0)
    warm = LinearLR(opt, start_factor=0.5, total_iters=2)
    cos = CosineAnnealingLR(opt, T_max=2)
    sched = SequentialLR(opt, [warm, cos], milestones=[2])
    assert [r[0] for r in rates(sched, 5)] == pytest.approx([0.5, 0.75, 1.0, 0.5, 0.0, 0.5])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5)
    # The scheduler whose turn it is counts its own steps from its milestone, as PyTorch's do.
    assert cos.last_epoch == 5 - 2
    assert cos.get_last_lr() == sched.get_last_lr()


def test_every_group_follows_its_own_base_rate():
    sched = StepLR(optimizer(0.1, groups=2), step_size=1, gamma=0.1)
    sched.optimizer.step()
    sched.step()
    assert sched.get_last_lr() == pytest.approx([0.01, 0.02])
    assert [g["lr"] for g in sched.optimizer.param_groups] == pytest.approx([0.01, 0.02])


def make_sequential(opt):
    return SequentialLR(
        opt,
        [LinearLR(opt, start_factor=0.2, total_iters=3), CosineAnnealingLR(opt, T_max=7)],
        milestones=[3],
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda o: StepLR(o, step_size=3, gamma=0.3),
        lambda o: ExponentialLR(o, gamma=0.9),
        lambda o: CosineAnnealingLR(o, T_max=5, eta_min=0.01),
        lambda o: LinearLR(o, start_factor=0.25, total_iters=4),
        make_sequential,
    ],
)
def test_state_dict_resumes_exactly(make):
    opt = optimizer(0.5, groups=2)
    sched = make(opt)
    rates(sched, 4)
    saved_sched, saved_opt = sched.state_dict(), opt.state_dict()
    expected = rates(sched, 6)

    fresh_opt = optimizer(0.5, groups=2)
    fresh = make(fresh_opt)
    fresh_opt.load_state_dict(saved_opt)
    fresh.load_state_dict(saved_sched)
    assert rates(fresh, 6) == expected


def test_load_state_dict_checks_keys():
    sched = StepLR(optimizer(), step_size=2)
    other = CosineAnnealingLR(optimizer(), T_max=3).state_dict()
    before = sched.state_dict()
    with pytest.raises(ValueError, match="missing keys"):
        sched.load_state_dict(other)
    assert sched.state_dict() == before
    bad = dict(before, base_lrs=[1.0, 2.0])
    with pytest.raises(ValueError, match="2 base rates for 1 parameter groups"):
        sched.load_state_dict(bad)


def test_jumping_to_an_epoch_matches_stepping_there():
    a = CosineAnnealingLR(optimizer(), T_max=10)
    b = CosineAnnealingLR(optimizer(), T_max=10)
    rates(a, 7)
    b.step(7)
    assert a.get_last_lr() == b.get_last_lr()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda o: StepLR(o, step_size=0), "step_size must be a positive integer"),
        (lambda o: CosineAnnealingLR(o, T_max=0), "T_max"),
        (lambda o: LinearLR(o, start_factor=0.0), "start_factor"),
        (lambda o: LinearLR(o, end_factor=1.5), "end_factor"),
        (lambda o: SequentialLR(o, [StepLR(o, 1)], milestones=[2]), "need 0 milestones"),
        (lambda o: SequentialLR(o, [StepLR(o, 1), StepLR(o, 1)], [0]), "positive and increasing"),
        (
            lambda o: SequentialLR(o, [StepLR(optimizer(), 1), StepLR(o, 1)], [2]),
            "another optimizer",
        ),
    ],
)
def test_bad_schedules_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make(optimizer())


def test_resuming_by_last_epoch_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(optimizer(), step_size=2, last_epoch=4)
    opt = optimizer(1.0)
    StepLR(opt, step_size=2)
    sched = StepLR(opt, step_size=2, gamma=0.5, last_epoch=3)  # continues at step 4
    assert sched.get_last_lr() == [0.25]


def test_the_base_class_needs_lr_at():
    with pytest.raises(NotImplementedError):
        LRScheduler(optimizer())
    with pytest.raises(TypeError, match="expects an Optimizer"):
        StepLR("not an optimizer", step_size=1)


# ---- clipping --------------------------------------------------------------------------------
def with_grads(*grads, dtype=np.float32):
    params = []
    for values in grads:
        p = Tensor(np.zeros(len(values), dtype=dtype), requires_grad=True)
        p.grad = Tensor(np.array(values, dtype=dtype))
        params.append(p)
    return params


def test_clip_grad_norm_by_hand():
    params = with_grads([3.0, 0.0], [0.0, 4.0, 0.0])  # joint norm 5
    total = clip_grad_norm_(params, max_norm=2.5)
    assert float(total) == 5.0
    assert total.shape == ()
    coef = 2.5 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad.data, [3.0 * coef, 0.0], rtol=1e-6)
    np.testing.assert_allclose(params[1].grad.data, [0.0, 4.0 * coef, 0.0], rtol=1e-6)


def test_clip_grad_norm_leaves_small_gradients_and_skips_missing_ones():
    params = with_grads([0.3, 0.4])
    params.append(Tensor([1.0], requires_grad=True))  # no gradient
    assert float(clip_grad_norm_(params, max_norm=1.0)) == pytest.approx(0.5)
    np.testing.assert_array_equal(params[0].grad.data, np.array([0.3, 0.4], dtype=np.float32))
    assert float(clip_grad_norm_([], 1.0)) == 0.0


def test_clip_grad_norm_other_norms():
    params = with_grads([3.0, -4.0], [1.0], dtype=np.float64)
    assert float(clip_grad_norm_(params, 100.0, norm_type=math.inf)) == 4.0
    assert float(clip_grad_norm_(params, 100.0, norm_type=1)) == 8.0
    assert float(clip_grad_norm_(params, 100.0, norm_type=3)) == pytest.approx(
        (27 + 64 + 1) ** (1 / 3)
    )
    assert clip_grad_norm_(params, 100.0).dtype == np.float64


def test_clip_grad_norm_non_finite():
    params = with_grads([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="inf"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_(params, -1.0)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_(params, 1.0, norm_type=0)


def test_clip_grad_value():
    params = with_grads([3.0, -0.5, -7.0])
    clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.data, [1.0, -0.5, -1.0])
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(params, -1.0)


# ---- PyTorch as the oracle ---------------------------------------------------------------------
def test_schedules_match_torch():
    torch = pytest.importorskip("torch")
    sch = torch.optim.lr_scheduler

    def torch_rates(make, steps):
        w = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([{"params": [w], "lr": 0.5}], lr=0.5)
        s = make(opt, sch)
        out = [s.get_last_lr()[0]]
        for _ in range(steps):
            opt.step()
            s.step()
            out.append(s.get_last_lr()[0])
        return out

    cases = [
        (lambda o, m: m.StepLR(o, step_size=3, gamma=0.3), lambda o: StepLR(o, 3, 0.3)),
        (lambda o, m: m.ExponentialLR(o, gamma=0.9), lambda o: ExponentialLR(o, 0.9)),
        (
            lambda o, m: m.CosineAnnealingLR(o, T_max=6, eta_min=0.01),
            lambda o: CosineAnnealingLR(o, T_max=6, eta_min=0.01),
        ),
        (
            lambda o, m: m.LinearLR(o, start_factor=0.1, total_iters=4),
            lambda o: LinearLR(o, start_factor=0.1, total_iters=4),
        ),
        (
            lambda o, m: m.SequentialLR(
                o,
                [m.LinearLR(o, start_factor=0.2, total_iters=3), m.CosineAnnealingLR(o, T_max=7)],
                milestones=[3],
            ),
            make_sequential,
        ),
    ]
    for theirs, ours in cases:
        mine = [r[0] for r in rates(ours(optimizer(0.5)), 15)]
        np.testing.assert_allclose(mine, torch_rates(theirs, 15), rtol=1e-9, atol=1e-12)


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(4, 3), (3,), (1,)]]
    for max_norm, norm_type in [(0.5, 2.0), (100.0, 2.0), (0.5, math.inf), (1.0, 1.0)]:
        ours = with_grads(*[g.ravel() for g in grads], dtype=np.float64)
        theirs = [torch.zeros(g.size, dtype=torch.float64, requires_grad=True) for g in grads]
        for t, g in zip(theirs, grads, strict=True):
            t.grad = torch.tensor(g.ravel())
        a = clip_grad_norm_(ours, max_norm, norm_type)
        b = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
        assert float(a) == pytest.approx(float(b), rel=1e-12)
        for p, t in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12)
