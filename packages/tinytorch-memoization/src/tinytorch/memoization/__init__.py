"""TinyTorch module 17: memoization, both ways round.

- **Keep results to save compute**: :class:`KVCache` keeps every attention layer's keys and
  values in preallocated buffers, so that :func:`generate` runs the prompt once
  (:func:`prefill`) and then one token per step (:func:`decode`), giving the tokens
  ``GPT.generate`` gives. It reaches the GPT through the ``KVCacheProtocol`` that attention
  owns; the GPT itself comes with the ``language`` extra (``tinytorch-memoization[language]``).
- **Drop results to save memory**: :func:`checkpoint` (and :func:`checkpoint_sequential`) keep
  no activations of a function in forward and recompute them in backward, with the same
  gradients; for any model, a LeNet's conv block as well as a GPT's transformer block.

Example:
    >>> from tinytorch.layers import Linear
    >>> from tinytorch.tensor import Generator, randn
    >>> layer = Linear(4, 4, generator=Generator(0))
    >>> x = randn(2, 4, requires_grad=True, generator=Generator(1))
    >>> checkpoint(layer, x).sum().backward()
    >>> x.grad.shape
    (2, 4)
"""

from tinytorch.memoization.checkpoint import checkpoint, checkpoint_sequential
from tinytorch.memoization.generation import check_cache, decode, generate, prefill
from tinytorch.memoization.kv_cache import KVCache

__all__ = [
    "KVCache",
    "check_cache",
    "checkpoint",
    "checkpoint_sequential",
    "decode",
    "generate",
    "prefill",
]
