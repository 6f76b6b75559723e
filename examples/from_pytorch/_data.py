"""Offline data shared by every program here, as NumPy arrays, so that the PyTorch original and
its TinyTorch port read exactly the same numbers.

- :func:`digits`: the 1,797 UCI handwritten digits (8x8 images, pixel counts 0..16) that ship
  inside ``tinytorch-dataloader``, with its fixed, stratified train/test split.
- :func:`pydoc_text`: the text of CPython's own documentation topics (``pydoc_data.topics``),
  as the 2017 milestone reads it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.dataloader import tiny_digits


def digits(split: str) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """(pixels, labels) of ``split`` ("train", "test" or "all"): float32 pixel counts 0..16,
    shaped (N, 64) (reshape to (N, 1, 8, 8) for a CNN), and int64 labels 0..9."""
    images, labels = tiny_digits(split, flatten=True).tensors
    # tiny_digits scales the counts to [0, 1]; undo it so the tabular program has raw,
    # unnormalised features to standardise, as a scikit-learn user would.
    pixels: Any = np.rint(images.detach().numpy() * 16.0).astype(np.float32)
    return pixels, labels.detach().numpy().astype(np.int64)


def pydoc_text() -> str:
    """Every topic of ``pydoc_data.topics``, joined in sorted key order (about 465k characters)."""
    import pydoc_data.topics

    topics = pydoc_data.topics.topics
    return "".join(topics[k] for k in sorted(topics))
