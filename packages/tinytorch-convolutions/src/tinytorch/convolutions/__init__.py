"""TinyTorch module 09: convolutional networks.

``conv2d``, ``max_pool2d``, ``avg_pool2d`` and ``batch_norm`` over NCHW batches, vectorized
(im2col by stride tricks plus one matmul for the convolution; reductions over strided window
views for pooling), each op's gradient rule registered beside its forward; and the layers
``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``BatchNorm1d``, ``BatchNorm2d`` and ``Flatten``.

Example:
    >>> from tinytorch.layers import Linear, Sequential
    >>> from tinytorch.activations import ReLU
    >>> from tinytorch.tensor import Generator, randn
    >>> g = Generator(0)
    >>> net = Sequential(Conv2d(1, 6, 3, padding=1, generator=g), ReLU(), MaxPool2d(2),
    ...                  Flatten(), Linear(6 * 4 * 4, 10, generator=g))
    >>> net(randn(32, 1, 8, 8)).shape
    (32, 10)
"""

from tinytorch.convolutions import functional
from tinytorch.convolutions.conv import Conv2d, conv2d
from tinytorch.convolutions.flatten import Flatten
from tinytorch.convolutions.normalization import BatchNorm1d, BatchNorm2d, batch_norm
from tinytorch.convolutions.pooling import AvgPool2d, MaxPool2d, avg_pool2d, max_pool2d

__all__ = [
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Flatten",
    "MaxPool2d",
    "avg_pool2d",
    "batch_norm",
    "conv2d",
    "functional",
    "max_pool2d",
]
