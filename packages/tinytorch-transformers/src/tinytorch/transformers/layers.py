"""The parts of a transformer: LayerNorm, the GELU MLP, and a pre-LayerNorm block."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from tinytorch.activations import GELU
from tinytorch.attention import KVCacheProtocol, MultiHeadAttention
from tinytorch.layers import Dropout, Linear, Module, Parameter
from tinytorch.tensor import Generator, Tensor
from tinytorch.transformers.functional import layer_norm

__all__ = ["MLP", "LayerNorm", "TransformerBlock"]


class LayerNorm(Module):
    """Layer normalization (Ba et al., 2016) over the trailing ``normalized_shape`` dims
    (``torch.nn.LayerNorm``).

    With ``elementwise_affine`` (the default) it learns a per-feature ``weight`` (ones) and
    ``bias`` (zeros; ``bias=False`` drops it, as GPT configurations without biases do).

    Example:
        >>> from tinytorch.tensor import randn
        >>> ln = LayerNorm(8)
        >>> y = ln(randn(2, 3, 8) * 5 + 3).data
        >>> bool(abs(y.mean(axis=-1)).max() < 1e-5), bool(abs(y.std(axis=-1) - 1).max() < 1e-3)
        (True, True)
    """

    weight: Parameter | None
    bias: Parameter | None

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        dtype: npt.DTypeLike = np.float32,
    ) -> None:
        super().__init__()
        shape = (
            (int(normalized_shape),)
            if isinstance(normalized_shape, (int, np.integer))
            else tuple(int(n) for n in normalized_shape)
        )
        if not shape or any(n <= 0 for n in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be positive, got {shape}")
        if eps <= 0:
            raise ValueError(f"LayerNorm: eps must be positive, got {eps}")
        self.normalized_shape = shape
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if self.elementwise_affine and bias:
            self.bias = Parameter(np.zeros(shape, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class MLP(Module):
    """The transformer's feed-forward sublayer: ``Linear(d, 4d)``, GELU, ``Linear(4d, d)``,
    dropout. Applied to every position independently.

    The layer names (``c_fc``, ``c_proj``) and the GELU are GPT-2's: its tanh approximation by
    default (``gelu_approximate="none"`` for the exact erf form that nanoGPT uses), which is
    within 5e-4 of the exact one and costs a fraction of it here (see the README).

    Example:
        >>> from tinytorch.tensor import Generator, randn
        >>> MLP(16, generator=Generator(0))(randn(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(
        self,
        n_embd: int,
        dropout: float = 0.0,
        bias: bool = True,
        hidden: int | None = None,
        *,
        gelu_approximate: str = "tanh",
        dtype: npt.DTypeLike = np.float32,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        width = 4 * n_embd if hidden is None else hidden
        self.c_fc = Linear(n_embd, width, bias=bias, dtype=dtype, generator=generator)
        self.gelu = GELU(approximate=gelu_approximate)
        self.c_proj = Linear(width, n_embd, bias=bias, dtype=dtype, generator=generator)
        self.dropout = Dropout(dropout, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        # BEGIN SOLUTION mlp-forward
        # HINT: widen with c_fc, GELU, project back with c_proj, then dropout.
        # TESTS: mlp or block or gpt or nanogpt
        out: Tensor = self.dropout(self.c_proj(self.gelu(self.c_fc(x))))
        return out
        # END SOLUTION


class TransformerBlock(Module):
    """A pre-LayerNorm transformer block (GPT-2):
    ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``.

    Normalizing the input of each sublayer rather than the sum (the 2017 paper's post-LN)
    leaves the residual stream an identity path from the embeddings to the output, which
    trains deep stacks without learning-rate warmup tricks. ``causal=True`` (the default)
    lets each position attend to itself and earlier positions only. ``gelu_approximate`` is
    the MLP's GELU (``"tanh"``, GPT-2's, or ``"none"``, the exact one). ``cache`` and
    ``layer_idx`` (keyword only) go to the attention: this block's keys and values are kept in
    the cache's layer ``layer_idx`` (see :class:`tinytorch.attention.KVCacheProtocol`).

    Example:
        >>> from tinytorch.tensor import Generator, randn
        >>> block = TransformerBlock(16, 4, generator=Generator(0))
        >>> block(randn(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(
        self,
        n_embd: int,
        n_head: int,
        dropout: float = 0.0,
        bias: bool = True,
        causal: bool = True,
        *,
        gelu_approximate: str = "tanh",
        dtype: npt.DTypeLike = np.float32,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        self.causal = bool(causal)
        self.ln_1 = LayerNorm(n_embd, bias=bias, dtype=dtype)
        self.attn = MultiHeadAttention(
            n_embd,
            n_head,
            dropout=dropout,
            bias=bias,
            batch_first=True,
            dtype=dtype,
            generator=generator,
        )
        self.attn_dropout = Dropout(dropout, generator=generator)
        self.ln_2 = LayerNorm(n_embd, bias=bias, dtype=dtype)
        self.mlp = MLP(
            n_embd,
            dropout,
            bias,
            gelu_approximate=gelu_approximate,
            dtype=dtype,
            generator=generator,
        )

    def forward(
        self,
        x: Tensor,
        key_padding_mask: Tensor | None = None,
        *,
        cache: KVCacheProtocol | None = None,
        layer_idx: int = 0,
    ) -> Tensor:
        # BEGIN SOLUTION block-forward
        # HINT: pre-LayerNorm residuals: x + dropout(self-attention of ln_1(x)) (causal when
        # HINT: self.causal, no weights needed, the padding mask, cache and layer index passed
        # HINT: on), then x + mlp(ln_2(x)).
        # TESTS: block or gpt or nanogpt
        h = self.ln_1(x)
        attended, _ = self.attn(
            h,
            h,
            h,
            key_padding_mask,
            need_weights=False,
            is_causal=self.causal,
            cache=cache,
            layer_idx=layer_idx,
        )
        x = x + self.attn_dropout(attended)
        out: Tensor = x + self.mlp(self.ln_2(x))
        return out
        # END SOLUTION

    def extra_repr(self) -> str:
        return f"causal={self.causal}"
