"""Parameter groups, hyperparameter validation and state-dict round trips."""

import copy

import numpy as np
import pytest

from tinytorch.optimizers import SGD, Adam, AdamW, RMSprop
from tinytorch.tensor import Tensor


def param(*values):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


# ---- parameter groups ------------------------------------------------------------------------
def test_groups_take_their_own_lr_and_weight_decay():
    w, b = param(1.0, 2.0), param(4.0)
    opt = SGD([{"params": [w], "weight_decay": 0.5}, {"params": [b], "lr": 1.0}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1  # missing keys come from the defaults
    assert opt.param_groups[1]["weight_decay"] == 0.0
    w.grad, b.grad = Tensor([1.0, 1.0]), Tensor([1.0])
    opt.step()
    # w: d = g + 0.5 w = [1.5, 2.0], lr 0.1;  b: d = g, lr 1.0
    np.testing.assert_allclose(w.data, [0.85, 1.8], rtol=1e-15)
    np.testing.assert_allclose(b.data, [3.0], rtol=1e-15)


def test_adamw_groups_decay_only_where_asked():
    w, b = param(1.0), param(1.0)
    opt = AdamW([{"params": [w]}, {"params": [b], "weight_decay": 0.0}], lr=0.1, weight_decay=0.5)
    w.grad, b.grad = Tensor([0.0]), Tensor([0.0])  # no gradient signal: only the decay acts
    opt.step()
    np.testing.assert_allclose(w.data, [0.95], rtol=1e-15)
    np.testing.assert_array_equal(b.data, [1.0])


def test_changing_a_groups_lr_takes_effect_on_the_next_step():
    p = param(1.0)
    opt = SGD([p], lr=0.1)
    opt.param_groups[0]["lr"] = 0.5
    p.grad = Tensor([1.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.5])


def test_add_param_group():
    a, b = param(1.0), param(2.0)
    opt = Adam([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="'params'"):
        opt.add_param_group({"lr": 0.1})
    with pytest.raises(ValueError, match="invalid lr"):
        opt.add_param_group({"params": [param(3.0)], "lr": -1.0})
    assert len(opt.param_groups) == 2  # refused groups were not added


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ([], ValueError, "empty parameter list"),
        ({param(1.0)}, TypeError, "ordered"),
        (param(1.0), TypeError, "Tensor"),
        ([np.zeros(2)], TypeError, "can only optimize Tensors"),
        ([Tensor([1, 2])], TypeError, "floating"),
    ],
)
def test_bad_params_are_refused(params, error, message):
    with pytest.raises(error, match=message):
        SGD(params, lr=0.1)


def test_non_leaf_and_duplicate_parameters_are_refused():
    p = param(1.0)
    with pytest.raises(ValueError, match="non-leaf"):
        SGD([p + 1.0], lr=0.1)
    with pytest.raises(ValueError, match="twice"):
        SGD([p, p], lr=0.1)


# ---- hyperparameter validation ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda ps: SGD(ps, lr=-0.1), "invalid lr"),
        (lambda ps: SGD(ps, lr=0.1, momentum=-0.5), "invalid momentum"),
        (lambda ps: SGD(ps, lr=0.1, weight_decay=-1e-4), "invalid weight_decay"),
        (lambda ps: SGD(ps, lr=0.1, nesterov=True), "Nesterov"),
        (lambda ps: SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
        (lambda ps: SGD(ps, lr=float("nan")), "invalid lr"),
        (lambda ps: Adam(ps, lr=-1e-3), "invalid lr"),
        (lambda ps: Adam(ps, betas=(1.0, 0.999)), "beta parameter at index 0"),
        (lambda ps: Adam(ps, betas=(0.9, -0.1)), "beta parameter at index 1"),
        (lambda ps: Adam(ps, betas=(0.9,)), "pair"),
        (lambda ps: Adam(ps, eps=-1e-8), "invalid eps"),
        (lambda ps: Adam(ps, weight_decay=-0.1), "invalid weight_decay"),
        (lambda ps: AdamW(ps, lr=-1.0), "AdamW: invalid lr"),
        (lambda ps: AdamW(ps, betas=(0.9, 1.5)), "AdamW: invalid beta"),
        (lambda ps: RMSprop(ps, lr=-0.01), "invalid lr"),
        (lambda ps: RMSprop(ps, alpha=-0.9), "invalid alpha"),
        (lambda ps: RMSprop(ps, eps=-1.0), "invalid eps"),
        (lambda ps: RMSprop(ps, momentum=-0.9), "invalid momentum"),
        (lambda ps: SGD(ps, lr="0.1"), "must be a number"),
    ],
)
def test_invalid_hyperparameters_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make([param(1.0)])


