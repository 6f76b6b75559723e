"""TinyTorch module 08: datasets, data loaders, batch transforms and the data sets themselves.

A :class:`DataLoader` turns a dataset into shuffled, collated batches of Tensors; datasets that
can fetch a whole batch by fancy indexing (:class:`TensorDataset`, :class:`Subset`) do so with no
Python loop over samples. :func:`tiny_digits` ships the 1,797 UCI handwritten digits inside the
package, so the vision milestones run offline; :func:`mnist` and :func:`cifar10` read the
official files from a local cache and verify them by SHA-256. ``DataLoader(num_workers=N)``
builds batches in worker processes, ahead of the training loop, in the same order as without.

Example:
    >>> from tinytorch.tensor import Generator
    >>> from tinytorch.dataloader import DataLoader, tiny_digits
    >>> loader = DataLoader(tiny_digits("train"), batch_size=64, shuffle=True,
    ...                     generator=Generator(0))
    >>> x, y = next(iter(loader))
    >>> x.shape, y.shape, len(loader)
    ((64, 1, 8, 8), (64,), 23)
"""

from tinytorch.dataloader import transforms
from tinytorch.dataloader.cifar_bin import (
    CIFAR10_ARCHIVE_SHA256,
    CIFAR10_CLASSES,
    CIFAR10_URL,
    cifar10,
    download_cifar10,
    parse_cifar10_batch,
)
from tinytorch.dataloader.dataset import (
    BatchDataset,
    Dataset,
    Subset,
    TensorDataset,
    TransformDataset,
    random_split,
)
from tinytorch.dataloader.digits import DIGITS_SHA256, digits_split_indices, tiny_digits
from tinytorch.dataloader.files import (
    DataFileError,
    data_home,
    read_manifest,
    sha256_file,
    write_manifest,
)
from tinytorch.dataloader.loader import DataLoader, default_collate, default_convert
from tinytorch.dataloader.mnist_idx import (
    MNIST_SHA256,
    MNIST_URLS,
    download_mnist,
    mnist,
    parse_idx,
    read_idx,
)
from tinytorch.dataloader.transforms import (
    Compose,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
)
from tinytorch.dataloader.worker import WorkerInfo, get_worker_info

__all__ = [
    "CIFAR10_ARCHIVE_SHA256",
    "CIFAR10_CLASSES",
    "CIFAR10_URL",
    "DIGITS_SHA256",
    "MNIST_SHA256",
    "MNIST_URLS",
    "BatchDataset",
    "Compose",
    "DataFileError",
    "DataLoader",
    "Dataset",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "Subset",
    "TensorDataset",
    "TransformDataset",
    "WorkerInfo",
    "cifar10",
    "data_home",
    "default_collate",
    "default_convert",
    "digits_split_indices",
    "download_cifar10",
    "download_mnist",
    "get_worker_info",
    "mnist",
    "parse_cifar10_batch",
    "parse_idx",
    "random_split",
    "read_idx",
    "read_manifest",
    "sha256_file",
    "tiny_digits",
    "transforms",
    "write_manifest",
]
