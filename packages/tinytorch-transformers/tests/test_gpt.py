"""The whole GPT: causality, every parameter's gradient, generation, optimizer groups, saving."""

import math

import numpy as np
import pytest

from tinytorch.autograd import gradcheck, no_grad
from tinytorch.losses import cross_entropy
from tinytorch.tensor import Generator, Tensor
from tinytorch.training.checkpoint import CheckpointError, save_arrays
from tinytorch.transformers import GPT, GPTConfig, LayerNorm

TINY = GPTConfig(vocab_size=7, block_size=5, n_layer=2, n_head=2, n_embd=8)


def tiny(dtype=np.float64, seed=0, **overrides):
    cfg = GPTConfig(**{**TINY.__dict__, **overrides})
    return GPT(cfg, dtype=dtype, generator=Generator(seed))


def tokens(*shape, seed=1, vocab=7):
    return Tensor(np.random.default_rng(seed).integers(0, vocab, shape))


def test_config_is_validated():
    with pytest.raises(ValueError, match="n_embd=10 is not divisible by n_head=4"):
        GPTConfig(n_embd=10, n_head=4)
    with pytest.raises(ValueError, match="vocab_size must be a positive int"):
        GPTConfig(vocab_size=0)
    with pytest.raises(ValueError, match="dropout must be in"):
        GPTConfig(dropout=1.0)


def test_shapes_and_untrained_loss_is_near_log_vocab():
    model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=32))
    idx = tokens(4, 16, vocab=50)
    logits, loss = model(idx, targets=tokens(4, 16, seed=2, vocab=50))
    assert logits.shape == (4, 16, 50)
    assert logits.dtype == np.float32
    assert abs(float(loss) - math.log(50)) < 0.1
    _, none = model(idx)
    assert none is None


def test_weight_tying_and_init():
    model = GPT(GPTConfig(vocab_size=300, block_size=64, n_layer=4, n_head=4, n_embd=64))
    assert model.lm_head.weight is model.wte.weight
    names = [n for n, _ in model.named_parameters()]
    assert "lm_head.weight" not in names  # listed once, as wte.weight
    assert "lm_head.weight" in model.state_dict()
    assert abs(model.wte.weight.data.std() - 0.02) < 0.002
    assert abs(model.h[0].mlp.c_fc.weight.data.std() - 0.02) < 0.002
    assert abs(model.h[0].attn.in_proj_weight.data.std() - 0.02) < 0.002
    residual = 0.02 / math.sqrt(2 * 4)
    for block in model.h:
        assert abs(block.attn.out_proj.weight.data.std() - residual) < 0.1 * residual
        assert abs(block.mlp.c_proj.weight.data.std() - residual) < 0.1 * residual
        assert np.all(block.mlp.c_fc.bias.data == 0)
        assert np.all(block.ln_1.weight.data == 1)


def test_same_generator_same_model():
    a, b = tiny(seed=3), tiny(seed=3)
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert na == nb
        np.testing.assert_array_equal(pa.data, pb.data)


def test_changing_a_later_token_never_changes_earlier_logits():
    model = tiny(n_embd=16, n_head=4)
    idx = tokens(3, 5)
    base, _ = model(idx)
    for t in range(5):
        changed = idx.data.copy()
        changed[:, t] = (changed[:, t] + 1 + np.arange(3)) % 7
        logits, _ = model(Tensor(changed))
        np.testing.assert_array_equal(logits.data[:, :t], base.data[:, :t])
        assert not np.allclose(logits.data[:, t], base.data[:, t])


def test_every_parameter_gets_the_finite_difference_gradient():
    """Backward against central differences on the loss, for elements of every parameter.

    float64, no dropout; embeddings (the tied matrix through both of its uses), position
    embeddings, every LayerNorm, every attention and MLP weight. Small parameters are
    checked in full, large ones on 16 elements chosen by gradcheck's fixed seed.
    """
    model = tiny()
    rng = np.random.default_rng(0)
    # move LayerNorm parameters off 1 and 0 so that their gradients are generic
    for module in model.modules():
        if isinstance(module, LayerNorm):
            module.weight.data[:] = 1 + 0.2 * rng.standard_normal(module.weight.shape)
            module.bias.data[:] = 0.2 * rng.standard_normal(module.bias.shape)
    idx, targets = tokens(2, 5, seed=4), tokens(2, 5, seed=5)
    names = [name for name, _ in model.named_parameters()]
    assert len(names) > 10
    assert gradcheck(
        lambda i, t: model(i, t)[1], (idx, targets), parameters=model, samples=16, rtol=1e-4
    )


def test_tied_matrix_gradient_sums_both_uses():
    model = tiny()
    idx, targets = tokens(2, 5, seed=6, vocab=5), tokens(2, 5, seed=7)  # tokens 5, 6 unused
    _, loss = model(idx, targets)
    loss.backward()
    tied = model.wte.weight.grad.data.copy()
    # the head's share alone: gradient of the loss w.r.t. the head with embeddings frozen
    hidden = model._hidden(idx).detach()
    head_only = Tensor(model.wte.weight.data.copy(), requires_grad=True)
    logits = hidden @ head_only.T
    cross_entropy(logits.reshape(10, 7), targets.reshape(10)).backward()
    # rows of tokens absent from the input get only the head's gradient
    absent = sorted(set(range(7)) - set(idx.data.ravel().tolist()))
    assert absent
    np.testing.assert_allclose(tied[absent], head_only.grad.data[absent], atol=1e-12)
    present = sorted(set(idx.data.ravel().tolist()))
    assert not np.allclose(tied[present], head_only.grad.data[present])


