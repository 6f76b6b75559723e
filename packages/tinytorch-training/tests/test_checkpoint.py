"""save_arrays / load_arrays and save_checkpoint / load_checkpoint: exact, safe, all-or-nothing."""

import json
import math
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.layers import Dropout, Linear, Sequential
from tinytorch.optimizers import SGD, Adam, AdamW
from tinytorch.tensor import Generator, Tensor, default_generator, manual_seed
from tinytorch.training import (
    CheckpointError,
    CosineAnnealingLR,
    StepLR,
    Trainer,
    load_arrays,
    load_checkpoint,
    save_arrays,
    save_checkpoint,
)
from tinytorch.training.checkpoint import DATA, MANIFEST_JSON

DATA_DIR = Path(__file__).parent / "data"


def awkward_arrays():
    rng = np.random.default_rng(0)
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45, 3.4e38], dtype=np.float32)
    return {
        "layers.0.weight": rng.standard_normal((4, 3)).astype(np.float32),
        "optimizer/state/0/exp_avg": rng.standard_normal(5),
        "special": special,
        "half": np.array([1.5, -2.25], dtype=np.float16),
        "ints": np.arange(-3, 3, dtype=np.int64),
        "mask": np.array([[True, False]]),
        "bytes": np.arange(7, dtype=np.uint8),
        "scalar": np.array(2.5),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "fortran": np.asfortranarray(rng.standard_normal((3, 2))),
        "strided": rng.standard_normal((6, 4))[::2, 1::2],
        "big_endian": np.arange(3, dtype=">f8"),
    }


# ---- the generic layer -----------------------------------------------------------------------
def test_arrays_round_trip_bit_exact(tmp_path):
    arrays = awkward_arrays()
    meta = {"step": 3, "note": "héllo", "nested": {"a": [1, 2.5, None]}, "loss": float("nan")}
    path = tmp_path / "a.npz"
    save_arrays(path, arrays, meta)
    loaded, loaded_meta = load_arrays(path)
    assert list(loaded) == list(arrays)
    for name, array in arrays.items():
        got = loaded[name]
        assert got.dtype == array.dtype, name
        assert got.shape == array.shape, name
        # bit-exact: compare the raw bytes (NaN != NaN, -0.0 == 0.0 would hide differences)
        assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(array).tobytes(), name
    assert loaded_meta["note"] == "héllo"
    assert loaded_meta["nested"] == {"a": [1, 2.5, None]}
    assert np.isnan(loaded_meta["loss"])


def test_tensors_are_saved_as_their_arrays(tmp_path):
    save_arrays(tmp_path / "t.npz", {"w": Tensor([1.0, 2.0])})
    arrays, meta = load_arrays(tmp_path / "t.npz")
    assert arrays["w"].dtype == np.float32
    assert meta == {}


@pytest.mark.parametrize(
    ("arrays", "metadata", "error", "message"),
    [
        ({"x": np.array([{}], dtype=object)}, None, TypeError, "needs pickle"),
        ({"a\0b": np.zeros(1)}, None, ValueError, "invalid array name"),
        ({"": np.zeros(1)}, None, ValueError, "invalid array name"),
        ({"x": np.zeros(2, "i4,f8")}, None, TypeError, r"dtype \[\('f0', '<i4'\).*structured"),
        ({"x": [1.0, 2.0]}, None, TypeError, "numpy array or Tensor"),
        ({"x": np.zeros(1)}, {"f": object()}, TypeError, "not JSON-serialisable"),
    ],
)
def test_what_cannot_be_saved_safely_is_refused(tmp_path, arrays, metadata, error, message):
    with pytest.raises(error, match=message):
        save_arrays(tmp_path / "x.npz", arrays, metadata)
    assert os.listdir(tmp_path) == []


def test_a_truncated_file_is_refused(tmp_path):
    path = tmp_path / "a.npz"
    save_arrays(path, awkward_arrays(), {"step": 1})
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 100):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="truncated or corrupt"):
            load_arrays(path)


