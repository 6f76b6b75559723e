"""New modules over the same Parameters, running the fused ops of :mod:`.ops`.

Each is built from a module of modules 01-13 and *shares* its Parameter objects (never
copies them), under the same attribute names, so ``state_dict()`` keys, checkpoints and the
optimizer's state all stay valid. The original classes are not touched. None of this imports
tinytorch.transformers: the GPT's parts are read by attribute.
"""

from __future__ import annotations

from typing import Any

from tinytorch.acceleration.ops import (
    causal_self_attention,
    linear,
    linear_gelu,
    relu_max_pool2d,
)
from tinytorch.activations.functional import relu
from tinytorch.layers import Linear, Module, ModuleList
from tinytorch.losses import cross_entropy
from tinytorch.tensor import Tensor

__all__ = [
    "FusedBlock",
    "FusedGPT",
    "FusedLinear",
    "FusedMLP",
    "FusedReLUMaxPool2d",
    "FusedSelfAttention",
]


class FusedLinear(Module):
    """A :class:`~tinytorch.layers.Linear`'s weight and bias, run as the one-node ``linear``.

    Example:
        >>> from tinytorch.tensor import Generator, randn
        >>> lin = Linear(4, 3, generator=Generator(0))
        >>> fused = FusedLinear(lin)
        >>> x = randn(2, 4)
        >>> fused.weight is lin.weight, bool(abs((fused(x) - lin(x)).data).max() < 1e-6)
        (True, True)
    """

    def __init__(self, layer: Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = layer.in_features, layer.out_features
        self.weight = layer.weight
        self.bias = layer.bias

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class FusedReLUMaxPool2d(Module):
    """``ReLU`` then ``MaxPool2d(2)`` as the one op ``relu_max_pool2d``; an input of odd height
    or width (which the pool's floor crops) runs the two unfused ops instead.

    Example:
        >>> from tinytorch.tensor import randn
        >>> FusedReLUMaxPool2d(pool=None)(randn(2, 3, 4, 6)).shape
        (2, 3, 2, 3)
    """

    def __init__(self, pool: Any) -> None:
        super().__init__()
        self.pool = pool  # the original MaxPool2d(2), for the odd-sized fallback

    def forward(self, x: Tensor) -> Tensor:
        if isinstance(x, Tensor) and x.ndim == 4 and x.shape[2] % 2 == 0 and x.shape[3] % 2 == 0:
            return relu_max_pool2d(x)
        if self.pool is None:
            return relu_max_pool2d(x)  # raises relu_max_pool2d's own error
        out: Tensor = self.pool(relu(x))
        return out


class FusedSelfAttention(Module):
    """A batch-first :class:`~tinytorch.attention.MultiHeadAttention` as causal
    self-attention: packed projection (``linear``), ``causal_self_attention``, ``out_proj``.

    Example:
        >>> import pytest
        >>> _ = pytest.importorskip("tinytorch.attention")
        >>> from tinytorch.attention import MultiHeadAttention
        >>> from tinytorch.tensor import Generator, randn
        >>> mha = MultiHeadAttention(8, 2, batch_first=True, generator=Generator(0))
        >>> x = randn(2, 5, 8)
        >>> ref, _ = mha(x, x, x, is_causal=True, need_weights=False)
        >>> bool(abs((FusedSelfAttention(mha)(x) - ref).data).max() < 1e-5)
        True
    """

    def __init__(self, attn: Any) -> None:
        super().__init__()
        self.embed_dim, self.num_heads = attn.embed_dim, attn.num_heads
        self.in_proj_weight = attn.in_proj_weight
        self.in_proj_bias = attn.in_proj_bias
        self.out_proj = attn.out_proj

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.ndim != 3 or x.shape[-1] != self.embed_dim:
            shape = x.shape if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(
                f"MultiHeadAttention: query {shape} must be (batch, length, "
                f"embed_dim={self.embed_dim})"
            )
        packed = linear(x, self.in_proj_weight, self.in_proj_bias)
        heads = causal_self_attention(packed, self.num_heads)
        return linear(heads, self.out_proj.weight, self.out_proj.bias)


class FusedMLP(Module):
    """The GPT MLP (``c_fc``, tanh GELU, ``c_proj``, dropout) as ``linear_gelu`` + ``linear``.

    Example:
        >>> import pytest
        >>> _ = pytest.importorskip("tinytorch.transformers")
        >>> from tinytorch.transformers.layers import MLP
        >>> from tinytorch.tensor import Generator, randn
        >>> mlp = MLP(8, generator=Generator(0))
        >>> x = randn(3, 8)
        >>> bool(abs((FusedMLP(mlp)(x) - mlp(x)).data).max() < 1e-5)
        True
    """

    def __init__(self, mlp: Any) -> None:
        super().__init__()
        self.c_fc, self.gelu, self.c_proj, self.dropout = (
            mlp.c_fc,
            mlp.gelu,
            mlp.c_proj,
            mlp.dropout,
        )

    def forward(self, x: Tensor) -> Tensor:
        h = linear_gelu(x, self.c_fc.weight, self.c_fc.bias)
        out: Tensor = self.dropout(linear(h, self.c_proj.weight, self.c_proj.bias))
        return out


class FusedBlock(Module):
    """A pre-LayerNorm transformer block with fused parts where they apply.

    ``attn`` and ``mlp`` are either fused modules or, where a fused kernel does not apply
    (attention dropout, the exact-erf GELU), the block's own modules, called as the block calls
    them. LayerNorm is already one op (module 13's ``layer_norm``): it is shared as is.

    Example:
        >>> import pytest
        >>> _ = pytest.importorskip("tinytorch.transformers")
        >>> from tinytorch.transformers.layers import TransformerBlock
        >>> from tinytorch.tensor import Generator, randn
        >>> block = TransformerBlock(8, 2, generator=Generator(0))
        >>> x = randn(2, 4, 8)
        >>> fused = FusedBlock(block, FusedSelfAttention(block.attn), FusedMLP(block.mlp))
        >>> bool(abs((fused(x) - block(x)).data).max() < 1e-5)
        True
    """

    def __init__(self, block: Any, attn: Module, mlp: Module) -> None:
        super().__init__()
        self.ln_1 = block.ln_1
        self.attn = attn
        self.attn_dropout = block.attn_dropout
        self.ln_2 = block.ln_2
        self.mlp = mlp

    def forward(self, x: Tensor) -> Tensor:
        h = self.ln_1(x)
        if isinstance(self.attn, FusedSelfAttention):
            attended = self.attn(h)
        else:
            attended, _ = self.attn(h, h, h, need_weights=False, is_causal=True)
        x = x + self.attn_dropout(attended)
        out: Tensor = x + self.mlp(self.ln_2(x))
        return out


class FusedGPT(Module):
    """A :class:`tinytorch.transformers.GPT`'s modules with fused blocks: ``forward(idx,
    targets=None) -> (logits, loss)`` as the GPT's (no cache, no ``logits_to_keep``: for
    generation use the original model, which shares every Parameter).

    Example:
        >>> import pytest
        >>> _ = pytest.importorskip("tinytorch.transformers")
        >>> from tinytorch.transformers import GPT, GPTConfig
        >>> from tinytorch.tensor import Generator, randint
        >>> gpt = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8),
        ...           generator=Generator(0))
        >>> fused = FusedGPT(gpt, [FusedBlock(b, FusedSelfAttention(b.attn), FusedMLP(b.mlp))
        ...                       for b in gpt.h])
        >>> idx = randint(0, 11, (2, 8), generator=Generator(1))
        >>> bool(abs(fused(idx, idx)[1].item() - gpt(idx, idx)[1].item()) < 1e-5)
        True
    """

    def __init__(self, gpt: Any, blocks: list[Module]) -> None:
        super().__init__()
        self.config = gpt.config
        self.wte, self.wpe, self.drop = gpt.wte, gpt.wpe, gpt.drop
        self.h = ModuleList(blocks)
        self.ln_f = gpt.ln_f
        self.lm_head = gpt.lm_head

    def forward(self, idx: Any, targets: Any = None) -> tuple[Tensor, Tensor | None]:
        if not isinstance(idx, Tensor):
            idx = Tensor(idx)
        if idx.ndim != 2 or idx.dtype.kind not in "iu":
            raise ValueError(
                f"GPT: idx must be an integer tensor of shape (batch, time), got {idx.dtype} "
                f"of shape {idx.shape}"
            )
        if idx.shape[1] > self.config.block_size:
            raise ValueError(
                f"GPT: a sequence of length {idx.shape[1]} (idx shape {idx.shape}) is longer "
                f"than block_size={self.config.block_size}"
            )
        x = self.drop(self.wpe(self.wte(idx)))
        for block in self.h:
            x = block(x)
        logits = linear(self.ln_f(x), self.lm_head.weight)
        if targets is None:
            return logits, None
        if not isinstance(targets, Tensor):
            targets = Tensor(targets)
        if targets.shape != idx.shape:
            raise ValueError(
                f"GPT: targets of shape {targets.shape} should match idx of shape {idx.shape}"
            )
        b, t, v = logits.shape
        if b * t == 0:
            raise ValueError(
                f"GPT: cannot compute a loss over no tokens (idx and targets of shape "
                f"{idx.shape}); the logits of an empty input are {logits.shape}"
            )
        return logits, cross_entropy(logits.reshape(b * t, v), targets.reshape(b * t))
