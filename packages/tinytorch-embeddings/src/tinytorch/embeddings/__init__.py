"""TinyTorch module 11: embeddings.

Token ids become vectors: :class:`Embedding` is a learned lookup table whose gradient sums over
repeated tokens; :class:`PositionalEmbedding` (learned) and :class:`SinusoidalPositionalEncoding`
(fixed) tell a model where each token sits.

Example:
    >>> from tinytorch.tensor import Generator, Tensor
    >>> from tinytorch.embeddings import Embedding, SinusoidalPositionalEncoding
    >>> tokens = Tensor([[5, 1, 4, 1]])
    >>> x = Embedding(10, 8, generator=Generator(0))(tokens)
    >>> SinusoidalPositionalEncoding(32, 8)(x).shape
    (1, 4, 8)
"""

from tinytorch.embeddings.functional import embedding, scatter_add_rows
from tinytorch.embeddings.modules import (
    Embedding,
    PositionalEmbedding,
    SinusoidalPositionalEncoding,
)

__all__ = [
    "Embedding",
    "PositionalEmbedding",
    "SinusoidalPositionalEncoding",
    "embedding",
    "scatter_add_rows",
]