def test_a_flipped_bit_is_refused(tmp_path):
    path = tmp_path / "a.npz"
    weights = np.arange(1000, dtype=np.float64)
    save_arrays(path, {"w": weights})
    data = bytearray(path.read_bytes())
    offset = data.index(weights[500:501].tobytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"truncated or corrupt|SHA-256"):
        load_arrays(path)


def rewrite(path, change):
    """Rebuild the archive with ``change(name, bytes) -> bytes`` applied: valid zip CRCs."""
    with zipfile.ZipFile(path) as zf:
        entries = [(info.filename, zf.read(info.filename)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries:
            zf.writestr(name, change(name, data))


def test_an_edited_array_is_refused_by_the_digest(tmp_path):
    path = tmp_path / "a.npz"
    weights = np.arange(10, dtype=np.float64)
    save_arrays(path, {"w": weights})
    rewrite(
        path,
        lambda name, data: (
            data.replace(weights[3:4].tobytes(), np.float64(-3).tobytes()) if name == DATA else data
        ),
    )
    with pytest.raises(CheckpointError, match="SHA-256 mismatch"):
        load_arrays(path)


def test_edited_metadata_is_refused_by_the_digest(tmp_path):
    path = tmp_path / "a.npz"
    save_arrays(path, {"w": np.zeros(2)}, {"step": 100})
    rewrite(path, lambda name, data: data.replace(b'"step":100', b'"step":999'))
    with pytest.raises(CheckpointError, match="SHA-256 mismatch"):
        load_arrays(path)


def test_an_added_array_is_refused(tmp_path):
    path = tmp_path / "a.npz"
    save_arrays(path, {"w": np.zeros(2)})
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("extra.npy", b"")
    with pytest.raises(CheckpointError, match=r"the members are \['arrays.bin', 'extra.npy'"):
        load_arrays(path)


def test_pickles_are_never_loaded(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    # a bare pickle renamed .npz, and an npz holding a pickled object array
    (tmp_path / "bare.npz").write_bytes(pickle.dumps(Exploit()))
    np.savez(tmp_path / "objects.npz", x=np.array([Exploit()], dtype=object))
    for name in ("bare.npz", "objects.npz"):
        with pytest.raises(CheckpointError):
            load_arrays(tmp_path / name)
    assert not marker.exists()


def test_a_file_from_elsewhere_is_refused_with_the_reason(tmp_path):
    np.savez(tmp_path / "plain.npz", w=np.zeros(2))
    with pytest.raises(CheckpointError, match="no manifest"):
        load_arrays(tmp_path / "plain.npz")
    np.save(tmp_path / "bare.npy", np.zeros(2))
    with pytest.raises(CheckpointError, match=r"bare \.npy"):
        load_arrays(tmp_path / "bare.npy")
    with pytest.raises(FileNotFoundError):
        load_arrays(tmp_path / "missing.npz")
    path = tmp_path / "v3.npz"
    save_arrays(path, {"w": np.zeros(2)})
    rewrite(path, lambda name, data: data.replace(b'"version":2', b'"version":3'))
    with pytest.raises(CheckpointError, match="format version 3; this reader knows versions 1"):
        load_arrays(path)


def test_the_layout_is_one_data_member_and_a_json_manifest(tmp_path):
    """Every array lies in one member at its dtype's alignment, packed in order; the file is
    the arrays' bytes plus a manifest entry each plus a fixed zip frame, and the same content
    always gives the same bytes."""
    arrays = awkward_arrays()
    path = tmp_path / "a.npz"
    save_arrays(path, arrays, {"step": 1})
    with zipfile.ZipFile(path) as zf:
        assert [i.filename for i in zf.infolist()] == [DATA, MANIFEST_JSON]
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        data, manifest = zf.read(DATA), json.loads(zf.read(MANIFEST_JSON))
    assert manifest["version"] == 2
    end = 0
    for (name, dtype, shape, offset), (key, array) in zip(
        manifest["arrays"], arrays.items(), strict=True
    ):
        assert (name, dtype, tuple(shape)) == (key, array.dtype.str, array.shape)
        assert offset % array.dtype.alignment == 0
        assert end <= offset < end + array.dtype.alignment
        assert data[end:offset] == bytes(offset - end)
        assert data[offset : offset + array.nbytes] == np.ascontiguousarray(array).tobytes()
        end = offset + array.nbytes
    assert len(data) == end
    manifest_size = len(json.dumps(manifest, sort_keys=True, separators=(",", ":")))
    frame = path.stat().st_size - len(data) - manifest_size
    assert frame == 2 * 30 + 2 * 46 + 22 + 2 * len(DATA + MANIFEST_JSON)  # headers, no extras
    again = tmp_path / "b.npz"
    save_arrays(again, arrays, {"step": 1})
    assert again.read_bytes() == path.read_bytes()


DTYPES = ["|b1", "|i1", "|u1", "<i2", ">i2", "<u4", "<i8", ">i8", "<f2", "<f4", ">f4", "<f8",
          "<c8", ">c16", "<M8[s]", "<m8[ns]", "<U3", "|S5", "|V3"]  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(DTYPES),
            st.lists(st.integers(0, 4), max_size=3),
            st.booleans(),
        ),
        max_size=6,
    ),
    st.randoms(use_true_random=False),
)
def test_any_mix_of_dtypes_and_shapes_round_trips_bit_exact(tmp_path_factory, specs, rnd):
    """Random bytes in arrays of every kind of dtype (mixed alignments, byte orders, 0-d and
    empty shapes, strided views): the same bytes, dtype and shape come back."""
    arrays = {}
    for i, (dtype, shape, strided) in enumerate(specs):
        full = [n * 2 for n in shape] if strided else shape
        raw = bytes(rnd.getrandbits(8) for _ in range(math.prod(full) * np.dtype(dtype).itemsize))
        array = np.frombuffer(raw, dtype=dtype).reshape(full)
        if strided and shape:  # every other element along each axis: not contiguous
            array = array[tuple(slice(None, None, 2) for _ in shape)]
        arrays[f"a{i}"] = array
    path = tmp_path_factory.mktemp("mix") / "a.npz"
    save_arrays(path, arrays)
    loaded, _ = load_arrays(path)
    assert list(loaded) == list(arrays)
    for name, array in arrays.items():
        assert loaded[name].dtype.str == array.dtype.str
        assert loaded[name].shape == array.shape
        assert loaded[name].tobytes() == array.tobytes()


