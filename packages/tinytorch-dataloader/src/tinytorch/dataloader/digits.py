"""``tiny_digits``: the UCI handwritten digits (1,797 images of 8x8), shipped inside this package.

The file ``data/digits.csv.gz`` is byte for byte the copy scikit-learn distributes
(``sklearn/datasets/data/digits.csv.gz``): 1,797 rows of 64 pixel counts (0..16, row-major 8x8)
followed by the label. Its SHA-256 is checked on every load. See the package README for the
source, licence and how the file was extracted.
"""

from __future__ import annotations

import functools
import gzip
import io
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.dataloader.dataset import TensorDataset
from tinytorch.dataloader.files import DataFileError, sha256_bytes
from tinytorch.tensor import from_numpy

__all__ = ["DIGITS_SHA256", "digits_split_indices", "tiny_digits"]

DIGITS_FILE = "digits.csv.gz"
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
DIGITS_SAMPLES = 1797
TEST_EVERY = 5


@functools.lru_cache(maxsize=1)
def _raw() -> npt.NDArray[np.uint8]:
    blob = (
        resources.files("tinytorch.dataloader").joinpath("data").joinpath(DIGITS_FILE).read_bytes()
    )
    digest = sha256_bytes(blob)
    if digest != DIGITS_SHA256:
        raise DataFileError(
            f"tiny_digits: the shipped {DIGITS_FILE} has SHA-256 {digest}, expected "
            f"{DIGITS_SHA256}; the installed package is damaged, reinstall tinytorch-dataloader"
        )
    text = gzip.decompress(blob).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.uint8)
    if table.shape != (DIGITS_SAMPLES, 65):
        raise DataFileError(f"tiny_digits: expected a (1797, 65) table, got {table.shape}")
    table.setflags(write=False)
    return table


def digits_split_indices(split: str) -> npt.NDArray[np.int64]:
    """Row indices of ``split`` ("train", "test" or "all") in the digits table.

    The split is fixed and stratified, and uses no random numbers: counting the samples of each
    digit in file order from 0, every 5th one (count % 5 == 0) is a test sample. That gives
    364 test and 1,433 train samples, with each digit 20% / 80% to within one sample.

    Example:
        >>> len(digits_split_indices("train")), len(digits_split_indices("test"))
        (1433, 364)
    """
    labels = _raw()[:, -1]
    if split == "all":
        return np.arange(DIGITS_SAMPLES, dtype=np.int64)
    if split not in ("train", "test"):
        raise ValueError(f"tiny_digits: split must be 'train', 'test' or 'all', got {split!r}")
    # The rank of each sample among the samples of its own digit, without a loop over samples:
    # a stable sort groups the digits and keeps file order inside each group.
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=10)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    rank = np.empty(DIGITS_SAMPLES, dtype=np.int64)
    rank[order] = np.arange(DIGITS_SAMPLES) - starts
    is_test = rank % TEST_EVERY == 0
    return np.flatnonzero(is_test if split == "test" else ~is_test).astype(np.int64)


def tiny_digits(split: str = "train", flatten: bool = False) -> TensorDataset:
    """The UCI optical-recognition digits as a :class:`TensorDataset` of (images, labels).

    Images are float32 in [0, 1] (the 0..16 pixel counts divided by 16), shaped (N, 1, 8, 8),
    or (N, 64) with ``flatten=True``; labels are int64 digits 0..9. ``split`` is "train"
    (1,433 samples), "test" (364) or "all" (1,797); see :func:`digits_split_indices`.
    Runs offline: the data ships inside this package.

    Example:
        >>> train = tiny_digits("train")
        >>> x, y = train.tensors
        >>> x.shape, x.dtype, y.dtype
        ((1433, 1, 8, 8), dtype('float32'), dtype('int64'))
    """
    table = _raw()
    idx = digits_split_indices(split)
    pixels: Any = table[idx, :64].astype(np.float32) / np.float32(16.0)
    images = pixels if flatten else pixels.reshape(-1, 1, 8, 8)
    labels = table[idx, 64].astype(np.int64)
    return TensorDataset(from_numpy(np.ascontiguousarray(images)), from_numpy(labels))
