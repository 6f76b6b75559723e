"""ModuleDict, ParameterList and ParameterDict: registration, the container protocol, and
state_dict keys that match PyTorch's for the same structure."""

from collections import OrderedDict

import numpy as np
import pytest

from tinytorch.layers import (
    Identity,
    Linear,
    Module,
    ModuleDict,
    ModuleList,
    Parameter,
    ParameterDict,
    ParameterList,
)
from tinytorch.tensor import Generator, Tensor, ones, randn, zeros


def linears():
    g = Generator(0)
    return Linear(2, 3, generator=g), Linear(3, 1, generator=g)


# ---- ModuleDict --------------------------------------------------------------------------
def test_module_dict_registers_and_behaves_like_a_dict():
    a, b = linears()
    d = ModuleDict({"enc": a})
    d["dec"] = b
    assert len(d) == 2
    assert list(d) == ["enc", "dec"]
    assert d.keys() == ["enc", "dec"]
    assert d.values() == [a, b]
    assert d.items() == [("enc", a), ("dec", b)]
    assert "enc" in d
    assert "nope" not in d
    assert 3 not in d
    assert d["enc"] is a
    assert d.enc is a  # attribute access, as in PyTorch
    assert [n for n, _ in d.named_parameters()] == [
        "enc.weight",
        "enc.bias",
        "dec.weight",
        "dec.bias",
    ]
    assert len(list(d.parameters())) == 4


def test_module_dict_replace_delete_pop_clear_keep_order():
    a, b = linears()
    c = Identity()
    d = ModuleDict([("a", a), ("b", b)])
    d["a"] = c  # replacing keeps the position
    assert d.keys() == ["a", "b"]
    assert d["a"] is c
    del d["a"]
    assert d.keys() == ["b"]
    assert d.pop("b") is b
    assert len(d) == 0
    d.update(OrderedDict([("x", a), ("y", b)]))
    d.update(ModuleDict({"z": c}))
    assert d.keys() == ["x", "y", "z"]
    d.clear()
    assert len(d) == 0
    assert list(d.parameters()) == []


def test_module_dict_refuses_with_clear_errors():
    d = ModuleDict({"a": Identity()})
    with pytest.raises(KeyError, match=r"no module named 'b'; have \['a'\]"):
        d["b"]
    with pytest.raises(KeyError, match="no module named"):
        del d["b"]
    with pytest.raises(TypeError, match="holds Modules only, got Tensor"):
        d["w"] = zeros(2)
    with pytest.raises(TypeError, match="keys must be str, got int"):
        d[1] = Identity()  # type: ignore[index]
    with pytest.raises(ValueError, match=r"no '\.'"):
        d["a.b"] = Identity()
    # update checks every entry first: a bad one adds nothing
    with pytest.raises(TypeError, match="holds Modules only, got int"):
        d.update([("ok", Identity()), ("bad", 3)])  # type: ignore[list-item]
    assert d.keys() == ["a"]
    with pytest.raises(TypeError, match="mapping or an iterable"):
        d.update(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="has length 3"):
        d.update([("a", Identity(), 1)])  # type: ignore[list-item]


def test_module_dict_load_state_dict_round_trip():
    src = ModuleDict({"a": Linear(2, 2, generator=Generator(1)), "b": Linear(2, 1)})
    dst = ModuleDict({"a": Linear(2, 2, generator=Generator(2)), "b": Linear(2, 1)})
    dst.load_state_dict(src.state_dict())
    for (ka, va), (kb, vb) in zip(src.state_dict().items(), dst.state_dict().items(), strict=True):
        assert ka == kb
        np.testing.assert_array_equal(va.data, vb.data)


# ---- ParameterList -----------------------------------------------------------------------
def test_parameter_list_registers_wraps_and_indexes():
    p = Parameter(ones(2))
    t = zeros(3)
    pl = ParameterList([p, t])
    assert len(pl) == 2
    assert pl[0] is p
    assert isinstance(pl[1], Parameter)
    assert pl[1].requires_grad
    # a wrapped tensor shares memory with the tensor it was made from
    assert np.shares_memory(pl[1].data, t.data)
    assert pl[-1] is pl[1]
    assert list(pl) == [pl[0], pl[1]]
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pl.append(ones(1))
    pl.extend([ones(4), ones(5)])
    pl += [ones(6)]
    assert [q.shape for q in pl] == [(2,), (3,), (1,), (4,), (5,), (6,)]
    assert [q.shape for q in pl[1:3]] == [(3,), (1,)]
    assert isinstance(pl[1:3], ParameterList)
    replacement = Parameter(zeros(7))
    pl[2] = replacement
    assert pl[2] is replacement
    assert list(pl.state_dict()) == ["0", "1", "2", "3", "4", "5"]


