"""Embedding layers: a learned lookup table, and learned or fixed position encodings."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from tinytorch.embeddings.functional import _padding_index, embedding
from tinytorch.layers import Module, Parameter, init
from tinytorch.tensor import Generator, Tensor

__all__ = ["Embedding", "PositionalEmbedding", "SinusoidalPositionalEncoding"]


def _check_sizes(op: str, **sizes: int) -> None:
    for name, n in sizes.items():
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
            raise ValueError(f"{op}: {name} must be a positive int, got {n!r}")


class Embedding(Module):
    """A table of ``num_embeddings`` learned vectors of size ``embedding_dim``
    (``torch.nn.Embedding``).

    ``weight`` is drawn from N(0, 1) as in PyTorch. The row ``padding_idx`` starts at zero and
    never receives a gradient, so it stays what it is set to. Calling the layer on an int64 tensor
    of any shape ``S`` gives ``(*S, embedding_dim)``.

    Example:
        >>> from tinytorch.tensor import Generator, Tensor
        >>> emb = Embedding(10, 4, padding_idx=0, generator=Generator(0))
        >>> emb(Tensor([[1, 2, 0]])).shape
        (1, 3, 4)
        >>> emb.weight.data[0].tolist()
        [0.0, 0.0, 0.0, 0.0]
    """

    weight: Parameter

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        dtype: npt.DTypeLike = np.float32,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        _check_sizes("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        if np.dtype(dtype).kind != "f":
            raise TypeError(f"Embedding: dtype must be floating, got {np.dtype(dtype)}")
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        self.padding_idx = _padding_index("Embedding", padding_idx, self.num_embeddings)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dtype))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """Draw the table from N(0, 1) again, with the padding row zero."""
        # BEGIN SOLUTION embedding-init
        # HINT: PyTorch's init: every entry from N(0, 1) with the generator, the padding row 0.
        # TESTS: init or seeded or padding
        init.normal_(self.weight, generator=generator)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0
        # END SOLUTION

    def forward(self, input: Tensor) -> Tensor:
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else f"{text}, padding_idx={self.padding_idx}"


class PositionalEmbedding(Module):
    """Learned absolute positions: adds row ``t`` of a ``(max_len, dim)`` table to position ``t``.

    The input is ``(..., T, dim)`` with ``T <= max_len`` (token embeddings, say); the result has
    the same shape. The table starts as N(0, 1), like :class:`Embedding` (GPT-2 and nanoGPT
    rescale it to N(0, 0.02**2) at model level).

    Example:
        >>> from tinytorch.tensor import Generator, zeros
        >>> pos = PositionalEmbedding(16, 8, generator=Generator(0))
        >>> out = pos(zeros(2, 5, 8))
        >>> out.shape, bool((out.data[0] == pos.weight.data[:5]).all())
        ((2, 5, 8), True)
    """

    weight: Parameter

    def __init__(
        self,
        max_len: int,
        dim: int,
        *,
        dtype: npt.DTypeLike = np.float32,
        generator: Generator | None = None,
    ) -> None:
        super().__init__()
        _check_sizes("PositionalEmbedding", max_len=max_len, dim=dim)
        self.max_len = int(max_len)
        self.dim = int(dim)
        self.weight = Parameter(np.empty((self.max_len, self.dim), dtype=dtype))
        init.normal_(self.weight, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        length = _check_sequence("PositionalEmbedding", x, self.max_len, self.dim)
        # An embedding lookup of positions 0..T-1: the same op and gradient as token embeddings.
        # BEGIN SOLUTION positional-forward
        # HINT: add the learned rows of positions 0..T-1 (an embedding lookup) to x; they
        # HINT: broadcast over the leading dims.
        # TESTS: positional
        return x + embedding(Tensor(np.arange(length)), self.weight)
        # END SOLUTION

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, dim={self.dim}"


class SinusoidalPositionalEncoding(Module):
    """Fixed sine/cosine positions of Vaswani et al. (2017), added to a ``(..., T, dim)`` input.

    ``pe[t, 2i] = sin(t / 10000^(2i/dim))`` and ``pe[t, 2i+1] = cos(t / 10000^(2i/dim))``. The
    table is a buffer (saved in ``state_dict``, never learned): gradients flow through to the
    input only. Each dimension pair rotates at its own frequency, so a fixed offset between two
    positions is a fixed linear map of their encodings.

    Example:
        >>> from tinytorch.tensor import zeros
        >>> pe = SinusoidalPositionalEncoding(50, 4)
        >>> pe(zeros(1, 3, 4)).data[0, 0].tolist()   # position 0: sin 0, cos 0, sin 0, cos 0
        [0.0, 1.0, 0.0, 1.0]
    """

    pe: Tensor

    def __init__(
        self, max_len: int, dim: int, base: float = 10000.0, *, dtype: npt.DTypeLike = np.float32
    ) -> None:
        super().__init__()
        _check_sizes("SinusoidalPositionalEncoding", max_len=max_len, dim=dim)
        self.max_len = int(max_len)
        self.dim = int(dim)
        # BEGIN SOLUTION sinusoidal-table
        # HINT: pe[t, 2i] = sin(t / base^(2i/dim)) and pe[t, 2i+1] = cos(the same angle), built
        # HINT: for all t and i at once (an outer product of positions and frequencies), in
        # HINT: float64; an odd dim has one more sin column than cos columns.
        # TESTS: sinusoidal
        position = np.arange(self.max_len, dtype=np.float64)[:, None]
        # 1 / base^(2i/dim) for each pair i, computed in log space to stay exact for large dim.
        inv_freq = np.exp(np.arange(0, self.dim, 2, dtype=np.float64) * (-math.log(base) / dim))
        angles = position * inv_freq
        table = np.zeros((self.max_len, self.dim), dtype=np.float64)
        table[:, 0::2] = np.sin(angles)
        table[:, 1::2] = np.cos(angles[:, : self.dim // 2])
        # END SOLUTION
        self.register_buffer("pe", Tensor(table.astype(dtype)))

    def forward(self, x: Tensor) -> Tensor:
        length = _check_sequence("SinusoidalPositionalEncoding", x, self.max_len, self.dim)
        return x + Tensor(self.pe.data[:length].astype(x.dtype, copy=False))

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, dim={self.dim}"


def _check_sequence(op: str, x: Tensor, max_len: int, dim: int) -> int:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expects a Tensor input, got {type(x).__name__}")
    if x.ndim < 2 or x.shape[-1] != dim:
        raise ValueError(f"{op}: input of shape {x.shape} should be (..., T, {dim})")
    length = x.shape[-2]
    if length > max_len:
        raise ValueError(
            f"{op}: sequence of length {length} (input shape {x.shape}) is longer than "
            f"max_len={max_len}"
        )
    return int(length)