# ---- state dicts -----------------------------------------------------------------------------
FACTORIES = [
    pytest.param(lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True), id="SGD"),
    pytest.param(lambda ps: Adam(ps, lr=0.05, amsgrad=True), id="Adam"),
    pytest.param(
        lambda ps: AdamW([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.01}], lr=0.05),
        id="AdamW-groups",
    ),
    pytest.param(lambda ps: RMSprop(ps, lr=0.01, momentum=0.5, centered=True), id="RMSprop"),
]


def make_params(rng):
    return [Tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 2), (2,), (4,)]]


def set_grads(params, rng):
    for p in params:
        p.grad = Tensor(rng.standard_normal(p.shape))


@pytest.mark.parametrize("factory", FACTORIES)
def test_state_dict_round_trip_resumes_identically(factory):
    rng = np.random.default_rng(0)
    params = make_params(rng)
    opt = factory(params)
    grads = np.random.default_rng(1)
    for _ in range(3):
        set_grads(params, grads)
        opt.step()
    saved = copy.deepcopy(opt.state_dict())
    values = [p.data.copy() for p in params]
    grads_state = grads.bit_generator.state

    for _ in range(3):  # the uninterrupted run
        set_grads(params, grads)
        opt.step()

    # fresh parameters holding the step-3 values, and a fresh optimizer loaded from the dict
    fresh = [Tensor(v.copy(), requires_grad=True) for v in values]
    resumed = factory(fresh)
    resumed.load_state_dict(saved)
    grads.bit_generator.state = grads_state
    for _ in range(3):
        set_grads(fresh, grads)
        resumed.step()
    for p, q in zip(params, fresh, strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_state_dict_layout_is_pytorchs():
    a, b = param(1.0, 2.0), param(3.0)
    opt = Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad = Tensor([1.0, 1.0])
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert list(sd["state"]) == [0]  # b never had a gradient, so it has no state
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["state"][0]["step"] == 1
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5
    # copies: stepping on does not change a state dict taken earlier
    before = sd["state"][0]["exp_avg"].copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], before)


def test_load_accepts_json_shaped_dicts():
    """String indices and list betas (what JSON gives back) load as ints and tuples."""
    a = param(1.0, 2.0)
    opt = Adam([a], lr=0.1)
    a.grad = Tensor([1.0, 1.0])
    opt.step()
    sd = opt.state_dict()
    sd["state"] = {str(k): v for k, v in sd["state"].items()}
    sd["param_groups"][0]["betas"] = list(sd["param_groups"][0]["betas"])
    fresh = Adam([param(1.0, 2.0)])
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["betas"] == (0.9, 0.999)
    assert fresh.param_groups[0]["lr"] == 0.1
    (state,) = fresh.state.values()
    assert state["step"] == 1


def trained_adam():
    a, b = param(1.0, 2.0), param(3.0)
    opt = Adam([a, b], lr=0.1)
    a.grad, b.grad = Tensor([1.0, 1.0]), Tensor([1.0])
    opt.step()
    return opt


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda sd: sd["param_groups"].append({"params": []}), "2 parameter groups"),
        (lambda sd: sd["param_groups"][0]["params"].pop(), "1 parameters in the state dict"),
        (lambda sd: sd["state"][0].update(exp_avg=np.zeros(3)), r"shape \(3,\)"),
        (lambda sd: sd["state"].update({7: {"step": 1}}), "no parameter group lists"),
        (lambda sd: sd["state"][1].update(step=-1), "'step' must be a count"),
        (lambda sd: sd["param_groups"][0].update(lr=-1.0), "invalid lr"),
        (lambda sd: sd.pop("state"), "'state' and 'param_groups'"),
    ],
)
def test_a_bad_state_dict_is_refused_and_changes_nothing(mutate, message):
    target = trained_adam()
    before = copy.deepcopy(target.state_dict())
    sd = trained_adam().state_dict()
    sd["state"][0]["exp_avg"] += 1.0  # differs from target's, so a partial load would show
    sd["param_groups"][0]["lr"] = 0.7
    mutate(sd)
    with pytest.raises(ValueError, match=message):
        target.load_state_dict(sd)
    after = target.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for key, entries in before["state"].items():
        for name, value in entries.items():
            np.testing.assert_array_equal(after["state"][key][name], value)


def test_loaded_state_is_cast_to_the_parameters_dtype_and_copied():
    a = param(1.0, 2.0)
    opt = SGD([a], lr=0.1, momentum=0.9)
    buf = np.array([0.5, 0.5], dtype=np.float32)
    opt.load_state_dict(
        {
            "state": {0: {"momentum_buffer": buf}},
            "param_groups": [opt.state_dict()["param_groups"][0]],
        }
    )
    loaded = opt.state[a]["momentum_buffer"]
    assert loaded.dtype == np.float64
    buf[0] = 9.0
    assert loaded[0] == 0.5


def test_repr_lists_the_groups():
    text = repr(SGD([param(1.0)], lr=0.1))
    assert text.startswith("SGD (")
    assert "lr: 0.1" in text