def test_an_array_costs_its_bytes_and_a_manifest_entry(tmp_path):
    """The format's cost per array is its manifest entry, not a zip member: a thousand
    one-byte arrays make a file under 32 KB (format version 1 needed about 315 KB)."""
    path = tmp_path / "many.npz"
    save_arrays(path, {str(i): np.array([i % 256], dtype=np.uint8) for i in range(1000)})
    assert path.stat().st_size < 32_000
    arrays, _ = load_arrays(path)
    assert [int(a[0]) for a in arrays.values()] == [i % 256 for i in range(1000)]


def v1_arrays():
    """The arrays in data/v1_arrays.npz, written by save_arrays of tinytorch-training 0.2.2
    (format version 1: a .npy member per array) before version 2 existed."""
    return {
        "w": np.arange(6, dtype=np.float32).reshape(2, 3) / 8,
        "special": np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45], dtype=np.float32),
        "ids": np.arange(-2, 3, dtype=np.int64),
        "q": np.array([-128, 0, 127], dtype=np.int8),
        "mask": np.array([[True, False]]),
        "scalar": np.array(2.5),
        "empty": np.zeros((0, 3), dtype=np.int32),
        "big_endian": np.arange(3, dtype=">f8"),
    }


def test_a_version_1_file_still_loads_bit_exact():
    path = DATA_DIR / "v1_arrays.npz"
    with zipfile.ZipFile(path) as zf:  # the committed file really is version 1
        assert "__tinytorch_manifest__.npy" in zf.namelist()
    arrays, meta = load_arrays(path)
    assert meta == {"step": 3, "note": "format version 1"}
    expected = v1_arrays()
    assert list(arrays) == list(expected)
    for name, array in expected.items():
        assert arrays[name].dtype == array.dtype, name
        assert arrays[name].shape == array.shape, name
        assert arrays[name].tobytes() == array.tobytes(), name


