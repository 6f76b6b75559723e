"""Module: registration, tree walks, modes, state_dict and load_state_dict."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

from tinytorch.layers import (
    Dropout,
    IncompatibleKeys,
    Linear,
    Module,
    Parameter,
    Sequential,
    StateDictError,
)
from tinytorch.tensor import Generator, Tensor, float32, float64, ones, randn, zeros


class Block(Module):
    """Two linear layers, a buffer and a scalar gain: a small model of every kind of member."""

    def __init__(self, seed=0):
        super().__init__()
        g = Generator(seed)
        self.fc1 = Linear(3, 4, generator=g)
        self.fc2 = Linear(4, 2, generator=g)
        self.gain = Parameter(ones(1))
        self.register_buffer("steps", zeros(1))

    def forward(self, x):
        return self.fc2(self.fc1(x)) * self.gain


def test_attribute_assignment_registers_parameters_modules_and_buffers():
    m = Block()
    assert list(m._parameters) == ["gain"]
    assert list(m._modules) == ["fc1", "fc2"]
    assert list(m._buffers) == ["steps"]
    assert "fc1" not in m.__dict__
    assert "gain" not in m.__dict__
    assert isinstance(m.fc1, Linear)
    assert m.gain.shape == (1,)


def test_named_parameters_are_dotted_and_in_registration_order():
    names = [n for n, _ in Block().named_parameters()]
    assert names == ["gain", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    names = [n for n, _ in Block().named_parameters(prefix="model")]
    assert names[0] == "model.gain"
    assert names[1] == "model.fc1.weight"


def test_parameters_recurse_false_gives_only_own():
    assert [p.shape for p in Block().parameters(recurse=False)] == [(1,)]
    assert len(list(Block().parameters())) == 5


def test_tied_parameter_listed_once_but_saved_under_both_names():
    m = Block()
    m.fc3 = Linear(4, 2)
    m.fc3.weight = m.fc2.weight
    params = list(m.parameters())
    assert sum(p is m.fc2.weight for p in params) == 1
    assert len(params) == 6  # gain, fc1 x2, fc2 x2, fc3.bias
    all_names = [n for n, _ in m.named_parameters(remove_duplicate=False)]
    assert "fc3.weight" in all_names
    assert "fc2.weight" in all_names
    assert {"fc2.weight", "fc3.weight"} <= set(m.state_dict())


def test_buffers_are_state_but_not_parameters():
    m = Block()
    assert [n for n, _ in m.named_buffers()] == ["steps"]
    assert all(p is not m.steps for p in m.parameters())
    assert "steps" in m.state_dict()
    m.register_buffer("scratch", zeros(2), persistent=False)
    assert "scratch" not in m.state_dict()
    assert [n for n, _ in m.named_buffers()] == ["steps", "scratch"]
    m.steps = ones(1)
    assert float(m.state_dict()["steps"].item()) == 1.0
    with pytest.raises(TypeError, match="buffer 'steps'"):
        m.steps = 3.0


def test_nested_buffers_have_dotted_names():
    outer = Module()
    outer.inner = Block()
    assert [n for n, _ in outer.named_buffers()] == ["inner.steps"]
    assert next(iter(outer.buffers())) is outer.inner.steps


def test_assigning_a_plain_tensor_to_a_parameter_slot_is_refused():
    m = Block()
    with pytest.raises(TypeError, match="parameter 'gain'"):
        m.gain = ones(1)
    m.gain = None
    assert "gain" not in m.state_dict()
    assert m.gain is None


def test_assigning_a_non_module_to_a_submodule_slot_is_refused():
    m = Block()
    with pytest.raises(TypeError, match="submodule 'fc1'"):
        m.fc1 = 3
    m.fc1 = None
    assert [n for n, _ in m.named_children()] == ["fc2"]


def test_reassigning_a_name_moves_it_between_tables():
    m = Block()
    m.steps = Linear(1, 1)
    assert "steps" not in m._buffers
    assert isinstance(m._modules["steps"], Linear)
    with pytest.raises(TypeError, match="parameter 'gain'"):
        m.gain = Linear(1, 1)  # as in PyTorch: a parameter slot takes a Parameter or None
    m.plain = 5
    m.plain = Parameter(zeros(1))
    assert "plain" not in m.__dict__
    assert "plain" in m._parameters


def test_assignment_before_init_names_the_fix():
    class Forgetful(Module):
        def __init__(self):
            self.fc = Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgetful()


def test_register_parameter_and_buffer_validate_their_arguments():
    m = Module()
    with pytest.raises(TypeError, match="Parameter"):
        m.register_parameter("w", ones(2))
    with pytest.raises(ValueError, match=r"'a\.b'"):
        m.register_parameter("a.b", Parameter(ones(1)))
    with pytest.raises(ValueError, match="non-empty"):
        m.register_buffer("", ones(1))
    with pytest.raises(TypeError, match="name must be a str"):
        m.register_buffer(3, ones(1))
    with pytest.raises(TypeError, match="Tensor or None"):
        m.register_buffer("b", np.ones(2))
    with pytest.raises(TypeError, match="use register_parameter"):
        m.register_buffer("b", Parameter(ones(1)))
    m.plain = 1
    with pytest.raises(ValueError, match="already exists"):
        m.register_buffer("plain", ones(1))
    with pytest.raises(ValueError, match="already exists"):
        m.register_parameter("plain", None)
    with pytest.raises(TypeError, match="must be a Module"):
        m.add_module("x", ones(1))


def test_register_parameter_none_reserves_a_slot():
    m = Module()
    m.register_parameter("bias", None)
    assert m.bias is None
    assert list(m.parameters()) == []
    m.bias = Parameter(zeros(2))
    assert [n for n, _ in m.named_parameters()] == ["bias"]


def test_delattr_removes_from_tables():
    m = Block()
    del m.fc1
    del m.gain
    del m.steps
    assert [n for n, _ in m.named_parameters()] == ["fc2.weight", "fc2.bias"]
    assert list(m.buffers()) == []
    with pytest.raises(AttributeError, match="fc1"):
        _ = m.fc1


def test_missing_attribute_error_names_class_and_attribute():
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'nope'"):
        _ = Block().nope


def test_dir_lists_registered_members():
    d = dir(Block())
    assert {"fc1", "gain", "steps", "forward"} <= set(d)


def test_children_and_modules():
    m = Block()
    assert [n for n, _ in m.named_children()] == ["fc1", "fc2"]
    assert list(m.children()) == [m.fc1, m.fc2]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "fc2"]
    assert next(iter(m.modules())) is m
    shared = Linear(1, 1)
    seq = Sequential(shared, shared)
    assert len(list(seq.modules())) == 2
    assert len(list(seq.named_modules(remove_duplicate=False))) == 3
    assert len(list(seq.children())) == 1


def test_call_passes_arguments_to_forward():
    class Two(Module):
        def forward(self, a, b=1):
            return a + b

    assert Two()(1, b=2) == 3


def test_forward_not_defined_is_an_error():
    with pytest.raises(NotImplementedError, match="Module: forward"):
        Module()(ones(1))


def test_train_and_eval_reach_every_submodule():
    m = Sequential(Linear(2, 2), Sequential(Dropout(0.5)))
    assert m.training
    assert m.eval() is m
    assert not any(sub.training for sub in m.modules())
    m.train()
    assert all(sub.training for sub in m.modules())
    m.train(False)
    assert not m[1][0].training
    with pytest.raises(TypeError, match="bool"):
        m.train("no")


def test_zero_grad_forgets_gradients():
    m = Block()
    for p in m.parameters():
        p.grad = ones(*p.shape)
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_requires_grad_freezes_and_unfreezes():
    m = Block()
    m.fc1.requires_grad_(False)
    assert [n for n, p in m.named_parameters() if not p.requires_grad] == [
        "fc1.weight",
        "fc1.bias",
    ]
    m.requires_grad_()
    assert all(p.requires_grad for p in m.parameters())


def test_to_double_keeps_parameter_objects():
    m = Block()
    w = m.fc1.weight
    before = w.data.copy()
    assert m.double() is m
    assert m.fc1.weight is w
    assert w.dtype == float64
    assert m.steps.dtype == float64
    np.testing.assert_array_equal(w.data, before.astype(np.float64))
    assert m.float().fc1.weight.dtype == float32
    with pytest.raises(TypeError, match="floating"):
        m.to("int64")


def test_apply_visits_children_before_parent():
    seen = []
    m = Block()
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "Linear", "Block"]


# ---- state_dict ------------------------------------------------------------------------------
def test_state_dict_keys_order_and_values():
    m = Block()
    sd = m.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["gain", "steps", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    v = sd["fc1.weight"]
    assert type(v) is Tensor
    assert not v.requires_grad
    assert np.shares_memory(v.data, m.fc1.weight.data)
    kept = m.state_dict(keep_vars=True)
    assert kept["fc1.weight"] is m.fc1.weight


def test_state_dict_of_sequential_uses_positions():
    model = Sequential(Linear(2, 3), Dropout(0.1), Linear(3, 1))
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_round_trip_gives_identical_outputs_and_keeps_objects():
    a, b = Block(seed=1), Block(seed=2)
    x = randn(5, 3, generator=Generator(3))
    assert not np.allclose(a(x).data, b(x).data)
    weight_object = b.fc1.weight
    result = b.load_state_dict(a.state_dict())
    assert result == IncompatibleKeys([], [])
    assert b.fc1.weight is weight_object
    np.testing.assert_array_equal(a(x).data, b(x).data)
    # A copy, not shared storage: changing a afterwards leaves b alone.
    a.fc1.weight.data[...] = 0
    assert b.fc1.weight.data.any()


def test_load_accepts_numpy_arrays_and_casts_dtype():
    m = Block()
    state = {k: v.data.astype(np.float64) + 1 for k, v in m.state_dict().items()}
    m.load_state_dict(state)
    assert m.fc1.weight.dtype == float32
    np.testing.assert_allclose(m.fc1.weight.data, state["fc1.weight"].astype(np.float32))
    assert float(m.steps.item()) == 1.0


def snapshot(model):
    return {k: v.data.copy() for k, v in model.state_dict().items()}


def assert_unchanged(model, before):
    after = snapshot(model)
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])


def test_shape_mismatch_is_refused_naming_key_and_both_shapes_and_changes_nothing():
    m = Block()
    before = snapshot(m)
    bad = {k: v.data + 1 for k, v in m.state_dict().items()}
    bad["fc2.weight"] = np.zeros((4, 2), np.float32)  # transposed
    for strict in (True, False):
        with pytest.raises(StateDictError) as info:
            m.load_state_dict(bad, strict=strict)
        message = str(info.value)
        assert "fc2.weight" in message
        assert "(4, 2)" in message
        assert "(2, 4)" in message
        assert "nothing was changed" in message
        # fc1 comes before fc2 and was valid: it must not have been written either
        assert_unchanged(m, before)


def test_missing_and_unexpected_keys_refused_when_strict():
    m = Block()
    before = snapshot(m)
    state = {k: v.data + 1 for k, v in m.state_dict().items()}
    del state["fc1.bias"]
    state["fc9.weight"] = np.zeros(2)
    with pytest.raises(StateDictError) as info:
        m.load_state_dict(state)
    assert "missing key(s) in state_dict: fc1.bias" in str(info.value)
    assert "unexpected key(s) in state_dict: fc9.weight" in str(info.value)
    assert_unchanged(m, before)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, RuntimeError)


def test_non_strict_load_reports_keys_and_loads_the_rest():
    m = Block()
    state = {k: v.data + 1 for k, v in m.state_dict().items()}
    old_bias = m.fc1.bias.data.copy()
    del state["fc1.bias"]
    state["extra"] = np.zeros(1)
    missing, unexpected = m.load_state_dict(state, strict=False)
    assert missing == ["fc1.bias"]
    assert unexpected == ["extra"]
    np.testing.assert_array_equal(m.fc1.bias.data, old_bias)
    np.testing.assert_array_equal(m.fc2.weight.data, state["fc2.weight"])


def test_load_rejects_bad_values_and_non_mappings():
    m = Block()
    before = snapshot(m)
    state = {k: v.data for k, v in m.state_dict().items()}
    state["gain"] = [1.0]
    with pytest.raises(StateDictError, match=r"gain: expected a Tensor, .* got builtins\.list"):
        m.load_state_dict(state)
    state["gain"] = np.array(["a"])
    with pytest.raises(StateDictError, match="dtype <U1"):
        m.load_state_dict(state)
    assert_unchanged(m, before)
    with pytest.raises(TypeError, match=r"mapping of names to tensors, got builtins\.list"):
        m.load_state_dict([("gain", ones(1))])


def test_load_into_tied_weights_and_none_slots():
    m = Linear(2, 2, bias=False)
    assert list(m.state_dict()) == ["weight"]
    with pytest.raises(StateDictError, match="unexpected key"):
        m.load_state_dict({"weight": zeros(2, 2), "bias": zeros(2)})
    m.load_state_dict({"weight": ones(2, 2)})
    assert m.weight.data.sum() == 4


# ---- repr and copies -------------------------------------------------------------------------
def test_nested_repr_matches_pytorch_layout():
    m = Block()
    assert repr(m) == (
        "Block(\n"
        "  (fc1): Linear(in_features=3, out_features=4, bias=True)\n"
        "  (fc2): Linear(in_features=4, out_features=2, bias=True)\n"
        ")"
    )
    assert repr(Module()) == "Module()"


def test_multi_line_extra_repr_is_indented():
    class Configured(Module):
        def __init__(self):
            super().__init__()
            self.inner = Module()

        def extra_repr(self):
            return "a=1\nb=2"

    assert repr(Configured()) == "Configured(\n  a=1\n  b=2\n  (inner): Module()\n)"


def test_deepcopy_gives_an_independent_model():
    m = Block()
    c = copy.deepcopy(m)
    assert c.fc1.weight is not m.fc1.weight
    assert isinstance(c.fc1.weight, Parameter)
    assert c.fc1.weight.requires_grad
    np.testing.assert_array_equal(c.fc1.weight.data, m.fc1.weight.data)
    c.fc1.weight.data[...] = 0
    assert m.fc1.weight.data.any()


def test_module_to_takes_tensor_to_forms_and_cpu_is_a_no_op():
    layer = Linear(2, 1)
    assert layer.cpu() is layer
    assert layer.to("cpu") is layer
    assert layer.weight.dtype == np.float32
    assert layer.to("cpu", np.float64).weight.dtype == np.float64
    assert layer.to(device="cpu", dtype="float32").weight.dtype == np.float32
    with pytest.raises(RuntimeError, match="CPU only; got device 'cuda'"):
        layer.to("cuda")
