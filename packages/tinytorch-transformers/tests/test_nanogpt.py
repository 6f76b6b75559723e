"""Loading a nanoGPT state_dict: the key mapping, its refusals, and the logits against PyTorch."""

import math

import numpy as np
import pytest

from tinytorch.layers import StateDictError
from tinytorch.tensor import Generator, Tensor
from tinytorch.transformers import (
    GPT,
    NANOGPT_TO_TINYTORCH,
    GPTConfig,
    convert_nanogpt_state_dict,
    gpt_state_shapes,
    to_nanogpt_key,
)

ARGS = {
    "n_layer": 2,
    "n_head": 2,
    "n_embd": 8,
    "block_size": 6,
    "bias": True,
    "vocab_size": 11,
    "dropout": 0.0,
}


def nanogpt_state(args=ARGS, seed=0, prefix=""):
    """A random state_dict with nanoGPT's names and shapes, as NumPy float32 arrays."""
    cfg = GPTConfig(**args)
    rng = np.random.default_rng(seed)
    sd = {
        prefix + to_nanogpt_key(name): rng.normal(0, 0.3, shape).astype(np.float32)
        for name, shape in gpt_state_shapes(cfg).items()
    }
    sd[prefix + "lm_head.weight"] = sd[prefix + "transformer.wte.weight"]
    return sd


def test_mapping_covers_every_state_name_both_ways():
    for bias in (True, False):
        cfg = GPTConfig(**{**ARGS, "bias": bias})
        names = list(gpt_state_shapes(cfg))
        theirs = [to_nanogpt_key(n) for n in names]
        assert all(t.startswith("transformer.") for t in theirs)
        assert list(convert_nanogpt_state_dict(dict.fromkeys(theirs, np.zeros(1)))) == names
    assert NANOGPT_TO_TINYTORCH["transformer.h.{i}.attn.c_attn.weight"] == (
        "h.{i}.attn.in_proj_weight"
    )


def test_state_shapes_are_the_models():
    for bias in (True, False):
        cfg = GPTConfig(**{**ARGS, "bias": bias})
        model = GPT(cfg, generator=Generator(0))
        built = {n: t.shape for n, t in model.state_dict().items() if n != "lm_head.weight"}
        assert built == gpt_state_shapes(cfg)


def test_loads_numpy_state_with_and_without_compile_prefix():
    a = GPT.from_nanogpt(nanogpt_state(), ARGS)
    b = GPT.from_nanogpt(nanogpt_state(prefix="_orig_mod."), ARGS)
    sd = nanogpt_state()
    np.testing.assert_array_equal(a.wte.weight.data, sd["transformer.wte.weight"])
    np.testing.assert_array_equal(
        a.h[1].attn.in_proj_weight.data, sd["transformer.h.1.attn.c_attn.weight"]
    )
    np.testing.assert_array_equal(
        a.h[0].attn.out_proj.bias.data, sd["transformer.h.0.attn.c_proj.bias"]
    )
    assert a.lm_head.weight is a.wte.weight
    assert a.config.gelu_approximate == "none"  # nanoGPT's nn.GELU() is the exact one
    idx = Tensor([[1, 2, 3, 4]])
    np.testing.assert_array_equal(a(idx)[0].data, b(idx)[0].data)


def test_mask_buffers_are_dropped_and_the_head_may_be_absent():
    sd = nanogpt_state()
    for i in range(ARGS["n_layer"]):
        sd[f"transformer.h.{i}.attn.bias"] = np.tril(np.ones((1, 1, 6, 6), np.float32))
    del sd["lm_head.weight"]
    model = GPT.from_nanogpt(sd, ARGS)
    np.testing.assert_array_equal(model.lm_head.weight.data, sd["transformer.wte.weight"])


def test_a_gptconfig_is_used_as_given_and_dtype_follows_the_arrays():
    cfg = GPTConfig(**ARGS, gelu_approximate="tanh")
    sd = {k: v.astype(np.float64) for k, v in nanogpt_state().items()}
    model = GPT.from_nanogpt(sd, cfg)
    assert model.config is cfg
    assert model.wte.weight.dtype == np.float64
    assert GPT.from_nanogpt(sd, cfg, dtype=np.float32).wte.weight.dtype == np.float32


def test_values_may_be_any_array_like():
    class ArrayLike:  # neither NumPy nor torch: only the __array__ protocol
        def __init__(self, a):
            self.a = a

        def __array__(self, dtype=None, copy=None):
            return self.a

    sd = nanogpt_state()
    model = GPT.from_nanogpt({k: ArrayLike(v) for k, v in sd.items()}, ARGS)
    np.testing.assert_array_equal(model.ln_f.bias.data, sd["transformer.ln_f.bias"])
    tensors = GPT.from_nanogpt({k: Tensor(v) for k, v in sd.items()}, ARGS)
    np.testing.assert_array_equal(tensors.wpe.weight.data, sd["transformer.wpe.weight"])


