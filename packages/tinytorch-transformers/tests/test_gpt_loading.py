"""GPTConfig's GELU, from_pretrained's checks on crafted files, and empty sequences."""

import dataclasses
import time
import tracemalloc

import numpy as np
import pytest

from tinytorch.activations import GELU
from tinytorch.tensor import Generator, Tensor
from tinytorch.training.checkpoint import CheckpointError, load_arrays, save_arrays
from tinytorch.transformers import GPT, GPTConfig, gpt_state_shapes

CFG = GPTConfig(vocab_size=7, block_size=5, n_layer=2, n_head=2, n_embd=8)
FORMAT = "tinytorch.transformers.GPT"


def test_gelu_choice_defaults_to_tanh_and_reaches_every_block():
    assert GPTConfig().gelu_approximate == "tanh"
    for choice in ("tanh", "none"):
        model = GPT(dataclasses.replace(CFG, gelu_approximate=choice), generator=Generator(0))
        gelus = [block.mlp.gelu for block in model.h]
        assert len(gelus) == CFG.n_layer
        assert all(isinstance(g, GELU) for g in gelus)
        assert all(g.approximate == choice for g in gelus)
    with pytest.raises(ValueError, match="gelu_approximate must be 'tanh' or 'none', got 'exact'"):
        GPTConfig(gelu_approximate="exact")


def test_gelu_choice_changes_the_logits_and_is_saved(tmp_path):
    tanh = GPT(CFG, generator=Generator(0))
    exact = GPT(dataclasses.replace(CFG, gelu_approximate="none"), generator=Generator(0))
    idx = Tensor([[1, 2, 3, 4, 5]])
    assert not np.array_equal(tanh(idx)[0].data, exact(idx)[0].data)
    path = tmp_path / "exact.npz"
    exact.save_pretrained(path)
    loaded = GPT.from_pretrained(path)
    assert loaded.config.gelu_approximate == "none"
    np.testing.assert_array_equal(loaded(idx)[0].data, exact(idx)[0].data)


def test_a_file_without_the_gelu_field_loads_with_the_old_default(tmp_path):
    model = GPT(CFG, generator=Generator(0))
    path = tmp_path / "old.npz"
    config = dataclasses.asdict(CFG)
    del config["gelu_approximate"]  # as files written before the field existed
    arrays = {n: t.data for n, t in model.state_dict().items() if n != "lm_head.weight"}
    save_arrays(path, arrays, {"format": FORMAT, "config": config})
    assert GPT.from_pretrained(path).config == CFG


def _craft(tmp_path, config, arrays=None, name="crafted.npz"):
    path = tmp_path / name
    if arrays is None:
        arrays = {
            n: np.zeros(s, np.float32) for n, s in gpt_state_shapes(CFG).items()
        }  # a small, well-formed GPT's arrays
    save_arrays(path, arrays, {"format": FORMAT, "config": config})
    return path


def test_small_file_asking_for_a_huge_model_is_refused_before_allocating(tmp_path):
    config = {**dataclasses.asdict(CFG), "n_embd": 40000, "n_head": 1}
    path = _craft(tmp_path, config)
    assert path.stat().st_size < 20_000
    tracemalloc.start()
    try:
        with pytest.raises(
            CheckpointError, match=r"wte\.weight \(7, 8\) \(the config implies \(7, 40000\)"
        ):
            GPT.from_pretrained(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # the model would take 30 GB; reading the file takes kilobytes


def test_a_billion_layers_is_refused_by_counting(tmp_path):
    path = _craft(tmp_path, {**dataclasses.asdict(CFG), "n_layer": 10**9})
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match=r"holds 28 arrays, but the config .* implies"):
        GPT.from_pretrained(path)
    assert time.perf_counter() - start < 1.0


def test_every_array_shape_is_checked(tmp_path):
    arrays = {n: np.zeros(s, np.float32) for n, s in gpt_state_shapes(CFG).items()}
    arrays["h.1.mlp.c_proj.weight"] = np.zeros((8, 31), np.float32)
    path = _craft(tmp_path, dataclasses.asdict(CFG), arrays)
    with pytest.raises(
        CheckpointError, match=r"h\.1\.mlp\.c_proj\.weight \(8, 31\) \(the config implies \(8, 32\)"
    ):
        GPT.from_pretrained(path)
    renamed = {
        ("h.1.mlp.fc.weight" if n == "h.1.mlp.c_fc.weight" else n): a for n, a in arrays.items()
    }
    path = _craft(tmp_path, dataclasses.asdict(CFG), renamed, "renamed.npz")
    with pytest.raises(
        CheckpointError,
        match=r"missing \['h\.1\.mlp\.c_fc\.weight'\], unexpected \['h\.1\.mlp\.fc\.weight'\]",
    ):
        GPT.from_pretrained(path)
    ints = {n: np.zeros(s, np.int32) for n, s in gpt_state_shapes(CFG).items()}
    path = _craft(tmp_path, dataclasses.asdict(CFG), ints, "ints.npz")
    with pytest.raises(CheckpointError, match="one floating dtype"):
        GPT.from_pretrained(path)


def test_config_keys_and_values_are_checked(tmp_path):
    path = _craft(tmp_path, {**dataclasses.asdict(CFG), "n_embed": 8})
    with pytest.raises(CheckpointError, match=r"unknown config key\(s\) 'n_embed'"):
        GPT.from_pretrained(path)
    for bad, match in [
        ({"n_embd": -8}, "n_embd must be a positive int"),
        ({"n_layer": 2.5}, "n_layer must be a positive int"),
        ({"n_head": True}, "n_head must be a positive int"),
        ({"dropout": "0.1"}, "dropout must be a float"),
        ({"bias": 1}, "bias must be a bool"),
        ({"gelu_approximate": "fast"}, "gelu_approximate must be"),
        ({"n_head": 3}, "n_embd=8 is not divisible by n_head=3"),
    ]:
        path = _craft(tmp_path, {**dataclasses.asdict(CFG), **bad}, name="bad.npz")
        with pytest.raises(CheckpointError, match="invalid config: GPTConfig: " + match):
            GPT.from_pretrained(path)


def test_a_good_file_still_loads_bit_exact(tmp_path):
    model = GPT(CFG, generator=Generator(4))
    path = tmp_path / "gpt.npz"
    model.save_pretrained(path)
    arrays, _ = load_arrays(path)
    assert set(arrays) == set(gpt_state_shapes(CFG))
    loaded = GPT.from_pretrained(path)
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values(), strict=True):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


def test_empty_sequence_gives_empty_logits_and_refuses_a_loss():
    model = GPT(CFG, generator=Generator(0))
    empty = Tensor(np.zeros((3, 0), np.int64))
    logits, loss = model(empty)
    assert logits.shape == (3, 0, 7)
    assert loss is None
    with pytest.raises(ValueError, match=r"GPT: cannot compute a loss over no tokens .*\(3, 0\)"):
        model(empty, targets=empty)
    with pytest.raises(ValueError, match=r"generate: idx must be \(batch, time\) with time >= 1"):
        model.generate(empty, 2)


def test_empty_sequence_backward_gives_zero_gradients():
    model = GPT(CFG, dtype=np.float64, generator=Generator(0))
    logits, _ = model(Tensor(np.zeros((2, 0), np.int64)))
    logits.sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert not np.any(p.grad.data), name
