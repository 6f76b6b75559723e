"""A GPT (decoder-only transformer) in the shape of nanoGPT, on TinyTorch's modules."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.attention import MultiHeadAttention
from tinytorch.autograd import no_grad
from tinytorch.embeddings import Embedding, PositionalEmbedding
from tinytorch.layers import Dropout, Linear, Module, ModuleList, init
from tinytorch.losses import cross_entropy
from tinytorch.optimizers import AdamW
from tinytorch.tensor import Generator, Tensor, TensorLike, default_generator
from tinytorch.training.checkpoint import CheckpointError, load_arrays, save_arrays
from tinytorch.transformers.layers import LayerNorm, TransformerBlock

__all__ = ["GPT", "GPTConfig"]

PathLike = str | os.PathLike[str]
Array = npt.NDArray[Any]

_FORMAT = "tinytorch.transformers.GPT"


@dataclasses.dataclass(frozen=True)
class GPTConfig:
    """The shape of a :class:`GPT`. Defaults are GPT-2 small's, as in nanoGPT (124M parameters;
    pick something far smaller to train on a CPU).

    Example:
        >>> cfg = GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128)
        >>> cfg.n_embd // cfg.n_head, cfg.dropout, cfg.bias
        (32, 0.0, True)
    """

    vocab_size: int = 50304
    block_size: int = 1024
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"GPTConfig: {name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"GPTConfig: n_embd={self.n_embd} is not divisible by n_head={self.n_head}"
            )
        if isinstance(self.dropout, bool) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout!r}")


class GPT(Module):
    """A GPT language model: token + learned position embeddings, ``n_layer`` pre-LayerNorm
    causal transformer blocks, a final LayerNorm and a linear head onto the vocabulary.

    - **Weight tying**: ``lm_head.weight`` *is* ``wte.weight`` (one Parameter), so the input
      and output token embeddings are one matrix and both paths add into its gradient.
    - **Initialisation** (GPT-2 / nanoGPT): every matrix and embedding from N(0, 0.02**2),
      biases zero, LayerNorms one/zero, and the residual projections (``attn.out_proj`` and
      ``mlp.c_proj``) from N(0, (0.02 / sqrt(2 * n_layer))**2), so the residual stream's
      variance does not grow with depth.

    ``forward(idx, targets=None)`` maps int64 token ids ``(B, T)`` (``T <= block_size``) to
    ``(logits (B, T, vocab_size), loss)``; ``loss`` is the mean cross-entropy against
    ``targets`` ``(B, T)`` (positions equal to -100 ignored) or ``None``.

    Example:
        >>> from tinytorch.tensor import Generator, randint
        >>> cfg = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
        >>> model = GPT(cfg, generator=Generator(0))
        >>> idx = randint(0, 11, (3, 8), generator=Generator(1))
        >>> logits, loss = model(idx, targets=idx)
        >>> logits.shape, loss.shape
        ((3, 8, 11), ())
        >>> model.generate(idx[:, :2], 5, top_k=3, generator=Generator(2)).shape
        (3, 7)
    """

    lm_head: Linear

    def __init__(
        self,
        config: GPTConfig,
        *,
        dtype: npt.DTypeLike = np.float32,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT: config must be a GPTConfig, got {type(config).__name__}")
        self.config = config
        c = config
        self.wte = Embedding(c.vocab_size, c.n_embd, dtype=dtype, generator=generator)
        self.wpe = PositionalEmbedding(c.block_size, c.n_embd, dtype=dtype, generator=generator)
        self.drop = Dropout(c.dropout, generator=generator)
        self.h = ModuleList(
            TransformerBlock(
                c.n_embd, c.n_head, c.dropout, c.bias, dtype=dtype, generator=generator
            )
            for _ in range(c.n_layer)
        )
        self.ln_f = LayerNorm(c.n_embd, bias=c.bias, dtype=dtype)
        self.lm_head = Linear(c.n_embd, c.vocab_size, bias=False, dtype=dtype)
        self.lm_head.weight = self.wte.weight  # weight tying: one Parameter, two uses
        self._init_weights(generator)

    def _init_weights(self, generator: Generator | None) -> None:
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for module in self.modules():
            if isinstance(module, Linear):
                init.normal_(module.weight, 0.0, 0.02, generator=generator)
                if module.bias is not None:
                    init.zeros_(module.bias)
            elif isinstance(module, (Embedding, PositionalEmbedding)):
                init.normal_(module.weight, 0.0, 0.02, generator=generator)
            elif isinstance(module, MultiHeadAttention):
                init.normal_(module.in_proj_weight, 0.0, 0.02, generator=generator)
        for block in self.h:
            assert isinstance(block, TransformerBlock)
            for residual in (block.attn.out_proj, block.mlp.c_proj):
                init.normal_(residual.weight, 0.0, residual_std, generator=generator)

    # ---- forward ------------------------------------------------------------------------
    def forward(
        self, idx: TensorLike, targets: TensorLike | None = None
    ) -> tuple[Tensor, Tensor | None]:
        if not isinstance(idx, Tensor):
            idx = Tensor(idx)
        x = self._hidden(idx)
        logits = self.lm_head(x)
        if targets is None:
            return logits, None
        if not isinstance(targets, Tensor):
            targets = Tensor(targets)
        if targets.shape != idx.shape:
            raise ValueError(
                f"GPT: targets of shape {targets.shape} should match idx of shape {idx.shape}"
            )
        b, t, v = logits.shape
        loss = cross_entropy(logits.reshape(b * t, v), targets.reshape(b * t))
        return logits, loss

    def _hidden(self, idx: Tensor) -> Tensor:
        """The final LayerNorm's output, (B, T, n_embd): everything but the head."""
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
        out: Tensor = self.ln_f(x)
        return out

    # ---- generation ---------------------------------------------------------------------
    def generate(
        self,
        idx: TensorLike,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: Generator | None = None,
    ) -> Tensor:
        """Extend ``idx`` ``(B, T)`` by ``max_new_tokens`` sampled tokens, one at a time.

        Each step feeds the last ``block_size`` tokens, divides the last position's logits by
        ``temperature``, keeps the ``top_k`` most likely tokens (if given) and samples from the
        softmax with ``generator`` (the default generator if none): the same generator state
        gives the same text. ``top_k=1`` is greedy decoding. Runs without recording a graph;
        call ``model.eval()`` first so that dropout is off.

        Example:
            >>> from tinytorch.tensor import Generator, Tensor
            >>> model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1,
            ...                       n_embd=8), generator=Generator(0)).eval()
            >>> a = model.generate(Tensor([[1, 2]]), 6, generator=Generator(3))
            >>> b = model.generate(Tensor([[1, 2]]), 6, generator=Generator(3))
            >>> a.shape, bool((a == b).all())
            ((1, 8), True)
        """
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int):
            raise TypeError(f"generate: max_new_tokens must be an int, got {max_new_tokens!r}")
        if max_new_tokens < 0:
            raise ValueError(f"generate: max_new_tokens must be >= 0, got {max_new_tokens}")
        if not temperature > 0:
            raise ValueError(f"generate: temperature must be positive, got {temperature}")
        if top_k is not None and (isinstance(top_k, bool) or top_k < 1):
            raise ValueError(f"generate: top_k must be a positive int or None, got {top_k!r}")
        if not isinstance(idx, Tensor):
            idx = Tensor(idx)
        if idx.ndim != 2 or idx.shape[1] == 0:
            raise ValueError(f"generate: idx must be (batch, time) with time >= 1, got {idx.shape}")
        rng = (generator or default_generator).rng
        tokens = idx.data.astype(np.int64)
        with no_grad():
            for _ in range(max_new_tokens):
                context = Tensor(tokens[:, -self.config.block_size :])
                # Only the last position's logits are needed: project one row per sequence.
                last = self._hidden(context)[:, -1, :]
                logits = self.lm_head(last).data.astype(np.float64)
                choice = _sample(logits / temperature, top_k, rng)
                tokens = np.concatenate([tokens, choice[:, None]], axis=1)
        return Tensor(tokens)

    # ---- optimisation -------------------------------------------------------------------
    def configure_optimizers(
        self,
        weight_decay: float,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.95),
        eps: float = 1e-8,
    ) -> AdamW:
        """AdamW with weight decay on matrices only (2-D and up: linear weights, embeddings)
        and none on biases and LayerNorm gains, as in nanoGPT.

        Example:
            >>> from tinytorch.tensor import Generator
            >>> cfg = GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=1, n_embd=4)
            >>> opt = GPT(cfg, generator=Generator(0)).configure_optimizers(0.1, 1e-3)
            >>> [(g["weight_decay"], len(g["params"])) for g in opt.param_groups]
            [(0.1, 6), (0.0, 10)]
        """
        params = list(self.parameters())  # each once, the tied matrix included once
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups = [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        return AdamW(groups, lr=lr, betas=betas, eps=eps)

    def num_parameters(self, non_embedding: bool = True) -> int:
        """Number of parameters, the tied matrix counted once; ``non_embedding`` leaves out
        the position embeddings (the token embeddings are used as the head, so they count).

        Example:
            >>> from tinytorch.tensor import Generator
            >>> cfg = GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=1, n_embd=4)
            >>> GPT(cfg, generator=Generator(0)).num_parameters()
            280
        """
        total = sum(p.numel() for p in self.parameters())
        return total - self.wpe.weight.numel() if non_embedding else total

    # ---- saving -------------------------------------------------------------------------
    def save_pretrained(self, path: PathLike) -> None:
        """Write the weights and the config to ``path`` (one ``.npz`` file, written atomically,
        that cannot run code when loaded); the tied head is stored once.

        Example:
            >>> import os, tempfile
            >>> from tinytorch.tensor import Generator
            >>> cfg = GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=1, n_embd=4)
            >>> path = os.path.join(tempfile.mkdtemp(), "gpt.npz")
            >>> GPT(cfg, generator=Generator(0)).save_pretrained(path)
            >>> GPT.from_pretrained(path).config == cfg
            True
        """
        arrays = {name: t.data for name, t in self._unique_state()}
        metadata = {"format": _FORMAT, "config": dataclasses.asdict(self.config)}
        save_arrays(path, arrays, metadata)

    @classmethod
    def from_pretrained(cls, path: PathLike) -> GPT:
        """A GPT rebuilt from a file written by :meth:`save_pretrained`, bit-exact."""
        arrays, metadata = load_arrays(path)
        if metadata.get("format") != _FORMAT or not isinstance(metadata.get("config"), dict):
            raise CheckpointError(
                f"GPT.from_pretrained: {os.fspath(path)} does not hold a GPT (format "
                f"{metadata.get('format')!r})"
            )
        config = GPTConfig(**metadata["config"])
        dtype = arrays["wte.weight"].dtype if "wte.weight" in arrays else np.float32
        model = cls(config, dtype=dtype, generator=Generator(0))
        state: dict[str, Array] = dict(arrays)
        for alias, source in model._tied_aliases().items():
            if source in state:
                state[alias] = state[source]
        model.load_state_dict(state)
        return model

    def _tied_aliases(self) -> dict[str, str]:
        """state_dict names that repeat a tensor already stored under an earlier name."""
        first: dict[int, str] = {}
        aliases: dict[str, str] = {}
        for name, t in self.state_dict(keep_vars=True).items():
            if id(t) in first:
                aliases[name] = first[id(t)]
            else:
                first[id(t)] = name
        return aliases

    def _unique_state(self) -> Iterator[tuple[str, Tensor]]:
        aliases = self._tied_aliases()
        for name, t in self.state_dict().items():
            if name not in aliases:
                yield name, t


def _sample(logits: Array, top_k: int | None, rng: np.random.Generator) -> Array:
    """One token per row of ``logits`` (B, V), by inverse-CDF sampling from the softmax."""
    if top_k is not None and top_k < logits.shape[-1]:
        kth = np.partition(logits, -top_k, axis=-1)[:, -top_k, None]
        logits = np.where(logits < kth, -np.inf, logits)
    logits = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits)
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random((logits.shape[0], 1)) * cdf[:, -1:]
    # The first index whose cumulative mass exceeds u; a token of zero mass is never chosen.
    choice: Array = np.minimum((cdf <= u).sum(axis=-1), logits.shape[-1] - 1)
    return choice.astype(np.int64)
