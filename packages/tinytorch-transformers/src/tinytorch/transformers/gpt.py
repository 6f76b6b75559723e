"""A GPT (decoder-only transformer) in the shape of nanoGPT, on TinyTorch's modules."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterator, Mapping
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from tinytorch.activations.functional import softmax_array
from tinytorch.attention import KVCacheProtocol, MultiHeadAttention
from tinytorch.autograd import is_grad_enabled, no_grad
from tinytorch.embeddings import Embedding, PositionalEmbedding, embedding
from tinytorch.layers import Dropout, Linear, Module, ModuleList, StateDictError, init
from tinytorch.losses import cross_entropy
from tinytorch.optimizers import AdamW
from tinytorch.tensor import Generator, Tensor, TensorLike, default_generator
from tinytorch.training.checkpoint import CheckpointError, load_arrays, save_arrays
from tinytorch.transformers.layers import LayerNorm, TransformerBlock
from tinytorch.transformers.nanogpt import convert_nanogpt_state_dict

__all__ = [
    "GPT",
    "CheckpointFunction",
    "GPTConfig",
    "check_gpt_arrays",
    "gpt_state_shapes",
    "sample_tokens",
]

PathLike = str | os.PathLike[str]
Array = npt.NDArray[Any]

_FORMAT = "tinytorch.transformers.GPT"
_GELUS = ("tanh", "none")


@dataclasses.dataclass(frozen=True)
class GPTConfig:
    """The shape of a :class:`GPT`. Defaults are GPT-2 small's, as in nanoGPT (124M parameters;
    pick something far smaller to train on a CPU).

    ``gelu_approximate`` is the MLP's GELU, named as ``torch.nn.GELU(approximate=...)``:
    ``"tanh"`` (the default, GPT-2's approximation, cheaper here) or ``"none"``, the exact erf
    form that nanoGPT's ``nn.GELU()`` computes. It is saved with the model.

    Example:
        >>> cfg = GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128)
        >>> cfg.n_embd // cfg.n_head, cfg.dropout, cfg.bias, cfg.gelu_approximate
        (32, 0.0, True, 'tanh')
    """

    vocab_size: int = 50304
    block_size: int = 1024
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True
    gelu_approximate: Literal["tanh", "none"] = "tanh"

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"GPTConfig: {name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"GPTConfig: n_embd={self.n_embd} is not divisible by n_head={self.n_head}"
            )
        dropout = self.dropout
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
            raise ValueError(f"GPTConfig: dropout must be a float in [0, 1), got {dropout!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {dropout!r}")
        if not isinstance(self.bias, bool):
            raise ValueError(f"GPTConfig: bias must be a bool, got {self.bias!r}")
        if self.gelu_approximate not in _GELUS:
            raise ValueError(
                f"GPTConfig: gelu_approximate must be 'tanh' or 'none', got "
                f"{self.gelu_approximate!r}"
            )


class CheckpointFunction(Protocol):
    """What :meth:`GPT.gradient_checkpointing_enable` takes: ``fn(block, x) -> block(x)``,
    computed so that backward recomputes the block's activations instead of keeping them.

    ``tinytorch.memoization.checkpoint`` (module 17) is one, in the shape of
    ``torch.utils.checkpoint.checkpoint``; the GPT depends on none, so it takes the function.

    Example:
        >>> def plain(function, *args):  # the identity strategy: keeps every activation
        ...     return function(*args)
        >>> fn: CheckpointFunction = plain
    """

    def __call__(self, function: Module, *args: Tensor) -> Tensor:
        """``function(*args)``, with its activations recomputed in backward."""
        ...


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
    ``targets`` ``(B, T)`` (positions equal to -100 ignored) or ``None``. An empty sequence
    (``T == 0``) gives empty logits ``(B, 0, vocab_size)``, as PyTorch does, and asking for its
    loss is an error.

    Two keyword-only arguments serve generation. ``cache`` (a
    :class:`tinytorch.attention.KVCacheProtocol`, such as module 17's ``KVCache``) holds the
    keys and values of the tokens seen before: ``idx`` then holds only the new tokens, at
    positions ``cache.length ..`` (``cache.length + T <= block_size``), and each block stores
    theirs in the cache's layer of its index. ``logits_to_keep=n`` (Hugging Face's name)
    projects only the last ``n`` positions onto the vocabulary (0, the default: all of them).

    ``gradient_checkpointing_enable(fn)`` makes training forwards run each block through
    ``fn(block, x)`` (a :class:`CheckpointFunction`, such as ``tinytorch.memoization.checkpoint``),
    as Hugging Face models do with ``torch.utils.checkpoint``; ``gradient_checkpointing_disable()``
    turns it off. It applies in training mode, with grad enabled and no cache.

    :meth:`from_nanogpt` loads a nanoGPT model's ``state_dict`` (the key mapping is in the
    package README); :meth:`save_pretrained` / :meth:`from_pretrained` save and load TinyTorch's
    own file.

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
                c.n_embd,
                c.n_head,
                c.dropout,
                c.bias,
                gelu_approximate=c.gelu_approximate,
                dtype=dtype,
                generator=generator,
            )
            for _ in range(c.n_layer)
        )
        self.ln_f = LayerNorm(c.n_embd, bias=c.bias, dtype=dtype)
        self.lm_head = Linear(c.n_embd, c.vocab_size, bias=False, dtype=dtype)
        self.lm_head.weight = self.wte.weight  # weight tying: one Parameter, two uses
        self._checkpoint_fn: CheckpointFunction | None = None
        self._init_weights(generator)

    def _init_weights(self, generator: Generator | None) -> None:
        # BEGIN SOLUTION gpt-init
        # HINT: GPT-2's init: every Linear weight, embedding table and attention in_proj_weight
        # HINT: drawn from N(0, 0.02) with the generator, biases zero; the two projections that
        # HINT: write into the residual stream (attn.out_proj, mlp.c_proj) get std
        # HINT: 0.02 / sqrt(2 * n_layer), so the stream's variance does not grow with depth.
        # TESTS: init or same_generator or untrained_loss
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
        # END SOLUTION

    # ---- gradient checkpointing -------------------------------------------------------
    def gradient_checkpointing_enable(self, checkpoint_fn: CheckpointFunction) -> None:
        """Run each block of a training forward through ``checkpoint_fn(block, x)``.

        Example:
            >>> from tinytorch.tensor import Generator
            >>> model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1,
            ...                       n_embd=8), generator=Generator(0))
            >>> model.gradient_checkpointing_enable(lambda block, x: block(x))
            >>> model.is_gradient_checkpointing
            True
        """
        if not callable(checkpoint_fn):
            raise TypeError(
                f"GPT.gradient_checkpointing_enable: expected a function fn(block, x), got "
                f"{type(checkpoint_fn).__name__}"
            )
        self._checkpoint_fn = checkpoint_fn

    def gradient_checkpointing_disable(self) -> None:
        """Run the blocks directly again, keeping their activations for backward.

        Example:
            >>> from tinytorch.tensor import Generator
            >>> model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1,
            ...                       n_embd=8), generator=Generator(0))
            >>> model.gradient_checkpointing_disable()
            >>> model.is_gradient_checkpointing
            False
        """
        self._checkpoint_fn = None

    @property
    def is_gradient_checkpointing(self) -> bool:
        """Whether a checkpoint function is set (Hugging Face's name)."""
        return self._checkpoint_fn is not None

    # ---- forward ------------------------------------------------------------------------
    def forward(
        self,
        idx: TensorLike,
        targets: TensorLike | None = None,
        *,
        cache: KVCacheProtocol | None = None,
        logits_to_keep: int = 0,
    ) -> tuple[Tensor, Tensor | None]:
        if not isinstance(idx, Tensor):
            idx = Tensor(idx)
        x = self._hidden(idx, cache)
        if logits_to_keep:
            if isinstance(logits_to_keep, bool) or not isinstance(logits_to_keep, int):
                raise TypeError(f"GPT: logits_to_keep must be an int, got {logits_to_keep!r}")
            if logits_to_keep < 0 or targets is not None:
                raise ValueError(
                    f"GPT: logits_to_keep must be >= 0 and cannot go with targets (the loss "
                    f"needs every position), got {logits_to_keep} for idx {idx.shape}"
                )
            x = x[:, -logits_to_keep:, :]
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
        if b * t == 0:
            # The mean over no tokens is 0/0; PyTorch returns NaN, which only hides the mistake.
            raise ValueError(
                f"GPT: cannot compute a loss over no tokens (idx and targets of shape "
                f"{idx.shape}); the logits of an empty input are {logits.shape}"
            )
        # BEGIN SOLUTION gpt-loss
        # HINT: the loss of next-token prediction: cross entropy over every (batch, time)
        # HINT: position at once, with the logits flattened to (B*T, V) and targets to (B*T,).
        # TESTS: loss or training or gradient or tied or dropout or empty_sequence
        loss = cross_entropy(logits.reshape(b * t, v), targets.reshape(b * t))
        return logits, loss
        # END SOLUTION

    def _hidden(self, idx: Tensor, cache: KVCacheProtocol | None = None) -> Tensor:
        """The final LayerNorm's output, (B, T, n_embd): everything but the head."""
        if idx.ndim != 2 or idx.dtype.kind not in "iu":
            raise ValueError(
                f"GPT: idx must be an integer tensor of shape (batch, time), got {idx.dtype} "
                f"of shape {idx.shape}"
            )
        if cache is not None:
            return self._hidden_cached(idx, cache)
        if idx.shape[1] > self.config.block_size:
            raise ValueError(
                f"GPT: a sequence of length {idx.shape[1]} (idx shape {idx.shape}) is longer "
                f"than block_size={self.config.block_size}"
            )
        # BEGIN SOLUTION gpt-hidden
        # HINT: token embeddings plus learned positions (wpe adds them), dropout, every block in
        # HINT: order (through the checkpoint function when one is set, in training, with grad
        # HINT: on), then the final LayerNorm.
        # TESTS: gpt or nanogpt
        x = self.drop(self.wpe(self.wte(idx)))
        checkpoint_fn = self._checkpoint_fn
        if checkpoint_fn is not None and self.training and is_grad_enabled():
            for block in self.h:
                x = checkpoint_fn(block, x)
        else:
            for block in self.h:
                x = block(x)
        out: Tensor = self.ln_f(x)
        return out
        # END SOLUTION

    def _hidden_cached(self, idx: Tensor, cache: KVCacheProtocol) -> Tensor:
        """:meth:`_hidden` of new tokens after the ``cache.length`` tokens the cache holds."""
        past = cache.length
        if isinstance(past, bool) or not isinstance(past, (int, np.integer)) or past < 0:
            raise TypeError(f"GPT: cache.length must be an int >= 0, got {past!r}")
        t = idx.shape[1]
        if past + t > self.config.block_size:
            raise ValueError(
                f"GPT: the cache holds {past} tokens and idx {idx.shape} adds {t}: positions up "
                f"to {past + t} exceed block_size={self.config.block_size}"
            )
        # BEGIN SOLUTION gpt-hidden-cached
        # HINT: the new tokens sit at positions past..past + t - 1: look those rows of the
        # HINT: position table up yourself (embedding), add the token embeddings, then every
        # HINT: block with the cache and its layer index, then ln_f.
        # TESTS: cache or sample_tokens
        # Learned positions past..past+t-1: the lookup PositionalEmbedding does from 0.
        positions = Tensor(np.arange(past, past + t))
        x = self.drop(self.wte(idx) + embedding(positions, self.wpe.weight))
        for i, block in enumerate(self.h):
            x = block(x, cache=cache, layer_idx=i)
        out: Tensor = self.ln_f(x)
        return out
        # END SOLUTION

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
        with no_grad():  # generation records no graph
            # BEGIN SOLUTION gpt-generate
            # HINT: repeat max_new_tokens times: crop the context to the last block_size tokens,
            # HINT: take the last position's logits (in float64), divide them by temperature,
            # HINT: sample one token per row (_sample) and append it.
            # TESTS: generate or top_k or greedy or sampling or sample_tokens
            for _ in range(max_new_tokens):
                context = Tensor(tokens[:, -self.config.block_size :])
                # Only the last position's logits are needed: project one row per sequence.
                last = self._hidden(context)[:, -1, :]
                logits = self.lm_head(last).data.astype(np.float64)
                choice = _sample(logits / temperature, top_k, rng)
                tokens = np.concatenate([tokens, choice[:, None]], axis=1)
            # END SOLUTION
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
        # BEGIN SOLUTION gpt-optimizer-groups
        # HINT: two AdamW parameter groups: matrices (2-D and up) decay, vectors (biases,
        # HINT: LayerNorm gains) do not; the tied matrix must appear only once.
        # TESTS: configure_optimizers or training
        params = list(self.parameters())  # each once, the tied matrix included once
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups = [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        return AdamW(groups, lr=lr, betas=betas, eps=eps)
        # END SOLUTION

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
        """A GPT rebuilt from a file written by :meth:`save_pretrained`, bit-exact.

        Everything is checked before the model is built, so that a small crafted file cannot
        make it allocate a large one: the config's keys (an unknown one is named) and values,
        then every array's name, shape and dtype against the shapes the config implies. Any
        mismatch raises :class:`~tinytorch.training.checkpoint.CheckpointError`.
        """
        where = f"GPT.from_pretrained: {os.fspath(path)}"
        arrays, metadata = load_arrays(path)
        raw = metadata.get("config")
        if metadata.get("format") != _FORMAT or not isinstance(raw, dict):
            raise CheckpointError(
                f"{where} does not hold a GPT (format {metadata.get('format')!r})"
            )
        known = [f.name for f in dataclasses.fields(GPTConfig)]
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise CheckpointError(
                f"{where}: unknown config key(s) {', '.join(map(repr, unknown))}; a GPTConfig "
                f"has {', '.join(known)}"
            )
        try:
            config = GPTConfig(**raw)
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"{where}: invalid config: {err}") from None
        dtype = check_gpt_arrays(where, config, arrays, CheckpointError)
        model = cls(config, dtype=dtype, generator=Generator(0))
        model._load_unique(arrays)
        return model

    @classmethod
    def from_nanogpt(
        cls,
        state_dict: Mapping[str, Any],
        config: GPTConfig | Mapping[str, Any],
        *,
        dtype: npt.DTypeLike | None = None,
    ) -> GPT:
        """A GPT holding the weights of a nanoGPT model (Karpathy's ``model.py``).

        ``state_dict`` is nanoGPT's ``model.state_dict()`` (or a checkpoint's ``"model"``
        entry): PyTorch tensors or arrays, keys with or without torch.compile's
        ``_orig_mod.`` prefix. Its names are mapped to TinyTorch's (the table is in the package
        README), the causal-mask buffers ``attn.bias`` are dropped, and ``lm_head.weight`` must
        be the tied token embedding. ``config`` is a :class:`GPTConfig` or nanoGPT's
        ``model_args`` dict (a checkpoint's ``"model_args"``); from a dict the GELU is the exact
        one nanoGPT uses (pass a GPTConfig with ``gelu_approximate="none"`` for the same).
        Every array is checked against the config before the model is built. ``dtype``
        defaults to that of the token embedding. The logits then equal nanoGPT's to float32
        rounding (the package's oracle test builds the model in PyTorch to check).

        Example:
            >>> from tinytorch.tensor import Generator, Tensor
            >>> from tinytorch.transformers.nanogpt import to_nanogpt_key
            >>> args = dict(n_layer=1, n_head=2, n_embd=4, block_size=3, bias=True,
            ...             vocab_size=5, dropout=0.0)  # a nanoGPT checkpoint's "model_args"
            >>> ours = GPT(GPTConfig(**args, gelu_approximate="none"), generator=Generator(0))
            >>> sd = {to_nanogpt_key(k): v.data for k, v in ours.state_dict().items()}
            >>> sorted(sd)[:2]
            ['lm_head.weight', 'transformer.h.0.attn.c_attn.bias']
            >>> model = GPT.from_nanogpt(sd, args)
            >>> idx = Tensor([[1, 2, 3]])
            >>> bool((model(idx)[0] == ours(idx)[0]).all())
            True
        """
        where = "GPT.from_nanogpt"
        if isinstance(config, GPTConfig):
            cfg = config
        elif isinstance(config, Mapping):
            known = [f.name for f in dataclasses.fields(GPTConfig)]
            unknown = sorted(set(config) - set(known), key=str)
            if unknown:
                raise ValueError(
                    f"{where}: unknown model_args key(s) {', '.join(map(repr, unknown))}; "
                    f"a GPTConfig has {', '.join(known)}"
                )
            cfg = GPTConfig(**{"gelu_approximate": "none", **config})
        else:
            raise TypeError(
                f"{where}: config must be a GPTConfig or nanoGPT's model_args dict, got "
                f"{type(config).__module__}.{type(config).__qualname__}"
            )
        arrays = convert_nanogpt_state_dict(state_dict)
        found = check_gpt_arrays(where, cfg, arrays, StateDictError)
        model = cls(cfg, dtype=found if dtype is None else dtype, generator=Generator(0))
        model._load_unique(arrays)
        return model

    def _load_unique(self, arrays: Mapping[str, Any]) -> None:
        """load_state_dict from arrays that hold each tied tensor once."""
        state: dict[str, Any] = dict(arrays)
        for alias, source in self._tied_aliases().items():
            if source in state:
                state[alias] = state[source]
        self.load_state_dict(state)

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


def _block_shapes(config: GPTConfig) -> list[tuple[str, tuple[int, ...]]]:
    """One block's state names (after ``h.{i}.``) and shapes, in the model's order."""
    e, bias = config.n_embd, config.bias
    entries: list[tuple[str, tuple[int, ...]]] = []

    def add(name: str, weight: tuple[int, ...], bias_name: str, out: int) -> None:
        entries.append((name, weight))
        if bias:
            entries.append((bias_name, (out,)))

    add("ln_1.weight", (e,), "ln_1.bias", e)
    add("attn.in_proj_weight", (3 * e, e), "attn.in_proj_bias", 3 * e)
    add("attn.out_proj.weight", (e, e), "attn.out_proj.bias", e)
    add("ln_2.weight", (e,), "ln_2.bias", e)
    add("mlp.c_fc.weight", (4 * e, e), "mlp.c_fc.bias", 4 * e)
    add("mlp.c_proj.weight", (e, 4 * e), "mlp.c_proj.bias", e)
    return entries


def gpt_state_shapes(config: GPTConfig) -> dict[str, tuple[int, ...]]:
    """The name and shape of every array a :class:`GPT` of ``config`` stores, the tied head
    once (as ``wte.weight``), computed from the config alone: nothing is allocated.

    Example:
        >>> shapes = gpt_state_shapes(GPTConfig(vocab_size=7, block_size=4, n_layer=1,
        ...                                     n_head=1, n_embd=4))
        >>> len(shapes), shapes["wte.weight"], shapes["h.0.attn.in_proj_weight"]
        (16, (7, 4), (12, 4))
    """
    shapes: dict[str, tuple[int, ...]] = {
        "wte.weight": (config.vocab_size, config.n_embd),
        "wpe.weight": (config.block_size, config.n_embd),
    }
    block = _block_shapes(config)
    for i in range(config.n_layer):
        shapes.update((f"h.{i}.{name}", shape) for name, shape in block)
    shapes["ln_f.weight"] = (config.n_embd,)
    if config.bias:
        shapes["ln_f.bias"] = (config.n_embd,)
    return shapes


def check_gpt_arrays(
    where: str, config: GPTConfig, arrays: Mapping[str, Array], error: type[ValueError]
) -> np.dtype[Any]:
    """Check that ``arrays`` are exactly those of a GPT of ``config`` (names, shapes, one
    floating dtype) and return that dtype; else raise ``error`` saying what differs.

    The number of arrays is compared first, by arithmetic, so that a config asking for a
    billion layers is refused without listing their names.

    Example:
        >>> import numpy as np
        >>> cfg = GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=1, n_embd=4)
        >>> arrays = {k: np.zeros(s, np.float32) for k, s in gpt_state_shapes(cfg).items()}
        >>> check_gpt_arrays("demo", cfg, arrays, ValueError)
        dtype('float32')
    """
    per_block = len(_block_shapes(config))
    implied = 2 + config.n_layer * per_block + (2 if config.bias else 1)
    if implied != len(arrays):
        raise error(
            f"{where}: holds {len(arrays)} arrays, but the config (n_layer={config.n_layer}, "
            f"bias={config.bias}) implies {implied}"
        )
    expected = gpt_state_shapes(config)
    missing = [name for name in expected if name not in arrays]
    unexpected = [name for name in arrays if name not in expected]
    if missing or unexpected:
        raise error(
            f"{where}: the arrays do not match the config: missing {missing[:8]}, "
            f"unexpected {unexpected[:8]}"
        )
    wrong = [
        f"{name} {tuple(arrays[name].shape)} (the config implies {shape})"
        for name, shape in expected.items()
        if tuple(arrays[name].shape) != shape
    ]
    if wrong:
        raise error(
            f"{where}: array shapes do not match the config {config}: " + "; ".join(wrong[:8])
        )
    dtypes = sorted({arrays[name].dtype.str for name in expected})
    first = arrays["wte.weight"].dtype
    if len(dtypes) != 1 or first.kind != "f":
        raise error(f"{where}: the arrays must share one floating dtype, got {dtypes}")
    return first


def sample_tokens(
    logits: npt.ArrayLike,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: Generator | None = None,
) -> Array:
    """One token per row of ``logits`` ``(B, V)``, sampled as :meth:`GPT.generate` samples.

    The logits are taken in float64 and divided by ``temperature``, the ``top_k`` most likely
    tokens kept (if given), and one uniform draw per row of ``generator`` (the default one if
    none) picks a token by inverse CDF. A cached generation (module 17) samples through it, so
    that the same generator state gives the same tokens as :meth:`GPT.generate`.

    Example:
        >>> from tinytorch.tensor import Generator
        >>> sample_tokens([[0.0, 5.0, 1.0], [9.0, 0.0, 0.0]], top_k=1)
        array([1, 0])
        >>> sample_tokens([[0.0, 0.0]], generator=Generator(0)).shape
        (1,)
    """
    if not temperature > 0:
        raise ValueError(f"sample_tokens: temperature must be positive, got {temperature}")
    if top_k is not None and (isinstance(top_k, bool) or top_k < 1):
        raise ValueError(f"sample_tokens: top_k must be a positive int or None, got {top_k!r}")
    scores = np.asarray(logits).astype(np.float64)
    if scores.ndim != 2:
        raise ValueError(f"sample_tokens: logits must be (batch, vocab), got {scores.shape}")
    return _sample(scores / temperature, top_k, (generator or default_generator).rng)


def _sample(logits: Array, top_k: int | None, rng: np.random.Generator) -> Array:
    """One token per row of ``logits`` (B, V), by inverse-CDF sampling from the softmax."""
    # BEGIN SOLUTION sample-top-k
    # HINT: top_k: every logit below the k-th largest of its row becomes -inf. Then softmax
    # HINT: and one uniform draw per row, scaled to the row's total mass: the token is the first
    # HINT: index whose cumulative probability exceeds it (inverse CDF), never past the end.
    # TESTS: generate or top_k or greedy or sampling or sample_tokens
    if top_k is not None and top_k < logits.shape[-1]:
        kth = np.partition(logits, -top_k, axis=-1)[:, -top_k, None]
        logits = np.where(logits < kth, -np.inf, logits)
    probs = softmax_array(logits, -1)  # the one softmax of module 02
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random((logits.shape[0], 1)) * cdf[:, -1:]
    # The first index whose cumulative mass exceeds u; a token of zero mass is never chosen.
    choice: Array = np.minimum((cdf <= u).sum(axis=-1), logits.shape[-1] - 1)
    return choice.astype(np.int64)
    # END SOLUTION
