"""MNIST from its original IDX files in a local cache folder, every file checked by SHA-256.

The folder (``~/.cache/tinytorch/mnist`` unless ``root`` or ``$TINYTORCH_DATA_HOME`` says
otherwise) holds the four official files, gzipped as published or decompressed::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

The gzipped files are checked against their published SHA-256; decompressed ones against the
``SHA256SUMS`` manifest beside them. :func:`download_mnist` fetches the files on a machine with
internet access.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tinytorch.dataloader.dataset import TensorDataset, image_dataset
from tinytorch.dataloader.files import (
    DataFileError,
    Verify,
    data_home,
    download_file,
    read_verified,
    sha256_file,
    write_manifest,
)

__all__ = ["MNIST_SHA256", "MNIST_URLS", "download_mnist", "mnist", "parse_idx", "read_idx"]

MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# Published SHA-256 of the official gzipped files (as pinned by TensorFlow Datasets and Keras).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
    ),
    "train-labels-idx1-ubyte.gz": (
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
    ),
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

_SPLIT_PREFIX = {"train": "train", "test": "t10k"}

# IDX type codes: the third byte of the magic number.
_IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(data: bytes, name: str = "<bytes>") -> npt.NDArray[Any]:
    """Decode an IDX file (gzipped or not) into an array; refuse it with the reason if malformed.

    The format: two zero bytes, a type code, the number of dimensions, one big-endian uint32
    per dimension, then exactly ``prod(dims)`` items, big-endian.

    Example:
        >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
        array([7, 8, 9], dtype=uint8)
    """
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as err:
            raise DataFileError(
                f"read_idx: {name} is a truncated or corrupt gzip file: {err}"
            ) from None
    if len(data) < 4:
        raise DataFileError(f"read_idx: {name} is {len(data)} bytes, too short for an IDX header")
    zero, code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in _IDX_DTYPES or ndim == 0:
        raise DataFileError(
            f"read_idx: {name} has bad magic number 0x{data[:4].hex()}; not an IDX file "
            "(expected 0x0000 then a type code 08/09/0B/0C/0D/0E and a dimension count)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFileError(
            f"read_idx: {name} is truncated inside its header ({len(data)} of {header} bytes)"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    # Python ints: up to 255 dims of 2**32 - 1 each, a product NumPy's int64 would wrap (and a
    # wrapped product that happens to equal the file size would pass this check and fail later).
    expected = math.prod(dims) * dtype.itemsize
    if len(data) - header != expected:
        raise DataFileError(
            f"read_idx: {name} size mismatch: its header declares shape {dims} of {dtype.name} "
            f"({expected} bytes of data) but the file holds {len(data) - header}"
        )
    array: npt.NDArray[Any] = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike[str]) -> npt.NDArray[Any]:
    """Read an IDX file (``.gz`` or not) without checksum verification; see :func:`mnist`.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte"
        >>> _ = f.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 2, 4, 2]))
        >>> read_idx(f)
        array([4, 2], dtype=uint8)
    """
    p = Path(path)
    return parse_idx(p.read_bytes(), name=str(p))


def _mnist_file(folder: Path, stem: str, verify: Verify) -> npt.NDArray[Any]:
    gz, plain = folder / f"{stem}.gz", folder / stem
    path = gz if gz.is_file() or not plain.is_file() else plain
    how = (
        f"Download {MNIST_URLS[0]}{stem}.gz into {folder}, or on a machine with internet run "
        f"tinytorch.dataloader.download_mnist({str(folder)!r})."
    )
    blob = read_verified("mnist", path, verify, MNIST_SHA256, how)
    return parse_idx(blob, name=str(path))


def mnist(
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    verify: Verify = True,
) -> TensorDataset:
    """MNIST's "train" (60,000) or "test" (10,000) split as a :class:`TensorDataset`.

    Images are float32 in [0, 1] shaped (N, 1, 28, 28); labels int64. Files are read from
    ``root`` (default ``~/.cache/tinytorch/mnist``) and checked before anything is returned:
    ``verify=True`` uses the published SHA-256 (or the ``SHA256SUMS`` manifest for decompressed
    files), a mapping ``{file name: sha256}`` uses those hashes, ``False`` skips the check.
    The IDX structure is always checked.

    Example::

        train = mnist("train")          # FileNotFoundError naming the file and URL if absent
        x, y = train.tensors            # (60000, 1, 28, 28) float32, (60000,) int64
    """
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"mnist: split must be 'train' or 'test', got {split!r}")
    folder = data_home("mnist", root)
    prefix = _SPLIT_PREFIX[split]
    images = _mnist_file(folder, f"{prefix}-images-idx3-ubyte", verify)
    labels = _mnist_file(folder, f"{prefix}-labels-idx1-ubyte", verify)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataFileError(
            f"mnist: {prefix} images must be uint8 of shape (N, rows, cols), got "
            f"{images.dtype} {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataFileError(
            f"mnist: {prefix} labels must be uint8 of shape (N,), got {labels.dtype} {labels.shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise DataFileError(
            f"mnist: {prefix} has {images.shape[0]} images (shape {images.shape}) but "
            f"{labels.shape[0]} labels (shape {labels.shape})"
        )
    if labels.size and int(labels.max()) > 9:
        raise DataFileError(f"mnist: {prefix} labels hold {int(labels.max())}, not a digit")
    return image_dataset(images[:, None], labels)


def download_mnist(root: str | os.PathLike[str] | None = None) -> Path:
    """Fetch the four gzipped MNIST files into ``root``, verified; write ``SHA256SUMS``.

    Files already present with the right hash are kept. Needs internet access; never called by
    the tests or by the loaders.

    Example (on a machine with internet access; not run by the doctests)::

        folder = download_mnist()          # ~/.cache/tinytorch/mnist, 11 MB
        train = mnist("train", root=folder)
    """
    folder = data_home("mnist", root)
    for name, sha in MNIST_SHA256.items():
        dest = folder / name
        if dest.is_file() and sha256_file(dest) == sha:
            continue
        errors = []
        for base in MNIST_URLS:
            try:
                download_file(base + name, dest, sha)
                break
            except (OSError, DataFileError) as err:
                errors.append(f"{base}{name}: {err}")
        else:
            raise OSError("download_mnist: every mirror failed:\n  " + "\n  ".join(errors))
    write_manifest(folder, list(MNIST_SHA256))
    return folder