def test_training_reduces_loss():
    model = tiny(dtype=np.float32, n_embd=16)
    opt = model.configure_optimizers(weight_decay=0.0, lr=1e-2)
    data = np.tile(np.arange(6) % 7, (4, 1))
    x, y = Tensor(data[:, :5]), Tensor(data[:, 1:6])
    first = None
    for _ in range(60):
        _, loss = model(x, y)
        first = float(loss) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < 0.1 * first


def test_configure_optimizers_decays_matrices_only():
    model = tiny()
    opt = model.configure_optimizers(weight_decay=0.1, lr=3e-4, betas=(0.9, 0.99))
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1
    assert no_decay["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decay["params"])
    assert all(p.ndim < 2 for p in no_decay["params"])
    every = list(model.parameters())
    assert len(decay["params"]) + len(no_decay["params"]) == len(every)
    assert sum(p is model.wte.weight for p in decay["params"]) == 1
    assert decay["lr"] == 3e-4
    assert tuple(decay["betas"]) == (0.9, 0.99)


def test_generate_is_reproducible_with_a_generator():
    model = tiny().eval()
    prompt = tokens(2, 3)
    a = model.generate(prompt, 12, generator=Generator(42))
    b = model.generate(prompt, 12, generator=Generator(42))
    c = model.generate(prompt, 12, generator=Generator(43))
    assert a.shape == (2, 15)
    assert a.dtype == np.int64
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.data[:, :3], prompt.data)
    assert not np.array_equal(a.data, c.data)
    assert a.node is None  # generation records no graph


def _next_logits(model, seq):
    with no_grad():
        logits, _ = model(Tensor(seq[:, -model.config.block_size :]))
    return logits.data[:, -1]


def test_generate_respects_top_k_and_crops_the_context():
    model = tiny(seed=5).eval()
    out = model.generate(tokens(3, 2), 10, top_k=2, temperature=2.0, generator=Generator(0))
    seq = out.data
    for t in range(2, seq.shape[1]):  # runs past block_size=5: the context is cropped
        logits = _next_logits(model, seq[:, :t])
        top2 = np.argsort(logits, axis=-1)[:, -2:]
        for row in range(3):
            assert seq[row, t] in top2[row]


def test_top_k_one_is_greedy():
    model = tiny(seed=6).eval()
    out = model.generate(tokens(2, 1), 8, top_k=1, generator=Generator(0)).data
    for t in range(1, out.shape[1]):
        np.testing.assert_array_equal(out[:, t], _next_logits(model, out[:, :t]).argmax(-1))


def test_sampling_follows_the_distribution():
    model = tiny(seed=7).eval()
    prompt = Tensor(np.zeros((2000, 1), dtype=np.int64))
    drawn = model.generate(prompt, 1, generator=Generator(1)).data[:, 1]
    logits = _next_logits(model, np.zeros((1, 1), dtype=np.int64))[0]
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    freq = np.bincount(drawn, minlength=7) / 2000
    np.testing.assert_allclose(freq, probs, atol=0.035)


def test_generate_argument_errors():
    model = tiny()
    with pytest.raises(ValueError, match="temperature must be positive"):
        model.generate(tokens(1, 2), 3, temperature=0.0)
    with pytest.raises(ValueError, match="top_k must be a positive int"):
        model.generate(tokens(1, 2), 3, top_k=0)
    with pytest.raises(ValueError, match=r"idx must be \(batch, time\)"):
        model.generate(tokens(3), 3)


def test_forward_errors_name_the_shapes():
    model = tiny()
    with pytest.raises(ValueError, match=r"length 6 .*longer than block_size=5"):
        model(tokens(1, 6))
    with pytest.raises(ValueError, match=r"idx must be an integer tensor of shape \(batch, time\)"):
        model(Tensor(np.zeros((1, 3), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"targets of shape \(1, 2\) should match idx"):
        model(tokens(1, 3), tokens(1, 2))
    with pytest.raises(IndexError, match="embedding: index 9 is out of range"):
        model(Tensor([[1, 9]]))


def test_dropout_trains_stochastically_and_evaluates_deterministically():
    model = tiny(dropout=0.3)
    idx = tokens(2, 5)
    a, _ = model(idx)
    b, _ = model(idx)
    assert not np.allclose(a.data, b.data)
    model.eval()
    c, _ = model(idx)
    d, _ = model(idx)
    np.testing.assert_array_equal(c.data, d.data)


def test_save_and_load_round_trip(tmp_path):
    model = tiny(dtype=np.float32, seed=9, dropout=0.1)
    opt = model.configure_optimizers(0.1, 1e-2)
    idx = tokens(2, 5)
    _, loss = model(idx, tokens(2, 5, seed=3))
    loss.backward()
    opt.step()  # weights no longer at their initial values
    path = tmp_path / "gpt.npz"
    model.save_pretrained(path)
    loaded = GPT.from_pretrained(path)
    assert loaded.config == model.config
    assert loaded.lm_head.weight is loaded.wte.weight
    model.eval()
    loaded.eval()
    np.testing.assert_array_equal(loaded(idx)[0].data, model(idx)[0].data)
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a.data, b.data)


def test_load_refuses_other_files(tmp_path):
    path = tmp_path / "other.npz"
    save_arrays(path, {"w": np.zeros(3)}, {"format": "something else"})
    with pytest.raises(CheckpointError, match="does not hold a GPT"):
        GPT.from_pretrained(path)
    good = tmp_path / "gpt.npz"
    tiny().save_pretrained(good)
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF
    good.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        GPT.from_pretrained(good)


def test_num_parameters():
    model = tiny()
    total = sum(p.numel() for p in model.parameters())
    assert model.num_parameters(non_embedding=False) == total
    assert model.num_parameters() == total - 5 * 8
