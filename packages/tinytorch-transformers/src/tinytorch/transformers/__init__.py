"""TinyTorch module 13: transformers.

LayerNorm as one fused op, the GELU feed-forward block, a pre-LayerNorm transformer block, and a
GPT (nanoGPT's design: tied embeddings, scaled residual initialisation, weight decay on matrices
only) that trains, generates reproducibly, saves to a file that cannot run code, and loads a
nanoGPT model's state_dict (:meth:`GPT.from_nanogpt`). A key/value cache reaches its blocks
through :class:`tinytorch.attention.KVCacheProtocol` (``GPT(idx, cache=...)``) and activation
checkpointing through :class:`CheckpointFunction`; module 17 supplies both.

Example:
    >>> from tinytorch.tensor import Generator, Tensor
    >>> from tinytorch.transformers import GPT, GPTConfig
    >>> cfg = GPTConfig(vocab_size=10, block_size=8, n_layer=2, n_head=2, n_embd=16)
    >>> model = GPT(cfg, generator=Generator(0))
    >>> logits, loss = model(Tensor([[1, 2, 3]]), targets=Tensor([[2, 3, 4]]))
    >>> logits.shape, round(float(loss), 1)
    ((1, 3, 10), 2.3)
"""

from tinytorch.transformers.functional import layer_norm
from tinytorch.transformers.gpt import (
    GPT,
    CheckpointFunction,
    GPTConfig,
    check_gpt_arrays,
    gpt_state_shapes,
    sample_tokens,
)
from tinytorch.transformers.layers import MLP, LayerNorm, TransformerBlock
from tinytorch.transformers.nanogpt import (
    NANOGPT_TO_TINYTORCH,
    convert_nanogpt_state_dict,
    to_nanogpt_key,
)

__all__ = [
    "GPT",
    "MLP",
    "NANOGPT_TO_TINYTORCH",
    "CheckpointFunction",
    "GPTConfig",
    "LayerNorm",
    "TransformerBlock",
    "check_gpt_arrays",
    "convert_nanogpt_state_dict",
    "gpt_state_shapes",
    "layer_norm",
    "sample_tokens",
    "to_nanogpt_key",
]