def test_refusals_name_the_problem():
    sd = nanogpt_state()
    with pytest.raises(StateDictError, match=r"unknown key\(s\).*transformer\.h\.0\.attn\.qkv"):
        GPT.from_nanogpt({**sd, "transformer.h.0.attn.qkv": np.zeros(1)}, ARGS)
    with pytest.raises(StateDictError, match=r"lm_head\.weight .* is not the tied"):
        GPT.from_nanogpt({**sd, "lm_head.weight": sd["lm_head.weight"] + 1}, ARGS)
    missing = dict(sd)
    del missing["transformer.h.1.mlp.c_fc.bias"]
    with pytest.raises(StateDictError, match=r"holds 27 arrays, but the config .* implies 28"):
        GPT.from_nanogpt(missing, ARGS)
    moved = {**missing, "transformer.h.2.mlp.c_fc.bias": np.zeros(32, np.float32)}
    with pytest.raises(
        StateDictError, match=r"missing \['h.1.mlp.c_fc.bias'\], unexpected \['h.2.mlp.c_fc.bias'\]"
    ):
        GPT.from_nanogpt(moved, ARGS)
    with pytest.raises(
        StateDictError, match=r"wte.weight \(11, 8\) \(the config implies \(12, 8\)"
    ):
        GPT.from_nanogpt(sd, {**ARGS, "vocab_size": 12})
    with pytest.raises(StateDictError, match="appears twice"):
        GPT.from_nanogpt(
            {**sd, "_orig_mod.transformer.ln_f.bias": sd["transformer.ln_f.bias"]}, ARGS
        )
    with pytest.raises(ValueError, match=r"unknown model_args key.*'n_heads'"):
        GPT.from_nanogpt(sd, {**ARGS, "n_heads": 2})
    with pytest.raises(TypeError, match="config must be a GPTConfig"):
        GPT.from_nanogpt(sd, 3)
    with pytest.raises(
        StateDictError, match=r"h\.0\.ln_1\.weight: expected a Tensor.*got builtins\.str"
    ):
        GPT.from_nanogpt({**sd, "transformer.h.0.ln_1.weight": "x"}, ARGS)
    ints = {k: v.astype(np.int64) for k, v in sd.items()}
    with pytest.raises(StateDictError, match="one floating dtype"):
        GPT.from_nanogpt(ints, ARGS)


# ---- the oracle: nanoGPT's architecture written in PyTorch ---------------------------------


def _torch_nanogpt(torch, n_layer, n_head, n_embd, block_size, bias, vocab_size):
    """nanoGPT's model structure and key names (inference path, no dropout), in PyTorch."""
    nn, F = torch.nn, torch.nn.functional

    class LayerNorm(nn.Module):
        def __init__(self, ndim):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(ndim))
            self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

        def forward(self, x):
            return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
            self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
            # nanoGPT's non-flash path keeps this mask buffer; the loader must drop it.
            mask = torch.tril(torch.ones(block_size, block_size))
            self.register_buffer("bias", mask.view(1, 1, block_size, block_size))

        def forward(self, x):
            b, t, c = x.size()
            q, k, v = self.c_attn(x).split(n_embd, dim=2)
            k = k.view(b, t, n_head, c // n_head).transpose(1, 2)
            q = q.view(b, t, n_head, c // n_head).transpose(1, 2)
            v = v.view(b, t, n_head, c // n_head).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :t, :t] == 0, float("-inf"))
            y = F.softmax(att, dim=-1) @ v
            return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)

        def forward(self, x):
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = LayerNorm(n_embd)
            self.attn = CausalSelfAttention()
            self.ln_2 = LayerNorm(n_embd)
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class NanoGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(
                {
                    "wte": nn.Embedding(vocab_size, n_embd),
                    "wpe": nn.Embedding(block_size, n_embd),
                    "h": nn.ModuleList([Block() for _ in range(n_layer)]),
                    "ln_f": LayerNorm(n_embd),
                }
            )
            self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # tied, as in nanoGPT

        def forward(self, idx):
            t = idx.size(1)
            pos = torch.arange(0, t, dtype=torch.long)
            x = self.transformer.wte(idx) + self.transformer.wpe(pos)
            for layer in self.transformer.h:
                x = layer(x)
            return self.lm_head(self.transformer.ln_f(x))

    return NanoGPT()


@pytest.mark.parametrize("bias", [True, False])
def test_logits_equal_a_pytorch_nanogpt(bias):
    torch = pytest.importorskip("torch")
    args = {
        "n_layer": 3,
        "n_head": 4,
        "n_embd": 32,
        "block_size": 16,
        "bias": bias,
        "vocab_size": 50,
    }
    torch.manual_seed(0)
    ref = _torch_nanogpt(torch, **args).eval()
    with torch.no_grad():
        # Random, not the init, so that biases and LayerNorm gains are tested too.
        for name, p in ref.named_parameters():
            gain = ".ln_" in name and name.endswith("weight")
            p.copy_(torch.randn_like(p) * 0.2 + (1.0 if gain else 0.0))
    if bias:
        # as a torch.compile'd model saves it, Parameters and all
        sd = {"_orig_mod." + k: v for k, v in ref.state_dict(keep_vars=True).items()}
    else:
        sd = ref.state_dict()
    assert any(k.endswith("attn.bias") and v.ndim == 4 for k, v in sd.items())
    model = GPT.from_nanogpt(sd, {**args, "dropout": 0.0})
    idx = torch.randint(0, 50, (3, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = ref(idx).numpy()
    logits, _ = model(Tensor(idx.numpy()))
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits.data, expected, rtol=1e-5, atol=1e-5)
    # And a prefix: the causal mask the loader dropped is the one TinyTorch applies.
    with torch.no_grad():
        short = ref(idx[:, :5]).numpy()
    np.testing.assert_allclose(model(Tensor(idx.numpy()[:, :5]))[0].data, short, atol=1e-5)
    # The tanh GELU does not give nanoGPT's logits: the config's choice is really used.
    tanh = GPT.from_nanogpt(sd, GPTConfig(**args, gelu_approximate="tanh"))
    assert np.abs(tanh(Tensor(idx.numpy()))[0].data - expected).max() > 1e-5
