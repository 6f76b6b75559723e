"""CIFAR-10 from its binary version (``cifar-10-binary.tar.gz``) in a local cache folder.

The archive extracts to ``cifar-10-batches-bin/`` holding ``data_batch_1.bin`` ...
``data_batch_5.bin`` (train) and ``test_batch.bin``: 10,000 records each of 3,073 bytes, a label
byte then 3,072 pixel bytes (1,024 red, 1,024 green, 1,024 blue, each 32x32 row-major).

Only the archive has a published SHA-256. :func:`download_cifar10` checks the archive against
it, extracts the batch files and writes their hashes to ``cifar-10-batches-bin/SHA256SUMS``;
:func:`cifar10` checks each batch file against that manifest before parsing it.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

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

__all__ = [
    "CIFAR10_ARCHIVE_SHA256",
    "CIFAR10_CLASSES",
    "CIFAR10_URL",
    "cifar10",
    "download_cifar10",
    "parse_cifar10_batch",
]

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"
# Published SHA-256 of the archive (the MD5 on the CIFAR page is c32a1d4ab5d03f1284b67883e8d87530).
CIFAR10_ARCHIVE_SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
CIFAR10_FOLDER = "cifar-10-batches-bin"
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
RECORD_BYTES = 1 + 3 * 32 * 32
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILES = ("test_batch.bin",)


def parse_cifar10_batch(
    data: bytes, name: str = "<bytes>"
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """Decode one binary batch into (images uint8 (N, 3, 32, 32), labels uint8 (N,)).

    Example:
        >>> images, labels = parse_cifar10_batch(bytes([7]) + bytes(3072))
        >>> images.shape, labels.tolist()
        ((1, 3, 32, 32), [7])
    """
    if len(data) == 0 or len(data) % RECORD_BYTES:
        raise DataFileError(
            f"cifar10: {name} size mismatch: {len(data)} bytes is not a whole, non-zero "
            f"number of {RECORD_BYTES}-byte records (truncated or not a CIFAR-10 batch)"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0].copy()
    if int(labels.max()) > 9:
        bad = int(np.argmax(labels > 9))
        raise DataFileError(
            f"cifar10: {name} record {bad} has label byte {int(labels[bad])}; CIFAR-10 labels "
            "are 0..9 (a CIFAR-100 file, or a corrupt one?)"
        )
    images = records[:, 1:].reshape(-1, 3, 32, 32).copy()
    return images, labels


def cifar10(
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    verify: Verify = True,
) -> TensorDataset:
    """CIFAR-10's "train" (50,000) or "test" (10,000) split as a :class:`TensorDataset`.

    Images are float32 in [0, 1] shaped (N, 3, 32, 32), labels int64 (names in
    ``CIFAR10_CLASSES``). Batch files are read from ``root/cifar-10-batches-bin`` (default root
    ``~/.cache/tinytorch/cifar10``); every file is verified and parsed before anything is
    returned. ``verify=True`` checks each against the ``SHA256SUMS`` that
    :func:`download_cifar10` writes; a mapping ``{file name: sha256}`` checks against those
    hashes; ``False`` skips the hash (the record structure is always checked).

    Example::

        train = cifar10("train")        # FileNotFoundError naming the file and URL if absent
        x, y = train.tensors            # (50000, 3, 32, 32) float32, (50000,) int64
    """
    if split not in ("train", "test"):
        raise ValueError(f"cifar10: split must be 'train' or 'test', got {split!r}")
    home = data_home("cifar10", root)
    folder = home / CIFAR10_FOLDER
    how = (
        f"Download {CIFAR10_URL} (SHA-256 {CIFAR10_ARCHIVE_SHA256}) and extract it into "
        f"{home}, or on a machine with internet run "
        f"tinytorch.dataloader.download_cifar10({str(home)!r})."
    )
    images, labels = [], []
    for name in TRAIN_FILES if split == "train" else TEST_FILES:
        path = folder / name
        blob = read_verified("cifar10", path, verify, {}, how)
        x, y = parse_cifar10_batch(blob, name=str(path))
        images.append(x)
        labels.append(y)
    return image_dataset(np.concatenate(images), np.concatenate(labels))


def download_cifar10(root: str | os.PathLike[str] | None = None) -> Path:
    """Fetch and verify ``cifar-10-binary.tar.gz``, extract the batch files, write SHA256SUMS.

    Only the known member names are extracted (never a path from the archive), so a doctored
    archive cannot write outside ``root``. Needs internet access; never called by the tests.

    Example (on a machine with internet access; not run by the doctests)::

        home = download_cifar10()          # ~/.cache/tinytorch/cifar10, 163 MB
        test = cifar10("test", root=home)
    """
    home = data_home("cifar10", root)
    archive = home / CIFAR10_ARCHIVE
    if not (archive.is_file() and sha256_file(archive) == CIFAR10_ARCHIVE_SHA256):
        download_file(CIFAR10_URL, archive, CIFAR10_ARCHIVE_SHA256)
    extract_cifar10(archive, home)
    return home


def extract_cifar10(archive: Path, home: Path) -> Path:
    """Extract the six batch files of a verified archive into ``home/cifar-10-batches-bin``."""
    folder = home / CIFAR10_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    wanted = (*TRAIN_FILES, *TEST_FILES)
    with tarfile.open(archive, "r:gz") as tar:
        for name in wanted:
            try:
                member = tar.getmember(f"{CIFAR10_FOLDER}/{name}")
            except KeyError:
                raise DataFileError(
                    f"download_cifar10: {archive} has no member {CIFAR10_FOLDER}/{name}"
                ) from None
            source = tar.extractfile(member)
            if source is None:
                raise DataFileError(f"download_cifar10: {CIFAR10_FOLDER}/{name} is not a file")
            tmp = folder / (name + ".part")
            tmp.write_bytes(source.read())
            os.replace(tmp, folder / name)
    write_manifest(folder, list(wanted))
    return folder
