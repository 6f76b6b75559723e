"""save / load: torch.save(state_dict, f) ported word for word, in the safe checkpoint format."""

import math
import os
from collections import OrderedDict

import numpy as np
import pytest

from tinytorch.layers import Linear, Parameter, Sequential
from tinytorch.optimizers import Adam
from tinytorch.tensor import Generator, Tensor
from tinytorch.training import CheckpointError, load, save, save_arrays, save_checkpoint


def bits(array):
    return np.ascontiguousarray(array).tobytes()


def model():
    g = Generator(0)
    return Sequential(Linear(3, 4, generator=g), Linear(4, 2, generator=g))


def test_a_state_dict_round_trips_bit_exactly_and_loads_into_a_model(tmp_path):
    source = model().double()
    path = tmp_path / "model.pt"
    save(source.state_dict(), path)
    state = load(path)
    assert isinstance(state, OrderedDict)
    assert list(state) == list(source.state_dict())
    for key, value in source.state_dict().items():
        assert isinstance(state[key], Tensor)
        assert state[key].dtype == value.dtype == np.float64
        assert bits(state[key].data) == bits(value.data)
    fresh = Sequential(Linear(3, 4), Linear(4, 2)).double()
    fresh.load_state_dict(state)
    for a, b in zip(fresh.parameters(), source.parameters(), strict=True):
        assert bits(a.data) == bits(b.data)
    assert os.listdir(tmp_path) == ["model.pt"]


def test_every_supported_kind_comes_back_as_it_was(tmp_path):
    rng = np.random.default_rng(0)
    weird = np.array([np.nan, -0.0, np.inf, 1e-45], dtype=np.float32)
    obj = {
        "tensor": Tensor(rng.standard_normal((2, 3))),
        "grad": Tensor(np.ones(2, dtype=np.float32)).requires_grad_(),
        "param": Parameter(Tensor(np.zeros(3))),
        "frozen": Parameter(Tensor(np.zeros(1)), requires_grad=False),
        "arrays": [weird, np.arange(3, dtype=">i4"), np.asfortranarray(rng.random((2, 3)))],
        "empty": np.zeros((0, 4), dtype=np.int8),
        "npscalar": np.float16(1.5),
        "numbers": (1, 2.5, float("nan"), 2**80, True, None, "héllo"),
        1: "an int key",
        (2, "b"): "a tuple key",
        None: OrderedDict([("z", 1), ("a", 2)]),
    }
    path = tmp_path / "obj.npz"
    save(obj, path)
    got = load(path)
    assert list(got) == list(obj)
    assert type(got["tensor"]) is Tensor
    assert bits(got["tensor"].data) == bits(obj["tensor"].data)
    assert got["tensor"].dtype == np.float64
    assert got["grad"].requires_grad
    assert not got["tensor"].requires_grad
    assert isinstance(got["param"], Parameter)
    assert got["param"].requires_grad
    assert isinstance(got["frozen"], Parameter)
    assert not got["frozen"].requires_grad
    assert isinstance(got["arrays"], list)
    for a, b in zip(got["arrays"], obj["arrays"], strict=True):
        assert isinstance(a, np.ndarray)
        assert a.dtype == b.dtype
        assert a.shape == b.shape
        assert bits(a) == bits(b)
    assert got["empty"].shape == (0, 4)
    assert got["empty"].dtype == np.int8
    assert type(got["npscalar"]) is np.float16
    assert got["npscalar"] == 1.5
    numbers = got["numbers"]
    assert type(numbers) is tuple
    assert numbers[:2] == (1, 2.5)
    assert math.isnan(numbers[2])
    assert numbers[3:] == (2**80, True, None, "héllo")
    assert type(numbers[4]) is bool
    assert got[1] == "an int key"
    assert got[(2, "b")] == "a tuple key"
    assert type(got[None]) is OrderedDict
    assert list(got[None].items()) == [("z", 1), ("a", 2)]
    # loaded arrays are ordinary writable memory: an optimizer can update them in place
    got["tensor"].data += 1


def test_an_optimizer_state_dict_with_int_keys_round_trips(tmp_path):
    net = model()
    opt = Adam(net.parameters(), lr=0.01)
    for p in net.parameters():
        p.grad = Tensor(np.ones(p.shape, dtype=np.float32))
    opt.step()
    save({"model": net.state_dict(), "optimizer": opt.state_dict(), "epoch": 4}, tmp_path / "c")
    ckpt = load(tmp_path / "c")
    assert list(ckpt["optimizer"]["state"]) == list(opt.state_dict()["state"])
    assert all(type(k) is int for k in ckpt["optimizer"]["state"])
    fresh = model()
    fresh_opt = Adam(fresh.parameters(), lr=0.5)
    fresh.load_state_dict(ckpt["model"])
    fresh_opt.load_state_dict(ckpt["optimizer"])
    assert fresh_opt.param_groups[0]["lr"] == 0.01
    for key, state in opt.state_dict()["state"].items():
        np.testing.assert_array_equal(
            fresh_opt.state_dict()["state"][key]["exp_avg"], state["exp_avg"]
        )
    assert ckpt["epoch"] == 4