def test_a_version_1_state_dict_still_loads():
    from tinytorch.layers import Parameter
    from tinytorch.training import load

    state = load(DATA_DIR / "v1_state.npz")
    assert state["epoch"] == 7
    assert state["best"] == (0.25, None)
    model = state["model"]
    assert list(model) == ["weight", "bias", "scale"]
    assert isinstance(model["weight"], Parameter)
    assert model["weight"].requires_grad
    assert not model["bias"].requires_grad
    assert model["weight"].data.tobytes() == (np.arange(4, dtype=np.float32) / 4).tobytes()
    assert model["bias"].tolist() == [0.5, -1.0]
    assert model["scale"].dtype == np.float32


def test_an_overwrite_replaces_the_file(tmp_path):
    path = tmp_path / "a.npz"
    save_arrays(path, {"w": np.ones(3)}, {"v": 1})
    save_arrays(path, {"w": np.zeros(2)}, {"v": 2})
    arrays, meta = load_arrays(path)
    assert meta == {"v": 2}
    np.testing.assert_array_equal(arrays["w"], np.zeros(2))
    assert os.listdir(tmp_path) == ["a.npz"]


# ---- checkpoints -----------------------------------------------------------------------------
def make_model(seed=0, hidden=8):
    g = Generator(seed)
    return Sequential(Linear(3, hidden, generator=g), Dropout(0.2), Linear(hidden, 2, generator=g))


def train_some(model, opt, sched=None, steps=3):
    g = Generator(42)
    for _ in range(steps):
        for p in model.parameters():
            p.grad = Tensor(g.rng.standard_normal(p.shape).astype(np.float32))
        opt.step()
        if sched is not None:
            sched.step()


def snapshot(model, opt):
    params = {k: v.data.tobytes() for k, v in model.state_dict().items()}
    return params, json.dumps(_jsonable(opt.state_dict()), sort_keys=True)


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def test_checkpoint_round_trip_into_fresh_objects(tmp_path):
    model = make_model()
    opt = Adam(model.parameters(), lr=0.01, amsgrad=True)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    train_some(model, opt, sched)
    extra_gen = Generator(7)
    extra_gen.rng.random(5)
    manual_seed(123)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(
        path, model, opt, sched, step=3, extra={"note": "x"}, generators={"data": extra_gen}
    )
    expected_default = default_generator.get_state()
    expected_extra = extra_gen.get_state()

    fresh = make_model(seed=1)
    fresh_opt = Adam(fresh.parameters(), lr=0.5)
    fresh_sched = StepLR(fresh_opt, step_size=2, gamma=0.5)
    fresh_gen = Generator(99)
    default_generator.rng.random(3)  # move the default generator on
    meta = load_checkpoint(path, fresh, fresh_opt, fresh_sched, generators={"data": fresh_gen})
    assert meta == {"step": 3, "extra": {"note": "x"}}
    assert snapshot(fresh, fresh_opt) == snapshot(model, opt)
    assert fresh_sched.state_dict() == sched.state_dict()
    assert default_generator.get_state() == expected_default
    assert fresh_gen.get_state() == expected_extra
    assert fresh_opt.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_model_only_checkpoint(tmp_path):
    model = make_model()
    save_checkpoint(tmp_path / "m.npz", model)
    fresh = make_model(seed=5)
    assert load_checkpoint(tmp_path / "m.npz", fresh)["step"] == 0
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(CheckpointError, match="no optimizer state"):
        load_checkpoint(tmp_path / "m.npz", fresh, SGD(fresh.parameters(), lr=0.1))