def test_parameter_list_refuses_with_clear_errors():
    pl = ParameterList([ones(1)])
    with pytest.raises(IndexError, match="index 1 is out of range for 1 parameters"):
        pl[1]
    with pytest.raises(IndexError, match="index -2 is out of range"):
        pl[-2] = ones(1)
    with pytest.raises(TypeError, match="indices must be integers"):
        pl["0"]  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="got list"):
        pl.append([1.0])  # type: ignore[arg-type]
    # extend checks every element first
    with pytest.raises(TypeError, match="got str"):
        pl.extend([ones(1), "x"])  # type: ignore[list-item]
    assert len(pl) == 1
    with pytest.raises(TypeError, match="iterable of Parameters"):
        pl.extend(ones(3))


def test_parameter_list_is_seen_by_an_optimizer_through_its_owner():
    class Mixture(Module):
        def __init__(self):
            super().__init__()
            self.weights = ParameterList([randn(3) for _ in range(2)])

        def forward(self, x):
            return sum(x * w for w in self.weights)

    m = Mixture()
    assert [id(p) for p in m.parameters()] == [id(w) for w in m.weights]
    assert all(p.requires_grad for p in m.parameters())
    assert m(ones(3)).node is not None  # the forward records a graph through both weights
    assert list(m.state_dict()) == ["weights.0", "weights.1"]


# ---- ParameterDict -----------------------------------------------------------------------
def test_parameter_dict_registers_and_behaves_like_a_dict():
    g = Parameter(ones(3))
    pd = ParameterDict({"gain": g})
    pd["bias"] = zeros(3)
    assert list(pd) == ["gain", "bias"]
    assert pd.keys() == ["gain", "bias"]
    assert pd.values() == [pd["gain"], pd["bias"]]
    assert [k for k, _ in pd.items()] == ["gain", "bias"]
    assert pd["gain"] is g
    assert isinstance(pd["bias"], Parameter)
    assert "bias" in pd
    assert 0 not in pd
    assert len(pd) == 2
    assert pd.get("gain") is g
    assert pd.get("nope") is None
    pd.update([("scale", ones(1))])
    pd.update({"gain": Parameter(zeros(3))})  # replaces, keeps the position
    assert pd.keys() == ["gain", "bias", "scale"]
    assert float(pd["gain"].sum()) == 0.0
    del pd["bias"]
    assert pd.pop("scale").shape == (1,)
    assert pd.keys() == ["gain"]
    pd.clear()
    assert len(pd) == 0


def test_parameter_dict_refuses_with_clear_errors():
    pd = ParameterDict({"a": ones(1)})
    with pytest.raises(KeyError, match=r"no parameter named 'b'; have \['a'\]"):
        pd["b"]
    with pytest.raises(KeyError, match="no parameter named"):
        pd.pop("b")
    with pytest.raises(TypeError, match="got float"):
        pd["c"] = 1.0  # type: ignore[assignment]
    with pytest.raises(TypeError, match="keys must be str"):
        pd[(1,)] = ones(1)  # type: ignore[index]
    with pytest.raises(ValueError, match=r"no '\.'"):
        pd["x.y"] = ones(1)
    with pytest.raises(TypeError, match="got str"):
        pd.update({"ok": ones(1), "bad": "x"})  # type: ignore[dict-item]
    assert pd.keys() == ["a"]


def test_reprs_list_each_entry():
    assert "(0): Parameter containing: [float32 of size (2,)]" in repr(ParameterList([ones(2)]))
    assert "(w): Parameter containing:" in repr(ParameterDict({"w": ones(2)}))
    assert "(lin): Linear(" in repr(ModuleDict({"lin": Linear(2, 2)}))


# ---- the PyTorch oracle ------------------------------------------------------------------
class TinyNet(Module):
    def __init__(self):
        super().__init__()
        self.heads = ModuleDict({"cls": Linear(4, 3), "reg": Linear(4, 1)})
        self.blocks = ModuleList([Linear(4, 4), ModuleDict({"proj": Linear(4, 4)})])
        self.scales = ParameterList([ones(4), ones(4)])
        self.extra = ParameterDict({"temperature": ones(1), "shift": zeros(4)})

    def forward(self, x: Tensor) -> Tensor:
        x = self.blocks[0](x) * self.scales[0] + self.extra["shift"]
        return self.heads["cls"](x)


def test_state_dict_keys_match_pytorch():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class TorchNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "reg": nn.Linear(4, 1)})
            self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.ModuleDict({"proj": nn.Linear(4, 4)})])
            self.scales = nn.ParameterList([nn.Parameter(torch.ones(4)) for _ in range(2)])
            self.extra = nn.ParameterDict(
                {"temperature": nn.Parameter(torch.ones(1)), "shift": nn.Parameter(torch.zeros(4))}
            )

    ours, theirs = TinyNet(), TorchNet()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    for (name, ours_p), (_, theirs_p) in zip(
        ours.named_parameters(), theirs.named_parameters(), strict=True
    ):
        assert ours_p.shape == tuple(theirs_p.shape), name
    # and the torch state loads straight into ours, with equal values
    ours.load_state_dict(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[key].data, value.numpy())
    assert len(ours.heads) == len(theirs.heads)
    assert list(ours.extra) == list(theirs.extra)
    assert len(ours.scales) == len(theirs.scales)