class Opaque:
    pass


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"m": Linear(2, 2)}, r"obj\['m'\] is a tinytorch\.layers\.linear\.Linear"),
        ({"s": {1, 2}}, r"obj\['s'\] is a builtins\.set"),
        ([Opaque()], r"obj\[0\] is a .*test_save_load\.Opaque"),
        ({"f": print}, r"builtins\.builtin_function_or_method"),
        ({"o": np.array([{}], dtype=object)}, "object array"),
        ({frozenset(): 1}, r"a key of obj is a builtins\.frozenset"),
    ],
)
def test_what_would_need_pickle_is_refused_by_its_full_type(tmp_path, obj, message):
    with pytest.raises(TypeError, match=message):
        save(obj, tmp_path / "x")
    assert os.listdir(tmp_path) == []


def test_a_structure_that_contains_itself_is_refused(tmp_path):
    loop: dict = {"a": 1}
    loop["self"] = [loop]
    with pytest.raises(ValueError, match=r"obj\['self'\]\[0\] contains itself"):
        save(loop, tmp_path / "x")
    shared = [1]
    save({"a": shared, "b": shared}, tmp_path / "ok")  # shared but not cyclic: fine
    assert load(tmp_path / "ok") == {"a": [1], "b": [1]}


def test_map_location_and_weights_only_port_from_torch_load(tmp_path):
    save({"w": Tensor([1.0])}, tmp_path / "w")
    assert load(tmp_path / "w", map_location="cpu", weights_only=True)["w"].tolist() == [1.0]
    with pytest.raises(ValueError, match="map_location='cuda:0'"):
        load(tmp_path / "w", map_location="cuda:0")


def test_files_not_written_by_save_are_refused_with_a_hint(tmp_path):
    save_checkpoint(tmp_path / "ckpt", Linear(2, 1))
    with pytest.raises(CheckpointError, match="use load_checkpoint"):
        load(tmp_path / "ckpt")
    save_arrays(tmp_path / "arrays", {"w": np.zeros(1)})
    with pytest.raises(CheckpointError, match="use load_arrays"):
        load(tmp_path / "arrays")
    (tmp_path / "junk").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load(tmp_path / "junk")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing")


@pytest.mark.parametrize(
    ("encoded", "message"),
    [
        ({"$": "weird", "items": []}, "unknown entry kind 'weird'"),
        ({"$": "tensor", "ref": "7"}, "missing array '7'"),
        ({"no": "tag"}, "unexpected entry"),
        ({"$": "dict", "items": [[1]]}, r"is not a \[key, value\] pair"),
        ({"$": "dict", "items": [[[1, 2], 3]]}, "is not hashable"),
        ({"$": "tuple"}, "has no list of items"),
        ({"$": "npscalar", "ref": "0"}, r"NumPy scalar has the shape \(2,\)"),
    ],
)
def test_a_crafted_object_description_is_a_checkpoint_error(tmp_path, encoded, message):
    path = tmp_path / "crafted"
    meta = {"format": "tinytorch-object", "version": 1, "object": encoded}
    save_arrays(path, {"0": np.zeros(2)}, meta)  # a valid digest: only the content is wrong
    with pytest.raises(CheckpointError, match=message):
        load(path)


def test_a_torch_state_dict_saves_and_loads_into_a_tinytorch_model(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Linear(3, 2)
    save(theirs.state_dict(keep_vars=True), tmp_path / "torch.npz")  # Parameters that require grad
    state = load(tmp_path / "torch.npz")
    assert all(isinstance(v, Tensor) for v in state.values())
    ours = Linear(3, 2)
    ours.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(Tensor(x)).data, expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(TypeError, match=r"obj\['b'\]: cannot read a torch\.Tensor as an array"):
        save({"b": torch.ones(1, dtype=torch.bfloat16)}, tmp_path / "bf16")


def test_a_file_object_is_refused_clearly(tmp_path):
    import io

    with pytest.raises(TypeError, match=r"save: f must be a path .* got _io\.BytesIO"):
        save({"a": 1}, io.BytesIO())
    with pytest.raises(TypeError, match=r"load: f must be a path"):
        load(io.BytesIO(b""))