def failing_loads(tmp_path):
    """(description, checkpoint path, loader) triples, each of which must fail cleanly."""
    model = make_model()
    opt = Adam(model.parameters(), lr=0.01)
    sched = StepLR(opt, step_size=2)
    train_some(model, opt, sched)
    good = tmp_path / "good.npz"
    save_checkpoint(good, model, opt, sched, step=3)

    wide = make_model(hidden=16)
    wide_opt = Adam(wide.parameters(), lr=0.01)
    train_some(wide, wide_opt)
    wrong_shapes = tmp_path / "wide.npz"
    save_checkpoint(wrong_shapes, wide, wide_opt)

    # same model, but the optimizer had two groups
    grouped_opt = Adam(
        [{"params": list(model.parameters())[:2]}, {"params": list(model.parameters())[2:]}]
    )
    train_some(model, grouped_opt)
    grouped = tmp_path / "grouped.npz"
    save_checkpoint(grouped, model, grouped_opt, StepLR(grouped_opt, step_size=2))

    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:-200])
    # (what is wrong, the scheduler class to build, how to load)
    return [
        ("shapes", StepLR, lambda m, o, s: load_checkpoint(wrong_shapes, m, o)),
        ("groups", StepLR, lambda m, o, s: load_checkpoint(grouped, m, o, s)),
        ("truncated", StepLR, lambda m, o, s: load_checkpoint(truncated, m, o, s)),
        ("scheduler class", CosineAnnealingLR, lambda m, o, s: load_checkpoint(good, m, o, s)),
        (
            "optimizer class",
            StepLR,
            lambda m, o, s: load_checkpoint(good, m, AdamW(m.parameters())),
        ),
        (
            "generator",
            StepLR,
            lambda m, o, s: load_checkpoint(good, m, o, s, generators={"loader": Generator(0)}),
        ),
    ]


def build(sched_cls, seed=3):
    model = make_model(seed=seed)
    opt = Adam(model.parameters(), lr=0.003)
    sched = StepLR(opt, step_size=2) if sched_cls is StepLR else sched_cls(opt, T_max=3)
    train_some(model, opt, sched, steps=2)
    return model, opt, sched


def test_a_failed_load_changes_nothing(tmp_path):
    for description, sched_cls, load in failing_loads(tmp_path):
        model, opt, sched = build(sched_cls)
        before = snapshot(model, opt)
        sched_before = sched.state_dict()
        rng_before = default_generator.get_state()
        with pytest.raises(CheckpointError):
            load(model, opt, sched)
        assert snapshot(model, opt) == before, description
        assert default_generator.get_state() == rng_before, description
        assert sched.state_dict() == sched_before, description


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("shapes", r"size mismatch for 0.weight"),
        ("groups", "2 parameter groups"),
        ("truncated", "truncated or corrupt"),
        ("scheduler class", "StepLR's, not CosineAnnealingLR's"),
        ("optimizer class", "Adam's, not AdamW's"),
        ("generator", r"generator\(s\) \['loader'\]"),
    ],
)
def test_the_error_says_what_did_not_fit(tmp_path, case, message):
    cases = {d: (cls, load) for d, cls, load in failing_loads(tmp_path)}
    sched_cls, load = cases[case]
    with pytest.raises(CheckpointError, match=message):
        load(*build(sched_cls))


def test_model_rolls_back_when_a_later_part_fails(tmp_path):
    """The model loads fine, then the optimizer's state does not fit: the model is restored."""
    source = make_model(seed=0)
    source_opt = Adam(source.parameters())
    train_some(source, source_opt)
    path = tmp_path / "c.npz"
    save_checkpoint(path, source, source_opt)
    target = make_model(seed=9)
    frozen_first = list(target.parameters())
    target_opt = Adam(frozen_first[:3])  # one parameter fewer: the group sizes differ
    before = {k: v.data.copy() for k, v in target.state_dict().items()}
    with pytest.raises(CheckpointError, match="nothing was changed"):
        load_checkpoint(path, target, target_opt)
    for key, value in target.state_dict().items():
        np.testing.assert_array_equal(value.data, before[key])


# ---- all or nothing: every part checked before any is applied --------------------------------
def resave(path, change):
    """Rewrite the checkpoint at ``path`` with ``change(meta)`` applied and a valid digest, as a
    crafted (not a corrupted) file would be."""
    arrays, meta = load_arrays(path)
    change(meta)
    save_arrays(path, arrays, meta)


