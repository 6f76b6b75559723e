"""TinyTorch module 12: attention.

Scaled dot-product attention as one fused, differentiable op (with its textbook composition,
:func:`attention_textbook`, tested equal to it), and multi-head attention built on
it with every head in one batched matmul; :class:`KVCacheProtocol`, the typed extension point
through which a key/value cache (module 17's) reaches multi-head attention.

Example:
    >>> from tinytorch.tensor import randn
    >>> from tinytorch.attention import scaled_dot_product_attention
    >>> q = k = v = randn(2, 4, 6, 8)  # (batch, heads, tokens, head size)
    >>> scaled_dot_product_attention(q, k, v, is_causal=True).shape
    (2, 4, 6, 8)
"""

from tinytorch.attention.functional import (
    SdpaAttrs,
    attention_textbook,
    attention_with_weights,
    causal_mask,
    scaled_dot_product_attention,
)
from tinytorch.attention.multihead import KVCacheProtocol, MultiHeadAttention

__all__ = [
    "KVCacheProtocol",
    "MultiHeadAttention",
    "SdpaAttrs",
    "attention_textbook",
    "attention_with_weights",
    "causal_mask",
    "scaled_dot_product_attention",
]