def trainer_state(trainer):
    model, opt = snapshot(trainer.model, trainer.optimizer)
    return (
        model,
        opt,
        json.dumps(trainer.scheduler.state_dict(), sort_keys=True),
        trainer.epoch,
        trainer.global_step,
        json.dumps(trainer.history.epochs),
        list(trainer.history.steps),
        json.dumps(default_generator.get_state(), sort_keys=True),
    )


def make_trainer(seed):
    model = make_model(seed=seed)
    opt = Adam(model.parameters(), lr=0.01)
    sched = StepLR(opt, step_size=2)
    train_some(model, opt, sched, steps=seed + 1)
    trainer = Trainer(model, opt, lambda out, y: out.sum(), scheduler=sched)
    trainer.epoch, trainer.global_step = seed, 10 * seed
    trainer.history.epochs = [{"epoch": seed, "train_loss": 0.5}]
    trainer.history.steps = [float(seed)]
    return trainer


BAD_TRAINER_FIELDS = [
    ("epoch", lambda t: t.update(epoch="three"), "trainer field 'epoch' is 'three'"),
    ("negative step", lambda t: t.update(global_step=-1), "'global_step' is -1"),
    ("bool epoch", lambda t: t.update(epoch=True), "'epoch' is True"),
    ("history", lambda t: t.update(history=[1, 2]), "'history' is a list"),
    ("records", lambda t: t["history"].update(epochs=[1]), "'history.epochs' is not a list"),
    ("losses", lambda t: t["history"].update(steps=["x"]), "'history.steps' is not a list"),
]


@pytest.mark.parametrize(
    ("change", "message"),
    [case[1:] for case in BAD_TRAINER_FIELDS],
    ids=[case[0] for case in BAD_TRAINER_FIELDS],
)
def test_a_bad_trainer_field_changes_nothing(tmp_path, change, message):
    path = tmp_path / "run.npz"
    make_trainer(1).save_checkpoint(path, extra={"note": "x"})
    resave(path, lambda meta: change(meta["extra"]["trainer"]))
    target = make_trainer(2)
    default_generator.rng.random(4)  # so that a restored default generator would show
    before = trainer_state(target)
    with pytest.raises(CheckpointError, match=message):
        target.load_checkpoint(path)
    assert trainer_state(target) == before


def test_a_good_trainer_checkpoint_restores_every_field(tmp_path):
    path = tmp_path / "run.npz"
    source = make_trainer(1)
    source.save_checkpoint(path, extra={"note": "x"})
    target = make_trainer(2)
    assert target.load_checkpoint(path) == {"note": "x"}
    assert trainer_state(target)[:7] == trainer_state(source)[:7]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(step="7"), "the step count is '7'"),
        (lambda m: m.update(extra=[1]), "'extra' is a list"),
        (lambda m: m.update(rng=None), "'rng' is a NoneType"),
        (lambda m: m["rng"].update(default={"bit_generator": "MT19937"}), "generator 'default'"),
        (lambda m: m["scheduler"].pop("last_epoch"), "the scheduler state has keys"),
        (
            lambda m: m["optimizer"]["param_groups"][0].update(lr=-1.0),
            "parameter group 0",
        ),
        (lambda m: m.pop("optimizer_class"), "the optimizer state is None's, not Adam's"),
        (lambda m: m["optimizer"].update(state=[1]), "dictionary update sequence"),
    ],
)
def test_a_crafted_part_is_refused_before_anything_is_applied(tmp_path, change, message):
    model, opt, sched = build(StepLR, seed=0)
    path = tmp_path / "c.npz"
    save_checkpoint(path, model, opt, sched, step=3)
    resave(path, change)
    target, target_opt, target_sched = build(StepLR, seed=5)
    before = snapshot(target, target_opt)
    sched_before = target_sched.state_dict()
    rng_before = default_generator.get_state()
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path, target, target_opt, target_sched)
    assert snapshot(target, target_opt) == before
    assert target_sched.state_dict() == sched_before
    assert default_generator.get_state() == rng_before
